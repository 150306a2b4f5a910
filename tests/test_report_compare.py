"""losscli report BASE CAND: compare's numbers and verdict on one page, and the rows that
got worse most (as a sort of the two files' ``--reduction none`` difference)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from losscli.app.report_html import fmt  # noqa: E402
from losscli.cli.commands import run as main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = str(ROOT / "sample_data" / "regression.csv")
CAND = str(ROOT / "sample_data" / "regression_worse.csv")


def run(args: list[str]) -> tuple[int, str, str]:
    """One command line in-process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="losscli-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


def per_row(path: str, losses: str, tmp: Path) -> dict[str, list[float]]:
    out = tmp / (Path(path).stem + ".rows.csv")
    args = ["eval", path, "-l", losses, "--reduction", "none", "-o", str(out), "-q"]
    code, _, err = run(args)
    assert code == 0, err
    rows = list(csv.DictReader(out.read_text().splitlines()))
    return {name: [float(r[name]) for r in rows] for name in losses.split(",")}


def ranked_changes(base: list[float], cand: list[float], k: int) -> list[tuple[int, float]]:
    """(row, ΔLᵢ) of the k largest changes, ties to the earlier row: the sort the page's list
    must equal."""
    changes = [(i, c - b) for i, (b, c) in enumerate(zip(base, cand))]
    return sorted(changes, key=lambda e: (-e[1], e[0]))[:k]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, str]:
    tmp = tmp_path_factory.mktemp("report-compare")
    page = tmp / "compare.html"
    common = [BASE, CAND, "-l", "mse,mae,rmse", "--group", "segment", "--bootstrap", "200"]
    code, _, err = run(["report", *common, "--top", "7", "--keep", "weight", "-o", str(page)])
    assert code == 0, err  # a regression still writes the page and exits 0
    code, text, _ = run(["compare", *common, "-f", "json", "-q"])
    assert code == 1  # compare, the gate, fails on the same files
    return page.read_text(encoding="utf-8"), json.loads(text), err


def test_numbers_and_verdict_equal_compare_json(compared: tuple[str, dict, str]) -> None:
    page, doc, err = compared
    data = embedded(page)
    for key in ("results", "regressions", "passed", "rule", "bootstrap", "baseline", "candidate"):
        assert data[key] == doc[key], key
    table = section(page, "compare")
    for r in doc["results"]:
        for key in ("baseline", "candidate", "difference", "ci_low", "ci_high"):
            assert f'<td class="num">{fmt(r[key])}</td>' in table, (r["loss"], r["group"], key)
        assert f"<td>{r['reason']}</td>" in table
    summary = f"regression: {CAND} is worse than {BASE} on"
    assert summary in page and f"note: {summary}" in err
    assert 'class="verdict failed"' in page


def test_one_difference_chart_per_loss(compared: tuple[str, dict, str]) -> None:
    page, _, _ = compared
    charts = re.findall(r"<svg.*?</svg>", section(page, "differences"), re.S)
    assert len(charts) == 3
    for svg in charts:
        assert "paired difference" in svg and len(svg) > 2000
    assert "#c44e52" in page.lower()  # a regression's bar


def test_worse_rows_are_the_sorted_per_row_differences(
    compared: tuple[str, dict, str], tmp_path: Path
) -> None:
    page, _, err = compared
    blocks = {b["loss"]: b["rows"] for b in embedded(page)["worse_rows"]}
    assert set(blocks) == {"mse", "mae"}  # rmse has no per-row loss
    assert "rows that got worse: rmse has no per-row loss" in err
    base, cand = per_row(BASE, "mse,mae", tmp_path), per_row(CAND, "mse,mae", tmp_path)
    listed = section(page, "worse")
    for loss, rows in blocks.items():
        expected = ranked_changes(base[loss], cand[loss], 7)
        assert [r["row"] for r in rows] == [i for i, _ in expected]
        for r, (i, change) in zip(rows, expected):
            assert r["change"] == pytest.approx(change, rel=1e-12, abs=1e-15)
            assert r["baseline"] == pytest.approx(base[loss][i], rel=1e-12)
            assert r["candidate"] == pytest.approx(cand[loss][i], rel=1e-12)
            assert f'<td class="num">{fmt(r["change"])}</td>' in listed
        assert set(rows[0]["columns"]) == {
            "weight",
            "segment",
            "y_true",
            "y_pred",
            "baseline:y_pred",
        }


