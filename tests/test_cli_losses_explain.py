"""The ``losses`` and ``explain`` commands, ``--version``, and how errors become exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

import losscli
from losscli.cli import explain_output as render
from losscli.cli.commands import app, main, output
from losscli.losses.registry import TASKS, available_losses, get_loss

runner = CliRunner()
Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run ``main`` in-process, as the console script does: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err

    return run


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m losscli`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "losscli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def plain_names(stdout: str) -> list[str]:
    """The first column of the plain tables (losses, then metrics), without headers,
    titles and notes: the lines after each ``name …`` header up to a blank line."""
    names: list[str] = []
    for block in stdout.split("\n\n"):
        lines = block.splitlines()
        header = next((i for i, line in enumerate(lines) if line.split()[:1] == ["name"]), None)
        if header is not None:
            names += [line.split()[0] for line in lines[header + 1 :] if line.strip()]
    return names


# --version and help


def test_version_prints_name_and_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"losscli {losscli.__version__}\n"
    assert result.stdout == "losscli 0.1.0\n"


def test_version_through_main_exits_0(invoke: Invoke) -> None:
    assert invoke("--version") == (0, "losscli 0.1.0\n", "")


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "losses" in result.stdout
    assert "explain" in result.stdout
    assert "--debug" in result.stdout


def test_bare_losscli_shows_help_and_is_a_usage_error(invoke: Invoke) -> None:
    code, stdout, stderr = invoke()
    assert code == 2
    assert stdout == ""
    assert "Usage: losscli" in stderr
    assert "Traceback" not in stderr


# losses


def test_losses_json_lists_every_registered_loss_with_its_params() -> None:
    result = runner.invoke(app, ["losses", "--format", "json"])
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert [r["name"] for r in records] == available_losses()
    for record in records:
        assert set(record) == {
            "name",
            "aliases",
            "tasks",
            "inputs",
            "params",
            "logits",
            "summary",
            "kind",
            "better",
        }
        loss = get_loss(record["name"])
        assert record["kind"] == loss.kind and record["better"] == loss.better
        assert record["aliases"] == list(loss.aliases)
        assert record["tasks"] == list(loss.tasks)
        assert record["inputs"] == loss.inputs
        assert record["logits"] == loss.logits
        assert [p["name"] for p in record["params"]] == [p.name for p in loss.params]
        for given, declared in zip(record["params"], loss.params, strict=True):
            assert set(given) == {"name", "default", "valid"}
            assert given["default"] == render.json_value(declared.default)
            assert given["valid"] == declared.valid


def test_losses_json_keeps_full_precision_defaults() -> None:
    records = json.loads(runner.invoke(app, ["losses", "--format", "json"]).stdout)
    huber = next(r for r in records if r["name"] == "huber")
    assert huber["params"] == [{"name": "delta", "default": 1.0, "valid": "> 0"}]


def test_losses_task_robust_lists_huber_and_mae_but_not_bce() -> None:
    result = runner.invoke(app, ["losses", "--task", "robust"])
    assert result.exit_code == 0
    names = plain_names(result.stdout)
    assert "huber" in names
    assert "mae" in names
    assert "bce" not in names
    assert names == available_losses("robust-regression")


@pytest.mark.parametrize("spelling", ["robust-regression", "Robust_Regression", "outliers"])
def test_losses_task_accepts_common_spellings(spelling: str) -> None:
    result = runner.invoke(app, ["losses", "--task", spelling, "--format", "json"])
    assert result.exit_code == 0
    assert [r["name"] for r in json.loads(result.stdout)] == available_losses("robust-regression")


def test_losses_plain_table_has_a_header_and_one_row_per_loss() -> None:
    result = runner.invoke(app, ["losses"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == list(render.LOSS_COLUMNS)
    assert plain_names(result.stdout) == available_losses()
    huber = next(line for line in lines if line.startswith("huber "))
    assert "delta=1.0" in huber
    # Plain output: no box drawing, no escape codes.
    assert "│" not in result.stdout
    assert "\x1b" not in result.stdout


def test_losses_markdown_is_a_table_with_every_loss() -> None:
    result = runner.invoke(app, ["losses", "--format", "markdown"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "| name | aliases | tasks | inputs | params | summary |"
    assert lines[1] == "|---|---|---|---|---|---|"
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| name ")]
    assert [line.split("|")[1].strip() for line in rows] == available_losses()
    metrics = lines.index("## " + render.METRICS_TITLE)
    assert lines[metrics + 2] == "| name | better | aliases | tasks | inputs | params | summary |"


def test_losses_table_on_a_terminal_is_drawn_with_rich(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    code, stdout, _ = invoke("losses", "--task", "robust")
    assert code == 0
    assert "┃" in stdout
    assert "huber" in stdout
    assert "delta=1.0" in stdout


def test_losses_unknown_task_exits_2_and_lists_the_tasks(invoke: Invoke) -> None:
    code, stdout, stderr = invoke("losses", "--task", "foo")
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines[0] == "error: unknown task 'foo'"
    assert len(lines) == 2
    assert lines[1].startswith("hint: ")
    for task in TASKS:
        assert task in lines[1]


def test_losses_bad_format_is_a_usage_error(invoke: Invoke) -> None:
    code, stdout, stderr = invoke("losses", "--format", "xml")
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error: ") and "'xml'" in lines[0]
    assert lines[1] == "hint: run 'losscli losses --help' for usage"


def test_unknown_option_is_a_usage_error(invoke: Invoke) -> None:
    code, _, stderr = invoke("losses", "--tsk", "robust")
    assert code == 2
    assert stderr.splitlines()[0].startswith("error: no such option: --tsk")
    assert "Traceback" not in stderr


# explain


def test_explain_huber_shows_formula_gradient_and_parameters() -> None:
    result = runner.invoke(app, ["explain", "huber"])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("huber — ")
    assert "Lᵢ = ½e² if |e| ≤ δ, else δ(|e| − ½δ)" in out
    assert "δ" in out
    for heading in ("Parameters", "Formula", "Gradient", "Properties", "Use when", "Pitfalls"):
        assert f"\n{heading}\n" in out
    assert "\nActivation\n" in out
    assert "\nHow libraries differ\n" in out
    assert "delta = 1.0  must be > 0" in out
    assert "real target y and prediction ŷ" in out


@pytest.mark.parametrize("alias", ["l2", "L2", "Mean_Squared_Error", "mean-squared-error"])
def test_explain_alias_shows_the_loss_it_names(alias: str) -> None:
    result = runner.invoke(app, ["explain", alias])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "mse — Mean squared error."
    assert "aliases  l2, mean_squared_error" in result.stdout


@pytest.mark.parametrize("name", available_losses())
def test_explain_works_for_every_registered_loss(name: str) -> None:
    result = runner.invoke(app, ["explain", name])
    assert result.exit_code == 0
    assert result.stdout.startswith(name)
    assert "\nParameters\n" in result.stdout
    if get_loss(name).explain is not None:
        assert "\nFormula\n" in result.stdout
        assert "\nGradient\n" in result.stdout


def test_explain_json_has_every_field() -> None:
    result = runner.invoke(app, ["explain", "huber", "--format", "json"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    explain = get_loss("huber").explain
    assert record["name"] == "huber"
    assert record["formula"] == explain.formula
    assert record["gradient"] == explain.gradient
    for key in ("properties", "use_when", "pitfalls", "activation", "differences"):
        assert record[key] == getattr(explain, key)
    assert record["params"] == [
        {"name": "delta", "default": 1.0, "valid": "> 0", "help": "Huber threshold δ"}
    ]


def test_explain_markdown_has_headings_and_a_parameter_table() -> None:
    result = runner.invoke(app, ["explain", "huber", "--format", "markdown"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# huber\n")
    assert "## Formula" in result.stdout
    assert "| delta | 1.0 | > 0 | Huber threshold δ |" in result.stdout


def test_explain_unknown_loss_is_one_error_line_and_a_hint_in_a_real_process() -> None:
    proc = run_module("explain", "hubr")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [lines[0], lines[1]]
    assert lines[0] == "error: unknown loss 'hubr'"
    assert lines[1].startswith("hint: did you mean")
    assert "huber" in lines[1]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_explain_huber_in_a_real_process_prints_plain_text() -> None:
    proc = run_module("explain", "huber")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "δ(|e| − ½δ)" in proc.stdout
    assert "\x1b" not in proc.stdout


def test_explain_missing_name_is_a_usage_error(invoke: Invoke) -> None:
    code, _, stderr = invoke("explain")
    assert code == 2
    assert stderr.splitlines()[0] == "error: missing argument 'NAME'."


# errors that are not the user's


def _raise(exc: BaseException):
    def raiser(*args: object, **kwargs: object) -> None:
        raise exc

    return raiser


def test_internal_error_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    monkeypatch.setattr(render, "explain_lines", _raise(RuntimeError("boom")))
    code, stdout, stderr = invoke("explain", "huber")
    assert code == 70
    assert stdout == ""
    assert stderr == (
        "error: internal error: RuntimeError: boom (rerun with --debug for the traceback)\n"
    )


def test_debug_shows_the_traceback_of_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    monkeypatch.setattr(render, "explain_lines", _raise(RuntimeError("boom")))
    code, _, stderr = invoke("--debug", "explain", "huber")
    assert code == 70
    assert "Traceback (most recent call last)" in stderr
    assert stderr.splitlines()[-1] == "error: internal error: RuntimeError: boom"


def test_debug_shows_the_traceback_of_a_user_error(invoke: Invoke) -> None:
    code, _, stderr = invoke("--debug", "explain", "hubr")
    assert code == 2
    assert "Traceback (most recent call last)" in stderr
    assert stderr.splitlines()[-2:] == ["error: unknown loss 'hubr'", "hint: did you mean huber?"]


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, invoke: Invoke) -> None:
    monkeypatch.setattr(render, "explain_lines", _raise(KeyboardInterrupt()))
    code, _, stderr = invoke("explain", "huber")
    assert code == 130
    assert "Traceback" not in stderr


def test_broken_pipe_inside_a_command_is_quiet(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    monkeypatch.setattr(render, "explain_lines", _raise(BrokenPipeError()))
    assert invoke("explain", "huber") == (0, "", "")


def test_closed_stdout_pipe_in_a_real_process_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "losscli", "losses"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The reader goes away before the command writes, as with ``| head -0``.
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""
