"""losscli report: the page's numbers are eval's, it is self-contained, errors write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from losscli.app.report import fmt  # noqa: E402
from losscli.cli.commands import run as main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {
    "regression": ["--group", "segment", "--keep", "weight"],
    "binary": [],
    "multiclass": [],
}
# the report adds class rows where a loss splits by class, as eval --per-class does
PER_CLASS = {"binary", "multiclass"}


def run(args: list[str]) -> tuple[int, str, str]:
    """One command line in-process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict]]:
    out = {}
    tmp = tmp_path_factory.mktemp("report")
    for name, extra in SAMPLES.items():
        path = str(ROOT / "sample_data" / f"{name}.csv")
        common = [path, "--bootstrap", "50", "--top", "5", *extra]
        page = tmp / f"{name}.html"
        code, _, err = run(["report", *common, "-o", str(page), "-q"])
        assert code == 0, err
        per_class = ["--per-class"] if name in PER_CLASS else []
        code, text, err = run(["eval", *common, *per_class, "--format", "json", "-q"])
        assert code == 0, err
        out[name] = (page.read_text(encoding="utf-8"), json.loads(text))
    return out


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="losscli-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.mark.parametrize("name", list(SAMPLES))
def test_numbers_equal_eval_json(pages: dict, name: str) -> None:
    page, doc = pages[name]
    data = embedded(page)
    assert data["results"] == doc["results"]
    assert data["input"] == doc["input"]
    assert data["bootstrap"] == doc["bootstrap"]
    assert data.get("per_class") == doc.get("per_class")
    losses = page.split('<section id="losses">', 1)[1].split("</section>", 1)[0]
    classes = page.split('<section id="classes">', 1)[1] if name in PER_CLASS else ""
    classes = classes.split("</section>", 1)[0]
    assert (name in PER_CLASS) == any(r.get("class") is not None for r in doc["results"])
    for r in doc["results"]:
        shown = losses if r.get("class") is None else classes
        cells = "".join(f'<td class="num">{fmt(r[k])}</td>' for k in ("value", "ci_low", "ci_high"))
        assert cells in shown, (r["loss"], r.get("class"))


@pytest.mark.parametrize("name", list(SAMPLES))
def test_top_rows_equal_eval(pages: dict, name: str) -> None:
    page, doc = pages[name]
    assert embedded(page)["top_rows"] == doc["top_rows"]
    worst = page.split('<section id="worst">', 1)[1].split("</section>", 1)[0]
    for block in doc["top_rows"]:
        for r in block["rows"]:
            assert f'<td class="num">{fmt(r["value"])}</td>' in worst
    if name == "regression":
        assert "<th>weight</th>" in worst  # the --keep column


@pytest.mark.parametrize("name", list(SAMPLES))
def test_page_is_self_contained(pages: dict, name: str) -> None:
    page, _ = pages[name]
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page) + re.findall(
        r"url\(([^)]*)\)", page
    )
    assert not [r for r in refs if re.match(r"\s*['\"]?(https?:)?//", r)], refs
    assert "<link" not in page and "@import" not in page and "@font-face" not in page
    assert "<script" not in page.replace('<script type="application/json"', "")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_chart_is_drawn(pages: dict, name: str) -> None:
    page, _ = pages[name]
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) >= {"regression": 9, "binary": 4, "multiclass": 3}[name]
    for svg in svgs:
        assert "<path" in svg or "<rect" in svg
        assert len(svg) > 2000
    sections = {"regression": "residuals", "binary": "calibration", "multiclass": "calibration"}
    assert f'<section id="{sections[name]}">' in page
    assert 'id="recommend"' in page and "losscli recommend" in page


def test_calibration_matches_ece(pages: dict) -> None:
    """The page's ECE (15 equal-width bins) is the ece metric's value on the same file."""
    page, _ = pages["binary"]
    code, text, _ = run(
        ["eval", str(ROOT / "sample_data" / "binary.csv"), "-l", "ece", "-f", "json", "-q"]
    )
    value = json.loads(text)["results"][0]["value"]
    assert f"{fmt(value)}</p>" in page


def test_concentration_from_the_histogram() -> None:
    import numpy as np

    from losscli.engine.report_stats import Histogram

    h = Histogram()
    values = np.r_[np.full(99, 1.0), 1000.0]
    h.add(values[:50])
    h.add(values[50:])
    assert h.share_of_top(0.01) == pytest.approx(1000 / 1099)
    assert h.share_of_top(0.10) == pytest.approx((1000 + 9) / 1099)
    assert sum(h.describe()["counts"]) == 100


