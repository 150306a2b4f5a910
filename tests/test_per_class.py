"""eval --per-class: class rows against independent numpy/scikit-learn computations,
their recombination into the overall value, every output format, --group, and errors."""

from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

import helpers
import numpy as np
import pytest
from helpers import SAMPLES, cli
from sklearn.metrics import log_loss, mean_squared_error

eval_json = partial(helpers.eval_json, quiet=True)

EPS = 1e-7
MULTICLASS = SAMPLES / "multiclass.csv"
TWO_OUTPUTS = ("--target", "y_a,y_b", "--pred", "p_*")  # the columns of two_outputs


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """A CSV's columns: numbers as float arrays, anything else as strings."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    out = {}
    for j, name in enumerate(rows[0]):
        cells = [r[j] for r in rows[1:]]
        try:
            out[name] = np.array([float(c) for c in cells])
        except ValueError:
            out[name] = np.array(cells)
    return out


def write_csv(path: Path, **columns) -> Path:
    names = list(columns)
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in zip(*columns.values()):
            fh.write(",".join(v if isinstance(v, str) else repr(float(v)) for v in row) + "\n")
    return path


def rows_of(doc: dict, loss: str, group=None) -> tuple[dict, dict[str, dict]]:
    """The (loss, group) row and its class rows by class name."""
    mine = [r for r in doc["results"] if r["loss"] == loss and r["group"] == group]
    overall = next(r for r in mine if r["class"] is None)
    return overall, {r["class"]: r for r in mine if r["class"] is not None}


# --- independent references -------------------------------------------------------------


def multiclass_sample():
    data = read_columns(MULTICLASS)
    names = ["cat", "dog", "bird"]
    p = np.column_stack([data[f"prob_{c}"] for c in names])
    y = np.array([names.index(v) for v in data["label"]])
    return names, y, p


def cross_entropy_rows(y, p):
    return -np.log(np.clip(p[np.arange(len(y)), y], EPS, 1 - EPS))


def overlap_scores(y, p, kind, smooth=1e-6, alpha=0.5, beta=0.5):
    """Per-class score from the class's global sums (y one-hot, p probabilities)."""
    tp, sy, sp = (y * p).sum(0), y.sum(0), p.sum(0)
    if kind == "dice":
        return (2 * tp + smooth) / (sy + sp + smooth)
    if kind == "iou":
        return (tp + smooth) / (sy + sp - tp + smooth)
    return (tp + smooth) / (tp + alpha * (sp - tp) + beta * (sy - tp) + smooth)


# --- class values and recombination ------------------------------------------------------


def test_cross_entropy_class_rows_are_the_mean_loss_of_each_true_class(capsys):
    names, y, p = multiclass_sample()
    doc = eval_json(capsys, MULTICLASS, "--loss", "cross_entropy", "--per-class")
    overall, classes = rows_of(doc, "cross_entropy")
    losses = cross_entropy_rows(y, p)
    assert list(classes) == names
    for c, name in enumerate(names):
        assert classes[name]["n"] == int(np.sum(y == c))
        assert classes[name]["value"] == pytest.approx(losses[y == c].mean(), rel=1e-12)
        # scikit-learn's log loss of the class's rows (its clipping does not bite here)
        ref = log_loss(y[y == c], p[y == c], labels=[0, 1, 2])
        assert classes[name]["value"] == pytest.approx(ref, rel=1e-9)
    assert overall["value"] == pytest.approx(losses.mean(), rel=1e-12)


def test_class_rows_recombine_to_the_overall_value_by_class_counts(capsys):
    """The 'done' criterion: a mean over rows is the count-weighted mean of its class rows."""
    doc = eval_json(capsys, MULTICLASS, "--loss", "cross_entropy,focal", "--per-class")
    for loss in ("cross_entropy", "focal"):
        overall, classes = rows_of(doc, loss)
        n = np.array([r["n"] for r in classes.values()])
        values = np.array([r["value"] for r in classes.values()])
        assert n.sum() == overall["n"]
        assert np.sum(n * values) / n.sum() == pytest.approx(overall["value"], rel=1e-12)


