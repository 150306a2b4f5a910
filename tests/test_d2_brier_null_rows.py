"""d2_brier under --convention sklearn scores the null model row by row, as scikit-learn does."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import eval_json

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def multiclass(tmp_path):
    rng = np.random.default_rng(11)
    n, k = 300, 3
    p = rng.dirichlet(np.ones(k), size=n)
    y = rng.integers(0, k, n)
    w = rng.integers(1, 5, n).astype(float)
    g = rng.choice(["a", "b"], n)
    path = tmp_path / "mc.csv"
    rows = [
        ",".join([str(y[i]), *map(repr, p[i].tolist()), repr(float(w[i])), g[i]]) for i in range(n)
    ]
    path.write_text("y,p_0,p_1,p_2,w,g\n" + "\n".join(rows) + "\n")
    return path, y, p, w, g


def test_each_group_equals_sklearn(capsys, multiclass):
    path, y, p, w, g = multiclass
    doc = eval_json(
        capsys, path, "-l", "d2_brier", "--target", "y", "--pred", "p_0,p_1,p_2", "--weight",
        "w", "--group", "g", "--convention", "sklearn", quiet=True,
    )  # fmt: skip
    by_group = {r["group"]: r["value"] for r in doc["results"]}
    expected = sklearn_metrics.d2_brier_score(y, p, sample_weight=w, labels=[0, 1, 2])
    assert by_group[None] == pytest.approx(expected, rel=1e-12)
    for name in ("a", "b"):
        m = g == name
        want = sklearn_metrics.d2_brier_score(y[m], p[m], sample_weight=w[m], labels=[0, 1, 2])
        assert by_group[name] == pytest.approx(want, rel=1e-12)


def test_shares_score_exactly_zero_under_the_convention_and_the_default_is_unchanged(
    capsys, tmp_path
):
    path = tmp_path / "shares.csv"
    path.write_text("y,p\n" + "".join(f"{y},0.6\n" for y in [1, 1, 1, 0, 1, 0, 1, 0, 0, 1]))
    args = ("-l", "d2_brier", "--target", "y", "--pred", "p")
    sk = eval_json(capsys, path, *args, "--convention", "sklearn", quiet=True)
    assert sk["results"][0]["value"] == 0.0
    default = eval_json(capsys, path, *args, quiet=True)["results"][0]["value"]
    assert default == pytest.approx(0.0, abs=1e-15)
