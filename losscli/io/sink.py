"""Per-row output: CSV to stdout or a file, Parquet to a file, written atomically.

A CSV or JSON Lines file named ``.gz``, ``.bz2`` or ``.zst`` (``out.csv.gz``) is
compressed by that suffix, as an input of that name is read (``io.sources.COMPRESSION``),
and so is a summary (``write_text_atomic``).

Numbers are written at full precision (shortest round-trip repr). A file is
written to a temporary name beside the target and renamed into place only when
complete, so a failed or interrupted run never leaves a partial or clobbered file.
Every file written gets the mode a shell's ``>`` would give it: a new file what the
umask allows (0644 under umask 022), a replaced file the mode it had (``temporary``).
Batches are formatted and written by a thread of their own (``BackgroundWriter``)
while the next ones are read and computed.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError


def check_writable(path: str) -> None:
    """Fail before any work when ``-o`` cannot be written."""
    if not path:
        raise UsageError("-o is empty: give a file name, or - for stdout")
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InputError(f"cannot write -o {path}: it is a directory")
    if not parent.is_dir():
        raise InputError(f"cannot write -o {path}: no such directory {str(parent)!r}")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InputError(f"cannot write -o {path}: permission denied")


def temporary(path: str) -> tuple[int, str]:
    """A new, open temporary file beside ``path`` (its descriptor and name) to be renamed
    over it, with the mode ``path`` will then have: that of the file it replaces, or what
    the umask gives a new file. (``tempfile.mkstemp`` would make every output 0600.)
    """
    import secrets

    target = Path(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        mode = None  # a new file
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp"))
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:
            continue
    if mode is not None:
        try:
            os.chmod(tmp, mode)
        except OSError:
            os.close(fd)
            os.unlink(tmp)
            raise
    return fd, tmp


def output_compression(path: str | None) -> str | None:
    """The codec an output file's last suffix names (``out.csv.zst``: zstd), or None."""
    from losscli.io.sources import COMPRESSION

    return COMPRESSION.get(Path(path).suffix.lower()) if path is not None else None


def plain_suffix(path: str) -> str:
    """The suffix that names a file's format, under a compression suffix (``.csv`` of
    ``out.csv.gz``), lower-case."""
    name = Path(path)
    if output_compression(path) is not None:
        name = name.with_suffix("")
    return name.suffix.lower()


def output_format(path: str | None) -> str:
    """The format of a per-row output file by its name, under a compression suffix."""
    if path is None:
        return "csv"
    suffix = plain_suffix(path)
    if output_compression(path) is not None and suffix in (".parquet", ".pq"):
        raise UsageError(
            f"cannot write -o {path}: Parquet compresses its own columns",
            hint=f"name it {Path(path).with_suffix('')}",
        )
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ""):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise UsageError(
        f"cannot tell the output format of -o {path}",
        hint="use a .csv, .jsonl (JSON Lines: one object per row) or .parquet file name",
    )


def compressed_file(path: str, codec: str) -> Any:
    """A new Arrow output file at ``path`` that compresses what is written with ``codec``
    (closing it completes and closes the file).

    gzip is written at level 6, the gzip command's default, by zlib (which lets go of the
    GIL as it compresses): Arrow's gzip stream is fixed at level 9, as small but twice as
    slow. The header holds no name or time, so one input gives the same bytes each run.
    bz2 and zstd are Arrow's streams.
    """
    import pyarrow as pa

    if codec == "gzip":
        return pa.PythonFile(_GzipFile(path), mode="w")
    return pa.CompressedOutputStream(pa.OSFile(path, "wb"), codec)


