"""Parquet files and datasets → pyarrow record batches.

Opens each file on pyarrow's lean reader (``LeanParquetFile``: no ``pyarrow.parquet``
import), reads its schema and row count (``parquet_header``), its batches of about
``PARQUET_BATCH_BYTES``, and cuts a large local input into runs of row groups read in
parallel (``split_row_groups``). Which files a directory, glob or URL holds is
``losscli.io.dataset``'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from losscli.errors import InputError
from losscli.io import dataset
from losscli.io.sources import Header, Source, buffer_stdin

PARQUET_BATCH = 1 << 16  # rows per batch at most
PARQUET_BATCH_BYTES = 1 << 20  # ... and about this many bytes of float64 per batch
PARQUET_READ_BUFFER = 1 << 16  # bytes read at a time from a Parquet column chunk


def parquet_files(source: Source) -> list[str]:
    """The Parquet files of a source, in row order (a dataset's listing, cached)."""
    if source.pieces is not None:
        return list(dict.fromkeys(path for path, _ in source.pieces))
    if source.path == "-":
        return ["-"]
    if source.files is None:
        source.files, source.filesystem = dataset.parquet_files(source.path)
        root = dataset.filesystem(source.path)[1] if source.filesystem is not None else None
        source.partitions = dataset.hive_partitions(source.path, source.files, root)
    return source.files


def parquet_file(source: Source, path: str, dictionary: Sequence[str] = ()) -> Any:
    """One Parquet file of the source, opened for reading (metadata read, data not yet).

    String columns named in ``dictionary`` are read as dictionary arrays, as the text
    columns need them (encoding them afterwards would import pyarrow.compute).
    """
    import pyarrow as pa

    kept = list(dictionary) or None
    try:
        if source.path == "-":
            return _open_parquet(pa.BufferReader(buffer_stdin(source).data), kept, 0)
        where = path if source.filesystem is None else source.filesystem.open(path, "rb")
        # Buffered reads stream a column chunk instead of holding all of it in memory.
        return _open_parquet(where, kept, PARQUET_READ_BUFFER)
    except Exception as exc:
        raise InputError(
            f"{path if path != '-' else '<stdin>'}: not a readable Parquet file ({exc})"
        ) from None


def _open_parquet(where: Any, dictionary: list[str] | None, buffer_size: int) -> Any:
    """A ``LeanParquetFile``, or pyarrow's ``ParquetFile`` if its reader has changed."""
    try:
        return LeanParquetFile(where, dictionary, buffer_size)
    except (ImportError, AttributeError, TypeError):
        import pyarrow.parquet as pq

        return pq.ParquetFile(
            where, pre_buffer=False, buffer_size=buffer_size, read_dictionary=dictionary
        )


class LeanParquetFile:
    """The part of ``pyarrow.parquet.ParquetFile`` that reading needs, on its reader.

    ``import pyarrow.parquet`` also imports ``pyarrow.fs`` and its cloud filesystems
    (about 30 ms warm, far more when their libraries are not in the page cache);
    the reader underneath, ``pyarrow._parquet.ParquetReader``, needs none of that
    for a local path, stdin's bytes or an open file. Flat columns only, as the CLI
    reads; ``iter_batches`` and ``close`` mirror ``ParquetFile``'s.
    """

    def __init__(self, where: Any, dictionary: list[str] | None, buffer_size: int) -> None:
        from pyarrow._parquet import ParquetReader

        self._close_source = not hasattr(where, "read")
        self.reader = ParquetReader()
        self.reader.open(
            where,
            use_memory_map=False,
            buffer_size=buffer_size,
            pre_buffer=False,
            read_dictionary=dictionary,
        )
        self._index = {path[0]: i for i, path in enumerate(self.reader.column_paths)}

    @property
    def metadata(self) -> Any:
        return self.reader.metadata

    @property
    def schema_arrow(self) -> Any:
        return self.reader.schema_arrow

    def iter_batches(
        self, batch_size: int, columns: Sequence[str], row_groups: Sequence[int] | None = None
    ) -> Iterator[Any]:
        if row_groups is None:
            row_groups = range(self.reader.num_row_groups)
        indices = [self._index[c] for c in columns]
        return self.reader.iter_batches(
            batch_size, row_groups=row_groups, column_indices=indices, use_threads=True
        )

    def close(self, force: bool = False) -> None:
        if self._close_source or force:
            self.reader.close()


def parquet_header(source: Source) -> Header:
    import pyarrow as pa

    files = parquet_files(source)
    first = parquet_file(source, files[0])
    schema = first.schema_arrow
    rows = first.metadata.num_rows
    if len(files) > 1:  # a remote dataset's row count would cost a request per file
        local = source.filesystem is None and source.pieces is None
        rows = sum(parquet_file(source, f).metadata.num_rows for f in files) if local else None
    text = {
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_dictionary(f.type)
    }
    return Header(list(schema.names), text, rows)


def parquet_batch_rows(columns: int) -> int:
    """Rows per Parquet batch: ``PARQUET_BATCH_BYTES`` of float64 over the columns read,
    a power of two between 4096 and ``PARQUET_BATCH`` (64Ki rows of 2 columns, 8Ki of 11).

    Wide files (K class columns) then hold a few MiB per batch, not tens, in the reader
    and in the loss's n×K intermediates.
    """
    rows = PARQUET_BATCH_BYTES // (8 * max(columns, 1))
    return max(min(4096, PARQUET_BATCH), min(PARQUET_BATCH, 1 << (rows.bit_length() - 1)))


def parquet_batches(source: Source, columns: list[str], text: Sequence[str] = ()) -> Iterator[Any]:
    """The batches of the source's files (or pieces), with their Hive partition columns;
    ``source.part_starts`` records where each file's rows start (for errors)."""
    pieces = source.pieces or tuple((path, None) for path in parquet_files(source))
    partition = set(source.partitions.names) if source.partitions else set()
    wanted = [c for c in columns if c not in partition]
    row = source.row0
    source.part_starts.clear()
    for path, row_groups in pieces:
        pf = parquet_file(source, path, [c for c in text if c not in partition])
        missing = [c for c in wanted if c not in pf.schema_arrow.names]
        if missing:
            raise InputError(
                f"{path}: missing column(s) {', '.join(missing)} (other files of the dataset have them)"
            )
        if len(pieces) > 1 or source.partitions is not None:
            meta = pf.metadata
            before = sum(meta.row_group(i).num_rows for i in range(min(row_groups or [0])))
            source.part_starts.append((row - before, path))
        try:
            for batch in pf.iter_batches(
                batch_size=parquet_batch_rows(len(columns)), columns=wanted, row_groups=row_groups
            ):
                row += batch.num_rows
                yield dataset.with_partition_columns(batch, source.partitions, path, columns)
        finally:
            pf.close(force=source.filesystem is not None)  # the fsspec file is ours to close


#: Parquet inputs with at least this many rows are read in parallel runs of row groups
PARALLEL_MIN_ROWS = 1 << 20


def split_row_groups(source: Source, parts: int, rows: int | None = None) -> list[Source] | None:
    """A local Parquet file (or directory) cut into ``parts`` runs of whole row groups
    with about equal rows, each numbered from its first row; None when it cannot be
    (fewer row groups than parts, under ``PARALLEL_MIN_ROWS`` rows, stdin, a URL, or a
    source that is already a dataset partition). ``rows``, the header's count when
    known, spares opening the files of a small input again.
    """
    if parts < 2 or source.fmt != "parquet" or source.path == "-" or source.pieces is not None:
        return None
    if rows is not None and rows < PARALLEL_MIN_ROWS:
        return None
    files = parquet_files(source)
    if source.filesystem is not None:
        return None
    groups: list[tuple[str, int, int]] = []  # (file, row group, rows)
    for path in files:
        pf = parquet_file(source, path)
        meta = pf.metadata
        groups += [(path, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]
        pf.close()
    total = sum(rows for _, _, rows in groups)
    if len(groups) < parts or total < PARALLEL_MIN_ROWS:
        return None
    out, start, row0 = [], 0, 0
    for k in range(parts):
        end, rows = start, 0
        goal = (total - row0) / (parts - k)
        while end < len(groups) - (parts - k - 1) and (rows < goal or end == start):
            rows += groups[end][2]
            end += 1
        if k == parts - 1:
            end, rows = len(groups), sum(g[2] for g in groups[start:])
        pieces: dict[str, list[int]] = {}
        for path, i, _ in groups[start:end]:
            pieces.setdefault(path, []).append(i)
        out.append(
            Source(
                source.path,
                source.fmt,
                pieces=tuple((path, tuple(rgs)) for path, rgs in pieces.items()),
                row0=row0,
                files=source.files,
                part=f"{k + 1}/{parts}",
            )
        )
        start, row0 = end, row0 + rows
    return out
