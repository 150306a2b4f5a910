"""``--reduction median|max|p95``: statistics of the per-row losses Lᵢ.

J is numpy.quantile(Lᵢ, q) with the default linear interpolation (q = 0.5, 1, 0.95),
checked against numpy and against torch.quantile/torch.amax autograd; ties share the
gradient evenly; sample weights and ratio losses are refused with one clear error;
composites reduce each term; the file engine (batches, groups, grad, compare, check)
gives the same numbers as the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import cli

import losscli

ROOT = Path(__file__).resolve().parents[1]
REGRESSION = ROOT / "sample_data" / "regression.csv"
Q = {"median": 0.5, "max": 1.0, "p95": 0.95}
STATISTICS = pytest.mark.parametrize("reduction", list(Q))


def data(n: int = 101, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 2.0, n)
    return y, y + rng.standard_t(3, n)


@STATISTICS
@pytest.mark.parametrize("n", [1, 2, 7, 101, 1000])
def test_value_is_numpy_quantile_of_the_per_row_losses(reduction, n):
    y, p = data(n)
    for loss in ("mse", "huber", "mae"):
        rows = losscli.evaluate(y, p, loss, reduction="none")
        got = losscli.evaluate(y, p, loss, reduction=reduction)
        np.testing.assert_allclose(got, np.quantile(rows, Q[reduction]), rtol=1e-12)


@STATISTICS
def test_gradient_puts_the_interpolation_weights_on_the_order_statistics(reduction):
    y, p = data(40)
    e = p - y
    rows = e**2
    g = losscli.gradient(y, p, "mse", reduction=reduction)
    h = (len(rows) - 1) * Q[reduction]
    lo, frac = int(np.floor(h)), h - np.floor(h)
    order = np.argsort(rows)
    expected = np.zeros_like(rows)
    expected[order[lo]] += (1 - frac) * 2 * e[order[lo]]
    if frac:
        expected[order[lo + 1]] += frac * 2 * e[order[lo + 1]]
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=0)


def test_ties_share_the_gradient_evenly():
    y = np.zeros(5)
    p = np.array([3.0, -3.0, 1.0, 0.5, 0.2])  # |e| = 3 twice: the maximum is tied
    g = losscli.gradient(y, p, "mae", reduction="max")
    np.testing.assert_allclose(g, [0.5, -0.5, 0.0, 0.0, 0.0])
    # the median of [1, 2, 2, 3] interpolates between the two tied 2s: each gets ½
    g = losscli.gradient(np.zeros(4), np.array([1.0, 2.0, -2.0, 3.0]), "mae", reduction="median")
    np.testing.assert_allclose(g, [0.0, 0.5, -0.5, 0.0])


def test_composite_reduces_each_term_by_itself():
    y, p = data(51)
    got = losscli.evaluate(y, p, "0.7*mse + 0.3*mae", reduction="p95")
    expected = 0.7 * np.quantile((p - y) ** 2, 0.95) + 0.3 * np.quantile(np.abs(p - y), 0.95)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    g = losscli.gradient(y, p, "0.7*mse + 0.3*mae", reduction="p95")
    np.testing.assert_allclose(
        g,
        0.7 * losscli.gradient(y, p, "mse", reduction="p95")
        + 0.3 * losscli.gradient(y, p, "mae", reduction="p95"),
        rtol=1e-12,
    )


def test_ignored_rows_leave_the_statistic():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 30).astype(float)
    labels[::4] = -100
    z = rng.normal(0, 2, (30, 3))
    rows = losscli.evaluate(
        labels, z, "cross_entropy", from_logits=True, reduction="none", ignore_index=-100
    )
    kept = labels != -100
    got = losscli.evaluate(
        labels, z, "cross_entropy", from_logits=True, reduction="median", ignore_index=-100
    )
    np.testing.assert_allclose(got, np.median(rows[kept]), rtol=1e-12)
    g = losscli.gradient(
        labels, z, "cross_entropy", from_logits=True, reduction="median", ignore_index=-100
    )
    assert np.all(g[~kept] == 0)


def test_sample_weights_are_refused():
    y, p = data(10)
    with pytest.raises(losscli.UsageError, match="takes no sample weights"):
        losscli.evaluate(y, p, "mse", reduction="median", weights=np.ones(10))


@STATISTICS
def test_losses_without_per_row_values_refuse_with_the_reductions_they_have(reduction):
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 2, 20).astype(float), rng.uniform(0.1, 0.9, 20)
    for loss, supported in [
        ("dice", "mean"),
        ("lovasz_hinge", "mean"),
        ("rmse", "mean"),
        ("perplexity", "mean"),
    ]:
        with pytest.raises(losscli.UsageError) as info:
            losscli.evaluate(y if loss != "perplexity" else y, p, loss, reduction=reduction)
        assert str(info.value) == f"{loss} has no reduction {reduction!r}"
        assert info.value.hint == f"{loss} supports: {supported}"


def test_elementwise_losses_list_the_statistics_among_their_reductions():
    with pytest.raises(losscli.UsageError) as info:
        losscli.evaluate([0.0, 1.0], [0.5, 0.5], "0.5*mse + rmse", reduction="median")
    assert info.value.hint == "rmse supports: mean"
    with pytest.raises(losscli.UsageError, match="unknown reduction 'p99'"):
        losscli.Accumulator("mse").objective.check_reduction("p99")
    from losscli.kernel.streaming import supported_reductions
    from losscli.losses.registry import get_loss

    assert supported_reductions(get_loss("mse").kernel) == (
        "mean",
        "sum",
        "none",
        "median",
        "max",
        "p95",
    )


def test_accumulators_merge_collected_values():
    y, p = data(300)
    a = losscli.Accumulator("huber", reduction="median").update(y[:120], p[:120])
    b = losscli.Accumulator("huber", reduction="median").update(y[120:], p[120:])
    np.testing.assert_allclose(
        a.merge(b).value(), losscli.evaluate(y, p, "huber", reduction="median"), rtol=1e-15
    )


# ---------------------------------------------------------------- files and the CLI


def _per_row(capsys, loss: str) -> np.ndarray:
    code, out, err = cli(capsys, "eval", REGRESSION, "--loss", loss, "--reduction", "none")
    assert code == 0, err
    return np.array([float(line.split(",")[1]) for line in out.splitlines()[1:]])


@STATISTICS
def test_eval_file_per_group_equals_numpy_on_the_per_row_losses(capsys, monkeypatch, reduction):
    import losscli.io.csv_reader

    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 4096)  # several batches per file
    rows = _per_row(capsys, "huber")
    segments = np.array(
        [line.split(",")[2] for line in REGRESSION.read_text().splitlines()[1:]], dtype=object
    )
    code, out, err = cli(
        capsys,
        *("eval", REGRESSION, "--loss", "huber", "--group", "segment"),
        *("--reduction", reduction, "--gradients", "--format", "json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    for r in doc["results"]:
        assert r["reduction"] == reduction
        kept = rows if r["group"] is None else rows[segments == r["group"]]
        np.testing.assert_allclose(r["value"], np.quantile(kept, Q[reduction]), rtol=1e-12)
        assert r["n"] == len(kept)
        assert r["gradient"]["abs_max"] > 0


def test_grad_cli_equals_the_api(capsys, monkeypatch):
    import losscli.io.csv_reader

    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 4096)
    code, out, err = cli(capsys, "grad", REGRESSION, "--loss", "log_cosh", "--reduction", "p95")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "row,grad_y_pred"
    got = np.array([float(line.split(",")[1]) for line in lines[1:]])
    table = np.genfromtxt(REGRESSION, delimiter=",", names=True, dtype=None, encoding="utf-8")
    expected = losscli.gradient(table["y_true"], table["y_pred"], "log_cosh", reduction="p95")
    np.testing.assert_array_equal(got, expected)
    assert np.count_nonzero(got) == 2  # p95 of 2000 rows interpolates two order statistics


def test_weight_column_is_one_error_before_reading(capsys):
    code, out, err = cli(
        capsys, "eval", REGRESSION, "--loss", "mse", "--weight", "weight", "--reduction", "p95"
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: --reduction p95 takes no sample weights (--weight)",
        "hint: a weighted quantile has no single convention; drop --weight, or reduce with mean or sum",
    ]


def test_ratio_loss_is_one_error_naming_its_reductions(capsys):
    segmentation = ROOT / "sample_data" / "segmentation.csv"
    code, out, err = cli(capsys, "eval", segmentation, "--loss", "bce,dice", "--reduction", "max")
    assert code == 2 and out == ""
    assert err.splitlines() == ["error: dice has no reduction 'max'", "hint: dice supports: mean"]


def test_compare_with_a_row_statistic(capsys):
    worse = ROOT / "sample_data" / "regression_worse.csv"
    code, out, err = cli(
        capsys,
        *("compare", REGRESSION, worse, "--loss", "mse", "--reduction", "median"),
        *("--bootstrap", "50", "--format", "json"),
    )
    assert code == 1, err
    doc = json.loads(out)
    assert doc["reduction"] == "median"
    r = doc["results"][0]
    base = np.genfromtxt(REGRESSION, delimiter=",", names=True, dtype=None, encoding="utf-8")
    cand = np.genfromtxt(worse, delimiter=",", names=True, dtype=None, encoding="utf-8")
    np.testing.assert_allclose(r["baseline"], np.median((base["y_pred"] - base["y_true"]) ** 2))
    np.testing.assert_allclose(r["candidate"], np.median((cand["y_pred"] - cand["y_true"]) ** 2))
    assert r["ci_low"] <= r["difference"] <= r["ci_high"]


def test_check_config_accepts_a_row_statistic(capsys, tmp_path):
    config = tmp_path / "losscli.toml"
    config.write_text(
        "[[check]]\n"
        'name = "tail"\n'
        f"file = {json.dumps(str(REGRESSION))}\n"
        'loss = "mse"\n'
        'reduction = "p95"\n'
        "fail_above = 100.0\n",
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 0, err
    rows = _per_row(capsys, "mse")
    value = json.loads(out)["checks"][0]["results"][0]["value"]
    np.testing.assert_allclose(value, np.quantile(rows, 0.95), rtol=1e-12)


# ---------------------------------------------------------------- torch autograd


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@STATISTICS
def test_value_and_gradient_match_torch_quantile_and_amax(torch, reduction):
    y, p = data(64, seed=5)
    yt = torch.tensor(y, dtype=torch.float64)
    pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    rows = torch.nn.functional.huber_loss(pt, yt, reduction="none", delta=0.7)
    value = rows.amax() if reduction == "max" else torch.quantile(rows, Q[reduction])
    value.backward()
    got = losscli.evaluate(y, p, "huber", delta=0.7, reduction=reduction)
    np.testing.assert_allclose(got, value.item(), rtol=1e-12)
    g = losscli.gradient(y, p, "huber", delta=0.7, reduction=reduction)
    np.testing.assert_allclose(g, pt.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.torch
def test_tied_maximum_splits_like_torch_amax(torch):
    y = np.zeros(4)
    p = np.array([2.0, -2.0, 2.0, 0.5])
    pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    (pt**2).amax().backward()
    np.testing.assert_allclose(losscli.gradient(y, p, "mse", reduction="max"), pt.grad.numpy())
