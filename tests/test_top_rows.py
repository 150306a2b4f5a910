"""``eval --top K``: each loss's K rows with the largest per-row loss, per group too.

The list is checked against a sort of ``--reduction none`` output (by Lᵢ, largest first,
ties by row number), on a file of several batches with ties and groups, in every format.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import cli, error_lines, eval_json

from losscli.engine import top_rows


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """60,000 rows (several 1 MiB blocks); rounded values so that many losses tie."""
    rng = np.random.default_rng(3)
    n = 60_000
    y = np.round(rng.normal(size=n), 1)
    p = np.round(rng.normal(size=n), 1)
    seg = rng.choice(["north", "south", "east"], n)
    path = tmp_path_factory.mktemp("top") / "preds.csv"
    lines = [f"id{i},{s},{a},{b}\n" for i, (s, a, b) in enumerate(zip(seg, y.tolist(), p.tolist()))]
    path.write_text("id,segment,y,yhat\n" + "".join(lines))
    return path, y, p, seg


def _rows_sorted(capsys, path, loss):
    """Every row's Lᵢ from --reduction none, sorted as --top ranks them."""
    code, out, err = cli(capsys, "eval", path, "-l", loss, "--reduction", "none", "-q")
    assert code == 0, err
    rows = [(int(r["row"]), float(r[loss])) for r in csv.DictReader(io.StringIO(out))]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_top_equals_a_sort_of_the_per_row_losses(capsys, regression, loss):
    path, y, p, seg = regression
    k = 25
    doc = eval_json(capsys, path, "-l", loss, "--top", k, "--group", "segment", quiet=True)
    ranked = _rows_sorted(capsys, path, loss)
    entries = {e["group"]: e["rows"] for e in doc["top_rows"] if e["loss"] == loss}
    assert list(entries) == [None, "east", "north", "south"]  # the result rows' order
    assert [(r["row"], r["value"]) for r in entries[None]] == ranked[:k]
    assert [r["rank"] for r in entries[None]] == list(range(1, k + 1))
    # ties at the cut: the rounded data has many equal losses; the earliest rows win
    assert len({v for _, v in ranked[: k + 1]}) < k + 1
    for name, rows in entries.items():
        if name is None:
            continue
        expected = [r for r in ranked if seg[r[0]] == name][:k]
        assert [(r["row"], r["value"]) for r in rows] == expected
    first = entries[None][0]
    i = first["row"]
    assert first["columns"] == {"segment": seg[i], "y": y[i], "yhat": p[i]}


def test_one_pass_keeps_k_rows_whatever_the_batches(regression):
    """The merge holds K rows per (loss, group) at any time, not the file."""
    rank = np.array([3.0, 1.0, 3.0, 7.0, np.inf, 3.0, 0.0])  # a NaN Lᵢ is ranked as inf
    assert top_rows.largest(rank, 3).tolist() == [0, 3, 4]  # inf first, then 7, then 3
    assert top_rows.largest(rank, 4).tolist() == [0, 2, 3, 4]  # ties to the earliest rows
    assert top_rows.largest(rank, 10).tolist() == list(range(7))


def test_formats(capsys, regression):
    path = regression[0]
    code, out, err = cli(capsys, "eval", path, "-l", "mse,mae", "--top", 2, "--keep", "id", "-q")
    assert code == 0, err
    lines = out.splitlines()
    assert "worst rows: mse" in lines and "worst rows: mae" in lines
    header = lines[lines.index("worst rows: mse") + 1].split()
    assert header == ["rank", "row", "id", "y", "yhat", "mse"]
    code, out, err = cli(capsys, "eval", path, "-l", "mse,mae", "--top", 2, "-f", "csv", "-q")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["loss"], r["rank"]) for r in table] == [
        ("mse", "1"),
        ("mse", "2"),
        ("mae", "1"),
        ("mae", "2"),
    ]
    ranked = _rows_sorted(capsys, path, "mse")
    assert [(int(r["row"]), float(r["value"])) for r in table[:2]] == ranked[:2]
    code, out, err = cli(capsys, "eval", path, "-l", "mse", "--top", 1, "-f", "markdown", "-q")
    assert code == 0, err
    assert "#### worst rows: mse" in out
    assert "| rank | row | y | yhat | mse |" in out


