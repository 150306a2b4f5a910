"""Per-row output to Parquet: zstd, floats without a dictionary, row numbers delta-encoded,
and the same values as the writer's defaults give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from losscli import write_gradients, write_rows
from losscli.io import sink


@pytest.fixture
def preds(tmp_path: Path) -> Path:
    rng = np.random.default_rng(20)
    n = 150_000  # several batches, so several row groups
    y = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "y_true": y,
            "y_pred": y + rng.normal(size=n),
            "region": rng.choice(["eu", "us", "apac"], size=n),
        }
    )
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def _written(tmp_path: Path, name: str, plain: bool, monkeypatch: pytest.MonkeyPatch, run) -> Path:
    out = tmp_path / name
    with monkeypatch.context() as m:
        if plain:  # the simple path: pyarrow's ParquetWriter with its defaults
            m.setattr(sink, "parquet_options", lambda schema: {})
        run(str(out))
    return out


@pytest.mark.parametrize(
    "run",
    [
        lambda p, out: write_gradients(p, "mse", out, keep=["region"], with_loss=True),
        lambda p, out: write_rows(p, "huber", out, keep=["region"]),
    ],
    ids=["grad", "rows"],
)
def test_the_values_are_those_of_the_default_writer(
    tmp_path: Path, preds: Path, monkeypatch: pytest.MonkeyPatch, run
) -> None:
    fast = _written(tmp_path, "fast.parquet", False, monkeypatch, lambda o: run(str(preds), o))
    plain = _written(tmp_path, "plain.parquet", True, monkeypatch, lambda o: run(str(preds), o))
    a, b = pq.read_table(fast), pq.read_table(plain)
    assert a.schema == b.schema
    assert a.num_rows == b.num_rows == 150_000
    for name in a.column_names:
        x, y = a[name].to_numpy(), b[name].to_numpy()
        assert x.dtype == y.dtype
        assert np.array_equal(x, y), name
    assert pd.read_parquet(fast).equals(pd.read_parquet(plain))  # pandas reads it back too


def test_the_encodings_and_codec(tmp_path: Path, preds: Path) -> None:
    out = tmp_path / "grads.parquet"
    write_gradients(str(preds), "mse", str(out), keep=["region"])
    meta = pq.ParquetFile(out).metadata
    assert meta.num_rows == 150_000
    for g in range(meta.num_row_groups):
        columns = {
            meta.row_group(g).column(i).path_in_schema: meta.row_group(g).column(i)
            for i in range(3)
        }
        assert {c.compression for c in columns.values()} == {"ZSTD"}
        assert "DELTA_BINARY_PACKED" in columns["row"].encodings
        assert not columns["row"].has_dictionary_page
        assert not columns["grad_y_pred"].has_dictionary_page
        assert "PLAIN" in columns["grad_y_pred"].encodings
        assert columns["region"].has_dictionary_page  # text keeps its dictionary
        assert columns["grad_y_pred"].is_stats_set
