"""Task inference sees the whole file, not its first record batch.

Files sorted by their label are the hard case: the first batch (1 MiB of CSV, up to
64Ki Parquet rows) holds one class only. Each file here spans several batches; the
task, the note and every value must be what an explicit ``--loss`` gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli, stdin_bytes

from losscli.io.csv_reader import CSV_BLOCK
from losscli.io.parquet_reader import PARQUET_BATCH

ROWS = 150_000  # > PARQUET_BATCH rows, and > CSV_BLOCK bytes of CSV


def sorted_frame(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = ROWS
    if kind == "binary":
        y = np.sort(rng.integers(0, 2, n))
        return pd.DataFrame({"y": y, "pred": rng.uniform(0.01, 0.99, n)})
    if kind == "imbalanced":  # positives last: the first batch holds only 0
        y = np.sort((rng.uniform(size=n) < 0.05).astype(int))
        return pd.DataFrame({"y": y, "pred": rng.uniform(0.01, 0.99, n)})
    if kind == "counts":  # 0 and 1 first: looks binary, then 2, 3, … break bce
        y = np.sort(rng.choice(6, n, p=[0.4, 0.4, 0.05, 0.05, 0.05, 0.05]))
        return pd.DataFrame({"y": y, "pred": rng.uniform(0.1, 5.0, n)})
    if kind == "multiclass":  # class 2 is rare and last
        y = np.sort(rng.choice(3, n, p=[0.5, 0.45, 0.05]))
        p = rng.dirichlet([1, 1, 1], n)
        return pd.DataFrame({"y": y, "p_0": p[:, 0], "p_1": p[:, 1], "p_2": p[:, 2]})
    if kind == "margin":  # ±1 targets (an SVM's), −1 first: the first batch looks real-valued
        y = np.sort(rng.choice([-1, 1], n))
        return pd.DataFrame({"y": y, "score": 0.5 * y + rng.normal(0, 1, n)})
    # regression whose first batch is all integers ≥ 0 (looks like counts)
    y = np.sort(np.concatenate([np.repeat(np.arange(4.0), n // 8), rng.normal(10, 1, n // 2)]))
    return pd.DataFrame({"y": y, "pred": y + rng.normal(0, 1, len(y))})


EXPECTED = {
    "binary": ("binary", "bce,brier", "like regression"),
    "imbalanced": ("imbalanced", "bce,focal,brier", "like regression"),
    "counts": ("counts", "poisson,mse,mae", "like "),  # only 0 (CSV), or 0 and a few 1s
    "multiclass": ("multiclass", "cross_entropy,focal", "balanced"),
    "regression": ("regression", "mse,rmse,mae,huber", "like counts"),
    "margin": ("binary", "hinge,squared_hinge", "like regression"),
}


def write(tmp_path: Path, kind: str, fmt: str) -> Path:
    path = tmp_path / f"{kind}.{fmt}"
    frame = sorted_frame(kind)
    if fmt == "csv":
        frame.to_csv(path, index=False)
        assert path.stat().st_size > 2 * CSV_BLOCK
    else:
        frame.to_parquet(path, row_group_size=ROWS)
        assert len(frame) > 2 * PARQUET_BATCH // 2
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_sorted_file_infers_the_whole_files_task(tmp_path, capsys, kind, fmt):
    task, losses, first = EXPECTED[kind]
    path = write(tmp_path, kind, fmt)
    code, out, err = cli(capsys, "eval", path, "--format", "json")
    assert code == 0, err
    notes = err.splitlines()
    assert len(notes) == 1 and notes[0].startswith(f"note: inferred task: {task} ("), err
    assert f"in {ROWS:,} rows" in notes[0] or f", {ROWS:,} rows" in notes[0], err
    assert notes[0].endswith(f"evaluating {losses}"), err
    # the note says the first batch alone looked otherwise
    assert f"rows alone looked {first}" in notes[0], err
    doc = json.loads(out)
    assert doc["input"]["task"] == task and doc["input"]["rows"] == ROWS
    code, explicit, err = cli(capsys, "eval", path, "--loss", losses, "--format", "json")
    assert code == 0, err
    assert [(r["loss"], r["value"]) for r in doc["results"]] == [
        (r["loss"], r["value"]) for r in json.loads(explicit)["results"]
    ]


def test_sorted_binary_note_gives_the_whole_files_share(tmp_path, capsys):
    path = write(tmp_path, "binary", "csv")
    share = sorted_frame("binary")["y"].mean()
    code, _, err = cli(capsys, "eval", path)
    assert code == 0
    assert f"positive share of {share:.1%} in {ROWS:,} rows" in err, err


def test_plus_minus_one_target_is_binary_with_margin_losses(tmp_path, capsys):
    """±1 targets are two labels (binary, as recommend says), scored by the margin losses
    recommend ranks for them; a rare class is named."""
    rng = np.random.default_rng(3)
    y = np.where(rng.uniform(size=2000) < 0.1, 1, -1)
    path = tmp_path / "svm.csv"
    pd.DataFrame({"y": y, "score": y + rng.normal(0, 1, 2000)}).to_csv(path, index=False)
    code, out, err = cli(capsys, "eval", path, "--format", "json")
    assert code == 0, err
    minority = (y == 1).mean()
    assert err == (
        f"note: inferred task: binary (±1 target 'y' with a minority share of {minority:.1%} "
        "(< 20%) in 2,000 rows: margin losses on raw scores); evaluating hinge,squared_hinge\n"
    )
    doc = json.loads(out)
    assert doc["input"]["task"] == "binary"
    code, _, err = cli(capsys, "eval", path, "--pos-label", "-1", "--quiet")
    assert code == 0 and err == ""
    code, _, err = cli(capsys, "eval", path, "--pos-label", "-1")
    assert f"with a minority share of {minority:.1%}" in err  # the same class is rare
    big = tmp_path / "even.csv"
    even = np.where(np.arange(2000) % 5 < 2, 1, -1)  # 40% +1, 60% −1
    pd.DataFrame({"y": even, "score": even + rng.normal(0, 1, 2000)}).to_csv(big, index=False)
    code, _, err = cli(capsys, "eval", big, "--pos-label", "-1")
    assert code == 0 and "with a -1 share of 60.0% in 2,000 rows" in err, err
    code, text, _ = cli(capsys, "recommend", path, "--format", "json")
    advice = json.loads(text)
    assert advice["task"] == "binary"
    assert [r["spec"] for r in advice["recommendations"]] == ["hinge", "squared_hinge"]


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_an_empty_target_cell_is_no_label(tmp_path, capsys, engine):
    """An empty target cell (dropped by --dropna) is not read as a 0: ±1 labels stay two
    labels, and the share is over the labelled rows."""
    if engine == "dask":
        pytest.importorskip("dask")
    rng = np.random.default_rng(8)
    y = rng.choice([-1, 1], 200)
    frame = pd.DataFrame({"y": y.astype(float), "score": 0.5 * y + rng.normal(0, 1, 200)})
    frame.loc[37, "y"] = np.nan
    path = tmp_path / "svm.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli(capsys, "eval", path, "--dropna", "--engine", engine, "--format", "json")
    assert code == 0, err
    share = (np.delete(y, 37) == 1).mean()
    assert f"±1 target 'y' with a +1 share of {share:.1%} in 199 rows" in err, err
    assert "first" not in err  # no second pass: the first rows did not look otherwise
    assert [r["loss"] for r in json.loads(out)["results"]] == ["hinge", "squared_hinge"]


def test_sorted_counts_from_stdin(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "counts", "csv")
    stdin_bytes(monkeypatch, path.read_bytes())
    code, out, err = cli(capsys, "eval", "-", "--format", "json", "--quiet")
    assert code == 0 and err == "", err
    doc = json.loads(out)
    assert doc["input"]["task"] == "counts"
    assert [r["loss"] for r in doc["results"]] == ["poisson", "mse", "mae"]


def test_sorted_counts_per_row_output(tmp_path, capsys):
    path = write(tmp_path, "counts", "csv")
    code, out, err = cli(capsys, "eval", path, "--reduction", "none")
    assert code == 0, err
    assert out.splitlines()[0] == "row,poisson,mse,mae"
    assert "inferred task: counts" in err


def test_sorted_counts_with_gradients_and_per_class(tmp_path, capsys):
    path = write(tmp_path, "multiclass", "parquet")
    code, out, err = cli(capsys, "eval", path, "--per-class", "--gradients", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert {r["loss"] for r in doc["results"]} == {"cross_entropy", "focal"}


def test_real_error_under_the_inferred_task_still_stands(tmp_path, capsys):
    """Inferred over the whole file, the same task: its error is reported, once."""
    frame = sorted_frame("binary")
    frame.loc[ROWS - 5, "pred"] = 1.5  # a probability above 1, late in the file
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli(capsys, "eval", path)
    assert code == 2, err
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error:")][0].count(f"row {ROWS - 5}") == 1
    assert sum(line.startswith("note: inferred task: binary") for line in lines) == 1, err


@pytest.mark.parametrize("kind", ["binary", "counts"])
def test_parallel_parquet_readers_gather_the_evidence(tmp_path, capsys, kind):
    """Over io.PARALLEL_MIN_ROWS rows in several row groups, two readers see the file."""
    from losscli.io.parquet_reader import PARALLEL_MIN_ROWS

    rng = np.random.default_rng(11)
    n = PARALLEL_MIN_ROWS + 200_000
    if kind == "binary":
        y = np.sort(rng.integers(0, 2, n)).astype(float)
    else:
        y = np.sort(rng.choice(6, n, p=[0.4, 0.4, 0.05, 0.05, 0.05, 0.05])).astype(float)
    path = tmp_path / "big.parquet"
    pd.DataFrame({"y": y, "pred": rng.uniform(0.01, 0.99, n)}).to_parquet(
        path, row_group_size=n // 6
    )
    task, losses, _ = EXPECTED[kind]
    code, out, err = cli(capsys, "eval", path, "--format", "json", "-q")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["input"]["task"] == task and doc["input"]["rows"] == n
    code, explicit, err = cli(capsys, "eval", path, "-l", losses, "--format", "json")
    assert code == 0, err
    assert [r["value"] for r in doc["results"]] == [
        r["value"] for r in json.loads(explicit)["results"]
    ]


def _counted_by_sorting(values: np.ndarray) -> dict[float, int] | None:
    keys, counts = np.unique(values, return_counts=True)
    return None if keys.size > 64 else dict(zip(keys.tolist(), counts.tolist()))


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(size=5000),  # continuous: told by its first values
        np.r_[np.zeros(2000), np.arange(100.0)],  # few distinct at first, 101 in all
        np.r_[np.zeros(2000), np.arange(64.0)],  # exactly 64 distinct
        np.random.default_rng(2).integers(0, 5, 9000).astype(float),  # labels: bincount
        np.array([0.0, -0.0, 3.0, 3.0, 65535.0, 70000.0, 70000.0]),  # past 2¹⁶: sorted
        np.array([-1.0, 0.0, 1.0, 1.0]),  # negative integers
        np.array([0.5, 1.5, 0.5, 2.25]),  # non-integers, few of them
        np.array([]),
    ],
)
def test_distinct_counts_equal_counting_by_sorting(values):
    """The cheap count of a target's distinct values (stop at the first values, bincount
    for labels) gives what np.unique gives, key for key, and None past 64 values."""
    from losscli.app.evidence import MAX_DISTINCT, add_counts, distinct_counts

    assert MAX_DISTINCT == 64
    expected = _counted_by_sorting(values)
    got = distinct_counts(values)
    assert got == expected
    if got is not None:
        assert all(isinstance(k, float) for k in got)
    # two halves added give the whole
    half = values.size // 2
    merged = add_counts(distinct_counts(values[:half]), distinct_counts(values[half:]))
    assert merged == expected
