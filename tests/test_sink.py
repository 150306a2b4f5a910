"""Per-row output: batches written by a background thread, in order, atomically."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from losscli.io import sink
from losscli.io.sink import BackgroundWriter, RowSink


def test_background_writer_keeps_the_order_and_finishes_every_item() -> None:
    seen: list[int] = []
    writer = BackgroundWriter(seen.append, depth=2)
    for i in range(500):
        writer.put(i)
    writer.finish()
    assert seen == list(range(500))


def test_background_writer_holds_at_most_depth_items_waiting() -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(item: int) -> None:
        started.set()
        release.wait()

    writer = BackgroundWriter(slow, depth=2)
    writer.put(0)  # taken by the thread, which then blocks in slow()
    started.wait(5)
    writer.put(1)
    writer.put(2)  # the queue is full now
    third = threading.Thread(target=writer.put, args=(3,))
    third.start()
    time.sleep(0.05)
    assert third.is_alive()  # blocked: memory stays bounded
    release.set()
    third.join(5)
    writer.finish()


def test_a_write_error_is_raised_in_the_callers_thread() -> None:
    def failing(item: int) -> None:
        if item == 3:
            raise OSError(28, "No space left on device")

    writer = BackgroundWriter(failing, depth=1)
    with pytest.raises(OSError, match="No space left"):
        for i in range(100):
            writer.put(i)
        writer.finish()
    writer.finish(raise_error=False)  # the thread is gone; nothing more is raised


def test_nothing_is_written_after_a_write_error_even_once_it_was_raised() -> None:
    written: list[int] = []
    release = threading.Event()

    def write(item: int) -> None:
        if item == 0:
            release.wait(5)
            raise OSError(28, "No space left on device")
        written.append(item)

    writer = BackgroundWriter(write, depth=2)
    writer.put(0)  # the thread fails on it once released
    writer.put(1)
    writer.put(2)  # both wait behind the failing item
    release.set()
    time.sleep(0.2)  # the thread fails on 0 and drains 1 and 2 without writing them
    for item in (3, 4):  # a caller that goes on after the error: each put raises it
        with pytest.raises(OSError, match="No space left"):
            writer.put(item)
    writer.finish(raise_error=False)
    assert written == []


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_rowsink_writes_many_batches_in_order(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"g.{suffix}"
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=1000) for _ in range(40)]
    with RowSink(str(out), ["row", "grad"]) as rows:
        start = 0
        for part in parts:
            rows.write([np.arange(start, start + len(part)), part])
            start += len(part)
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(out) if suffix == "csv" else pq.read_table(out)
    assert table.column("row").to_pylist() == list(range(40_000))
    np.testing.assert_array_equal(np.asarray(table.column("grad")), np.concatenate(parts))
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left


def test_a_failed_write_leaves_the_target_as_it_was(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "g.csv"
    out.write_text("previous contents\n")

    class Failing(BackgroundWriter):
        def __init__(self, write, depth: int = 2) -> None:
            def fail(item) -> None:
                raise OSError(28, "No space left on device")

            super().__init__(fail, depth)

    monkeypatch.setattr(sink, "BackgroundWriter", Failing)
    with pytest.raises(OSError), RowSink(str(out), ["row", "grad"]) as rows:
        rows.write([np.arange(3), np.zeros(3)])
    assert out.read_text() == "previous contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]
