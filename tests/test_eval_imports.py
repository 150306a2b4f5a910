"""The eval and grad paths never import pandas (about 0.5 s), pyarrow.compute (~30 ms),
pyarrow.fs with its cloud filesystems (~30 ms, which ``import pyarrow.parquet`` costs) or
numpy.ma (~10 ms, which ``numpy.unique`` imports: ``kernel.distinct`` takes its place).

pyarrow's ``Array.to_numpy()``, ``pa.array()`` and ``pq.read_table`` import pandas, and
``Array.cast`` imports pyarrow.compute; the readers take numbers through the arrays'
buffers instead. Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"

SCRIPT = """
import io, json, sys
from losscli.cli.commands import run
out, sys.stdout = sys.stdout, io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
code = run(sys.argv[1:])
sys.stdout = out
print(json.dumps({"code": code, "loaded": sorted(
    m for m in ("pandas", "pyarrow.compute", "pyarrow.dataset", "pyarrow.fs", "numpy.ma")
    if m in sys.modules)}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "regression.csv", "--loss", "mse,huber", "--group", "segment"],
        ["eval", "regression.parquet", "--loss", "mse", "--weight", "weight"],
        ["eval", "binary.parquet", "--loss", "bce,focal", "--gradients"],
        ["eval", "multiclass.parquet", "--loss", "cross_entropy"],
        ["eval", "multiclass.csv", "--loss", "cross_entropy", "--per-class"],
        ["eval", "segmentation.parquet", "--loss", "dice", "--group", "image_id"],
        ["eval", "imbalanced.parquet"],
        ["grad", "binary.parquet", "--loss", "bce"],
        ["eval", "regression.csv", "--loss", "mse", "--reduction", "none"],
        # the task inferred from the labels and predictions (distinct values counted)
        ["eval", "regression.csv"],
        ["eval", "binary.csv"],
        ["eval", "multiclass.csv"],
        ["eval", "imbalanced.csv", "--group", "segment"],
        ["grad", "regression.csv", "--loss", "mse", "-o", "{tmp}/g.csv"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_eval_and_grad_never_import_pandas_or_pyarrow_compute(
    args: list[str], tmp_path: Path
) -> None:
    args = [args[0], str(SAMPLES / args[1]), *(a.format(tmp=tmp_path) for a in args[2:])]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}, proc.stderr


@pytest.mark.parametrize(
    "type_name",
    ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32"],
)
def test_integer_and_float32_columns_widen_to_float64_with_their_nulls(type_name: str) -> None:
    import pyarrow as pa

    from losscli.io.batches import float_column

    values = [7, None, 0, 100, 3]
    arr = pa.array(values, type=getattr(pa, type_name)()).slice(1)  # an offset, too
    got, nulls = float_column(arr)
    assert got.dtype == np.float64
    assert nulls.tolist() == [True, False, False, False]
    assert got[1:].tolist() == [0.0, 100.0, 3.0]


def test_parquet_reads_the_same_through_pyarrows_own_parquetfile(monkeypatch, tmp_path):
    """Should pyarrow's reader change, ParquetFile takes over with the same batches."""
    import pyarrow.parquet as pq

    import losscli.io.parquet_reader
    import losscli.io.sources
    from losscli import evaluate_file

    path = SAMPLES / "multiclass.parquet"
    lean = evaluate_file(str(path), "cross_entropy,focal", group=None)
    assert isinstance(
        losscli.io.parquet_reader.parquet_file(
            losscli.io.sources.detect_format(str(path)), str(path)
        ),
        losscli.io.parquet_reader.LeanParquetFile,
    )

    def changed(*args, **kwargs):
        raise AttributeError("ParquetReader has no attribute 'open'")

    monkeypatch.setattr(losscli.io.parquet_reader.LeanParquetFile, "__init__", changed)
    source = losscli.io.sources.detect_format(str(path))
    assert isinstance(losscli.io.parquet_reader.parquet_file(source, str(path)), pq.ParquetFile)
    assert evaluate_file(str(path), "cross_entropy,focal", group=None) == lean
