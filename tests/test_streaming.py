"""The streaming contract: partial sums from any chunking merge to the same J."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from cases import case_params

import losscli
from losscli import Accumulator

NAMES = losscli.available_losses()
PARAMS = case_params(NAMES)


def _slice(case, weights, lo, hi):
    y = None if case.y is None else case.y[lo:hi]
    preds = tuple(p[lo:hi] for p in case.preds)
    return y, (preds if len(preds) > 1 else preds[0]), weights[lo:hi]


def seeded_case(make, seed: int, n: int):
    """A case of ``n`` rows from ``default_rng(seed)``, and sample weights drawn after it."""
    rng = np.random.default_rng(seed)
    case = make(rng, n)
    return case, rng.uniform(0.1, 3.0, n)


@pytest.mark.parametrize("make", PARAMS)
def test_chunking_1_7_1000_gives_the_same_value(make):
    n = 2000
    case, weights = seeded_case(make, 7, n)
    values = []
    for chunks in (1, 7, 1000):
        acc = Accumulator(case.loss, from_logits=case.from_logits, **case.params)
        bounds = np.linspace(0, n, chunks + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            acc.update(*_slice(case, weights, lo, hi))
        values.append(acc.value())
    assert np.isfinite(values[0])
    assert values[1] == pytest.approx(values[0], rel=1e-12, abs=1e-15)
    assert values[2] == pytest.approx(values[0], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("make", PARAMS)
def test_chunked_gradients_equal_the_one_shot_gradient(make):
    n = 300
    case, weights = seeded_case(make, 8, n)
    whole = losscli.gradient(
        case.y, case.y_pred, case.loss, weights=weights, from_logits=case.from_logits, **case.params
    )
    acc = Accumulator(case.loss, from_logits=case.from_logits, **case.params)
    bounds = [0, 1, 50, 177, 300]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        acc.update(*_slice(case, weights, lo, hi))
    parts = [
        acc.gradient(*_slice(case, weights, lo, hi), row0=lo)
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]
    if isinstance(whole, tuple):
        for k, w in enumerate(whole):
            np.testing.assert_allclose(
                np.concatenate([p[k] for p in parts]), w, rtol=1e-12, atol=1e-300
            )
    else:
        np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-300)


def test_accumulators_from_different_workers_merge():
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=1000) < 0.2).astype(float)
    p = rng.uniform(0.01, 0.99, 1000)
    left = Accumulator("dice").update(y[:400], p[:400])
    right = Accumulator("dice").update(y[400:], p[400:])
    # partial sums travel between processes: they must pickle
    right = pickle.loads(pickle.dumps(right))
    assert left.merge(right).value() == pytest.approx(losscli.evaluate(y, p, "dice"), rel=1e-12)


@pytest.mark.parametrize("loss", ["mse", "bce", "dice"])
def test_an_accumulator_keeps_its_sums_not_the_rows_it_was_given(loss):
    """What travels between workers is the partial sums: a few hundred bytes whatever
    the rows (a kept batch would be 16 bytes a row)."""
    rng = np.random.default_rng(5)
    y = (rng.uniform(size=200_000) < 0.3).astype(float)
    p = rng.uniform(0.01, 0.99, 200_000)
    acc = Accumulator(loss).update(y, p)
    assert len(pickle.dumps(acc)) < 20_000
    assert pickle.loads(pickle.dumps(acc)).value() == pytest.approx(
        losscli.evaluate(y, p, loss), rel=1e-12
    )


def test_ratio_losses_are_not_means_of_per_chunk_values():
    y = np.array([1.0, 0, 0, 0, 1, 1])
    p = np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.6])
    whole = losscli.evaluate(y, p, "dice")
    halves = np.mean(
        [losscli.evaluate(y[:3], p[:3], "dice"), losscli.evaluate(y[3:], p[3:], "dice")]
    )
    expected = 1 - (2 * (0.9 + 0.8 + 0.6) + 1e-6) / (3 + p.sum() + 1e-6)
    assert whole == pytest.approx(expected, rel=1e-12)
    assert whole != pytest.approx(halves, rel=1e-3)


def test_reduction_none_and_sum_and_weights():
    y = np.array([0.0, 1.0, 2.0])
    p = np.array([1.0, 1.0, 4.0])
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(losscli.evaluate(y, p, "mse", reduction="none"), [1.0, 0.0, 4.0])
    assert losscli.evaluate(y, p, "mse", reduction="sum") == 5.0
    assert losscli.evaluate(y, p, "mse", weights=w) == pytest.approx((1 + 0 + 12) / 6)
    assert losscli.evaluate(y, p, "mse", weights=w, reduction="sum") == pytest.approx(13.0)


def test_ignore_index_rows_leave_sum_and_n():
    z = np.array([[2.0, 1.0, 0.1], [0.5, 0.2, 3.0], [1.0, 1.0, 1.0]])
    full = losscli.evaluate([0, 2, -100], z, "cross_entropy", from_logits=True, ignore_index=-100)
    kept = losscli.evaluate([0, 2], z[:2], "cross_entropy", from_logits=True)
    assert full == pytest.approx(kept, rel=1e-12)
    g = losscli.gradient([0, 2, -100], z, "cross_entropy", from_logits=True, ignore_index=-100)
    assert np.all(g[2] == 0)
    rows = losscli.evaluate(
        [0, 2, -100], z, "cross_entropy", from_logits=True, ignore_index=-100, reduction="none"
    )
    assert rows[2] == 0.0


def test_ratio_and_reduction_level_losses_refuse_other_reductions():
    with pytest.raises(losscli.UsageError, match="dice has no reduction 'none'"):
        losscli.evaluate([1, 0], [0.5, 0.5], "dice", reduction="none")
    with pytest.raises(losscli.UsageError, match="rmse has no reduction 'sum'"):
        losscli.evaluate([1, 0], [0.5, 0.5], "rmse", reduction="sum")


def _reductions(obj):
    terms = obj.terms if hasattr(obj, "terms") else [(1.0, obj)]
    kinds = [set(t.loss.kernel.reductions) for _, t in terms]
    return [r for r in ("mean", "sum") if all(r in k for k in kinds)] or ["mean"]


@pytest.mark.parametrize("make", PARAMS)
def test_grouped_update_equals_one_update_per_group(make):
    """update_grouped (bincount fast paths and the generic loop) equals update per group."""
    from losscli.app.arrays import make_batch, objective
    from losscli.kernel.streaming import Kernel, take_group

    rng = np.random.default_rng(11)
    n, size = 300, 9
    case = make(rng, n)
    weights = rng.uniform(0.1, 3.0, n)
    codes = rng.integers(0, size - 1, n)  # the last group stays empty
    _, obj = objective(case.loss, case.from_logits, **case.params)
    batch = make_batch(case.y, case.y_pred, weights)
    grouped = obj.update_grouped(batch, codes, size)
    terms = obj.terms if hasattr(obj, "terms") else [(1.0, obj)]
    reductions = _reductions(obj)
    for g in range(size - 1):
        expected = obj.update(batch.take(np.flatnonzero(codes == g)))
        got = take_group(grouped, g)
        for reduction in reductions:
            assert obj.compute(got, reduction) == pytest.approx(
                obj.compute(expected, reduction), rel=1e-10
            )
    # The generic per-group loop (what plug-in kernels get) agrees with each fast path.
    for _, term in terms:
        fast = term.update_grouped(batch, codes, size)
        slow = Kernel.update_grouped(
            term.loss.kernel, term.prepare(batch), term.params, codes, size
        )
        for g in range(size - 1):
            for reduction in reductions:
                assert term.compute(take_group(fast, g), reduction) == pytest.approx(
                    term.compute(take_group(slow, g), reduction), rel=1e-10
                )


def test_composite_per_row_gradient_needs_no_merged_sums():
    y = np.array([1.0, 2.0, 3.0])
    p = np.array([1.5, 1.0, 4.0])
    g = losscli.gradient(y, p, "0.7*mse + 0.3*mae", reduction="none")
    np.testing.assert_allclose(g, 0.7 * 2 * (p - y) + 0.3 * np.sign(p - y), rtol=1e-15)


# --- Collected: per-row values as a mergeable leaf -------------------------------


def test_collected_merges_by_concatenation_across_batches_and_groups():
    from losscli.engine.passes import GroupedSums
    from losscli.kernel.streaming import Collected, PartialSums, collect_grouped

    a = PartialSums(v=Collected(np.array([3.0, 1.0])), n=2)
    b = PartialSums(v=Collected(np.array([2.0])), n=1)
    merged = a.merge(b)
    assert merged["n"] == 3
    assert merged["v"].array().tolist() == [3.0, 1.0, 2.0]
    assert (0 + Collected(np.array([1.0]))).array().tolist() == [1.0]
    assert len(Collected()) == 0 and Collected().array().size == 0

    acc = GroupedSums()
    values = np.array([1.0, 2.0, 3.0, 4.0])
    codes = np.array([1, 0, 1, 0])
    acc.add_grouped(
        ["x", "y"], PartialSums(v=collect_grouped(values, codes, 2)), np.bincount(codes)
    )
    acc.add_grouped(
        ["z", "x"],
        PartialSums(v=collect_grouped(np.array([5.0, 6.0]), np.array([1, 0]), 2)),
        np.array([1, 1]),
    )
    acc.finish()
    assert acc.groups["x"]["v"].array().tolist() == [2.0, 4.0, 5.0]
    assert acc.groups["y"]["v"].array().tolist() == [1.0, 3.0]
    assert acc.groups["z"]["v"].array().tolist() == [6.0]


def test_bootstrap_replicates_collected_values_with_the_drawn_multiplicity():
    from losscli.engine.bootstrap import replicate_values
    from losscli.kernel.streaming import Collected, PartialSums

    units = np.empty(3, dtype=object)
    units[:] = [
        Collected(np.array([1.0])),
        Collected(np.array([10.0, 20.0])),
        Collected(np.array([5.0])),
    ]
    counts = np.array([[2, 0, 1], [0, 1, 2]])
    got = replicate_values(
        lambda s: float(np.median(s["v"].array())), PartialSums(v=units), np.arange(3), counts
    )
    assert got.tolist() == [np.median([1.0, 1.0, 5.0]), np.median([10.0, 20.0, 5.0, 5.0])]
