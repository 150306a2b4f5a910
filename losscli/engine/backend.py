"""Where the passes run: in this process (``local``) or as Dask tasks (``dask``).

Every use case (eval, ``--reduction none``, grad, compare) asks ``backend_for`` for a
backend and calls it the same way; none asks which backend it got. Both run the same
per-batch code (``passes``, ``row_output``, ``scoring``), so their numbers agree.
The local backend also watches for probabilities read as logits
(``logits.watching_logits``); the Dask backend reads its partitions elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from losscli.engine.logits import watching_logits
from losscli.engine.passes import (
    Emitter,
    Evaluated,
    Extras,
    Reading,
    accumulate,
    assumed_gradient_sums,
    gradient_pass,
    row_frames,
    sums_agree,
)
from losscli.engine.row_output import (
    gradient_columns,
    gradient_names,
    row_columns,
    row_format,
    row_names,
    rows_need_sums,
)
from losscli.errors import UsageError

Note = Callable[[str], None]


class Backend(Protocol):
    #: the task may be guessed from the first batch and checked as the file is read
    infers_while_reading: bool

    def row_output(self, output: str | None, fmt: str | None, what: str) -> Any:
        """Check, before any work, where per-row output goes; what ``write_*`` take."""

    def evaluate(
        self,
        reading: Reading,
        *,
        reduction: str,
        gradients: bool,
        splits: Sequence[Any] | None,
        resampling: Any,
        note: Note,
        from_logits: bool | None,
        top: int = 0,
        report: bool = False,
    ) -> Evaluated: ...

    def gradient_summaries(self, reading: Reading, evaluated: Evaluated, reduction: str) -> Any:
        """The gradient summaries of ``eval --gradients`` against the evaluated sums."""

    def write_rows(
        self, reading: Reading, target: Any, note: Note, from_logits: bool | None
    ) -> dict[str, int]: ...

    def write_gradients(
        self,
        reading: Reading,
        target: Any,
        reduction: str,
        with_loss: bool,
        note: Note,
        from_logits: bool | None,
    ) -> dict[str, int]: ...

    def score(
        self,
        readings: Sequence[Reading],
        options: dict[str, Any],
        note: Note,
        from_logits: bool | None,
    ) -> list[Any]: ...


class LocalBackend:
    """The passes in this process, over the readers' record batches."""

    infers_while_reading = True

    def row_output(self, output: str | None, fmt: str | None, what: str) -> Any:
        from losscli.io.sink import TableSink, check_writable

        if isinstance(output, TableSink):  # a table in memory (the Python API's frames)
            return output, "table"
        kind = row_format(output, fmt, what)
        if output is not None:
            check_writable(output)
        return output, kind

    def evaluate(
        self,
        reading: Reading,
        *,
        reduction: str,
        gradients: bool,
        splits: Sequence[Any] | None,
        resampling: Any,
        note: Note,
        from_logits: bool | None,
        top: int = 0,
        report: bool = False,
    ) -> Evaluated:
        stats: dict[str, int] = {}
        worst = row_stats = None
        if top:
            from losscli.engine.top_rows import WorstRows

            worst = [WorstRows.of(top, sel, reading.keep, reading.key) for sel in reading.selected]
        if report:  # losscli report: histograms, residuals or calibration, in the same pass
            from losscli.engine.report_stats import RowStats

            row_stats = [RowStats.of(sel, i == 0) for i, sel in enumerate(reading.selected)]
        alongside = _joined(worst, row_stats)
        with watching_logits(reading, note, from_logits):
            if splits is not None or resampling is not None:
                from losscli.engine import breakdown

                if splits is None:
                    splits = [None] * len(reading.selected)
                resample = resampling is not None
                sums, extras = breakdown.accumulate(reading, stats, splits, resample, alongside)
            elif alongside is not None:
                sums, extras = accumulate(reading, stats, Extras(alongside)), None
            else:
                sums, extras = accumulate(reading, stats), None
        return Evaluated(sums, stats, extras, worst, report=row_stats)

    def gradient_summaries(self, reading: Reading, evaluated: Evaluated, reduction: str) -> Any:
        return gradient_pass(reading, evaluated.sums, reduction)

    def write_rows(
        self, reading: Reading, target: Any, note: Note, from_logits: bool | None
    ) -> dict[str, int]:
        stats: dict[str, int] = {}
        with watching_logits(reading, note, from_logits):
            sums = accumulate(reading, stats) if rows_need_sums(reading) else None
            rows = row_frames(reading, stats) if sums is None else row_frames(reading.reopen(), {})
            with _sink(target, row_names(reading)) as sink:
                for frame, batches in rows:
                    sink.write(row_columns(reading, frame, batches, sums))
        return stats

    def write_gradients(
        self,
        reading: Reading,
        target: Any,
        reduction: str,
        with_loss: bool,
        note: Note,
        from_logits: bool | None,
    ) -> dict[str, int]:
        """Pass 1 merges the sums, pass 2 writes each row's gradient against them; a
        gradient that needs no more than the row count (``assumed_gradient_sums``) is
        written in one pass to a file or table, which is written again, from the sums
        that pass merged, should they differ from those assumed (blank CSV lines)."""
        names = gradient_names(reading, with_loss)
        stats: dict[str, int] = {}
        restartable = target[1] == "table" or target[0] is not None  # not stdout
        assumed = assumed_gradient_sums(reading, reduction) if restartable else None
        with watching_logits(reading, note, from_logits):
            if assumed is None:
                sums = accumulate(reading, stats)[0]
            else:
                try:
                    with _sink(target, names) as sink:
                        writer = Emitter(
                            lambda frame, batch: sink.write(
                                gradient_columns(
                                    reading, frame, batch, assumed, reduction, with_loss
                                )
                            )
                        )
                        sums = accumulate(reading, stats, Extras([writer]))[0]
                        if not sums_agree(assumed.overall, sums.overall):
                            raise _Rewrite  # the output so far is dropped
                    return stats
                except _Rewrite:
                    pass
        with _sink(target, names) as sink:
            for frame, (batch,) in row_frames(reading.reopen(), {}):
                sink.write(gradient_columns(reading, frame, batch, sums, reduction, with_loss))
        return stats

    def score(
        self,
        readings: Sequence[Reading],
        options: dict[str, Any],
        note: Note,
        from_logits: bool | None,
    ) -> list[Any]:
        from losscli.engine.scoring import score

        scored = []
        for reading in readings:
            with watching_logits(reading, note, from_logits):
                scored.append(score(reading, **options))
        return scored


