"""The console script ends its process without interpreter teardown, losing nothing."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from losscli.cli import compat, process_exit

ROOT = Path(__file__).resolve().parents[1]
REAL_ENUMERATE = threading.enumerate


class Ended(Exception):
    """Raised in place of ``os._exit`` so the test process survives."""


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record ``os._exit`` and ``atexit`` runs instead of doing them."""
    seen: dict[str, list] = {"os_exit": [], "atexit": []}

    def fake_os_exit(code: int) -> None:
        seen["os_exit"].append(code)
        raise Ended

    monkeypatch.setattr(compat.os, "_exit", fake_os_exit)
    monkeypatch.setattr(compat.atexit, "_run_exitfuncs", lambda: seen["atexit"].append(1))
    monkeypatch.delenv("LOSSCLI_FULL_EXIT", raising=False)
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    # Other tests in this process may leave worker threads behind (Dask's, for one).
    monkeypatch.setattr(process_exit.threading, "enumerate", lambda: [threading.main_thread()])
    return seen


def test_end_process_runs_atexit_handlers_then_ends_at_once(exits) -> None:
    with pytest.raises(Ended):
        process_exit.end_process(3)
    assert exits == {"os_exit": [3], "atexit": [1]}


def test_a_live_worker_thread_gets_the_ordinary_exit(exits, monkeypatch) -> None:
    monkeypatch.setattr(process_exit.threading, "enumerate", REAL_ENUMERATE)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        with pytest.raises(SystemExit) as info:
            process_exit.end_process(1)
    finally:
        release.set()
        worker.join()
    assert info.value.code == 1
    assert exits == {"os_exit": [], "atexit": []}


def test_a_loaded_dask_distributed_gets_the_ordinary_exit(exits, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", object())
    with pytest.raises(SystemExit) as info:
        process_exit.end_process(0)
    assert info.value.code == 0
    assert exits["os_exit"] == []


def test_losscli_full_exit_asks_for_the_ordinary_exit(exits, monkeypatch) -> None:
    monkeypatch.setenv("LOSSCLI_FULL_EXIT", "1")
    with pytest.raises(SystemExit) as info:
        process_exit.end_process(2)
    assert info.value.code == 2
    assert exits["os_exit"] == []


def test_the_console_script_is_the_quick_exit_entry_point() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'losscli = "losscli.cli.entry:console"' in text
    assert "console()" in (ROOT / "losscli" / "__main__.py").read_text()


# A user's atexit handler (coverage, logging) must still run, after the command's output.
ATEXIT_SCRIPT = """
import atexit, sys
atexit.register(lambda: sys.stdout.write("ATEXIT\\n"))
sys.argv = ["losscli", *{args!r}]
from losscli.cli.entry import console
console()
"""


def run_console(*args: str) -> subprocess.CompletedProcess[str]:
    script = ATEXIT_SCRIPT.format(args=list(args))
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_large_output_through_a_pipe_is_complete_and_atexit_still_runs(tmp_path: Path) -> None:
    n = 50_000
    rng = np.random.default_rng(7)
    y, p = rng.normal(size=n), rng.normal(size=n)
    data = tmp_path / "big.csv"
    data.write_text(
        "y_true,y_pred\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(y, p))
    )
    proc = run_console("grad", str(data), "--loss", "mse", "--reduction", "sum", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    body, marker = proc.stdout.rsplit("ATEXIT\n", 1)
    assert marker == ""
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == n + 1
    grad_col = rows[0].index("grad_y_pred")
    got = np.array([float(r[grad_col]) for r in rows[1:]])
    np.testing.assert_allclose(got, 2.0 * (p - y), rtol=1e-12)


def test_an_input_error_keeps_its_line_and_status() -> None:
    proc = run_console("eval", "no-such-file.csv", "--loss", "mse")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "no-such-file.csv" in proc.stderr
    assert proc.stdout == "ATEXIT\n"


def test_the_module_entry_point_exits_with_the_commands_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "losscli", "eval", "no-such-file.csv", "--loss", "mse"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


# Start-up's objects are made with the collector paused and frozen as the command begins.
COLLECTOR_SCRIPT = """
import atexit, gc, sys
import losscli.cli.commands as commands
seen = {{}}
invoke = commands._Command.invoke
def spy(self, ctx):
    seen["start-up collections"] = sum(s["collections"] for s in gc.get_stats()) - before
    return invoke(self, ctx)
commands._Command.invoke = spy
atexit.register(lambda: sys.stderr.write(
    f"{{seen}} enabled={{gc.isenabled()}} frozen={{gc.get_freeze_count() > 1000}}\\\\n"
))
sys.argv = ["losscli", *{args!r}]
before = sum(s["collections"] for s in gc.get_stats())
from losscli.cli.entry import console
console()
"""


def test_the_console_script_pauses_the_collector_for_start_up_only() -> None:
    sample = str(ROOT / "sample_data" / "regression.csv")
    script = COLLECTOR_SCRIPT.format(args=["eval", sample, "--loss", "mse"])
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "{'start-up collections': 0} enabled=True frozen=True" in proc.stderr


def test_the_library_leaves_the_collector_alone(capsys) -> None:
    import gc

    from losscli.cli.commands import run

    frozen = gc.get_freeze_count()
    assert run(["eval", str(ROOT / "sample_data" / "regression.csv"), "--loss", "mse"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        assert run(["explain", "mse"]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
