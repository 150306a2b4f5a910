"""The Python API's type seams: a str where a column list is accepted is one column.

``evaluate_file(path, "mse", pred="yhat")`` reads the column ``yhat``, not ``y``, ``h``,
``a``, ``t``; ``fail_above="mse=1"`` is one threshold; a DataFrame passed as the path is a
``TypeError`` naming the array API.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import losscli

T = [1.0, 2.0, 3.0, 4.0]
TT = [0.0, 2.5, 3.0, 5.0]
YHAT = [1.5, 2.0, 2.0, 4.25]


@pytest.fixture
def path(tmp_path) -> str:
    """Columns t and tt: a target 'tt' read as its characters would silently be 't'."""
    file = tmp_path / "preds.csv"
    lines = ["t,tt,yhat,w", *(f"{a},{b},{c},1" for a, b, c in zip(T, TT, YHAT))]
    file.write_text("\n".join(lines) + "\n")
    return str(file)


def mse(y, p) -> float:
    return sum((b - a) ** 2 for a, b in zip(y, p)) / len(y)


def test_a_str_target_and_pred_are_one_column_each(path):
    doc = losscli.evaluate_file(path, "mse", target="tt", pred="yhat")
    assert doc["input"]["target"] == ["tt"] and doc["input"]["predictions"] == ["yhat"]
    assert doc["results"][0]["value"] == pytest.approx(mse(TT, YHAT), rel=1e-15)
    listed = losscli.evaluate_file(path, "mse", target=["tt"], pred=["yhat"])
    assert listed["results"] == doc["results"]


def test_a_str_fail_above_is_one_threshold(path):
    doc = losscli.evaluate_file(path, "mse", target="tt", pred="yhat", fail_above="mse=1")
    assert doc["checks"] == [
        {"loss": "mse", "fail_above": 1.0, "value": doc["results"][0]["value"], "passed": False}
    ]
    assert not doc["passed"]
    by_number = losscli.evaluate_file(path, "mse", target="tt", pred="yhat", fail_above=1)
    by_mapping = losscli.evaluate_file(path, "mse", target="tt", pred="yhat", fail_above={"mse": 1})
    assert by_number["checks"] == by_mapping["checks"] == doc["checks"]


def test_a_list_of_losses_is_a_comma_list(path):
    doc = losscli.evaluate_file(path, ["mse", "mae"], target="tt", pred="yhat")
    assert [r["loss"] for r in doc["results"]] == ["mse", "mae"]


def test_a_path_object_is_a_path(path):
    doc = losscli.evaluate_file(Path(path), "mse", target="tt", pred="yhat")
    assert doc["results"][0]["value"] == pytest.approx(mse(TT, YHAT), rel=1e-15)


@pytest.mark.parametrize("function", ["evaluate_file", "write_rows", "write_gradients"])
def test_a_dataframe_as_the_path_names_the_array_api(path, function):
    import pandas as pd

    frame = pd.read_csv(path)
    with pytest.raises(TypeError, match=r"losscli\.evaluate\(y_true, y_pred, loss\)") as info:
        getattr(losscli, function)(frame, "mse")
    assert f"{function}() reads a file" in str(info.value) and "DataFrame" in str(info.value)
    assert "losscli.evaluate_frame(df, loss" in str(info.value)


def test_write_rows_and_gradients_take_str_columns(path, tmp_path):
    rows, grads = tmp_path / "rows.jsonl", tmp_path / "grads.csv"
    losscli.write_rows(path, "mse", str(rows), target="tt", pred="yhat", weight="w")
    records = [json.loads(x) for x in rows.read_text().splitlines()]
    assert [r["mse"] for r in records] == [(b - a) ** 2 for a, b in zip(TT, YHAT)]
    losscli.write_gradients(path, "mse", str(grads), target="tt", pred="yhat")
    got = [float(r["grad_yhat"]) for r in csv.DictReader(open(grads))]
    assert got == pytest.approx([2 * (b - a) / 4 for a, b in zip(TT, YHAT)], rel=1e-15)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("weight", ["w", "t"]), ("target", 3), ("fail_above", object())],
)
def test_a_wrong_type_is_a_type_error_naming_the_argument(path, argument, value):
    with pytest.raises(TypeError, match=argument):
        losscli.evaluate_file(path, "mse", pred="yhat", **{argument: value})


def test_loss_parameters_as_keywords_of_the_file_and_frame_functions(path, tmp_path):
    import pandas as pd

    from losscli.errors import UsageError

    def huber(y, p, d):
        r = [abs(b - a) for a, b in zip(y, p)]
        return sum(0.5 * x * x if x <= d else d * (x - 0.5 * d) for x in r) / len(r)

    expected = huber(T, YHAT, 0.5)
    doc = losscli.evaluate_file(path, "huber", target="t", pred="yhat", delta=0.5)
    assert doc["results"][0]["value"] == pytest.approx(expected, rel=1e-15)
    frame = pd.read_csv(path)
    table = losscli.evaluate_frame(frame, "huber", target="t", pred="yhat", delta=0.5)
    assert table["value"].iloc[0] == pytest.approx(expected, rel=1e-15)
    rows = tmp_path / "rows.csv"
    losscli.write_rows(path, "huber", rows, target="t", pred="yhat", delta=0.5)
    assert list(csv.DictReader(rows.open()))[0]["huber"] == "0.125"  # |1.5 - 1| = 0.5 ≤ δ
    with pytest.raises(UsageError, match="delta given both as a keyword and in params="):
        losscli.evaluate_file(
            path, "huber", target="t", pred="yhat", delta=0.5, params={"delta": 1}
        )
    with pytest.raises(UsageError, match="no selected loss takes the parameter 'wieght'"):
        losscli.evaluate_file(path, "mse", target="t", pred="yhat", wieght="w")
