"""``convention="torch"`` against PyTorch itself: float64 values and autograd gradients.

Skipped without torch. Random data of 64 rows, including the places where PyTorch's
definition departs from losscli's default (p = 0 and 1, class weights with ignored
rows, variances below eps, anchors equal to positives).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import losscli  # noqa: E402

pytestmark = pytest.mark.torch

N = 64
RTOL = 1e-9


def tensor(x, grad: bool = False):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def assert_torch(loss, y, preds, torch_fn, *, from_logits=None, var=None, **params):
    """losscli's J and ∂J/∂inputs under convention="torch" equal torch's value and autograd."""
    inputs = preds if isinstance(preds, tuple) else (preds,)
    if var is not None:
        inputs = (*inputs, var)
    leaves = [tensor(x, grad=True) for x in inputs]
    value = torch_fn(*leaves)
    value.backward()
    kw = dict(from_logits=from_logits, var=var, convention="torch", **params)
    got = losscli.evaluate(y, preds, loss, **kw)
    np.testing.assert_allclose(got, value.item(), rtol=RTOL, atol=0, err_msg=f"{loss} value")
    grads = losscli.gradient(y, preds, loss, **kw)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for leaf, g in zip(leaves, grads):
        want = leaf.grad.numpy()
        scale = max(np.max(np.abs(want)), 1e-300)
        np.testing.assert_allclose(g, want, rtol=RTOL, atol=1e-12 * scale, err_msg=f"{loss} grad")


def rng(seed):
    return np.random.default_rng(seed)


def test_bce_on_probabilities_with_zeros_and_ones_matches_torch():
    r = rng(1)
    y = r.integers(0, 2, N).astype(float)
    p = r.uniform(0, 1, N)
    p[:8] = [0.0, 1.0, 0.0, 1.0, 1e-60, 1 - 1e-17, 1e-45, 0.5]
    y[:8] = [1, 0, 0, 1, 1, 0, 0, 1]
    yt = tensor(y)
    assert_torch("bce", y, p, lambda x: F.binary_cross_entropy(x, yt))


def test_weighted_bce_matches_torch_bceloss_with_element_weights():
    r = rng(2)
    y = r.integers(0, 2, N).astype(float)
    p = r.uniform(0, 1, N)
    p[:3] = [0.0, 1.0, 1e-50]
    w = np.where(y == 1, 4.0, 0.5)
    yt, wt = tensor(y), tensor(w)
    assert_torch(
        "weighted_bce",
        y,
        p,
        lambda x: F.binary_cross_entropy(x, yt, weight=wt),
        class_weights=(0.5, 4.0),
    )


@pytest.mark.parametrize("pos_weight", [1.0, 3.0])
def test_bce_on_logits_matches_torch_bce_with_logits(pos_weight):
    r = rng(3)
    y = r.integers(0, 2, (N, 3)).astype(float)
    z = r.normal(0, 4, (N, 3))
    yt, pw = tensor(y), tensor(pos_weight)
    assert_torch(
        "bce",
        y,
        z,
        lambda x: F.binary_cross_entropy_with_logits(x, yt, pos_weight=pw),
        from_logits=True,
        pos_weight=pos_weight,
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignore", [False, True])
def test_class_weighted_cross_entropy_matches_torchs_denominator(label_smoothing, ignore):
    r = rng(4)
    k = 5
    y = r.integers(0, k, N).astype(float)
    if ignore:
        y[::7] = -100
    z = r.normal(0, 2, (N, k))
    cw = r.uniform(0.2, 3.0, k)
    yt, cwt = torch.tensor(y.astype(np.int64)), tensor(cw)
    assert_torch(
        "cross_entropy",
        y,
        z,
        lambda x: F.cross_entropy(x, yt, weight=cwt, label_smoothing=label_smoothing),
        from_logits=True,
        class_weights=tuple(cw),
        label_smoothing=label_smoothing,
        ignore_index=-100 if ignore else None,
    )


def test_cross_entropy_with_target_columns_divides_by_n_as_torch_does():
    r = rng(5)
    k = 4
    t = r.dirichlet(np.ones(k), N)
    z = r.normal(0, 2, (N, k))
    cw = r.uniform(0.2, 3.0, k)
    tt, cwt = tensor(t), tensor(cw)
    assert_torch(
        "cross_entropy",
        t,
        z,
        lambda x: F.cross_entropy(x, tt, weight=cwt, label_smoothing=0.05),
        from_logits=True,
        class_weights=tuple(cw),
        label_smoothing=0.05,
    )


def test_class_weighted_nll_matches_torch():
    r = rng(6)
    k = 4
    y = r.integers(0, k, N).astype(float)
    y[::5] = -1
    logp = F.log_softmax(tensor(r.normal(0, 2, (N, k))), dim=1).numpy()
    cw = r.uniform(0.2, 3.0, k)
    yt, cwt = torch.tensor(y.astype(np.int64)), tensor(cw)
    assert_torch(
        "nll",
        y,
        logp,
        lambda x: F.nll_loss(x, yt, weight=cwt, ignore_index=-1),
        class_weights=tuple(cw),
        ignore_index=-1,
    )


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("space", ["log_input", "probabilities", "logits"])
def test_kl_div_matches_torchs_default_mean_reduction(space):
    r = rng(7)
    k = 4
    t = r.dirichlet(np.ones(k), N)
    t[::4, 0] = 0.0
    t = t / t.sum(axis=1, keepdims=True)
    z = r.normal(0, 2, (N, k))
    tt = tensor(t)
    if space == "log_input":
        x = F.log_softmax(tensor(z), dim=1).numpy()
        fn, kw = (lambda q: F.kl_div(q, tt)), {"log_input": True}
    elif space == "probabilities":
        x = F.softmax(tensor(z), dim=1).numpy()
        fn, kw = (lambda p: F.kl_div(torch.log(p), tt)), {}
    else:
        x = z
        fn, kw = (lambda q: F.kl_div(F.log_softmax(q, dim=1), tt)), {"from_logits": True}
    assert_torch("kl_div", t, x, fn, **kw)


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_takes_unnormalised_targets_and_any_log_input_as_torch_does(log_target):
    r = rng(17)
    t = r.uniform(0, 6, (N, 3))
    if not log_target:  # a log-target of 0 would be -inf
        t[::5, 1] = 0.0
    x = r.normal(0, 3, (N, 3))
    tt = tensor(np.log(t) if log_target else t)
    y = np.log(t) if log_target else t
    fn = lambda q: F.kl_div(q, tt, log_target=log_target)  # noqa: E731
    assert_torch("kl_div", y, x, fn, log_input=True, log_target=log_target)


def test_poisson_reads_log_rates_by_default_as_torch_does():
    r = rng(8)
    y = r.poisson(3, N).astype(float)
    z = r.normal(0.5, 1, N)
    yt = tensor(y)
    assert_torch("poisson", y, z, lambda x: F.poisson_nll_loss(x, yt))


def test_poisson_on_rates_uses_torchs_eps():
    r = rng(9)
    y = r.poisson(3, N).astype(float)
    rate = r.uniform(0.01, 5, N)
    rate[:3] = [1e-12, 1e-9, 1e-7]
    yt = tensor(y)
    assert_torch(
        "poisson",
        y,
        rate,
        lambda x: F.poisson_nll_loss(x, yt, log_input=False),
        from_logits=False,
    )


def test_gaussian_nll_variance_gradient_passes_the_clamp_as_in_torch():
    r = rng(10)
    y = r.normal(0, 1, N)
    mean = y + r.normal(0, 0.5, N)
    var = r.uniform(0.1, 2, N)
    var[::6] = 1e-9
    mean[::6] = y[::6] + 1e-4
    yt = tensor(y)
    assert_torch("gaussian_nll", y, mean, lambda m, v: F.gaussian_nll_loss(m, yt, v), var=var)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
def test_focal_matches_torchvision_with_its_alpha_default(gamma):
    torchvision = pytest.importorskip("torchvision")
    r = rng(11)
    y = r.integers(0, 2, (N, 2)).astype(float)
    z = r.normal(0, 3, (N, 2))
    yt = tensor(y)
    assert_torch(
        "focal",
        y,
        z,
        lambda x: torchvision.ops.sigmoid_focal_loss(x, yt, gamma=gamma, reduction="mean"),
        from_logits=True,
        gamma=gamma,
    )


def test_focal_matches_the_torchvision_formula_with_its_alpha_default():
    """torchvision's sigmoid_focal_loss, written out (torchvision is optional)."""
    r = rng(12)
    y = r.integers(0, 2, N).astype(float)
    z = r.normal(0, 3, N)
    yt = tensor(y)

    def sigmoid_focal_loss(x, alpha=0.25, gamma=2.0):
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, yt, reduction="none")
        p_t = p * yt + (1 - p) * (1 - yt)
        loss = ce * (1 - p_t) ** gamma
        return ((alpha * yt + (1 - alpha) * (1 - yt)) * loss).mean()

    assert_torch("focal", y, z, sigmoid_focal_loss, from_logits=True)


