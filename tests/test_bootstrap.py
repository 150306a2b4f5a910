"""The paired bootstrap interval of compare: equal to a plain numpy reference, and calibrated."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.app.arrays import make_batch, objective
from losscli.app.compare import compare_files
from losscli.engine import bootstrap


def write_csv(path, **columns):
    names = list(columns)
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in zip(*columns.values()):
            fh.write(",".join(repr(float(v)) if not isinstance(v, str) else v for v in row) + "\n")
    return str(path)


def reference_interval(stat, data_base, data_cand, n, replicates, confidence, seed):
    """Resample the row indices as the scheme says, recompute both statistics, take quantiles."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(replicates, n))
    diffs = np.array([stat(*data_cand, i) - stat(*data_base, i) for i in idx])
    lo, hi = np.quantile(diffs, [(1 - confidence) / 2, (1 + confidence) / 2])
    return lo, hi


def mse(y, p, w, i):
    return np.sum(w[i] * (y[i] - p[i]) ** 2) / np.sum(w[i])


def rmse(y, p, w, i):
    return np.sqrt(np.mean((y[i] - p[i]) ** 2))


def dice(y, p, w, i, smooth=1e-6):
    return 1 - (2 * np.sum(y[i] * p[i]) + smooth) / (np.sum(y[i]) + np.sum(p[i]) + smooth)


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    y = rng.normal(0, 1, n)
    pb = y + rng.normal(0, 1.0, n)
    pc = y + rng.normal(0, 1.1, n)
    w = rng.uniform(0.5, 2.0, n)
    base = write_csv(tmp_path / "b.csv", y_true=y, y_pred=pb, w=w)
    cand = write_csv(tmp_path / "c.csv", y_true=y, y_pred=pc, w=w)
    # values as written to the files, so both sides see the same numbers
    y, pb, pc, w = (np.array([float(repr(float(v))) for v in a]) for a in (y, pb, pc, w))
    return base, cand, y, pb, pc, w


@pytest.mark.parametrize("seed", [0, 7])
def test_interval_equals_the_numpy_reference_for_weighted_mse(pair, seed):
    base, cand, y, pb, pc, w = pair
    doc = compare_files(base, cand, "mse", weight="w", bootstrap_replicates=400, seed=seed)
    r = doc["results"][0]
    lo, hi = reference_interval(mse, (y, pb, w), (y, pc, w), len(y), 400, 0.95, seed)
    assert r["ci_low"] == pytest.approx(lo, rel=1e-9)
    assert r["ci_high"] == pytest.approx(hi, rel=1e-9)
    assert r["difference"] == pytest.approx(mse(y, pc, w, slice(None)) - mse(y, pb, w, slice(None)))


def test_interval_equals_the_reference_for_rmse_a_ratio_of_sums(pair):
    base, cand, y, pb, pc, w = pair
    doc = compare_files(base, cand, "rmse", bootstrap_replicates=300, confidence=0.9, seed=3)
    r = doc["results"][0]
    lo, hi = reference_interval(rmse, (y, pb, w), (y, pc, w), len(y), 300, 0.9, 3)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


def test_interval_equals_the_reference_for_dice(tmp_path):
    rng = np.random.default_rng(9)
    n = 500
    y = (rng.random(n) < 0.3).astype(float)
    pb = np.clip(y * 0.7 + rng.random(n) * 0.3, 0, 1)
    pc = np.clip(y * 0.6 + rng.random(n) * 0.4, 0, 1)
    base = write_csv(tmp_path / "b.csv", y_true=y, y_pred=pb)
    cand = write_csv(tmp_path / "c.csv", y_true=y, y_pred=pc)
    doc = compare_files(base, cand, "dice", bootstrap_replicates=300, seed=1)
    r = doc["results"][0]
    ones = np.ones(n)
    lo, hi = reference_interval(dice, (y, pb, ones), (y, pc, ones), n, 300, 0.95, 1)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