def _write(path: Path, header: list[str], rows: list[list]) -> str:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_rows_paired_by_key_in_another_order(tmp_path: Path) -> None:
    """--key pairs rows whatever their order: the candidate shuffled lists the same rows,
    each with both files' row numbers."""
    import random

    rng = random.Random(3)
    n = 300
    ids = [f"id{i:04d}" for i in range(n)]
    y = [rng.gauss(0, 1) for _ in range(n)]
    base_pred = [t + rng.gauss(0, 0.5) for t in y]
    cand_pred = [t + rng.gauss(0, 0.8) for t in y]
    base = _write(
        tmp_path / "base.csv", ["id", "y", "p"], [[i, t, p] for i, t, p in zip(ids, y, base_pred)]
    )
    order = list(range(n))
    rng.shuffle(order)
    cand = _write(
        tmp_path / "cand.csv", ["id", "y", "p"], [[ids[j], y[j], cand_pred[j]] for j in order]
    )
    page = tmp_path / "key.html"
    args = [
        base,
        cand,
        "-l",
        "mae",
        "-t",
        "y",
        "-p",
        "p",
        "--key",
        "id",
        "--bootstrap",
        "0",
        "--top",
        "5",
    ]
    code, _, err = run(["report", *args, "-o", str(page), "-q"])
    assert code == 0, err
    rows = embedded(page.read_text())["worse_rows"][0]["rows"]
    expected = ranked_changes(
        [abs(t - p) for t, p in zip(y, base_pred)], [abs(t - p) for t, p in zip(y, cand_pred)], 5
    )
    assert [r["baseline_row"] for r in rows] == [i for i, _ in expected]
    assert [r["row"] for r in rows] == [order.index(i) for i, _ in expected]
    assert [r["columns"]["id"] for r in rows] == [ids[i] for i, _ in expected]
    for r, (i, change) in zip(rows, expected):
        assert r["change"] == pytest.approx(change, rel=1e-9)
        # both predictions, the baseline's from its own row (found by the key)
        assert r["columns"]["p"] == pytest.approx(cand_pred[i], rel=1e-15)
        assert r["columns"]["baseline:p"] == pytest.approx(base_pred[i], rel=1e-15)
    assert "by the key column id" in page.read_text()


def test_side_by_side_across_batches_of_other_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows paired by order stay paired when the two files' batches end at other rows
    (the candidate carries a long text column, so its batches hold fewer rows)."""
    import random

    import losscli.io.csv_reader

    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 2048)
    rng = random.Random(5)
    n = 3000
    y = [rng.gauss(0, 1) for _ in range(n)]
    bp = [t + rng.gauss(0, 1) for t in y]
    cp = [t + rng.gauss(0, 1) for t in y]
    base = _write(tmp_path / "b.csv", ["y", "p"], [[t, p] for t, p in zip(y, bp)])
    note = "x" * 40
    cand = _write(tmp_path / "c.csv", ["y", "p", "note"], [[t, p, note] for t, p in zip(y, cp)])
    page = tmp_path / "batches.html"
    args = [base, cand, "-l", "mse", "-t", "y", "-p", "p", "--bootstrap", "0", "--top", "20"]
    code, _, err = run(["report", *args, "-o", str(page), "-q"])
    assert code == 0, err
    rows = embedded(page.read_text())["worse_rows"][0]["rows"]
    expected = ranked_changes(
        [(t - p) ** 2 for t, p in zip(y, bp)], [(t - p) ** 2 for t, p in zip(y, cp)], 20
    )
    assert [r["row"] for r in rows] == [i for i, _ in expected]
    assert [r["baseline_row"] for r in rows] == [i for i, _ in expected]


def test_losses_inferred_from_the_baseline(tmp_path: Path) -> None:
    page = tmp_path / "inferred.html"
    code, _, err = run(["report", BASE, CAND, "--bootstrap", "0", "-o", str(page)])
    assert code == 0, err
    assert "inferred task: regression" in err
    losses = [r["loss"] for r in embedded(page.read_text())["results"]]
    assert losses == ["mse", "rmse", "mae", "huber"]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            [BASE, "--tolerance", "0.1"],
            "error: --tolerance is compare's rule: it needs a second file",
        ),
        ([BASE, "--no-require-significant"], "error: --no-require-significant is compare's rule"),
        ([BASE, "-", "-l", "mse"], "error: report BASE CAND reads each file twice"),
        (
            [BASE, CAND, "-l", "mse", "--targets", BASE],
            "error: report BASE CAND scores each file against its own targets",
        ),
        ([BASE, str(ROOT / "sample_data" / "binary.csv"), "-l", "mse"], "error: "),
        (
            [BASE, CAND, "-l", "rmse", "--keep", "segment"],
            "error: --keep shows columns beside the rows that got worse",
        ),
    ],
)
def test_refusals_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    page = tmp_path / "refused.html"
    code, out, err = run(["report", *args, "-o", str(page), "-q"])
    assert code == 2 and out == ""
    assert err.startswith(message)
    assert "Traceback" not in err
    assert not page.exists()


def test_one_file_with_another_reduction_equals_eval(tmp_path: Path) -> None:
    page = tmp_path / "sum.html"
    args = [BASE, "-l", "mse,mae", "--reduction", "sum"]
    code, _, err = run(["report", *args, "-o", str(page), "-q"])
    assert code == 0, err
    code, text, _ = run(["eval", *args, "-f", "json", "-q"])
    assert embedded(page.read_text())["results"] == json.loads(text)["results"]


def test_no_row_got_worse_against_itself(tmp_path: Path) -> None:
    page = tmp_path / "same.html"
    code, _, err = run(["report", BASE, BASE, "-l", "mse", "--bootstrap", "0", "-o", str(page)])
    assert code == 0, err
    text = page.read_text()
    assert embedded(text)["worse_rows"] == [{"loss": "mse", "rows": []}]
    assert "No row&#x27;s loss rose." in text or "No row's loss rose." in text
    assert f"passed: {BASE} is no worse than {BASE}" in err