def test_focal_class_rows_match_numpy(capsys):
    names, y, p = multiclass_sample()
    doc = eval_json(capsys, MULTICLASS, "--loss", "focal", "--gamma", "3", "--per-class")
    _, classes = rows_of(doc, "focal")
    py = np.clip(p[np.arange(len(y)), y], EPS, 1 - EPS)
    losses = -((1 - py) ** 3) * np.log(py)
    for c, name in enumerate(names):
        assert classes[name]["value"] == pytest.approx(losses[y == c].mean(), rel=1e-9)


def test_weighted_class_rows_recombine_by_the_classes_weight_sums(tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 300
    logits = rng.normal(size=(n, 4))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 4, n)
    w = rng.uniform(0, 3, n)
    path = write_csv(
        tmp_path / "w.csv", y_true=y, **{f"p_{k}": p[:, k] for k in range(4)}, weight=w
    )
    data = read_columns(path)  # the numbers as written
    p = np.column_stack([data[f"p_{k}"] for k in range(4)])
    w = data["weight"]
    doc = eval_json(capsys, path, "--loss", "cross_entropy", "--weight", "weight", "--per-class")
    overall, classes = rows_of(doc, "cross_entropy")
    losses = cross_entropy_rows(y, p)
    big_w = np.array([w[y == c].sum() for c in range(4)])
    for c in range(4):
        ref = np.sum(w[y == c] * losses[y == c]) / big_w[c]
        assert classes[str(c)]["value"] == pytest.approx(ref, rel=1e-12)
    values = np.array([classes[str(c)]["value"] for c in range(4)])
    assert np.sum(big_w * values) / big_w.sum() == pytest.approx(overall["value"], rel=1e-12)


def test_reduction_sum_class_rows_add_up_to_the_sum(capsys):
    doc = eval_json(
        capsys, MULTICLASS, "--loss", "cross_entropy", "--per-class", "--reduction", "sum"
    )
    overall, classes = rows_of(doc, "cross_entropy")
    assert sum(r["value"] for r in classes.values()) == pytest.approx(overall["value"], rel=1e-12)
    assert "Σ_c J_c" in doc["per_class"][0]["combine"]


def test_perplexity_class_rows_recombine_through_their_logs(capsys):
    doc = eval_json(
        capsys,
        SAMPLES / "sequence.csv",
        "--loss",
        "cross_entropy,perplexity",
        "--from-logits",
        "--per-class",
    )
    overall, classes = rows_of(doc, "perplexity")
    _, ce = rows_of(doc, "cross_entropy")
    n = np.array([r["n"] for r in classes.values()])
    logs = np.log([r["value"] for r in classes.values()])
    assert np.exp(np.sum(n * logs) / n.sum()) == pytest.approx(overall["value"], rel=1e-12)
    for name, row in classes.items():
        assert row["value"] == pytest.approx(np.exp(ce[name]["value"]), rel=1e-12)
    assert doc["per_class"][1]["combine"].startswith("log J =")


def test_ignored_rows_belong_to_no_class(tmp_path, capsys):
    rng = np.random.default_rng(8)
    n = 200
    logp = np.log(rng.dirichlet(np.ones(3), n))
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    y = rng.integers(0, 3, n).astype(float)
    y[::7] = -100
    path = write_csv(tmp_path / "nll.csv", y_true=y, **{f"logp_{k}": logp[:, k] for k in range(3)})
    logp = np.column_stack([read_columns(path)[f"logp_{k}"] for k in range(3)])
    doc = eval_json(capsys, path, "--loss", "nll", "--ignore-index", "-100", "--per-class")
    overall, classes = rows_of(doc, "nll")
    for c in range(3):
        rows = y == c
        assert classes[str(c)]["n"] == int(rows.sum())
        ref = -logp[rows, c].mean()
        assert classes[str(c)]["value"] == pytest.approx(ref, rel=1e-12)
    counts = np.array([classes[str(c)]["n"] for c in range(3)])
    values = np.array([classes[str(c)]["value"] for c in range(3)])
    assert counts.sum() == n - np.sum(y == -100)
    assert np.sum(counts * values) / counts.sum() == pytest.approx(overall["value"], rel=1e-12)


