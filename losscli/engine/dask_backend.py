"""``--engine dask``: the local engine's passes, one Dask task per partition of a dataset.

A Parquet dataset (a file, a directory, a glob or an fsspec URL; ``losscli.io.dataset``)
is cut into partitions: each file, and a file of more than ``partition_rows`` rows
into runs of whole row groups of about that many rows. A directory or glob of CSV,
TSV, JSON Lines or Arrow parts (or one such file) has a partition per file, whose rows
a first task per file counts (the header's count for Arrow; a read of one column
otherwise). Every task runs the local engine's own code over its partition
(``engine.accumulate``, ``breakdown.accumulate`` for ``--per-class``/``--bootstrap``,
``engine.gradient_pass``, ``scoring.score``, the ``grad`` and ``--reduction none`` row
writers) with the rows numbered from the partition's first row in the dataset, so row
numbers in errors, in ``grad`` output and in the bootstrap's resampling units are the
local engine's. The client merges the partial sums in partition order
(``PartialSums.merge``; groups by name; the per-class and per-unit sums of
``breakdown.Extra.merge``) and computes every value once, as the local engine does:
results agree with it to rounding (1e-9 relative is tested).

Errors: each task returns its error instead of raising it, and the client reports
the first one in row order, as a single pass would. Empty, NaN or infinite cells are
counted over all partitions and reported once with the dataset's first rows.

Without ``--scheduler`` the tasks run on Dask's thread pool in this process (numpy and
Arrow release the GIL); with ``--scheduler ADDRESS`` on that Dask cluster, whose
workers need losscli installed and access to the files (a shared filesystem or a URL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from losscli.engine.passes import (
    BadCells,
    BadCellsError,
    Evaluated,
    GradientStats,
    GroupedSums,
    Reading,
    accumulate,
    check_rows,
    frames,
    gradient_pass,
    row_frames,
)
from losscli.engine.row_output import (
    gradient_columns,
    gradient_names,
    row_columns,
    row_names,
    rows_need_sums,
)
from losscli.engine.scoring import score as score_file
from losscli.errors import InputError, LossCliError, UsageError
from losscli.io import dataset
from losscli.io.batches import read_batches, read_header
from losscli.io.parquet_reader import parquet_file, parquet_files
from losscli.io.sources import Source, part_source

PARTITION_ROWS = 1 << 22  # a file larger than this is split at row-group boundaries
FAN_IN = 8  # partition outcomes merged per task of the reduction tree
EXTRA = "pip install 'losscli[dask]'"


def require(path: str, *, scheduler: str | None, targets: str | None = None) -> None:
    """Fail early: the extra must be installed, and the input must be a Parquet dataset."""
    try:
        import dask  # noqa: F401
    except ImportError:
        raise UsageError("--engine dask needs dask, which is not installed", hint=EXTRA) from None
    if scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                "--scheduler needs dask's distributed package, which is not installed", hint=EXTRA
            ) from None
    if path == "-":
        raise UsageError(
            "--engine dask reads files, not stdin",
            hint="give a file, a directory or glob of parts, or a Parquet dataset's URL",
        )
    if targets is not None:
        raise UsageError(
            "--engine dask does not read a --targets file",
            hint="keep targets and predictions in the same dataset, or use --engine local",
        )


def require_dataset(source: Source) -> None:
    """A Parquet dataset, a directory or glob of parts, or one file of another format."""
    if source.path == "-" or source.data is not None:
        raise UsageError(
            "--engine dask reads files, not stdin",
            hint="give a file, a directory or glob of parts, or a Parquet dataset's URL",
        )


@dataclass(frozen=True)
class Partition:
    """Whole row groups of one file: ``pieces`` as ``Source.pieces``, rows numbered from ``row0``."""

    index: int
    pieces: tuple[tuple[str, tuple[int, ...] | None], ...]
    row0: int
    rows: int


def plan_partitions(
    files: Sequence[str], row_groups: Sequence[Sequence[int]], partition_rows: int
) -> list[Partition]:
    """Each file, split into runs of whole row groups of at least ``partition_rows`` rows."""
    out: list[Partition] = []
    row0 = 0
    for path, sizes in zip(files, row_groups):
        runs: list[list[int]] = [[]]
        count = 0
        for g, n in enumerate(sizes):
            if runs[-1] and count >= partition_rows:
                runs.append([])
                count = 0
            runs[-1].append(g)
            count += n
        for run in runs:
            groups = None if len(runs) == 1 else tuple(run)
            rows = sum(sizes[g] for g in run)
            out.append(Partition(len(out), ((path, groups),), row0, rows))
            row0 += rows
    return out


@dataclass
class Outcome:
    """What a run of consecutive partitions hands back: a value and row counts, or errors.

    A single pass over these rows would raise ``clean_error`` when no bad (empty, NaN,
    infinite) cells came before them, and ``dirty_error`` when some did (after a bad
    cell, a pass only counts bad cells, and only a reading error stops it). ``bad``
    holds the bad cells. Outcomes of neighbouring runs combine associatively
    (``combine``), so a tree of Dask tasks can merge them on the workers.
    """

    value: Any = None  # None once any partition met an error or bad cells
    stats: dict[str, int] = field(default_factory=dict)
    clean_error: LossCliError | None = None
    dirty_error: LossCliError | None = None
    bad: BadCells = field(default_factory=BadCells)


def combine(merge: Callable[[Any, Any], Any], *outcomes: Outcome) -> Outcome:
    """The outcome of consecutive runs, in row order; values merged with ``merge``."""
    out = outcomes[0]
    for nxt in outcomes[1:]:
        if out.clean_error is not None:
            clean = out.clean_error
        else:
            clean = nxt.dirty_error if out.bad.counts else nxt.clean_error
        bad = BadCells()
        bad.merge(out.bad)
        bad.merge(nxt.bad)
        stats = dict(out.stats)
        for k, v in nxt.stats.items():
            stats[k] = stats.get(k, 0) + v
        value = None
        if out.value is not None and nxt.value is not None:
            value = merge(out.value, nxt.value)
        out = Outcome(value, stats, clean, out.dirty_error or nxt.dirty_error, bad)
    return out


def settle(outcome: Outcome, source: Source) -> tuple[Any, dict[str, int]]:
    """The merged value and row counts, or the error a single pass would have raised."""
    if outcome.clean_error is not None:
        raise outcome.clean_error
    if outcome.bad.counts:
        raise outcome.bad.error(source)
    return outcome.value, outcome.stats


def _partition_reading(reading: Reading, part: Partition) -> Reading:
    source = reading.source
    if source.fmt == "parquet":
        piece = Source(
            source.path,
            "parquet",
            pieces=part.pieces,
            row0=part.row0,
            filesystem=source.filesystem,
            partitions=source.partitions,
        )
    else:  # one file of parts (or the one file), read as a dataset of that part
        piece = Source(
            source.path,
            source.fmt,
            pieces=part.pieces,
            row0=part.row0,
            files=[path for path, _ in part.pieces],
            partitions=source.partitions,
            delimiter=source.delimiter,
            decimal=source.decimal,
            csv_options_given=source.csv_options_given,
            # for the line of an error in the one file: how to read it again
            compression=source.compression,
            encoding=source.encoding,
            newlines_in_values=source.newlines_in_values,
        )
    return replace(reading, source=piece, targets=None)


def _run(part: Partition, fn: Callable[..., Any], reading: Reading, *args: Any) -> Outcome:
    """Run ``fn(partition reading, stats, *args)``; errors come back as values."""
    stats: dict[str, int] = {}
    try:
        return Outcome(fn(_partition_reading(reading, part), stats, *args), stats)
    except BadCellsError as exc:
        return Outcome(stats=stats, bad=exc.cells)
    except LossCliError as exc:
        # After bad cells in an earlier partition a pass would not stop here, but go on
        # counting bad cells to the end: count them, and keep any reading error.
        bad, read_error = BadCells(), None
        try:
            for _ in frames(_partition_reading(reading, part), {}):
                pass
        except BadCellsError as counted:
            bad = counted.cells
        except LossCliError as failed:
            read_error = failed
        return Outcome(stats=stats, clean_error=exc, dirty_error=read_error, bad=bad)


def _row_groups(path: str, source: Source) -> list[int]:
    pf = parquet_file(source, path)
    meta = pf.metadata
    pf.close(force=source.filesystem is not None)
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


# ---- the tasks: the local engine's code over one partition ----------------------------


def _accumulate(reading: Reading, stats: dict[str, int]) -> list[GroupedSums]:
    return accumulate(reading, stats)


def _accumulate_extras(
    reading: Reading, stats: dict[str, int], splits: Sequence[Any], resample: bool
) -> tuple[list[GroupedSums], list[Any]]:
    """Pass 1 with ``--per-class`` / ``--bootstrap`` sums (``engine.breakdown``): the rows
    are numbered from the partition's first row in the dataset, so their bootstrap units
    are the local engine's."""
    from losscli.engine import breakdown

    return breakdown.accumulate(reading, stats, list(splits), resample)