def test_multiclass_rows_show_every_class_column_and_text_labels(capsys, tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text("label,prob_cat,prob_dog\ncat,0.9,0.1\ndog,0.8,0.2\ncat,0.3,0.7\ndog,0.4,0.6\n")
    doc = eval_json(capsys, path, "-l", "cross_entropy", "--top", 2, quiet=True)
    (entry,) = doc["top_rows"]
    assert [r["row"] for r in entry["rows"]] == [1, 2]  # p_y = 0.2, then 0.3
    assert entry["rows"][0]["value"] == pytest.approx(-np.log(0.2), rel=1e-12)
    assert entry["rows"][0]["columns"] == {"label": "dog", "prob_cat": 0.8, "prob_dog": 0.2}


def test_with_weights_intervals_and_class_rows(capsys, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("y,p,w\n1,0.9,1\n0,0.8,2\n1,0.15,0\n0,0.1,1\n")
    doc = eval_json(
        capsys, path, "-l", "bce", "--pred", "p", "--weight", "w", "--top", 2, "--per-class", "--bootstrap",
        50, quiet=True,
    )  # fmt: skip
    (entry,) = doc["top_rows"]
    assert [r["row"] for r in entry["rows"]] == [2, 1]  # ranked by Lᵢ, whatever the weight
    assert entry["rows"][0]["columns"] == {"y": 1.0, "p": 0.15, "w": 0.0}
    assert any(r.get("class") is not None for r in doc["results"])  # per-class still there
    assert doc["results"][0]["ci_low"] is not None


def test_a_loss_without_per_row_values_is_noted(capsys, regression):
    code, out, err = cli(capsys, "eval", regression[0], "-l", "rmse,mse", "--top", 1, "-f", "json")
    assert code == 0, err
    assert "note: --top: rmse has no per-row loss; its rows are not ranked" in err
    assert [e["loss"] for e in json.loads(out)["top_rows"]] == ["mse"]


def test_parquet_keeps_types(capsys, tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"id": pa.array([2**60 + 1, 5], pa.int64()), "y": [0.0, 1.0], "yhat": [3.0, 1.0]}),
        path,
    )
    doc = eval_json(capsys, path, "-l", "mse", "--top", 1, "--keep", "id", quiet=True)
    assert doc["top_rows"][0]["rows"][0]["columns"]["id"] == 2**60 + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--top", "0"), "--top"),
        (("--top", "2", "--reduction", "none"), "it takes no --per-class, --bootstrap or --top"),
        (("--keep", "id"), "--keep copies columns into per-row output and --top rows"),
    ],
)
def test_usage(capsys, regression, args, message):
    code, out, err = cli(capsys, "eval", regression[0], "-l", "mse", *args)
    line, _ = error_lines(code, out, err)
    assert message in line


def test_python_api(regression):
    import losscli
    from losscli.app.evaluation import evaluate
    from losscli.io.input_options import InputSpec

    doc = losscli.evaluate_file(str(regression[0]), "mae", top=3, keep="id")
    assert [len(e["rows"]) for e in doc["top_rows"]] == [3]
    assert list(doc["top_rows"][0]["rows"][0]["columns"]) == ["id", "y", "yhat"]
    with pytest.raises(Exception, match="top is a number of rows"):
        evaluate(str(regression[0]), "mae", InputSpec(), top=-1)


def test_dask_engine_refuses_top(capsys, tmp_path):
    pytest.importorskip("dask")
    pytest.importorskip("distributed")
    data = tmp_path / "ds"
    data.mkdir()
    pq.write_table(pa.table({"y": [0.0, 1.0], "yhat": [1.0, 1.0]}), data / "part-0.parquet")
    code, out, err = cli(capsys, "eval", data, "-l", "mse", "--top", 1, "--engine", "dask")
    line, hint = error_lines(code, out, err)
    assert "--top is not available with --engine dask" in line
    assert hint is not None


def test_row_statistic_reductions_rank_the_same_rows(capsys, regression):
    path = regression[0]
    mean = eval_json(capsys, path, "-l", "mse", "--top", 3, quiet=True)["top_rows"]
    median = eval_json(capsys, path, "-l", "mse", "--top", 3, "--reduction", "median", quiet=True)[
        "top_rows"
    ]
    assert median == mean


def test_only_losses_without_per_row_values_is_an_error(capsys, regression):
    code, out, err = cli(capsys, "eval", regression[0], "-l", "rmse", "--top", 2, "-f", "csv")
    line, hint = error_lines(code, out, err)
    assert "--top lists rows by their per-row loss Lᵢ: rmse has no per-row loss" in line


