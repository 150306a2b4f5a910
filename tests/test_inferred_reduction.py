"""A reduction given without --loss: the inferred losses that do not define it are left
out with a note (rmse has no sum, median or per-row value), not blamed in an error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli

ROOT = Path(__file__).resolve().parents[1]
REG = str(ROOT / "sample_data" / "regression.csv")


@pytest.mark.parametrize("reduction", ["sum", "median", "p95", "max"])
def test_eval_leaves_rmse_out_of_the_inferred_losses(capsys, reduction):
    code, out, err = cli(capsys, "eval", REG, "--reduction", reduction, "--format", "json")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("note: inferred task: regression")
    assert lines[1] == (
        f"note: --reduction {reduction}: rmse left out of the inferred losses (not defined for it)"
    )
    doc = json.loads(out)
    assert [r["loss"] for r in doc["results"]] == ["mse", "mae", "huber"]
    df = pd.read_csv(REG)
    sq = (df["y_true"] - df["y_pred"]) ** 2
    expected = {
        "sum": sq.sum(),
        "median": sq.median(),
        "p95": np.quantile(sq, 0.95),
        "max": sq.max(),
    }
    assert doc["results"][0]["value"] == pytest.approx(expected[reduction], rel=1e-12)


def test_per_row_losses_without_loss(capsys):
    code, out, err = cli(capsys, "eval", REG, "--reduction", "none")
    assert code == 0, err
    assert out.splitlines()[0] == "row,mse,mae,huber"
    assert "rmse left out of the inferred losses" in err


def test_a_named_loss_is_still_refused(capsys):
    code, _, err = cli(capsys, "eval", REG, "--loss", "rmse", "--reduction", "sum")
    assert code == 2 and err.startswith("error: rmse has no reduction 'sum'")


def test_report_of_two_files_with_a_median(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    worse = str(ROOT / "sample_data" / "regression_worse.csv")
    page = tmp_path / "r.html"
    args = ["report", REG, worse, "--reduction", "median", "--bootstrap", "0", "-o", page]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    assert "rmse left out of the inferred losses" in err
