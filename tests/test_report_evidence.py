"""losscli report without a second read: recommend's evidence gathered from the evaluation
pass (evidence.FrameTally) is the evidence of recommend's own read, serial or in parallel
parts; the report's log bins are the binary search's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from losscli.app import evidence
from losscli.app.evaluation import evaluate, input_spec
from losscli.app.recommend import for_file
from losscli.engine.report_stats import Histogram, log_bins, log_edges
from losscli.io.batches import read_header
from losscli.io.sources import detect_format

ROOT = Path(__file__).resolve().parents[1]


def _from_pass(path: str, loss: str | None = None, **spec) -> tuple[dict | None, dict]:
    """(recommend's record from the pass's frames or None, recommend's own record)."""
    inputs = input_spec(**spec)
    source = detect_format(path)
    header = read_header(source)
    source.pending = None
    tally = evidence.FrameTally(source, header, list(inputs.target), list(inputs.pred))
    doc = evaluate(path, loss, inputs, observers=[tally])
    inp = doc["input"]
    ev = None if inp["rows_dropped"] else tally.evidence(source, header, inp["rows"])
    return (None if ev is None else for_file(path, inputs, evidence=ev)), for_file(path, inputs)


@pytest.mark.parametrize(
    "name", ["regression", "counts", "binary", "multiclass", "multilabel", "imbalanced"]
)
@pytest.mark.parametrize("parts", [1, 2])
def test_the_pass_gives_recommends_evidence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, parts: int
) -> None:
    """Serially (the CSV), and in two parallel runs of row groups (the same rows as
    Parquet), whose tallies merge in file order."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    from helpers import parquet_in_parts

    # a residual sample that ends in the second part when the file is read in two
    monkeypatch.setattr(evidence, "RESIDUAL_SAMPLE", 1500)
    path = str(ROOT / "sample_data" / f"{name}.csv")
    if parts == 2:
        path = str(tmp_path / f"{name}.parquet")
        table = pcsv.read_csv(ROOT / "sample_data" / f"{name}.csv")
        pq.write_table(table, path, row_group_size=500)
        made = parquet_in_parts(monkeypatch)
    mine, theirs = _from_pass(path)
    if parts == 2:
        assert made and len(made[0]) == 2  # really read in two parts
    assert mine is not None
    assert mine == theirs
    if name in ("regression", "counts"):
        assert mine["evidence"]["residuals"]["sampled"] is True


def test_frames_without_recommends_columns_or_rows_give_none(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    rows = ["y_true,y_pred,other"] + [f"{i % 7},{i % 5 + 0.5},{i}" for i in range(50)]
    path.write_text("\n".join(rows + ["3,,1"]) + "\n", encoding="utf-8")
    # --dropna drops the last row: not every row of the file was seen
    mine, theirs = _from_pass(str(path), dropna=True)
    assert mine is None and theirs["input"]["rows"] == 51
    # the columns recommend reads follow --pred as the losses' do (no row of them is empty)
    mine, theirs = _from_pass(str(path), "mse", pred="other", dropna=True)
    assert mine is not None and mine == theirs
    # a frame without a column the evidence reads
    from losscli.engine.passes import Frame

    source = detect_format(str(path))
    header = read_header(source)
    source.pending = None
    tally = evidence.FrameTally(source, header, [], [])
    tally.add_frame(Frame({"y_true": np.zeros(3)}, {}, None, 3))
    assert tally.blind and tally.evidence(source, header, 3) is None


def test_report_page_has_recommends_record(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from losscli.app.report import build

    path = str(ROOT / "sample_data" / "regression.csv")
    page = build(path, None, input_spec())
    record = for_file(path, input_spec())
    for r in record["recommendations"]:
        assert r["command"].replace("'", "&#x27;") in page


def test_report_recommends_on_its_own_thread_while_the_charts_are_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The record is made on a thread of its own, from the pass's evidence without reading
    the header again, and the page waits for it only for its last section."""
    pytest.importorskip("matplotlib")
    import threading

    from losscli.app import recommend, report, report_charts
    from losscli.io import batches

    seen: dict[str, object] = {}
    real_for_file, real_section = recommend.for_file, report._advice_section

    def spy_for_file(*args, **kwargs):
        seen["thread"] = threading.current_thread().name
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(batches, "read_header", _no_second_header)
            return real_for_file(*args, **kwargs)

    def spy_section(advice):
        seen["charts before"] = charts_drawn[0]
        return real_section(advice)

    charts_drawn = [0]
    real_svg = report_charts._svg

    def count_svg(fig):
        charts_drawn[0] += 1
        return real_svg(fig)

    monkeypatch.setattr(recommend, "for_file", spy_for_file)
    monkeypatch.setattr(report, "_advice_section", spy_section)
    monkeypatch.setattr(report_charts, "_svg", count_svg)
    path = str(ROOT / "sample_data" / "regression.csv")
    page = report.build(path, None, input_spec())
    assert str(seen["thread"]).startswith("losscli-recommend")
    assert seen["charts before"] == charts_drawn[0] > 0
    for r in real_for_file(path, input_spec())["recommendations"]:
        assert r["command"].replace("'", "&#x27;") in page


