"""D² scores against scikit-learn's ``d2_*`` functions, and how they stream.

Every comparison is at 1e-9 relative on seeded random data (N = 200), with and
without sample weights, over the parameters scikit-learn takes (Tweedie power,
pinball alpha, the class labels of multi-class log loss and Brier).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

import losscli
from losscli.kernel.numerics import sigmoid, softmax

N = 200
RTOL = 1e-9
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def weights(weighted: bool, seed: int = 99) -> np.ndarray | None:
    return np.random.default_rng(seed).uniform(0.1, 3.0, N) if weighted else None


def close(got: float, expected: float, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0)


def tweedie_data(power: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if power == 0:
        y = rng.normal(0.0, 2.0, N)
        return y, y + rng.normal(0.0, 1.0, N)
    y = rng.gamma(2.0, 1.5, N)
    if 1 <= power < 2:
        y[::5] = 0.0  # exact zeros: compound Poisson–gamma targets
    return y, y * rng.uniform(0.5, 1.5, N) + 0.1


@WEIGHTED
@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0, 3.0, -1.0, 1.2])
def test_d2_tweedie_matches_sklearn(power, weighted):
    y, p = tweedie_data(power)
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_tweedie", power=power, weights=w),
        metrics.d2_tweedie_score(y, p, power=power, sample_weight=w),
    )


@WEIGHTED
def test_d2_tweedie_power_0_is_r2(weighted):
    y, p = tweedie_data(0.0, seed=3)
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_tweedie", power=0, weights=w),
        metrics.r2_score(y, p, sample_weight=w),
    )


def test_d2_tweedie_averages_the_scores_of_several_target_columns():
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, 1.0, (N, 3))
    p = y * rng.uniform(0.6, 1.4, (N, 3))
    w = weights(True)
    per_column = [
        metrics.d2_tweedie_score(y[:, j], p[:, j], power=1.5, sample_weight=w) for j in range(3)
    ]
    close(losscli.evaluate(y, p, "d2_tweedie", power=1.5, weights=w), np.mean(per_column))


@WEIGHTED
@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.9])
def test_d2_pinball_matches_sklearn(q, weighted):
    rng = np.random.default_rng(5)
    y = rng.normal(0.0, 2.0, N)
    p = y + rng.normal(0.0, 1.0, N)
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_pinball", quantile=q, weights=w),
        metrics.d2_pinball_score(y, p, alpha=q, sample_weight=w),
    )


@WEIGHTED
def test_d2_pinball_of_several_columns_is_sklearns_uniform_average(weighted):
    rng = np.random.default_rng(6)
    y = rng.normal(0.0, 2.0, (N, 2))
    p = y + rng.normal(0.0, 1.0, (N, 2))
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_pinball", quantile=0.7, weights=w),
        metrics.d2_pinball_score(y, p, alpha=0.7, sample_weight=w),
    )


@pytest.mark.parametrize(
    "case", ["ties-even", "integer-weights", "zero-weights", "odd"], ids=lambda c: c
)
def test_d2_pinball_null_quantile_matches_sklearn_where_it_averages(case):
    # the averaged inverted CDF takes the mean of two values when q·W falls on a
    # cumulative weight: even counts, integer weights, and rows of zero weight
    rng = np.random.default_rng(7)
    n = {"odd": 41}.get(case, 40)
    y = rng.integers(0, 6, n).astype(float)
    p = y + rng.normal(0.0, 1.0, n)
    w = None
    if case == "integer-weights":
        w = rng.integers(1, 4, n).astype(float)
    elif case == "zero-weights":
        w = rng.integers(0, 3, n).astype(float)
        w[0] = 1.0
    for q in (0.25, 0.5, 0.75):
        close(
            losscli.evaluate(y, p, "d2_pinball", quantile=q, weights=w),
            metrics.d2_pinball_score(y, p, alpha=q, sample_weight=w),
        )


@WEIGHTED
def test_d2_absolute_error_matches_sklearn(weighted):
    rng = np.random.default_rng(8)
    y = rng.standard_t(3, N)
    p = y + rng.normal(0.0, 1.0, N)
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_absolute_error", weights=w),
        metrics.d2_absolute_error_score(y, p, sample_weight=w),
    )
    close(
        losscli.evaluate(y, p, "d2_absolute_error", weights=w),
        losscli.evaluate(y, p, "d2_pinball", quantile=0.5, weights=w),
        rtol=1e-13,
    )


def binary_data(seed: int = 9) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=N) < 0.35).astype(float)
    return y, np.clip(0.35 + 0.4 * (y - 0.35) + rng.normal(0, 0.2, N), 0.02, 0.98)


def multiclass_data(seed: int = 10, k: int = 4, absent: int | None = 2):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, N)
    if absent is not None:  # a class no row has: sklearn needs labels= to know it
        labels[labels == absent] = 0
    probs = rng.dirichlet(np.ones(k) * 2.0, N)
    probs[np.arange(N), labels] += 0.5
    return labels, probs / probs.sum(axis=1, keepdims=True)


@WEIGHTED
def test_d2_log_loss_binary_matches_sklearn(weighted):
    y, p = binary_data()
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_log_loss", weights=w),
        metrics.d2_log_loss_score(y, p, sample_weight=w),
    )


@WEIGHTED
def test_d2_log_loss_multiclass_with_labels_matches_sklearn(weighted):
    labels, probs = multiclass_data()
    w = weights(weighted)
    close(
        losscli.evaluate(labels, probs, "d2_log_loss", weights=w),
        metrics.d2_log_loss_score(labels, probs, sample_weight=w, labels=[0, 1, 2, 3]),
    )


@WEIGHTED
def test_d2_brier_matches_sklearn(weighted):
    y, p = binary_data(11)
    labels, probs = multiclass_data(12, k=3, absent=None)
    w = weights(weighted)
    close(
        losscli.evaluate(y, p, "d2_brier", weights=w),
        metrics.d2_brier_score(y, p, sample_weight=w),
    )
    close(
        losscli.evaluate(labels, probs, "d2_brier", weights=w),
        metrics.d2_brier_score(labels, probs, sample_weight=w, labels=[0, 1, 2]),
    )
    labels, probs = multiclass_data(13)
    close(
        losscli.evaluate(labels, probs, "d2_brier", weights=w),
        metrics.d2_brier_score(labels, probs, sample_weight=w, labels=[0, 1, 2, 3]),
    )


def test_classification_d2_from_logits_is_d2_of_the_probabilities():
    rng = np.random.default_rng(14)
    z = rng.normal(0, 2, N)
    y = (rng.uniform(size=N) < sigmoid(z)).astype(float)
    zk = rng.normal(0, 2, (N, 3))
    labels = rng.integers(0, 3, N)
    w = weights(True)
    for name, fn in (
        ("d2_log_loss", metrics.d2_log_loss_score),
        ("d2_brier", metrics.d2_brier_score),
    ):
        close(
            losscli.evaluate(y, z, name, from_logits=True, weights=w),
            fn(y, sigmoid(z), sample_weight=w),
        )
        close(
            losscli.evaluate(labels, zk, name, from_logits=True, weights=w),
            fn(labels, softmax(zk), sample_weight=w, labels=[0, 1, 2]),
        )


def test_the_null_model_scores_zero_and_a_perfect_model_one():
    y, _ = tweedie_data(1.5)
    mean = np.full(N, y.mean())
    assert losscli.evaluate(y, mean, "d2_tweedie") == pytest.approx(0.0, abs=1e-12)
    assert losscli.evaluate(y, y + 0.0, "d2_absolute_error") == 1.0
    yb, _ = binary_data()
    assert losscli.evaluate(yb, np.full(N, yb.mean()), "d2_brier") == pytest.approx(0, abs=1e-12)
    assert losscli.evaluate(yb, np.full(N, yb.mean()), "d2_log_loss") == pytest.approx(0, abs=1e-12)


def test_constant_targets_follow_sklearns_force_finite():
    y = np.full(10, 2.0)
    assert losscli.evaluate(y, y.copy(), "d2_tweedie", power=0) == 1.0
    assert losscli.evaluate(y, y + 1.0, "d2_tweedie", power=0) == 0.0
    assert losscli.evaluate(y, y + 1.0, "d2_pinball") == metrics.d2_pinball_score(y, y + 1.0)
    assert losscli.evaluate([3.0], [2.0], "d2_absolute_error") == 0.0  # one row
    g = losscli.gradient(y, y + 1.0, "d2_tweedie", power=0)
    assert np.all(g == 0)  # the score is the constant 0 there


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0, -1.0])
def test_targets_constant_up_to_rounding_are_constant(power):
    # 0.1 summed 30 times is not 30 × 0.1: the mean is off by rounding, not by data
    y = np.full(30, 0.1)
    assert losscli.evaluate(y, y + 0.05, "d2_tweedie", power=power) == 0.0
    assert losscli.evaluate(y, y.copy(), "d2_tweedie", power=power) == 1.0


def test_a_single_class_has_a_null_deviance_of_zero():
    y = np.ones(5)
    p = np.array([0.9, 0.8, 0.7, 0.95, 0.6])
    assert losscli.evaluate(y, p, "d2_log_loss") == 0.0
    assert losscli.evaluate(y, p, "d2_brier") == 0.0
    assert losscli.evaluate([0, 0, 0], np.array([[0.9, 0.1]] * 3), "d2_log_loss") == 0.0


def test_d2_tweedie_null_deviance_streams_without_cancellation():
    # targets 1e8 ± 1: Σwy² − (Σwy)²/Σw would lose every digit; the mergeable
    # (Σw, ȳ, Σ w d(y, ȳ)) statistic keeps sklearn's accuracy over 1000 chunks
    rng = np.random.default_rng(15)
    n = 20000
    y = 1e8 + rng.normal(0.0, 1.0, n)
    p = y + rng.normal(0.0, 0.5, n)
    acc = losscli.Accumulator("d2_tweedie", power=0)
    for lo in range(0, n, 20):
        acc.update(y[lo : lo + 20], p[lo : lo + 20])
    close(acc.value(), metrics.r2_score(y, p), rtol=1e-9)
    y2 = 1e6 + rng.gamma(5.0, 1.0, n)  # and a Poisson deviance far from 0
    p2 = y2 + rng.normal(0.0, 0.5, n)
    acc = losscli.Accumulator("d2_tweedie", power=1)
    for lo in range(0, n, 20):
        acc.update(y2[lo : lo + 20], p2[lo : lo + 20])
    close(acc.value(), metrics.d2_tweedie_score(y2, p2, power=1), rtol=1e-7)


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0, 3.0, -1.0])
def test_mean_deviance_merges_exactly(power):
    from losscli.losses.deviance import MeanDeviance, tweedie_unit_deviance

    y, _ = tweedie_data(power, seed=16)
    w = weights(True)
    whole = MeanDeviance.of(y, w, power)
    parts = [
        MeanDeviance.of(y[a:b], w[a:b], power) for a, b in ((0, 1), (1, 77), (77, 78), (78, N))
    ]
    merged = sum(parts, 0)
    direct = np.sum(w * tweedie_unit_deviance(y, np.average(y, weights=w), power))
    close(merged.weight, w.sum(), rtol=1e-14)
    close(merged.mean, np.average(y, weights=w), rtol=1e-13)
    close(merged.dev, direct, rtol=1e-11)
    close(whole.dev, direct, rtol=1e-11)
    draw = MeanDeviance.resampler(np.array([*parts, 0], dtype=object))
    twice = draw(np.array([2, 0, 1, 2, 1]))
    naive = parts[0] + parts[0] + parts[2] + parts[3] + parts[3]
    close(twice.weight, naive.weight, rtol=1e-14)
    close(twice.dev, naive.dev, rtol=1e-11)


def test_collected_resampler_repeats_each_drawn_unit():
    from losscli.kernel.streaming import Collected

    units = np.empty(4, dtype=object)
    units[:] = [Collected(np.array([1.0, 2.0])), Collected(), 0, Collected(np.array([3.0]))]
    draw = Collected.resampler(units)
    np.testing.assert_array_equal(draw(np.array([2, 5, 0, 1])).array(), [1, 2, 1, 2, 3])
    np.testing.assert_array_equal(draw(np.array([0, 0, 0, 3])).array(), [3, 3, 3])


def test_d2_tweedie_with_negative_power_needs_a_positive_mean():
    with pytest.raises(losscli.InputError, match="positive mean target"):
        losscli.evaluate([-3.0, 1.0], [0.5, 0.5], "d2_tweedie", power=-1)


def test_d2_pinball_quantile_uses_the_shared_parameter_range():
    with pytest.raises(losscli.ParamError, match="quantile"):
        losscli.evaluate([1.0, 2.0], [1.0, 2.0], "d2_pinball", quantile=1.0)


def test_classification_d2_refuses_multilabel_targets():
    y = np.array([[0, 1], [1, 0], [1, 1.0]])
    p = np.full((3, 2), 0.5)
    with pytest.raises(losscli.InputError, match="one label column") as info:
        losscli.evaluate(y, p, "d2_log_loss")
    assert "multilabel targets are not supported" in info.value.hint
