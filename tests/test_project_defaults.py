"""``[defaults]`` in losscli.toml: the options a project would repeat on every call.

The table (``[tool.losscli.defaults]`` in pyproject.toml) is found in the current
directory as ``losscli check`` finds its file. A value is used where the option is not on
the command line (the command line wins), with a note naming the file and the flags
(none under -q). Values are checked against scikit-learn and closed forms on a file
whose columns no built-in default would find (obs, fcst). An unknown key or a
value of the wrong type is exit 2 naming the file and the key, before any output.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest
from helpers import cli, error_lines
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

ROWS = 400


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory holding preds.csv (obs, fcst, other, logit, w, seg, id) and a
    second model's preds2.csv, its rows shuffled (paired by id); the cwd for the test."""
    rng = np.random.default_rng(19)
    frame = pd.DataFrame(
        {
            "id": np.arange(ROWS),
            "obs": rng.normal(size=ROWS),
            "fcst": rng.normal(size=ROWS),
            "other": rng.normal(size=ROWS),
            "logit": rng.normal(size=ROWS),
            "w": rng.uniform(0.5, 2.0, size=ROWS),
            "seg": rng.choice(["a", "b", "c"], size=ROWS),
        }
    )
    frame["y01"] = (rng.uniform(size=ROWS) < 1 / (1 + np.exp(-frame["logit"]))).astype(int)
    frame.to_csv(tmp_path / "preds.csv", index=False)
    second = frame.assign(fcst=frame["fcst"] + rng.normal(scale=0.1, size=ROWS))
    second.sample(frac=1.0, random_state=1).to_csv(tmp_path / "preds2.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return frame


def config(text: str, name: str = "losscli.toml") -> None:
    with open(name, "w") as fh:
        fh.write(text)


def doc(capsys, *args: object) -> tuple[dict, str]:
    code, out, err = cli(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out), err


def by_loss(document: dict) -> dict:
    return {(r["loss"], r["group"]): r["value"] for r in document["results"]}


BASE = '[defaults]\ntarget = "obs"\npred = "fcst"\nloss = "mse,mae"\n'


def test_eval_takes_columns_and_losses_from_the_defaults(capsys, project):
    config(BASE)
    got, err = doc(capsys, "eval", "preds.csv")
    y, p = project["obs"], project["fcst"]
    assert by_loss(got) == pytest.approx(
        {("mse", None): mean_squared_error(y, p), ("mae", None): mean_absolute_error(y, p)},
        rel=1e-12,
    )
    assert got["input"]["target"] == ["obs"] and got["input"]["predictions"] == ["fcst"]
    assert (
        "note: defaults from losscli.toml: --target obs --pred fcst --loss mse,mae"
        in err.splitlines()
    )


def test_the_command_line_wins_option_by_option(capsys, project):
    config(BASE)
    got, err = doc(capsys, "eval", "preds.csv", "--pred", "other", "-l", "mse")
    assert by_loss(got) == pytest.approx(
        {("mse", None): mean_squared_error(project["obs"], project["other"])}, rel=1e-12
    )
    assert "note: defaults from losscli.toml: --target obs" in err.splitlines()


def test_quiet_hides_the_note_not_the_defaults(capsys, project):
    config(BASE)
    got, err = doc(capsys, "eval", "preds.csv", "-q")
    assert err == ""
    assert by_loss(got)[("mse", None)] == pytest.approx(
        mean_squared_error(project["obs"], project["fcst"]), rel=1e-12
    )


def test_weight_group_and_from_logits_defaults(capsys, project):
    config(
        '[defaults]\ntarget = "y01"\npred = "logit"\nloss = "bce"\nfrom_logits = true\n'
        'weight = "w"\ngroup = "seg"\n'
    )
    got, _ = doc(capsys, "eval", "preds.csv", "-q")
    prob = 1 / (1 + np.exp(-project["logit"]))
    want = {("bce", None): log_loss(project["y01"], prob, sample_weight=project["w"])}
    for seg, part in project.groupby("seg"):
        want[("bce", seg)] = log_loss(
            part["y01"], prob[part.index], sample_weight=part["w"], labels=[0, 1]
        )
    assert by_loss(got) == pytest.approx(want, rel=1e-9)
    # --no-from-logits on the command line wins over from_logits = true
    code, _, err = cli(capsys, "eval", "preds.csv", "--no-from-logits", "-q")
    assert code == 2 and "logit" in err


def test_grad_takes_its_loss_and_columns_from_the_defaults(capsys, project):
    config('[defaults]\ntarget = "obs"\npred = "fcst"\nloss = "mse"\n')
    code, out, err = cli(capsys, "grad", "preds.csv")
    assert code == 0, err
    grads = pd.read_csv(io.StringIO(out))
    # ∂/∂ŷᵢ of (1/n) Σ (ŷ − y)² is 2 (ŷᵢ − yᵢ) / n
    want = 2 * (project["fcst"] - project["obs"]) / ROWS
    np.testing.assert_allclose(grads["grad_fcst"], want, rtol=1e-12)
    assert "note: defaults from losscli.toml: --target obs --pred fcst --loss mse" in err


def test_compare_pairs_rows_by_the_default_key(capsys, project):
    config(BASE + 'key = "id"\n')
    got, _ = doc(capsys, "compare", "preds.csv", "preds2.csv", "--bootstrap", "0", "-q")
    second = pd.read_csv("preds2.csv").set_index("id").loc[project["id"]]
    mse = {r["loss"]: r for r in got["results"]}["mse"]
    assert mse["baseline"] == pytest.approx(
        mean_squared_error(project["obs"], project["fcst"]), rel=1e-12
    )
    assert mse["candidate"] == pytest.approx(
        mean_squared_error(second["obs"], second["fcst"]), rel=1e-12
    )


def test_a_command_that_needs_a_loss_says_where_it_may_come_from(capsys, project):
    config('[defaults]\ntarget = "obs"\n')
    line, hint = error_lines(*cli(capsys, "grad", "preds.csv", "--pred", "fcst"))
    assert line == "error: grad needs --loss SPEC"
    assert hint is not None and "[defaults]" in hint


def test_defaults_the_command_would_refuse_are_left_out(capsys, project):
    config(BASE + 'group = "seg"\nweight = "w"\nkey = "id"\n')
    # --reduction none takes no group, median no weight, and eval's --key joins --targets:
    # the defaults give none of them, as the command line could not take them back
    code, out, err = cli(capsys, "eval", "preds.csv", "--reduction", "none", "-l", "mse")
    assert code == 0, err
    rows = pd.read_csv(io.StringIO(out))
    assert list(rows.columns) == ["row", "weight", "mse", "weighted_mse"]
    got, err = doc(capsys, "eval", "preds.csv", "--reduction", "median", "-l", "mse")
    squared = (project["obs"] - project["fcst"]) ** 2
    assert by_loss(got)[("mse", None)] == pytest.approx(np.median(squared), rel=1e-12)
    assert "--weight" not in err and "--key" not in err and "--group seg" in err


def test_pyproject_defaults_are_found_too(capsys, project):
    config(
        '[project]\nname = "x"\n\n[tool.losscli.defaults]\ntarget = "obs"\npred = "fcst"\n',
        "pyproject.toml",
    )
    got, err = doc(capsys, "eval", "preds.csv", "-l", "mae")
    assert by_loss(got)[("mae", None)] == pytest.approx(
        mean_absolute_error(project["obs"], project["fcst"]), rel=1e-12
    )
    assert "note: defaults from pyproject.toml: --target obs --pred fcst" in err


def test_a_pyproject_that_never_names_losscli_is_not_parsed(capsys, project, monkeypatch):
    """Start-up: every command looks for defaults, and most projects' pyproject.toml says
    nothing of losscli; such a file is not handed to the TOML parser at all."""
    import losscli.app.checks as checks

    parsed = []
    monkeypatch.setattr(checks, "_load_toml", lambda path: parsed.append(path) or {})
    config('[project]\nname = "x"\n\n[tool.black]\nline-length = 100\n', "pyproject.toml")
    got, err = doc(capsys, "eval", "preds.csv", "-l", "mse", "-t", "obs", "-p", "fcst")
    assert parsed == [] and "defaults from" not in err
    config('[project]\nname = "x"\n\n[tool.losscli.defaults]\nloss = "mae"\n', "pyproject.toml")
    doc(capsys, "eval", "preds.csv", "-l", "mse", "-t", "obs", "-p", "fcst")
    assert [p.name for p in parsed] == ["pyproject.toml"]


def test_a_broken_pyproject_holds_no_defaults(capsys, project):
    """Another tool's half-edited pyproject.toml does not stop eval (check still says it is
    broken); a broken losscli.toml, losscli's own file, is an error."""
    config('[project\nname = "x"\n', "pyproject.toml")
    got, err = doc(capsys, "eval", "preds.csv", "-l", "mse", "-t", "obs", "-p", "fcst")
    assert by_loss(got)[("mse", None)] == pytest.approx(
        mean_squared_error(project["obs"], project["fcst"]), rel=1e-12
    )
    code, out, err = cli(capsys, "check")
    assert code == 2 and "pyproject.toml" in err and "TOML" in err
    config("[defaults\n")
    code, out, err = cli(capsys, "eval", "preds.csv", "-l", "mse", "-t", "obs", "-p", "fcst")
    assert code == 2 and err.startswith("error: losscli.toml")


@pytest.mark.parametrize(
    ("table", "message", "hint"),
    [
        (
            'prd = "fcst"',
            "error: losscli.toml: [defaults]: unknown key 'prd' (did you mean 'pred'?)",
            "hint: the keys of the defaults: loss, target, pred",
        ),
        (
            "pred = 3",
            "error: losscli.toml: [defaults]: key 'pred' has the wrong type: an integer (3), "
            "it takes a column name or a list of column names",
            None,
        ),
        (
            'from_logits = "yes"',
            "error: losscli.toml: [defaults]: key 'from_logits' has the wrong type: a string "
            "('yes'), it takes true or false",
            None,
        ),
        ('delimiter = ";;"', "error: losscli.toml: [defaults]: key 'delimiter' ';;'", None),
        ('input_format = "xls"', "error: losscli.toml: [defaults]: key 'input_format'", None),
    ],
)
def test_a_bad_default_names_the_file_and_the_key(capsys, project, table, message, hint):
    config(f"[defaults]\n{table}\n")
    for command in (["eval", "preds.csv"], ["grad", "preds.csv", "-l", "mse"]):
        line, got_hint = error_lines(*cli(capsys, *command, "-o", "out.csv"))
        assert line.startswith(message)
        if hint:
            assert got_hint is not None and got_hint.startswith(hint)
    assert not os.path.exists("out.csv")


def test_check_still_reads_a_file_with_defaults(capsys, project):
    config(
        BASE + '\n[[check]]\nfile = "preds.csv"\nloss = "mse"\ntarget = "obs"\n'
        'pred = "fcst"\nfail_above = 100\n'
    )
    code, out, err = cli(capsys, "check", "--format", "json")
    assert code == 0, err
    got = json.loads(out)["checks"][0]["results"][0]["value"]
    assert got == pytest.approx(mean_squared_error(project["obs"], project["fcst"]), rel=1e-12)


def test_check_reports_a_bad_defaults_table(capsys, project):
    config(
        '[defaults]\nprd = "fcst"\n\n[[check]]\nfile = "preds.csv"\nloss = "mse"\n'
        'target = "obs"\npred = "fcst"\nfail_above = 100\n'
    )
    line, _ = error_lines(*cli(capsys, "check"))
    assert line == "error: losscli.toml: [defaults]: unknown key 'prd' (did you mean 'pred'?)"


def test_var_and_pos_label_defaults_serve_the_losses_that_read_them(capsys, project):
    """A project's var (for gaussian_nll) and pos_label (for its binary labels) do not stop
    a loss that reads neither; given on the command line, they are still refused there."""
    project.assign(sd=1.5).to_csv("preds.csv", index=False)
    config('[defaults]\ntarget = "obs"\npred = "fcst"\nvar = "sd"\npos_label = "1"\n')
    got, err = doc(capsys, "eval", "preds.csv", "-l", "mse")
    assert by_loss(got)[("mse", None)] == pytest.approx(
        mean_squared_error(project["obs"], project["fcst"]), rel=1e-12
    )
    got, _ = doc(capsys, "eval", "preds.csv", "-l", "gaussian_nll")
    var = 1.5  # the column holds the variance
    expected = np.mean(0.5 * (np.log(var) + (project["obs"] - project["fcst"]) ** 2 / var))
    assert by_loss(got)[("gaussian_nll", None)] == pytest.approx(expected, rel=1e-12)
    got, _ = doc(
        capsys, "eval", "preds.csv", "-l", "bce", "-t", "y01", "-p", "logit", "--from-logits"
    )
    p = 1 / (1 + np.exp(-project["logit"]))
    assert by_loss(got)[("bce", None)] == pytest.approx(log_loss(project["y01"], p), rel=1e-9)
    code, out, err = cli(capsys, "eval", "preds.csv", "-l", "mse", "--var", "sd")
    assert code == 2 and "no selected loss reads a variance column" in err


@pytest.mark.parametrize("name", ["feather", "ipc", "arrow"])
def test_input_format_takes_every_name_the_option_takes(capsys, project, name):
    """``input_format = "feather"`` reads as ``--input-format feather`` does."""
    project.to_feather("preds.data")
    config(BASE + f'input_format = "{name}"\n')
    got, _ = doc(capsys, "eval", "preds.data")
    assert by_loss(got)[("mse", None)] == pytest.approx(
        mean_squared_error(project["obs"], project["fcst"]), rel=1e-12
    )