def test_missing_output_is_one_error(tmp_path: Path) -> None:
    code, out, err = run(["report", str(ROOT / "sample_data" / "binary.csv")])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "-o report.html" in err


def test_bad_column_writes_nothing(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    code, _, err = run(
        [
            "report",
            str(ROOT / "sample_data" / "regression.csv"),
            "--target",
            "nope",
            "-o",
            str(page),
        ]
    )
    assert code == 2
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: --target 'nope': no such column"
    ]
    assert not page.exists() and list(tmp_path.iterdir()) == []


def test_without_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import builtins

    real = builtins.__import__

    def no_matplotlib(name: str, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    page = tmp_path / "r.html"
    # found but failing to import (a broken install): the error when the charts need it
    code, _, err = run(["report", str(ROOT / "sample_data" / "binary.csv"), "-o", str(page)])
    assert code == 2
    assert err.splitlines()[-1] == (
        "error: losscli report draws its charts with matplotlib: pip install 'losscli[report]'"
    )
    assert not page.exists()
    # not installed at all: told before the file is read, the only line on stderr
    import importlib.util

    real_find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real_find(name, *a),
    )
    code, _, err = run(["report", str(ROOT / "sample_data" / "binary.csv"), "-o", str(page)])
    assert code == 2
    assert "pip install 'losscli[report]'" in err and err.startswith("error: ")
    assert len(err.splitlines()) == 1 and not page.exists()


def test_stdout_and_a_loss_without_rows(tmp_path: Path) -> None:
    code, out, _ = run(["report", str(ROOT / "sample_data" / "regression.csv"), "-o", "-", "-q"])
    assert code == 0 and out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    page = tmp_path / "r.html"
    code, _, err = run(
        ["report", str(ROOT / "sample_data" / "regression.csv"), "-l", "rmse", "-o", str(page)]
    )
    assert code == 0, err
    assert err == "note: no worst rows: rmse has no per-row loss\n"
    assert "no per-row loss" in page.read_text(encoding="utf-8")


def test_a_loss_without_rows_on_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """stdin is read once: the page is made without worst rows in that one pass (it was
    refused with a hint to drop --top, which report cannot)."""
    from helpers import stdin_bytes

    stdin_bytes(monkeypatch, (ROOT / "sample_data" / "regression.csv").read_bytes())
    page = tmp_path / "r.html"
    code, _, err = run(["report", "-", "-l", "rmse", "-o", str(page)])
    assert code == 0, err
    assert err == "note: no worst rows: rmse has no per-row loss\n"
    doc = embedded(page.read_text(encoding="utf-8"))
    assert doc["results"][0]["loss"] == "rmse" and not doc.get("top_rows")


