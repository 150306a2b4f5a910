"""Any input → record batches and numpy columns: the entry point of the format readers.

``read_header`` and ``read_batches`` dispatch a ``Source`` to its format's reader
(``csv_reader``, ``parquet_reader``, ``jsonl_reader``, ``arrow_reader``), advancing the
progress bar (``losscli.io.progress``); a directory or glob of CSV, TSV, JSON Lines or
Arrow parts is read part after part as one table, and Hive partition columns
(``dataset.Partitions``) are added to each file's batches. ``float_column`` and
``text_column`` turn Arrow arrays into numpy. Columns are read as float64 unless they
are label, group or key columns, which are read as dictionary-encoded strings when the
first block shows text.
pandas is never imported here (pyarrow's to_numpy() and pa.array() would import
it): arrays become numpy through their buffers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError
from losscli.io.arrow_reader import arrow_batches, arrow_header
from losscli.io.csv_header import read_csv_header
from losscli.io.csv_ranges import count_lines
from losscli.io.csv_reader import physical_line, read_csv_batches
from losscli.io.dataset import empty_file, with_partition_columns
from losscli.io.frames import FORMAT as TABLE
from losscli.io.frames import table_batches, table_header
from losscli.io.jsonl_reader import jsonl_batches, jsonl_header
from losscli.io.parquet_reader import parquet_batches, parquet_header
from losscli.io.sources import Header, Source, drop_pending, part_source


def read_header(source: Source) -> Header:
    """Column names (and which look like text) without reading the whole input; a
    dataset's are its first file's and its partition columns."""
    if source.is_parts:
        first = part_source(source, _first_part(source))
        header = _file_header(first)
        drop_pending(first)
    else:
        header = _file_header(source)  # a Parquet dataset's listing finds its partitions
    return _with_partitions(source, header)


def where_row(source: Source, row: int) -> str:
    """Where input row ``row`` stands, for an error: `` (line 9)`` in a CSV/TSV file,
    `` (data/b.csv, row 3, line 5)`` in a dataset; "" in other formats and on streamed
    stdin. The line is the one the row starts on, found by reading the file again."""
    where = place(source, row)
    if where:
        return f" ({where})"
    line = physical_line(source, row) if source.is_text else None
    return f" (line {line})" if line else ""


def place(source: Source, row: int) -> str:
    """Which file of a dataset holds input row ``row``, and where in it (``data/b.csv,
    row 3, line 5``); "" for a single file or a row not yet read."""
    found = source.part_row(row)
    return "" if found is None else part_place(source, *found)


def part_place(source: Source, part: str, row: int) -> str:
    """Row ``row`` of the dataset's file ``part`` in words (``data/b.csv, row 3, line
    5``); the line is found by reading the file again (error reports only)."""
    line = None
    if source.is_text:
        part_file = part_source(source, part)
        _file_header(part_file)  # the part's own encoding, delimiter and quoted line breaks
        drop_pending(part_file)
        line = physical_line(part_file, row)
    return f"{part}, row {row}" + (f", line {line}" if line else "")


def expected_rows(source: Source, header: Header) -> int | None:
    """How many rows the input holds, told before they are read: the count a Parquet or
    Arrow file stores, or a plain CSV/TSV file's lines (``csv_ranges.count_lines``); None
    when that cannot be told without reading the rows. A CSV file's count is an estimate
    (blank lines): whoever relies on it checks it against the rows read.
    """
    if header.rows_hint is not None:
        return header.rows_hint
    return count_lines(source)


def _file_header(source: Source) -> Header:
    if source.fmt == "parquet":
        _refuse_csv_options(source)
        return parquet_header(source)
    if source.fmt == "jsonl":
        _refuse_csv_options(source)
        return jsonl_header(source)
    if source.fmt == TABLE:
        return table_header(source)
    if source.fmt == "arrow":
        _refuse_csv_options(source)
        return arrow_header(source)
    return read_csv_header(source)


def _first_part(source: Source) -> str:
    """The first file of a dataset's parts that is not empty (an empty part has no rows
    and no header to read; Spark writes such parts)."""
    first = next((f for f in source.files if not empty_file(f)), None)
    if first is None:
        raise InputError(f"{source.name}: every part is an empty file", hint="no rows to read")
    return first


def _with_partitions(source: Source, header: Header) -> Header:
    """The header with the dataset's Hive partition columns after the files' columns."""
    partitions = source.partitions
    if partitions is None:
        return header
    for name in partitions.names:
        if name in header.columns:
            raise InputError(
                f"{source.name}: column {name!r} is both in the files and a partition "
                f"folder ({name}=…)",
                hint="rename the folders or the column",
            )
    return Header(
        [*header.columns, *partitions.names],
        header.text_columns | partitions.text_names(),
        header.rows_hint,
        header.bool_columns,
    )


def _part_batches(
    source: Source,
    header: Header,
    columns: list[str],
    text_columns: set[str],
    as_read: Collection[str],
) -> Iterator[Any]:
    """The batches of a dataset's files, one file after the other. Each file's header
    must name the first file's columns (in any order); its cells are read as the first
    file's were (text, numbers or booleans). ``source.part_starts`` records where each
    file's rows start, so that errors can name the file and its row."""
    partition = set(source.partitions.names) if source.partitions else set()
    wanted = [c for c in columns if c not in partition]
    expected = [c for c in header.columns if c not in partition]
    row = source.row0
    source.part_starts.clear()
    for path in source.files:
        if empty_file(path):
            continue
        part = part_source(source, path)
        own = _file_header(part)
        if set(own.columns) != set(expected):
            missing = [c for c in expected if c not in own.columns]
            extra = [c for c in own.columns if c not in expected]
            differences = []
            if missing:
                differences.append("lacks " + ", ".join(missing))
            if extra:
                differences.append("has " + ", ".join(extra))
            what = " and ".join(differences)
            raise InputError(
                f"{path}: the part {what}; every part of {source.name} needs the columns "
                "of its first part",
                hint="give every part the same columns, "
                "or name the parts that have them with a glob",
            )
        own = Header(own.columns, header.text_columns, None, header.bool_columns)
        source.part_starts.append((row, path))
        for batch in read_batches(part, own, wanted, text_columns, as_read):
            row += batch.num_rows
            yield with_partition_columns(batch, source.partitions, path, columns)