def test_one_hot_target_columns_split_by_their_hot_column(tmp_path, capsys):
    rng = np.random.default_rng(2)
    n = 120
    p = rng.dirichlet(np.ones(3), n)
    y = rng.integers(0, 3, n)
    onehot = np.eye(3)[y]
    path = write_csv(
        tmp_path / "oh.csv",
        **{f"y_{k}": onehot[:, k] for k in range(3)},
        **{f"p_{k}": p[:, k] for k in range(3)},
    )
    p = np.column_stack([read_columns(path)[f"p_{k}"] for k in range(3)])
    doc = eval_json(
        capsys, path, "--loss", "cross_entropy", "--target", "y_*", "--pred", "p_*", "--per-class"
    )
    _, classes = rows_of(doc, "cross_entropy")
    losses = cross_entropy_rows(y, p)
    for c in range(3):
        assert classes[str(c)]["value"] == pytest.approx(losses[y == c].mean(), rel=1e-12)


def test_binary_bce_splits_by_true_class_0_and_1(capsys):
    data = read_columns(SAMPLES / "binary.csv")
    y, p = data["y_true"], np.clip(data["y_pred"], EPS, 1 - EPS)
    doc = eval_json(capsys, SAMPLES / "binary.csv", "--loss", "bce", "--per-class")
    overall, classes = rows_of(doc, "bce")
    assert list(classes) == ["0", "1"]
    assert classes["1"]["value"] == pytest.approx(-np.log(p[y == 1]).mean(), rel=1e-12)
    assert classes["0"]["value"] == pytest.approx(-np.log1p(-p[y == 0]).mean(), rel=1e-12)
    n = np.array([classes[c]["n"] for c in "01"])
    v = np.array([classes[c]["value"] for c in "01"])
    assert np.sum(n * v) / n.sum() == pytest.approx(overall["value"], rel=1e-12)


def test_multilabel_bce_splits_per_label_and_averages_over_labels(capsys):
    data = read_columns(SAMPLES / "multilabel.csv")
    labels = ["action", "comedy", "drama"]
    doc = eval_json(
        capsys,
        SAMPLES / "multilabel.csv",
        "--loss",
        "bce,brier",
        "--target",
        "y_*",
        "--pred",
        "p_*",
        "--per-class",
    )
    for loss in ("bce", "brier"):
        overall, classes = rows_of(doc, loss)
        assert list(classes) == labels
        for name in labels:
            y, p = data[f"y_{name}"], data[f"p_{name}"]
            if loss == "bce":
                ref = log_loss(y, p)  # the sample's probabilities are inside [eps, 1 - eps]
            else:
                ref = np.mean((p - y) ** 2)
            assert classes[name]["value"] == pytest.approx(ref, rel=1e-9)
            assert classes[name]["n"] == overall["n"]
        mean = np.mean([classes[c]["value"] for c in labels])
        assert mean == pytest.approx(overall["value"], rel=1e-12)
    assert doc["per_class"][0]["by"] == "output column"


@pytest.fixture
def two_outputs(tmp_path):
    rng = np.random.default_rng(6)
    n = 250
    y = rng.normal(size=(n, 2)) * [1.0, 5.0]
    p = y + rng.normal(size=(n, 2)) * [0.5, 2.0]
    g = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    path = write_csv(tmp_path / "two.csv", y_a=y[:, 0], y_b=y[:, 1], p_a=p[:, 0], p_b=p[:, 1], g=g)
    data = read_columns(path)
    y = np.column_stack([data["y_a"], data["y_b"]])
    p = np.column_stack([data["p_a"], data["p_b"]])
    return path, y, p, g


def test_regression_losses_split_per_output_column(two_outputs, capsys):
    path, y, p, _ = two_outputs
    doc = eval_json(capsys, path, "--loss", "mse,rmse,mae", *TWO_OUTPUTS, "--per-class")
    raw = mean_squared_error(y, p, multioutput="raw_values")
    mse, mse_classes = rows_of(doc, "mse")
    rmse, rmse_classes = rows_of(doc, "rmse")
    _, mae_classes = rows_of(doc, "mae")
    assert list(mse_classes) == ["a", "b"]
    for j, name in enumerate("ab"):
        assert mse_classes[name]["value"] == pytest.approx(raw[j], rel=1e-12)
        assert rmse_classes[name]["value"] == pytest.approx(np.sqrt(raw[j]), rel=1e-12)
        assert mae_classes[name]["value"] == pytest.approx(np.abs(p - y)[:, j].mean(), rel=1e-12)
    assert np.mean([r["value"] for r in mse_classes.values()]) == pytest.approx(mse["value"])
    # rmse: the squares recombine
    squares = np.mean([r["value"] ** 2 for r in rmse_classes.values()])
    assert np.sqrt(squares) == pytest.approx(rmse["value"], rel=1e-12)
    assert doc["per_class"][1]["combine"].startswith("J² =")


