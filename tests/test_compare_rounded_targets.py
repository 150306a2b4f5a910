"""Targets that differ only by rounding (a float32 re-export) are said to be rounded, with
the fix, instead of the --key hint, which cannot help."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers import cli


def test_float32_targets_are_named_as_rounded(capsys, tmp_path):
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    base = pd.DataFrame({"y_true": y, "y_pred": y + rng.normal(scale=0.3, size=200)})
    base.to_csv(tmp_path / "base.csv", index=False)
    base.astype("float32").to_parquet(tmp_path / "f32.parquet")
    code, _, err = cli(
        capsys, "compare", tmp_path / "base.csv", tmp_path / "f32.parquet", "--loss", "mse"
    )
    assert code == 2
    first, hint = err.splitlines()[:2]
    assert (
        "do not hold the same targets" in first
        and "as when one file's targets were rounded" in first
    )
    assert (
        hint
        == "hint: write the targets of both files at full precision (float64, to_csv without float_format)"
    )
    other = base.copy()
    other.loc[5, "y_true"] += 1.0
    other.to_csv(tmp_path / "other.csv", index=False)
    code, _, err = cli(
        capsys, "compare", tmp_path / "base.csv", tmp_path / "other.csv", "--loss", "mse"
    )
    assert code == 2 and "rounded" not in err and "first at row 5" in err