def _no_second_header(source):
    raise AssertionError(f"{source.name}: the header was read again")


def test_log_bins_are_the_binary_search() -> None:
    edges = log_edges()
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            edges,
            np.nextafter(edges, 0),
            np.nextafter(edges, np.inf),
            10 ** rng.uniform(-15, 15, 20_000),
            rng.standard_normal(5_000) ** 2,
            [0.0, -0.0, -1.0, -1e300, 5e-324, 1e-300, 1e12, 1e300, np.finfo(float).max],
        ]
    )
    expected = np.where(values <= 0, 0, np.searchsorted(edges, values, side="right") + 1)
    assert np.array_equal(log_bins(values), expected)
    h = Histogram()
    h.add(np.array([1.0, np.nan, np.inf, -2.0, 1e-13]))
    assert h.nonfinite == 2 and int(h.counts.sum()) == 3
    assert h.counts[0] == 1 and h.counts[1] == 1 and h.sums[1] == 1e-13


def test_residual_grid_counts_each_row_in_its_cell() -> None:
    """The 40 × 40 grid of (ŷ, y − ŷ), against a plain count of each row's cell: rows past
    the first batch's range are clipped into the edge cells and counted, however far out
    (a prediction of 1e25 is in the last column, not the first), non-finite rows left out."""
    import math

    from losscli.engine.report_stats import GRID, Residuals

    rng = np.random.default_rng(3)
    y1, p1 = rng.standard_normal(500), rng.standard_normal(500)
    y2, p2 = rng.standard_normal(300) * 3, rng.standard_normal(300) * 3
    p2[:5] = [1e25, -1e25, np.nan, 2.0, -1e308]
    y2[:5] = [0.0, 0.0, 1.0, np.inf, 1e308]  # the last: a residual of +inf
    grid = Residuals()
    grid.add(y1, p1)
    grid.add(y2, p2)

    def cell(v: float, bounds: tuple[float, float]) -> tuple[int, bool]:
        lo, hi = bounds
        x = (v - lo) / (hi - lo) * GRID
        if not math.isfinite(x):  # an infinite residual, or past the float range
            return 0 if x < 0 else GRID - 1, True
        k = math.floor(x)
        return min(max(k, 0), GRID - 1), not 0 <= k < GRID

    expected = np.zeros((GRID, GRID), dtype=np.int64)
    clipped = rows = 0
    for yi, pi in zip(np.r_[y1, y2].tolist(), np.r_[p1, p2].tolist()):
        if not (math.isfinite(yi) and math.isfinite(pi)):
            continue
        (i, out_i), (j, out_j) = cell(pi, grid.pred_range), cell(yi - pi, grid.resid_range)
        expected[i, j] += 1
        clipped += out_i or out_j
        rows += 1
    assert grid.n == rows == 798
    assert np.array_equal(grid.counts, expected)
    assert grid.clipped == clipped >= 3
    assert expected[GRID - 1, 0] >= 1 and expected[0, GRID - 1] >= 1  # ŷ = ±1e25


def test_residual_grid_of_a_first_batch_with_an_infinite_residual() -> None:
    """y = 1e308, ŷ = −1e308 overflow y − ŷ to +inf: the grid's range is the finite rows',
    and the row is clipped into the edge cell, not a failure of the report."""
    from losscli.engine.report_stats import GRID, Residuals

    grid = Residuals()
    grid.add(np.array([1e308, 0.0, 1.0, 2.0]), np.array([-1e308, 0.5, 1.0, 1.0]))
    assert grid.resid_range == pytest.approx((-0.65, 1.15))
    assert grid.n == 4 and grid.clipped == 1 and int(grid.counts.sum()) == 4
    assert int(grid.counts[:, GRID - 1].sum()) == 1  # the infinite residual, at the top
