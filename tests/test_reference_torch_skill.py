"""Skill-score and calibration gradients against torch autograd (skipped without torch).

Each metric is written out in torch from its definition, with sample weights; the
bins of the calibration metrics are computed from detached probabilities, as a
binned computation in torch would (torchmetrics bins with ``torch.bucketize``).
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
F = torch.nn.functional
N = 60


def t(x, grad: bool = False):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def check(value, tensor, got_value, got_grad) -> None:
    value.backward()
    np.testing.assert_allclose(got_value, value.item(), rtol=1e-10)
    np.testing.assert_allclose(got_grad, tensor.grad.numpy(), rtol=1e-8, atol=1e-14)


def wmean(values, w):
    return (w * values).sum() / w.sum()


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 3.0])
def test_d2_tweedie_value_and_gradient(power):
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 1.0, N)
    p = y * rng.uniform(0.5, 1.5, N) + 0.1
    w = rng.uniform(0.2, 2.0, N)
    yt, pt, wt = t(y), t(p, True), t(w)

    def dev(mu):
        if power == 0:
            return (yt - mu) ** 2
        if power == 1:
            return 2 * (torch.xlogy(yt, yt) - torch.xlogy(yt, mu) - yt + mu)
        c = 2 - power
        return 2 * (yt**c / ((1 - power) * c) - yt * mu ** (1 - power) / (1 - power) + mu**c / c)

    ybar = wmean(yt, wt)
    d2 = 1 - wmean(dev(pt), wt) / wmean(dev(ybar.expand(N)), wt)
    kw = dict(power=power, weights=w)
    check(
        d2,
        pt,
        losscli.evaluate(y, p, "d2_tweedie", **kw),
        losscli.gradient(y, p, "d2_tweedie", **kw),
    )


def test_d2_log_loss_and_brier_on_logits():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, N)
    z = rng.normal(0, 2, (N, 3))
    w = rng.uniform(0.2, 2.0, N)
    onehot, wt = t(np.eye(3)[labels]), t(w)
    shares = (wt[:, None] * onehot).sum(0) / wt.sum()
    for name in ("d2_log_loss", "d2_brier"):
        zt = t(z, True)
        if name == "d2_log_loss":
            model = wmean(-(onehot * F.log_softmax(zt, dim=1)).sum(1), wt)
            null = -(shares * torch.log(shares)).sum()
        else:
            model = wmean(((F.softmax(zt, dim=1) - onehot) ** 2).sum(1), wt)
            null = wmean(((shares - onehot) ** 2).sum(1), wt)
        kw = dict(weights=w, from_logits=True)
        check(
            1 - model / null,
            zt,
            losscli.evaluate(labels, z, name, **kw),
            losscli.gradient(labels, z, name, **kw),
        )


@pytest.mark.parametrize("name", ["ece", "brier_reliability", "brier_resolution"])
@pytest.mark.parametrize("binning", ["width", "mass"])
def test_binned_calibration_metrics(name, binning):
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.98, N)
    y = (rng.uniform(size=N) < p).astype(float)
    w = rng.uniform(0.2, 2.0, N)
    bins = 6
    if binning == "width":
        edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
        k = (torch.bucketize(t(p), edges, right=True) - 1).clamp(0, bins - 1)
    else:
        inner = np.quantile(p, np.arange(1, bins) / bins, weights=w, method="inverted_cdf")
        k = torch.bucketize(t(p), t(inner), right=False)
    pt, yt, wt = t(p, True), t(y), t(w)

    def per_bin(values):
        return torch.zeros(bins, dtype=torch.float64).index_add(0, k, values)

    total = wt.sum()
    wk, pk, yk = per_bin(wt), per_bin(wt * pt), per_bin(wt * yt)
    used = wk > 0
    wk, pk, yk = wk[used], pk[used], yk[used]
    if name == "ece":
        value = (yk - pk).abs().sum() / total
    elif name == "brier_reliability":
        value = (wk * (pk / wk - yk / wk) ** 2).sum() / total
    else:
        ybar = yt @ wt / total
        pbar, ymean = per_bin(wt * pt)[k] / per_bin(wt)[k], per_bin(wt * yt)[k] / per_bin(wt)[k]
        res = (wk * (yk / wk - ybar) ** 2).sum() / total
        wbv = (wt * (pt - pbar) ** 2).sum() / total
        wbc = 2 * (wt * (yt - ymean) * (pt - pbar)).sum() / total
        value = res - wbv + wbc
    kw = dict(weights=w, bins=bins, binning=binning)
    check(value, pt, losscli.evaluate(y, p, name, **kw), losscli.gradient(y, p, name, **kw))
