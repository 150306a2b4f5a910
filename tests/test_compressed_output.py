"""Per-row output named ``.gz``, ``.bz2`` or ``.zst`` is compressed by that suffix.

``grad -o out.csv.gz`` and ``eval --reduction none -o out.csv.zst`` write the same bytes
as the uncompressed ``-o out.csv``, through gzip or zstd (checked by decompressing with
Python's gzip and bz2 modules, and Arrow's zstd reader); losscli and pandas read them
back as any compressed input. Parquet compresses its own columns, so ``out.parquet.gz``
is refused before any work. A summary (``eval -o summary.json.gz``, compare, check)
is compressed by its name too, its format read under the compression suffix.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os

import pandas as pd
import pytest
from helpers import SAMPLES, cli, error_lines, eval_json
from sklearn.metrics import mean_squared_error

REGRESSION = str(SAMPLES / "regression.csv")
PER_ROW = {
    "grad": ["grad", REGRESSION, "-l", "huber", "--with-loss"],
    "rows": ["eval", REGRESSION, "-l", "mse,huber", "--weight", "weight", "--reduction", "none"],
}


def decompressed(path) -> bytes:
    if str(path).endswith(".gz"):
        return gzip.decompress(path.read_bytes())
    if str(path).endswith(".bz2"):
        return bz2.decompress(path.read_bytes())
    import pyarrow as pa  # (the zstandard package is not a dependency)

    with pa.CompressedInputStream(pa.OSFile(str(path)), "zstd") as stream:
        return stream.read()


def write(capsys, command: str, path, *more: str) -> None:
    code, out, err = cli(capsys, *PER_ROW[command], "-o", path, "-q", *more)
    assert code == 0, err
    assert out == ""


@pytest.mark.parametrize("command", PER_ROW)
@pytest.mark.parametrize("suffix", [".gz", ".zst", ".bz2"])
def test_compressed_output_holds_the_bytes_of_the_plain_output(capsys, tmp_path, command, suffix):
    plain, packed = tmp_path / "out.csv", tmp_path / f"out.csv{suffix}"
    write(capsys, command, plain)
    write(capsys, command, packed)
    assert packed.read_bytes() != plain.read_bytes()  # compressed, not a renamed CSV
    assert decompressed(packed) == plain.read_bytes()
    again = tmp_path / f"again.csv{suffix}"  # no time or name in a header: the same bytes
    write(capsys, command, again)
    assert again.read_bytes() == packed.read_bytes()
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(decompressed(packed))), pd.read_csv(plain))


def test_a_failed_run_leaves_the_compressed_file_as_it_was(capsys, tmp_path):
    packed = tmp_path / "out.csv.gz"
    write(capsys, "grad", packed)
    before = packed.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("y,p\n1,2\n2,oops\n")
    error_lines(*cli(capsys, "grad", bad, "-l", "mse", "-t", "y", "-p", "p", "-o", packed))
    assert packed.read_bytes() == before
    assert gzip.decompress(before).startswith(b"row,")
    assert sorted(os.listdir(tmp_path)) == ["bad.csv", "out.csv.gz"]


def test_json_lines_output_is_compressed_too(capsys, tmp_path):
    plain, packed = tmp_path / "out.jsonl", tmp_path / "out.jsonl.gz"
    write(capsys, "rows", plain)
    write(capsys, "rows", packed)
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_losscli_reads_its_compressed_output_back(capsys, tmp_path, suffix):
    packed = tmp_path / f"rows.csv{suffix}"
    code, _, err = cli(
        capsys, "eval", REGRESSION, "-l", "mse", "--reduction", "none", "--keep", "y_true",
        "--keep", "y_pred", "-o", packed, "-q",
    )  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(REGRESSION)
    want = mean_squared_error(frame["y_true"], frame["y_pred"])
    back = eval_json(capsys, packed, "-l", "mse", "-t", "y_true", "-p", "y_pred", quiet=True)
    assert back["input"]["rows"] == len(frame)
    assert back["results"][0]["value"] == pytest.approx(want, rel=1e-12)
    per_row = pd.read_csv(io.BytesIO(decompressed(packed)))["mse"]
    assert per_row.mean() == pytest.approx(want, rel=1e-12)


def test_compressed_parquet_is_refused_before_any_work(capsys, tmp_path):
    target = tmp_path / "out.parquet.gz"
    line, hint = error_lines(*cli(capsys, *PER_ROW["grad"], "-o", target))
    assert "out.parquet.gz" in line and "Parquet" in line
    assert hint is not None and "out.parquet" in hint
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_summary_is_compressed_by_its_name_and_formatted_by_the_name_under_it(
    capsys, tmp_path, suffix
):
    plain, packed = tmp_path / "summary.json", tmp_path / f"summary.json{suffix}"
    for target in (plain, packed):
        code, out, err = cli(capsys, "eval", REGRESSION, "-l", "mse", "-o", target, "-q")
        assert code == 0 and out == "", err
    assert decompressed(packed) == plain.read_bytes()
    frame = pd.read_csv(REGRESSION)
    value = json.loads(decompressed(packed))["results"][0]["value"]
    assert value == pytest.approx(mean_squared_error(frame["y_true"], frame["y_pred"]), rel=1e-12)
    compared = tmp_path / f"compare.csv{suffix}"
    code, _, err = cli(
        capsys, "compare", REGRESSION, REGRESSION, "-l", "mse", "-f", "csv", "-o", compared
    )
    assert code == 0, err
    assert decompressed(compared).startswith(b"loss,")