def test_keep_with_a_loss_without_rows_names_keep(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    path = str(ROOT / "sample_data" / "regression.csv")
    code, _, err = run(["report", path, "-l", "rmse", "--keep", "segment", "-o", str(page)])
    assert code == 2 and not page.exists()
    assert err.splitlines() == [
        "error: --keep copies columns into the worst rows, listed by their per-row loss Lᵢ: "
        "rmse has no per-row loss",
        "hint: add a loss with per-row values (e.g. mse, bce, cross_entropy), or drop --keep",
    ]


def test_robust_losses_marked_among_the_residuals(tmp_path: Path) -> None:
    page = tmp_path / "q.html"
    spec = "quantile(quantile=0.9),huber(delta=0.5)"
    code, _, err = run(
        ["report", str(ROOT / "sample_data" / "quantile.csv"), "-l", spec, "-q", "-o", str(page)]
    )
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert "±delta = ±0.5" in text and "τ = 0.9 quantile" in text


@pytest.mark.parametrize("name", ["regression", "binary", "multiclass"])
def test_parts_read_in_parallel_give_the_same_sums(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
):
    """Read as two parallel runs of Parquet row groups, the report's sums merge to the
    serial pass's: histograms and calibration exactly; the residual grid's counts
    re-binned, same total."""
    import pandas as pd
    from helpers import parquet_in_parts

    from losscli.app.evaluation import evaluate, input_spec

    path = str(tmp_path / f"{name}.parquet")
    pd.read_csv(ROOT / "sample_data" / f"{name}.csv").to_parquet(path, row_group_size=250)

    def stats() -> list[dict]:
        return evaluate(path, None, input_spec(), top=5, row_stats=True)["row_stats"]

    serial = stats()
    made = parquet_in_parts(monkeypatch)
    parallel = stats()
    assert [len(parts) for parts in made] == [2]
    for a, b in zip(serial, parallel):
        for key in ("losses", "gradients"):
            if a[key] is not None:
                assert a[key]["counts"] == b[key]["counts"]
                assert b[key]["sums"] == pytest.approx(a[key]["sums"])
        if a["calibration"] is not None:
            assert a["calibration"]["confusion"] == b["calibration"]["confusion"]
            assert a["calibration"]["ece"] == pytest.approx(b["calibration"]["ece"])
        if a["residuals"] is not None:
            assert a["residuals"]["n"] == b["residuals"]["n"]
            assert sum(map(sum, b["residuals"]["counts"])) == b["residuals"]["n"]
            assert a["residuals"]["pred_range"] == b["residuals"]["pred_range"]
            assert 0 < b["residuals"]["rebinned"] < b["residuals"]["n"]


def test_dask_engine_is_refused_before_writing(tmp_path: Path) -> None:
    """report runs on the local engine: its help offers no --engine, and the option is
    refused before anything is written."""
    page = tmp_path / "report.html"
    data = str(ROOT / "sample_data" / "regression.parquet")
    code, out, err = run(["report", data, "--engine", "dask", "-o", str(page), "-q"])
    assert code == 2 and out == ""
    assert err.startswith("error: no such option: --engine")
    assert not page.exists()
    code, help_text, _ = run(["report", "--help"])
    assert code == 0 and "--engine" not in help_text and "--scheduler" not in help_text


def test_confusion_matrix_decides_as_accuracy_does() -> None:
    """A score of exactly 0.5 is a negative decision, in the matrix as in ``accuracy``."""
    import numpy as np

    import losscli
    from losscli.engine.report_stats import Calibration

    y, p = np.array([0, 1, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1])
    cal = Calibration("binary", 2)
    cal.add(y, p)
    assert cal.confusion.tolist() == [[2, 0], [1, 1]]
    assert np.trace(cal.confusion) / len(y) == losscli.evaluate(y, p, "accuracy")


@pytest.mark.parametrize(("top", "labels"), [(20_000, ["1", "10", "100", "1000", "10000"]),
                                             (5, ["1", "2", "3", "4"])])  # fmt: skip
def test_residual_colour_bar_ticks(top: int, labels: list[str]) -> None:
    """The log colour bar is labelled at its decades; across two decades or more it has
    no minor ticks (33 more tick marks to lay out), across less its minor ticks are the
    labels. Drawn first (before any other chart), it waits for matplotlib's import."""
    import numpy as np

    from losscli.app import report_charts

    report_charts.require_matplotlib()
    counts = np.zeros((40, 40), dtype=int)
    counts[5, 5], counts[6, 6] = top, 1
    res = {"counts": counts.tolist(), "pred_range": [0, 1], "resid_range": [-1, 1],
           "clipped": 0, "rebinned": 0, "n": int(counts.sum())}  # fmt: skip
    svg = report_charts.residual_density(res)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert texts[texts.index("Residuals against predictions (40 × 40 cells)") + 1 : -1] == labels
    # the main axes' 6 + 9 ticks, then the bar's: its labelled ticks, no unlabelled ones
    assert len(re.findall(r'<g id="[xy]tick_', svg)) == 15 + len(labels) + (top < 100)


@pytest.mark.parametrize(
    ("clipped", "rebinned", "lines"),
    [
        (1, 0, ["1 row outside clipped into the edge cells"]),
        (
            12345,
            67890,
            [
                "12,345 rows outside clipped into the edge cells",
                "67,890 rows of parts read in parallel re-binned by cell centre",
            ],
        ),
    ],
)
def test_residual_title_notes_each_on_a_line_within_the_figure(
    clipped: int, rebinned: int, lines: list[str]
) -> None:
    """What the grid clipped or re-binned is said under the title, a line each (on one
    line the title ran past the figure's left edge), with the row counts in words, and
    the saved chart is as large as what it draws."""
    import numpy as np

    from losscli.app import report_charts

    report_charts.require_matplotlib()
    counts = np.zeros((40, 40), dtype=int)
    counts[5, 5] = 100
    res = {"counts": counts.tolist(), "pred_range": [0, 1], "resid_range": [-1, 1],
           "clipped": clipped, "rebinned": rebinned, "n": 100}  # fmt: skip
    drawn = []
    real_svg = report_charts._svg
    report_charts._svg = lambda fig: drawn.append(fig) or real_svg(fig)
    try:
        svg = report_charts.residual_density(res)
    finally:
        report_charts._svg = real_svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    title = texts.index("Residuals against predictions (40 × 40 cells)")
    assert texts[title + 1 : title + 1 + len(lines)] == lines
    # the page is cut to all the figure draws, these lines too: its size is their box's
    fig = drawn[0]
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    size = re.search(r'<svg[^>]* width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert size
    slack = 0.06  # inches: the SVG is cut with the SVG renderer's text sizes, not Agg's
    pad = 2 * report_charts.PAD
    assert float(size[1]) / 72 == pytest.approx(box.width + pad, abs=slack)
    assert float(size[2]) / 72 == pytest.approx(box.height + pad, abs=slack)


@pytest.mark.parametrize("full_exit", ["", "1"], ids=["quick exit", "interpreter's exit"])
def test_a_report_failing_before_its_charts_does_not_wait_for_matplotlib(
    tmp_path: Path, full_exit: str
) -> None:
    """matplotlib is imported on a daemon thread while the file is read: a report that
    fails first (a missing file) exits with its one error line without waiting for that
    import, by the quick exit and by the interpreter's own."""
    import os
    import subprocess
    import sys

    from losscli.app import report_charts

    report_charts.require_matplotlib()
    assert report_charts._LOADING[0]["thread"].daemon
    env = {**os.environ, "LOSSCLI_FULL_EXIT": full_exit}
    page = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "losscli", "report", str(tmp_path / "missing.csv"), "-o", str(page)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'missing.csv'}: no such file or directory"
    ]
    assert not page.exists()


