"""losscli values and analytic gradients against PyTorch (float64 autograd).

For every loss ``torch.nn`` defines the same way, J and ∂J/∂ŷ must agree to 1e-6
relative: torch's autograd of the reduced loss against ``losscli.gradient``. Where
the definitions differ (class-weighted means, triplet ε) the documented difference
is asserted. Sample weights, which torch lacks, are checked against
Σ wᵢLᵢ / Σ wᵢ built in torch from the per-row losses. Losses torch does not have
are written out in torch from their formulas (``losscli explain NAME``) so that autograd
checks their gradients too.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
nn = torch.nn

import losscli  # noqa: E402

pytestmark = pytest.mark.torch

N = 64
RTOL = 1e-6
ATOL = 1e-12  # gradients have exact zeros (inactive margins, clipped rows)
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def sample_weights(n: int = N) -> np.ndarray:
    return rng_for(99).uniform(0.1, 3.0, n)


def tensor(x, grad: bool = False):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def reduce(per_row, weights: np.ndarray | None):
    """torch's mean, or Σ wᵢLᵢ / Σ wᵢ for sample weights."""
    if weights is None:
        return per_row.mean()
    w = tensor(weights)
    return (w * per_row).sum() / w.sum()


def assert_matches_torch(
    loss: str,
    y,
    preds,
    torch_fn,
    *,
    var=None,
    weights=None,
    reduction: str = "mean",
    from_logits: bool = False,
    rtol: float = RTOL,
    grad_rtol: float | None = None,
    grad_atol: float = ATOL,
    **params,
):
    """J and every ∂J/∂input from losscli equal torch's value and autograd.

    ``torch_fn`` receives one tensor per prediction input (then the variance) and
    returns the reduced loss; ``y`` is captured by the caller's closure.
    """
    inputs = preds if isinstance(preds, tuple) else (preds,)
    if var is not None:
        inputs = (*inputs, var)
    leaves = [tensor(x, grad=True) for x in inputs]
    value = torch_fn(*leaves)
    value.backward()
    kw = dict(weights=weights, reduction=reduction, from_logits=from_logits, var=var, **params)
    got = losscli.evaluate(y, preds, loss, **kw)
    np.testing.assert_allclose(got, value.item(), rtol=rtol, atol=0, err_msg=f"{loss} value")
    grads = losscli.gradient(y, preds, loss, **kw)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert len(grads) == len(leaves)
    for i, (g, leaf) in enumerate(zip(grads, leaves)):
        assert g.shape == tuple(leaf.shape), f"{loss} gradient {i} shape"
        np.testing.assert_allclose(
            g,
            leaf.grad.numpy(),
            rtol=grad_rtol or rtol,
            atol=grad_atol,
            err_msg=f"{loss} gradient {i}",
        )
    return got


# ---------------------------------------------------------------- data


def real_data(seed: int = 0):
    rng = rng_for(seed)
    y = rng.normal(0.0, 2.0, N)
    return y, y + rng.normal(0.0, 1.5, N)


def binary_data(seed: int = 3):
    rng = rng_for(seed)
    return rng.integers(0, 2, N).astype(float), rng.uniform(0.02, 0.98, N)


def logits(seed: int = 4, k: int | None = None, scale: float = 3.0):
    return rng_for(seed).normal(0.0, scale, (N,) if k is None else (N, k))


def labels(seed: int = 6, k: int = 4):
    return rng_for(seed).integers(0, k, N)


def distributions(seed: int = 10, k: int = 4):
    return rng_for(seed).dirichlet(np.full(k, 1.5), N)


# ---------------------------------------------------------------- regression


@WEIGHTED
def test_mse_matches_torch_value_and_gradient(weighted):
    y, yhat = real_data()
    w = sample_weights() if weighted else None
    yt = tensor(y)
    assert_matches_torch(
        "mse", y, yhat, lambda p: reduce(F.mse_loss(p, yt, reduction="none"), w), weights=w
    )
    if not weighted:
        assert_matches_torch("mse", y, yhat, lambda p: nn.MSELoss()(p, yt))
        assert_matches_torch(
            "mse", y, yhat, lambda p: nn.MSELoss(reduction="sum")(p, yt), reduction="sum"
        )


@pytest.mark.parametrize("loss", ["mse", "huber", "mae"])
def test_weighted_sum_reduction_matches_torch(loss):
    # reduction='sum' with weights is Σ wᵢLᵢ (not normalised)
    y, yhat = real_data()
    w = sample_weights()
    yt, wt = tensor(y), tensor(w)
    per_row = {"mse": F.mse_loss, "huber": F.huber_loss, "mae": F.l1_loss}[loss]
    torch_fn = lambda p: (wt * per_row(p, yt, reduction="none")).sum()  # noqa: E731
    assert_matches_torch(loss, y, yhat, torch_fn, weights=w, reduction="sum")


