"""cosine_distance (1 − cos, a loss) and cosine_similarity (cos, a metric) over a row's K
prediction and K target columns: closed forms, the strict zero-vector rule, the library
conventions (Keras's −cos, optax's 1 − cos and +cos) and torch as a cross-check."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import cli

import losscli

Y = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
P = np.array([[2.0, 0.0], [1.0, 0.0], [-3.0, -4.0]])  # same direction, orthogonal, opposite
COS = np.array([1.0, 0.0, -1.0])


def test_closed_form_values():
    assert losscli.evaluate(Y, P, "cosine_distance", reduction="none") == pytest.approx(1 - COS)
    assert losscli.evaluate(Y, P, "cosine_similarity", reduction="none") == pytest.approx(COS)
    assert losscli.evaluate(Y, P, "cosine_distance") == pytest.approx(1.0)
    # 45°: cos = 1/√2
    got = losscli.evaluate(np.array([[1.0, 0.0]]), np.array([[5.0, 5.0]]), "cosine_distance")
    assert got == pytest.approx(1 - 1 / math.sqrt(2))


def test_closed_form_gradient():
    # y = (1, 0), ŷ = (1, 1): ∂(1 − cos)/∂ŷ = −(y/(‖ŷ‖‖y‖) − cos·ŷ/‖ŷ‖²) = (−½, ½)/√2
    g = losscli.gradient(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]]), "cosine_distance")
    np.testing.assert_allclose(g, [[-0.5 / math.sqrt(2), 0.5 / math.sqrt(2)]], rtol=1e-12)
    # the gradient is orthogonal to ŷ: scaling ŷ does not change the loss
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    g = losscli.gradient(y, p, "cosine_distance", reduction="sum")
    np.testing.assert_allclose(np.sum(g * p, axis=1), 0.0, atol=1e-12)
    assert losscli.evaluate(y, 3.7 * p, "cosine_distance") == pytest.approx(
        losscli.evaluate(y, p, "cosine_distance"), rel=1e-12
    )


def test_keras_is_minus_cos_and_optax_one_minus_cos():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    cos = np.sum(y * p, 1) / np.linalg.norm(y, axis=1) / np.linalg.norm(p, axis=1)
    keras = losscli.evaluate(y, p, "cosine_distance", convention="keras", reduction="none")
    optax = losscli.evaluate(y, p, "cosine_distance", convention="optax", reduction="none")
    np.testing.assert_allclose(keras, -cos, rtol=1e-12)
    np.testing.assert_allclose(optax, 1 - cos, rtol=1e-12)
    for lib in ("torch", "keras", "optax"):
        sim = losscli.evaluate(y, p, "cosine_similarity", convention=lib, reduction="none")
        np.testing.assert_allclose(sim, cos, rtol=1e-12)
    # the same gradient: a constant apart
    np.testing.assert_allclose(
        losscli.gradient(y, p, "cosine_distance", convention="keras"),
        losscli.gradient(y, p, "cosine_distance"),
        rtol=1e-12,
    )


def test_zero_vector_is_an_error_by_default_naming_the_row(tmp_path, capsys):
    path = tmp_path / "vectors.csv"
    path.write_text("y0,y1,p0,p1\n1,2,3,4\n0.5,1,0,0\n")
    code, out, err = cli(capsys, "eval", path, "--loss", "cosine_distance")
    assert code == 2 and out == ""
    assert "columns p0, p1, row 1" in err and "zero vector" in err
    assert "eps=" in err  # the hint names the floor that makes it computable


def test_zero_vector_under_keras_gives_cos_0(tmp_path, capsys):
    """Keras: x·rsqrt(max(‖x‖², 1e-14)) is 0 for a zero vector, so −cos = 0 on that row."""
    path = tmp_path / "vectors.csv"
    path.write_text("y0,y1,p0,p1\n1,0,3,0\n0.5,1,0,0\n")
    code, out, err = cli(
        capsys,
        *("eval", path, "--loss", "cosine_distance", "--convention", "keras"),
        *("--reduction", "none", "--format", "json", "-q"),
    )
    assert code == 0, err
    rows = [json.loads(line)["cosine_distance"] for line in out.splitlines()]
    assert rows == pytest.approx([-1.0, 0.0])


def test_eps_floors_the_squared_norms():
    y, p = np.array([[3.0, 4.0]]), np.array([[0.0, 0.1]])  # ‖ŷ‖² = 0.01 below eps = 1
    got = losscli.evaluate(y, p, "cosine_similarity", eps=1.0)
    assert got == pytest.approx(0.4 / (1.0 * 5.0))


def test_similarity_is_a_metric_where_higher_is_better(capsys):
    loss = losscli.get_loss("cosine_similarity")
    assert (loss.kind, loss.better) == ("metric", "higher")
    assert losscli.get_loss("cosine_distance").better == "lower"
    code, out, _ = cli(capsys, "explain", "cosine_similarity")
    assert code == 0 and "optax.losses.cosine_similarity" in out and "--fail-below" in out


def test_torch_cosine_similarity_agrees():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    y, p = rng.normal(size=(25, 6)), rng.normal(size=(25, 6))
    y[3] = 0.0  # torch clamps each norm at eps = 1e-8: a zero vector gives 0
    tp = torch.tensor(p, requires_grad=True)
    ty = torch.tensor(y)
    cos = torch.nn.functional.cosine_similarity(tp, ty, dim=1)
    cos.mean().backward()
    got = losscli.evaluate(y, p, "cosine_similarity", convention="torch", reduction="none")
    np.testing.assert_allclose(got, cos.detach().numpy(), rtol=1e-10, atol=1e-15)
    g = losscli.gradient(y, p, "cosine_similarity", convention="torch")
    np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-8, atol=1e-15)
    # and 1 − cos is CosineEmbeddingLoss with t = 1
    emb = torch.nn.functional.cosine_embedding_loss(tp, ty, torch.ones(25), reduction="none")
    mask = np.arange(25) != 3
    np.testing.assert_allclose(
        losscli.evaluate(y[mask], p[mask], "cosine_distance", reduction="none"),
        emb.detach().numpy()[mask],
        rtol=1e-9,
    )
