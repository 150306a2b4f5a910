"""The progress bar: on stderr under a terminal only, never in CI, piped or --quiet."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import on_pty

pytest.importorskip("pty")

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


def _run_on_terminal(
    args: list[str], env: dict[str, str], launcher: tuple[str, ...] = ("-m", "losscli")
) -> tuple[int, str, str]:
    """Run losscli with stderr on a pseudo-terminal and stdout on a pipe."""
    code, err, pipes = on_pty([sys.executable, *launcher, *args], terminal=["stderr"], env=env)
    return code, pipes["stdout"], err


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


# A 64 MiB CSV is parsed in chunks on two threads, a large Parquet file read in runs of
# row groups by threads of their own (two on a machine with two cores or more); the
# launcher pins that count so that the test does not hang on the CPU.
TWO_READERS = (
    "import losscli.engine.passes as e; e._parallel_parts = lambda: 2; "
    "from losscli.cli.entry import console; console()"
)


@pytest.fixture(scope="session")
def csv_64mib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain CSV just over 64 MiB (the size from which a file is parsed in chunks ahead)."""
    import io

    from losscli.io.csv_ranges import PARALLEL_MIN_BYTES

    rng = np.random.default_rng(1)
    y = rng.normal(size=20_000)
    block = io.StringIO()
    np.savetxt(block, np.column_stack([y, y + rng.normal(size=y.size)]), "%.6f", ",")
    body = block.getvalue().encode()
    path = tmp_path_factory.mktemp("parallel") / "big.csv"
    with open(path, "wb") as f:
        f.write(b"y_true,y_pred\n")
        for _ in range(PARALLEL_MIN_BYTES // len(body) + 1):
            f.write(body)
    return path


def _run_with_two_readers(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    return _run_on_terminal(args, env, launcher=("-c", TWO_READERS))


def test_a_csv_parsed_in_chunks_has_one_bar_and_never_crashes(csv_64mib: Path) -> None:
    size_mb = f"/{os.path.getsize(csv_64mib) / 1e6:.1f} MB"
    rows = csv_64mib.read_bytes().count(b"\n") - 1
    for _ in range(2):  # a race between two readers' bars once hit about one run in ten
        code, out, err = _run_with_two_readers(
            ["eval", str(csv_64mib), "--loss", "mse", "--format", "json"], _env()
        )
        text = ANSI.sub("", err)
        assert "Traceback" not in text and "error:" not in text
        assert code == 0, text
        assert "(1/2)" not in text and "(2/2)" not in text  # one bar for the file ...
        assert text.count(size_mb) >= 1  # ... of all its bytes
        assert {m for m in re.findall(r"/(\d+\.\d) MB", text)} == {size_mb[1:-3]}
        assert json.loads(out)["results"][0]["n"] == rows


def test_parquet_read_in_parallel_parts_has_one_bar_of_all_rows(
    tmp_path: Path, csv_64mib: Path
) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(csv_64mib)
    path = tmp_path / "big.parquet"
    pq.write_table(table, path, row_group_size=1 << 18)
    code, _, err = _run_with_two_readers(["eval", str(path), "--loss", "mse"], _env())
    text = ANSI.sub("", err)
    assert code == 0, text
    assert "(1/2)" not in text and "(2/2)" not in text
    assert f"/{table.num_rows:,} rows" in text


def test_no_bar_and_no_noise_when_parallel_parts_are_piped(csv_64mib: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", TWO_READERS, "eval", str(csv_64mib), "--loss", "mse"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "mse" in proc.stdout