@WEIGHTED
def test_mae_matches_torch_l1loss_value_and_gradient(weighted):
    y, yhat = real_data()
    w = sample_weights() if weighted else None
    yt = tensor(y)
    assert_matches_torch(
        "mae", y, yhat, lambda p: reduce(F.l1_loss(p, yt, reduction="none"), w), weights=w
    )
    if not weighted:
        assert_matches_torch("mae", y, yhat, lambda p: nn.L1Loss()(p, yt))


@WEIGHTED
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_matches_torch_value_and_gradient(delta, weighted):
    y, yhat = real_data()
    e = np.abs(yhat - y)
    assert np.any(e < delta) and np.any(e > delta)
    w = sample_weights() if weighted else None
    yt = tensor(y)
    torch_fn = lambda p: reduce(F.huber_loss(p, yt, reduction="none", delta=delta), w)  # noqa: E731
    assert_matches_torch("huber", y, yhat, torch_fn, weights=w, delta=delta)
    if not weighted:
        assert_matches_torch(
            "huber", y, yhat, lambda p: nn.HuberLoss(delta=delta)(p, yt), delta=delta
        )


@WEIGHTED
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_smooth_l1_matches_torch_value_and_gradient(beta, weighted):
    y, yhat = real_data()
    w = sample_weights() if weighted else None
    yt = tensor(y)
    torch_fn = lambda p: reduce(F.smooth_l1_loss(p, yt, reduction="none", beta=beta), w)  # noqa: E731
    assert_matches_torch("smooth_l1", y, yhat, torch_fn, weights=w, beta=beta)
    if not weighted:
        assert_matches_torch(
            "smooth_l1", y, yhat, lambda p: nn.SmoothL1Loss(beta=beta)(p, yt), beta=beta
        )


@WEIGHTED
def test_poisson_from_logits_matches_torch_poisson_nll_log_input(weighted):
    y = rng_for(20).poisson(3.0, N).astype(float)
    z = rng_for(21).normal(1.0, 1.0, N)
    w = sample_weights() if weighted else None
    yt = tensor(y)
    torch_fn = lambda p: reduce(F.poisson_nll_loss(p, yt, log_input=True, reduction="none"), w)  # noqa: E731
    assert_matches_torch("poisson", y, z, torch_fn, weights=w, from_logits=True)
    if not weighted:
        assert_matches_torch(
            "poisson", y, z, lambda p: nn.PoissonNLLLoss(log_input=True)(p, yt), from_logits=True
        )


@WEIGHTED
def test_poisson_on_rates_matches_torch_poisson_nll_with_eps(weighted):
    y = rng_for(22).poisson(3.0, N).astype(float)
    rate = rng_for(23).uniform(0.2, 6.0, N)
    w = sample_weights() if weighted else None
    yt = tensor(y)

    def torch_fn(p):
        per_row = F.poisson_nll_loss(p, yt, log_input=False, eps=1e-7, reduction="none")
        return reduce(per_row, w)

    assert_matches_torch("poisson", y, rate, torch_fn, weights=w)
    if not weighted:
        torch_mean = lambda p: nn.PoissonNLLLoss(log_input=False, eps=1e-7)(p, yt)  # noqa: E731
        assert_matches_torch("poisson", y, rate, torch_mean)


@WEIGHTED
def test_gaussian_nll_matches_torch_value_and_both_gradients(weighted):
    y, mean = real_data()
    var = rng_for(24).uniform(0.05, 4.0, N)
    w = sample_weights() if weighted else None
    yt = tensor(y)

    def torch_fn(m, v):
        return reduce(F.gaussian_nll_loss(m, yt, v, eps=1e-6, reduction="none"), w)

    assert_matches_torch("gaussian_nll", y, mean, torch_fn, var=var, weights=w)
    if not weighted:
        torch_mean = lambda m, v: nn.GaussianNLLLoss(eps=1e-6)(m, yt, v)  # noqa: E731
        assert_matches_torch("gaussian_nll", y, mean, torch_mean, var=var)


def test_gaussian_nll_below_eps_differs_from_torch_only_in_the_variance_gradient():
    # losscli (losses/regression.py): below eps the variance gradient is 0; torch clamps
    # under no_grad and passes ½(1/eps − e²/eps²) through. Values and mean gradients agree.
    eps = 1e-3
    y, mean = real_data()
    var = rng_for(25).uniform(0.05, 2.0, N)
    low = np.arange(N) % 4 == 0
    var[low] = eps / 10
    m, v = tensor(mean, grad=True), tensor(var, grad=True)
    torch_value = F.gaussian_nll_loss(m, tensor(y), v, eps=eps)
    torch_value.backward()
    got = losscli.evaluate(y, mean, "gaussian_nll", var=var, eps=eps)
    g_mean, g_var = losscli.gradient(y, mean, "gaussian_nll", var=var, eps=eps)
    np.testing.assert_allclose(got, torch_value.item(), rtol=RTOL)
    np.testing.assert_allclose(g_mean, m.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g_var[~low], v.grad.numpy()[~low], rtol=RTOL, atol=ATOL)
    assert np.all(g_var[low] == 0.0)
    assert np.all(v.grad.numpy()[low] != 0.0)


# ---------------------------------------------------------------- binary


