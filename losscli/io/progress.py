"""A progress bar on stderr for reads that take more than about a second.

Shown only when stderr is a terminal, ``CI`` is unset and ``--quiet`` was not given;
never on stdout. Each pass over an input is one bar of a single Rich display:
bytes read for an uncompressed CSV/TSV/JSON Lines file (its size is known), rows
read against the row count in the metadata for Parquet, rows and rate otherwise.
A file read in parallel parts (each by a thread of its own) has one bar, for the
bytes (or rows) read over all its parts. Rich is imported only once a bar is due,
so short runs pay nothing for it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

#: seconds of reading before a bar appears (``LOSSCLI_PROGRESS_DELAY`` overrides it)
DELAY = 1.0

_enabled = False
# Reader threads (the parallel parts of one file) track batches at the same time: the
# display, the bars and the count of shown tasks change only under this lock.
_lock = threading.RLock()
_display: Any = None  # the one rich.progress.Progress while any bar is shown
_active = 0
_bars: dict[Hashable, _Bar] = {}  # the bars of the passes being read, by key


class _Bar:
    """One input's bar: the sum of what each of its readers has read so far."""

    def __init__(self, label: str, total: int | None, unit: str) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.start = time.monotonic()
        self.task: Any = None  # the display's task, once reading has lasted DELAY
        self.readers = 0
        self.done: dict[object, int] = {}  # each reader's bytes (or rows) read

    def advance(self, reader: object, done: int, delay: float) -> None:
        with _lock:
            self.done[reader] = done
            if self.task is None and time.monotonic() - self.start >= delay:
                self.task = _add_task(self.label, self.total, self.unit)
            if self.task is not None:
                _display.update(self.task, completed=sum(self.done.values()))


def enable(quiet: bool) -> None:
    """Allow bars for this command: stderr a terminal, not in CI, not ``--quiet``."""
    global _enabled
    _enabled = (
        not quiet
        and not os.environ.get("CI")
        and os.environ.get("TERM") != "dumb"
        and sys.stderr is not None
        and sys.stderr.isatty()
    )


def enabled() -> bool:
    return _enabled


def _delay() -> float:
    try:
        return float(os.environ.get("LOSSCLI_PROGRESS_DELAY", DELAY))
    except ValueError:
        return DELAY


def track(
    batches: Iterator[Any],
    label: str,
    *,
    total: int | None = None,
    unit: str = "rows",
    position: Callable[[], int] | None = None,
    whole: Hashable | None = None,
) -> Iterator[Any]:
    """Yield ``batches`` unchanged, advancing a bar once reading has lasted ``DELAY``.

    ``position`` (bytes consumed so far) advances a byte bar against ``total``; without
    it the bar counts the batches' rows (``num_rows``) against ``total`` rows, if known.
    The parts of one input, each read by a thread of its own, pass the same ``whole``
    key and the whole input's ``total``: they share one bar, which shows the sum of
    what every part has read. The bar moves once per batch, never per row; it is safe
    to call from any thread.
    """
    if not _enabled:
        yield from batches
        return
    delay = _delay()
    reader = object()  # this pass's (or part's) own count in the bar
    key = whole if whole is not None else object()
    with _lock:
        bar = _bars.get(key)
        if bar is None:
            bar = _bars[key] = _Bar(label, total, unit)
        bar.readers += 1
    rows = 0
    try:
        for batch in batches:
            rows += batch.num_rows
            bar.advance(reader, position() if position is not None else rows, delay)
            yield batch
        with _lock:
            if bar.task is not None and total is not None and bar.readers == 1:
                _display.update(bar.task, completed=total)  # the last reader is done
    finally:
        with _lock:
            bar.readers -= 1
            if bar.readers == 0:
                del _bars[key]
                if bar.task is not None:
                    _remove_task(bar.task)


def _add_task(label: str, total: int | None, unit: str) -> Any:
    """A task on the display, started if need be (the caller holds ``_lock``)."""
    global _display, _active
    if _display is None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        class _Amount(TextColumn):
            """Bytes as 12.3/45.6 MB with a byte rate, rows as 12,345/67,890 with a row rate."""

            def __init__(self) -> None:
                super().__init__("")
                self._bytes = (DownloadColumn(), TransferSpeedColumn())

            def render(self, task: Any) -> Any:
                from rich.text import Text

                if task.fields.get("unit") == "bytes":
                    size, speed = (c.render(task) for c in self._bytes)
                    return Text.assemble(size, " ", speed)
                rate = task.finished_speed or task.speed
                per_s = f" {rate:,.0f} rows/s" if rate else ""
                done = f"{int(task.completed):,}"
                if task.total is not None:
                    done += f"/{int(task.total):,}"
                return Text(f"{done} rows{per_s}", style="progress.download")

        _display = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _Amount(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        _display.start()
    _active += 1
    return _display.add_task(label, total=total, unit=unit)


def _remove_task(task: Any) -> None:
    """Drop a task; the display stops with its last (the caller holds ``_lock``)."""
    global _display, _active
    _display.remove_task(task)
    _active -= 1
    if _active == 0:
        _display.stop()
        _display = None


def note(message: str) -> None:
    """Print a note on stderr without tearing a bar that is being drawn."""
    with _lock:
        if _display is not None:
            _display.console.print(message, markup=False, highlight=False)
            return
    print(message, file=sys.stderr)
