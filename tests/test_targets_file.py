"""Targets in a second file: row order or --key join; mismatches are input errors with counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from losscli.cli.commands import run


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(4)
    keys = [f"id{i}" for i in range(30)]
    y = rng.normal(size=30)
    p = y + rng.normal(size=30)
    order = rng.permutation(30)
    (tmp_path / "targets.csv").write_text(
        "id,y_true\n" + "".join(f"{k},{float(v)!r}\n" for k, v in zip(keys, y))
    )
    (tmp_path / "preds.csv").write_text(
        "id,y_pred\n" + "".join(f"{keys[i]},{float(p[i])!r}\n" for i in order)
    )
    (tmp_path / "same_order.csv").write_text(
        "id,y_pred\n" + "".join(f"{k},{float(v)!r}\n" for k, v in zip(keys, p))
    )
    return tmp_path, keys, y, p, order


def on_files(command: str, d, preds: str, *rest: str) -> list[str]:
    """``losscli COMMAND d/PREDS --targets d/targets.csv REST…``."""
    return [command, str(d / preds), "--targets", str(d / "targets.csv"), *rest]


def _json(capsys, args):
    assert run(args) == 0
    return json.loads(capsys.readouterr().out)


def test_key_join_matches_the_aligned_arrays(files, capsys):
    d, keys, y, p, _ = files
    doc = _json(
        capsys,
        on_files("eval", d, "preds.csv", "--key", "id", "--loss", "mse,mae", "--format", "json"),
    )
    assert doc["results"][0]["value"] == pytest.approx(losscli.evaluate(y, p, "mse"), rel=1e-12)
    assert doc["results"][1]["value"] == pytest.approx(losscli.evaluate(y, p, "mae"), rel=1e-12)


def test_row_order_alignment(files, capsys):
    d, keys, y, p, _ = files
    doc = _json(
        capsys,
        on_files("eval", d, "same_order.csv", "--loss", "mse", "--format", "json"),
    )
    assert doc["results"][0]["value"] == pytest.approx(losscli.evaluate(y, p, "mse"), rel=1e-12)


def test_grad_with_key_writes_the_key_column_first(files, capsys):
    d, keys, y, p, order = files
    assert run(on_files("grad", d, "preds.csv", "--key", "id", "--loss", "mse")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,grad_y_pred"
    first_key, first_grad = lines[1].split(",")
    i = order[0]
    assert first_key.strip('"') == keys[i]
    assert float(first_grad) == pytest.approx(2 * (p[i] - y[i]) / 30, rel=1e-12)


def test_an_integer_key_stays_an_integer_in_parquet_output(tmp_path, capsys):
    """grad and --reduction none with an int64 --key in Parquet: the output's key is int64,
    as a --keep column would be, so the output joins back on the predictions (it was
    text, and pandas refused to merge int64 with str)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(6)
    n = 500
    frame = pd.DataFrame(
        {"id": np.arange(n, dtype=np.int64) * 7 + 100, "y_true": rng.normal(size=n)}
    )
    frame["y_pred"] = frame.y_true + rng.normal(size=n)
    frame[["id", "y_pred"]].to_parquet(tmp_path / "preds.parquet")
    frame[["id", "y_true"]].sample(frac=1, random_state=1).to_parquet(tmp_path / "targets.parquet")
    common = ["--targets", str(tmp_path / "targets.parquet"), "--key", "id", "--loss", "mse"]
    grads, losses = tmp_path / "g.parquet", tmp_path / "l.parquet"
    assert run(["grad", str(tmp_path / "preds.parquet"), *common, "-o", str(grads)]) == 0
    assert run(["eval", str(tmp_path / "preds.parquet"), *common, "--reduction", "none",
                "-o", str(losses)]) == 0  # fmt: skip
    for out, column in ((grads, "grad_y_pred"), (losses, "mse")):
        written = pd.read_parquet(out)
        assert str(written["id"].dtype) == "int64"
        joined = frame.merge(written, on="id")
        assert len(joined) == n
        expected = 2 * (joined.y_pred - joined.y_true) / n
        if column == "mse":
            expected = (joined.y_pred - joined.y_true) ** 2
        np.testing.assert_allclose(joined[column], expected, rtol=1e-12)


def _error(capsys, args):
    assert run(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error:") and "Traceback" not in "\n".join(err)
    return err[0]


def test_row_count_mismatch_says_how_many(files, capsys):
    d, *_ = files
    lines = (d / "same_order.csv").read_text().splitlines()
    (d / "short.csv").write_text("\n".join(lines[:-2]) + "\n")
    msg = _error(capsys, on_files("eval", d, "short.csv", "--loss", "mse"))
    assert "has 30 rows" in msg and "has 28" in msg


def test_unmatched_and_duplicate_keys_are_counted(files, capsys):
    d, *_ = files
    lines = (d / "preds.csv").read_text().splitlines()
    (d / "dup.csv").write_text("\n".join(lines[:-1] + [lines[1]]) + "\n")
    assert "1 row(s) repeat a --key value" in _error(
        capsys,
        on_files("eval", d, "dup.csv", "--key", "id", "--loss", "mse"),
    )
    (d / "stranger.csv").write_text("\n".join(lines + ["nobody,1.0", "ghost,2.0"]) + "\n")
    msg = _error(
        capsys,
        on_files("eval", d, "stranger.csv", "--key", "id", "--loss", "mse"),
    )
    assert "2 row(s) have no --key match" in msg and "'nobody'" in msg


def test_key_without_targets_and_missing_key_column(files, capsys):
    d, *_ = files
    assert "--targets" in _error(
        capsys, ["eval", str(d / "preds.csv"), "--key", "id", "--loss", "mse"]
    )
    assert "no --key column 'uid'" in _error(
        capsys,
        on_files("eval", d, "preds.csv", "--key", "uid", "--loss", "mse"),
    )
