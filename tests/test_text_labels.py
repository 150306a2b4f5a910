"""Binary targets written as text (cat/dog) or booleans (True/False): --pos-label names
the positive class as scikit-learn's pos_label does, True is positive by default, and
string labels map to prob_<class> columns by name (README, Columns)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import cli, first_error, values
from sklearn import metrics

LOSSES = "bce,brier,focal,hinge"


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, size=500)
    p = np.clip(rng.uniform(size=500) * 0.6 + y * 0.3, 0.01, 0.99).round(6)
    return y, p


def write(path: Path, labels, p) -> Path:
    path.write_text("y_true,y_pred\n" + "".join(f"{a},{b}\n" for a, b in zip(labels, p)))
    return path


def test_text_labels_with_pos_label_equal_0_1_labels_and_sklearn(capsys, tmp_path, data):
    y, p = data
    numeric = write(tmp_path / "num.csv", y, p)
    text = write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    expected = values(capsys, numeric, "--loss", LOSSES)
    assert values(capsys, text, "--loss", LOSSES, "--pos-label", "dog") == expected
    labels = np.where(y == 1, "dog", "cat")
    assert expected[0] == pytest.approx(
        metrics.log_loss(labels, p, labels=["cat", "dog"]), rel=1e-12
    )
    assert expected[1] == pytest.approx(
        metrics.brier_score_loss(labels, p, pos_label="dog"), rel=1e-12
    )
    # The other label as the positive class: the predictions are then P(cat).
    flipped = write(tmp_path / "flipped.csv", 1 - y, p)
    assert values(capsys, text, "--loss", LOSSES, "--pos-label", "cat") == values(
        capsys, flipped, "--loss", LOSSES
    )
    assert values(capsys, text, "--loss", "brier", "--pos-label", "cat") == [
        pytest.approx(metrics.brier_score_loss(labels, p, pos_label="cat"), rel=1e-12)
    ]


def test_a_text_target_without_pos_label_names_both_labels(capsys, tmp_path, data):
    y, p = data
    text = write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    for args in (["--loss", "bce"], []):
        code, _, err = cli(capsys, "eval", text, *args)
        assert code == 2
        lines = [line for line in err.splitlines() if not line.startswith("note:")]
        assert lines == [
            f"error: {text}: column 'y_true' holds the text labels 'cat', 'dog', and bce needs "
            "to know which one is the positive class",
            "hint: name it: --pos-label cat or --pos-label dog (as scikit-learn's pos_label)",
        ]


def test_inference_calls_two_text_labels_binary(capsys, tmp_path, data):
    y, p = data
    text = write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    numeric = write(tmp_path / "num.csv", y, p)
    code, out, err = cli(capsys, "eval", text, "--pos-label", "dog", "--format", "json")
    assert code == 0, err
    assert "evaluating bce,brier" in err
    assert [r["value"] for r in json.loads(out)["results"]] == values(capsys, numeric)


@pytest.mark.parametrize("spelling", [("True", "False"), ("true", "false"), ("TRUE", "FALSE")])
def test_csv_booleans_read_as_parquet_booleans(capsys, tmp_path, data, spelling):
    y, p = data
    csv = write(tmp_path / "b.csv", np.where(y == 1, *spelling), p)
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.table({"y_true": y.astype(bool), "y_pred": p}), parquet)
    numeric = write(tmp_path / "num.csv", y, p)
    expected = values(capsys, numeric, "--loss", LOSSES)
    assert values(capsys, csv, "--loss", LOSSES) == expected
    assert values(capsys, parquet, "--loss", LOSSES) == expected
    assert values(capsys, csv) == values(capsys, numeric)  # inferred: binary
    flipped = values(capsys, write(tmp_path / "f.csv", 1 - y, p), "--loss", LOSSES)
    assert values(capsys, csv, "--loss", LOSSES, "--pos-label", spelling[1]) == flipped
    assert values(capsys, parquet, "--loss", LOSSES, "--pos-label", "False") == flipped


def test_pos_label_on_numeric_labels(capsys, tmp_path, data):
    y, p = data
    ones_twos = write(tmp_path / "12.csv", y + 1, p)
    numeric = write(tmp_path / "num.csv", y, p)
    assert values(capsys, ones_twos, "--loss", "bce,brier", "--pos-label", "2") == values(
        capsys, numeric, "--loss", "bce,brier"
    )
    assert first_error(capsys, "eval", numeric, "--loss", "bce", "--pos-label", "dog") == (
        f"error: {numeric}: --pos-label 'dog' is not a label of column 'y_true', which holds numbers"
    )


def test_pos_label_must_name_a_label(capsys, tmp_path, data):
    y, p = data
    text = write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    assert first_error(capsys, "eval", text, "--loss", "bce", "--pos-label", "bird") == (
        f"error: {text}: --pos-label 'bird' is not a label of column 'y_true' "
        "(its labels are 'cat', 'dog')"
    )


def test_three_text_labels_and_one_prediction_column(capsys, tmp_path, data):
    y, p = data
    labels = np.where(y == 1, "dog", "cat").astype(object)
    labels[3] = "bird"
    text = write(tmp_path / "text.csv", labels, p)
    assert first_error(capsys, "eval", text, "--loss", "bce", "--pos-label", "dog") == (
        f"error: {text}: column 'y_true' holds more than two labels ('bird', 'cat', 'dog'), "
        "but the predictions of bce are one column"
    )


def test_string_labels_map_to_class_columns_by_name(capsys, tmp_path, data):
    y, p = data
    path = tmp_path / "k.csv"
    labels = np.where(y == 1, "dog", "cat")
    # Columns in the other order than the sorted labels: the names decide, not the order.
    path.write_text(
        "y_true,prob_dog,prob_cat\n" + "".join(f"{a},{b},{1 - b:.6f}\n" for a, b in zip(labels, p))
    )
    proba = np.column_stack([1 - p.round(6), p]).round(6)
    got = values(capsys, path, "--loss", "cross_entropy")
    assert got == [pytest.approx(metrics.log_loss(labels, proba, labels=["cat", "dog"]), rel=1e-9)]
    assert first_error(capsys, "eval", path, "--loss", "cross_entropy", "--pos-label", "dog") == (
        "error: --pos-label names the positive class of a binary target; cross_entropy reads "
        "one prediction column per class (dog, cat)"
    )


def test_check_reads_the_pos_label_key(capsys, tmp_path, data):
    y, p = data
    write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    numeric = write(tmp_path / "num.csv", y, p)
    config = tmp_path / "losscli.toml"
    config.write_text(
        '[[check]]\nfile = "text.csv"\nloss = "bce"\npos_label = "dog"\nfail_above = 5.0\n'
    )
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 0, err
    got = json.loads(out)["checks"][0]["results"][0]["value"]
    assert got == values(capsys, numeric, "--loss", "bce")[0]


def test_recommend_commands_read_the_file_as_recommend_did(capsys, tmp_path, data):
    y, p = data
    text = write(tmp_path / "text.csv", np.where(y == 1, "dog", "cat"), p)
    code, out, err = cli(capsys, "recommend", text, "--pos-label", "dog", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "binary"
    commands = [r["command"] for r in doc["recommendations"]]
    assert commands and all(c.endswith(" --pos-label dog") for c in commands)
    code, out, err = cli(capsys, *commands[0].split()[1:], "--format", "json")
    assert code == 0, err


def test_pos_label_is_never_silently_ignored(capsys, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("d_ap,d_an\n0.2,0.9\n0.5,0.4\n")
    code, _, err = cli(capsys, "eval", path, "--loss", "triplet", "--pos-label", "1")
    assert code == 2
    assert err.splitlines() == [
        "error: --pos-label names the positive class of a target; triplet reads none"
    ]
    regression = tmp_path / "r.csv"
    regression.write_text("y_true,y_pred\n1.5,2\n2.5,2\n3.5,3\n")
    assert first_error(capsys, "eval", regression, "--loss", "mse", "--pos-label", "1.5") == (
        f"error: {regression}: --pos-label needs a binary target; column 'y_true' holds more "
        "than two values (1.5, 2.5, 3.5)"
    )