@WEIGHTED
def test_bce_matches_torch_bceloss_value_and_gradient(weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    yt = tensor(y)
    torch_fn = lambda q: reduce(F.binary_cross_entropy(q, yt, reduction="none"), w)  # noqa: E731
    assert_matches_torch("bce", y, p, torch_fn, weights=w)
    if not weighted:
        assert_matches_torch("bce", y, p, lambda q: nn.BCELoss()(q, yt))


@WEIGHTED
@pytest.mark.parametrize("pos_weight", [1.0, 3.0, 0.4])
def test_bce_from_logits_matches_torch_bce_with_logits(pos_weight, weighted):
    y, _ = binary_data()
    z = logits()
    w = sample_weights() if weighted else None
    yt, pw = tensor(y), tensor(pos_weight)

    def torch_fn(x):
        return reduce(F.binary_cross_entropy_with_logits(x, yt, pos_weight=pw, reduction="none"), w)

    assert_matches_torch("bce", y, z, torch_fn, weights=w, from_logits=True, pos_weight=pos_weight)
    if not weighted:
        module = nn.BCEWithLogitsLoss(pos_weight=pw)
        assert_matches_torch(
            "bce", y, z, lambda x: module(x, yt), from_logits=True, pos_weight=pos_weight
        )


def test_bce_from_logits_is_finite_and_matches_torch_at_huge_logits():
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    z = np.array([1e4, -1e4, -1e4, 1e4, 0.5, -0.5])
    yt = tensor(y)
    got = assert_matches_torch(
        "bce", y, z, lambda x: nn.BCEWithLogitsLoss()(x, yt), from_logits=True
    )
    assert np.isfinite(got)
    assert np.all(np.isfinite(losscli.gradient(y, z, "bce", from_logits=True)))


def test_bce_clipping_differs_from_torch_cap_of_100():
    # losscli clips p to [1e-7, 1 − 1e-7] (Keras); torch BCELoss clamps each log at −100
    y = np.array([1.0, 0.0, 1.0])
    p = np.array([0.0, 1.0, 0.5])
    rows = losscli.evaluate(y, p, "bce", reduction="none")
    torch_rows = F.binary_cross_entropy(tensor(p), tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(rows, [-np.log(1e-7), -np.log(1e-7), np.log(2.0)], rtol=1e-9)
    np.testing.assert_allclose(torch_rows, [100.0, 100.0, np.log(2.0)], rtol=1e-9)
    grad = losscli.gradient(y, p, "bce")
    np.testing.assert_allclose(grad, [0.0, 0.0, -2.0 / 3.0], rtol=RTOL)  # 0 where p is clipped


def torchvision_sigmoid_focal(z, y, gamma: float, alpha: float | None):
    """torchvision.ops.sigmoid_focal_loss with reduction='none', written out in torch."""
    p = torch.sigmoid(z)
    ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


@WEIGHTED
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.25), (2.0, None), (0.5, 0.75), (3.0, 0.25)])
def test_focal_from_logits_matches_torchvision_sigmoid_focal(gamma, alpha, weighted):
    y, _ = binary_data()
    z = logits()
    w = sample_weights() if weighted else None
    yt = tensor(y)

    def torch_fn(x):
        return reduce(torchvision_sigmoid_focal(x, yt, gamma, alpha), w)

    assert_matches_torch(
        "focal", y, z, torch_fn, weights=w, from_logits=True, gamma=gamma, alpha=alpha
    )


def test_focal_from_logits_is_finite_at_huge_logits():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    z = np.array([1e4, -1e4, -1e4, 1e4])
    value = losscli.evaluate(y, z, "focal", from_logits=True, gamma=2.0, alpha=0.25)
    grad = losscli.gradient(y, z, "focal", from_logits=True, gamma=2.0, alpha=0.25)
    # rows 2 and 3 are confidently wrong: (1 − p_t)^γ → 1, −log p_t → 1e4
    np.testing.assert_allclose(value, (0.25 * 1e4 + 0.75 * 1e4) / 4, rtol=RTOL)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [0.0, 0.0, -0.25 / 4, 0.75 / 4], rtol=RTOL, atol=1e-300)


# ---------------------------------------------------------------- multi-class


