"""Numerical edge cases: extreme logits, stable log-cosh, clipping."""

from __future__ import annotations

import numpy as np
import pytest

import losscli

Z = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])


@pytest.mark.parametrize("loss", ["bce", "focal", "brier", "dice"])
def test_binary_logits_of_1e4_are_finite(loss):
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    value = losscli.evaluate(y, Z, loss, from_logits=True)
    grad = losscli.gradient(y, Z, loss, from_logits=True)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_bce_logits_value_at_1e4_is_exact():
    # y=1 at z=-1e4: −log σ(−1e4) = 1e4 (+ e^-1e4); y=0 at z=1e4: the same.
    assert losscli.evaluate([1.0, 0.0], [-1e4, 1e4], "bce", from_logits=True) == pytest.approx(
        1e4, rel=1e-12
    )
    g = losscli.gradient([1.0, 0.0], [-1e4, 1e4], "bce", from_logits=True)
    np.testing.assert_allclose(g, [-0.5, 0.5])


def test_focal_logits_at_1e4():
    # wrong side, γ=2: (1 − p_t)^γ → 1, −log p_t = 1e4
    assert losscli.evaluate([1.0], [-1e4], "focal", from_logits=True) == pytest.approx(
        1e4, rel=1e-12
    )
    # right side: loss and gradient underflow to exactly 0, not NaN
    assert losscli.evaluate([1.0], [1e4], "focal", from_logits=True) == 0.0
    assert losscli.gradient([1.0], [1e4], "focal", from_logits=True)[0] == 0.0


@pytest.mark.parametrize("loss", ["cross_entropy", "focal"])
def test_softmax_logits_of_1e4_are_finite(loss):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.0, 0.0, 1e4]])
    y = np.array([1, 1, 0])
    value = losscli.evaluate(y, z, loss, from_logits=True)
    grad = losscli.gradient(y, z, loss, from_logits=True)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    if loss == "cross_entropy":
        assert value == pytest.approx((2e4 + 0 + 1e4) / 3, rel=1e-12)


def test_kl_div_logits_of_1e4_are_finite():
    t = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    assert np.isfinite(losscli.evaluate(t, z, "kl_div", from_logits=True))
    assert np.all(np.isfinite(losscli.gradient(t, z, "kl_div", from_logits=True)))


def test_poisson_log_rate_of_minus_1e4_is_finite():
    v = losscli.evaluate([3.0, 0.0], [-1e4, -1e4], "poisson", from_logits=True)
    assert v == pytest.approx((3e4 + 0.0) / 2, rel=1e-12)
    assert np.all(
        np.isfinite(losscli.gradient([3.0, 0.0], [-1e4, -1e4], "poisson", from_logits=True))
    )


def test_poisson_log_rate_that_overflows_is_an_input_error_not_inf():
    # e^(1e4) exceeds float64: no finite answer exists, so the row is named instead.
    with pytest.raises(losscli.InputError, match="row 1"):
        losscli.evaluate([3.0, 0.0], [1.0, 1e4], "poisson", from_logits=True)


@pytest.mark.parametrize("e", [1e3, 1e4, 1e5, -1e5])
def test_log_cosh_is_stable_for_large_errors(e):
    v = losscli.evaluate([0.0], [e], "log_cosh")
    assert v == pytest.approx(abs(e) - np.log(2), rel=1e-15)
    assert losscli.gradient([0.0], [e], "log_cosh")[0] == pytest.approx(np.sign(e))


def test_probabilities_are_clipped_at_eps():
    # p = 0 for a positive: −log(1e-7) = 16.118…
    assert losscli.evaluate([1.0], [0.0], "bce") == pytest.approx(-np.log(1e-7), rel=1e-12)
    assert losscli.evaluate([1.0], [0.0], "bce", eps=1e-3) == pytest.approx(
        -np.log(1e-3), rel=1e-12
    )
    assert losscli.gradient([1.0], [0.0], "bce")[0] == 0.0  # clipped: no gradient


def test_empty_mask_predicted_empty_scores_zero():
    assert losscli.evaluate([0.0, 0.0], [0.0, 0.0], "dice") == 0.0
    assert losscli.evaluate([0.0, 0.0], [0.0, 0.0], "iou") == 0.0
    assert losscli.evaluate([0.0, 0.0], [0.0, 0.0], "tversky") == 0.0


def test_perplexity_that_overflows_float64_is_an_input_error():
    z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    with pytest.raises(losscli.InputError, match="perplexity overflows"):
        losscli.evaluate([1, 0], z, "perplexity", from_logits=True)
    assert losscli.evaluate([1, 0], z, "cross_entropy", from_logits=True) == pytest.approx(2e4)


def test_cross_entropy_values_from_labels_build_no_one_hot_rows(monkeypatch):
    # The value reads p_y per row; only the gradient needs the n×K one-hot target.
    import losscli
    import losscli.losses.multiclass as multiclass

    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, size=50)
    w = [0.5, 1.0, 2.0, 1.5]
    expected = -np.log(p[np.arange(50), y])
    real_one_hot = multiclass.one_hot

    def refused(*args):
        raise AssertionError("one-hot rows built for a value")

    monkeypatch.setattr(multiclass, "one_hot", refused)
    assert losscli.evaluate(y, p, "cross_entropy") == pytest.approx(expected.mean(), rel=1e-12)
    weighted = np.asarray(w)[y] * expected
    got = losscli.evaluate(y, p, "cross_entropy", class_weights=w)
    assert got == pytest.approx(weighted.mean(), rel=1e-12)
    torch_mean = weighted.sum() / np.asarray(w)[y].sum()  # PyTorch divides by Σ w_y
    got = losscli.evaluate(
        y, p, "cross_entropy", class_weights=w, convention="torch", from_logits=False
    )
    assert got == pytest.approx(torch_mean, rel=1e-12)
    with pytest.raises(AssertionError, match="one-hot rows"):
        losscli.gradient(y, p, "cross_entropy")
    monkeypatch.setattr(multiclass, "one_hot", real_one_hot)
    g = losscli.gradient(y, p, "cross_entropy")
    t = np.eye(4)[y]
    np.testing.assert_allclose(g, -t / p / 50, rtol=1e-12)