class _GzipFile:
    """The writing end of a gzip file at ``path`` (level 6), as ``pa.PythonFile`` wraps it."""

    def __init__(self, path: str) -> None:
        import zlib

        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 16 + 15: gzip framing
        self.closed = False

    def write(self, data: Any) -> int:
        self._file.write(self._deflate.compress(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._file.write(self._deflate.flush())
            finally:
                self._file.close()


def _strings(names: list[str]) -> Any:
    """A pyarrow string array built from its buffers (pa.array() would import pandas)."""
    import pyarrow as pa

    encoded = [n.encode() for n in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def _arrow(values: Any) -> Any:
    """A pyarrow array over a numpy buffer; (codes, names) pairs become text."""
    import pyarrow as pa

    if isinstance(values, tuple):  # a text column as dictionary codes and names
        codes, names = values
        indices = pa.Array.from_buffers(
            pa.int32(),
            len(codes),
            [None, pa.py_buffer(np.ascontiguousarray(codes, dtype=np.int32))],
        )
        return pa.DictionaryArray.from_arrays(indices, _strings(names)).cast(pa.string())
    if isinstance(values, (pa.Array, pa.ChunkedArray)):  # a column carried as read (--keep)
        return values

    values = np.ascontiguousarray(values)
    kind = pa.int64() if values.dtype.kind in "iu" else pa.float64()
    values = values.astype(np.int64 if kind == pa.int64() else np.float64, copy=False)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def parquet_options(schema: Any) -> dict[str, Any]:
    """How per-row output is written to Parquet: zstd, as polars writes by default, with
    the floats plain-encoded (no dictionary) and the integers (the row numbers)
    delta-encoded; text and other columns keep a dictionary.

    A gradient or Lᵢ column has as many distinct values as rows, so a dictionary only
    costs the time to build it and give it up; the row numbers 0, 1, 2, … delta-encode to
    almost nothing. Min/max statistics are kept. The values read back are the same.
    """
    import pyarrow as pa

    floats = [f.name for f in schema if pa.types.is_floating(f.type)]
    integers = [f.name for f in schema if pa.types.is_integer(f.type)]
    others = [f.name for f in schema if f.name not in floats and f.name not in integers]
    options: dict[str, Any] = {"compression": "zstd", "use_dictionary": others}
    if integers and len(set(schema.names)) == len(schema.names):
        options["column_encoding"] = dict.fromkeys(integers, "DELTA_BINARY_PACKED")
    return options


class BackgroundWriter:
    """Calls ``write(item)`` for each item put, in order, on a thread of its own.

    At most ``depth`` items wait, so memory stays a few batches whatever the file.
    Arrow formats and writes CSV and Parquet without the GIL, so on two cores the
    writing of one batch overlaps the reading and computing of the next. An error in
    ``write`` is raised again by the next ``put`` or by ``finish``.
    """

    def __init__(self, write: Callable[[Any], None], depth: int = 2) -> None:
        import queue
        import threading

        self._queue: Any = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(write,), name="losscli-writer", daemon=True
        )
        self._thread.start()

    def _run(self, write: Callable[[Any], None]) -> None:
        failed = False
        while (item := self._queue.get()) is not None:
            if not failed:  # after an error nothing more is written; drain so put never blocks
                try:
                    write(item)
                except BaseException as exc:  # handed to the caller's thread
                    self._error, failed = exc, True

    def put(self, item: Any) -> None:
        self._raise()
        self._queue.put(item)

    def finish(self, *, raise_error: bool = True) -> None:
        """Wait until every item is written; raise the first error unless told not to."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if raise_error:
            self._raise()

    def _raise(self) -> None:
        # The error stays: every later put raises it too (the writer thread only sets it).
        if self._error is not None:
            raise self._error


class CsvRowsWriter:
    """Writes record batches as CSV rows (no header), a large batch formatted in slices on
    two threads at once and written in order.

    Arrow formats a slice without the GIL, so on two cores the numbers of one half of a
    batch are formatted while the other's are; a slice's rows are the rows the whole batch
    would give (a CSV row depends on its own cells only), so the bytes are the same as one
    ``CSVWriter``'s.
    """

    SLICE = 1 << 15  # rows: a smaller batch is formatted in one go

    def __init__(self, file: Any) -> None:
        import pyarrow.csv as pcsv

        self._file = file
        self._options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
        self._pool: Any = None

    def _format(self, batch: Any) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        sink = pa.BufferOutputStream()
        pcsv.write_csv(batch, sink, write_options=self._options)
        return sink.getvalue()

    def write_batch(self, batch: Any) -> None:
        n = batch.num_rows
        if n < self.SLICE:
            self._file.write(self._format(batch))
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(2, thread_name_prefix="losscli-csv")
        half = n // 2
        slices = [batch.slice(0, half), batch.slice(half)]
        for text in self._pool.map(self._format, slices):
            self._file.write(text)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class JsonLinesWriter:
    """Writes record batches as JSON Lines: one object per row, keys in column order.

    Floats are written at full precision (shortest round-trip repr); a non-finite value,
    which JSON has no number for, is the string "Infinity", "-Infinity" or "NaN", as in
    the summary JSON documents.
    """

    def __init__(self, file: Any) -> None:
        self._file = file

    def write_batch(self, batch: Any) -> None:
        import json

        import pyarrow as pa

        rows = batch.to_pylist()
        floats = [i for i, f in enumerate(batch.schema) if pa.types.is_floating(f.type)]
        finite = all(
            np.isfinite(batch.column(i).to_numpy(zero_copy_only=False)).all() for i in floats
        )
        if not finite:
            rows = [
                {k: finite_json(v) if isinstance(v, float) else v for k, v in r.items()}
                for r in rows
            ]
        text = "".join(
            json.dumps(r, ensure_ascii=False, allow_nan=False, default=json_cell) + "\n"
            for r in rows
        )
        self._file.write(text.encode())

    def close(self) -> None:
        pass


def json_cell(value: Any) -> Any:
    """A cell as JSON holds it (``--keep`` columns): str, int, float, bool and None as they
    are; a date or time in ISO 8601; anything else (a decimal, bytes) as its text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def finite_json(data: Any) -> Any:
    """``data`` with each infinite or NaN float as the string ``"Infinity"``, ``"-Infinity"``
    or ``"NaN"`` (as protobuf's JSON mapping writes them).

    JSON has no such numbers, and Python's ``Infinity`` token is refused by jq and
    ``JSON.parse``. A string keeps which one it was (``null`` would not), and
    ``float()``, ``Number()`` and ``pandas.to_numeric`` read it back.
    """
    if isinstance(data, float):
        if data != data:
            return "NaN"
        if data in (float("inf"), float("-inf")):
            return "Infinity" if data > 0 else "-Infinity"
        return data
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


class RowSink:
    """Writes batches of columns to stdout (CSV, JSON Lines) or to ``path`` (CSV, JSON Lines
    or Parquet); ``fmt`` (csv, jsonl, parquet) overrides the format ``path``'s name gives."""

    def __init__(self, path: str | None, columns: Sequence[str], fmt: str | None = None) -> None:
        self.path = path
        self.columns = list(columns)
        self.fmt = fmt or output_format(path)
        self.compression = output_compression(path)
        self._tmp: str | None = None
        self._writer: Any = None
        if path is not None:
            check_writable(path)
            fd, self._tmp = temporary(path)
            os.close(fd)  # Arrow opens it again by name
        self._file: Any = None
        self._background: BackgroundWriter | None = None

    def _open(self, batch: Any) -> None:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(
                self._tmp, batch.schema, **parquet_options(batch.schema)
            )
            return
        import pyarrow as pa

        # A native file: Arrow writes it without taking the GIL.
        if self.compression is not None and self._tmp:
            self._file = compressed_file(self._tmp, self.compression)
        else:
            self._file = pa.OSFile(self._tmp, "wb") if self._tmp else sys.stdout.buffer
        if self.fmt == "jsonl":
            self._writer = JsonLinesWriter(self._file)
            return
        self._file.write((",".join(self.columns) + "\n").encode())
        self._writer = CsvRowsWriter(self._file)

    def write(self, arrays: Sequence[np.ndarray]) -> None:
        import pyarrow as pa

        batch = pa.RecordBatch.from_arrays([_arrow(a) for a in arrays], names=self.columns)
        if self._writer is None:
            self._open(batch)
            self._background = BackgroundWriter(self._writer.write_batch)
        self._background.put(batch)

    def __enter__(self) -> RowSink:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Complete the output on success; on any failure leave the target as it was."""
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def close(self) -> None:
        try:
            self._complete()
        except BaseException:
            self.abort()
            raise

    def _complete(self) -> None:
        if self._writer is None:  # no rows: still write the header (or an empty table)
            self.write([np.zeros(0) for _ in self.columns])
        if self._background is not None:
            self._background.finish()
        self._writer.close()
        if self._file is not None and self._tmp is None:
            self._file.flush()
        elif self._file is not None:
            self._file.close()
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        try:
            if self._background is not None:
                self._background.finish(raise_error=False)
            if self._writer is not None:  # Parquet's, or the CSV writer's threads
                self._writer.close()
            if self._file is not None and self._tmp is not None:
                self._file.close()
        except Exception:
            pass
        if self._tmp is not None and os.path.exists(self._tmp):
            os.unlink(self._tmp)
        self._tmp = None


class TableSink:
    """Per-row output kept in memory as one Arrow table (the Python API's frames): the
    same columns and numbers ``RowSink`` writes to a file. ``open`` names the columns;
    ``table`` is set once every batch is written."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self._batches: list[Any] = []
        self.table: Any = None

    def open(self, columns: Sequence[str]) -> TableSink:
        self.columns, self._batches, self.table = list(columns), [], None
        return self

    def write(self, arrays: Sequence[np.ndarray]) -> None:
        import pyarrow as pa

        arrays = [_arrow(a) for a in arrays]
        self._batches.append(pa.RecordBatch.from_arrays(arrays, names=self.columns))

    def __enter__(self) -> TableSink:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        import pyarrow as pa

        if exc_type is None:
            if not self._batches:  # no rows: the columns, empty
                self.write([np.zeros(0) for _ in self.columns])
            self.table = pa.Table.from_batches(self._batches)
        self._batches = []


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; compressed when the
    name ends in .gz, .bz2 or .zst (``summary.json.gz``)."""
    check_writable(path)
    fd, tmp = temporary(path)
    try:
        codec = output_compression(path)
        if codec is None:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            os.close(fd)
            with compressed_file(tmp, codec) as out:
                out.write(text.encode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (images from ``plot``)."""
    check_writable(path)
    fd, tmp = temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
