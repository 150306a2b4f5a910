"""Time and peak RSS of `losscli eval` on a large two-column CSV, beside pandas + scikit-learn.

Usage: python benchmarks/bench_eval_csv.py [--rows 5000000] [--repeat 3] [--keep DIR]

Each command runs as a fresh process; peak RSS is the child's own ru_maxrss (os.wait4).
The data are generated deterministically into a temporary directory and deleted after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    with open(path, "w") as f:
        f.write("y_true,y_pred\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            y = rng.normal(0, 10, n)
            p = y + rng.normal(0, 1, n)
            np.savetxt(f, np.column_stack([y, p]), fmt="%.6f", delimiter=",")


def measure(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def losscli_command() -> list[str]:
    exe = Path(sys.executable).parent / "losscli"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "losscli"]


PANDAS_SKLEARN = (
    "import sys, pandas as pd; from sklearn.metrics import mean_squared_error; "
    "d = pd.read_csv(sys.argv[1]); print(mean_squared_error(d['y_true'], d['y_pred']))"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="generate into DIR and keep the file")
    args = parser.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="losscli-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"regression_{args.rows}.csv"
    try:
        if not path.exists():
            make_csv(path, args.rows)
        size = path.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size:.0f} MiB; best of {args.repeat}, fresh processes")
        runs = {
            "losscli eval --loss mse": [
                *losscli_command(),
                "eval",
                str(path),
                "--loss",
                "mse",
                "--format",
                "json",
            ],
            "pandas.read_csv + sklearn MSE": [sys.executable, "-c", PANDAS_SKLEARN, str(path)],
        }
        results = {}
        for name, cmd in runs.items():
            samples = [measure(cmd) for _ in range(args.repeat)]
            results[name] = (min(s[0] for s in samples), max(s[1] for s in samples))
            print(f"  {name:32s} {results[name][0]:6.2f} s   peak RSS {results[name][1]:6.0f} MB")
        ours, peer = results["losscli eval --loss mse"], results["pandas.read_csv + sklearn MSE"]
        print(
            f"  ratio losscli / pandas+sklearn: time {ours[0] / peer[0]:.2f}x, peak RSS {ours[1] / peer[1]:.2f}x"
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
