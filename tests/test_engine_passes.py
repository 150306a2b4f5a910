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