def test_regression_columns_within_groups(two_outputs, capsys):
    path, y, p, g = two_outputs
    doc = eval_json(capsys, path, "--loss", "huber", *TWO_OUTPUTS, "--per-class", "--group", "g")
    e = np.abs(p - y)
    huber = np.where(e <= 1, 0.5 * e**2, e - 0.5)
    for name in "abc":
        _, classes = rows_of(doc, "huber", name)
        for j, col in enumerate("ab"):
            ref = huber[g == name, j].mean()
            assert classes[col]["value"] == pytest.approx(ref, rel=1e-12)
            assert classes[col]["n"] == int(np.sum(g == name))


@pytest.mark.parametrize("loss", ["dice", "iou", "tversky"])
def test_overlap_class_rows_are_each_class_ratio_and_average_to_the_overall(loss, capsys):
    data = read_columns(SAMPLES / "segmentation_multiclass.csv")
    p = np.column_stack([data[f"p_{k}"] for k in range(3)])
    y = np.eye(3)[data["y_true"].astype(int)]
    args = ["--alpha", "0.3", "--beta", "0.7"] if loss == "tversky" else []
    doc = eval_json(
        capsys, SAMPLES / "segmentation_multiclass.csv", "--loss", loss, "--per-class", *args
    )
    overall, classes = rows_of(doc, loss)
    kw = {"alpha": 0.3, "beta": 0.7} if loss == "tversky" else {}
    ref = 1 - overlap_scores(y, p, loss, **kw)
    assert [classes[str(c)]["value"] for c in range(3)] == pytest.approx(ref, rel=1e-12)
    assert np.mean(ref) == pytest.approx(overall["value"], rel=1e-12)
    assert all(r["n"] == len(y) for r in classes.values())


def test_overlap_classes_within_each_image(capsys):
    data = read_columns(SAMPLES / "segmentation_multiclass.csv")
    p = np.column_stack([data[f"p_{k}"] for k in range(3)])
    y = np.eye(3)[data["y_true"].astype(int)]
    images = data["image_id"]
    doc = eval_json(
        capsys,
        SAMPLES / "segmentation_multiclass.csv",
        "--loss",
        "dice",
        "--per-class",
        "--group",
        "image_id",
    )
    for image in np.unique(images):
        rows = images == image
        overall, classes = rows_of(doc, "dice", str(image))
        ref = 1 - overlap_scores(y[rows], p[rows], "dice")
        assert [classes[str(c)]["value"] for c in range(3)] == pytest.approx(ref, rel=1e-12)
        assert np.mean(ref) == pytest.approx(overall["value"], rel=1e-12)


def test_binary_mask_is_one_class_equal_to_the_overall(capsys):
    doc = eval_json(
        capsys,
        SAMPLES / "segmentation.csv",
        "--loss",
        "dice,iou",
        "--per-class",
        "--group",
        "image_id",
    )
    for r in doc["results"]:
        if r["class"] is None:
            _, classes = rows_of(doc, r["loss"], r["group"])
            assert list(classes) == ["1"]
            assert classes["1"]["value"] == pytest.approx(r["value"], rel=1e-15)


