"""The progress bar: on stderr under a terminal only, never in CI, piped or --quiet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pty = pytest.importorskip("pty")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "preds.csv"
    rng = np.random.default_rng(0)
    y = rng.normal(size=300_000)
    np.savetxt(
        path,
        np.column_stack([y, y + rng.normal(size=y.size)]),
        delimiter=",",
        fmt="%.6f",
        header="y_true,y_pred",
        comments="",
    )
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "LOSSCLI_PROGRESS_DELAY")}
    env.update({"TERM": "xterm", "COLUMNS": "120", "LOSSCLI_PROGRESS_DELAY": "0", **extra})
    return env


def _run_on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run losscli with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "losscli", *args], stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(), out, b"".join(chunks).decode(errors="replace")


def test_bar_on_a_terminal_shows_bytes_read_and_stays_off_stdout(big_csv: Path) -> None:
    code, out, err = _run_on_terminal(["eval", str(big_csv), "--loss", "mse"], _env())
    assert code == 0
    text = ANSI.sub("", err)
    assert big_csv.name in text
    assert re.search(r"\d+%", text)
    assert re.search(r"/\d+(\.\d+)? MB", text)  # bytes read of the file's size
    assert "\x1b" not in out and out.splitlines()[0].split() == [
        "loss",
        "params",
        "group",
        "n",
        "value",
    ]


def test_parquet_bar_counts_rows_against_the_metadata(tmp_path: Path, big_csv: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path = tmp_path / "preds.parquet"
    pq.write_table(pcsv.read_csv(big_csv), path)
    code, _, err = _run_on_terminal(["eval", str(path), "--loss", "mse"], _env())
    assert code == 0
    assert "/300,000 rows" in ANSI.sub("", err)


@pytest.mark.parametrize(
    "args, env",
    [
        (["--quiet"], {}),
        ([], {"CI": "true"}),
        ([], {"TERM": "dumb"}),
    ],
    ids=["quiet", "ci", "dumb-terminal"],
)
def test_no_bar_with_quiet_in_ci_or_on_a_dumb_terminal(big_csv: Path, args, env) -> None:
    code, out, err = _run_on_terminal(["eval", str(big_csv), "--loss", "mse", *args], _env(**env))
    assert code == 0
    assert err == ""
    assert "mse" in out


def test_no_bar_when_stderr_is_piped(big_csv: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "losscli", "grad", str(big_csv), "--loss", "mse"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.startswith("row,grad_y_pred")


def test_short_runs_show_no_bar_by_default(big_csv: Path) -> None:
    env = _env()
    del env["LOSSCLI_PROGRESS_DELAY"]
    code, _, err = _run_on_terminal(["eval", "sample_data/regression.csv", "--loss", "mse"], env)
    assert code == 0
    assert err == ""