@WEIGHTED
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
def test_cross_entropy_matches_torch_value_and_gradient(label_smoothing, weighted):
    k = 5
    y, z = labels(k=k), logits(k=k)
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)

    def torch_fn(x):
        return reduce(F.cross_entropy(x, yt, label_smoothing=label_smoothing, reduction="none"), w)

    ls = {"label_smoothing": label_smoothing}
    assert_matches_torch("cross_entropy", y, z, torch_fn, weights=w, from_logits=True, **ls)
    if not weighted:
        module = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        assert_matches_torch("cross_entropy", y, z, lambda x: module(x, yt), from_logits=True, **ls)
        module = nn.CrossEntropyLoss(label_smoothing=label_smoothing, reduction="sum")
        assert_matches_torch(
            "cross_entropy", y, z, lambda x: module(x, yt), from_logits=True, reduction="sum", **ls
        )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_ignore_index_matches_torch(ignore_index, label_smoothing):
    k = 4
    y, z = labels(k=k).copy(), logits(k=k)
    if ignore_index < 0:
        y[::3] = ignore_index
    assert 0 < np.count_nonzero(y == ignore_index) < N
    yt = torch.tensor(y)
    module = nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing)
    assert_matches_torch(
        "cross_entropy",
        y,
        z,
        lambda x: module(x, yt),
        from_logits=True,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
    )
    grad = losscli.gradient(y, z, "cross_entropy", from_logits=True, ignore_index=ignore_index)
    assert np.all(grad[y == ignore_index] == 0.0)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_soft_targets_with_class_weights_match_torch(label_smoothing):
    # with probability targets torch divides the class-weighted sum by N, as losscli does
    k = 4
    t, z = distributions(k=k), logits(k=k)
    cw = [0.5, 1.0, 2.0, 3.0]
    tt = tensor(t)
    module = nn.CrossEntropyLoss(weight=tensor(cw), label_smoothing=label_smoothing)
    assert_matches_torch(
        "cross_entropy",
        t,
        z,
        lambda x: module(x, tt),
        from_logits=True,
        class_weights=cw,
        label_smoothing=label_smoothing,
    )


def test_cross_entropy_class_weights_differ_from_torch_by_the_documented_denominator():
    # torch: Σ w_y ℓ / Σ w_y;  losscli (README "Why does my number differ…"): Σ w_y ℓ / n.
    k = 4
    y, z = labels(k=k), logits(k=k)
    cw = np.array([0.5, 1.0, 2.0, 3.0])
    sum_wy = float(cw[y].sum())
    leaf = tensor(z, grad=True)
    torch_value = nn.CrossEntropyLoss(weight=tensor(cw))(leaf, torch.tensor(y))
    torch_value.backward()
    got = losscli.evaluate(y, z, "cross_entropy", from_logits=True, class_weights=cw)
    grad = losscli.gradient(y, z, "cross_entropy", from_logits=True, class_weights=cw)
    np.testing.assert_allclose(got * N / sum_wy, torch_value.item(), rtol=RTOL)
    np.testing.assert_allclose(grad * N / sum_wy, leaf.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert abs(got - torch_value.item()) > 1e-3  # the difference is real, not a no-op
    # the per-row values agree exactly: only the denominator differs
    rows = losscli.evaluate(
        y, z, "cross_entropy", from_logits=True, class_weights=cw, reduction="none"
    )
    torch_rows = F.cross_entropy(tensor(z), torch.tensor(y), weight=tensor(cw), reduction="none")
    np.testing.assert_allclose(rows, torch_rows.numpy(), rtol=RTOL)


def test_cross_entropy_class_weights_with_sample_weights_match_torch_rows():
    # class weights scale Lᵢ; sample weights then give Σ sᵢ w_y ℓᵢ / Σ sᵢ
    k = 4
    y, z = labels(k=k), logits(k=k)
    cw, s = [0.5, 1.0, 2.0, 3.0], sample_weights()
    yt = torch.tensor(y)

    def torch_fn(x):
        return reduce(F.cross_entropy(x, yt, weight=tensor(cw), reduction="none"), s)

    assert_matches_torch(
        "cross_entropy", y, z, torch_fn, weights=s, from_logits=True, class_weights=cw
    )


def test_cross_entropy_ignore_index_with_class_weights_differs_from_torch_by_denominator():
    # torch: Σ_kept w_y ℓ / Σ_kept w_y;  losscli: Σ_kept w_y ℓ / n_kept
    k = 4
    y, z = labels(k=k).copy(), logits(k=k)
    y[::3] = -100
    keep = y != -100
    cw = np.array([0.5, 1.0, 2.0, 3.0])
    torch_value = nn.CrossEntropyLoss(weight=tensor(cw), ignore_index=-100)(
        tensor(z), torch.tensor(y)
    )
    got = losscli.evaluate(
        y, z, "cross_entropy", from_logits=True, class_weights=cw, ignore_index=-100
    )
    ratio = np.count_nonzero(keep) / cw[y[keep]].sum()
    np.testing.assert_allclose(got * ratio, torch_value.item(), rtol=RTOL)
    assert abs(got - torch_value.item()) > 1e-3


def test_cross_entropy_and_softmax_focal_match_torch_at_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, 1e4], [3.0, -1e4, 1e4]])
    y = np.array([0, 0, 1, 2])
    yt = torch.tensor(y)
    got = assert_matches_torch(
        "cross_entropy", y, z, lambda x: F.cross_entropy(x, yt), from_logits=True
    )
    np.testing.assert_allclose(got, (2e4 + 1e4 + 0.0) / 4, rtol=RTOL)

    def softmax_focal(x):
        lpy = torch.log_softmax(x, dim=1).gather(1, yt[:, None])[:, 0]
        return (-((1 - lpy.exp()) ** 2) * lpy).mean()

    assert_matches_torch("focal", y, z, softmax_focal, from_logits=True, gamma=2.0)
    t = np.eye(3)[y]
    tt = tensor(t)
    kl = lambda x: nn.KLDivLoss(reduction="batchmean")(torch.log_softmax(x, dim=1), tt)  # noqa: E731
    assert_matches_torch("kl_div", t, z, kl, from_logits=True)


