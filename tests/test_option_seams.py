"""Options that would silently lose a value: repeats, comma lists, parameters given twice.

A single-valued option given twice is a usage error naming it (for every option of
every command); ``--loss`` repeats add up. A loss parameter given twice (inline twice,
or inline and as an option with a different value) is a usage error too. Malformed
loss specs say what is missing; names users reach for point to the registry's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cli, eval_json
from typer.main import get_command

from losscli.cli.commands import app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
REGRESSION = str(SAMPLES / "regression.csv")


def usage_error(capsys, *args: object) -> tuple[str, str]:
    """Exit 2 with one ``error:`` line (and at most one ``hint:``); returns (error, hint)."""
    code, out, err = cli(capsys, *args)
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [x for x in lines if x.startswith("error:")]
    hints = [x for x in lines if x.startswith("hint:")]
    assert len(errors) == 1 and len(hints) <= 1, err
    return errors[0], (hints[0] if hints else "")


def _two_values(option) -> tuple[str, str]:
    choices = getattr(option.type, "choices", None)
    if choices:
        return str(choices[0]), str(choices[1])
    kind = getattr(option.type, "name", "")
    if kind == "integer":
        return "1", "2"
    if kind == "float":
        return "0.5", "0.25"
    return "a", "b"


def _single_valued_options():
    """(command, option) for every option that takes one value, in every command."""
    group = get_command(app)
    for name, command in sorted(group.commands.items()):
        for param in command.params:
            if param.param_type_name != "option" or param.multiple or param.count:
                continue
            if param.is_flag or param.name == "loss":  # --loss repeats add up
                continue
            yield pytest.param(name, param, id=f"{name}-{param.opts[0]}")


@pytest.mark.parametrize(("command", "option"), list(_single_valued_options()))
def test_every_single_valued_option_given_twice_is_a_usage_error(capsys, command, option):
    flag = option.opts[-1]  # the short spelling where there is one: both spellings count
    first, second = _two_values(option)
    error, hint = usage_error(capsys, command, option.opts[0], first, flag, second)
    long_name = next(o for o in option.opts if o.startswith("--"))
    assert f"{long_name} given twice ({first!r} and {second!r})" in error
    assert long_name in hint


@pytest.mark.parametrize(
    "command", ["eval", "grad", "compare"], ids=lambda c: f"{c}-from-logits-both-spellings"
)
def test_a_flag_and_its_negation_is_a_usage_error(capsys, command):
    error, _ = usage_error(capsys, command, "--from-logits", "--no-from-logits")
    assert "--from-logits/--no-from-logits: both spellings given" in error


def test_the_group_options_are_checked_too(capsys):
    code, _, err = cli(capsys, "--debug", "--debug", "losses", "--format", "json")
    assert code == 0, err  # a flag repeated as itself loses nothing
    error, _ = usage_error(capsys, "losses", "--format", "json", "--format", "table")
    assert "--format given twice ('json' and 'table')" in error


def test_repeated_loss_options_add_up(capsys):
    doc = eval_json(capsys, REGRESSION, "-l", "mse", "-l", "mae", "--loss", "huber(delta=0.5)")
    assert [r["loss"] for r in doc["results"]] == ["mse", "mae", "huber(delta=0.5)"]
    same = eval_json(capsys, REGRESSION, "--loss", "mse,mae,huber(delta=0.5)")
    assert [r["value"] for r in doc["results"]] == [r["value"] for r in same["results"]]


@pytest.mark.parametrize("option", ["--weight", "--var"])
def test_a_single_column_option_refuses_a_comma_list(capsys, option):
    loss = "gaussian_nll" if option == "--var" else "mse"
    error, hint = usage_error(capsys, "eval", REGRESSION, "-l", loss, option, "segment,weight")
    assert f"{option} 'segment,weight' names 2 columns (segment, weight)" in error
    assert f"{option} takes one column" in error
    assert f"{option} segment" in hint


def test_a_single_column_option_refuses_a_glob_of_several(capsys):
    error, _ = usage_error(capsys, "eval", REGRESSION, "-l", "mse", "--weight", "y_*")
    assert "--weight 'y_*' names 2 columns (y_true, y_pred)" in error


@pytest.mark.parametrize("command", ["eval", "grad"])
def test_var_without_a_loss_that_reads_it_is_a_usage_error(capsys, command):
    error, hint = usage_error(capsys, command, REGRESSION, "-l", "mse", "--var", "weight")
    assert "--var weight: no selected loss reads a variance column" in error
    assert "gaussian_nll" in hint


@pytest.mark.parametrize("command", ["eval", "grad"])
def test_target_for_a_loss_without_targets_is_a_usage_error(capsys, command):
    triplets = SAMPLES / "triplets.csv"
    error, hint = usage_error(capsys, command, triplets, "-l", "triplet", "-t", "d_ap")
    assert "--target d_ap: triplet read no target column" in error
    assert "drop --target" in hint


def test_an_inline_parameter_given_twice_is_a_usage_error(capsys):
    error, hint = usage_error(capsys, "eval", REGRESSION, "-l", "huber(delta=0.5,delta=1)")
    assert "huber gets delta twice (delta=0.5 and delta=1)" in error
    assert "huber(delta=0.5)" in hint


@pytest.mark.parametrize(
    "option", [["--delta", "0.5"], ["--param", "delta=0.5"]], ids=["flag", "param"]
)
def test_a_parameter_inline_and_as_an_option_must_agree(capsys, option):
    error, hint = usage_error(capsys, "eval", REGRESSION, "-l", "huber(delta=2)", *option)
    assert "huber: parameter delta given twice with different values" in error
    assert "delta=2 in the loss spec and delta=0.5 as an option" in error
    assert "--delta" in hint


def test_a_parameter_inline_and_as_an_option_with_the_same_value_is_fine(capsys):
    both = eval_json(capsys, REGRESSION, "-l", "huber(delta=2)", "--delta", "2.0")
    inline = eval_json(capsys, REGRESSION, "-l", "huber(delta=2)")
    assert both["results"][0]["value"] == inline["results"][0]["value"]


def test_a_parameter_as_flag_and_param_must_agree(capsys):
    error, _ = usage_error(capsys, "eval", REGRESSION, "-l", "huber", "--delta", "0.5",
                           "--param", "delta=1")  # fmt: skip
    assert "loss parameter delta given twice with different values (0.5 and 1)" in error
    same = eval_json(capsys, REGRESSION, "-l", "huber", "--param", "delta=.5", "--delta", "0.5")
    assert same["results"][0]["params"] == {"delta": 0.5}


def test_the_python_api_refuses_a_parameter_given_twice():
    import losscli

    with pytest.raises(losscli.UsageError, match="delta given twice with different values"):
        losscli.evaluate([1.0, 2.0], [1.5, 2.5], "huber(delta=2)", delta=0.5)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("huber(delta=0.5", "the '(' at character 6 is never closed: add ')' at the end"),
        ("huber(delta=0.5,", "the '(' at character 6 is never closed: add ')'"),
        ("focal(class_weights=[1,2", "the '[' at character 21 is never closed: add ']'"),
        ("huber)", "')' at character 6 closes nothing"),
        ("huber(delta=0.5))", "')' at character 17 closes nothing"),
        ("huber(delta)", "expected '=' after delta (parameters are NAME=VALUE)"),
        ("huber(delta=)", "expected a value (a number, a word or [numbers]), found ')'"),
        ("mse,", "expected a loss name, found the end"),
        ("mse mae", "expected ',' between losses or an operator (+, -, *), found 'mae'"),
        ("0.7 mse", "expected '*', found 'mse' at character 5"),
    ],
)
def test_a_malformed_spec_says_what_is_missing(capsys, spec, says):
    error, hint = usage_error(capsys, "eval", REGRESSION, "-l", spec)
    assert f"cannot parse loss spec {spec!r}: {says}" in error
    assert "huber(delta=0.5)" in hint


@pytest.mark.parametrize("name", ["r2", "R2_score", "r_squared"])
def test_r2_is_the_d2_of_the_squared_error(capsys, name):
    doc = eval_json(capsys, REGRESSION, "-l", f"{name},d2_tweedie(power=0)")
    r2, d2 = (r["value"] for r in doc["results"])
    assert r2 == d2 == pytest.approx(0.6184040003580947, rel=1e-12)


def test_mape_on_a_zero_target_says_so(tmp_path, capsys):
    path = tmp_path / "zeros.csv"
    path.write_text("y,yhat\n1,1.1\n0,0.33\n2,2\n0,1\n")
    error, hint = usage_error(capsys, "eval", path, "-l", "mape", "-t", "y", "-p", "yhat")
    assert "column 'y', row 1 (line 3)" in error
    assert "mape divides by |y|" in error and "at least 2 rows" in error
    assert "mape(eps=1)" in hint and "mae" in hint
    # A floor the user chose, or a library's convention, gives that definition's number.
    doc = eval_json(capsys, path, "-l", "mape(eps=1)", "-t", "y", "-p", "yhat")
    assert doc["results"][0]["value"] == pytest.approx(100 * (0.1 + 0.33 + 0 + 1) / 4, rel=1e-12)
    doc = eval_json(capsys, path, "-l", "mape", "-t", "y", "-p", "yhat", "--convention", "keras")
    assert doc["results"][0]["value"] == pytest.approx(
        100 * (0.1 / 1 + 0.33 / 1e-7 + 0 + 1 / 1e-7) / 4, rel=1e-12
    )
