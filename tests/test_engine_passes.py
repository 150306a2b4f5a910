"""The engine's one batch loop (``passes.each_batch``): extras see every batch of the pass
and leave its (loss, group) sums exactly as the plain pass makes them."""

from __future__ import annotations

import numpy as np


def _reading(path, loss: str, group: str | None = None):
    from losscli.app.reading import prepare
    from losscli.io.input_options import InputSpec

    reading, _ = prepare(
        str(path), loss, InputSpec(group=group), None, note=lambda _: None, replay=False
    )
    return reading


def _write(path, n: int = 500):
    rng = np.random.default_rng(7)
    y, p = rng.normal(size=n), rng.normal(size=n)
    lines = ["y_true,y_pred,g"] + [
        f"{float(a)!r},{float(b)!r},{'ab'[i % 2]}" for i, (a, b) in enumerate(zip(y, p))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class _Seen:
    """An extra that records what the loop hands it."""

    def __init__(self):
        self.rows, self.shared, self.finished = 0, [], False

    def add(self, sel, batch, frame, shared):
        self.rows += len(batch)
        self.shared.append(shared)

    def finish(self):
        self.finished = True


def test_extras_see_every_batch_and_the_sums_stay_those_of_the_plain_pass(tmp_path):
    from losscli.engine.passes import Extras, _accumulate_serial, accumulate

    path = _write(tmp_path / "r.csv")
    plain = _accumulate_serial(_reading(path, "mse", "g"), {})
    seen, stats = _Seen(), {}
    sums = accumulate(_reading(path, "mse", "g"), stats, Extras([seen], lambda frame: frame.n))
    assert seen.finished and seen.rows == stats["rows"] == 500
    assert sum(seen.shared) == 500  # per_frame ran once per frame, its value shared
    assert sums[0].n == plain[0].n and sums[0].group_n == plain[0].group_n
    assert sums[0].overall.keys() == plain[0].overall.keys()
    for k in plain[0].overall:
        assert np.array_equal(sums[0].overall[k], plain[0].overall[k])
    for g in ("a", "b"):
        for k in plain[0].groups[g]:
            assert np.array_equal(sums[0].groups[g][k], plain[0].groups[g][k])


def test_an_input_error_in_an_extra_is_located_like_one_in_the_sums(tmp_path):
    import pytest

    from losscli.engine.passes import Extras, accumulate
    from losscli.errors import InputError

    class Failing(_Seen):
        def add(self, sel, batch, frame, shared):
            raise InputError("bad", hint=None)

    path = _write(tmp_path / "r.csv")
    with pytest.raises(InputError) as caught:
        accumulate(_reading(path, "mse"), {}, Extras([Failing()]))
    assert caught.value.message.startswith(f"{path}: mse on target y_true, predictions y_pred")
    assert caught.value.message.endswith(": bad")


def _count_calls(monkeypatch, cls, name):
    calls = []
    original = getattr(cls, name)

    def counted(self, *args, **kwargs):
        calls.append(len(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


def _write_binary(path, n: int = 300):
    rng = np.random.default_rng(3)
    lines = ["y_true,y_pred,g"] + [
        f"{int(rng.random() < 0.4)},{float(rng.uniform(0.01, 0.99))!r},{'abc'[i % 3]}"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_batch_is_prepared_and_its_losses_computed_once_for_every_reader(tmp_path, monkeypatch):
    """The sums, the grouped sums, the worst rows and the report's histograms of one loss
    read the same batch: its labels are checked (``prepare``) and its Lᵢ computed once,
    and the numbers are those of separate computations."""
    from losscli.app.evaluation import evaluate
    from losscli.io.input_options import InputSpec
    from losscli.losses.registry import get_loss

    path = _write_binary(tmp_path / "b.csv")
    expected = evaluate(str(path), "bce", InputSpec(group="g"), top=5, row_stats=True)
    kernel = type(get_loss("bce").kernel)
    prepared = _count_calls(monkeypatch, kernel, "prepare")
    computed = _count_calls(monkeypatch, kernel, "loss")
    doc = evaluate(str(path), "bce", InputSpec(group="g"), top=5, row_stats=True)
    assert prepared == [300] and computed == [300]  # one batch: once each
    assert doc["results"] == expected["results"] and doc["top_rows"] == expected["top_rows"]
    assert doc["row_stats"] == expected["row_stats"]
    y, p = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1), unpack=True)
    rows = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    overall = next(r for r in doc["results"] if r["group"] is None)
    assert np.isclose(overall["value"], rows.mean(), rtol=1e-12)
    worst = next(t for t in doc["top_rows"] if t["group"] is None)["rows"][0]
    assert np.isclose(worst["value"], rows.max(), rtol=1e-12) and worst["row"] == rows.argmax()


def test_the_shared_losses_are_the_batchs_own(tmp_path):
    """A batch made from another (``replace``, ``take``) starts with no kept Lᵢ; other
    parameters of the same kernel get their own."""
    from losscli.kernel.streaming import Batch
    from losscli.losses.registry import get_loss

    kernel = get_loss("huber").kernel
    batch = Batch(np.array([0.0, 0.0]), (np.array([0.5, 3.0]),))
    small, large = {"delta": 1.0}, {"delta": 5.0}
    first = kernel.rows(batch, small)
    assert kernel.rows(batch, small) is first
    assert np.allclose(first, [0.125, 2.5]) and np.allclose(kernel.rows(batch, large), [0.125, 4.5])
    other = batch.replace(preds=(np.array([1.0, 2.0]),))
    assert np.allclose(kernel.rows(other, small), [0.5, 1.5])
    assert np.allclose(kernel.rows(batch.take(np.array([1])), small), [2.5])


def test_a_batch_that_only_needed_checking_is_freed_at_once(monkeypatch):
    """A kernel whose ``prepare`` only checks the batch returns it as it is; the batch's
    memo then holds no reference to the batch itself, so it is freed as soon as its
    reader drops it, not at the next garbage collection (batches are megabytes)."""
    import gc
    import weakref

    from losscli.binding.objective import BoundLoss
    from losscli.kernel.streaming import Batch
    from losscli.losses.registry import get_loss

    bound = BoundLoss(get_loss("bce"), {})
    checks = _count_calls(monkeypatch, type(bound.loss.kernel), "prepare")
    gc.disable()
    try:
        batch = Batch(np.array([0.0, 1.0]), (np.array([0.2, 0.7]),))
        assert bound.prepare(batch) is batch and bound.prepare(batch) is batch
        assert checks == [2]  # checked once
        kept = weakref.ref(batch)
        del batch
        assert kept() is None
    finally:
        gc.enable()
