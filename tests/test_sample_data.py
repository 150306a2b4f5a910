"""The sample files in sample_data/: presence, size, columns, properties, reproducibility."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
MAX_BYTES = 200 * 1024


def _fam(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{j}" for j in range(n)]


EXPECTED_COLUMNS: dict[str, list[str]] = {
    "regression": ["y_true", "y_pred", "segment", "weight"],
    "regression_clean": ["y_true", "y_pred", "segment", "weight"],
    "regression_var": ["y_true", "y_pred", "var"],
    "counts": ["y_true", "y_pred", "log_rate"],
    "quantile": ["y_true", "y_pred"],
    "binary": ["y_true", "y_pred"],
    "binary_logits": ["y_true", "logit"],
    "imbalanced": ["y_true", "y_pred", "segment"],
    "multiclass": ["label", "prob_cat", "prob_dog", "prob_bird"],
    "multiclass_logits": ["y_true", *_fam("logit_", 5)],
    "multilabel": ["y_action", "y_comedy", "y_drama", "p_action", "p_comedy", "p_drama"],
    "segmentation": ["image_id", "y_true", "y_pred"],
    "segmentation_multiclass": ["image_id", "y_true", "p_0", "p_1", "p_2"],
    "similarity": ["y_true", "distance"],
    "triplets": ["d_ap", "d_an"],
    "triplet_embeddings": [*_fam("anchor_", 4), *_fam("positive_", 4), *_fam("negative_", 4)],
    "ranking": ["y_true", "x1", "x2"],
    "cosine_pairs": ["y_true", *_fam("a_", 4), *_fam("b_", 4)],
    "distribution": [*_fam("t_", 4), *_fam("p_", 4)],
    "sequence": ["seq_id", "y_true", *_fam("logit_", 8)],
    "hinge": ["y_true", "score"],
}

EXPECTED_ROWS = {
    "regression": 2000,
    "regression_clean": 2000,
    "regression_var": 1000,
    "counts": 2000,
    "quantile": 1000,
    "binary": 3000,
    "binary_logits": 3000,
    "imbalanced": 4000,
    "multiclass": 2000,
    "multiclass_logits": 2000,
    "multilabel": 1500,
    "similarity": 1500,
    "triplets": 1500,
    "triplet_embeddings": 500,
    "ranking": 1000,
    "cosine_pairs": 800,
    "distribution": 1000,
    "sequence": 3000,
    "hinge": 1500,
}

PARQUET_STEMS = ["regression", "binary", "imbalanced", "multiclass", "segmentation"]


def read(stem: str) -> dict[str, list[str]]:
    with open(SAMPLE_DIR / f"{stem}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return {name: [r[j] for r in body] for j, name in enumerate(header)}


def num(data: dict[str, list[str]], *names: str) -> np.ndarray:
    """The named columns as floats: 1-d for one name, (n, k) for several."""
    arr = np.array([[float(v) for v in data[name]] for name in names]).T
    return arr[:, 0] if len(names) == 1 else arr


def load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLE_DIR / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stem", sorted(EXPECTED_COLUMNS))
def test_file_exists_small_with_exact_columns(stem):
    path = SAMPLE_DIR / f"{stem}.csv"
    assert path.is_file(), path
    assert path.stat().st_size < MAX_BYTES
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    data = read(stem)
    assert list(data) == EXPECTED_COLUMNS[stem]
    n = len(next(iter(data.values())))
    if stem in EXPECTED_ROWS:
        assert n == EXPECTED_ROWS[stem]
    for name, values in data.items():
        assert all(v != "" for v in values), f"{stem}.{name} has empty cells"


@pytest.mark.parametrize("stem", PARQUET_STEMS)
def test_parquet_copy_matches_csv(stem):
    pq = pytest.importorskip("pyarrow.parquet")
    path = SAMPLE_DIR / f"{stem}.parquet"
    assert path.is_file() and path.stat().st_size < MAX_BYTES
    table = pq.read_table(path)
    data = read(stem)
    assert table.column_names == EXPECTED_COLUMNS[stem]
    for name in table.column_names:
        got = table.column(name).to_pylist()
        if isinstance(got[0], str):
            assert got == data[name]
        else:
            np.testing.assert_array_equal(np.asarray(got, dtype=float), num(data, name))


def test_regression_outliers():
    def outlier_share(stem):
        d = read(stem)
        r = num(d, "y_pred") - num(d, "y_true")
        dev = np.abs(r - np.median(r))
        scale = 1.4826 * np.median(dev)
        return float(np.mean(dev > 5 * scale))

    assert 0.02 <= outlier_share("regression") <= 0.06
    assert outlier_share("regression_clean") < 0.005


def test_regression_columns():
    d = read("regression")
    assert set(d["segment"]) == {"north", "south", "east", "west"}
    w = num(d, "weight")
    assert w.min() >= 0.5 and w.max() <= 2.0
    assert (num(read("regression_var"), "var") > 0).all()


def test_counts_and_quantile():
    d = read("counts")
    y = num(d, "y_true")
    assert (y >= 0).all() and (y == np.round(y)).all()
    rate = num(d, "y_pred")
    assert (rate > 0).all()
    np.testing.assert_allclose(num(d, "log_rate"), np.log(rate), atol=1e-5)
    q = read("quantile")
    assert 0.86 <= np.mean(num(q, "y_true") < num(q, "y_pred")) <= 0.94


def test_binary_files():
    b = read("binary")
    assert set(b["y_true"]) == {"0", "1"}
    assert 0.35 <= num(b, "y_true").mean() <= 0.45
    p = num(b, "y_pred")
    assert (p > 0).all() and (p < 1).all()
    lg = num(read("binary_logits"), "logit")
    assert (lg > 8).any() and (lg < -8).any()


def test_imbalanced_positive_share():
    d = read("imbalanced")
    assert set(d["y_true"]) == {"0", "1"}
    assert 0.03 <= num(d, "y_true").mean() <= 0.07
    assert set(d["segment"]) == {"web", "app"}
    p = num(d, "y_pred")
    assert (p > 0).all() and (p < 1).all()


def test_multiclass_probabilities_sum_to_one():
    d = read("multiclass")
    assert set(d["label"]) == {"cat", "dog", "bird"}
    p = num(d, "prob_cat", "prob_dog", "prob_bird")
    assert (p > 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    lg = read("multiclass_logits")
    assert set(lg["y_true"]) == {str(k) for k in range(5)}


def test_multilabel_targets_are_binary():
    d = read("multilabel")
    for lab in ("action", "comedy", "drama"):
        assert set(d[f"y_{lab}"]) == {"0", "1"}
        p = num(d, f"p_{lab}")
        assert (p > 0).all() and (p < 1).all()


def test_segmentation_has_empty_mask():
    d = read("segmentation")
    ids = np.array(d["image_id"])
    y = num(d, "y_true")
    assert set(ids) == {f"img_{i}" for i in range(8)}
    assert len(ids) in (8 * 32 * 32, 8 * 24 * 24)
    per_image = {i: y[ids == i].sum() for i in set(ids)}
    assert any(v == 0 for v in per_image.values())
    assert sum(v > 0 for v in per_image.values()) >= 6
    assert 0.08 <= y.mean() <= 0.25
    p = num(d, "y_pred")
    assert (p > 0).all() and (p < 1).all()

    m = read("segmentation_multiclass")
    assert set(m["y_true"]) == {"0", "1", "2"}
    pm = num(m, "p_0", "p_1", "p_2")
    assert (pm > 0).all()
    np.testing.assert_allclose(pm.sum(axis=1), 1.0, atol=1e-5)


def test_metric_learning_files():
    s = read("similarity")
    y, dist = num(s, "y_true"), num(s, "distance")
    assert (dist >= 0).all()
    assert np.median(dist[y == 1]) < np.median(dist[y == 0])
    t = read("triplets")
    d_ap, d_an = num(t, "d_ap"), num(t, "d_an")
    assert (d_ap >= 0).all() and (d_an >= 0).all()
    violated = np.mean(d_ap - d_an + 1.0 > 0)
    assert 0.02 < violated < 0.5
    for stem in ("ranking", "cosine_pairs", "hinge"):
        assert set(read(stem)["y_true"]) == {"1", "-1"}


def test_distributions_sum_to_one():
    d = read("distribution")
    t = num(d, *_fam("t_", 4))
    p = num(d, *_fam("p_", 4))
    np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert (t >= 0).all() and (t == 0).any()
    assert (p > 0).all()


def test_sequence_ids_and_tokens():
    d = read("sequence")
    assert set(d["seq_id"]) == {f"s{i:03d}" for i in range(100)}
    assert set(d["y_true"]) <= {str(k) for k in range(8)}


def test_generation_is_deterministic(tmp_path):
    gen = load_generator()
    gen.generate(tmp_path / "a", parquet=False)
    gen.generate(tmp_path / "b", parquet=False)
    for stem in EXPECTED_COLUMNS:
        first = (tmp_path / "a" / f"{stem}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{stem}.csv").read_bytes(), (
            f"{stem}.csv is not deterministic"
        )


def test_committed_files_match_a_fresh_generation(tmp_path):
    # numpy may change its random streams between releases; the committed files were
    # made with numpy 2.4 (regenerate: python sample_data/make_samples.py).
    if not np.__version__.startswith("2.4."):
        pytest.skip(f"committed samples were generated with numpy 2.4, this is {np.__version__}")
    gen = load_generator()
    gen.generate(tmp_path, parquet=False)
    for stem in EXPECTED_COLUMNS:
        new = (tmp_path / f"{stem}.csv").read_bytes()
        committed = (SAMPLE_DIR / f"{stem}.csv").read_bytes()
        assert new == committed, (
            f"{stem}.csv differs from a fresh generation: python sample_data/make_samples.py"
        )