def test_triplet_on_embeddings_adds_eps_to_the_difference_as_torch_does():
    r = rng(13)
    a = r.normal(0, 1, (N, 5))
    p = a + r.normal(0, 0.3, (N, 5))
    n = r.normal(0, 1, (N, 5))
    p[:4] = a[:4]  # a = p: torch's distance is eps·√D, with a non-zero gradient
    assert_torch(
        "triplet",
        None,
        (a, p, n),
        lambda x, y_, z: F.triplet_margin_loss(x, y_, z, margin=0.5),
        margin=0.5,
    )


@pytest.mark.parametrize(
    ("loss", "fn", "params"),
    [
        ("mse", lambda x, y: F.mse_loss(x, y), {}),
        ("mae", lambda x, y: F.l1_loss(x, y), {}),
        ("huber", lambda x, y: F.huber_loss(x, y, delta=0.7), {"delta": 0.7}),
        ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.4), {"beta": 0.4}),
    ],
)
def test_regression_losses_match_torch(loss, fn, params):
    r = rng(14)
    y = r.normal(0, 2, N)
    yhat = y + r.normal(0, 1.5, N)
    yt = tensor(y)
    assert_torch(loss, y, yhat, lambda x: fn(x, yt), **params)


def test_multi_margin_ranking_and_cosine_embedding_match_torch():
    r = rng(15)
    y = r.integers(0, 4, N).astype(float)
    s = r.normal(0, 1, (N, 4))
    yt = torch.tensor(y.astype(np.int64))
    assert_torch("multi_margin", y, s, lambda x: F.multi_margin_loss(x, yt))
    t = r.choice([-1.0, 1.0], N)
    x1, x2 = r.normal(0, 1, N), r.normal(0, 1, N)
    tt = tensor(t)
    assert_torch(
        "margin_ranking",
        t,
        (x1, x2),
        lambda a, b: F.margin_ranking_loss(a, b, tt, margin=0.3),
        margin=0.3,
    )
    e1, e2 = r.normal(0, 1, (N, 3)), r.normal(0, 1, (N, 3))
    assert_torch(
        "cosine_embedding",
        t,
        (e1, e2),
        lambda a, b: F.cosine_embedding_loss(a, b, tt, margin=0.2),
        margin=0.2,
    )
