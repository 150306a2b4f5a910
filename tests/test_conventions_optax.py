"""optax's definitions that the name of the loss selects, and the losses optax added.

``--loss l2 --convention optax`` is optax.losses.l2_loss (½e²) while ``mse`` is its
squared_error; ``safe_softmax_cross_entropy`` takes logits of −inf (0·log 0 = 0). The
default, and the other libraries, keep their numbers. The values of the new losses
(perceptron, sparsemax, multiclass_sparsemax, generalized_kl_div) are checked against
formulas written out here; their gradients by tests/test_gradients.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import cli

import losscli

RNG = np.random.default_rng(17)
Y = RNG.normal(0, 2, 30)
P = Y + RNG.normal(0, 1, 30)


def test_l2_under_optax_is_half_the_squared_error():
    mse = losscli.evaluate(Y, P, "mse", convention="optax")
    assert losscli.evaluate(Y, P, "l2", convention="optax") == pytest.approx(0.5 * mse, rel=1e-15)
    g = losscli.gradient(Y, P, "l2", convention="optax")
    np.testing.assert_allclose(g, (P - Y) / len(Y), rtol=1e-12)


@pytest.mark.parametrize("convention", [None, "torch", "keras", "sklearn"])
def test_l2_elsewhere_stays_an_alias_of_mse(convention):
    mse = losscli.evaluate(Y, P, "mse", convention=convention)
    assert losscli.evaluate(Y, P, "l2", convention=convention) == mse
    assert mse == pytest.approx(np.mean((P - Y) ** 2), rel=1e-12)


def test_explain_mse_shows_optax_l2_loss(capsys):
    code, out, _ = cli(capsys, "explain", "mse")
    assert code == 0
    assert "optax (--loss l2): optax.losses.l2_loss" in out
    code, out, _ = cli(capsys, "explain", "mse", "--format", "json")
    entries = json.loads(out)["conventions"]
    l2 = next(e for e in entries if e["as"] == "l2")
    assert l2["library"] == "optax" and l2["url"].endswith("optax/losses/_regression.py#L55")
    assert [e["library"] for e in entries if e["as"] is None] == [
        "torch",
        "keras",
        "sklearn",
        "optax",
    ]


LOGITS = "p0,p1,p2,t0,t1,t2\n10,1,-2,0,1,0\n-inf,0,0,0,0.5,0.5\n-inf,0,0,0.4,0.3,0.3\n-inf,0,-inf,0,1,0\n"


def _ce(capsys, tmp_path, text, *args):
    path = tmp_path / "logits.csv"
    path.write_text(text)
    flags = ["-t", "t0,t1,t2", "-p", "p0,p1,p2", "--from-logits", "--format", "json"]
    return cli(capsys, *args[:1], path, *args[1:], *flags)


@pytest.mark.parametrize("convention", [[], ["--convention", "optax"]])
def test_safe_softmax_cross_entropy_takes_minus_inf_logits(capsys, tmp_path, convention):
    code, out, err = _ce(
        capsys,
        tmp_path,
        LOGITS,
        "eval",
        "--loss",
        "safe_softmax_cross_entropy",
        "--reduction",
        "none",
        *convention,
    )
    assert code == 0, err
    got = [json.loads(line)["safe_softmax_cross_entropy"] for line in out.splitlines()]
    assert got[0] == pytest.approx(9 + math.log1p(math.exp(-9) + math.exp(-12)), rel=1e-12)
    assert got[1] == pytest.approx(math.log(2), rel=1e-12)
    assert got[2] == "Infinity"  # t > 0 where z = −inf
    assert got[3] == 0.0  # the classes at −inf have t = 0: 0·log 0 = 0


def test_safe_softmax_cross_entropy_gradient_at_minus_inf(capsys, tmp_path):
    code, out, err = _ce(
        capsys,
        tmp_path,
        LOGITS,
        "grad",
        "--loss",
        "safe_softmax_cross_entropy",
        "--reduction",
        "sum",
        "--convention",
        "optax",
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    # p − t per row: p = softmax(z), 0 at −inf
    assert [rows[1][f"grad_p{c}"] for c in range(3)] == pytest.approx([0.0, 0.0, 0.0])
    assert [rows[2][f"grad_p{c}"] for c in range(3)] == pytest.approx([-0.4, 0.2, 0.2])
    assert [rows[3][f"grad_p{c}"] for c in range(3)] == pytest.approx([0.0, 0.0, 0.0])


def test_a_row_of_all_minus_inf_logits_is_refused(capsys, tmp_path):
    text = "p0,p1,p2,t0,t1,t2\n1,2,3,0,1,0\n-inf,-inf,-inf,0,1,0\n"
    code, _, err = _ce(capsys, tmp_path, text, "eval", "--loss", "safe_softmax_cross_entropy")
    assert code == 2 and "all −inf" in err and "row 1" in err


@pytest.mark.parametrize(
    "loss",
    [
        ["--loss", "cross_entropy"],  # the default stays strict
        ["--loss", "cross_entropy", "--convention", "optax"],  # softmax_cross_entropy: NaN
        ["--loss", "safe_softmax_cross_entropy,cross_entropy"],  # one reader refuses −inf
        ["--loss", "safe_softmax_cross_entropy+0.1*multi_hinge"],
    ],
)
def test_minus_inf_stays_a_bad_cell_elsewhere(capsys, tmp_path, loss):
    code, _, err = _ce(capsys, tmp_path, LOGITS, "eval", *loss)
    assert code == 2 and "empty, NaN or infinite" in err


def test_minus_inf_in_a_target_column_is_still_a_bad_cell(capsys, tmp_path):
    text = "p0,p1,p2,t0,t1,t2\n1,2,3,-inf,1,0\n"
    code, _, err = _ce(capsys, tmp_path, text, "eval", "--loss", "safe_softmax_cross_entropy")
    assert code == 2 and "'t0'" in err and "empty, NaN or infinite" in err


def test_safe_softmax_cross_entropy_belongs_to_optax_only(capsys, tmp_path):
    code, _, err = _ce(
        capsys,
        tmp_path,
        LOGITS,
        "eval",
        "--loss",
        "safe_softmax_cross_entropy",
        "--convention",
        "torch",
    )
    assert code == 2
    assert "PyTorch has no safe_softmax_cross_entropy; optax" in err


def test_safe_equals_plain_cross_entropy_on_finite_logits():
    z = RNG.normal(0, 2, (20, 4))
    y = RNG.integers(0, 4, 20).astype(float)
    kw = dict(from_logits=True, convention="optax")
    assert losscli.evaluate(y, z, "safe_softmax_cross_entropy", **kw) == pytest.approx(
        losscli.evaluate(y, z, "cross_entropy", **kw), rel=1e-14
    )


def _sparse_plus(x):
    return np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4))


def test_binary_perceptron_and_sparsemax_formulas():
    s = RNG.normal(0, 2, 40)
    y01 = RNG.integers(0, 2, 40).astype(float)
    t = 2 * y01 - 1
    for y in (y01, t):  # 0/1 and ±1 targets read the same
        assert losscli.evaluate(y, s, "perceptron") == pytest.approx(
            np.mean(np.maximum(0, -t * s)), rel=1e-14
        )
        assert losscli.evaluate(y, s, "sparsemax") == pytest.approx(
            np.mean(_sparse_plus(-t * s)), rel=1e-14
        )
    g = losscli.gradient(y01, s, "sparsemax", reduction="sum")
    np.testing.assert_allclose(g, np.clip((s + 1) / 2, 0, 1) - y01, atol=1e-15)


def test_multiclass_sparsemax_by_hand():
    # sparsemax([1, 0.5, −1]) = [0.75, 0.25, 0] (τ = 0.25); L = ⟨p, s − s_y⟩ + ½(1 − ‖p‖²)
    s = np.array([[1.0, 0.5, -1.0], [1.0, 0.5, -1.0], [5.0, 0.0, 0.0]])
    y = np.array([0.0, 2.0, 0.0])
    got = losscli.evaluate(y, s, "multiclass_sparsemax", reduction="none")
    np.testing.assert_allclose(got, [0.0625, 0.0625 + 2.0, 0.0], atol=1e-15)
    g = losscli.gradient(y, s, "multiclass_sparsemax", reduction="sum")
    np.testing.assert_allclose(g, [[-0.25, 0.25, 0], [0.75, 0.25, -1], [0, 0, 0]], atol=1e-15)


def test_generalized_kl_is_kl_on_distributions_and_takes_measures():
    t = RNG.dirichlet(np.ones(4), 10)
    p = RNG.dirichlet(np.ones(4), 10)
    assert losscli.evaluate(t, p, "generalized_kl_div") == pytest.approx(
        losscli.evaluate(t, p, "kl_div"), rel=1e-12
    )
    t, p = 3 * t, 0.5 * p  # rows that do not sum to 1
    want = np.mean(np.sum(t * np.log(t / p) - t + p, axis=1))
    assert losscli.evaluate(t, p, "generalized_kl_div") == pytest.approx(want, rel=1e-12)
    # optax takes log-predictions
    assert losscli.evaluate(t, np.log(p), "generalized_kl_div", convention="optax") == (
        pytest.approx(want, rel=1e-12)
    )


def test_the_python_api_takes_minus_inf_logits_for_the_safe_form_only():
    z = np.array([[10.0, 1.0, -2.0], [-np.inf, 0.0, -np.inf], [-np.inf, 0.0, 0.0]])
    t = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5]])
    kw = dict(from_logits=True, convention="optax")
    rows = losscli.evaluate(t, z, "safe_softmax_cross_entropy", reduction="none", **kw)
    np.testing.assert_allclose(rows[1:], [0.0, math.log(2)], atol=1e-15)
    grad = losscli.gradient(t, z, "safe_softmax_cross_entropy", reduction="sum", **kw)
    np.testing.assert_allclose(grad[1:], [[0, 0, 0], [0, 0, 0]], atol=1e-15)
    with pytest.raises(losscli.InputError, match="infinite"):
        losscli.evaluate(t, z, "cross_entropy", **kw)


def test_multiclass_perceptron_is_multi_hinge_with_margin_zero():
    s = RNG.normal(0, 1, (25, 4))
    y = RNG.integers(0, 4, 25).astype(float)
    want = np.mean(s.max(axis=1) - s[np.arange(25), y.astype(int)])
    for convention in (None, "optax"):
        got = losscli.evaluate(y, s, "multiclass_perceptron", convention=convention)
        assert got == pytest.approx(want, rel=1e-14)
    assert losscli.evaluate(y, s, "multiclass_perceptron", margin=1.0) == losscli.evaluate(
        y, s, "multi_hinge"
    )
    with pytest.raises(losscli.UsageError, match="scikit-learn has no multiclass_perceptron"):
        losscli.evaluate(y, s, "multiclass_perceptron", convention="sklearn")


def test_a_parameter_given_inline_and_shared_keeps_the_name_s_form(capsys, tmp_path):
    # label_smoothing inline and as a flag (the same value): the −inf logits stay accepted
    code, out, err = _ce(
        capsys,
        tmp_path,
        LOGITS,
        "eval",
        "--loss",
        "safe_softmax_cross_entropy(label_smoothing=0)",
        "--label-smoothing",
        "0",
        "--reduction",
        "none",
    )
    assert code == 0, err
    assert json.loads(out.splitlines()[3])["safe_softmax_cross_entropy(label_smoothing=0)"] == 0.0


def test_minus_inf_without_from_logits_points_to_the_flag(capsys, tmp_path):
    path = tmp_path / "ninf.csv"
    path.write_text("y,z_0,z_1\n0,1.0,-inf\n1,0.5,0.2\n")
    args = ("eval", path, "-t", "y", "-p", "z_0,z_1", "--convention", "optax")
    code, out, err = cli(capsys, *args, "-l", "safe_softmax_cross_entropy")
    assert code == 2
    assert "hint: these columns take −inf as a logit with --from-logits" in err
    code, out, err = cli(capsys, *args, "-l", "cross_entropy")
    assert code == 2 and "--from-logits" not in err
