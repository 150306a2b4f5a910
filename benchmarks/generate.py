"""Deterministic benchmark data for `benchmarks/run.py`, written chunk by chunk.

Usage: python benchmarks/generate.py [DIR] [--rows-50m] [--force]

Floats are written in full precision (shortest round-trip form), as a model's float64
output usually is:

    regression.csv       5,000,000 rows  y_true,y_pred                         181 MiB
    binary.csv           5,000,000 rows  y_true (0/1),y_pred (a probability)   101 MiB
    multiclass.csv       1,000,000 rows  label,prob_0..prob_9 (rows sum to 1)  196 MiB
    regression.parquet   the rows of regression.csv                             79 MiB
    multiclass.parquet   the rows of multiclass.csv                             79 MiB
    regression_50m.csv   50,000,000 rows like regression.csv (--rows-50m only) 1.8 GiB

The numbers come from `numpy.random.default_rng` with fixed seeds, so the same command
(with the same numpy) writes the same bytes. They are drawn and written about a million
at a time, so the generator's memory does not grow with the row count; Parquet row
groups hold 1Mi rows (pyarrow's default). Existing files are kept unless --force. Without
DIR the data go to a new temporary directory, whose path is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SEED = 20240607
CHUNK_CELLS = 1_048_576  # numbers drawn per chunk: 512Ki rows of regression, 128Ki of multiclass
ROW_GROUP = 1_048_576  # Parquet row group: pyarrow's default for write_table
ROWS_REGRESSION = 5_000_000
ROWS_BINARY = 5_000_000
ROWS_MULTICLASS = 1_000_000
ROWS_50M = 50_000_000
N_CLASSES = 10

Chunks = Callable[[int], Iterator[pa.Table]]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def regression_chunks(rows: int, seed: int = SEED) -> Iterator[pa.Table]:
    """y_true ~ N(0, 10²), y_pred = y_true + N(0, 1): the MSE is about 1."""
    rng = np.random.default_rng(seed)
    chunk = CHUNK_CELLS // 2
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        y = rng.normal(0.0, 10.0, n)
        p = y + rng.normal(0.0, 1.0, n)
        yield pa.table({"y_true": y, "y_pred": p})


def binary_chunks(rows: int, seed: int = SEED + 1) -> Iterator[pa.Table]:
    """0/1 labels drawn from sigmoid(z); the prediction is sigmoid(z + noise), away from 0 and 1."""
    rng = np.random.default_rng(seed)
    chunk = CHUNK_CELLS // 2
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        z = rng.normal(0.0, 1.5, n)
        y = (rng.random(n) < sigmoid(z)).astype(np.int64)
        p = sigmoid(z + rng.normal(0.0, 0.5, n))
        yield pa.table({"y_true": y, "y_pred": p})


def multiclass_chunks(rows: int, seed: int = SEED + 2) -> Iterator[pa.Table]:
    """Integer labels 0..9 sampled from softmax(z); prob_c = softmax(z + noise), rows sum to 1."""
    rng = np.random.default_rng(seed)
    chunk = CHUNK_CELLS // N_CLASSES
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        z = rng.normal(0.0, 1.5, (n, N_CLASSES))
        label = np.argmax(z + rng.gumbel(size=(n, N_CLASSES)), axis=1).astype(np.int64)
        s = z + rng.normal(0.0, 0.5, (n, N_CLASSES))
        e = np.exp(s - s.max(axis=1, keepdims=True))
        prob = e / e.sum(axis=1, keepdims=True)
        columns = {"label": label} | {f"prob_{c}": prob[:, c] for c in range(N_CLASSES)}
        yield pa.table(columns)


def write_csv(path: Path, chunks: Iterator[pa.Table]) -> None:
    """Write the chunks as one CSV (unquoted header, shortest round-trip floats), atomically."""
    tmp = path.with_name(path.name + ".part")
    writer = None
    with open(tmp, "wb") as f:
        for table in chunks:
            if writer is None:
                f.write((",".join(table.column_names) + "\n").encode())
                options = pacsv.WriteOptions(include_header=False, quoting_style="none")
                writer = pacsv.CSVWriter(f, table.schema, write_options=options)
            writer.write_table(table)
        if writer is not None:
            writer.close()
    os.replace(tmp, path)


def regroup(chunks: Iterator[pa.Table], rows: int = ROW_GROUP) -> Iterator[pa.Table]:
    """Concatenate consecutive chunks into tables of `rows` rows (the last one shorter)."""
    pending: list[pa.Table] = []
    count = 0
    for table in chunks:
        pending.append(table)
        count += table.num_rows
        while count >= rows:
            merged = pa.concat_tables(pending).combine_chunks()
            yield merged.slice(0, rows)
            rest = merged.slice(rows)
            pending, count = ([rest] if rest.num_rows else []), rest.num_rows
    if count:
        yield pa.concat_tables(pending).combine_chunks()


def write_parquet(path: Path, chunks: Iterator[pa.Table]) -> None:
    """Write the chunks as one Parquet file (row groups of ROW_GROUP rows, snappy), atomically."""
    tmp = path.with_name(path.name + ".part")
    writer = None
    for table in regroup(chunks):
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
        writer.write_table(table)
    if writer is not None:
        writer.close()
    os.replace(tmp, path)


def datasets(rows_50m: bool = False) -> list[tuple[str, Chunks, int, Callable]]:
    """(file name, chunk source, rows, writer) for every file to generate."""
    items = [
        ("regression.csv", regression_chunks, ROWS_REGRESSION, write_csv),
        ("binary.csv", binary_chunks, ROWS_BINARY, write_csv),
        ("multiclass.csv", multiclass_chunks, ROWS_MULTICLASS, write_csv),
        ("regression.parquet", regression_chunks, ROWS_REGRESSION, write_parquet),
        ("multiclass.parquet", multiclass_chunks, ROWS_MULTICLASS, write_parquet),
    ]
    if rows_50m:
        items.append(("regression_50m.csv", regression_chunks, ROWS_50M, write_csv))
    return items


def generate(directory: Path, rows_50m: bool = False, force: bool = False) -> None:
    """Write every missing data file into `directory` (all of them with force)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, source, rows, writer in datasets(rows_50m):
        generate_one(directory / name, source, rows, writer, force=force)


def generate_one(path: Path, source: Chunks, rows: int, writer: Callable, force=False) -> None:
    """Write one file unless it already exists (and force is off); print its size."""
    if path.exists() and not force:
        print(f"  kept      {path.name:22s} {path.stat().st_size / 2**20:8.1f} MiB")
        return
    start = time.perf_counter()
    writer(path, source(rows))
    elapsed = time.perf_counter() - start
    size = path.stat().st_size / 2**20
    print(f"  generated {path.name:22s} {size:8.1f} MiB  {rows:>12,} rows  {elapsed:6.1f} s")


def generate_50m(directory: Path) -> Path:
    """Write the 50M-row regression CSV (if missing) and return its path."""
    path = directory / "regression_50m.csv"
    generate_one(path, regression_chunks, ROWS_50M, write_csv)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="output directory (default: a new temp dir)")
    parser.add_argument("--rows-50m", action="store_true", help="also write regression_50m.csv")
    parser.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = parser.parse_args()
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="lossbench-"))
    print(f"data directory: {directory}")
    generate(directory, rows_50m=args.rows_50m, force=args.force)


if __name__ == "__main__":
    main()
