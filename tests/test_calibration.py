"""ECE and the Brier decomposition against a direct NumPy reference, and the identity
brier = brier_reliability − brier_resolution + brier_uncertainty.

The reference bins with ``np.digitize`` (equal width) or ``np.quantile(...,
method="inverted_cdf")`` (equal mass) and computes every term by looping over the
bins with boolean masks, straight from the textbook definitions (Murphy 1973;
Stephenson, Coelho & Jolliffe 2008 for the within-bin terms).
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from losscli.kernel.numerics import sigmoid

RTOL = 1e-12


def data(seed: int, n: int = 500, weighted: bool = False):
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    y = (rng.uniform(size=n) < np.clip(p + rng.normal(0, 0.1, n), 0, 1)).astype(float)
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    return y, p, w


def reference_bins(p, w, bins, binning):
    if binning == "width":
        return np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    edges = np.quantile(p, np.arange(1, bins) / bins, weights=w, method="inverted_cdf")
    return np.array([np.sum(edges < v) for v in p])  # bin k = (e_k, e_{k+1}]


def reference_terms(y, p, w, bins, binning):
    """Every term of ECE and the Brier decomposition, bin by bin."""
    w = np.ones_like(p) if w is None else w
    k = reference_bins(p, w, bins, binning)
    total = w.sum()
    ybar = np.sum(w * y) / total
    ece = rel = res = wbv = wbc = 0.0
    for b in range(bins):
        m = k == b
        if not m.any():
            continue
        wk = w[m].sum()
        pk = np.sum(w[m] * p[m]) / wk
        yk = np.sum(w[m] * y[m]) / wk
        ece += wk / total * abs(yk - pk)
        rel += wk / total * (pk - yk) ** 2
        res += wk / total * (yk - ybar) ** 2
        wbv += np.sum(w[m] * (p[m] - pk) ** 2) / total
        wbc += 2.0 * np.sum(w[m] * (y[m] - yk) * (p[m] - pk)) / total
    return {
        "ece": ece,
        "brier_reliability": rel,
        "murphy_resolution": res,
        "brier_resolution": res - wbv + wbc,
        "brier_uncertainty": ybar * (1.0 - ybar),
        "brier": np.sum(w * (p - y) ** 2) / total,
    }


CASES = [
    pytest.param(seed, bins, binning, weighted, id=f"{binning}-{bins}-{'w' if weighted else 'u'}")
    for seed, bins in ((0, 15), (1, 10), (2, 1), (3, 40))
    for binning in ("width", "mass")
    for weighted in (False, True)
]


@pytest.mark.parametrize(("seed", "bins", "binning", "weighted"), CASES)
def test_ece_and_decomposition_match_the_reference(seed, bins, binning, weighted):
    y, p, w = data(seed, weighted=weighted)
    ref = reference_terms(y, p, w, bins, binning)
    for name in ("ece", "brier_reliability", "brier_resolution"):
        got = losscli.evaluate(y, p, name, weights=w, bins=bins, binning=binning)
        np.testing.assert_allclose(got, ref[name], rtol=RTOL, atol=1e-15, err_msg=name)
    murphy = losscli.evaluate(
        y, p, "brier_resolution", weights=w, bins=bins, binning=binning, generalized=False
    )
    np.testing.assert_allclose(murphy, ref["murphy_resolution"], rtol=RTOL)
    unc = losscli.evaluate(y, p, "brier_uncertainty", weights=w)
    np.testing.assert_allclose(unc, ref["brier_uncertainty"], rtol=RTOL)


@pytest.mark.parametrize(("seed", "bins", "binning", "weighted"), CASES)
def test_reliability_minus_resolution_plus_uncertainty_is_the_brier_score(
    seed, bins, binning, weighted
):
    y, p, w = data(seed + 10, weighted=weighted)
    rel = losscli.evaluate(y, p, "brier_reliability", weights=w, bins=bins, binning=binning)
    res = losscli.evaluate(y, p, "brier_resolution", weights=w, bins=bins, binning=binning)
    unc = losscli.evaluate(y, p, "brier_uncertainty", weights=w)
    brier = losscli.evaluate(y, p, "brier", weights=w)
    assert rel - res + unc == pytest.approx(brier, rel=1e-13, abs=1e-15)


def test_the_identity_holds_on_logits_and_per_group_through_the_cli(tmp_path, capsys):
    import json

    from losscli.cli.commands import run

    rng = np.random.default_rng(4)
    n = 900
    z = rng.normal(0, 2, n)
    y = (rng.uniform(size=n) < sigmoid(z + rng.normal(0, 1, n))).astype(float)
    seg = rng.choice(["a", "b", "c"], n)
    path = tmp_path / "logits.csv"
    with open(path, "w") as f:
        f.write("y_true,logit,seg\n")
        for row in zip(y, z, seg):
            f.write(f"{row[0]:g},{float(row[1])!r},{row[2]}\n")
    code = run(
        ["eval", str(path), "--loss", "brier_decomposition(bins=8,binning=mass)", "--from-logits",
         "--group", "seg", "--format", "json", "-q"]
    )  # fmt: skip
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    by = {(r["loss"], r["group"]): r["value"] for r in doc["results"]}
    for group in (None, "a", "b", "c"):
        rel = by["brier_reliability(bins=8,binning=mass)", group]
        res = by["brier_resolution(bins=8,binning=mass)", group]
        unc = by["brier_uncertainty", group]
        assert rel - res + unc == pytest.approx(by["brier", group], rel=1e-13)
        rows = slice(None) if group is None else seg == group
        ref = reference_terms(y[rows], sigmoid(z[rows]), None, 8, "mass")
        assert rel == pytest.approx(ref["brier_reliability"], rel=1e-12)
        assert res == pytest.approx(ref["brier_resolution"], rel=1e-12)


def test_forecasts_constant_within_bins_give_murphys_exact_decomposition():
    # p on the centres of 10 equal-width bins: no within-bin variance, so the
    # generalized resolution is Murphy's and BS = REL − RES + UNC without extra terms
    rng = np.random.default_rng(5)
    p = (rng.integers(0, 10, 2000) + 0.5) / 10
    y = (rng.uniform(size=2000) < p**1.3).astype(float)
    rel = losscli.evaluate(y, p, "brier_reliability", bins=10)
    gres = losscli.evaluate(y, p, "brier_resolution", bins=10)
    murphy = losscli.evaluate(y, p, "brier_resolution", bins=10, generalized=False)
    unc = losscli.evaluate(y, p, "brier_uncertainty")
    assert gres == pytest.approx(murphy, rel=1e-12)
    assert rel - murphy + unc == pytest.approx(losscli.evaluate(y, p, "brier"), rel=1e-13)


def test_murphys_resolution_alone_misses_the_within_bin_terms():
    y, p, _ = data(6)
    rel = losscli.evaluate(y, p, "brier_reliability", bins=5)
    murphy = losscli.evaluate(y, p, "brier_resolution", bins=5, generalized=False)
    unc = losscli.evaluate(y, p, "brier_uncertainty")
    brier = losscli.evaluate(y, p, "brier")
    assert abs(rel - murphy + unc - brier) > 1e-4  # the gap WBV − WBC is real on wide bins


def test_calibrated_bins_have_zero_ece_and_reliability():
    p = np.array([0.25] * 4 + [0.75] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=float)
    assert losscli.evaluate(y, p, "ece", bins=4) == 0.0
    assert losscli.evaluate(y, p, "brier_reliability", bins=4) == 0.0
    assert losscli.evaluate(y, p, "ece", bins=2, binning="mass") == 0.0


def test_ece_by_hand():
    # bins of width ½: {0.1, 0.3} with one positive, {0.6, 0.9, 1.0} with two
    p = np.array([0.1, 0.3, 0.6, 0.9, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    expected = 2 / 5 * abs(0.5 - 0.2) + 3 / 5 * abs(2 / 3 - 2.5 / 3)
    assert losscli.evaluate(y, p, "ece", bins=2) == pytest.approx(expected, rel=1e-15)


def test_width_bins_are_right_open_with_one_in_the_last_bin():
    from losscli.losses.metrics.calibration import width_bins

    p = np.array([0.0, 0.2, 0.2 - 1e-12, 0.4, 0.99, 1.0])
    np.testing.assert_array_equal(width_bins(p, 5), [0, 1, 0, 2, 4, 4])


def test_equal_mass_bins_never_split_ties():
    from losscli.kernel.quantiles import mass_edges

    rng = np.random.default_rng(7)
    p = rng.choice([0.1, 0.2, 0.35, 0.5, 0.9], 400, p=[0.5, 0.2, 0.1, 0.1, 0.1])
    y = (rng.uniform(size=400) < p).astype(float)
    edges = mass_edges(p, np.ones(400), 10)
    k = np.searchsorted(edges, p, side="left")
    for value in np.unique(p):
        assert len(np.unique(k[p == value])) == 1
    ref = reference_terms(y, p, None, 10, "mass")
    assert losscli.evaluate(y, p, "ece", bins=10, binning="mass") == pytest.approx(
        ref["ece"], rel=RTOL
    )


def test_equal_mass_bins_hold_equal_weight_without_ties():
    from losscli.kernel.quantiles import mass_edges

    p = np.random.default_rng(8).uniform(size=1000)
    edges = mass_edges(p, np.ones(1000), 8)
    counts = np.bincount(np.searchsorted(edges, p, side="left"), minlength=8)
    assert counts.tolist() == [125] * 8


def test_ece_on_logits_is_ece_on_the_sigmoid():
    rng = np.random.default_rng(9)
    z = rng.normal(0, 3, 300)
    y = (rng.uniform(size=300) < 0.4).astype(float)
    for name in ("ece", "brier_reliability", "brier_resolution"):
        assert losscli.evaluate(y, z, name, from_logits=True) == pytest.approx(
            losscli.evaluate(y, sigmoid(z), name), rel=1e-13
        )


def test_calibration_gradients_hold_the_bins_fixed():
    y, p, w = data(11, n=50, weighted=True)
    k = reference_bins(p, w, 6, "width")
    total = w.sum()
    sums = {b: (np.sum(w[k == b] * y[k == b]), np.sum(w[k == b] * p[k == b])) for b in set(k)}
    expected = np.array([-wi * np.sign(sums[b][0] - sums[b][1]) / total for wi, b in zip(w, k)])
    np.testing.assert_allclose(losscli.gradient(y, p, "ece", weights=w, bins=6), expected)
    assert np.all(losscli.gradient(y, p, "brier_uncertainty", weights=w) == 0)
    assert np.all(losscli.gradient(y, p, "brier_resolution", generalized=False) == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 0}, "bins"),
        ({"bins": 2.5}, "bins"),
        ({"binning": "quantile"}, "width or mass"),
    ],
)
def test_invalid_binning_parameters(kwargs, message):
    y, p, _ = data(12, n=20)
    with pytest.raises(losscli.ParamError, match=message):
        losscli.evaluate(y, p, "ece", **kwargs)


def test_calibration_needs_binary_targets_and_one_probability_column():
    with pytest.raises(losscli.InputError, match="not a 0/1 label"):
        losscli.evaluate([0.0, 2.0], [0.2, 0.4], "ece")
    with pytest.raises(losscli.InputError, match="one probability column"):
        losscli.evaluate([0, 1], np.array([[0.2, 0.8], [0.6, 0.4]]), "brier_reliability")
    with pytest.raises(losscli.InputError, match="not a probability"):
        losscli.evaluate([0, 1], [0.2, 1.4], "ece")


def test_calibration_metrics_have_no_sum_or_per_row_reduction():
    for reduction in ("sum", "none"):
        with pytest.raises(losscli.UsageError, match="ece has no reduction"):
            losscli.evaluate([0, 1], [0.2, 0.4], "ece", reduction=reduction)


def test_zero_total_weight_is_an_input_error():
    with pytest.raises(losscli.InputError, match="weights"):
        losscli.evaluate([0, 1], [0.2, 0.4], "ece", weights=[0.0, 0.0], binning="mass")
    with pytest.raises(losscli.InputError, match="weights"):
        losscli.evaluate([0, 1], [0.2, 0.4], "brier_uncertainty", weights=[0.0, 0.0])
