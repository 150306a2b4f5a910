"""Classification metrics beside the losses (README "Metrics"): accuracy, balanced accuracy,
precision / recall / F1, MCC, ROC AUC, average precision, and r2 — each equal to
scikit-learn's function to 1e-12 with and without sample weights, in the Python API and
through ``eval FILE -l NAME -f json`` (text labels, groups, --pos-label, logits), gated
by --fail-below and ranked higher-is-better by compare."""

from __future__ import annotations

import json
from functools import partial

import helpers
import numpy as np
import pandas as pd
import pytest
from helpers import cli, error_lines
from sklearn import metrics

import losscli

eval_json = partial(helpers.eval_json, quiet=True, codes=(0, 1))
TOL = dict(rel=1e-12, abs=1e-12)


def _decided(p: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    return p.argmax(axis=1) if p.ndim == 2 else (p > threshold).astype(int)


def _reference(name: str, y, p, w=None, threshold: float = 0.5, average=None) -> float:
    """scikit-learn's value of ``name`` for labels ``y`` and scores ``p`` (one column: the
    positive class's probability; K columns: class probabilities in label order)."""
    d = _decided(p, threshold)
    multi = p.ndim == 2
    average = average or ("macro" if multi else "binary")
    return {
        "accuracy": lambda: metrics.accuracy_score(y, d, sample_weight=w),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y, d, sample_weight=w),
        "precision": lambda: metrics.precision_score(
            y, d, sample_weight=w, average=average, zero_division=0
        ),
        "recall": lambda: metrics.recall_score(
            y, d, sample_weight=w, average=average, zero_division=0
        ),
        "f1": lambda: metrics.f1_score(y, d, sample_weight=w, average=average, zero_division=0),
        "mcc": lambda: metrics.matthews_corrcoef(y, d, sample_weight=w),
        "roc_auc": lambda: metrics.roc_auc_score(
            y,
            p,
            sample_weight=w,
            **({"multi_class": "ovr", "labels": range(p.shape[1])} if multi else {}),
        ),
        "average_precision": lambda: metrics.average_precision_score(y, p, sample_weight=w),
    }[name]()


DECISIONS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc")
RANKINGS = ("roc_auc", "average_precision")
AVERAGED = ("precision", "recall", "f1")


def _binary(seed: int, n: int = 300, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
    if ties:  # few distinct scores: many ties between positive and negative rows
        p = np.round(p, 1)
    return y, p, rng.uniform(0, 3, n)


def _multiclass(seed: int, k: int, n: int = 400):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % k)
    z = rng.normal(0, 1, (n, k)) + 1.5 * np.eye(k)[y]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return y, p, rng.uniform(0, 3, n)


BINARY_DATA = [partial(_binary, 1), partial(_binary, 2, 57), partial(_binary, 3, ties=True)]
MULTI_DATA = [partial(_multiclass, 4, 3), partial(_multiclass, 5, 5, 123)]


# ---- the Python API against scikit-learn --------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("data", BINARY_DATA + MULTI_DATA)
@pytest.mark.parametrize("name", DECISIONS + RANKINGS)
def test_each_metric_equals_sklearn(name, data, weighted):
    y, p, w = data()
    w = w if weighted else None
    got = losscli.evaluate(y, p, name, weights=w)
    assert got == pytest.approx(_reference(name, y, p, w), **TOL)


@pytest.mark.parametrize("average", ["macro", "weighted"])
@pytest.mark.parametrize("data", [BINARY_DATA[0], *MULTI_DATA])
@pytest.mark.parametrize("name", AVERAGED)
def test_averages_equal_sklearn(name, data, average):
    y, p, w = data()
    got = losscli.evaluate(y, p, name, weights=w, average=average)
    assert got == pytest.approx(_reference(name, y, p, w, average=average), **TOL)
    # the scorer names set the average: f1_macro is f1(average=macro)
    assert losscli.evaluate(y, p, f"{name}_{average}", weights=w) == got


@pytest.mark.parametrize("name", DECISIONS)
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.8])
def test_the_threshold_decides_binary_rows(name, threshold):
    y, p, w = _binary(6)
    got = losscli.evaluate(y, p, name, weights=w, threshold=threshold)
    assert got == pytest.approx(_reference(name, y, p, w, threshold=threshold), **TOL)
    # logits decide as their probabilities do
    z = np.log(p / (1 - p))
    logits = losscli.evaluate(y, z, name, weights=w, threshold=threshold, from_logits=True)
    assert logits == pytest.approx(got, **TOL)


