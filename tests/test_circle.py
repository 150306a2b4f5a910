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


def _rows(capsys, path, *args):
    """``eval --reduction none`` as a table of columns."""
    import io

    import pandas as pd

    code, out, err = _eval(capsys, path, "--reduction", "none", *args)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


def test_per_row_values_sum_weighted_to_the_sum_reduction(tmp_path, capsys):
    """Each row's Lᵢ is against every row of the file: Σwᵢ·Lᵢ is eval's sum, and
    grad --with-loss writes the same Lᵢ."""
    rng = np.random.default_rng(8)
    y, x = rng.integers(0, 3, 30).astype(float), _embeddings(rng, 30)
    w = np.round(rng.uniform(0.5, 2, 30), 3)
    path = _write(tmp_path / "emb.csv", y, x, {"w": w})
    rows = _rows(capsys, path, "--weight", "w", "--gamma", "16")
    assert list(rows.columns) == ["row", "weight", "circle", "weighted_circle"]
    want = losscli.evaluate(y, x, "circle", reduction="none", gamma=16.0)
    np.testing.assert_allclose(rows["circle"], want, rtol=1e-12)
    np.testing.assert_allclose(rows["weighted_circle"], w * want, rtol=1e-12)
    code, out, err = _eval(
        capsys, path, "--weight", "w", "--gamma", "16", "--reduction", "sum", "--format", "json"
    )
    assert code == 0, err
    value = json.loads(out)["results"][0]["value"]
    assert rows["weighted_circle"].sum() == pytest.approx(value, rel=1e-12)
    total = losscli.evaluate(y, x, "circle", weights=w, reduction="sum", gamma=16.0)
    assert rows["weighted_circle"].sum() == pytest.approx(total, rel=1e-12)
    code, out, err = cli(
        capsys, "grad", path, "--loss", "circle", "-t", "label", "-p", "e_*", "--gamma", "16",
        "--with-loss", "-q",
    )  # fmt: skip
    assert code == 0, err
    import io

    import pandas as pd

    np.testing.assert_allclose(pd.read_csv(io.StringIO(out))["loss"], want, rtol=1e-12)


def test_per_row_values_of_a_file_read_in_several_batches(tmp_path, capsys, monkeypatch):
    """Rows computed one record batch at a time would compare each row with its batch
    only; each Lᵢ is against the whole file however many batches it is read in."""
    import losscli.engine.backend as backend
    import losscli.io.csv_reader

    rng = np.random.default_rng(10)
    n = 400
    y, x = rng.integers(0, 5, n).astype(float), _embeddings(rng, n)
    path = _write(tmp_path / "emb.csv", y, x)
    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 4096)  # ~40 rows a batch
    written = []

    def counted(reading, frame, batches, sums=None):
        written.append(len(batches[0]))
        return backend_row_columns(reading, frame, batches, sums)

    backend_row_columns = backend.row_columns
    monkeypatch.setattr(backend, "row_columns", counted)
    rows = _rows(capsys, path)
    assert len(written) > 3 and sum(written) == n  # several record batches
    want = losscli.evaluate(y, x, "circle", reduction="none")
    np.testing.assert_allclose(rows["circle"], want, rtol=1e-12)
    first = losscli.evaluate(y[: written[0]], x[: written[0]], "circle", reduction="none")
    assert not np.allclose(rows["circle"][: written[0]], first)  # what one batch alone gives
    code, out, err = cli(
        capsys, "grad", path, "--loss", "circle", "-t", "label", "-p", "e_*", "--with-loss", "-q"
    )
    assert code == 0, err
    import io

    import pandas as pd

    np.testing.assert_allclose(pd.read_csv(io.StringIO(out))["loss"], want, rtol=1e-12)