class _Rewrite(Exception):
    """The sums a one-pass gradient assumed were not the pass's: write it again."""


def _sink(target: Any, columns: Sequence[str]) -> Any:
    """Where the local backend's per-row output goes: ``row_output``'s (file or stdout,
    format), or the ``TableSink`` it was given."""
    from losscli.io.sink import RowSink

    output, kind = target
    return output.open(columns) if kind == "table" else RowSink(output, columns, kind)


def backend_for(
    engine: str, scheduler: str | None, path: str, targets: str | None = None
) -> Backend:
    """The backend ``--engine`` names, once it is known to be able to run the input."""
    if engine == "local":
        if scheduler is not None:
            raise UsageError("--scheduler needs --engine dask")
        return LocalBackend()
    if engine != "dask":
        raise UsageError(f"unknown engine {engine!r}: use local or dask")
    from losscli.engine import dask_backend

    dask_backend.require(path, scheduler=scheduler, targets=targets)
    return dask_backend.DaskBackend(scheduler)


def _joined(first: Sequence[Any] | None, second: Sequence[Any] | None) -> list[Any] | None:
    """One extra per loss from two optional lists of extras (``passes.Joined`` when both)."""
    from losscli.engine.passes import Joined

    if first is None or second is None:
        return list(first or second) if (first or second) else None
    return [Joined(a, b) for a, b in zip(first, second)]