@pytest.mark.parametrize("name", RANKINGS)
def test_rankings_of_logits_are_those_of_their_probabilities(name):
    y, p, w = _multiclass(7, 4)
    z = np.log(p) + 3.0  # softmax(z) = p
    assert losscli.evaluate(y, z, name, weights=w, from_logits=True) == pytest.approx(
        _reference(name, y, p, w), **TOL
    )
    y, p, w = _binary(8)
    z = np.log(p / (1 - p))
    assert losscli.evaluate(y, z, name, weights=w, from_logits=True) == pytest.approx(
        _reference(name, y, p, w), **TOL
    )


def test_zero_weights_leave_rows_out_as_sklearn():
    y, p, w = _binary(9, ties=True)
    w[::3] = 0.0
    for name in DECISIONS + RANKINGS:
        got = losscli.evaluate(y, p, name, weights=w)
        assert got == pytest.approx(_reference(name, y, p, w), **TOL), name


def test_r2_is_sklearns_r2_score_and_d2_tweedie_at_power_0():
    rng = np.random.default_rng(10)
    y = rng.normal(0, 2, (200, 3))
    p = y + rng.normal(0, 1, (200, 3))
    w = rng.uniform(0, 2, 200)
    for target, pred in ((y[:, 0], p[:, 0]), (y, p)):
        got = losscli.evaluate(target, pred, "r2", weights=w)
        assert got == pytest.approx(metrics.r2_score(target, pred, sample_weight=w), **TOL)
        assert got == losscli.evaluate(target, pred, "d2_tweedie", power=0.0, weights=w)
        assert losscli.evaluate(target, pred, "r2_score") == pytest.approx(
            metrics.r2_score(target, pred), **TOL
        )


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_single_class_decisions_score_as_sklearn():
    y = np.zeros(20, dtype=int)
    p = np.linspace(0.05, 0.95, 20)
    for name in DECISIONS:
        assert losscli.evaluate(y, p, name) == pytest.approx(_reference(name, y, p), **TOL), name


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", RANKINGS)
def test_single_class_rankings_are_an_error(name, weighted):
    w = np.linspace(0.5, 2, 20) if weighted else None
    with pytest.raises(losscli.InputError, match="undefined: the rows scored hold no positive"):
        losscli.evaluate(np.zeros(20), np.linspace(0.05, 0.95, 20), name, weights=w)
    with pytest.raises(losscli.InputError, match="undefined: the rows scored hold no negative"):
        losscli.evaluate(np.ones(20), np.linspace(0.05, 0.95, 20), name, weights=w)
    y, p, _ = _multiclass(11, 3)
    y[y == 2] = 0  # class 2 has no rows of its own
    with pytest.raises(
        losscli.InputError,
        match=r"of class 2 \(prediction column 3\) against the others is undefined",
    ):
        losscli.evaluate(y, p, name)


def test_threshold_and_binary_average_are_refused_for_class_columns():
    y, p, _ = _multiclass(12, 3)
    with pytest.raises(losscli.InputError, match="threshold applies to one probability column"):
        losscli.evaluate(y, p, "accuracy", threshold=0.3)
    with pytest.raises(losscli.InputError, match="average=binary needs one probability column"):
        losscli.evaluate(y, p, "f1", average="binary")


def test_metrics_are_steps_with_zero_gradient():
    y, p, w = _binary(13)
    for name in DECISIONS + RANKINGS:
        assert not np.any(losscli.gradient(y, p, name, weights=w)), name


# ---- on files, through the command line ----------------------------------------------------

CLASSES = ["setosa", "versicolor", "virginica"]


def _text_label_file(tmp_path, seed: int = 14, n: int = 600):
    """K class columns named prob_<class> (not in sorted order), text labels, weights, groups."""
    y, p, w = _multiclass(seed, 3, n)
    rng = np.random.default_rng(seed)
    order = [2, 0, 1]  # the columns' order differs from the labels' sorted order
    frame = pd.DataFrame({f"prob_{CLASSES[c]}": p[:, c] for c in order})
    frame.insert(0, "species", [CLASSES[c] for c in y])
    frame["w"] = w
    frame["site"] = rng.choice(["north", "south", "east"], n)
    path = tmp_path / "species.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path, y, p, w, frame["site"].to_numpy()


ALL = DECISIONS + RANKINGS