@WEIGHTED
def test_nll_matches_torch_value_and_gradient(weighted):
    k = 5
    y = labels(k=k)
    logp = torch.log_softmax(tensor(logits(k=k)), dim=1).numpy()
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)
    assert_matches_torch(
        "nll", y, logp, lambda x: reduce(F.nll_loss(x, yt, reduction="none"), w), weights=w
    )
    if not weighted:
        assert_matches_torch("nll", y, logp, lambda x: nn.NLLLoss()(x, yt))


def test_nll_class_weights_differ_from_torch_by_the_documented_denominator():
    k = 4
    y = labels(k=k)
    logp = torch.log_softmax(tensor(logits(k=k)), dim=1).numpy()
    cw = np.array([0.5, 1.0, 2.0, 3.0])
    torch_value = nn.NLLLoss(weight=tensor(cw))(tensor(logp), torch.tensor(y)).item()
    got = losscli.evaluate(y, logp, "nll", class_weights=cw)
    np.testing.assert_allclose(got * N / cw[y].sum(), torch_value, rtol=RTOL)
    yt = torch.tensor(y)
    torch_fn = lambda x: F.nll_loss(x, yt, weight=tensor(cw), reduction="sum") / N  # noqa: E731
    assert_matches_torch("nll", y, logp, torch_fn, class_weights=cw)


def test_nll_ignore_index_matches_torch():
    k = 4
    y = labels(k=k).copy()
    y[::5] = -100
    logp = torch.log_softmax(tensor(logits(k=k)), dim=1).numpy()
    yt = torch.tensor(y)
    assert_matches_torch(
        "nll", y, logp, lambda x: nn.NLLLoss(ignore_index=-100)(x, yt), ignore_index=-100
    )


@WEIGHTED
def test_kl_div_from_logits_matches_torch_kldivloss_batchmean(weighted):
    k = 5
    t, z = distributions(k=k), logits(k=k)
    t[::7, 0] = 0.0  # 0·log 0 = 0 in both
    t /= t.sum(axis=1, keepdims=True)
    w = sample_weights() if weighted else None
    tt = tensor(t)

    def torch_fn(x):
        per_row = F.kl_div(torch.log_softmax(x, dim=1), tt, reduction="none").sum(dim=1)
        return reduce(per_row, w)

    assert_matches_torch("kl_div", t, z, torch_fn, weights=w, from_logits=True)
    if not weighted:
        module = nn.KLDivLoss(reduction="batchmean")
        assert_matches_torch(
            "kl_div", t, z, lambda x: module(torch.log_softmax(x, dim=1), tt), from_logits=True
        )


@WEIGHTED
@pytest.mark.parametrize("margin", [1.0, 0.5, 2.0])
def test_multi_margin_matches_torch_multimarginloss(margin, weighted):
    k = 5
    y, s = labels(k=k), logits(k=k, scale=1.0)
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)
    torch_fn = lambda x: reduce(F.multi_margin_loss(x, yt, margin=margin, reduction="none"), w)  # noqa: E731
    assert_matches_torch("multi_margin", y, s, torch_fn, weights=w, margin=margin)
    if not weighted:
        module = nn.MultiMarginLoss(margin=margin)
        assert_matches_torch("multi_margin", y, s, lambda x: module(x, yt), margin=margin)


# ---------------------------------------------------------------- similarity


@WEIGHTED
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_matches_torch_value_and_gradients(margin, weighted):
    rng = rng_for(31)
    t = rng.choice([-1.0, 1.0], N)
    x1, x2 = rng.normal(0.0, 1.0, N), rng.normal(0.0, 1.0, N)
    w = sample_weights() if weighted else None
    tt = tensor(t)

    def torch_fn(a, b):
        return reduce(F.margin_ranking_loss(a, b, tt, margin=margin, reduction="none"), w)

    assert_matches_torch("margin_ranking", t, (x1, x2), torch_fn, weights=w, margin=margin)
    if not weighted:
        module = nn.MarginRankingLoss(margin=margin)
        assert_matches_torch(
            "margin_ranking", t, (x1, x2), lambda a, b: module(a, b, tt), margin=margin
        )


@WEIGHTED
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_matches_torch_value_and_gradients(margin, weighted):
    rng = rng_for(32)
    t = rng.choice([-1.0, 1.0], N)
    x1, x2 = rng.normal(0.0, 1.0, (N, 6)), rng.normal(0.0, 1.0, (N, 6))
    w = sample_weights() if weighted else None
    tt = tensor(t)

    def torch_fn(a, b):
        return reduce(F.cosine_embedding_loss(a, b, tt, margin=margin, reduction="none"), w)

    assert_matches_torch("cosine_embedding", t, (x1, x2), torch_fn, weights=w, margin=margin)
    if not weighted:
        module = nn.CosineEmbeddingLoss(margin=margin)
        assert_matches_torch(
            "cosine_embedding", t, (x1, x2), lambda a, b: module(a, b, tt), margin=margin
        )


