"""``--keep COL``: per-row output (``eval --reduction none``, ``grad``) carries id columns.

A kept column is copied as it was read: the text of a CSV cell as written (``007`` stays
``007``, an empty cell stays empty and drops no row), a Parquet column in its own type (an
int64 id above 2**53 stays exact). The losses and gradients are those of the same command
without ``--keep``.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import cli, error_lines

import losscli
import losscli.engine.passes
import losscli.io.csv_ranges

BIG_ID = 2**60 + 1  # not a float64: exact only if the column keeps its int64 type


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def preds(tmp_path):
    path = tmp_path / "preds.csv"
    path.write_text(
        "id,region,y,yhat\n007,eu,1.0,1.5\n008,,2.0,1.0\nx-9,us,0.0,0.25\n010,eu,3.0,3.0\n",
        encoding="utf-8",
    )
    return path


def test_reduction_none_carries_the_columns_as_written(capsys, preds):
    code, plain, _ = cli(capsys, "eval", preds, "-l", "mse,mae", "--reduction", "none", "-q")
    assert code == 0
    code, out, err = cli(
        capsys, "eval", preds, "-l", "mse,mae", "--reduction", "none", "--keep", "id",
        "--keep", "region", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == "row,id,region,mse,mae"
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["007", "008", "x-9", "010"]
    assert [r["region"] for r in rows] == ["eu", "", "us", "eu"]  # empty: kept, not dropped
    assert [float(r["mse"]) for r in rows] == [0.25, 1.0, 0.0625, 0.0]
    assert [float(r["mae"]) for r in rows] == [0.5, 1.0, 0.25, 0.0]
    assert [(r["mse"], r["mae"]) for r in rows] == [(r["mse"], r["mae"]) for r in _rows(plain)]


def test_grad_carries_the_columns(capsys, preds):
    code, out, err = cli(capsys, "grad", preds, "-l", "mse", "--keep", "id", "--with-loss", "-q")
    assert code == 0, err
    assert out.splitlines()[0] == "row,id,grad_yhat,loss"
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["007", "008", "x-9", "010"]
    # ∂/∂ŷᵢ of mean (ŷ − y)² over n = 4 rows: 2(ŷᵢ − yᵢ)/4
    assert [float(r["grad_yhat"]) for r in rows] == [0.25, -0.5, 0.125, 0.0]


def test_json_lines_and_parquet_keep_the_type(capsys, tmp_path):
    table = pa.table(
        {
            "id": pa.array([BIG_ID, 2, 3], pa.int64()),
            "name": ["a", None, "c"],
            "y": [0.0, 1.0, 1.0],
            "p": [0.25, 0.5, 0.75],
        }
    )
    src = tmp_path / "p.parquet"
    pq.write_table(table, src)
    out_path = tmp_path / "g.parquet"
    code, _, err = cli(
        capsys, "grad", src, "-l", "bce", "--target", "y", "--pred", "p", "--keep", "id",
        "--keep", "name", "-o", out_path, "-q",
    )  # fmt: skip
    assert code == 0, err
    written = pq.read_table(out_path)
    assert written.column_names == ["row", "id", "name", "grad_p"]
    assert written.schema.field("id").type == pa.int64()
    assert written.column("id").to_pylist() == [BIG_ID, 2, 3]
    assert written.column("name").to_pylist() == ["a", None, "c"]
    code, out, err = cli(
        capsys, "eval", src, "-l", "bce", "--target", "y", "--pred", "p", "--reduction", "none",
        "--keep", "id", "--keep", "name", "--format", "json", "-q",
    )  # fmt: skip
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [BIG_ID, 2, 3]
    assert [r["name"] for r in records] == ["a", None, "c"]
    assert [r["bce"] for r in records] == pytest.approx(
        [-np.log(0.75), -np.log(0.5), -np.log(0.75)], rel=1e-12
    )


def test_json_lines_input(capsys, tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(
        '{"id": "a", "n": 7, "y": 1.0, "yhat": 2.0}\n{"id": "b", "n": 8, "y": 1.0, "yhat": 0.0}\n'
    )
    code, out, err = cli(
        capsys, "eval", src, "-l", "mae", "--reduction", "none", "--keep", "id", "--keep", "n",
        "-q",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == ["row,id,n,mae", '0,"a",7,1', '1,"b",8,1']


def test_dropped_rows_keep_their_ids_aligned(capsys, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("id,y,yhat\nr0,1,2\nr1,1,\nr2,0,3\n")
    code, out, err = cli(
        capsys, "eval", src, "-l", "mse", "--reduction", "none", "--keep", "id", "--dropna"
    )
    assert code == 0, err
    assert [(r["row"], r["id"], float(r["mse"])) for r in _rows(out)] == [
        ("0", "r0", 1.0),
        ("2", "r2", 9.0),
    ]


def test_many_batches_and_chunks_parsed_ahead_keep_rows_aligned(capsys, monkeypatch, tmp_path):
    n = 60_000  # several 1 MiB blocks
    rng = np.random.default_rng(7)
    y, p = rng.normal(size=n), rng.normal(size=n)
    src = tmp_path / "big.csv"
    src.write_text(
        "id,y,yhat\n"
        + "".join(f"id{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(zip(y, p)))
    )
    monkeypatch.setattr(losscli.io.csv_ranges, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK", 1 << 16)  # about 40 chunks
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK_MAX", 1 << 16)
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    code, out, err = cli(capsys, "grad", src, "-l", "mse", "--keep", "id", "-q")
    assert code == 0, err
    rows = _rows(out)
    assert [r["id"] for r in rows] == [f"id{i}" for i in range(n)]
    assert [int(r["row"]) for r in rows] == list(range(n))
    np.testing.assert_allclose([float(r["grad_yhat"]) for r in rows], 2 * (p - y) / n, rtol=1e-12)


def test_python_api(tmp_path, preds):
    out = tmp_path / "rows.csv"
    losscli.write_rows(str(preds), "mae", str(out), keep=["id"])
    assert [r["id"] for r in _rows(out.read_text())] == ["007", "008", "x-9", "010"]
    out = tmp_path / "grads.csv"
    losscli.write_gradients(str(preds), "mae", str(out), keep="region")  # a str is one column
    assert _rows(out.read_text())[0].keys() == {"row", "region", "grad_yhat"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "-l", "mse", "--keep", "id"), "--keep copies columns into per-row output"),
        (("eval", "-l", "mse", "--reduction", "none", "--keep", "idd"), "no --keep column 'idd'"),
        (("grad", "-l", "mse", "--keep", "id", "--keep", "id"), "--keep id is given twice"),
        (("grad", "-l", "mse", "--keep", "yhat"), None),  # a loss column may be kept too
        (("grad", "-l", "mse", "--keep", "id,region"), "row,id,region,grad_yhat"),
    ],
)
def test_usage(capsys, preds, args, message):
    code, out, err = cli(capsys, args[0], preds, *args[1:], "-q")
    if message is None or message.startswith("row,"):
        assert code == 0, err
        assert out.splitlines()[0] == (message or "row,yhat,grad_yhat")
        return
    line, _ = error_lines(code, out, err)
    assert message in line


def test_a_kept_column_may_not_take_an_output_name(capsys, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("mse,y,yhat\n1,0,1\n")
    code, out, err = cli(
        capsys, "eval", src, "-l", "mse", "--target", "y", "--pred", "yhat", "--reduction", "none",
        "--keep", "mse",
    )  # fmt: skip
    line, hint = error_lines(code, out, err)
    assert "--keep mse: the output already has a column named 'mse'" in line
    assert hint is not None


def test_dask_engine_partitions_carry_the_columns(capsys, tmp_path):
    pytest.importorskip("dask")
    pytest.importorskip("distributed")
    data = tmp_path / "ds"
    data.mkdir()
    for k in range(2):
        pq.write_table(
            pa.table({"id": [f"r{k}{i}" for i in range(3)], "y": [0.0, 1, 2], "yhat": [1.0] * 3}),
            data / f"part-{k}.parquet",
        )
    out = tmp_path / "grads"
    code, _, err = cli(
        capsys, "grad", data, "-l", "mse", "--keep", "id", "--engine", "dask", "-o", out, "-q"
    )
    assert code == 0, err
    written = pq.read_table(out).sort_by("row")
    assert written.column_names == ["row", "id", "grad_yhat"]
    assert written.column("id").to_pylist() == ["r00", "r01", "r02", "r10", "r11", "r12"]
    assert written.column("grad_yhat").to_pylist() == pytest.approx([1 / 3, 0, -1 / 3] * 2)


def test_json_lines_integer_ids_stay_exact(capsys, tmp_path):
    src = tmp_path / "big.jsonl"
    src.write_text(f'{{"id": {BIG_ID}, "y": 1, "p": 2}}\n{{"id": 5, "y": 1, "p": 3}}\n')
    code, out, err = cli(
        capsys, "eval", src, "-l", "mse", "-t", "y", "-p", "p", "--reduction", "none",
        "--keep", "id", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == ["row,id,mse", f"0,{BIG_ID},1", "1,5,4"]


def test_dates_times_and_decimals_are_written_as_text_in_json(capsys, tmp_path):
    import datetime
    import decimal

    src = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "ts": [datetime.datetime(2024, 1, 1, 12)],
                "day": [datetime.date(2024, 1, 2)],
                "dec": pa.array([decimal.Decimal("1.50")]),
                "y": [0.0],
                "p": [1.0],
            }
        ),
        src,
    )
    code, out, err = cli(
        capsys, "eval", src, "-l", "mse", "-t", "y", "-p", "p", "--reduction", "none",
        "--keep", "ts,day,dec", "-f", "json", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {
        "row": 0,
        "ts": "2024-01-01T12:00:00",
        "day": "2024-01-02",
        "dec": "1.50",
        "mse": 1.0,
    }


def test_a_nested_column_cannot_be_kept(capsys, tmp_path):
    src = tmp_path / "l.parquet"
    pq.write_table(pa.table({"l": [[1, 2]], "y": [0.0], "p": [1.0]}), src)
    code, out, err = cli(
        capsys, "eval", src, "-l", "mse", "-t", "y", "-p", "p", "--reduction", "none",
        "--keep", "l",
    )  # fmt: skip
    line, hint = error_lines(code, out, err)
    assert "--keep column 'l' holds list<element: int64> values" in line
    assert hint is not None
