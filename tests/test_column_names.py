"""Column names: case-insensitive did-you-mean, ``yhat`` as a default prediction name,
``p0..pK`` (digits without "_") as a column family."""

from __future__ import annotations

import json
import math

import pytest
from helpers import cli, error_lines


@pytest.mark.parametrize(
    ("option", "given", "meant"),
    [
        ("--pred", "YHAT", "yhat"),
        ("--target", "Y_TRUE", "y_true"),
        ("--weight", "Weight", "weight"),
        ("--group", "SEGMENT", "segment"),
        ("--pred", "YHat2", "yhat"),
    ],
)
def test_did_you_mean_ignores_case(tmp_path, capsys, option, given, meant):
    path = tmp_path / "in.csv"
    path.write_text("y_true,yhat,weight,segment\n1,1.5,1,a\n2,2.5,1,b\n")
    line, hint = error_lines(*cli(capsys, "eval", path, "-l", "mse", option, given))
    assert f"{option} '{given}': no such column" in line
    assert hint == f"hint: did you mean {meant}?"


def test_key_did_you_mean(tmp_path, capsys):
    preds, targets = tmp_path / "p.csv", tmp_path / "t.csv"
    preds.write_text("id,yhat\n1,1.5\n2,2.5\n")
    targets.write_text("id,y\n1,1\n2,2\n")
    line, hint = error_lines(
        *cli(capsys, "eval", preds, "-l", "mse", "--targets", targets, "--key", "ID")
    )
    assert "no --key column 'ID'" in line and hint.startswith("hint: did you mean id?")


def test_yhat_is_a_default_prediction_name(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("y,yhat,score\n1,1.5,9\n2,2.5,9\n")  # yhat comes before score
    code, out, err = cli(capsys, "eval", path, "-l", "mse", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["input"]["predictions"] == ["yhat"]
    assert doc["results"][0]["value"] == pytest.approx(0.25)


def test_y_hat_still_comes_before_yhat(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("y,yhat,y_hat\n1,1.5,1\n2,2.5,2\n")
    code, out, err = cli(capsys, "eval", path, "-l", "mse", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["input"]["predictions"] == ["y_hat"]


def test_p0_p1_is_a_family(tmp_path, capsys):
    path = tmp_path / "in.csv"
    rows = "".join(f"{i % 3},0.1,0.7,0.2\n" for i in range(6))  # p2, p0, p1
    path.write_text("label,p2,p0,p1\n" + rows)  # out of order: sorted by their digits
    code, out, err = cli(capsys, "eval", path, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["input"]["task"] == "multiclass"
    assert doc["input"]["predictions"] == ["p0", "p1", "p2"]
    # labels 0, 1, 2 against p0 = 0.7, p1 = 0.2, p2 = 0.1
    expected = -(math.log(0.7) + math.log(0.2) + math.log(0.1)) / 3
    assert doc["results"][0]["value"] == pytest.approx(expected, rel=1e-12)


def test_y0_p0_multilabel_pairs_by_digit(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("y1,y0,p0,p1\n1,0,0.2,0.7\n0,1,0.9,0.1\n")
    code, out, err = cli(capsys, "eval", path, "-l", "bce", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["input"]["target"] == ["y0", "y1"] and doc["input"]["predictions"] == ["p0", "p1"]