def triplet_embeddings(seed: int = 33, d: int = 8):
    rng = rng_for(seed)
    return tuple(rng.normal(0.0, 1.0, (N, d)) for _ in range(3))


@WEIGHTED
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_triplet_on_embeddings_matches_torch_with_eps_zero(margin, weighted):
    a, p, n = triplet_embeddings()
    w = sample_weights() if weighted else None

    def torch_fn(x, y, z):
        per_row = F.triplet_margin_loss(
            x, y, z, margin=margin, eps=0.0, swap=False, reduction="none"
        )
        return reduce(per_row, w)

    assert_matches_torch("triplet", None, (a, p, n), torch_fn, weights=w, margin=margin)
    if not weighted:
        module = nn.TripletMarginLoss(margin=margin, eps=0.0, swap=False)
        assert_matches_torch("triplet", None, (a, p, n), module, margin=margin)


def test_triplet_on_embeddings_is_close_to_torch_default_eps():
    # torch adds eps = 1e-6 to every coordinate of a − p; losscli uses the exact distance
    a, p, n = triplet_embeddings()
    # (absolute shifts of order 1e-6/N in the gradient, so tiny components need an atol).
    module = nn.TripletMarginLoss(margin=1.0, swap=False)
    assert_matches_torch("triplet", None, (a, p, n), module, rtol=1e-4, grad_atol=1e-7)


@WEIGHTED
def test_triplet_on_distances_matches_torch_relu_form(weighted):
    rng = rng_for(34)
    dap, dan = rng.uniform(0.0, 3.0, N), rng.uniform(0.0, 3.0, N)
    w = sample_weights() if weighted else None
    torch_fn = lambda a, b: reduce(torch.relu(a - b + 0.5), w)  # noqa: E731
    assert_matches_torch("triplet", None, (dap, dan), torch_fn, weights=w, margin=0.5)


# ------------------------------------------------------------- losscli formulas written in torch
# torch has no built-in for these; autograd of the formula (``losscli explain``) checks losscli's
# analytic gradient (and the value) all the same.


def _regression_cases():
    y, yhat = real_data()
    pos_y = rng_for(40).uniform(0.0, 6.0, N)
    pos_y[::6] = 0.0
    pos_hat = rng_for(41).uniform(0.3, 5.0, N)
    away = rng_for(42).uniform(0.5, 5.0, N) * rng_for(43).choice([-1.0, 1.0], N)
    away_hat = away + rng_for(44).normal(0.0, 1.0, N)
    return [
        ("rmse", {}, y, yhat, lambda p, t: None),
        ("log_cosh", {}, y, yhat, lambda p, t: torch.log(torch.cosh(p - t))),
        ("msle", {}, pos_y, pos_hat, lambda p, t: (torch.log1p(p) - torch.log1p(t)) ** 2),
        ("mape", {}, away, away_hat, lambda p, t: 100 * (p - t).abs() / t.abs()),
        (
            "quantile",
            {"quantile": 0.2},
            y,
            yhat,
            lambda p, t: torch.maximum(0.2 * (t - p), -0.8 * (t - p)),
        ),
        (
            "quantile",
            {"quantile": 0.9},
            y,
            yhat,
            lambda p, t: torch.maximum(0.9 * (t - p), -0.1 * (t - p)),
        ),
        ("tweedie", {"power": 0.0}, y, yhat, lambda p, t: (t - p) ** 2),
        (
            "tweedie",
            {"power": 1.0},
            pos_y,
            pos_hat,
            lambda p, t: 2 * (torch.xlogy(t, t) - torch.xlogy(t, p) - t + p),
        ),
        (
            "tweedie",
            {"power": 1.5},
            pos_y,
            pos_hat,
            lambda p, t: 2 * (t**0.5 / (-0.5 * 0.5) - t * p**-0.5 / -0.5 + p**0.5 / 0.5),
        ),
        (
            "tweedie",
            {"power": 2.0},
            pos_y + 0.1,
            pos_hat,
            lambda p, t: 2 * (torch.log(p / t) + t / p - 1),
        ),
        (
            "tweedie",
            {"power": 3.0},
            pos_y + 0.1,
            pos_hat,
            lambda p, t: 2 * (t**-1 / 2 - t * p**-2 / -2 + p**-1 / -1),
        ),
    ]


REGRESSION_CASES = _regression_cases()


@WEIGHTED
@pytest.mark.parametrize(
    ("loss", "params", "y", "yhat", "rows"),
    REGRESSION_CASES,
    ids=[f"{c[0]}{c[1] or ''}" for c in REGRESSION_CASES],
)
def test_regression_loss_gradient_matches_torch_autograd_of_spec_formula(
    loss, params, y, yhat, rows, weighted
):
    w = sample_weights() if weighted else None
    yt = tensor(y)
    if loss == "rmse":
        torch_fn = lambda p: reduce((p - yt) ** 2, w).sqrt()  # noqa: E731
    else:
        torch_fn = lambda p: reduce(rows(p, yt), w)  # noqa: E731
    assert_matches_torch(loss, y, yhat, torch_fn, weights=w, **params)


