"""Every loss's analytic gradient against central finite differences of J.

One parametrized test covers every registered name (and composites), with and
without sample weights, for each reduction the loss supports (median, max and p95,
which take no weights, unweighted only; the random cases have no ties among the Lᵢ
other than zeros of inactive rows). A registered loss without a case in tests/cases.py
makes ``test_every_registered_loss_has_a_gradient_case`` fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES, CONVENTION_CASES, case_params

import losscli
from losscli.losses.registry import get_loss

NAMES = losscli.available_losses()
PARAMS = case_params(NAMES)
PARAMS += [
    pytest.param(make, id=f"{name}-convention-{i}")
    for name, makers in CONVENTION_CASES.items()
    for i, make in enumerate(makers)
]


def finite_difference(f, inputs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Central differences of the scalar f(*inputs) w.r.t. every element of every input."""
    grads = []
    for k, x in enumerate(inputs):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            h = 1e-6 * max(abs(x[idx]), 1e-2)
            up = [a.copy() for a in inputs]
            down = [a.copy() for a in inputs]
            up[k][idx] += h
            down[k][idx] -= h
            g[idx] = (f(*up) - f(*down)) / (2 * h)
        grads.append(g)
    return grads


def reductions_of(
    spec: str, params: dict, weighted: bool = False, convention: str | None = None
) -> list[str]:
    from losscli.app.arrays import objective

    # reductions do not depend on a convention, but some parameters are taken only under one
    _, obj = objective(spec, convention=convention, **params)
    out = []
    for r in ("mean", "sum") if weighted else ("mean", "sum", "median", "max", "p95"):
        try:
            obj.check_reduction(r)
            out.append(r)
        except losscli.UsageError:
            pass
    return out


def test_every_registered_loss_has_a_gradient_case():
    missing = [name for name in NAMES if not CASES.get(name)]
    assert not missing, f"losses without a case in tests/cases.py: {missing}"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("make", PARAMS)
def test_gradient_matches_finite_differences(make, weighted):
    rng = np.random.default_rng(1234)
    case = make(rng, 9)
    weights = rng.uniform(0.2, 2.0, 9) if weighted else None
    for reduction in reductions_of(case.loss, case.params, weighted, case.convention):

        def J(*preds, reduction=reduction):
            y_pred = preds if len(preds) > 1 else preds[0]
            return losscli.evaluate(
                case.y,
                y_pred,
                case.loss,
                weights=weights,
                reduction=reduction,
                from_logits=case.from_logits,
                convention=case.convention,
                **case.params,
            )

        analytic = losscli.gradient(
            case.y,
            case.y_pred,
            case.loss,
            weights=weights,
            reduction=reduction,
            from_logits=case.from_logits,
            convention=case.convention,
            **case.params,
        )
        analytic = analytic if isinstance(analytic, tuple) else (analytic,)
        numeric = finite_difference(J, case.preds)
        assert len(analytic) == len(numeric)
        for a, n in zip(analytic, numeric):
            assert a.shape == n.shape
            scale = max(np.max(np.abs(n)), 1e-12)
            np.testing.assert_allclose(
                a, n, rtol=1e-6, atol=1e-6 * scale, err_msg=f"{case.loss} {reduction}"
            )


def test_composite_value_and_gradient_are_linear():
    rng = np.random.default_rng(5)
    y = rng.normal(size=50)
    p = y + rng.normal(size=50)
    combo = losscli.evaluate(y, p, "0.7*mse + 0.3*huber", delta=0.5)
    assert combo == pytest.approx(
        0.7 * losscli.evaluate(y, p, "mse") + 0.3 * losscli.evaluate(y, p, "huber", delta=0.5),
        rel=1e-12,
    )
    g = losscli.gradient(y, p, "0.7*mse + 0.3*huber", delta=0.5)
    np.testing.assert_allclose(
        g,
        0.7 * losscli.gradient(y, p, "mse") + 0.3 * losscli.gradient(y, p, "huber", delta=0.5),
        rtol=1e-12,
    )


def test_gradient_has_the_prediction_shape():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 20)
    z = rng.normal(size=(20, 3))
    assert losscli.gradient(y, z, "cross_entropy", from_logits=True).shape == (20, 3)
    assert losscli.gradient(np.ones((20, 3)), z, "bce", from_logits=True).shape == (20, 3)


def test_kinks_use_zero_subgradient():
    y = np.array([1.0, 2.0, 3.0])
    assert np.all(losscli.gradient(y, y, "mae") == 0)
    assert np.all(losscli.gradient(y, y, "quantile", quantile=0.8) == 0)
    # hinge exactly at the margin (t s = 1): 0 is a valid subgradient
    assert np.all(losscli.gradient([1, 0], [1.0, -1.0], "hinge") == 0)


def test_rmse_gradient_is_zero_at_a_perfect_fit():
    y = np.array([1.0, 2.0])
    assert losscli.evaluate(y, y, "rmse") == 0
    assert np.all(losscli.gradient(y, y, "rmse") == 0)


def test_gaussian_nll_variance_gradient_is_zero_below_eps():
    g_mean, g_var = losscli.gradient([0.0, 0.0], [1.0, 1.0], "gaussian_nll", var=[1e-9, 0.5])
    assert g_var[0] == 0.0 and g_var[1] != 0.0
    assert g_mean[0] == pytest.approx(0.5 * 1.0 / 1e-6)


def test_triplet_embedding_gradient_is_zero_at_zero_distance():
    a = np.array([[1.0, 2.0]])
    g_a, g_p, g_n = losscli.gradient(None, (a, a.copy(), a + 0.1), "triplet")
    assert np.all(g_p == 0)  # d_ap = 0: that term's gradient is 0
    assert get_loss("triplet_margin").name == "triplet"