def test_eval_file_with_text_labels_equals_sklearn_per_group(tmp_path, capsys):
    path, y, p, w, site = _text_label_file(tmp_path)
    doc = eval_json(
        capsys, path, "-l", ",".join(ALL), "-t", "species", "-p", "prob_*", "--weight", "w",
        "--group", "site",
    )  # fmt: skip
    got = {(r["loss"], r["group"]): r["value"] for r in doc["results"]}
    assert len(got) == len(ALL) * 4
    for group in (None, "north", "south", "east"):
        rows = np.ones(len(y), bool) if group is None else site == group
        for name in ALL:
            expected = _reference(name, y[rows], p[rows], w[rows])
            assert got[name, group] == pytest.approx(expected, **TOL), (name, group)


def test_eval_file_binary_text_labels_take_pos_label(tmp_path, capsys):
    y, p, w = _binary(15, 500, ties=True)
    path = tmp_path / "churn.csv"
    frame = pd.DataFrame({"churn": np.where(y == 1, "yes", "no"), "score": p, "w": w})
    frame.to_csv(path, index=False, float_format="%.17g")
    names = ",".join(ALL) + ",f1_weighted"
    doc = eval_json(capsys, path, "-l", names, "-t", "churn", "--pos-label", "yes", "--weight", "w")
    got = {r["loss"]: r["value"] for r in doc["results"]}
    for name in ALL:
        assert got[name] == pytest.approx(_reference(name, y, p, w), **TOL), name
    assert got["f1_weighted"] == pytest.approx(_reference("f1", y, p, w, average="weighted"), **TOL)
    # the other label as positive: the column is read as its probability
    doc = eval_json(
        capsys, path, "-l", "recall,roc_auc", "-t", "churn", "--pos-label", "no", "--weight", "w"
    )
    got = {r["loss"]: r["value"] for r in doc["results"]}
    assert got["recall"] == pytest.approx(
        metrics.recall_score(1 - y, (p > 0.5).astype(int), sample_weight=w), **TOL
    )
    assert got["roc_auc"] == pytest.approx(1 - _reference("roc_auc", y, p, w), **TOL)


def test_eval_file_threshold_param_and_option(tmp_path, capsys):
    y, p, w = _binary(16)
    path = tmp_path / "b.csv"
    pd.DataFrame({"y_true": y, "y_pred": p}).to_csv(path, index=False, float_format="%.17g")
    doc = eval_json(capsys, path, "-l", "f1(threshold=0.7),mcc(threshold=0.2)")
    got = [r["value"] for r in doc["results"]]
    assert got[0] == pytest.approx(_reference("f1", y, p, threshold=0.7), **TOL)
    assert got[1] == pytest.approx(_reference("mcc", y, p, threshold=0.2), **TOL)
    assert doc["results"][0]["params"]["threshold"] == 0.7


def test_a_group_of_one_class_names_itself_in_the_error(tmp_path, capsys):
    path = tmp_path / "g.csv"
    pd.DataFrame(
        {"y": [0, 1, 0, 1, 0, 0], "prob": [0.1, 0.8, 0.3, 0.6, 0.2, 0.4], "g": list("aaaabb")}
    ).to_csv(path, index=False)
    message, hint = error_lines(*cli(capsys, "eval", path, "-l", "roc_auc", "--group", "g"))
    assert message == (
        f"error: {path}: roc_auc on target y, predictions prob in group 'b' is undefined: "
        "the rows scored hold no positive row (with a positive weight)"
    )  # the loss named once
    assert "every group needs both" in hint


def test_fail_below_gates_the_metrics(capsys):
    binary = helpers.SAMPLES / "binary.csv"
    code, _, _ = cli(capsys, "eval", binary, "-l", "roc_auc,accuracy", "--fail-below", "0.7", "-q")
    assert code == 0
    doc = eval_json(capsys, binary, "-l", "roc_auc,accuracy", "--fail-below", "roc_auc=0.9")
    assert doc["passed"] is False
    assert [(c["loss"], c["passed"]) for c in doc["checks"]] == [("roc_auc", False)]
    code, _, err = cli(capsys, "eval", binary, "-l", "accuracy", "--fail-above", "accuracy=0.5")
    assert code == 2 and "accuracy is higher-is-better" in err