def test_class_rows_within_groups_match_numpy_and_skip_absent_classes(tmp_path, capsys):
    rng = np.random.default_rng(12)
    n = 90
    p = rng.dirichlet(np.ones(3), n)
    y = rng.integers(0, 3, n)
    g = np.where(np.arange(n) < 30, "first", "second")
    y[:30] = np.where(y[:30] == 2, 0, y[:30])  # class 2 is absent from group "first"
    path = write_csv(tmp_path / "g.csv", y_true=y, **{f"p_{k}": p[:, k] for k in range(3)}, g=g)
    p = np.column_stack([read_columns(path)[f"p_{k}"] for k in range(3)])
    doc = eval_json(capsys, path, "--loss", "cross_entropy", "--per-class", "--group", "g")
    losses = cross_entropy_rows(y, p)
    keys = [(r["group"], r["class"]) for r in doc["results"]]
    assert keys == [
        (None, None),
        (None, "0"),
        (None, "1"),
        (None, "2"),
        ("first", None),
        ("first", "0"),
        ("first", "1"),
        ("second", None),
        ("second", "0"),
        ("second", "1"),
        ("second", "2"),
    ]
    for name in ("first", "second"):
        overall, classes = rows_of(doc, "cross_entropy", name)
        for c, row in classes.items():
            rows = (g == name) & (y == int(c))
            assert row["value"] == pytest.approx(losses[rows].mean(), rel=1e-12)
            assert row["n"] == int(rows.sum())
        n_c = np.array([r["n"] for r in classes.values()])
        v = np.array([r["value"] for r in classes.values()])
        assert np.sum(n_c * v) / n_c.sum() == pytest.approx(overall["value"], rel=1e-12)


def test_a_composite_splits_into_the_combination_of_its_terms_class_values(capsys):
    doc = eval_json(
        capsys,
        MULTICLASS,
        "--loss",
        "cross_entropy,focal,0.3*cross_entropy + 0.7*focal",
        "--per-class",
    )
    _, ce = rows_of(doc, "cross_entropy")
    _, focal = rows_of(doc, "focal")
    _, both = rows_of(doc, "0.3*cross_entropy+0.7*focal")
    for name in ce:
        ref = 0.3 * ce[name]["value"] + 0.7 * focal[name]["value"]
        assert both[name]["value"] == pytest.approx(ref, rel=1e-12)


def test_fail_above_still_checks_the_overall_value(capsys):
    code, out, err = cli(
        capsys,
        "eval",
        MULTICLASS,
        "--loss",
        "cross_entropy",
        "--per-class",
        "--fail-above",
        "0.43",
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert code == 0, err
    assert doc["checks"][0]["value"] == rows_of(doc, "cross_entropy")[0]["value"]


def test_class_rows_carry_no_gradient_summary(capsys):
    doc = eval_json(capsys, MULTICLASS, "--loss", "cross_entropy", "--per-class", "--gradients")
    assert [("gradient" in r) for r in doc["results"]] == [True, False, False, False]


# --- output formats ----------------------------------------------------------------------


def test_every_format_shows_the_class_rows(capsys):
    args = [MULTICLASS, "--loss", "cross_entropy", "--per-class", "-q"]
    doc = eval_json(capsys, *args[:-1])
    values = {r["class"]: r["value"] for r in doc["results"]}

    _, out, _ = cli(capsys, "eval", *args, "--format", "csv")
    records = list(csv.DictReader(io.StringIO(out)))
    assert [r["class"] for r in records] == ["", "cat", "dog", "bird"]
    for r in records:
        assert float(r["value"]) == values[r["class"] or None]  # full precision

    _, out, _ = cli(capsys, "eval", *args)
    lines = out.splitlines()
    assert lines[0].split() == ["loss", "params", "group", "class", "n", "value"]
    assert lines[2].split()[:4] == ["cross_entropy", "-", "(all)", "cat"]
    assert any(line.startswith("cross_entropy by true class: J = Σ_c W_c·J_c") for line in lines)

    _, out, _ = cli(capsys, "eval", *args, "--format", "markdown")
    assert "| loss | params | group | class | n | value |" in out
    assert "| cross_entropy | - | (all) | dog | 707 | 0.447054 |" in out
    assert "- cross_entropy by true class: J = " in out


def test_json_describes_each_loss_split(capsys):
    doc = eval_json(
        capsys,
        SAMPLES / "segmentation_multiclass.csv",
        "--loss",
        "dice,cross_entropy",
        "--per-class",
    )
    assert doc["per_class"] == [
        {
            "loss": "dice",
            "by": "class overlap",
            "classes": ["0", "1", "2"],
            "combine": "J = (1/K)·Σ_c J_c over the K classes",
        },
        {
            "loss": "cross_entropy",
            "by": "true class",
            "classes": ["0", "1", "2"],
            "combine": "J = Σ_c W_c·J_c / Σ_c W_c (W_c: the class's total weight, "
            "n_c without --weight)",
        },
    ]


def test_without_per_class_the_output_is_unchanged(capsys):
    doc = eval_json(capsys, MULTICLASS, "--loss", "cross_entropy")
    assert "per_class" not in doc and "class" not in doc["results"][0]
    _, out, _ = cli(capsys, "eval", MULTICLASS, "--loss", "cross_entropy")
    assert out.splitlines()[0].split() == ["loss", "params", "group", "n", "value"]


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "loss", "message"),
    [
        (
            "regression.csv",
            "mse",
            "error: --per-class: mse on one target column has no per-class breakdown",
        ),
        ("hinge.csv", "hinge", "error: --per-class: hinge has no per-class breakdown"),
        ("similarity.csv", "contrastive", "error: --per-class: contrastive has no per-class"),
        ("distribution.csv", "kl_div", "error: --per-class: kl_div has no per-class breakdown"),
    ],
)
def test_a_loss_without_a_breakdown_is_a_usage_error_naming_those_with_one(
    capsys, file, loss, message
):
    code, out, err = cli(capsys, "eval", SAMPLES / file, "--loss", loss, "--per-class")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith(message)
    assert lines[1].startswith("hint: ")
    assert "cross_entropy" in lines[1] and "dice" in lines[1] and "(by column" in lines[1]
    assert "Traceback" not in err


