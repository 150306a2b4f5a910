"""Tables and text on a terminal of any width: a number, verdict or word is never broken.

Each command runs under a pseudo-terminal whose size is set with TIOCSWINSZ (as a real
terminal window sets it). What it prints at 200 columns must appear, token for token, at
60 and 40 columns: a narrower terminal gets the same table with text cells wrapped
between words, one record per row, or prose wrapped to its width. Piped, the output is
plain and does not depend on the terminal's width at all.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import ROOT, SAMPLES, on_pty

pytest.importorskip("pty")
pytest.importorskip("fcntl")
pytest.importorskip("termios")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Rich's box-drawing characters (U+2500–U+257F) are borders, not content.
BORDERS = re.compile(r"[\u2500-\u257f]")

COMMANDS = {
    "eval": ["eval", SAMPLES / "regression.csv", "-l", "huber", "--group", "segment"],
    "eval-gradients-bootstrap": [
        "eval",
        SAMPLES / "regression.csv",
        "-l",
        "mae",
        "--gradients",
        "--bootstrap",
        "50",
        "--fail-above",
        "mae=0.5",
    ],
    "eval-per-class": [
        "eval",
        SAMPLES / "multiclass.csv",
        "-l",
        "cross_entropy",
        "--per-class",
        "--bootstrap",
        "50",
    ],
    "compare": [
        "compare",
        SAMPLES / "regression.csv",
        SAMPLES / "regression_worse.csv",
        "-l",
        "mae",
        "--group",
        "segment",
        "--bootstrap",
        "50",
    ],
    "check": ["check", "--config", ROOT / "losscli.toml"],
    "recommend-file": ["recommend", SAMPLES / "imbalanced.csv", "--evaluate"],
    "recommend-task": ["recommend", "--task", "imbalanced"],
    "losses": ["losses"],
    "explain": ["explain", "focal"],
}


def _env(columns: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "CI")}
    env.update({"TERM": "xterm", "NO_COLOR": "1", "LOSSCLI_PROGRESS_DELAY": "1000"})
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


def on_terminal(args: list[object], columns: int, *, env_columns: bool = False) -> str:
    """stdout of ``losscli ARGS`` on a pseudo-terminal ``columns`` wide (ANSI removed)."""
    code, shown, pipes = on_pty(
        [sys.executable, "-m", "losscli", *map(str, args)],
        terminal=["stdout"],
        env=_env(columns if env_columns else None),
        window=columns,
        decode_errors="strict",
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    err = pipes["stderr"]
    assert code in (0, 1), err
    assert "Traceback" not in err
    return ANSI.sub("", shown).replace("\r\n", "\n")


def piped(args: list[object], columns: int) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "losscli", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(columns),
        cwd=ROOT,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def tokens(text: str) -> list[str]:
    return BORDERS.sub(" ", text).split()


@pytest.fixture(scope="module")
def wide() -> dict[str, str]:
    return {name: on_terminal(args, 200) for name, args in COMMANDS.items()}


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_token_printed_wide_is_printed_whole_on_a_narrow_terminal(wide, name, columns):
    narrow = on_terminal(COMMANDS[name], columns)
    missing = sorted(set(tokens(wide[name])) - set(tokens(narrow)))
    assert not missing, f"broken or lost at {columns} columns: {missing[:20]}\n{narrow}"
    # Nothing is left for the terminal itself to break: every line fits, apart from a
    # command to copy (recommend's "try:" lines) and one piece too long for any line
    # (a path, "2. weighted_bce(class_weights=[0.5266,9.901])").
    too_wide = [
        line
        for line in narrow.splitlines()
        if len(line.rstrip()) > columns
        and not line.lstrip().startswith("try:")
        and len(line.split()) > 2
    ]
    assert not too_wide, f"lines wider than {columns} columns:\n" + "\n".join(too_wide)


@pytest.mark.parametrize("name", ["eval-gradients-bootstrap", "compare", "check"])
def test_numbers_and_verdicts_are_whole_with_columns_set_in_the_environment(wide, name):
    narrow = on_terminal(COMMANDS[name], 60, env_columns=True)
    numbers = {t for t in tokens(wide[name]) if re.search(r"\d", t)}
    verdicts = {t for t in tokens(wide[name]) if t in ("REGRESSION", "passed", "FAILED")}
    assert numbers and numbers <= set(tokens(narrow))
    assert verdicts <= set(tokens(narrow))


def test_losses_at_80_columns_is_readable(wide):
    from losscli.losses import registry

    text = on_terminal(["losses"], 80)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    names = registry.available_losses(None)
    # Each loss's name stands whole on its own line, as a record's first field.
    for name in names:
        assert any(line.split() == ["name", name] for line in lines), name
    # A record per loss (six fields and a blank line), with room for a wrapped summary:
    # not hundreds of lines of one-word cells.
    assert len(lines) <= 9 * len(names) + 10
    assert set(tokens(wide["losses"])) <= set(tokens(text))


@pytest.mark.parametrize("name", ["eval-gradients-bootstrap", "compare", "check", "losses"])
def test_piped_output_is_plain_and_ignores_the_terminal_width(name):
    narrow, wide = piped(COMMANDS[name], 40), piped(COMMANDS[name], 200)
    assert narrow == wide
    assert not BORDERS.search(narrow) and "\x1b" not in narrow
    header = narrow.splitlines()[0].split()
    assert header[0] in ("loss", "check", "name")
