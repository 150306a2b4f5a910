"""A progress bar on stderr for reads that take more than about a second.

Shown only when stderr is a terminal, ``CI`` is unset and ``--quiet`` was not given;
never on stdout. Each pass over an input is one task of a single Rich display:
bytes read for an uncompressed CSV/TSV/JSON Lines file (its size is known), rows
read against the row count in the metadata for Parquet, rows and rate otherwise.
Rich is imported only once a bar is due, so short runs pay nothing for it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

#: seconds of reading before a bar appears (``LOSSCLI_PROGRESS_DELAY`` overrides it)
DELAY = 1.0

_enabled = False
_display: Any = None  # the one rich.progress.Progress while any bar is shown
_active = 0


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
) -> Iterator[Any]:
    """Yield ``batches`` unchanged, advancing a bar once reading has lasted ``DELAY``.

    ``position`` (bytes consumed so far) advances a byte bar against ``total``; without
    it the bar counts the batches' rows (``num_rows``) against ``total`` rows, if known.
    """
    if not _enabled:
        yield from batches
        return
    start = time.monotonic()
    delay = _delay()
    task = None
    rows = 0
    try:
        for batch in batches:
            rows += batch.num_rows
            done = position() if position is not None else rows
            if task is None and time.monotonic() - start >= delay:
                task = _add_task(label, total, unit)
            if task is not None:
                _display.update(task, completed=done)
            yield batch
        if task is not None and total is not None:
            _display.update(task, completed=total)
    finally:
        if task is not None:
            _remove_task(task)


def _add_task(label: str, total: int | None, unit: str) -> Any:
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
    global _display, _active
    _display.remove_task(task)
    _active -= 1
    if _active == 0:
        _display.stop()
        _display = None


def note(message: str) -> None:
    """Print a note on stderr without tearing a bar that is being drawn."""
    if _display is not None:
        _display.console.print(message, markup=False, highlight=False)
    else:
        print(message, file=sys.stderr)
