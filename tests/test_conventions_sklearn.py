"""``convention="sklearn"`` against scikit-learn's metrics themselves.

Class weights are given to scikit-learn the way it takes them: as sample weights
from ``compute_sample_weight``; p = 0 and 1 hit its float64-eps clipping.
"""

from __future__ import annotations

import numpy as np
import pytest

sklearn_metrics = pytest.importorskip("sklearn.metrics")
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

import losscli  # noqa: E402

N = 200
RTOL = 1e-12


def rng(seed):
    return np.random.default_rng(seed)


def sk(loss, y, p, **kw):
    return losscli.evaluate(y, p, loss, convention="sklearn", **kw)


def test_log_loss_clips_at_float64_eps_like_sklearn():
    r = rng(1)
    y = r.integers(0, 2, N).astype(float)
    p = r.uniform(0, 1, N)
    p[:6] = [0.0, 1.0, 0.0, 1.0, 1e-300, 1 - 1e-17]
    y[:6] = [1, 0, 0, 1, 1, 0]
    w = r.uniform(0.1, 3, N)
    want = sklearn_metrics.log_loss(y, p, sample_weight=w)
    assert sk("bce", y, p, weights=w) == pytest.approx(want, rel=RTOL)


@pytest.mark.parametrize("loss", ["bce", "weighted_bce"])
def test_binary_class_weights_are_sklearns_sample_weights(loss):
    r = rng(2)
    y = r.integers(0, 2, N).astype(float)
    p = r.uniform(0.01, 0.99, N)
    cw = {0: 0.7, 1: 4.0}
    want = sklearn_metrics.log_loss(y, p, sample_weight=compute_sample_weight(cw, y))
    assert sk(loss, y, p, class_weights=(0.7, 4.0)) == pytest.approx(want, rel=RTOL)


def test_multiclass_log_loss_with_class_weights_matches_sklearn():
    r = rng(3)
    k = 4
    y = r.integers(0, k, N)
    p = r.dirichlet(np.ones(k), N)
    p[0] = [1.0, 0.0, 0.0, 0.0]
    y[0] = 1  # p_y = 0: clipped at eps
    cw = r.uniform(0.2, 3.0, k)
    sw = compute_sample_weight(dict(enumerate(cw)), y)
    want = sklearn_metrics.log_loss(y, p, sample_weight=sw, labels=list(range(k)))
    got = sk("cross_entropy", y.astype(float), p, class_weights=tuple(cw))
    assert got == pytest.approx(want, rel=RTOL)


def test_mape_is_a_fraction_with_float64_eps():
    r = rng(4)
    y = r.normal(0, 2, N)
    y[:3] = 0.0
    yhat = y + r.normal(0, 1, N)
    yhat[0] = 0.0
    want = sklearn_metrics.mean_absolute_percentage_error(y, yhat)
    assert sk("mape", y, yhat) == pytest.approx(want, rel=RTOL)


def test_tweedie_defaults_to_power_0_like_sklearn():
    r = rng(5)
    y = r.uniform(0, 4, N)
    yhat = r.uniform(0.1, 4, N)
    assert sk("tweedie", y, yhat) == pytest.approx(
        sklearn_metrics.mean_tweedie_deviance(y, yhat), rel=RTOL
    )
    assert sk("tweedie", y, yhat, power=1.5) == pytest.approx(
        sklearn_metrics.mean_tweedie_deviance(y, yhat, power=1.5), rel=RTOL
    )


@pytest.mark.parametrize(
    ("loss", "fn", "params", "sk_kw"),
    [
        ("mse", "mean_squared_error", {}, {}),
        ("rmse", "root_mean_squared_error", {}, {}),
        ("mae", "mean_absolute_error", {}, {}),
        ("quantile", "mean_pinball_loss", {"quantile": 0.8}, {"alpha": 0.8}),
    ],
)
def test_weighted_regression_metrics_match_sklearn(loss, fn, params, sk_kw):
    r = rng(6)
    y = r.normal(0, 2, (N, 2))
    yhat = y + r.normal(0, 1, (N, 2))
    w = r.uniform(0.1, 3, N)
    want = getattr(sklearn_metrics, fn)(y, yhat, sample_weight=w, **sk_kw)
    assert sk(loss, y, yhat, weights=w, **params) == pytest.approx(want, rel=RTOL)


def test_msle_brier_and_hinge_match_sklearn():
    r = rng(7)
    y = r.uniform(0, 5, N)
    yhat = r.uniform(0, 5, N)
    assert sk("msle", y, yhat) == pytest.approx(
        sklearn_metrics.mean_squared_log_error(y, yhat), rel=RTOL
    )
    labels = r.integers(0, 2, N).astype(float)
    p = r.uniform(0, 1, N)
    assert sk("brier", labels, p) == pytest.approx(
        sklearn_metrics.brier_score_loss(labels, p), rel=RTOL
    )
    s = r.normal(0, 2, N)
    assert sk("hinge", labels, s) == pytest.approx(sklearn_metrics.hinge_loss(labels, s), rel=RTOL)
    k = 4
    y_mc = r.integers(0, k, N)
    scores = r.normal(0, 1, (N, k))
    want = sklearn_metrics.hinge_loss(y_mc, scores, labels=list(range(k)))
    assert sk("multi_hinge", y_mc.astype(float), scores) == pytest.approx(want, rel=RTOL)