def _gradient_stats(
    reading: Reading, stats: dict[str, int], sums: Sequence[GroupedSums], reduction: str
) -> list[tuple[GradientStats, dict[str, GradientStats]]]:
    return gradient_pass(reading, sums, reduction)


def _score(reading: Reading, stats: dict[str, int], options: dict[str, Any]) -> Any:
    scored = score_file(reading, **options)
    stats["rows"], stats["dropped"] = scored.rows, scored.dropped
    return scored


def _write_gradients(
    reading: Reading,
    stats: dict[str, int],
    target: tuple[Any, str],
    names: list[str],
    sums: GroupedSums,
    reduction: str,
    with_loss: bool,
) -> int:
    with _PartWriter(*target, names) as out:
        for frame, (batch,) in row_frames(reading, stats):
            out.write(gradient_columns(reading, frame, batch, sums, reduction, with_loss))
    return stats.get("rows", 0)


def _write_rows(
    reading: Reading,
    stats: dict[str, int],
    target: tuple[Any, str],
    names: list[str],
    sums: Sequence[GroupedSums] | None = None,
) -> int:
    with _PartWriter(*target, names) as out:
        for frame, batches in row_frames(reading, stats):
            out.write(row_columns(reading, frame, batches, sums))
    return stats.get("rows", 0)