def test_a_loss_among_others_without_rows_is_noted_without_naming_top(tmp_path: Path) -> None:
    """report's --top has a default: the note says which loss has no worst rows."""
    page = tmp_path / "r.html"
    path = str(ROOT / "sample_data" / "regression.csv")
    code, _, err = run(["report", path, "-l", "mse,rmse", "-o", str(page)])
    assert code == 0, err
    assert "note: worst rows: rmse has no per-row loss; its rows are not ranked" in err
    assert "--top" not in err


def test_a_chart_of_many_groups_shows_the_worst_forty(tmp_path: Path) -> None:
    """2,000 groups: the bar chart keeps its 40 worst (a 46,000 pt tall chart before); the
    table still lists every group."""
    import re

    page = tmp_path / "g.html"
    data = tmp_path / "ids.csv"
    rows = ["y_true,y_pred,id"] + [
        f"{i % 7},{(i % 7) + (i % 13) / 10},g{i:04d}" for i in range(2000)
    ]
    data.write_text("\n".join(rows) + "\n")
    code, _, err = run(["report", str(data), "-l", "mae", "--group", "id", "-q", "-o", str(page)])
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert "mae: the 40 worst of 2,000 groups" in text
    heights = [float(h) for h in re.findall(r'<svg[^>]*height="([0-9.]+)pt"', text)]
    assert max(heights) < 1000
    assert len(embedded(text)["results"]) == 2001


def test_the_interval_note_is_a_sentence(tmp_path: Path) -> None:
    page = tmp_path / "b.html"
    path = str(ROOT / "sample_data" / "regression.csv")
    code, _, err = run(
        ["report", path, "-l", "mse", "--bootstrap", "50", "--seed", "3", "-q", "-o", str(page)]
    )
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert "Intervals: 95% percentile bootstrap, 50 replicates (seed 3)" in text
    assert "{&quot;replicates&quot;" not in text and '{"replicates"' not in text.split("<script")[0]


def _row_stats(path: Path, loss: str | None, **spec) -> list[dict]:
    from losscli.app.evaluation import evaluate, input_spec

    doc = evaluate(
        str(path), loss, input_spec(**spec), top=5, row_stats=True, top_where_ranked=True
    )
    return doc["row_stats"]