def test_compare_ranks_the_metrics_higher_is_better(tmp_path, capsys):
    y, p, _ = _binary(17, 2000)
    rng = np.random.default_rng(17)
    noisy = np.clip(p + rng.normal(0, 0.3, len(p)), 0, 1)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    pd.DataFrame({"y": y, "prob": p}).to_csv(good, index=False)
    pd.DataFrame({"y": y, "prob": noisy}).to_csv(bad, index=False)
    names = "accuracy,f1,mcc,roc_auc,average_precision,balanced_accuracy"
    code, out, _ = cli(
        capsys, "compare", good, bad, "-l", names, "--bootstrap", "200",
        "--require-significant", "--format", "json",
    )  # fmt: skip
    assert code == 1
    for r in json.loads(out)["results"]:
        assert r["better"] == "higher"
        assert r["difference"] < 0 and r["regression"] is True, r["loss"]
    code, out, err = cli(capsys, "compare", bad, good, "-l", names, "--format", "json")
    assert code == 0
    assert all(r["regression"] is False for r in json.loads(out)["results"])
    # both files' scores are kept: the note counts their rows
    assert "note: roc_auc keeps every row's score to rank them exactly: 4000 rows × 8 " in err


def test_roc_auc_notes_the_memory_it_keeps(capsys):
    code, _, err = cli(capsys, "eval", helpers.SAMPLES / "binary.csv", "-l", "roc_auc,accuracy")
    assert code == 0
    notes = [line for line in err.splitlines() if "keeps every row" in line]
    assert len(notes) == 1
    assert notes[0].startswith("note: roc_auc keeps every row's score")
    assert "3000 rows × 8 bytes = 24.0 kB" in notes[0] and "5M rows: 40.0 MB" in notes[0]


def test_bootstrap_intervals_bracket_the_metrics(capsys):
    doc = eval_json(
        capsys, helpers.SAMPLES / "binary.csv", "-l", "roc_auc,f1", "--bootstrap", "100"
    )
    for r in doc["results"]:
        assert r["ci_low"] < r["value"] < r["ci_high"]


def test_per_class_is_refused_with_the_losses_that_split(capsys):
    message, _ = error_lines(
        *cli(capsys, "eval", helpers.SAMPLES / "binary.csv", "-l", "f1", "--per-class")
    )
    assert "f1 has no per-class breakdown" in message


def test_losses_and_explain_list_every_metric(capsys):
    code, out, _ = cli(capsys, "losses")
    assert code == 0
    metrics_part = out.split("\n\nMetrics:", 1)[1]
    rows = {line.split()[0]: line.split()[1] for line in metrics_part.splitlines()[2:] if line}
    for name in (*ALL, "r2"):
        assert rows[name] == "higher", name
        code, text, _ = cli(capsys, "explain", name)
        assert code == 0 and "sklearn" in text and "metric, higher is better" in text
    _, text, _ = cli(capsys, "explain", "average_precision")
    assert "40 MB" in text and "80 MB for 5M rows" in text


def test_parallel_parts_merge_to_sklearns_values(tmp_path, capsys, monkeypatch):
    """A Parquet file cut into runs of row groups read by threads: the confusion matrices
    add, the kept scores concatenate, and each value is still scikit-learn's."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    from helpers import parquet_in_parts

    made = parquet_in_parts(monkeypatch, 3)
    path, y, p, w, site = _text_label_file(tmp_path, seed=18, n=3000)
    parquet = tmp_path / "species.parquet"
    pq.write_table(pcsv.read_csv(path), parquet, row_group_size=500)
    doc = eval_json(
        capsys, parquet, "-l", ",".join(ALL), "-t", "species", "-p", "prob_*", "--weight", "w",
        "--group", "site",
    )  # fmt: skip
    assert [len(parts) for parts in made] == [3]
    got = {(r["loss"], r["group"]): r["value"] for r in doc["results"]}
    for group in (None, "east"):
        rows = np.ones(len(y), bool) if group is None else site == group
        for name in ALL:
            expected = _reference(name, y[rows], p[rows], w[rows])
            assert got[name, group] == pytest.approx(expected, **TOL), (name, group)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("k", [1, 3])
def test_the_noted_bytes_per_row_are_what_the_rankings_keep(k, weighted):
    from losscli.kernel.streaming import Batch
    from losscli.losses.registry import get_loss

    y, p, w = _binary(19) if k == 1 else _multiclass(19, k)
    kernel = get_loss("roc_auc").kernel
    params = {"from_logits": False}
    batch = kernel.prepare(Batch(y.astype(float), (p,), w if weighted else None), params)
    kept = sum(leaf.array().nbytes for leaf in kernel.update(batch, params).values())
    assert kept == len(y) * kernel.kept_bytes(k, weighted)
    assert kernel.kept_bytes(1, False) * 5_000_000 == 40e6  # the 40 MB the note states