class _PartWriter:
    """One Parquet file of an output dataset (``row`` as int64, every other column float64)."""

    def __init__(self, fs: Any, path: str, names: list[str]) -> None:
        self.fs, self.path, self.names = fs, path, names
        self._file: Any = None
        self._writer: Any = None

    def __enter__(self) -> _PartWriter:
        self._file = self.fs.open(self.path, "wb")
        return self

    def write(self, columns: Sequence[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from losscli.io.sink import _arrow, parquet_options

        batch = pa.RecordBatch.from_arrays([_arrow(c) for c in columns], names=self.names)
        if self._writer is None:
            options = parquet_options(batch.schema)
            self._writer = pq.ParquetWriter(self._file, batch.schema, **options)
        self._writer.write_batch(batch)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        from losscli._lazy import np

        try:
            if exc_type is None and self._writer is None:  # no rows: the schema alone
                self.write([np.zeros(0, np.int64), *(np.zeros(0) for _ in self.names[1:])])
            if self._writer is not None:
                self._writer.close()
        finally:
            self._file.close()


class DatasetOutput:
    """An output directory of ``part-NNNNN.parquet`` files, one per partition.

    The parts are written to a hidden directory beside the target and moved into
    place when all are complete; a failed run removes them and leaves the target as
    it was. An existing target is replaced only when it holds nothing but such parts.
    """

    def __init__(self, path: str) -> None:
        if path.lower().endswith((".csv", ".txt")):
            raise UsageError(
                f"-o {path}: --engine dask writes a Parquet dataset (a directory of "
                "part-NNNNN.parquet files), not CSV",
                hint="name a directory, e.g. -o grads/",
            )
        self.path = path
        if dataset.is_url(path):
            self.fs, self.root = dataset.filesystem(path)
        else:
            from fsspec.implementations.local import LocalFileSystem

            self.fs, self.root = LocalFileSystem(), path
        self.root = self.root.rstrip("/")
        parent, _, name = self.root.rpartition("/")
        self._check(parent)
        self.tmp = f"{parent}/" if parent else ""
        self.tmp += f".{name}.{uuid.uuid4().hex[:12]}.tmp"

    def begin(self) -> None:
        self.fs.makedirs(self.tmp, exist_ok=True)

    def _check(self, parent: str) -> None:
        fs, root = self.fs, self.root
        if fs.exists(root):
            if not fs.isdir(root):
                raise InputError(
                    f"cannot write -o {self.path}: it is a file; --engine dask writes a directory"
                )
            strays = [p for p in fs.ls(root, detail=False) if not _is_part(p)]
            if strays:
                raise InputError(
                    f"cannot write -o {self.path}: the directory holds other files "
                    f"({strays[0].rsplit('/', 1)[-1]}, …)",
                    hint="choose a new or empty directory (one that only holds part-*.parquet "
                    "files is replaced)",
                )
        elif parent and not dataset.is_url(self.path) and not fs.isdir(parent):
            raise InputError(f"cannot write -o {self.path}: no such directory {parent!r}")

    def part(self, index: int) -> tuple[Any, str]:
        return self.fs, f"{self.tmp}/part-{index:05d}.parquet"

    def commit(self) -> None:
        old = None
        if self.fs.exists(self.root):
            old = f"{self.tmp}.old"
            if not dataset.is_url(self.path):  # a replaced directory keeps its mode
                import os

                os.chmod(self.tmp, os.stat(self.root).st_mode & 0o777)
            self.fs.mv(self.root, old, recursive=True)
        self.fs.mv(self.tmp, self.root, recursive=True)
        if old is not None:
            self.fs.rm(old, recursive=True)

    def abort(self) -> None:
        try:
            if self.fs.exists(self.tmp):
                self.fs.rm(self.tmp, recursive=True)
        except OSError:
            pass


def _is_part(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.startswith("part-") and name.endswith(".parquet")


class DaskEngine:
    """Runs the passes of eval, grad and compare as Dask tasks, one per partition."""

    def __init__(self, scheduler: str | None, partition_rows: int | None = None) -> None:
        self.client: Any = None
        self.address = scheduler
        self.partition_rows = partition_rows or PARTITION_ROWS

    def __enter__(self) -> DaskEngine:
        if self.address is not None:
            from distributed import Client

            _check_address(self.address)
            try:
                self.client = Client(self.address, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(
                    f"--scheduler {self.address}: cannot connect ({exc})",
                    hint="start a scheduler with 'dask scheduler', or leave out --scheduler "
                    "to use this machine's threads",
                ) from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    @property
    def where(self) -> str:
        return f"the cluster at {self.address}" if self.address else "local threads"

    def reduce(
        self,
        fn: Callable[..., Outcome],
        items: Sequence[Any],
        shared: Sequence[Any],
        merge: Callable[[Any, Any], Any],
    ) -> Outcome:
        """``fn(item, *shared)`` per item as Dask tasks, combined in item order by a tree of
        tasks on the workers, so the client receives one outcome. ``shared`` is sent once."""
        import dask

        common = [x if callable(x) else dask.delayed(x, traverse=False) for x in shared]
        level = [dask.delayed(fn, pure=False)(item, *common) for item in items]
        while len(level) > 1:
            level = [
                dask.delayed(combine, pure=False)(merge, *level[i : i + FAN_IN])
                for i in range(0, len(level), FAN_IN)
            ]
        scheduler = self.client if self.client is not None else "threads"
        (out,) = dask.compute(level[0], scheduler=scheduler)
        return out

    def partitions(self, source: Source) -> list[Partition]:
        """The dataset's partitions (the files' row groups are read by the tasks). A
        CSV, TSV, JSON Lines or Arrow part is one partition; a task counts its rows
        first (a read of one column), so that every partition numbers its rows from
        its first row in the dataset, as the local engine does."""
        if source.fmt != "parquet":
            files = source.files or [source.path]
            probe = replace(source, files=None, part_starts=[])
            sizes, _ = settle(self.reduce(_count_rows, files, [probe], _concat), source)
            return plan_partitions(files, [[n] for n in sizes], self.partition_rows)
        files = parquet_files(source)
        probe = Source(source.path, "parquet", filesystem=source.filesystem)
        sizes, _ = settle(self.reduce(_listing, files, [probe], _concat), source)
        return plan_partitions(files, sizes, self.partition_rows)

    def run(
        self,
        fn: Callable[..., Any],
        merge: Callable[[Any, Any], Any],
        reading: Reading,
        parts: Sequence[Partition],
        *args: Any,
    ) -> tuple[Any, dict[str, int]]:
        """``fn`` over every partition: the merged value and the row counts."""
        reading = replace(reading, source=replace(reading.source, files=None))  # sent to workers
        outcome = self.reduce(_run, parts, [fn, reading, *args], merge)
        return settle(outcome, reading.source)

    # ---- the passes --------------------------------------------------------------------

    def accumulate(
        self,
        reading: Reading,
        parts: Sequence[Partition],
        splits: Any = None,
        resample: bool = False,
    ) -> tuple[list[GroupedSums], dict[str, int], Any]:
        """Pass 1: every partition's sums (and per-class/bootstrap extras when ``splits``
        or ``resample``), merged in partition order."""
        extras = None
        if splits is not None or resample:
            splits = list(splits) if splits is not None else [None] * len(reading.selected)
            args = (splits, resample)
            (sums, extras), stats = self.run(
                _accumulate_extras, _merge_with_extras, reading, parts, *args
            )
        else:
            sums, stats = self.run(_accumulate, _merge_sums, reading, parts)
        check_rows(reading.source, stats.get("rows", 0), stats.get("dropped", 0))
        return sums, stats, extras

    def gradient_pass(
        self,
        reading: Reading,
        parts: Sequence[Partition],
        sums: Sequence[GroupedSums],
        reduction: str,
    ) -> list[tuple[GradientStats, dict[str, GradientStats]]]:
        """Pass 2 of ``eval --gradients``: per-partition summaries against the merged sums."""
        args = (list(sums), reduction)
        return self.run(_gradient_stats, _merge_gradients, reading, parts, *args)[0]

    def score(self, reading: Reading, **options: Any) -> Any:
        """``compare``: one dataset's score, from its partitions' scores."""
        parts = self.partitions(reading.source)
        scored, stats = self.run(_score, _merge_scored, reading, parts, options)
        check_rows(reading.source, stats.get("rows", 0), stats.get("dropped", 0))
        scored.source = reading.source
        return scored

    def write_dataset(
        self,
        fn: Callable[..., Any],
        reading: Reading,
        parts: Sequence[Partition],
        output: DatasetOutput,
        names: list[str],
        *args: Any,
    ) -> dict[str, int]:
        """Pass 2 of ``grad`` / ``--reduction none``: one Parquet file per partition."""
        reading = replace(reading, source=replace(reading.source, files=None))  # sent to workers
        try:
            output.begin()
            shared = [fn, reading, output, names, *args]
            _, stats = settle(self.reduce(_write_part, parts, shared, _sum), reading.source)
            check_rows(reading.source, stats.get("rows", 0), stats.get("dropped", 0))
        except BaseException:
            output.abort()
            raise
        output.commit()
        return stats


def _check_address(address: str) -> None:
    """A malformed address is a usage error (a Client built on one hangs when collected)."""
    from distributed.comm import registry
    from distributed.comm.addressing import normalize_address, parse_address

    try:
        protocol, location = parse_address(normalize_address(address))
        if protocol != "inproc":
            registry.get_backend(protocol).get_address_host_port(location)
    except NotImplementedError:
        pass
    except ValueError as exc:
        raise UsageError(
            f"--scheduler {address}: not a scheduler address ({exc})",
            hint="give the address the scheduler prints, e.g. tcp://10.0.0.5:8786",
        ) from None


def _listing(path: str, probe: Source) -> Outcome:
    try:
        return Outcome([_row_groups(path, probe)])
    except LossCliError as exc:
        return Outcome(clean_error=exc, dirty_error=exc)


def _count_rows(path: str, probe: Source) -> Outcome:
    """The rows of one file of parts: the number its header states, else a read of its
    first column (as text, so that any cell counts)."""
    try:
        if dataset.empty_file(path):
            return Outcome([0])
        part = part_source(probe, path)
        header = read_header(part)
        if header.rows_hint is None:
            column = header.columns[0]
            batches = read_batches(part, header, [column], {column}, (column,))
            header.rows_hint = sum(batch.num_rows for batch in batches)
        return Outcome([header.rows_hint])
    except LossCliError as exc:
        return Outcome(clean_error=exc, dirty_error=exc)


def _write_part(
    part: Partition, fn: Callable[..., Any], reading: Reading, output: Any, names: list[str], *args
) -> Outcome:
    return _run(part, fn, reading, output.part(part.index), names, *args)


# ---- merging the values of neighbouring partitions (``combine``) ---------------------


def _merge_sums(a: list[GroupedSums], b: list[GroupedSums]) -> list[GroupedSums]:
    return [x.merge(y) for x, y in zip(a, b)]


def _merge_with_extras(a: tuple[list[Any], list[Any]], b: tuple[list[Any], list[Any]]) -> Any:
    """Sums and per-class/bootstrap extras of consecutive partitions (each numbered from
    its own first row in the dataset: no offset)."""
    extras = []
    for mine, theirs in zip(a[1], b[1]):
        merged = mine.fresh()
        merged.merge(mine)
        merged.merge(theirs)
        extras.append(merged)
    return _merge_sums(a[0], b[0]), extras


def _merge_gradients(a: list[Any], b: list[Any]) -> list[Any]:
    return [(oa.merge(ob), _merge_groups(ga, gb)) for (oa, ga), (ob, gb) in zip(a, b)]


def _merge_groups(
    a: dict[str, GradientStats], b: dict[str, GradientStats]
) -> dict[str, GradientStats]:
    out = dict(a)
    for name, stats in b.items():
        out[name] = out[name].merge(stats) if name in out else stats
    return out


def _merge_scored(a: Any, b: Any) -> Any:
    return a.merge(b)


def _concat(a: list[Any], b: list[Any]) -> list[Any]:
    return a + b


def _sum(a: int, b: int) -> int:
    return a + b


# ---- what eval, grad and compare call -------------------------------------------------


def _plan(engine: DaskEngine, reading: Reading, note: Callable[[str], None]) -> list[Partition]:
    parts = engine.partitions(reading.source)
    files = len({path for p in parts for path, _ in p.pieces})
    note(f"--engine dask: {len(parts)} partition(s) of {files} file(s) on {engine.where}")
    return parts


def evaluate(
    reading: Reading,
    scheduler: str | None,
    reduction: str,
    gradients: bool,
    note: Callable[[str], None],
    splits: Sequence[Any] | None = None,
    resample: bool = False,
) -> tuple[list[GroupedSums], dict[str, int], Any, Any]:
    """``eval``: (merged sums, row counts, per-class/bootstrap extras or None, gradient
    summaries or None)."""
    require_dataset(reading.source)
    with DaskEngine(scheduler) as engine:
        parts = _plan(engine, reading, note)
        sums, stats, extras = engine.accumulate(reading, parts, splits, resample)
        grads = engine.gradient_pass(reading, parts, sums, reduction) if gradients else None
    return sums, stats, extras, grads


def write_rows(
    reading: Reading, output: DatasetOutput, scheduler: str | None, note: Callable[[str], None]
) -> dict[str, int]:
    """``eval --reduction none``: per-row losses, one Parquet file per partition; a loss
    whose Lᵢ needs every row (``rows_need_sums``) first merges the partitions' sums."""
    require_dataset(reading.source)
    with DaskEngine(scheduler) as engine:
        parts = _plan(engine, reading, note)
        names = row_names(reading)
        if not rows_need_sums(reading):
            return engine.write_dataset(_write_rows, reading, parts, output, names)
        sums, stats, _ = engine.accumulate(reading, parts)
        engine.write_dataset(_write_rows, reading, parts, output, names, sums)
    return stats


def write_gradients(
    reading: Reading,
    output: DatasetOutput,
    scheduler: str | None,
    reduction: str,
    with_loss: bool,
    note: Callable[[str], None],
) -> dict[str, int]:
    """``grad``: pass 1 merges the sums, pass 2 writes one Parquet file per partition."""
    require_dataset(reading.source)
    with DaskEngine(scheduler) as engine:
        parts = _plan(engine, reading, note)
        sums, stats, _ = engine.accumulate(reading, parts)
        names = gradient_names(reading, with_loss)
        engine.write_dataset(
            _write_gradients, reading, parts, output, names, sums[0], reduction, with_loss
        )
    return stats


def score(readings: Sequence[Reading], scheduler: str | None, options: dict[str, Any]) -> list[Any]:
    """``compare``: each dataset's ``compare.Scored``, from its partitions' scores."""
    for reading in readings:
        require_dataset(reading.source)
    with DaskEngine(scheduler) as engine:
        return [engine.score(reading, **options) for reading in readings]


class DaskBackend:
    """``--engine dask`` behind the interface of ``backend.Backend``."""

    infers_while_reading = False  # the task is inferred before the partitions are planned

    def __init__(self, scheduler: str | None) -> None:
        self.scheduler = scheduler

    def row_output(self, output: str | None, fmt: str | None, what: str) -> DatasetOutput:
        if fmt not in (None, "parquet"):
            raise UsageError(
                f"--format {fmt}: --engine dask writes per-row output as a Parquet dataset",
                hint="drop --format; -o DIR receives one part-NNNNN.parquet file per partition",
            )
        if output is None:
            raise UsageError(
                "--engine dask writes per-row output as a Parquet dataset: give -o DIR",
                hint="one part-NNNNN.parquet file is written per partition",
            )
        return DatasetOutput(output)

    def evaluate(
        self,
        reading: Reading,
        *,
        reduction: str,
        gradients: bool,
        splits: Sequence[Any] | None,
        resampling: Any,
        note: Callable[[str], None],
        from_logits: bool | None,
        top: int = 0,
        report: bool = False,
    ) -> Evaluated:
        if report:
            raise UsageError("losscli report runs on the local engine", hint="drop --engine dask")
        if top:
            raise UsageError(
                "--top is not available with --engine dask yet",
                hint="run it with --engine local (the default), or use --reduction none -o DIR "
                "and sort the rows",
            )
        resample = resampling is not None
        sums, stats, extras, grads = evaluate(
            reading, self.scheduler, reduction, gradients, note, splits, resample
        )
        return Evaluated(sums, stats, extras, gradients=grads)

    def gradient_summaries(self, reading: Reading, evaluated: Any, reduction: str) -> Any:
        return evaluated.gradients  # computed in the evaluation's own tasks

    def write_rows(
        self,
        reading: Reading,
        target: DatasetOutput,
        note: Callable[[str], None],
        from_logits: bool | None,
    ) -> dict[str, int]:
        return write_rows(reading, target, self.scheduler, note)

    def write_gradients(
        self,
        reading: Reading,
        target: DatasetOutput,
        reduction: str,
        with_loss: bool,
        note: Callable[[str], None],
        from_logits: bool | None,
    ) -> dict[str, int]:
        return write_gradients(reading, target, self.scheduler, reduction, with_loss, note)

    def score(
        self,
        readings: Sequence[Reading],
        options: dict[str, Any],
        note: Callable[[str], None],
        from_logits: bool | None,
    ) -> list[Any]:
        return score(readings, self.scheduler, options)
