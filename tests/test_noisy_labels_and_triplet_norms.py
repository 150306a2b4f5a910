"""Poly-1 and generalized cross-entropy against optax's and Keras' definitions, and the
triplet loss's ``p`` and ``swap`` against torch's TripletMarginLoss (autograd included).

Poly-1 (Leng et al. 2022): CE + ε·Σ_c t_c(1 − p_c) (optax poly_loss_cross_entropy);
GCE (Zhang & Sabuncu 2018): (1 − p_y^q)/q (Keras categorical_generalized_cross_entropy).
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli

N = 128
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def weights_or_none(weighted: bool) -> np.ndarray | None:
    return rng_for(99).uniform(0.1, 3.0, N) if weighted else None


def wmean(rows, w):
    return float(np.mean(rows) if w is None else np.sum(w * rows) / np.sum(w))


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def classes(seed: int = 0, k: int = 5):
    rng = rng_for(seed)
    return rng.integers(0, k, N), rng.normal(0, 2.5, (N, k))


# ---------------------------------------------------------------- Poly-1


def optax_poly1(logits, labels, epsilon):
    """optax.poly_loss_cross_entropy, in NumPy: softmax CE + ε·Σ labels·(1 − softmax)."""
    logp = log_softmax(logits)
    return -np.sum(labels * logp, axis=1) + epsilon * np.sum(labels * (1 - np.exp(logp)), axis=1)


@WEIGHTED
@pytest.mark.parametrize("epsilon", [2.0, 1.0, -1.0, 0.0])
def test_poly1_matches_optax_on_logits(weighted, epsilon):
    labels, z = classes(1)
    w = weights_or_none(weighted)
    onehot = np.eye(5)[labels]
    got = losscli.evaluate(labels, z, "poly1", epsilon=epsilon, from_logits=True, weights=w)
    np.testing.assert_allclose(got, wmean(optax_poly1(z, onehot, epsilon), w), rtol=1e-12)
    soft = rng_for(2).dirichlet(np.ones(5), N)
    got = losscli.evaluate(soft, z, "poly1", epsilon=epsilon, from_logits=True)
    np.testing.assert_allclose(got, np.mean(optax_poly1(z, soft, epsilon)), rtol=1e-12)


def test_poly1_with_epsilon_zero_is_cross_entropy_and_clips_probabilities():
    labels, z = classes(3)
    p = np.exp(log_softmax(z))
    np.testing.assert_allclose(
        losscli.evaluate(labels, p, "poly1", epsilon=0.0),
        losscli.evaluate(labels, p, "cross_entropy"),
        rtol=1e-12,
    )
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    py = clipped[np.arange(N), labels]
    np.testing.assert_allclose(
        losscli.evaluate(labels, p, "poly1"), np.mean(-np.log(py) + 2.0 * (1 - py)), rtol=1e-12
    )


def test_poly1_label_smoothing_smooths_both_terms():
    labels, z = classes(4)
    t = np.eye(5)[labels] * 0.9 + 0.1 / 5
    got = losscli.evaluate(labels, z, "poly1", label_smoothing=0.1, from_logits=True)
    np.testing.assert_allclose(got, np.mean(optax_poly1(z, t, 2.0)), rtol=1e-12)


def test_poly1_epsilon_below_minus_one_is_refused():
    with pytest.raises(losscli.ParamError, match="epsilon"):
        losscli.evaluate([0], [[0.5, 0.5]], "poly1", epsilon=-2.0)


# ---------------------------------------------------------------- generalized cross-entropy


def keras_gce(y_true, y_pred, q):
    """keras.losses.categorical_generalized_cross_entropy, in NumPy."""
    p = np.sum(np.eye(y_pred.shape[1])[y_true] * y_pred, axis=-1)
    return (1 - p**q) / q


@WEIGHTED
@pytest.mark.parametrize("q", [0.7, 0.5, 0.1, 1.0])
def test_gce_matches_keras_on_probabilities(weighted, q):
    labels, z = classes(5)
    p = np.exp(log_softmax(z / 3))  # stays inside the clipping range
    w = weights_or_none(weighted)
    got = losscli.evaluate(labels, p, "gce", q=q, weights=w)
    np.testing.assert_allclose(got, wmean(keras_gce(labels, p, q), w), rtol=1e-12)
    got = losscli.evaluate(labels, z / 3, "gce", q=q, from_logits=True, weights=w)
    np.testing.assert_allclose(got, wmean(keras_gce(labels, p, q), w), rtol=1e-10)


def test_gce_limits_are_cross_entropy_and_one_minus_p():
    labels, z = classes(6)
    ce = losscli.evaluate(labels, z, "cross_entropy", from_logits=True)
    np.testing.assert_allclose(
        losscli.evaluate(labels, z, "gce", q=1e-7, from_logits=True), ce, rtol=1e-5
    )
    py = np.exp(log_softmax(z))[np.arange(N), labels]
    np.testing.assert_allclose(
        losscli.evaluate(labels, z, "gce", q=1.0, from_logits=True), np.mean(1 - py), rtol=1e-12
    )
    with pytest.raises(losscli.ParamError, match="q"):
        losscli.evaluate(labels, z, "gce", q=0.0, from_logits=True)


@pytest.mark.parametrize("loss", ["poly1_cross_entropy", "generalized_cross_entropy"])
def test_huge_logits_give_finite_values_and_gradients(loss):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, -1e4]])
    labels = np.array([1, 0, 2])
    soft = np.array([[0.5, 0.0, 0.5], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0]])
    for target in (labels, soft):
        assert np.isfinite(losscli.evaluate(target, z, loss, from_logits=True))
        assert np.all(np.isfinite(losscli.gradient(target, z, loss, from_logits=True)))


# ---------------------------------------------------------------- triplet p and swap


def triplets(seed: int = 7, d: int = 6):
    rng = rng_for(seed)
    a = rng.normal(size=(N, d))
    pos = a + rng.normal(0, 0.6, (N, d))
    neg = rng.normal(size=(N, d))
    neg[::3] = pos[::3] + rng.normal(0, 0.4, (len(neg[::3]), d))  # swap changes these rows
    return a, pos, neg


def test_triplet_p_norm_and_swap_follow_the_definition():
    a, pos, neg = triplets()
    for p in (1.0, 1.5, 2.0, 3.0):
        dist = lambda u, v, p=p: np.sum(np.abs(u - v) ** p, axis=1) ** (1 / p)  # noqa: E731
        for swap in (False, True):
            dan = np.minimum(dist(a, neg), dist(pos, neg)) if swap else dist(a, neg)
            expected = np.mean(np.maximum(0, dist(a, pos) - dan + 1.0))
            got = losscli.evaluate(None, (a, pos, neg), "triplet", p=p, swap=swap)
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    plain = losscli.evaluate(None, (a, pos, neg), "triplet")
    assert losscli.evaluate(None, (a, pos, neg), "triplet", swap=True) > plain  # min(d_an, d_pn)


def test_triplet_p_and_swap_need_embeddings():
    d = (np.array([0.5, 1.0]), np.array([1.0, 0.2]))
    for params in ({"p": 1.0}, {"swap": True}):
        with pytest.raises(losscli.ParamError, match="with distance columns"):
            losscli.evaluate(None, d, "triplet", **params)
    assert losscli.evaluate(None, d, "triplet", p=2.0, swap=False) == pytest.approx(1.15)
    with pytest.raises(losscli.ParamError, match=">= 1"):
        losscli.evaluate(None, triplets()[:3], "triplet", p=0.5)


# ---------------------------------------------------------------- torch autograd


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True], ids=["no_swap", "swap"])
def test_triplet_matches_torch_triplet_margin_loss(torch, p, swap):
    inputs = triplets(8)
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    value = torch.nn.TripletMarginLoss(margin=0.8, p=p, eps=0.0, swap=swap)(*leaves)
    value.backward()
    kw = dict(margin=0.8, p=p, swap=swap)
    np.testing.assert_allclose(
        losscli.evaluate(None, inputs, "triplet", **kw), value.item(), rtol=1e-12
    )
    for g, leaf in zip(losscli.gradient(None, inputs, "triplet", **kw), leaves):
        np.testing.assert_allclose(g, leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("loss", ["poly1_cross_entropy", "generalized_cross_entropy"])
@pytest.mark.parametrize("target", ["labels", "soft"])
@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probabilities"])
def test_noisy_label_losses_match_torch_autograd(torch, loss, target, from_logits):
    labels, z = classes(9, k=4)
    t = np.eye(4)[labels] if target == "labels" else rng_for(10).dirichlet(np.ones(4), N)
    x = z if from_logits else np.exp(log_softmax(z / 2))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(xt, dim=1) if from_logits else xt
    tt = torch.tensor(t, dtype=torch.float64)
    pt = (tt * p).sum(1)
    if loss == "poly1_cross_entropy":
        rows = -(tt * p.log()).sum(1) + 2.0 * (tt * (1 - p)).sum(1)
    else:
        rows = (1 - pt**0.7) / 0.7
    value = rows.mean()
    value.backward()
    y = labels if target == "labels" else t
    kw = dict(from_logits=from_logits)
    np.testing.assert_allclose(losscli.evaluate(y, x, loss, **kw), value.item(), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(y, x, loss, **kw), xt.grad.numpy(), rtol=1e-10, atol=1e-15
    )
