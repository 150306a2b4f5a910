"""Every registered loss is reachable from ``eval`` and ``grad`` on a file, and the
file-level value and gradients equal the Python API's on the same arrays."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from cases import CASES
from helpers import case_args, case_columns

import losscli
from losscli.cli.commands import run

NAMES = losscli.available_losses()


def _write(path, cols):
    names = list(cols)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for i in range(len(next(iter(cols.values())))):
            writer.writerow([repr(float(cols[n][i])) for n in names])


PARAMS = [
    pytest.param(name, i, id=f"{name}-{i}")
    for name in NAMES
    for i in range(len(CASES.get(name, [])))
]


@pytest.mark.parametrize(("name", "index"), PARAMS)
def test_file_value_and_gradient_equal_the_api(name, index, tmp_path, capsys):
    rng = np.random.default_rng(99)
    case = CASES[name][index](rng, 40)
    cols, target, inputs = case_columns(case)
    path = tmp_path / "data.csv"
    _write(path, cols)
    args = case_args(case, target, inputs)

    assert run(["eval", str(path), *args, "--format", "json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    expected = losscli.evaluate(
        case.y, case.y_pred, case.loss, from_logits=case.from_logits, **case.params
    )
    assert doc["results"][0]["value"] == pytest.approx(expected, rel=1e-12, abs=1e-300)

    assert run(["grad", str(path), *args, "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out[0].split(",")
    table = np.array([[float(v) for v in line.split(",")] for line in out[1:]])
    assert header[0] == "row" and list(table[:, 0]) == list(range(40))
    grads = losscli.gradient(
        case.y, case.y_pred, case.loss, from_logits=case.from_logits, **case.params
    )
    grads = grads if isinstance(grads, tuple) else (grads,)
    expected_cols = np.column_stack([g if g.ndim == 2 else g[:, None] for g in grads])
    assert header[1:] == [f"grad_{c}" for cols_ in inputs for c in cols_]
    np.testing.assert_allclose(table[:, 1:], expected_cols, rtol=1e-12, atol=1e-300)
