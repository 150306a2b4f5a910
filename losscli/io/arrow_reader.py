"""Feather and Arrow IPC files → pyarrow record batches, one stored batch at a time.

Both of Arrow's IPC formats are read: the file format (Feather v2, ``.arrow``/``.feather``,
starting with ``ARROW1``; memory-mapped, so a batch costs no copy until a column is
used) and the stream format (told by its first bytes, whatever the extension). A stored batch longer
than ``parquet_batch_rows`` is handed on in slices, as a Parquet file's batches are.
Feather v1 (before Arrow 0.17) is refused with a hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from losscli.errors import InputError
from losscli.io.parquet_reader import parquet_batch_rows
from losscli.io.sources import Header, Source, buffer_stdin

FILE_MAGIC = b"ARROW1"
FEATHER_V1_MAGIC = b"FEA1"


class _Reader:
    """An open IPC file or stream: ``schema``, ``rows`` (known for the file format) and
    its record batches in order."""

    def __init__(self, source: Source) -> None:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        self.name = source.name
        try:
            if source.path == "-":
                handle = pa.BufferReader(buffer_stdin(source).data)
            else:
                handle = pa.memory_map(source.path)
        except OSError as exc:
            raise InputError(f"{source.name}: cannot open: {exc}") from None
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(FEATHER_V1_MAGIC):
            raise InputError(
                f"{source.name}: a Feather v1 file (written before Arrow 0.17), which is not read",
                hint="write it again as Feather v2: pyarrow.feather.write_feather(table, path)",
            )
        try:
            if head.startswith(FILE_MAGIC):
                self._file = ipc.open_file(handle)
                self.schema = self._file.schema
                self.rows: int | None = self._file.count_rows()
            else:
                self._file = None
                self._stream = ipc.open_stream(handle)
                self.schema = self._stream.schema
                self.rows = None
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(
                f"{source.name}: not a readable Arrow IPC (Feather) file ({exc})",
                hint="give a file written by pyarrow.feather.write_feather or pyarrow.ipc",
            ) from None

    def batches(self) -> Iterator[Any]:
        import pyarrow as pa

        try:
            if self._file is not None:
                for i in range(self._file.num_record_batches):
                    yield self._file.get_record_batch(i)
            else:
                yield from self._stream
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{self.name}: cannot read the Arrow data: {exc}") from None


def arrow_header(source: Source) -> Header:
    """The schema's columns; text columns are the string and dictionary ones."""
    import pyarrow as pa

    reader = _Reader(source)
    text = {
        f.name
        for f in reader.schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_dictionary(f.type)
    }
    return Header(list(reader.schema.names), text, reader.rows)


def arrow_batches(source: Source, columns: list[str]) -> Iterator[Any]:
    """Record batches of ``columns``, each stored batch read when its turn comes."""
    reader = _Reader(source)
    missing = [c for c in columns if c not in reader.schema.names]
    if missing:
        raise InputError(f"{source.name}: missing column(s) {', '.join(missing)}")
    step = parquet_batch_rows(len(columns))
    for batch in reader.batches():
        batch = batch.select(columns)
        for start in range(0, batch.num_rows, step):
            yield batch.slice(start, step)
