"""Commands that only read the registry start fast: they never import numpy, pandas or pyarrow.

Each command runs in a fresh interpreter, because the test process itself has
imported numpy long before these tests run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import succeeds

HEAVY = ("numpy", "pandas", "pyarrow")
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv"

# Runs one command through the console-script entry point, then reports its exit
# code and which heavy modules got imported as the last line of stdout.
SCRIPT = """
import json, sys
{setup}
from losscli.cli.commands import main
sys.argv = ["losscli", *{args!r}]
try:
    main()
    code = None
except SystemExit as exc:
    code = exc.code
heavy = [name for name in {heavy!r} if name in sys.modules]
sys.stdout.write("\\n" + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
sys.stdout.flush()
"""

# Draws tables with Rich, as on a terminal, although stdout here is a pipe.
AS_IF_ON_A_TERMINAL = (
    "import losscli.cli.output; losscli.cli.output.stdout_is_terminal = lambda: True"
)

# (arguments, expected exit code)
COMMANDS = [
    (["--help"], 0),
    (["--version"], 0),
    (["losses"], 0),
    (["losses", "--task", "robust"], 0),
    (["losses", "--format", "json"], 0),
    (["losses", "--format", "markdown"], 0),
    (["explain", "huber"], 0),
    (["explain", "l2", "--format", "json"], 0),
    (["explain", "hubr"], 2),
    (["losses", "--task", "foo"], 2),
    (["recommend", "--task", "imbalanced"], 0),
    (["recommend", "--task", "multi-class", "--format", "json"], 0),
    (["recommend", "--task", "nlp", "--format", "markdown"], 0),
    (["recommend", "--task", "foo"], 2),
]


def run_command(args: list[str], setup: str = "") -> dict:
    """Run ``losscli ARGS`` in a fresh interpreter: its exit code and heavy imports."""
    script = SCRIPT.format(setup=setup, args=args, heavy=HEAVY)
    proc = succeeds([sys.executable, "-c", script])
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize(("args", "code"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_command_does_not_import_numpy_pandas_or_pyarrow(args: list[str], code: int) -> None:
    assert run_command(args) == {"code": code, "heavy": []}


def test_rich_table_on_a_terminal_does_not_import_numpy_pandas_or_pyarrow() -> None:
    report = run_command(["losses"], setup=AS_IF_ON_A_TERMINAL)
    assert report == {"code": 0, "heavy": []}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["explain", "huber"]], ids=" ".join)
def test_python_m_losscli_imports_no_heavy_module(args: list[str]) -> None:
    # -X importtime lists every module the real entry point imports, on stderr.
    proc = succeeds([sys.executable, "-X", "importtime", "-m", "losscli", *args])
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "losscli.cli.commands" in imported
    assert {name.split(".")[0] for name in imported} & set(HEAVY) == set()


@pytest.mark.parametrize(
    ("args", "loaded"),
    [([], False), (["--convention", "torch"], True)],
    ids=["no convention", "--convention torch"],
)
def test_the_convention_records_load_only_for_a_convention(args: list[str], loaded: bool) -> None:
    """eval reads no convention record unless one is asked for (the table of every
    (loss, library) record costs milliseconds of every command's start-up)."""
    script = (
        "import sys; from losscli.cli.commands import run; "
        f"code = run(['eval', {str(SAMPLE)!r}, '--loss', 'mse', '-q', *{args!r}]); "
        "print(code, 'losscli.binding.conventions' in sys.modules)"
    )
    proc = succeeds([sys.executable, "-c", script])
    assert proc.stdout.split()[-2:] == ["0", str(loaded)]
