"""``--group`` works on any column: the target (0/1 or real), a prediction, the weight."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import cli

FRAME = pd.DataFrame(
    {
        "y": [0, 1, 0, 1, 1],
        "pred": [0.2, 0.9, 0.3, 0.6, 0.9],
        "w": [1.0, 2.0, 1.0, 2.0, 0.5],
        "t": [1.5, 2.5, 1.5, 0.25, 2.5],
    }
)


def bce(y, p, w=None):
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.average(losses, weights=w))


def write(tmp_path, fmt):
    path = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        FRAME.to_csv(path, index=False)
    else:
        FRAME.to_parquet(path)
    return path


def groups(out):
    doc = json.loads(out)
    return {r["group"]: (r["n"], r["value"]) for r in doc["results"] if r["group"] is not None}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("column", "weighted"), [("y", False), ("pred", False), ("w", True), ("y", True)]
)
def test_group_by_a_column_the_loss_reads(tmp_path, capsys, fmt, column, weighted):
    path = write(tmp_path, fmt)
    extra = ["--weight", "w"] if weighted else []
    code, out, err = cli(
        capsys, "eval", path, "-l", "bce", "--group", column, *extra, "--format", "json"
    )
    assert code == 0, err
    got = groups(out)
    expected = {}
    for value, part in FRAME.groupby(column):
        name = str(int(value)) if float(value).is_integer() else repr(float(value))
        w = part["w"] if weighted else None
        expected[name] = (len(part), bce(part["y"], part["pred"], w))
    assert got.keys() == expected.keys()
    for name, (n, value) in expected.items():
        assert got[name][0] == n and got[name][1] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_group_by_a_regression_target(tmp_path, capsys, fmt):
    path = write(tmp_path, fmt)
    code, out, err = cli(
        capsys, "eval", path, "-l", "mse", "--target", "t", "--group", "t", "--format", "json"
    )
    assert code == 0, err
    got = groups(out)
    for value, part in FRAME.groupby("t"):
        mse = float(np.mean((part["t"] - part["pred"]) ** 2))
        assert got[repr(float(value))] == (len(part), pytest.approx(mse, rel=1e-12))


def test_group_by_the_target_with_an_inferred_task(tmp_path, capsys):
    path = write(tmp_path, "csv")
    code, out, err = cli(capsys, "eval", path, "--group", "y", "--format", "json", "-q")
    assert code == 0, err
    got = groups(out)
    assert {g for g in got} == {"0", "1"}
    assert got["1"][0] == 3