def test_margin_scores_get_the_confusion_at_zero(tmp_path: Path) -> None:
    """±1 targets and raw scores (hinge): the confusion matrix at s > 0, counted as by
    hand, and no reliability diagram (a margin score is not a probability)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    y = np.where(rng.uniform(size=3000) < 0.3, 1, -1)
    s = 0.8 * y + rng.normal(0, 1, 3000)
    path = tmp_path / "svm.csv"
    pd.DataFrame({"y": y, "score": s}).to_csv(path, index=False)
    cal = _row_stats(path, None)[0]["calibration"]
    truth, guess = y > 0, s > 0
    assert cal["kind"] == "margin" and cal["ece"] is None
    assert cal["confusion"] == [
        [int(np.sum(~truth & ~guess)), int(np.sum(~truth & guess))],
        [int(np.sum(truth & ~guess)), int(np.sum(truth & guess))],
    ]
    page = tmp_path / "svm.html"
    code, _, err = run(["report", str(path), "-o", str(page), "-q"])
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    section = text.split('<section id="calibration">', 1)[1].split("</section>", 1)[0]
    assert "Confusion matrix at s &gt; 0" in section and "Reliability" not in section
    cells = re.findall(r"<text[^>]*>\s*(\d+)\s*</text>", section)
    assert [int(c) for c in cells[:4]] == [n for row in cal["confusion"] for n in row]
    # --pos-label -1: −1 is the positive class (t = +1), and the labels say so
    flipped = _row_stats(path, None, pos_label="-1")[0]
    assert flipped["classes"] == ["not -1", "-1 (positive)"]
    assert flipped["calibration"]["confusion"] == [
        [int(np.sum(truth & ~guess)), int(np.sum(truth & guess))],
        [int(np.sum(~truth & ~guess)), int(np.sum(~truth & guess))],
    ]


def test_task_section_follows_the_loss_not_the_first_batch(tmp_path: Path) -> None:
    """Counts sorted so that the first batches hold only 0 and 1, evaluated with mse: the
    residual density of every row, not a calibration of the first batch's 0/1 look."""
    import numpy as np
    import pandas as pd

    from losscli.io.csv_reader import CSV_BLOCK

    rng = np.random.default_rng(7)
    n = 150_000
    y = np.sort(rng.choice(6, n, p=[0.4, 0.4, 0.05, 0.05, 0.05, 0.05]))
    path = tmp_path / "counts.csv"
    pd.DataFrame({"y": y, "pred": rng.uniform(0.1, 5.0, n)}).to_csv(path, index=False)
    assert path.stat().st_size > 2 * CSV_BLOCK
    first = _row_stats(path, "mse")[0]
    assert first["calibration"] is None
    assert first["residuals"]["n"] == n


def test_logits_are_read_as_the_loss_reads_them(tmp_path: Path) -> None:
    """With --from-logits every score goes through the sigmoid, also a file whose logits
    all lie in [0, 1]: the page's ECE is the ece metric's on the same logits."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(9)
    z = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-z))).astype(int)
    path = tmp_path / "logits.csv"
    pd.DataFrame({"y": y, "logit": z}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="they look like probabilities"):
        cal = _row_stats(path, "bce", from_logits=True)[0]["calibration"]
    code, text, err = run(["eval", str(path), "-l", "ece", "--from-logits", "-f", "json", "-q"])
    assert code == 0, err
    assert cal["ece"] == pytest.approx(json.loads(text)["results"][0]["value"], rel=1e-12)
    assert cal["confusion"][0][0] == 0  # σ(z) > 0.5 for every z > 0: no negative decisions


def test_gaussian_nll_gets_the_residuals_of_its_mean() -> None:
    """gaussian_nll reads a mean and a variance column: the residuals are y − mean (it
    was summed as a two-class calibration of the mean and the variance)."""
    import pandas as pd

    path = ROOT / "sample_data" / "regression_var.csv"
    first = _row_stats(path, "gaussian_nll", var="var")[0]
    assert first["calibration"] is None
    res = first["residuals"]
    frame = pd.read_csv(path)
    r = frame["y_true"] - frame["y_pred"]
    assert res["n"] == len(frame) and res["clipped"] == 0
    assert res["resid_range"][0] <= r.min() and r.max() <= res["resid_range"][1]
    lo, hi = res["pred_range"]  # the mean's range (widened), not the variance's
    assert lo <= frame["y_pred"].min() < frame["y_pred"].max() <= hi
    assert hi - lo < 1.5 * (frame["y_pred"].max() - frame["y_pred"].min())


def _calibration_of(path: Path, loss: str, **spec) -> dict:
    return _row_stats(path, loss, **spec)[0]["calibration"]


def test_losses_of_raw_scores_are_calibrated_through_softmax(tmp_path: Path) -> None:
    """multi_hinge reads raw class scores (it has no --from-logits): the page bins their
    softmax, as cross_entropy --from-logits does with the same scores (an ECE above 1,
    from scores binned as probabilities, cannot happen)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(12)
    y = rng.integers(0, 3, 600)
    scores = rng.normal(0, 1.5, (600, 3))
    scores[np.arange(600), y] += 1.0
    path = tmp_path / "scores.csv"
    pd.DataFrame({"y": y, **{f"p_{k}": scores[:, k] for k in range(3)}}).to_csv(path, index=False)
    mine = _calibration_of(path, "multi_hinge")
    softmax = _calibration_of(path, "cross_entropy", from_logits=True)
    assert 0 <= mine["ece"] <= 1
    assert mine["ece"] == pytest.approx(softmax["ece"], rel=1e-12)
    assert mine["confusion"] == softmax["confusion"]