def test_multi_output_mse_gradient_matches_torch():
    rng = rng_for(45)
    y = rng.normal(0.0, 1.0, (N, 3))
    yhat = y + rng.normal(0.0, 1.0, (N, 3))
    yt = tensor(y)
    assert_matches_torch("mse", y, yhat, lambda p: nn.MSELoss()(p, yt))
    assert_matches_torch("huber", y, yhat, lambda p: nn.HuberLoss(delta=0.7)(p, yt), delta=0.7)


@WEIGHTED
@pytest.mark.parametrize(
    "params",
    [
        {"label_smoothing": 0.2},
        {"class_weights": [0.4, 3.0]},
        {"pos_weight": 2.0, "label_smoothing": 0.1},
    ],
    ids=["label_smoothing", "class_weights", "pos_weight+ls"],
)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_bce_options_gradient_matches_torch_autograd(params, from_logits, weighted):
    y, p = binary_data()
    x = logits() if from_logits else p
    w = sample_weights() if weighted else None
    ls = params.get("label_smoothing", 0.0)
    w0, w1 = params.get("class_weights", (1.0, 1.0))
    pw = params.get("pos_weight", 1.0)
    ys = tensor(y * (1 - ls) + ls / 2)

    def torch_fn(v):
        if from_logits:
            logp, log1mp = F.logsigmoid(v), F.logsigmoid(-v)
        else:
            logp, log1mp = torch.log(v), torch.log1p(-v)
        return reduce(-(w1 * pw * ys * logp + w0 * (1 - ys) * log1mp), w)

    assert_matches_torch("bce", y, x, torch_fn, weights=w, from_logits=from_logits, **params)


def test_weighted_bce_gradient_matches_torch_bceloss_with_element_weights():
    # torch BCELoss(weight=per-element) divides by n, like the seed's weighted BCE
    y, p = binary_data()
    cw = (0.3, 4.0)
    element_w = tensor(np.where(y == 1, cw[1], cw[0]))
    yt = tensor(y)
    torch_fn = lambda q: F.binary_cross_entropy(q, yt, weight=element_w)  # noqa: E731
    assert_matches_torch("weighted_bce", y, p, torch_fn, class_weights=cw)


def test_multilabel_bce_gradient_matches_torch():
    rng = rng_for(46)
    y = rng.integers(0, 2, (N, 3)).astype(float)
    z = rng.normal(0.0, 2.0, (N, 3))
    yt = tensor(y)
    assert_matches_torch("bce", y, z, lambda x: nn.BCEWithLogitsLoss()(x, yt), from_logits=True)


@WEIGHTED
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_brier_gradient_matches_torch_autograd(from_logits, weighted):
    y, p = binary_data()
    x = logits() if from_logits else p
    w = sample_weights() if weighted else None
    yt = tensor(y)

    def torch_fn(v):
        q = torch.sigmoid(v) if from_logits else v
        return reduce((q - yt) ** 2, w)

    assert_matches_torch("brier", y, x, torch_fn, weights=w, from_logits=from_logits)


@WEIGHTED
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, None), (2.0, 0.25), (0.5, 0.6), (0.0, None)])
def test_binary_focal_on_probabilities_gradient_matches_torch_autograd(gamma, alpha, weighted):
    y, p = binary_data()
    w = sample_weights() if weighted else None
    yt = tensor(y)

    def torch_fn(q):
        pt = torch.where(yt == 1, q, 1 - q)
        at = 1.0 if alpha is None else torch.where(yt == 1, alpha, 1 - alpha)
        return reduce(-at * (1 - pt) ** gamma * torch.log(pt), w)

    assert_matches_torch("focal", y, p, torch_fn, weights=w, gamma=gamma, alpha=alpha)


@WEIGHTED
@pytest.mark.parametrize("class_weights", [None, [0.5, 1.0, 2.0, 4.0]])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_multiclass_focal_gradient_matches_torch_autograd(from_logits, class_weights, weighted):
    k = 4
    y = labels(k=k)
    z = logits(k=k)
    x = z if from_logits else 0.9 * torch.softmax(tensor(z), dim=1).numpy() + 0.1 / k
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)
    wy = 1.0 if class_weights is None else tensor(class_weights)[yt]

    def torch_fn(v):
        logp = torch.log_softmax(v, dim=1) if from_logits else torch.log(v)
        lpy = logp.gather(1, yt[:, None])[:, 0]
        return reduce(-wy * (1 - lpy.exp()) ** 2.0 * lpy, w)

    assert_matches_torch(
        "focal",
        y,
        x,
        torch_fn,
        weights=w,
        from_logits=from_logits,
        gamma=2.0,
        class_weights=class_weights,
    )


