"""Peak memory and time of ``losscli compare`` with a bootstrap on two large Parquet files.

Writes a baseline and a candidate (the same targets, the candidate's predictions
noisier) of ``--rows`` rows each into a temporary directory, runs

    losscli compare base.parquet cand.parquet --loss mse,huber,rmse --bootstrap 1000 --format json

as a fresh process, and prints its wall time and peak RSS (the issue's bound: 600 MB
for 5,000,000 rows). Usage: ``python benchmarks/bench_compare.py [--rows N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_pair(directory: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """Two Parquet files with the same targets, written in chunks of one million rows."""
    rng = np.random.default_rng(seed)
    base, cand = directory / "base.parquet", directory / "cand.parquet"
    schema = pa.schema([("y_true", pa.float64()), ("y_pred", pa.float64())])
    with pq.ParquetWriter(base, schema) as wb, pq.ParquetWriter(cand, schema) as wc:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            y = rng.normal(0.0, 2.0, n)
            pb = y + rng.normal(0.0, 1.0, n)
            pc = pb + rng.normal(0.0, 0.3, n)
            wb.write_table(pa.table({"y_true": y, "y_pred": pb}, schema=schema))
            wc.write_table(pa.table({"y_true": y, "y_pred": pc}, schema=schema))
    return base, cand


def measure(argv: list[str]) -> tuple[float, float, int, str]:
    """Wall time (s) and peak RSS (MB) of one fresh child process, its exit code and stdout."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "sys.stderr.write(p.stderr)\n"
        "print(repr((dt, rss, p.returncode, p.stdout)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, check=True
    )
    return eval(out.stdout.strip().splitlines()[-1])  # our own repr, written just above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    losscli = shutil.which("losscli") or str(Path(sys.executable).parent / "losscli")
    with tempfile.TemporaryDirectory() as tmp:
        base, cand = write_pair(Path(tmp), args.rows)
        argv = [
            losscli,
            "compare",
            str(base),
            str(cand),
            "--loss",
            "mse,huber,rmse",
            "--bootstrap",
            str(args.bootstrap),
            "--format",
            "json",
        ]
        runs = [measure(argv) for _ in range(args.repeat)]
    times = sorted(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    doc = json.loads(runs[0][3])
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"rows per file: {args.rows:,}; bootstrap replicates: {args.bootstrap}")
    print(f"exit code: {runs[0][2]} (1 = the candidate is worse, as generated)")
    print(f"time: best {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s")
    print(f"peak RSS: {rss:.0f} MB (bound: 600 MB)")
    for r in doc["results"]:
        print(
            f"  {r['loss']}: {r['baseline']:.6g} → {r['candidate']:.6g}, "
            f"Δ = {r['difference']:+.4g} [{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]"
        )


if __name__ == "__main__":
    main()