def test_overlap_losses_get_the_calibration(tmp_path: Path) -> None:
    """dice on a 0/1 target and probabilities: the calibration section, as bce's."""
    data = ROOT / "sample_data" / "binary.csv"
    dice, bce = _calibration_of(data, "dice"), _calibration_of(data, "bce")
    assert dice is not None and dice == bce


def test_soft_targets_are_binned_but_not_counted_as_a_class(tmp_path: Path) -> None:
    """bce with soft targets in (0, 1): the reliability bins hold every row (the ece
    metric's value), the confusion only the 0 and 1 labels, and the page says so."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(13)
    p = rng.uniform(0.02, 0.98, 400)
    y = np.clip(np.round(p + rng.normal(0, 0.2, 400), 2), 0, 1)
    y[:150] = (rng.uniform(size=150) < p[:150]).astype(float)  # hard labels too
    path = tmp_path / "soft.csv"
    pd.DataFrame({"y": y, "pred": p}).to_csv(path, index=False)
    cal = _calibration_of(path, "bce")
    hard = (y == 0) | (y == 1)
    assert cal["soft_targets"] == int((~hard).sum()) > 0
    assert sum(map(sum, cal["confusion"])) == int(hard.sum())
    truth, guess = y[hard] == 1, p[hard] > 0.5
    assert cal["confusion"][1][1] == int((truth & guess).sum())
    # the page's class rows are left out (a soft target has no class), said once
    page = tmp_path / "soft.html"
    frame = pd.read_csv(path)
    frame.loc[len(frame)] = [np.nan, 0.5]  # a row --dropna drops, and says so
    frame.to_csv(path, index=False)
    code, _, err = run(["report", str(path), "--loss", "bce", "--dropna", "-o", str(page)])
    assert code == 0, err
    assert err.count("note: no per-class rows: soft targets (in (0, 1)) have no class") == 1
    dropped = "dropped 1 of 401 rows with empty, NaN or infinite cells (--dropna)"
    assert err.count(dropped) == 1, err
    text = page.read_text("utf-8")
    assert text.count(dropped) == 1
    assert f"{(~hard).sum():,} rows have a soft target in (0, 1)" in text
    assert '<section id="classes">' not in text


def test_poisson_log_rates_give_the_residuals_of_the_rate(tmp_path: Path) -> None:
    """poisson --from-logits reads log-rates z: the residuals are y − e^z, those of the
    same model written as rates."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(14)
    z = rng.normal(0.5, 0.6, 500)
    y = rng.poisson(np.exp(z))
    logs, rates = tmp_path / "logs.csv", tmp_path / "rates.csv"
    pd.DataFrame({"y": y, "pred": z}).to_csv(logs, index=False)
    pd.DataFrame({"y": y, "pred": np.exp(z)}).to_csv(rates, index=False)
    a = _row_stats(logs, "poisson", from_logits=True)[0]["residuals"]
    b = _row_stats(rates, "poisson")[0]["residuals"]
    assert a["pred_range"] == pytest.approx(b["pred_range"], rel=1e-12)
    assert a["counts"] == b["counts"]