def test_keras_per_row_values_are_weighted_and_unmasked(tmp_path, capsys):
    """Keras's reduction=None: wᵢ·Lᵢ, rows without a positive are 0 (its mask is the mean's)."""
    rng = np.random.default_rng(11)
    y, x = rng.integers(0, 3, 12).astype(float), _embeddings(rng, 12) * 1.5
    y[:2] = [10.0, 11.0]
    w = np.linspace(0.5, 2, 12)
    path = _write(tmp_path / "emb.csv", y, x, {"w": w})
    rows = _rows(capsys, path, "--weight", "w", "--convention", "keras")
    want = losscli.evaluate(y, x, "circle", reduction="none", convention="keras")
    assert list(want[:2]) == [0.0, 0.0]
    np.testing.assert_allclose(rows["weighted_circle"], w * want, rtol=1e-12)


def test_per_row_limits(tmp_path, capsys):
    """--reduction none takes no --group (as for every loss); no row statistics and no
    gradient of one Lᵢ alone, both of which would need each row by itself."""
    rng = np.random.default_rng(12)
    y, x = rng.integers(0, 2, 6).astype(float), _embeddings(rng, 6)
    path = _write(tmp_path / "emb.csv", y, x, {"batch": ["a", "a", "a", "b", "b", "b"]})
    code, _, err = _eval(capsys, path, "--reduction", "none", "--group", "batch")
    assert code == 2 and "--group" in err and "per-row" in err
    code, _, err = _eval(capsys, path, "--reduction", "median")
    assert code == 2 and "circle supports: mean, sum, none" in err
    code, _, err = cli(
        capsys, "eval", path, "--loss", "circle", "-t", "label", "-p", "e_*", "--top", "2"
    )
    assert code == 2 and "circle: each row's loss needs every row" in err
    with pytest.raises(losscli.UsageError, match="depends on every other row"):
        losscli.gradient(y, x, "circle", reduction="none")


def test_other_losses_write_their_rows_in_one_pass(tmp_path, capsys, monkeypatch):
    """Only a loss whose Lᵢ needs the other rows takes the first pass."""
    import losscli.engine.backend as backend

    def refused(*args, **kwargs):
        raise AssertionError("a first pass for a loss whose rows stand alone")

    monkeypatch.setattr(backend, "accumulate", refused)
    path = tmp_path / "d.csv"
    path.write_text("y,p,w\n1,0.8,2\n0,0.3,0.5\n1,0.4,1\n")
    code, out, err = cli(
        capsys, "eval", path, "--loss", "mse,hinge", "-t", "y", "-p", "p", "--weight", "w",
        "--reduction", "none", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == "row,weight,mse,weighted_mse,hinge,weighted_hinge"


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("distributed") is None, reason="needs losscli[dask]"
)
def test_dask_partitions_give_the_local_per_row_values(tmp_path):
    """--engine dask merges the partitions' sums first, then writes each partition's rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from losscli.app.evaluation import write_rows

    rng = np.random.default_rng(13)
    n = 90
    y, x = rng.integers(0, 4, n).astype(float), _embeddings(rng, n)
    table = pa.table({"label": y, **{f"e_{j}": x[:, j] for j in range(x.shape[1])}})
    (tmp_path / "data").mkdir()
    pq.write_table(table.slice(0, 50), tmp_path / "data" / "a.parquet", row_group_size=20)
    pq.write_table(table.slice(50), tmp_path / "data" / "b.parquet", row_group_size=20)
    options = dict(loss="circle", target=["label"], pred=["e_*"])
    rows = write_rows(
        str(tmp_path / "data"), output=str(tmp_path / "out"), engine="dask", **options
    )
    assert rows == n
    got = pq.read_table(tmp_path / "out")
    assert got["row"].to_pylist() == list(range(n))
    want = losscli.evaluate(y, x, "circle", reduction="none")
    np.testing.assert_allclose(got["circle"].to_numpy(), want, rtol=1e-12)


def test_keras_mean_divides_by_rows_with_a_loss():
    rng = np.random.default_rng(9)
    y, x = rng.integers(0, 3, 12).astype(float), _embeddings(rng, 12)
    y[:2] = [10.0, 11.0]  # two rows without positives: L = 0, masked by Keras
    total = losscli.evaluate(y, x, "circle", reduction="sum")
    assert losscli.evaluate(y, x, "circle") == pytest.approx(total / 12, rel=1e-12)
    assert losscli.evaluate(y, x, "circle", convention="keras") == pytest.approx(
        total / 10, rel=1e-12
    )
