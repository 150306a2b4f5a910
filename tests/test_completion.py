"""Shell completion, driven the way the installed shell scripts drive it.

The bash script that ``losscli --show-completion bash`` prints runs the program with
``_LOSSCLI_COMPLETE=complete_bash`` (Typer's spelling of Click's ``bash_complete``),
``COMP_WORDS`` and ``COMP_CWORD``; these tests do the same through ``python -m losscli``
and the console script, in a fresh process each time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from helpers import succeeds

from losscli.cli.commands import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
CONSOLE_SCRIPT = shutil.which("losscli", path=str(Path(sys.executable).parent))
INSTRUCTION = {"bash": "complete_bash", "zsh": "complete_zsh", "fish": "complete_fish"}


def command_names() -> list[str]:
    return list(typer.main.get_command(app).commands)


def program(console_script: bool = False) -> list[str]:
    if console_script:
        assert CONSOLE_SCRIPT is not None
        return [CONSOLE_SCRIPT]
    return [sys.executable, "-m", "losscli"]


def bash_complete(line: str, *, console_script: bool = False) -> list[str]:
    """What bash offers for ``line`` (the word being completed is its last, maybe empty)."""
    words = line.split(" ")
    env = {
        **os.environ,
        "_LOSSCLI_COMPLETE": INSTRUCTION["bash"],
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    proc = succeeds(program(console_script), env=env, cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == ""
    return [item for item in proc.stdout.splitlines() if item]


def test_loss_names_after_a_prefix() -> None:
    offered = bash_complete("losscli eval sample_data/regression.csv --loss h")
    assert {"huber", "hinge"} <= set(offered)
    assert all(name.startswith("h") for name in offered)


def test_loss_names_after_a_comma() -> None:
    offered = bash_complete("losscli eval sample_data/regression.csv --loss mse,h")
    assert {"mse,huber", "mse,hinge"} <= set(offered)
    assert all(name.startswith("mse,h") for name in offered)


def test_loss_aliases_are_offered() -> None:
    assert "l2" in bash_complete("losscli eval sample_data/regression.csv --loss l")


def test_loss_parameters_inside_parentheses() -> None:
    assert bash_complete("losscli eval x.csv --loss mse,huber(d") == ["mse,huber(delta="]


@pytest.mark.skipif(CONSOLE_SCRIPT is None, reason="the losscli console script is not installed")
def test_the_console_script_completes() -> None:
    offered = bash_complete(
        "losscli grad sample_data/regression.csv --loss mse,h", console_script=True
    )
    assert {"mse,huber", "mse,hinge"} <= set(offered)


@pytest.mark.parametrize("command", [c for c in ("losses", "recommend") if c in command_names()])
def test_tasks_after_a_prefix(command: str) -> None:
    offered = bash_complete(f"losscli {command} --task im")
    assert "imbalanced" in offered
    assert all(task.startswith("im") for task in offered)


@pytest.mark.parametrize(
    ("sample", "columns"),
    [
        ("regression.csv", ["y_true", "y_pred", "segment", "weight"]),
        ("multiclass.csv", ["label", "prob_cat", "prob_dog", "prob_bird"]),
        ("multiclass.parquet", ["label", "prob_cat", "prob_dog", "prob_bird"]),
    ],
)
def test_column_names_of_the_file_on_the_line(sample: str, columns: list[str]) -> None:
    assert bash_complete(f"losscli eval sample_data/{sample} --pred ") == columns


def test_column_options_complete_columns() -> None:
    line = "losscli eval --loss mse sample_data/regression.csv"
    assert bash_complete(f"{line} --target y_") == ["y_true", "y_pred"]
    assert bash_complete(f"{line} --weight w") == ["weight"]
    assert bash_complete(f"{line} --group s") == ["segment"]


def test_a_comma_list_of_columns_continues() -> None:
    offered = bash_complete("losscli eval sample_data/multiclass.csv --pred prob_cat,p")
    assert offered == ["prob_cat,prob_dog", "prob_cat,prob_bird"]


def test_key_completes_columns_of_both_files() -> None:
    line = "losscli eval sample_data/regression.csv --targets sample_data/regression_var.csv --key "
    assert bash_complete(line) == ["y_true", "y_pred"]


def test_a_missing_file_completes_to_nothing() -> None:
    assert bash_complete("losscli eval sample_data/no_such_file.csv --pred ") == []


def test_an_unreadable_file_completes_to_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    assert bash_complete(f"losscli eval {broken} --pred ") == []
    unknown = tmp_path / "data.xyz"
    unknown.write_text("a,b\n1,2\n")
    assert bash_complete(f"losscli eval {unknown} --pred ") == []


def test_formats_complete() -> None:
    assert bash_complete("losscli eval sample_data/regression.csv --format ") == [
        "table",
        "json",
        "csv",
        "markdown",
        "junit",
    ]
    assert "parquet" in bash_complete("losscli eval sample_data/regression.csv --input-format ")


def test_commands_complete() -> None:
    assert bash_complete("losscli ") == command_names()


def test_zsh_and_fish_complete_loss_names() -> None:
    for shell in ("zsh", "fish"):
        env = {
            **os.environ,
            "_LOSSCLI_COMPLETE": INSTRUCTION[shell],
            "_TYPER_COMPLETE_ARGS": "losscli eval x.csv --loss mse,h",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        }
        proc = succeeds(program(), env=env)
        assert "mse,huber" in proc.stdout, shell


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script(shell: str) -> None:
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = succeeds([*program(), "--show-completion", shell], env=env)
    # The script calls back with the instruction these tests use.
    assert f"_LOSSCLI_COMPLETE={INSTRUCTION[shell]}" in proc.stdout


@pytest.mark.parametrize(
    ("shell", "written"),
    [
        ("bash", ".bash_completions/losscli.sh"),
        ("zsh", ".zfunc/_losscli"),
        ("fish", ".config/fish/completions/losscli.fish"),
    ],
)
def test_install_completion_writes_the_script(shell: str, written: str, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    succeeds([*program(), "--install-completion", shell], env=env)
    assert "_LOSSCLI_COMPLETE" in (tmp_path / written).read_text(encoding="utf-8")


def test_help_does_not_load_the_completion_module() -> None:
    code = "import sys; from losscli.cli.commands import run; run(['--help']); print('losscli.cli.completion' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.skipif("compare" not in command_names(), reason="no compare command")
def test_compare_completes_losses_and_keys_of_both_files() -> None:
    line = "losscli compare sample_data/regression.csv sample_data/regression_var.csv"
    assert {"mse,huber", "mse,hinge"} <= set(bash_complete(f"{line} --loss mse,h"))
    assert bash_complete(f"{line} --key ") == ["y_true", "y_pred"]
    assert bash_complete(f"{line} --pred ") == ["y_true", "y_pred", "segment", "weight"]


def test_clicks_own_spelling_bash_complete_works_too():
    """`_LOSSCLI_COMPLETE=bash_complete` (Click's spelling) completes like complete_bash."""
    line = "losscli eval sample_data/regression.csv --loss mse,h"
    env = {
        **os.environ,
        "_LOSSCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split(" ")) - 1),
    }
    proc = succeeds(program(), env=env, cwd=ROOT)
    offered = [item for item in proc.stdout.splitlines() if item]
    assert "mse,huber" in offered and "mse,hinge" in offered
    assert offered == bash_complete(line)
