"""grad and --reduction none CSV: a large batch is formatted in two slices on two threads;
the bytes are those of one Arrow CSVWriter over the whole batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from helpers import cli

from losscli.io.sink import CsvRowsWriter


def _one_writer(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    writer = pcsv.CSVWriter(sink, batch.schema, write_options=options)
    writer.write_batch(batch)
    writer.close()
    return sink.getvalue().to_pybytes()


def test_slices_give_the_bytes_of_one_writer():
    rng = np.random.default_rng(0)
    n = 2 * CsvRowsWriter.SLICE + 7
    values = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    values[[3, n // 2 + 1, n - 1]] = [np.nan, np.inf, -0.0]
    text = np.array(["plain", 'say "hi", twice', "two\nlines", ""], dtype=object)[
        rng.integers(0, 4, n)
    ]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(np.arange(n)), pa.array(values), pa.array(text)], names=["row", "g", "note"]
    )
    sink = pa.BufferOutputStream()
    writer = CsvRowsWriter(sink)
    writer.write_batch(batch)
    writer.write_batch(batch.slice(0, 5))  # a small batch: one go
    writer.close()
    assert writer._pool is not None  # the large batch was cut
    assert sink.getvalue().to_pybytes() == _one_writer(batch) + _one_writer(batch.slice(0, 5))


@pytest.mark.parametrize("suffix", ["csv", "csv.gz"])
def test_grad_output_is_the_same_whatever_the_slices(capsys, monkeypatch, tmp_path, suffix):
    rng = np.random.default_rng(1)
    path = tmp_path / "preds.csv"
    y, p = rng.normal(size=3000), rng.normal(size=3000)
    path.write_text("y,yhat\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(y.tolist(), p.tolist())))
    outputs = []
    for size in (10**9, 100):  # one go, then slices of the 3000-row batches
        monkeypatch.setattr(CsvRowsWriter, "SLICE", size)
        out = tmp_path / f"g{size}.{suffix}"
        code, _, err = cli(capsys, "grad", path, "-l", "mse", "--with-loss", "-o", out, "-q")
        assert code == 0, err
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    if suffix == "csv":
        lines = outputs[0].decode().splitlines()
        assert lines[0] == "row,grad_yhat,loss"
        g = np.array([float(line.split(",")[1]) for line in lines[1:]])
        np.testing.assert_allclose(g, 2 * (p - y) / len(y), rtol=1e-15)