@WEIGHTED
def test_cross_entropy_on_probabilities_gradient_matches_torch_autograd(weighted):
    k = 4
    y = labels(k=k)
    p = 0.9 * distributions(k=k) + 0.1 / k
    cw = [0.5, 1.0, 2.0, 4.0]
    w = sample_weights() if weighted else None
    t = tensor(np.eye(k)[y] * 0.9 + 0.1 / k)  # label smoothing 0.1

    def torch_fn(q):
        return reduce(-(tensor(cw) * t * torch.log(q)).sum(dim=1), w)

    assert_matches_torch(
        "cross_entropy", y, p, torch_fn, weights=w, label_smoothing=0.1, class_weights=cw
    )


@WEIGHTED
def test_perplexity_gradient_matches_torch_autograd(weighted):
    k = 6
    y, z = labels(k=k), logits(k=k)
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)
    torch_fn = lambda x: reduce(F.cross_entropy(x, yt, reduction="none"), w).exp()  # noqa: E731
    assert_matches_torch("perplexity", y, z, torch_fn, weights=w, from_logits=True)


@WEIGHTED
def test_kl_div_on_probabilities_gradient_matches_torch_autograd(weighted):
    k = 5
    t = distributions(k=k)
    p = 0.9 * distributions(seed=11, k=k) + 0.1 / k
    w = sample_weights() if weighted else None
    tt = tensor(t)
    torch_fn = lambda q: reduce(F.kl_div(torch.log(q), tt, reduction="none").sum(dim=1), w)  # noqa: E731
    assert_matches_torch("kl_div", t, p, torch_fn, weights=w)


@WEIGHTED
@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_hinge_gradients_match_torch_autograd(loss, weighted):
    rng = rng_for(47)
    t = rng.choice([-1.0, 1.0], N)
    s = rng.normal(0.0, 1.5, N)
    w = sample_weights() if weighted else None
    tt = tensor(t)
    power = 1 if loss == "hinge" else 2
    torch_fn = lambda x: reduce(torch.relu(1 - tt * x) ** power, w)  # noqa: E731
    assert_matches_torch(loss, (t + 1) / 2, s, torch_fn, weights=w)  # 0/1 targets map to ±1


@WEIGHTED
def test_multi_hinge_gradient_matches_torch_autograd(weighted):
    k = 5
    y, s = labels(k=k), logits(k=k, scale=1.0)
    w = sample_weights() if weighted else None
    yt = torch.tensor(y)
    mask = F.one_hot(yt, k).bool()

    def torch_fn(x):
        sy = x.gather(1, yt[:, None])[:, 0]
        best_other = x.masked_fill(mask, -torch.inf).max(dim=1).values
        return reduce(torch.relu(1.0 + best_other - sy), w)

    assert_matches_torch("multi_hinge", y, s, torch_fn, weights=w)


@WEIGHTED
def test_contrastive_gradient_matches_torch_autograd(weighted):
    rng = rng_for(48)
    y = rng.integers(0, 2, N).astype(float)
    d = rng.uniform(0.01, 2.5, N)
    w = sample_weights() if weighted else None
    yt = tensor(y)
    torch_fn = lambda x: reduce(0.5 * (yt * x**2 + (1 - yt) * torch.relu(1.5 - x) ** 2), w)  # noqa: E731
    assert_matches_torch("contrastive", y, d, torch_fn, weights=w, margin=1.5)


def _overlap_score(loss, tp, sy, sp, s=1e-6, alpha=0.5, beta=0.5):
    if loss == "dice":
        return (2 * tp + s) / (sy + sp + s)
    if loss == "iou":
        return (tp + s) / (sy + sp - tp + s)
    return (tp + s) / (tp + alpha * (sp - tp) + beta * (sy - tp) + s)


OVERLAP = [
    ("dice", {}),
    ("iou", {}),
    ("tversky", {"alpha": 0.3, "beta": 0.7}),
    ("dice", {"smooth": 1.0}),
]


@pytest.mark.parametrize(("loss", "params"), OVERLAP, ids=[f"{c[0]}{c[1] or ''}" for c in OVERLAP])
@pytest.mark.parametrize(
    "form", ["binary_probs", "binary_logits", "k_class_probs", "k_class_logits"]
)
def test_overlap_loss_gradient_matches_torch_autograd(loss, params, form):
    k = 4
    if form.startswith("binary"):
        y, p = binary_data()
        t = tensor(y[:, None])
        x = logits() if form.endswith("logits") else p
    else:
        y = labels(k=k)
        t = tensor(np.eye(k)[y])
        z = logits(k=k)
        x = z if form.endswith("logits") else torch.softmax(tensor(z), dim=1).numpy()
    from_logits = form.endswith("logits")
    kw = {
        "s": params.get("smooth", 1e-6),
        "alpha": params.get("alpha", 0.5),
        "beta": params.get("beta", 0.5),
    }

    def torch_fn(v):
        q = v if v.ndim == 2 else v[:, None]
        if from_logits:
            q = torch.sigmoid(q) if form.startswith("binary") else torch.softmax(q, dim=1)
        score = _overlap_score(loss, (t * q).sum(0), t.sum(0), q.sum(0), **kw)
        return 1 - score.mean()

    assert_matches_torch(loss, y, x, torch_fn, from_logits=from_logits, **params)