def _refuse_csv_options(source: Source) -> None:
    """--delimiter and --decimal describe CSV text: refuse them for another format."""
    if source.csv_options_given:
        flag = "--delimiter" if source.delimiter is not None else "--decimal"
        kind = {"parquet": "Parquet", "jsonl": "JSON Lines", "arrow": "Arrow"}[source.fmt]
        raise UsageError(f"{flag} applies to CSV input; {source.name} is read as {kind}")


def prefetch(batches: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``batches`` read ahead by a thread: Arrow decodes the next batches (without the
    GIL) while the caller computes on this one. Same batches, same order; errors are
    raised where they occur in the sequence; at most ``depth`` batches wait.
    """
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put((batch, None)):
                    return
            put((end, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))

    reader = threading.Thread(target=read, name="losscli-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            batch, exc = ready.get()
            if exc is not None:
                raise exc
            if batch is end:
                return
            yield batch
    finally:
        stop.set()
        reader.join()


def read_batches(
    source: Source,
    header: Header,
    columns: list[str],
    text_columns: set[str],
    as_read: Collection[str] = (),
) -> Iterator[Any]:
    """Record batches holding ``columns``: numbers as float64, text as dictionary strings;
    ``as_read`` columns (``--keep``) of JSON Lines in their own type (a Parquet column
    always has its own; a CSV one is text).

    While a progress bar may be shown (``losscli.io.progress``), reading advances it.
    """
    from losscli.io import progress

    if source.is_parts:
        yield from _part_batches(source, header, columns, text_columns, as_read)
        return
    label = Path(source.name).name or source.name  # the file name; the path is known
    # The parallel parts of one file (split_row_groups) share its one bar.
    whole = (source.path, source.part.partition("/")[2]) if source.part else None
    if source.fmt == "parquet":
        text = [c for c in columns if c in text_columns and c in header.text_columns]
        batches = prefetch(parquet_batches(source, columns, text))
        # the whole input's rows; a partition of a dataset otherwise counts rows only
        total = header.rows_hint if source.pieces is None or whole else None
        yield from progress.track(batches, label, total=total, whole=whole)
    elif source.fmt == "jsonl":
        yield from progress.track(jsonl_batches(source, columns, text_columns, as_read), label)
    elif source.fmt == TABLE:  # a table in memory: nothing to wait for
        yield from table_batches(source, columns, text_columns, as_read)
    elif source.fmt == "arrow":
        total = header.rows_hint
        yield from progress.track(arrow_batches(source, columns), label, total=total)
    else:
        yield from read_csv_batches(source, header, columns, text_columns, label)


# ---- arrow → numpy, without pandas -------------------------------------------------


def _validity(arr: Any) -> np.ndarray | None:
    """Boolean mask of non-null slots, or None when there are no nulls."""
    if arr.null_count == 0:
        return None
    bitmap = arr.buffers()[0]
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + len(arr)].astype(bool)


def float_column(arr: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(float64 values, null mask or None); zero-copy for float64 input."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    valid = _validity(arr)
    nulls = None if valid is None else ~valid
    if pa.types.is_float64(arr.type):
        values = np.frombuffer(
            arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8
        )
        return values, nulls
    if pa.types.is_dictionary(arr.type) or pa.types.is_string(arr.type):
        raise InputError("holds text where numbers are needed")
    if pa.types.is_integer(arr.type) or pa.types.is_float32(arr.type):
        # Widened by numpy: Array.cast would import pyarrow.compute (~30 ms at start-up).
        kind = (
            "f" if pa.types.is_float32(arr.type) else "iu"[pa.types.is_unsigned_integer(arr.type)]
        )
        dtype = np.dtype(f"{kind}{arr.type.bit_width // 8}")
        raw = np.frombuffer(
            arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize
        )
        return raw.astype(np.float64), nulls
    try:
        arr = arr.cast(pa.float64())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        raise InputError(f"holds {arr.type} values, not numbers") from None  # dates, lists
    values = np.frombuffer(
        arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8
    )
    return values, nulls


def text_column(arr: Any) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """(codes int32, categories, null mask or None) of a dictionary/string/number column."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_dictionary(arr.type):
        if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
            values, nulls = float_column(arr)
            uniq, codes = np.unique(values, return_inverse=True)
            cats = [str(int(u)) if float(u).is_integer() else repr(float(u)) for u in uniq]
            return codes.astype(np.int32), cats, nulls
        if pa.types.is_nested(arr.type):
            raise InputError(f"holds {arr.type} values, not labels")
        arr = arr.cast(pa.string()).dictionary_encode()
    indices = arr.indices
    if not pa.types.is_int32(indices.type):
        indices = indices.cast(pa.int32())
    codes = np.frombuffer(
        indices.buffers()[1], dtype=np.int32, count=len(indices), offset=indices.offset * 4
    )
    valid = _validity(indices)
    return codes, [str(x) for x in arr.dictionary.to_pylist()], None if valid is None else ~valid