def test_regression_on_one_column_hints_at_several_pairs(capsys):
    _, _, err = cli(capsys, "eval", SAMPLES / "regression.csv", "--loss", "mse", "--per-class")
    assert "mse splits by output column: give several pairs" in err


def test_a_composite_whose_terms_split_differently_is_a_usage_error(capsys):
    code, _, err = cli(
        capsys, "eval", SAMPLES / "segmentation.csv", "--loss", "bce + dice", "--per-class"
    )
    assert code == 2
    assert err.startswith(
        "error: --per-class: the terms of bce+dice split differently "
        "(bce by true class, dice by class overlap)"
    )
    assert (
        "hint: evaluate the terms as separate losses with --per-class, e.g. --loss bce,dice" in err
    )


def test_soft_targets_have_no_true_class(tmp_path, capsys):
    path = write_csv(tmp_path / "soft.csv", y_true=[0.0, 1.0, 0.3], y_pred=[0.2, 0.7, 0.4])
    code, _, err = cli(capsys, "eval", path, "--loss", "bce", "--per-class")
    assert code == 2
    assert err.startswith("error: ")
    assert "column 'y_true', row 2" in err and "0/1 class" in err
    assert "Traceback" not in err


def test_reduction_none_takes_no_per_class(capsys):
    code, _, err = cli(capsys, "eval", MULTICLASS, "--per-class", "--reduction", "none")
    assert code == 2
    assert err.startswith("error: --reduction none writes per-row losses; it takes no --per-class")


def test_zero_weight_class_is_an_input_error_naming_the_class(tmp_path, capsys):
    path = write_csv(
        tmp_path / "zw.csv",
        y_true=[0, 1, 1, 0],
        y_pred=[0.2, 0.7, 0.6, 0.1],
        w=[1.0, 0.0, 0.0, 2.0],
    )
    code, _, err = cli(capsys, "eval", path, "--loss", "bce", "--weight", "w", "--per-class")
    assert code == 2
    assert "sum to 0 over the rows of class '1'" in err


def test_per_class_and_bootstrap_on_the_dask_engine_equal_the_local_engine(capsys):
    pytest.importorskip("dask")
    for option in (["--per-class"], ["--bootstrap", "50", "--per-class"]):
        args = ["eval", SAMPLES / "multiclass.parquet", "--loss", "cross_entropy", *option]
        local = cli(capsys, *args, "--format", "json")
        dist = cli(capsys, *args, "--format", "json", "--engine", "dask", "-q")
        assert local[0] == dist[0] == 0, dist[2]
        want, got = json.loads(local[1])["results"], json.loads(dist[1])["results"]
        assert [(r["class"], r["n"]) for r in got] == [(r["class"], r["n"]) for r in want]
        for g, w in zip(got, want):
            assert g.keys() == w.keys()
            for key in {"value", "ci_low", "ci_high"} & w.keys():
                assert g[key] == pytest.approx(w[key], rel=1e-9)
