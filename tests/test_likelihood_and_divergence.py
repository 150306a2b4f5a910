"""Full likelihoods, deviances and divergences against their reference definitions.

poisson/gaussian_nll ``full=true`` against torch's ``full=True`` (autograd included);
poisson_deviance and gamma_deviance against scikit-learn's mean_*_deviance;
js_div against scipy.spatial.distance.jensenshannon (which returns √JS, base e);
kl_div ``log_target=true`` against torch kl_div(log_target=True) and the plain kl_div.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import gammaln
from sklearn import metrics

import losscli

N = 200
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def weights_or_none(weighted: bool, n: int = N) -> np.ndarray | None:
    return rng_for(99).uniform(0.1, 3.0, n) if weighted else None


def wmean(rows: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.mean(rows) if w is None else np.sum(w * rows) / np.sum(w))


def counts(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.poisson(4.0, N).astype(float)
    y[:4] = [0.0, 1.0, 2.0, 40.0]
    return y, rng.uniform(0.3, 8.0, N)


# ---------------------------------------------------------------- poisson and gaussian full


def test_poisson_full_adds_the_stirling_term_of_log_factorial():
    y, rate = counts()
    plain = losscli.evaluate(y, rate, "poisson", reduction="none")
    full = losscli.evaluate(y, rate, "poisson", full=True, reduction="none")
    big = y > 1
    stirling = y * np.log(np.where(big, y, 1)) - y + 0.5 * np.log(2 * np.pi * np.where(big, y, 1))
    np.testing.assert_allclose(full - plain, np.where(big, stirling, 0.0), rtol=1e-12, atol=1e-12)
    # Stirling's series: log y! − term → 1/(12y) for large counts
    np.testing.assert_allclose(gammaln(41.0) - stirling[3], 1 / (12 * 40), rtol=1e-3)
    np.testing.assert_array_equal(
        losscli.gradient(y, rate, "poisson", full=True), losscli.gradient(y, rate, "poisson")
    )


def test_gaussian_full_adds_half_log_two_pi():
    rng = rng_for(1)
    y = rng.normal(size=N)
    mean, var = y + rng.normal(size=N), rng.uniform(0.1, 3.0, N)
    full = losscli.evaluate(y, mean, "gaussian_nll", var=var, full=True)
    plain = losscli.evaluate(y, mean, "gaussian_nll", var=var)
    np.testing.assert_allclose(full - plain, 0.5 * np.log(2 * np.pi), rtol=1e-12)
    from scipy.stats import norm

    exact = -np.mean(norm.logpdf(y, loc=mean, scale=np.sqrt(var)))
    np.testing.assert_allclose(full, exact, rtol=1e-12)


def test_full_is_a_boolean_parameter():
    with pytest.raises(losscli.ParamError, match="full"):
        losscli.evaluate([1.0], [1.0], "poisson", full="maybe")
    assert losscli.evaluate([3.0], [2.0], "poisson(full=true)") == pytest.approx(
        2.0 - 3.0 * np.log(2.0 + 1e-7) + 3 * np.log(3) - 3 + 0.5 * np.log(6 * np.pi)
    )


# ---------------------------------------------------------------- deviances


@WEIGHTED
def test_poisson_deviance_matches_sklearn(weighted):
    y, rate = counts(2)
    w = weights_or_none(weighted)
    got = losscli.evaluate(y, rate, "poisson_deviance", weights=w)
    np.testing.assert_allclose(got, metrics.mean_poisson_deviance(y, rate, sample_weight=w), 1e-12)
    assert got == pytest.approx(losscli.evaluate(y, rate, "tweedie", power=1.0, weights=w))


@WEIGHTED
def test_gamma_deviance_matches_sklearn(weighted):
    rng = rng_for(3)
    y, yhat = rng.gamma(2.0, 2.0, N), rng.uniform(0.3, 8.0, N)
    w = weights_or_none(weighted)
    got = losscli.evaluate(y, yhat, "gamma_deviance", weights=w)
    np.testing.assert_allclose(got, metrics.mean_gamma_deviance(y, yhat, sample_weight=w), 1e-12)


def test_poisson_deviance_is_twice_the_nll_excess_over_the_saturated_model():
    y, rate = counts(4)
    rows = losscli.evaluate(y, rate, "poisson_deviance", reduction="none")
    nll = rate - y * np.log(rate)
    saturated = y - np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0)
    np.testing.assert_allclose(rows, 2 * (nll - saturated), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(y, rate, "poisson_deviance", reduction="sum"), 2 * (1 - y / rate)
    )


def test_deviance_domains_are_input_errors():
    with pytest.raises(losscli.InputError, match="is not positive") as info:
        losscli.evaluate([0.0, 1.0], [1.0, 1.0], "gamma_deviance")
    assert "gamma_deviance needs targets > 0" in info.value.hint
    with pytest.raises(losscli.InputError, match="negative"):
        losscli.evaluate([-1.0], [1.0], "poisson_deviance")
    with pytest.raises(losscli.InputError, match="not positive"):
        losscli.evaluate([1.0], [0.0], "poisson_deviance")


# ---------------------------------------------------------------- Jensen–Shannon


def distributions(seed: int, k: int = 5, n: int = N) -> np.ndarray:
    return rng_for(seed).dirichlet(np.full(k, 1.5), n)


@WEIGHTED
def test_js_div_is_scipy_jensenshannon_squared(weighted):
    t, p = distributions(5), distributions(6)
    w = weights_or_none(weighted)
    expected = jensenshannon(t, p, axis=1) ** 2  # scipy: the distance √JS, natural log
    np.testing.assert_allclose(
        losscli.evaluate(t, p, "js_div", reduction="none"), expected, rtol=1e-9
    )
    np.testing.assert_allclose(
        losscli.evaluate(t, p, "js_div", weights=w), wmean(expected, w), rtol=1e-9
    )
    assert losscli.evaluate(t, p, "jensen_shannon") == losscli.evaluate(t, p, "js_div")


def test_js_div_is_symmetric_and_bounded_by_log_two():
    t, p = distributions(7), distributions(8)
    rows = losscli.evaluate(t, p, "js_div", reduction="none")
    np.testing.assert_allclose(rows, losscli.evaluate(p, t, "js_div", reduction="none"), 1e-12)
    disjoint_t = np.array([[1.0, 0.0, 0.0, 0.0]])
    disjoint_p = np.array([[0.0, 0.5, 0.5, 0.0]])
    got = losscli.evaluate(disjoint_t, disjoint_p, "js_div", eps=1e-300)
    np.testing.assert_allclose(got, np.log(2.0), rtol=1e-12)
    assert np.all(rows <= np.log(2.0))


def test_js_div_with_zero_target_mass_matches_scipy():
    t = distributions(9, k=4, n=50)
    t[::2, 1] = 0.0
    t /= t.sum(axis=1, keepdims=True)
    p = distributions(10, k=4, n=50)
    np.testing.assert_allclose(
        losscli.evaluate(t, p, "js_div", reduction="none"),
        jensenshannon(t, p, axis=1) ** 2,
        rtol=1e-9,
    )


def test_js_div_from_logits_is_finite_for_huge_logits():
    t = distributions(11, k=3, n=4)
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.0, 0.0, 0.0], [5e3, 5e3, -1e4]])
    value = losscli.evaluate(t, z, "js_div", from_logits=True)
    grad = losscli.gradient(t, z, "js_div", from_logits=True)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(value, np.mean(jensenshannon(t, p, axis=1) ** 2), rtol=1e-9)


# ---------------------------------------------------------------- KL with log-space targets


def test_kl_log_target_equals_kl_on_the_exponentiated_targets():
    t, p = distributions(12), distributions(13)
    got = losscli.evaluate(np.log(t), p, "kl_div", log_target=True)
    np.testing.assert_allclose(got, losscli.evaluate(t, p, "kl_div"), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(np.log(t), p, "kl_div", log_target=True),
        losscli.gradient(t, p, "kl_div"),
        rtol=1e-12,
    )


def test_kl_log_target_refuses_positive_log_probabilities_and_unnormalised_rows():
    t = distributions(14, k=3, n=5)
    with pytest.raises(losscli.InputError, match="log-probability above 0"):
        losscli.evaluate(t, t, "kl_div", log_target=True)  # probabilities, not logs
    bad = np.log(t)
    bad[2] -= 1.0
    with pytest.raises(losscli.InputError, match="row sum"):
        losscli.evaluate(bad, t, "kl_div", log_target=True)


# ---------------------------------------------------------------- torch


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _tensor(torch, x, grad=False):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


@pytest.mark.torch
@pytest.mark.parametrize("log_input", [True, False], ids=["log_rate", "rate"])
def test_poisson_full_matches_torch(torch, log_input):
    y, rate = counts(15)
    x = np.log(rate) if log_input else rate
    xt = _tensor(torch, x, grad=True)
    value = torch.nn.functional.poisson_nll_loss(
        xt, _tensor(torch, y), log_input=log_input, full=True, eps=1e-8
    )
    value.backward()
    kw = dict(full=True, from_logits=log_input, eps=1e-8)
    np.testing.assert_allclose(losscli.evaluate(y, x, "poisson", **kw), value.item(), rtol=1e-12)
    np.testing.assert_allclose(losscli.gradient(y, x, "poisson", **kw), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.torch
def test_gaussian_full_matches_torch(torch):
    rng = rng_for(16)
    y = rng.normal(size=N)
    mean, var = y + rng.normal(size=N), rng.uniform(0.1, 3.0, N)
    mt, vt = _tensor(torch, mean, True), _tensor(torch, var, True)
    value = torch.nn.GaussianNLLLoss(full=True, eps=1e-6)(mt, _tensor(torch, y), vt)
    value.backward()
    got = losscli.evaluate(y, mean, "gaussian_nll", var=var, full=True)
    np.testing.assert_allclose(got, value.item(), rtol=1e-12)
    g_mean, g_var = losscli.gradient(y, mean, "gaussian_nll", var=var, full=True)
    np.testing.assert_allclose(g_mean, mt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_var, vt.grad.numpy(), rtol=1e-12)


def _target_and_scores(torch, from_logits: bool, target_seed: int, score_seed: int):
    """Target distributions (64×4), and logits or distributions as numpy and as a torch leaf."""
    t = distributions(target_seed, k=4, n=64)
    if from_logits:
        x = rng_for(score_seed).normal(0, 2, (64, 4))
    else:
        x = distributions(score_seed, k=4, n=64)
    return t, x, _tensor(torch, x, grad=True)


@pytest.mark.torch
@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probabilities"])
def test_kl_log_target_matches_torch(torch, from_logits):
    t, x, xt = _target_and_scores(torch, from_logits, 17, 18)
    log_q = torch.log_softmax(xt, dim=1) if from_logits else torch.log(xt)
    value = torch.nn.functional.kl_div(
        log_q, _tensor(torch, np.log(t)), reduction="batchmean", log_target=True
    )
    value.backward()
    kw = dict(log_target=True, from_logits=from_logits)
    lt = np.log(t)
    np.testing.assert_allclose(losscli.evaluate(lt, x, "kl_div", **kw), value.item(), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(lt, x, "kl_div", **kw), xt.grad.numpy(), rtol=1e-10, atol=1e-15
    )


@pytest.mark.torch
@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probabilities"])
def test_js_div_gradient_matches_torch_autograd(torch, from_logits):
    t, x, xt = _target_and_scores(torch, from_logits, 19, 20)
    p = torch.softmax(xt, dim=1) if from_logits else xt
    tt = _tensor(torch, t)
    m = 0.5 * (tt + p)
    value = (0.5 * (tt * (tt / m).log()).sum(1) + 0.5 * (p * (p / m).log()).sum(1)).mean()
    value.backward()
    kw = dict(from_logits=from_logits)
    np.testing.assert_allclose(losscli.evaluate(t, x, "js_div", **kw), value.item(), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(t, x, "js_div", **kw), xt.grad.numpy(), rtol=1e-9, atol=1e-15
    )
