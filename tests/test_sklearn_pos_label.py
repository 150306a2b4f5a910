"""``--convention sklearn``: brier_score_loss's positive class of a numeric target without
--pos-label (1 of {-1, 1}, else the greater of two labels; a lone 0 or -1 is negative), read
from the whole target column before the loss sees a row. Without the convention the target
must be 0/1, as before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli, stdin_bytes

from losscli.io.csv_reader import CSV_BLOCK

ROWS = 250_000  # > 2 CSV_BLOCK bytes of CSV: several record batches


def _value(out: str) -> float:
    (result,) = json.loads(out)["results"]
    return result["value"]


def sorted_labels(tmp_path, low: float, high: float):
    """A CSV whose first batch holds only ``low``: ``high`` comes after the first CSV_BLOCK."""
    rng = np.random.default_rng(3)
    y = np.where(np.arange(ROWS) < ROWS * 3 // 4, low, high)
    p = rng.uniform(0.0, 1.0, ROWS).round(6)
    path = tmp_path / "sorted.csv"
    lines = [f"{v:g},{q}" for v, q in zip(y, p)]
    path.write_text("y,pred\n" + "\n".join(lines) + "\n")
    assert path.stat().st_size > 2 * CSV_BLOCK
    assert len("\n".join(lines[: ROWS * 3 // 4])) > CSV_BLOCK  # the first batch: low only
    return path, y, p


@pytest.mark.parametrize(("low", "high"), [(1.0, 2.0), (-1.0, 1.0), (3.0, 5.0), (-1.0, 0.0)])
def test_the_positive_class_comes_from_the_whole_column(tmp_path, capsys, monkeypatch, low, high):
    path, y, p = sorted_labels(tmp_path, low, high)
    want = float(np.mean(((y == high).astype(float) - p) ** 2))
    sklearn = pytest.importorskip("sklearn.metrics")
    assert sklearn.brier_score_loss(y, p) == pytest.approx(want, rel=1e-12)
    code, out, err = cli(
        capsys, "eval", path, "-l", "brier", "--convention", "sklearn", "--format", "json"
    )
    assert code == 0, err
    assert _value(out) == pytest.approx(want, rel=1e-9)
    # stdin: the pass over the target column keeps the input for the evaluation pass
    stdin_bytes(monkeypatch, path.read_bytes())
    code, out, err = cli(
        capsys, "eval", "-", "-l", "brier", "--convention", "sklearn", "--format", "json"
    )
    assert code == 0, err
    assert _value(out) == pytest.approx(want, rel=1e-9)


def test_without_the_convention_the_target_must_be_0_1(tmp_path, capsys):
    path, _, _ = sorted_labels(tmp_path, 1.0, 2.0)
    code, _, err = cli(capsys, "eval", path, "-l", "brier", "--format", "json")
    assert code == 2 and "is not a 0/1 label" in err


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        ([-1, -1], 0.4**2),
        ([0, 0], 0.4**2),
        ([1, 1], 0.6**2),
        ([2, 2], 0.6**2),
        ([-1, 0], 0.6**2 / 2 + 0.4**2 / 2),
    ],
)
def test_a_lone_label_is_positive_unless_0_or_minus_1(tmp_path, capsys, labels, want):
    path = tmp_path / "one.csv"
    path.write_text("y,pred\n" + "".join(f"{v},0.4\n" for v in labels))
    code, out, err = cli(
        capsys, "eval", path, "-l", "brier", "--convention", "sklearn", "--format", "json"
    )
    assert code == 0, err
    assert _value(out) == pytest.approx(want)
    sklearn = pytest.importorskip("sklearn.metrics")
    assert sklearn.brier_score_loss(labels, [0.4] * len(labels)) == pytest.approx(want)


def test_pos_label_still_wins_and_text_labels_still_need_it(tmp_path, capsys):
    path = tmp_path / "two.csv"
    path.write_text("y,pred\n1,0.2\n2,0.7\n")
    code, out, _ = cli(
        capsys,
        "eval",
        path,
        "-l",
        "brier",
        "--convention",
        "sklearn",
        "--pos-label",
        "1",
        "--format",
        "json",
    )
    assert code == 0 and _value(out) == pytest.approx((0.8**2 + 0.7**2) / 2)
    text = tmp_path / "text.csv"
    text.write_text("y,pred\nno,0.2\nyes,0.7\n")
    code, _, err = cli(capsys, "eval", text, "-l", "brier", "--convention", "sklearn")
    assert code == 2 and "--pos-label" in err  # sklearn raises too: pos_label is not specified


def test_more_than_two_labels_are_still_refused(tmp_path, capsys):
    path = tmp_path / "three.csv"
    path.write_text("y,pred\n1,0.2\n2,0.7\n3,0.5\n")
    code, _, err = cli(capsys, "eval", path, "-l", "brier", "--convention", "sklearn")
    assert code == 2 and "is not a 0/1 label" in err
