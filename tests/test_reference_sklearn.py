"""losscli values against scikit-learn, SciPy and independent NumPy closed forms.

Every comparison is at 1e-9 relative on seeded random data kept away from kinks
and clipping boundaries, with and without sample weights (the weighted mean is
Σ wᵢLᵢ / Σ wᵢ, as sklearn's ``sample_weight``). The seeds' worked examples are
pinned as exact values.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special
from sklearn import metrics

import losscli

N = 200
RTOL = 1e-9
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def sample_weights(n: int = N, seed: int = 99) -> np.ndarray:
    return rng_for(seed).uniform(0.1, 3.0, n)


def wmean(per_row: np.ndarray, w: np.ndarray | None) -> float:
    """The reference reduction: the mean, or Σ wᵢLᵢ / Σ wᵢ."""
    return float(np.mean(per_row) if w is None else np.sum(w * per_row) / np.sum(w))


def close(got: float, expected: float, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0)


# ---------------------------------------------------------------- data


def real_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.normal(0.0, 2.0, N)
    return y, y + rng.normal(0.0, 1.0, N)


def positive_data(seed: int = 1, zeros: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.uniform(0.2, 6.0, N)
    if zeros:
        y[::5] = 0.0
    return y, rng.uniform(0.3, 5.0, N)


def away_from_zero_data(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.uniform(0.5, 5.0, N) * rng.choice([-1.0, 1.0], N)
    return y, y + rng.normal(0.0, 1.0, N)


def binary_data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.integers(0, 2, N).astype(float)
    return y, rng.uniform(0.02, 0.98, N)


def logits(seed: int = 4, k: int | None = None, scale: float = 3.0) -> np.ndarray:
    shape = (N,) if k is None else (N, k)
    return rng_for(seed).normal(0.0, scale, shape)


def prob_rows(seed: int = 5, k: int = 4) -> np.ndarray:
    """Rows summing to 1, every entry well above the 1e-7 clipping floor."""
    p = rng_for(seed).dirichlet(np.full(k, 2.0), N)
    return 0.9 * p + 0.1 / k


def labels(seed: int = 6, k: int = 4) -> np.ndarray:
    return rng_for(seed).integers(0, k, N)


def log_softmax(z: np.ndarray) -> np.ndarray:
    return special.log_softmax(z, axis=1)


# ---------------------------------------------------------------- scikit-learn: regression


REGRESSION_CASES = [
    ("mse", {}, metrics.mean_squared_error, real_data),
    ("rmse", {}, metrics.root_mean_squared_error, real_data),
    ("mae", {}, metrics.mean_absolute_error, real_data),
    (
        "quantile",
        {"quantile": 0.1},
        lambda *a, **k: metrics.mean_pinball_loss(*a, alpha=0.1, **k),
        real_data,
    ),
    (
        "quantile",
        {"quantile": 0.5},
        lambda *a, **k: metrics.mean_pinball_loss(*a, alpha=0.5, **k),
        real_data,
    ),
    (
        "quantile",
        {"quantile": 0.9},
        lambda *a, **k: metrics.mean_pinball_loss(*a, alpha=0.9, **k),
        real_data,
    ),
    ("msle", {}, metrics.mean_squared_log_error, positive_data),
    (
        "mape",
        {},
        lambda *a, **k: 100.0 * metrics.mean_absolute_percentage_error(*a, **k),
        away_from_zero_data,
    ),
]


@WEIGHTED
@pytest.mark.parametrize(
    ("loss", "params", "reference", "data"),
    REGRESSION_CASES,
    ids=[f"{c[0]}{c[1] or ''}" for c in REGRESSION_CASES],
)
def test_regression_loss_matches_sklearn(loss, params, reference, data, weighted):
    y, yhat = data()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, loss, weights=w, **params)
    close(got, reference(y, yhat, sample_weight=w))


@WEIGHTED
@pytest.mark.parametrize("power", [-0.5, 0.0, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0])
def test_tweedie_matches_sklearn_mean_tweedie_deviance(power, weighted):
    # y = 0 is in the domain for power < 2: check that 0·log 0 and 0^(2−p) are handled;
    # power ≤ 0 takes any real y (only ŷ > 0 is required for power < 0).
    y, yhat = positive_data(zeros=power < 2)
    if power <= 0:
        y = real_data()[0]
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, "tweedie", weights=w, power=power)
    close(got, metrics.mean_tweedie_deviance(y, yhat, sample_weight=w, power=power))


@WEIGHTED
def test_tweedie_power_1_matches_sklearn_mean_poisson_deviance(weighted):
    y, yhat = positive_data(zeros=True)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, "tweedie", weights=w, power=1.0)
    close(got, metrics.mean_poisson_deviance(y, yhat, sample_weight=w))


@WEIGHTED
def test_tweedie_power_2_matches_sklearn_mean_gamma_deviance(weighted):
    y, yhat = positive_data()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, "tweedie", weights=w, power=2.0)
    close(got, metrics.mean_gamma_deviance(y, yhat, sample_weight=w))


@WEIGHTED
@pytest.mark.parametrize(
    ("loss", "reference"),
    [("mse", metrics.mean_squared_error), ("mae", metrics.mean_absolute_error)],
)
def test_multi_output_regression_matches_sklearn_uniform_average(loss, reference, weighted):
    rng = rng_for(7)
    y = rng.normal(0.0, 1.0, (N, 3)) * np.array([1.0, 5.0, 0.2])
    yhat = y + rng.normal(0.0, 1.0, (N, 3))
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, loss, weights=w)
    close(got, reference(y, yhat, sample_weight=w))
    # the uniform average really is the mean of the per-output values
    per_output = reference(y, yhat, sample_weight=w, multioutput="raw_values")
    close(got, float(np.mean(per_output)))


# ---------------------------------------------------------------- scikit-learn: classification


@WEIGHTED
def test_bce_on_probabilities_matches_sklearn_log_loss(weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    close(losscli.evaluate(y, p, "bce", weights=w), metrics.log_loss(y, p, sample_weight=w))


@WEIGHTED
def test_cross_entropy_on_labels_matches_sklearn_log_loss(weighted):
    k = 4
    y, p = labels(k=k), prob_rows(k=k)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, p, "cross_entropy", weights=w)
    close(got, metrics.log_loss(y, p, sample_weight=w, labels=list(range(k))))


@WEIGHTED
def test_cross_entropy_on_one_hot_columns_matches_sklearn_log_loss(weighted):
    k = 4
    y, p = labels(k=k), prob_rows(k=k)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(np.eye(k)[y], p, "cross_entropy", weights=w)
    close(got, metrics.log_loss(y, p, sample_weight=w, labels=list(range(k))))


@WEIGHTED
def test_brier_matches_sklearn_brier_score_loss(weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    close(
        losscli.evaluate(y, p, "brier", weights=w), metrics.brier_score_loss(y, p, sample_weight=w)
    )


@WEIGHTED
@pytest.mark.parametrize("encoding", ["plus_minus_one", "zero_one"])
def test_hinge_matches_sklearn_hinge_loss(encoding, weighted):
    rng = rng_for(8)
    t = rng.choice([-1.0, 1.0], N)
    s = rng.normal(0.0, 1.5, N)
    y = t if encoding == "plus_minus_one" else (t + 1.0) / 2.0
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, s, "hinge", weights=w)
    close(got, metrics.hinge_loss(y, s, sample_weight=w))
    assert got > 0.1  # enough active rows for the comparison to mean something


@WEIGHTED
def test_multi_hinge_matches_sklearn_multiclass_hinge_loss(weighted):
    k = 5
    y, s = labels(k=k), logits(k=k, scale=1.0)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, s, "multi_hinge", weights=w)
    close(got, metrics.hinge_loss(y, s, labels=list(range(k)), sample_weight=w))


# ---------------------------------------------------------------- SciPy


def random_distributions(seed: int, k: int = 5, zeros: bool = False) -> np.ndarray:
    t = rng_for(seed).dirichlet(np.ones(k), N)
    if zeros:
        t[rng_for(seed + 1).random((N, k)) < 0.3] = 0.0
        t[np.arange(N), rng_for(seed + 2).integers(0, k, N)] += 0.5  # no all-zero row
        t /= t.sum(axis=1, keepdims=True)
    return t


@WEIGHTED
def test_kl_div_matches_scipy_rel_entr(weighted):
    t, p = random_distributions(10), 0.9 * random_distributions(11) + 0.02
    w = sample_weights() if weighted else None
    got = losscli.evaluate(t, p, "kl_div", weights=w)
    close(got, wmean(special.rel_entr(t, p).sum(axis=1), w))
    if not weighted:
        close(got, special.rel_entr(t, p).sum(axis=1).mean())


def test_kl_div_treats_zero_targets_as_zero_contribution():
    t, p = random_distributions(12, zeros=True), 0.9 * random_distributions(13) + 0.02
    assert np.count_nonzero(t == 0) > N // 2
    expected = (special.xlogy(t, t) - special.xlogy(t, p)).sum(axis=1).mean()
    got = losscli.evaluate(t, p, "kl_div")
    assert np.isfinite(got)
    close(got, expected)
    close(got, special.rel_entr(t, p).sum(axis=1).mean())


def test_kl_div_from_logits_matches_scipy_log_softmax():
    t, z = random_distributions(14), logits(15, k=5)
    expected = (special.xlogy(t, t) - t * log_softmax(z)).sum(axis=1).mean()
    close(losscli.evaluate(t, z, "kl_div", from_logits=True), expected)


@WEIGHTED
def test_log_cosh_matches_numpy_for_moderate_errors(weighted):
    rng = rng_for(16)
    y = rng.normal(0.0, 2.0, N)
    yhat = y + rng.uniform(-5.0, 5.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, "log_cosh", weights=w)
    close(got, wmean(np.log(np.cosh(yhat - y)), w))


def test_log_cosh_is_stable_for_huge_errors():
    e = np.concatenate([np.logspace(3, 5, 50), -np.logspace(3, 5, 50)])
    y = np.zeros_like(e)
    rows = losscli.evaluate(y, e, "log_cosh", reduction="none")
    assert np.all(np.isfinite(rows))
    np.testing.assert_allclose(rows, np.abs(e) - np.log(2.0), rtol=RTOL)
    close(losscli.evaluate(y, e, "log_cosh"), float(np.mean(np.abs(e) - np.log(2.0))))


@WEIGHTED
def test_cross_entropy_from_logits_matches_scipy_log_softmax(weighted):
    k = 6
    y, z = labels(k=k), logits(k=k)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "cross_entropy", from_logits=True, weights=w)
    close(got, wmean(-log_softmax(z)[np.arange(N), y], w))


@WEIGHTED
def test_bce_from_logits_matches_scipy_log_expit(weighted):
    y, _ = binary_data()
    z = logits()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "bce", from_logits=True, weights=w)
    expected = -(y * special.log_expit(z) + (1.0 - y) * special.log_expit(-z))
    close(got, wmean(expected, w))


def test_bce_from_logits_is_finite_for_huge_logits():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    z = np.array([1e4, -1e4, -1e4, 1e4])
    rows = losscli.evaluate(y, z, "bce", from_logits=True, reduction="none")
    np.testing.assert_allclose(rows, [0.0, 0.0, 1e4, 1e4], rtol=RTOL, atol=1e-300)


# ---------------------------------------------------------------- the seeds' worked examples
# Each value is checked twice: against its exact expression at 1e-9, and against the
# number the seed prints, rounded to the digits it prints (0.105361 is −log 0.9 to six
# decimals, 4.6e-6 away relatively, so the printed digits are compared, not rel 1e-6).


def seed_value(got: float, printed: str, exact: float) -> None:
    close(got, exact)
    decimals = len(printed.split(".")[1])
    assert round(got, decimals) == pytest.approx(float(printed), rel=1e-12), (got, printed)


def test_seed_examples_regression():
    y, yhat = [1, 2, 3, 4], [1.1, 1.9, 3.2, 3.8]
    seed_value(losscli.evaluate([3, 4], [2, 5], "mse"), "1.0", 1.0)
    seed_value(losscli.evaluate(y, yhat, "mse"), "0.025", (0.01 + 0.01 + 0.04 + 0.04) / 4)
    seed_value(losscli.evaluate(y, yhat, "mae"), "0.15", (0.1 + 0.1 + 0.2 + 0.2) / 4)
    seed_value(
        losscli.evaluate(y, yhat, "huber", delta=1.0),
        "0.0125",
        0.5 * (0.01 + 0.01 + 0.04 + 0.04) / 4,
    )


def test_seed_examples_classification():
    seed_value(losscli.evaluate([1, 0], [0.9, 0.1], "bce"), "0.105361", -np.log(0.9))
    seed_value(
        losscli.evaluate([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], "bce"),
        "0.164252",
        -(np.log(0.9) + np.log(0.8)) / 2,
    )
    z = np.array([2.0, 1.0, 0.1])
    seed_value(
        losscli.evaluate([0], [z], "cross_entropy", from_logits=True),
        "0.417030",
        float(special.logsumexp(z) - z[0]),
    )


def test_seed_examples_imbalanced():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    p = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.2, 0.1, 0.1, 0.2])
    seed_value(
        losscli.evaluate(y, p, "focal", gamma=2.0),
        "0.00730717",
        float(np.mean(binary_focal_rows(y, p, 2.0))),
    )
    seed_value(losscli.evaluate(y, p, "dice"), "0.3199999", 1.0 - (3.4 + 1e-6) / (5.0 + 1e-6))
    seed_value(
        losscli.evaluate(y, p, "weighted_bce", class_weights=[1.0, 5.0]),
        "0.3090068",
        float(np.mean(bce_rows(y, p, w0=1.0, w1=5.0))),
    )


# ---------------------------------------------------------------- closed forms (NumPy)


def huber_rows(e: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(e)
    return np.where(a <= delta, 0.5 * e**2, delta * (a - 0.5 * delta))


@WEIGHTED
@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_matches_closed_form(delta, weighted):
    y, yhat = real_data()
    e = yhat - y
    assert np.any(np.abs(e) <= delta) and np.any(np.abs(e) > delta)
    w = sample_weights() if weighted else None
    close(
        losscli.evaluate(y, yhat, "huber", weights=w, delta=delta), wmean(huber_rows(e, delta), w)
    )


@WEIGHTED
@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5])
def test_smooth_l1_is_huber_divided_by_beta(beta, weighted):
    y, yhat = real_data()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, yhat, "smooth_l1", weights=w, beta=beta)
    close(got, wmean(huber_rows(yhat - y, beta) / beta, w))
    close(got, losscli.evaluate(y, yhat, "huber", weights=w, delta=beta) / beta)


@WEIGHTED
def test_poisson_on_rates_matches_closed_form(weighted):
    y = rng_for(20).poisson(3.0, N).astype(float)
    rate = rng_for(21).uniform(0.2, 6.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, rate, "poisson", weights=w)
    close(got, wmean(rate - y * np.log(rate + 1e-7), w))


@WEIGHTED
def test_poisson_from_logits_matches_closed_form(weighted):
    y = rng_for(22).poisson(3.0, N).astype(float)
    z = rng_for(23).normal(1.0, 1.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "poisson", from_logits=True, weights=w)
    close(got, wmean(np.exp(z) - y * z, w))


@WEIGHTED
def test_gaussian_nll_matches_closed_form(weighted):
    y, mean = real_data()
    var = rng_for(24).uniform(0.05, 4.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, mean, "gaussian_nll", var=var, weights=w)
    close(got, wmean(0.5 * (np.log(var) + (mean - y) ** 2 / var), w))


def binary_focal_rows(y, p, gamma, alpha=None):
    pt = np.where(y == 1, p, 1.0 - p)
    at = 1.0 if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    return -at * (1.0 - pt) ** gamma * np.log(pt)


@WEIGHTED
@pytest.mark.parametrize("alpha", [None, 0.25, 0.8])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_binary_focal_matches_closed_form(gamma, alpha, weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, p, "focal", weights=w, gamma=gamma, alpha=alpha)
    close(got, wmean(binary_focal_rows(y, p, gamma, alpha), w))


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_binary_focal_from_logits_matches_closed_form(alpha):
    y, _ = binary_data()
    z = logits()
    got = losscli.evaluate(y, z, "focal", from_logits=True, gamma=2.0, alpha=alpha)
    close(got, wmean(binary_focal_rows(y, special.expit(z), 2.0, alpha), None))


def test_binary_focal_with_gamma_0_and_no_alpha_is_bce():
    y, p = binary_data()
    close(losscli.evaluate(y, p, "focal", gamma=0.0), losscli.evaluate(y, p, "bce"))


def softmax_focal_rows(y, logp, gamma, cw=None):
    lpy = logp[np.arange(len(y)), y]
    wy = 1.0 if cw is None else np.asarray(cw)[y]
    return -wy * (1.0 - np.exp(lpy)) ** gamma * lpy


@WEIGHTED
@pytest.mark.parametrize("class_weights", [None, [0.5, 1.0, 2.0, 4.0]])
def test_multiclass_focal_matches_softmax_closed_form(class_weights, weighted):
    y, p = labels(), prob_rows()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, p, "focal", weights=w, gamma=2.0, class_weights=class_weights)
    close(got, wmean(softmax_focal_rows(y, np.log(p), 2.0, class_weights), w))


def test_multiclass_focal_from_logits_matches_softmax_closed_form():
    y, z = labels(), logits(k=4)
    cw = [0.5, 1.0, 2.0, 4.0]
    got = losscli.evaluate(y, z, "focal", from_logits=True, gamma=1.5, class_weights=cw)
    close(got, wmean(softmax_focal_rows(y, log_softmax(z), 1.5, cw), None))


def bce_rows(y, p, *, pos_weight=1.0, w0=1.0, w1=1.0, ls=0.0):
    y = y * (1.0 - ls) + ls / 2.0
    return -(w1 * pos_weight * y * np.log(p) + w0 * (1.0 - y) * np.log(1.0 - p))


@WEIGHTED
def test_weighted_bce_matches_closed_form_dividing_by_n(weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, p, "weighted_bce", weights=w, class_weights=[0.3, 4.0])
    close(got, wmean(bce_rows(y, p, w0=0.3, w1=4.0), w))
    if not weighted:
        close(got, float(np.sum(bce_rows(y, p, w0=0.3, w1=4.0)) / N))


@WEIGHTED
@pytest.mark.parametrize(
    "params",
    [{"pos_weight": 3.0}, {"label_smoothing": 0.1}, {"pos_weight": 0.5, "label_smoothing": 0.2}],
    ids=["pos_weight", "label_smoothing", "both"],
)
def test_bce_pos_weight_and_label_smoothing_match_closed_form(params, weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    expected = bce_rows(
        y, p, pos_weight=params.get("pos_weight", 1.0), ls=params.get("label_smoothing", 0.0)
    )
    close(losscli.evaluate(y, p, "bce", weights=w, **params), wmean(expected, w))


def test_bce_with_label_smoothing_from_logits_matches_closed_form():
    y, _ = binary_data()
    z = logits()
    ys = y * 0.85 + 0.075
    expected = -(2.0 * ys * special.log_expit(z) + (1.0 - ys) * special.log_expit(-z))
    got = losscli.evaluate(y, z, "bce", from_logits=True, label_smoothing=0.15, pos_weight=2.0)
    close(got, float(np.mean(expected)))


def test_multilabel_bce_is_mean_over_label_columns():
    rng = rng_for(25)
    y = rng.integers(0, 2, (N, 3)).astype(float)
    p = rng.uniform(0.02, 0.98, (N, 3))
    expected = bce_rows(y, p).mean(axis=1)
    close(losscli.evaluate(y, p, "bce"), float(np.mean(expected)))


def ce_rows(t, logp, *, ls=0.0, cw=None):
    k = t.shape[1]
    t = t * (1.0 - ls) + ls / k
    w = np.ones(k) if cw is None else np.asarray(cw)
    return -np.sum(w * t * logp, axis=1)


@WEIGHTED
@pytest.mark.parametrize("ls", [0.1, 0.3])
def test_cross_entropy_label_smoothing_matches_closed_form(ls, weighted):
    y, z = labels(), logits(k=4)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "cross_entropy", from_logits=True, label_smoothing=ls, weights=w)
    close(got, wmean(ce_rows(np.eye(4)[y], log_softmax(z), ls=ls), w))


def test_cross_entropy_label_smoothing_on_probabilities_matches_closed_form():
    y, p = labels(), prob_rows()
    got = losscli.evaluate(y, p, "cross_entropy", label_smoothing=0.2)
    close(got, wmean(ce_rows(np.eye(4)[y], np.log(p), ls=0.2), None))


@WEIGHTED
def test_cross_entropy_class_weights_mean_divides_by_n(weighted):
    cw = [0.5, 1.0, 2.0, 4.0]
    y, z = labels(), logits(k=4)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "cross_entropy", from_logits=True, class_weights=cw, weights=w)
    rows = ce_rows(np.eye(4)[y], log_softmax(z), cw=cw)
    close(got, wmean(rows, w))
    if not weighted:
        close(got, float(np.sum(rows) / N))
        # …not by Σ w_y as torch does
        assert abs(got - float(np.sum(rows) / np.sum(np.asarray(cw)[y]))) > 1e-3


@WEIGHTED
def test_cross_entropy_soft_targets_with_class_weights_match_closed_form(weighted):
    t, z = random_distributions(26, k=4), logits(k=4)
    cw = [2.0, 1.0, 0.5, 1.0]
    w = sample_weights() if weighted else None
    got = losscli.evaluate(t, z, "cross_entropy", from_logits=True, class_weights=cw, weights=w)
    close(got, wmean(ce_rows(t, log_softmax(z), cw=cw), w))


@WEIGHTED
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_ignore_index_rows_leave_sum_and_n(ignore_index, weighted):
    y, z = labels(), logits(k=4)
    y = y.copy()
    if ignore_index < 0:
        y[::4] = ignore_index
    keep = y != ignore_index
    assert 0 < np.count_nonzero(~keep) < N
    w = sample_weights() if weighted else None
    got = losscli.evaluate(
        y, z, "cross_entropy", from_logits=True, ignore_index=ignore_index, weights=w
    )
    yk = y[keep]
    rows = -log_softmax(z[keep])[np.arange(len(yk)), yk]
    close(got, wmean(rows, None if w is None else w[keep]))


@WEIGHTED
def test_nll_matches_closed_form(weighted):
    cw = [0.5, 1.0, 2.0, 4.0]
    y, logp = labels(), log_softmax(logits(k=4))
    w = sample_weights() if weighted else None
    close(losscli.evaluate(y, logp, "nll", weights=w), wmean(-logp[np.arange(N), y], w))
    got = losscli.evaluate(y, logp, "nll", weights=w, class_weights=cw)
    close(got, wmean(-np.asarray(cw)[y] * logp[np.arange(N), y], w))


@WEIGHTED
def test_perplexity_is_exp_of_mean_cross_entropy(weighted):
    y, z = labels(k=6), logits(k=6)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, z, "perplexity", from_logits=True, weights=w)
    close(got, float(np.exp(wmean(-log_softmax(z)[np.arange(N), y], w))))


@WEIGHTED
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multi_margin_matches_closed_form(margin, weighted):
    k = 5
    y, s = labels(k=k), logits(k=k, scale=1.0)
    sy = s[np.arange(N), y][:, None]
    v = np.maximum(0.0, margin - sy + s)
    v[np.arange(N), y] = 0.0
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, s, "multi_margin", weights=w, margin=margin)
    close(got, wmean(v.sum(axis=1) / k, w))


@WEIGHTED
@pytest.mark.parametrize("encoding", ["plus_minus_one", "zero_one"])
def test_squared_hinge_matches_closed_form(encoding, weighted):
    rng = rng_for(27)
    t = rng.choice([-1.0, 1.0], N)
    s = rng.normal(0.0, 1.5, N)
    y = t if encoding == "plus_minus_one" else (t + 1.0) / 2.0
    w = sample_weights() if weighted else None
    got = losscli.evaluate(y, s, "squared_hinge", weights=w)
    close(got, wmean(np.maximum(0.0, 1.0 - t * s) ** 2, w))


def overlap_score(tp, sy, sp, loss, alpha=0.5, beta=0.5, s=1e-6):
    if loss == "dice":
        return (2.0 * tp + s) / (sy + sp + s)
    if loss == "iou":
        return (tp + s) / (sy + sp - tp + s)
    return (tp + s) / (tp + alpha * (sp - tp) + beta * (sy - tp) + s)


OVERLAP_CASES = [
    ("dice", {}),
    ("iou", {}),
    ("tversky", {}),
    ("tversky", {"alpha": 0.3, "beta": 0.7}),
    ("dice", {"smooth": 1.0}),
]


@pytest.mark.parametrize(
    ("loss", "params"), OVERLAP_CASES, ids=[f"{c[0]}{c[1] or ''}" for c in OVERLAP_CASES]
)
def test_overlap_loss_binary_is_ratio_of_global_sums(loss, params):
    y, p = binary_data()
    kw = {
        "s": params.get("smooth", 1e-6),
        "alpha": params.get("alpha", 0.5),
        "beta": params.get("beta", 0.5),
    }
    expected = 1.0 - overlap_score(np.sum(y * p), np.sum(y), np.sum(p), loss, **kw)
    got = losscli.evaluate(y, p, loss, **params)
    close(got, expected)
    per_row_mean = 1.0 - np.mean(overlap_score(y * p, y, p, loss, **kw))
    assert abs(got - per_row_mean) > 1e-3  # not a mean of per-row ratios


@pytest.mark.parametrize(
    ("loss", "params"), OVERLAP_CASES, ids=[f"{c[0]}{c[1] or ''}" for c in OVERLAP_CASES]
)
def test_overlap_loss_k_classes_is_mean_over_classes(loss, params):
    k = 4
    y, p = labels(k=k), prob_rows(k=k)
    t = np.eye(k)[y]
    kw = {
        "s": params.get("smooth", 1e-6),
        "alpha": params.get("alpha", 0.5),
        "beta": params.get("beta", 0.5),
    }
    expected = 1.0 - np.mean(overlap_score((t * p).sum(0), t.sum(0), p.sum(0), loss, **kw))
    close(losscli.evaluate(y, p, loss, **params), expected)
    close(losscli.evaluate(t, p, loss, **params), expected)  # K mask columns: same sums


@pytest.mark.parametrize("loss", ["dice", "iou", "tversky"])
def test_overlap_loss_from_logits_matches_closed_form(loss):
    y, _ = binary_data()
    z = logits()
    p = special.expit(z)
    expected = 1.0 - overlap_score(np.sum(y * p), np.sum(y), np.sum(p), loss)
    close(losscli.evaluate(y, z, loss, from_logits=True), expected)
    k = 4
    yk, zk = labels(k=k), logits(k=k)
    t, pk = np.eye(k)[yk], special.softmax(zk, axis=1)
    expected_k = 1.0 - np.mean(overlap_score((t * pk).sum(0), t.sum(0), pk.sum(0), loss))
    close(losscli.evaluate(yk, zk, loss, from_logits=True), expected_k)


@WEIGHTED
@pytest.mark.parametrize("margin", [1.0, 2.0])
def test_contrastive_matches_closed_form(margin, weighted):
    rng = rng_for(28)
    y = rng.integers(0, 2, N).astype(float)
    d = rng.uniform(0.0, 2.5, N)
    w = sample_weights() if weighted else None
    expected = 0.5 * (y * d**2 + (1.0 - y) * np.maximum(0.0, margin - d) ** 2)
    close(losscli.evaluate(y, d, "contrastive", weights=w, margin=margin), wmean(expected, w))


@WEIGHTED
def test_triplet_on_distances_matches_closed_form(weighted):
    rng = rng_for(29)
    dap, dan = rng.uniform(0.0, 3.0, N), rng.uniform(0.0, 3.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(None, (dap, dan), "triplet", weights=w, margin=0.5)
    close(got, wmean(np.maximum(0.0, dap - dan + 0.5), w))


@WEIGHTED
def test_triplet_on_embeddings_uses_euclidean_distance(weighted):
    rng = rng_for(30)
    a, p, n = (rng.normal(0.0, 1.0, (N, 8)) for _ in range(3))
    dap, dan = np.sqrt(((a - p) ** 2).sum(1)), np.sqrt(((a - n) ** 2).sum(1))
    w = sample_weights() if weighted else None
    got = losscli.evaluate(None, (a, p, n), "triplet", weights=w)
    close(got, wmean(np.maximum(0.0, dap - dan + 1.0), w))


@WEIGHTED
@pytest.mark.parametrize("margin", [0.0, 0.7])
def test_margin_ranking_matches_closed_form(margin, weighted):
    rng = rng_for(31)
    t = rng.choice([-1.0, 1.0], N)
    x1, x2 = rng.normal(0.0, 1.0, N), rng.normal(0.0, 1.0, N)
    w = sample_weights() if weighted else None
    got = losscli.evaluate(t, (x1, x2), "margin_ranking", weights=w, margin=margin)
    close(got, wmean(np.maximum(0.0, -t * (x1 - x2) + margin), w))


@WEIGHTED
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_matches_closed_form(margin, weighted):
    rng = rng_for(32)
    t = rng.choice([-1.0, 1.0], N)
    x1, x2 = rng.normal(0.0, 1.0, (N, 6)), rng.normal(0.0, 1.0, (N, 6))
    cos = (x1 * x2).sum(1) / np.sqrt(((x1**2).sum(1) + 1e-12) * ((x2**2).sum(1) + 1e-12))
    w = sample_weights() if weighted else None
    expected = np.where(t == 1, 1.0 - cos, np.maximum(0.0, cos - margin))
    got = losscli.evaluate(t, (x1, x2), "cosine_embedding", weights=w, margin=margin)
    close(got, wmean(expected, w))


def test_cosine_embedding_zero_vector_is_finite():
    x1 = np.array([[0.0, 0.0], [1.0, 0.0]])
    x2 = np.array([[1.0, 2.0], [0.0, 0.0]])
    rows = losscli.evaluate([1, -1], (x1, x2), "cosine_embedding", reduction="none")
    np.testing.assert_allclose(rows, [1.0, 0.0], rtol=RTOL)