def test_input_columns_named_like_the_listing_are_marked(capsys, tmp_path):
    path = tmp_path / "tv.csv"
    path.write_text("row,value,pred\n7,1,2\n")
    code, out, err = cli(
        capsys, "eval", path, "-l", "mse", "-t", "value", "-p", "pred", "--top", 1, "--keep",
        "row", "-f", "csv", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == [
        "loss,group,rank,row,input.row,input.value,pred,value",
        "mse,,1,0,7,1.0,2.0,1.0",
    ]


def test_rows_joined_by_key_carry_the_key(capsys, tmp_path):
    preds, targets = tmp_path / "p.csv", tmp_path / "t.csv"
    preds.write_text("id,yhat\nb,3\na,1\n")
    targets.write_text("id,y\na,0\nb,0\n")
    doc = eval_json(
        capsys, preds, "--targets", targets, "--key", "id", "-l", "mse", "-t", "y", "-p",
        "yhat", "--top", 1, quiet=True,
    )  # fmt: skip
    (row,) = doc["top_rows"][0]["rows"]
    assert row["columns"] == {"id": "b", "y": 0.0, "yhat": 3.0}
    assert row["value"] == 9.0


def test_a_csv_parsed_in_chunks_gives_the_same_rows(capsys, monkeypatch, regression):
    """A large CSV's chunks are parsed ahead on two threads: rows keep their numbers, and
    the K rows kept are the serial read's."""
    import losscli.io.csv_ranges
    import losscli.io.csv_reader

    path = regression[0]
    args = ("-l", "mse,mae", "--top", 7, "--group", "segment", "--keep", "id")
    serial = eval_json(capsys, path, *args, quiet=True)["top_rows"]
    parsed = []
    parse = losscli.io.csv_reader._parse_chunk
    monkeypatch.setattr(losscli.io.csv_ranges, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK", 1 << 14)
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK_MAX", 1 << 14)
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    monkeypatch.setattr(
        losscli.io.csv_reader, "_parse_chunk", lambda *a: parsed.append(1) or parse(*a)
    )
    assert eval_json(capsys, path, *args, quiet=True)["top_rows"] == serial
    assert len(parsed) >= path.stat().st_size // (1 << 14)


def test_parquet_row_group_runs_give_the_same_rows(capsys, monkeypatch, regression, tmp_path):
    import losscli.engine.passes
    import losscli.io.parquet_reader

    path, y, p, seg = regression
    data = tmp_path / "preds.parquet"
    ids = [f"id{i}" for i in range(len(y))]
    pq.write_table(
        pa.table({"id": ids, "segment": seg, "y": y, "yhat": p}), data, row_group_size=7_000
    )
    args = ("-l", "mse", "--top", 9, "--group", "segment", "--keep", "id")
    expected = eval_json(capsys, path, *args, quiet=True)["top_rows"]  # the CSV, serially
    runs = []
    split = losscli.io.parquet_reader.split_row_groups
    monkeypatch.setattr(losscli.io.parquet_reader, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(losscli.engine.passes, "_parallel_parts", lambda: 2)

    def recorded(source, n, rows=None):
        parts = split(source, n, rows)
        runs.append(len(parts or ()))
        return parts

    monkeypatch.setattr(losscli.engine.passes, "split_row_groups", recorded)
    assert eval_json(capsys, data, *args, quiet=True)["top_rows"] == expected
    assert runs == [2]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_line_breaks_in_a_kept_cell_stay_on_the_row(capsys, tmp_path, fmt):
    """A quoted CSV cell with a line break (a comment column) is listed as one line, the
    break written as an escape; JSON keeps the text as read."""
    path = tmp_path / "notes.csv"
    path.write_text('y,yhat,note\n1,3,"two\nlines\ttab"\n2,2,plain\n')
    args = ["eval", path, "-l", "mse", "--top", 2, "--keep", "note", "-q"]
    code, out, err = cli(capsys, *args, "-f", fmt)
    assert code == 0, err
    lines = out.splitlines()
    assert any("two\\nlines\\ttab" in line and "4" in line for line in lines), out
    assert not any(line.strip() == "lines" or line.startswith("lines") for line in lines)
    code, out, err = cli(capsys, *args, "-f", "json")
    rows = json.loads(out)["top_rows"][0]["rows"]
    assert rows[0]["columns"]["note"] == "two\nlines\ttab"