def test_group_intervals_resample_within_each_group(tmp_path):
    rng = np.random.default_rng(4)
    n = 240
    y = rng.normal(0, 1, n)
    pb, pc = y + rng.normal(0, 1, n), y + rng.normal(0, 1.3, n)
    g = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    base = write_csv(tmp_path / "b.csv", y_true=y, y_pred=pb, g=g)
    cand = write_csv(tmp_path / "c.csv", y_true=y, y_pred=pc, g=g)
    y, pb, pc = (np.array([float(repr(float(v))) for v in a]) for a in (y, pb, pc))
    doc = compare_files(base, cand, "mse", group="g", bootstrap_replicates=200, seed=11)
    ones = np.ones(n)
    for i, name in enumerate(["a", "b", "c"]):
        rows = np.flatnonzero(g == name)
        r = next(r for r in doc["results"] if r["group"] == name)
        lo, hi = reference_interval(
            mse,
            (y[rows], pb[rows], ones[rows]),
            (y[rows], pc[rows], ones[rows]),
            len(rows),
            200,
            0.95,
            [11, i + 1],
        )
        assert (r["ci_low"], r["ci_high"]) == (
            pytest.approx(lo, rel=1e-9),
            pytest.approx(hi, rel=1e-9),
        )


def _paired_interval(y, pb, pc, replicates, seed):
    """The interval of compare, on arrays (the same code path without the files)."""
    _, obj = objective("mse")
    units = bootstrap.units_of_rows(np.arange(len(y)))
    sums = []
    for p in (pb, pc):
        u = bootstrap.UnitSums()
        u.add(obj.update_grouped(make_batch(y, p), units, bootstrap.UNITS), units)
        sums.append(u)
    occupied = sums[0].occupied()
    counts = bootstrap.draw(len(occupied), replicates, seed)

    def compute(s):
        return obj.compute(s, "mean")

    b = bootstrap.replicate_values(compute, sums[0].sums, occupied, counts)
    c = bootstrap.replicate_values(compute, sums[1].sums, occupied, counts)
    return bootstrap.interval(c - b, 0.95)


def test_95_percent_interval_covers_the_true_difference_about_95_percent_of_the_time():
    """MSE of N(0, 1) vs N(0, 1.2²) errors: the true difference is 1.44 − 1 = 0.44."""
    rng = np.random.default_rng(2024)
    truth = 1.2**2 - 1.0
    covered = 0
    for rep in range(200):
        n = 200
        y = rng.normal(0, 1, n)
        pb = y + rng.normal(0, 1.0, n)
        pc = y + rng.normal(0, 1.2, n)
        lo, hi = _paired_interval(y, pb, pc, 400, rep)
        covered += lo <= truth <= hi
    assert 180 <= covered <= 199, covered


def test_pairing_narrows_the_interval():
    """Shared errors cancel in a paired comparison: the interval is much narrower than the
    spread of either value alone."""
    rng = np.random.default_rng(1)
    n = 1000
    y = rng.normal(0, 1, n)
    shared = rng.normal(0, 1, n)
    pb = y + shared
    pc = y + shared * 1.05
    lo, hi = _paired_interval(y, pb, pc, 400, 0)
    assert lo > 0  # the candidate is worse on every row with a non-zero error
    assert hi - lo < 0.05


def test_units_above_the_unit_count_are_clusters_of_rows():
    rows = np.arange(10_000)
    units = bootstrap.units_of_rows(rows)
    assert units.max() == bootstrap.UNITS - 1
    assert np.array_equal(units[: bootstrap.UNITS], np.arange(bootstrap.UNITS))


def test_key_hash_is_deterministic_and_type_aware():
    keys = np.array(["a", "b", "a"], dtype=object)
    h = bootstrap.hash_keys(keys)
    assert h[0] == h[2] != h[1]
    assert np.array_equal(h, bootstrap.hash_keys(keys))
    assert np.array_equal(
        bootstrap.hash_keys(np.array([0.0, -0.0])), bootstrap.hash_keys(np.array([0.0, 0.0]))
    )
    # fixed values: the same keys map to the same units on every machine and run
    assert int(bootstrap.hash_keys(np.array([1.0]))[0]) == int(
        bootstrap.hash_keys(np.array([1.0]))[0]
    )


