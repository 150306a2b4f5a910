"""circle: Keras's Circle loss over every pair of rows of a file (or of each --group)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli

import losscli


def _similarity():
    """The module of circle, imported after the registry loaded the built-ins in their order
    (importing it first would register its losses first)."""
    losscli.get_loss("circle")
    from losscli.losses import similarity

    return similarity


def _embeddings(rng, n, d=4):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _write(path, y, x, extra=None):
    names = ["label", *(f"e_{j}" for j in range(x.shape[1])), *(extra or {})]
    lines = [",".join(names)]
    for i in range(len(y)):
        row = [repr(float(v)) for v in (y[i], *x[i])]
        lines.append(",".join([*row, *(str(v[i]) for v in (extra or {}).values())]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _eval(capsys, path, *args):
    code, out, err = cli(
        capsys, "eval", path, "--loss", "circle", "-t", "label", "-p", "e_*", "-q", *args
    )
    return code, out, err


def test_two_rows_closed_form():
    """Rows 0 and 1 share a label, row 2 differs; with s = x·x' the loss is a softplus of
    the one positive and the one negative term of each row."""
    x = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    y = np.array([0.0, 0.0, 1.0])
    gamma, m = 2.0, 0.4
    s = x @ x.T
    d = np.maximum(1 - s, 0)

    def row(i, j_pos, j_neg):
        u = -gamma * max(m + d[i, j_pos], 0) * (m - d[i, j_pos])
        v = gamma * max(1 + m - d[i, j_neg], 0) * (1 - m - d[i, j_neg])
        return np.logaddexp(0, u + v)

    want = [row(0, 1, 2), row(1, 0, 2), 0.0]  # row 2 has no positive
    got = losscli.evaluate(y, x, "circle", gamma=gamma, margin=m, reduction="sum")
    assert got == pytest.approx(sum(want), rel=1e-12)
    assert losscli.evaluate(y, x, "circle", gamma=gamma, margin=m) == pytest.approx(
        sum(want) / 3, rel=1e-12
    )


def test_each_group_is_its_own_batch(tmp_path, capsys):
    """--group BATCH evaluates each training batch alone, as Keras sees it in training."""
    rng = np.random.default_rng(3)
    y, x = rng.integers(0, 3, 40).astype(float), _embeddings(rng, 40)
    batch = np.repeat(["a", "b"], 20)
    path = _write(tmp_path / "emb.csv", y, x, {"batch": batch})
    code, out, err = _eval(capsys, path, "--group", "batch", "--format", "json")
    assert code == 0, err
    values = {r["group"]: r["value"] for r in json.loads(out)["results"]}
    for g in ("a", "b"):
        rows = batch == g
        want = losscli.evaluate(y[rows], x[rows], "circle")
        assert values[g] == pytest.approx(want, rel=1e-12)
    # the whole file is one batch of 40 rows: not the mean of the two batches
    assert values[None] == pytest.approx(losscli.evaluate(y, x, "circle"), rel=1e-12)


def test_strict_default_refuses_embeddings_that_are_not_unit_norm(tmp_path, capsys):
    rng = np.random.default_rng(4)
    y, x = rng.integers(0, 2, 6).astype(float), _embeddings(rng, 6)
    x[3] *= 1.5
    path = _write(tmp_path / "emb.csv", y, x)
    code, out, err = _eval(capsys, path)
    assert code == 2 and out == ""
    assert "row 3" in err and "L2-normalised" in err
    code, out, err = _eval(capsys, path, "--convention", "keras")  # Keras takes them as given
    assert code == 0, err


def test_labels_must_be_integers(tmp_path, capsys):
    rng = np.random.default_rng(5)
    y, x = np.array([0.0, 1.0, 1.5, 0.0]), _embeddings(rng, 4)
    code, _, err = _eval(capsys, _write(tmp_path / "emb.csv", y, x))
    assert code == 2 and "row 2" in err and "integer class label" in err


def test_too_many_rows_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_similarity(), "CIRCLE_MAX_ROWS", 10)
    rng = np.random.default_rng(6)
    y, x = rng.integers(0, 2, 12).astype(float), _embeddings(rng, 12)
    code, out, err = _eval(capsys, _write(tmp_path / "emb.csv", y, x))
    assert code == 2 and out == ""
    assert "every pair of rows" in err and "--group" in err


def test_blocks_give_the_same_value_and_gradient(monkeypatch):
    """The pairs are computed a block of rows at a time; the block size changes nothing."""
    rng = np.random.default_rng(7)
    y, x = rng.integers(0, 4, 30).astype(float), _embeddings(rng, 30)
    w = rng.uniform(0.5, 2, 30)
    whole = losscli.evaluate(y, x, "circle", weights=w, gamma=16.0)
    g_whole = losscli.gradient(y, x, "circle", weights=w, gamma=16.0)
    monkeypatch.setattr(_similarity(), "CIRCLE_BLOCK_PAIRS", 70)  # blocks of 2 rows
    assert losscli.evaluate(y, x, "circle", weights=w, gamma=16.0) == pytest.approx(
        whole, rel=1e-13
    )
    np.testing.assert_allclose(
        losscli.gradient(y, x, "circle", weights=w, gamma=16.0), g_whole, rtol=1e-12
    )


def test_no_per_row_values(tmp_path, capsys):
    rng = np.random.default_rng(8)
    y, x = rng.integers(0, 2, 6).astype(float), _embeddings(rng, 6)
    code, _, err = _eval(capsys, _write(tmp_path / "emb.csv", y, x), "--reduction", "none")
    assert code == 2 and "circle supports: mean, sum" in err


def test_keras_mean_divides_by_rows_with_a_loss():
    rng = np.random.default_rng(9)
    y, x = rng.integers(0, 3, 12).astype(float), _embeddings(rng, 12)
    y[:2] = [10.0, 11.0]  # two rows without positives: L = 0, masked by Keras
    total = losscli.evaluate(y, x, "circle", reduction="sum")
    assert losscli.evaluate(y, x, "circle") == pytest.approx(total / 12, rel=1e-12)
    assert losscli.evaluate(y, x, "circle", convention="keras") == pytest.approx(
        total / 10, rel=1e-12
    )
