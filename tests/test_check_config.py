"""``losscli check`` configuration errors: exit 2, one ``error:`` line naming the file, the
check (counted from 1, as its default name is) and the TOML key, never a CLI flag.

A file check needs a rule; unknown keys suggest the closest and list the allowed ones
(the man page lists them too); wrong types say what the key takes; empty values,
duplicate names and contradicting keys are errors, not silent defaults.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from losscli.app.checks import COMPARE_KEYS, EVAL_KEYS
from losscli.cli.commands import run

ROOT = Path(__file__).resolve().parents[1]
REGRESSION = ROOT / "sample_data" / "regression.csv"
WORSE = ROOT / "sample_data" / "regression_worse.csv"


def q(path: Path | str) -> str:
    return json.dumps(str(path))


def config_error(capsys, tmp_path: Path, text: str) -> tuple[str, str | None]:
    """Run check on this configuration: exit 2, one error line, at most one hint line."""
    config = tmp_path / "losscli.toml"
    config.write_text(text)
    code = run(["check", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\n{out}{err}"
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {config}: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), err
    assert "Traceback" not in err
    return lines[0][len(f"error: {config}: ") :], (lines[1][6:] if len(lines) == 2 else None)


def file_check(*lines: str, loss: str = "mse") -> str:
    return "\n".join(["[[check]]", f"file = {q(REGRESSION)}", f'loss = "{loss}"', *lines]) + "\n"


def compare_check(*lines: str) -> str:
    head = ["[[check]]", f"baseline = {q(REGRESSION)}", f"candidate = {q(WORSE)}", 'loss = "mse"']
    return "\n".join([*head, *lines]) + "\n"


# ---- a check without a rule --------------------------------------------------------------


def test_a_file_check_without_a_rule_is_an_error(capsys, tmp_path):
    message, hint = config_error(capsys, tmp_path, file_check('name = "lonely"'))
    assert message == "[[check]] #1 (lonely): the check has no rule, so it could never fail"
    assert hint == (
        "add fail_above = { mse = VALUE } (fail_above gates losses, fail_below "
        "higher-is-better metrics such as D²)"
    )
    _, hint = config_error(capsys, tmp_path, file_check(loss="d2_tweedie(power=0)"))
    assert hint.startswith("add fail_below = { d2_tweedie = VALUE }")


def test_an_empty_threshold_table_is_no_rule_either(capsys, tmp_path):
    message, _ = config_error(capsys, tmp_path, file_check("fail_above = {}"))
    assert message == "[[check]] #1: key 'fail_above' is empty"


# ---- checks counted from 1 ---------------------------------------------------------------


def test_checks_are_counted_from_1_as_their_default_names_are(capsys, tmp_path):
    text = file_check("fail_above = 5") + file_check("fail_above = 5", "fail_abov = 1")
    message, _ = config_error(capsys, tmp_path, text)
    assert message.startswith("[[check]] #2: unknown key 'fail_abov'")
    # the same check, failing instead, is named "check 2" in the summary
    config = tmp_path / "fails.toml"
    config.write_text(file_check("fail_above = 5") + file_check("fail_above = 0.1"))
    code = run(["check", "--config", str(config)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[-1] == "1 of 2 checks failed: check 2"


def test_pyproject_checks_are_named_by_their_table_and_counted_from_1(capsys, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.losscli]\n\n[[tool.losscli.check]]\nname = "a"\n'
        f'file = {q(REGRESSION)}\nloss = "mse"\nfail_above = 5\n\n'
        f'[[tool.losscli.check]]\nfile = {q(REGRESSION)}\nloss = "mse"\n'
    )
    code = run(["check", "--config", str(config)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines()[0] == (
        f"error: {config}: [[tool.losscli.check]] #2: the check has no rule, so it could never fail"
    )


# ---- errors name the TOML key, not the CLI flag ------------------------------------------


@pytest.mark.parametrize(
    ("data", "lines", "message", "hint"),
    [
        pytest.param(
            "y_true,foo\n1,2\n",
            [],
            "no prediction column found",
            'name it with pred = "COL"; the columns are: y_true, foo',
            id="no-prediction-column",
        ),
        pytest.param(
            "y_true,y_pred\n1,2\n",
            ['pred = "yhat"'],
            'pred = "yhat": no such column',
            "the columns are: y_true, y_pred",
            id="no-such-column",
        ),
        pytest.param(
            "y_true,y_pred,w\n1,2,0\n",
            ['weight = "w"'],
            "the weights in column 'w' sum to 0",
            'give some rows a positive weight, or use reduction = "sum"',
            id="zero-weights",
        ),
        pytest.param(
            "y_true;y_pred\n1,5;2,5\n",
            [],
            "'1,5' is not a number",
            'numbers with decimal commas: add decimal = ","',
            id="decimal-comma",
        ),
    ],
)
def test_errors_met_while_running_a_check_name_the_toml_key(
    capsys, tmp_path, data, lines, message, hint
):
    path = tmp_path / "data.csv"
    path.write_text(data)
    text = "\n".join(
        ["[[check]]", 'name = "c"', f"file = {q(path)}", 'loss = "mse"', "fail_above = 5", *lines]
    )
    got, got_hint = config_error(capsys, tmp_path, text + "\n")
    assert got.startswith("[[check]] #1 (c): ")
    assert message in got
    assert got_hint == hint
    assert "--" not in got + got_hint


def test_a_config_loss_error_names_the_toml_key_in_its_hint(capsys, tmp_path):
    message, hint = config_error(
        capsys, tmp_path, file_check("from_logits = true", "fail_above = 5")
    )
    assert message == (
        "[[check]] #1: key 'loss': from_logits = true given, but no selected loss reads logits"
    )
    assert hint is None or "--" not in hint


def test_require_significant_without_bootstrap_names_both_keys(capsys, tmp_path):
    text = compare_check("bootstrap = 0", "require_significant = true")
    message, hint = config_error(capsys, tmp_path, text)
    assert message == (
        "[[check]] #1: key 'require_significant' needs an interval, and 'bootstrap' is 0"
    )
    assert hint == "give bootstrap = 1000 (the default), or require_significant = false"


# ---- unknown keys, wrong types, empty values -----------------------------------------------


def test_an_unknown_key_suggests_the_closest_and_lists_the_allowed_ones(capsys, tmp_path):
    message, hint = config_error(capsys, tmp_path, file_check("fail_abov = 1"))
    assert message == "[[check]] #1: unknown key 'fail_abov' (did you mean 'fail_above'?)"
    assert hint == "the keys of a file check: " + ", ".join(sorted(EVAL_KEYS))
    message, hint = config_error(capsys, tmp_path, compare_check("max_regresion = 1"))
    assert message == "[[check]] #1: unknown key 'max_regresion' (did you mean 'max_regression'?)"
    assert hint == "the keys of a compare check (baseline, candidate): " + ", ".join(
        sorted(COMPARE_KEYS)
    )


def test_the_man_page_lists_every_key():
    page = (ROOT / "man" / "losscli-check.1").read_text()
    text = " ".join(page.split())
    for key in sorted(set(EVAL_KEYS) | set(COMPARE_KEYS)):
        assert key in text, key


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('seed = "7"', "key 'seed' has the wrong type: a string ('7'), it takes an integer"),
        (
            "target = 1",
            "key 'target' has the wrong type: an integer (1), it takes a column name or a "
            "list of column names",
        ),
        (
            "confidence = true",
            "key 'confidence' has the wrong type: a boolean (True), it takes a number",
        ),
    ],
)
def test_a_wrong_type_says_what_the_key_takes(capsys, tmp_path, line, message):
    got, _ = config_error(capsys, tmp_path, compare_check(line))
    assert got == f"[[check]] #1: {message}"


@pytest.mark.parametrize(
    ("line", "key"),
    [("pred = []", "pred"), ('group = ""', "group"), ('name = " "', "name")],
)
def test_an_empty_value_is_an_error_not_a_default(capsys, tmp_path, line, key):
    got, hint = config_error(capsys, tmp_path, file_check(line, "fail_above = 5"))
    assert got == f"[[check]] #1: key {key!r} is empty"
    assert hint == "give it a value, or leave the key out"


def test_an_empty_file_path_is_an_error_not_the_config_directory(capsys, tmp_path):
    text = '[[check]]\nfile = ""\nloss = "mse"\nfail_above = 5\n'
    got, _ = config_error(capsys, tmp_path, text)
    assert got == "[[check]] #1: key 'file' is empty"


def test_two_checks_with_the_same_name_are_an_error(capsys, tmp_path):
    text = file_check('name = "same"', "fail_above = 5") * 2
    got, hint = config_error(capsys, tmp_path, text)
    assert got == "[[check]] #2 (same): [[check]] #1 has the same name 'same'"
    assert hint.startswith("give every check its own name")


def test_a_negative_seed_is_a_config_error_not_an_internal_one(capsys, tmp_path):
    got, _ = config_error(capsys, tmp_path, compare_check("seed = -1"))
    assert got == "[[check]] #1: key 'seed' must be 0 or more"


def test_a_losscli_toml_with_a_stray_table_names_it(capsys, tmp_path):
    """A [tool] table in losscli.toml is an unknown key there, not a pyproject.toml."""
    got, hint = config_error(capsys, tmp_path, "[tool]\nx = 1\n\n" + file_check("fail_above = 5"))
    assert got == "unknown key 'tool'"
    assert hint == "declare checks as [[check]] tables, the command line's defaults as [defaults]"


def test_a_misaligned_compare_check_hints_at_the_key_key(capsys, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("".join(WORSE.read_text().splitlines(keepends=True)[:1001]))
    text = "\n".join(
        ["[[check]]", f"baseline = {q(REGRESSION)}", f"candidate = {q(short)}", 'loss = "mse"']
    )
    got, hint = config_error(capsys, tmp_path, text + "\n")
    assert got.startswith("[[check]] #1: ") and "1000 fewer in the candidate" in got
    assert hint == 'compare pairs rows by their order; pair them by an id column with key = "COL"'


def test_confidence_with_bootstrap_0_is_an_error_not_ignored(capsys, tmp_path):
    got, hint = config_error(capsys, tmp_path, compare_check("bootstrap = 0", "confidence = 0.9"))
    assert (
        got == "[[check]] #1: key 'confidence' shapes the bootstrap interval, and 'bootstrap' is 0"
    )
    assert hint == "leave out confidence, or give bootstrap = 1000 (the default)"


def test_per_group_without_group_is_an_error_not_ignored(capsys, tmp_path):
    got, hint = config_error(capsys, tmp_path, file_check("fail_above = 5", "per_group = false"))
    assert got == (
        "[[check]] #1: key 'per_group' needs key 'group': without it there are no group rows"
    )
    assert hint == 'add group = "COL", or leave out per_group'