def test_collected_leaves_are_resampled_one_replicate_at_a_time():
    """A metric that keeps its rows' values (roc_auc's scores) has each replicate's copy
    made when that replicate is computed, never all replicates' copies at once (that is
    replicates × rows of memory); the values are those of resampling each replicate."""
    import gc
    import weakref

    from losscli.kernel.streaming import PartialSums

    alive: set[int] = set()
    most = [0]

    class Copy:
        def __init__(self, total: float) -> None:
            self.total = total
            alive.add(id(self))
            most[0] = max(most[0], len(alive))
            weakref.finalize(self, alive.discard, id(self))

    class Kept:
        """Values kept per unit; its resampler repeats each unit's values as drawn."""

        def __init__(self, values: float) -> None:
            self.values = values

        @staticmethod
        def resampler(leaf):
            return lambda row: Copy(float(sum(k.values * c for k, c in zip(leaf, row))))

    units = 5
    leaf = np.empty(units, dtype=object)
    leaf[:] = [Kept(float(u + 1)) for u in range(units)]
    sums = PartialSums({"kept": leaf, "n": np.ones(units)})
    counts = bootstrap.draw(units, 50, 0)

    def compute(s):
        gc.collect()
        return s["kept"].total / s["n"]

    values = bootstrap.replicate_values(compute, sums, np.arange(units), counts)
    expected = (counts @ np.arange(1.0, units + 1)) / counts.sum(axis=1)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert most[0] <= 2  # this replicate's copy (and the last one's, not yet collected)


@pytest.mark.parametrize("replicates", [1, 255, 256, 257, 1000])
@pytest.mark.parametrize("occupied", [1, 7, 500, 4096])
def test_blocks_of_replicates_are_the_one_draw(replicates, occupied):
    """Replicates are drawn and computed in blocks (memory REPLICATE_BLOCK × units, not
    replicates × units): the same counts as one (replicates, units) draw."""
    rng = np.random.default_rng(3)
    idx = rng.integers(0, occupied, size=(replicates, occupied))
    whole = np.stack([np.bincount(r, minlength=occupied) for r in idx])
    blocks = list(bootstrap.draws(occupied, replicates, 3))
    assert all(len(b) <= bootstrap.REPLICATE_BLOCK for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    np.testing.assert_array_equal(bootstrap.draw(occupied, replicates, 3), whole)


def test_a_paired_interval_in_blocks_equals_the_one_array():
    _, obj = objective("mse")
    rng = np.random.default_rng(11)
    y = rng.normal(size=600)
    units = bootstrap.units_of_rows(np.arange(len(y)))
    sums = []
    for p in (y + rng.normal(size=600), y + rng.normal(size=600)):
        u = bootstrap.UnitSums()
        u.add(obj.update_grouped(make_batch(y, p), units, bootstrap.UNITS), units)
        sums.append(u.sums)
    occupied = np.arange(600)

    def compute(s):
        return obj.compute(s, "mean")

    b, c = bootstrap.replicates_of(compute, sums, occupied, 700, 5)
    counts = bootstrap.draw(600, 700, 5)
    np.testing.assert_array_equal(b, bootstrap.replicate_values(compute, sums[0], occupied, counts))
    np.testing.assert_array_equal(c, bootstrap.replicate_values(compute, sums[1], occupied, counts))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ((10, 0.95, None), "--seed None: must be a whole number"),
        ((10, 0.95, -1), "--seed -1: must be 0 or more"),
        ((10**8, 0.95, 0), "--bootstrap 100000000: give 0 (no intervals) or a number"),
        ((2.5, 0.95, 0), "--bootstrap 2.5"),
        ((10, 1.0, 0), "--confidence 1.0: must be in (0, 1)"),
    ],
)
def test_bootstrap_settings_are_usage_errors(settings, message):
    from losscli.errors import UsageError

    with pytest.raises(UsageError, match=re.escape(message)):
        bootstrap.check_settings(*settings)
    path = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")
    replicates, confidence, seed = settings
    with pytest.raises(UsageError, match=re.escape(message)):
        losscli.evaluate_file(path, "mse", bootstrap=replicates, confidence=confidence, seed=seed)
