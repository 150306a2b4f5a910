"""CSV/TSV rows → pyarrow record batches, and Arrow's CSV errors explained.

Reads the whole input (a large plain file through ``csv_ranges.OrderedChunks``) in
blocks of ``CSV_BLOCK``: numbers as float64, text columns as dictionary strings, True/False as
booleans. An error that a larger block or ``newlines_in_values`` cures is read again;
any other names its line, column and value.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from typing import Any

from losscli.errors import InputError, shown
from losscli.io import csv_ranges
from losscli.io.csv_header import BOOLEANS, NULL_VALUES, field_delimiter
from losscli.io.sources import (
    Header,
    Prefixed,
    Source,
    drop_pending,
    open_stream,
    take_stream,
)
from losscli.io.stream_tail import StreamTail

CSV_BLOCK = 1 << 20  # larger blocks raise memory for no speed


def read_csv_batches(
    source: Source, header: Header, columns: list[str], text_columns: set[str], label: str
) -> Iterator[Any]:
    """The batches of a CSV/TSV source, advancing its progress bar ``label``."""
    from losscli.io import progress

    if csv_ranges.chunkable(source):
        import pyarrow as pa

        drop_pending(source)  # the chunks are read with pread
        chunks = csv_ranges.OrderedChunks(source)
        batches = chunks.batches(
            lambda data: _parse_chunk(source, header, columns, text_columns, data),
            lambda raw, skip: _csv_batches(source, header, columns, text_columns, raw, skip),
        )
        try:
            yield from progress.track(
                batches, label, total=chunks.size, unit="bytes", position=chunks.tell
            )
        except pa.ArrowInvalid as exc:  # a chunk's error, explained once, here
            raise _explain_csv_error(source, header, columns, text_columns, str(exc)) from None
    elif source.path != "-" and source.compression is None and os.path.isfile(source.path):
        size = os.path.getsize(source.path)
        lead = csv_ranges.ReadLead(csv_ranges.CSV_READ_LEAD)
        with csv_ranges.RangeFile(source.path, 0, size, lead=lead) as stream:
            batches = lead.count(_csv_batches(source, header, columns, text_columns, stream))
            yield from progress.track(
                batches, label, total=size, unit="bytes", position=stream.tell
            )
    elif source.streamed:  # its last blocks kept, to find a bad row (stream_tail)
        head, stream = take_stream(source)
        lead = csv_ranges.ReadLead(csv_ranges.CSV_READ_LEAD)
        source.tail = StreamTail(head, stream, lead)
        batches = _csv_batches(source, header, columns, text_columns, source.tail)
        yield from progress.track(lead.count(batches), label)
    else:
        yield from progress.track(_csv_batches(source, header, columns, text_columns), label)


def _column_types(header: Header, columns: list[str], text_columns: set[str]) -> dict[str, Any]:
    """How each read column is converted: text as dictionary strings, True/False as
    booleans, anything else as float64."""
    import pyarrow as pa

    return {
        c: (
            pa.dictionary(pa.int32(), pa.string())
            if c in text_columns
            else pa.bool_()
            if c in header.bool_columns
            else pa.float64()
        )
        for c in columns
    }


def _parse_chunk(
    source: Source,
    header: Header,
    columns: list[str],
    text_columns: set[str],
    data: bytes,
) -> list[Any]:
    """The record batches of ``data``, whole lines from past the header (``OrderedChunks``),
    parsed on the calling thread; Arrow's error is explained by the reader that takes them."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = _column_types(header, columns, text_columns)
    table = pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(
            block_size=len(data) + 1, column_names=header.columns, use_threads=False
        ),
        parse_options=pcsv.ParseOptions(delimiter=field_delimiter(source)),
        convert_options=_convert_options(source, types, columns),
    )
    return table.to_batches(max_chunksize=csv_ranges.CSV_CHUNK_ROWS)


def _convert_options(source: Source, types: dict[str, Any], columns: list[str]) -> Any:
    import pyarrow.csv as pcsv

    return pcsv.ConvertOptions(
        column_types=types,
        include_columns=columns,
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        decimal_point=source.decimal,
        **BOOLEANS,
    )


def _csv_batches(
    source: Source,
    header: Header,
    columns: list[str],
    text_columns: set[str],
    raw: Any = None,
    skip: int = 0,
) -> Iterator[Any]:
    """The batches of the input (read through ``raw`` when given), less the first ``skip``
    rows."""
    import pyarrow as pa

    types = _column_types(header, columns, text_columns)
    data: Any
    if raw is not None:  # its reads hand Arrow each block (a file's range, stdin's tail)
        drop_pending(source)
        data = raw
    else:
        head, stream = take_stream(source)
        if source.path != "-" and source.compression is None:
            if hasattr(stream, "close"):
                stream.close()
            data = source.path
        else:
            data = io.BufferedReader(Prefixed(head, stream), buffer_size=CSV_BLOCK)
    block = CSV_BLOCK
    handed = skip  # rows handed on: a read started again skips them
    while True:
        try:
            skip = handed
            for batch in _open_csv(source, header, data, types, columns, block):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                if skip:
                    batch, skip = batch.slice(skip), 0
                handed += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as exc:
            larger = _csv_retry(source, str(exc), block)
            if larger is None:
                raise _explain_csv_error(source, header, columns, text_columns, str(exc)) from None
            block, data = larger, _csv_reopen(source, raw)


def _open_csv(
    source: Source, header: Header, data: Any, types: dict, columns: list[str], block: int
) -> Any:
    import pyarrow.csv as pcsv

    # Our cleaned names replace the header row, which is skipped as a row (quotes and all).
    return pcsv.open_csv(
        data,
        read_options=pcsv.ReadOptions(
            block_size=block,
            column_names=header.columns,
            skip_rows_after_names=1,
            use_threads=True,  # Arrow's threads parse while Python computes
            encoding=source.encoding,
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=field_delimiter(source), newlines_in_values=source.newlines_in_values
        ),
        convert_options=_convert_options(source, types, columns),
    )


#: the largest read block tried for a row longer than the usual block
CSV_MAX_BLOCK = 1 << 28


def _csv_retry(source: Source, message: str, block: int) -> int | None:
    """The block size to read the file again with, when Arrow's error calls for it:
    a quoted field holding a line break past the first block (read with
    ``newlines_in_values``), or a row longer than a block (a larger block).
    None when the error stands (or the input cannot be read again).
    """
    # Out of sync, or a row read from inside a quoted field: a quoted line break.
    synced = ("out of sync with chunker" in message or "Expected" in message) and (
        not source.newlines_in_values
    )
    straddles = "straddles" in message and block < CSV_MAX_BLOCK
    if source.streamed:
        return None  # stdin cannot be read again
    if synced:
        source.newlines_in_values = True
        return block
    return min(block * 16, CSV_MAX_BLOCK) if straddles else None


def _csv_reopen(source: Source, raw: Any) -> Any:
    """The input from its first byte, for another read (the last one's stream is dropped)."""
    if isinstance(raw, csv_ranges.RangeFile):
        again = csv_ranges.RangeFile(source.path, 0, os.path.getsize(source.path))
        raw.follow(again)  # the progress bar follows the new read
        return again
    if source.path != "-" and source.compression is None:
        return source.path
    return io.BufferedReader(Prefixed(b"", open_stream(source)), buffer_size=CSV_BLOCK)


def _explain_csv_error(
    source: Source, header: Header, columns: list[str], text: set[str], message: str
) -> InputError:
    """Turn pyarrow's CSV error into one that names the line, column and value."""
    if "Expected" in message and "columns" in message:
        line, got = _find_ragged_line(source, len(header.columns), message)
        where = f" at line {line}" if line else ""
        if line is None:  # stdin's row is no longer kept: pyarrow's count and the row
            import re

            m = re.search(r"got (\d+): (.*)", message)
            if m:
                got, where = int(m.group(1)), f" {shown(m.group(2))}"
        return InputError(
            f"{source.name}: ragged CSV row{where}: {got} field{'' if got == 1 else 's'} where "
            f"the header has {len(header.columns)}",
            hint="every row needs one value per header column (quote fields that contain the delimiter)",
        )
    if "conversion error" in message:
        import re

        m = re.search(r"column #(\d+).*invalid value '(.*)'", message)
        named = m is not None and int(m.group(1)) < len(header.columns)
        if source.streamed:  # found among stdin's last blocks, or not at all
            bad = (
                _non_numeric_in_tail(source, header, int(m.group(1)), m.group(2)) if named else None
            )
        else:
            bad = _find_non_numeric(source, header, [c for c in columns if c not in text])
        if bad is None and named:  # name the column from pyarrow's message
            return InputError(
                f"{source.name}: column {header.columns[int(m.group(1))]!r}: {shown(m.group(2))} is not a number",
                hint=_number_hint(source, m.group(2))
                or "fix or remove the cell; save stdin to a file to have the row reported",
            )
        if bad:
            column, row, line, value = bad
            where = f"row {row} (line {line})" if row is not None else f"line {line}"
            return InputError(
                f"{source.name}: column {column!r}, {where}: {shown(value)} is not a number",
                hint=_number_hint(source, value)
                or "fix or remove the cell (empty cells count as missing; see --dropna)",
            )
    if "out of sync with chunker" in message or "straddles" in message:
        return _multiline_error(source, message)
    if "invalid UTF8" in message:
        return _not_utf8(source, header, message)
    return InputError(f"{source.name}: cannot parse: {shown(message.splitlines()[0], 200)}")


def _not_utf8(source: Source, header: Header, message: str) -> InputError:
    """A text cell that is not UTF-8 (a Latin-1 file saved by Excel): its column, and the
    first line that does not decode (found by reading the input again, or among stdin's
    kept lines)."""
    import contextlib
    import re

    m = re.search(r"column #(\d+)", message)
    index = int(m.group(1)) if m else None
    where = (
        f"column {header.columns[index]!r}"
        if index is not None and index < len(header.columns)
        else ""
    )
    line = None
    with contextlib.ExitStack() as stack:
        if source.streamed:
            lines: Any = source.tail.lines() if source.tail is not None else ()
        else:
            stream = stack.enter_context(io.BufferedReader(Prefixed(b"", open_stream(source))))
            lines = enumerate(stream, start=1)
        for number, data in lines:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line, bad = number, data[exc.start]
                break
    at = f"line {line}" if line is not None else ""
    place = ", ".join(p for p in (where, at) if p)
    byte = f" (byte 0x{bad:02x})" if line is not None else ""
    return InputError(
        f"{source.name}: {place + ': ' if place else ''}the text is not UTF-8{byte}",
        hint="save the file as UTF-8 (Excel: 'CSV UTF-8'; pandas: to_csv(..., encoding='utf-8')), "
        "or convert it: iconv -f latin1 -t utf-8",
    )


def _number_hint(source: Source, value: str) -> str | None:
    """A hint for a number written with a decimal comma (0,25) read with a '.' mark."""
    import re

    if source.decimal == "." and re.fullmatch(r"\s*[-+]?\d*,\d+\s*", value):
        if source.delimiter == ",":
            return (
                "numbers with decimal commas need another delimiter: --delimiter ';' --decimal ','"
            )
        return "numbers with decimal commas: add --decimal ','"
    if source.decimal == "," and re.fullmatch(r"\s*[-+]?\d*\.\d+([eE][-+]?\d+)?\s*", value):
        return (
            "--decimal ',' reads numbers such as 0,25; this file writes 0.25: leave --decimal out"
        )
    return None


def _multiline_error(source: Source, message: str) -> InputError:
    """A row Arrow could not read in blocks: stdin read once, or a row over 256 MiB."""
    if "straddles" in message:
        what = f"a row is longer than {CSV_MAX_BLOCK >> 20} MiB, or a quote is never closed"
        if source.path == "-":
            what = f"a row is longer than {CSV_BLOCK >> 20} MiB"
    else:
        what = "a quoted field holds a line break"
    fix = "save the input to a file and read that" if source.path == "-" else "check its quotes"
    return InputError(f"{source.name}: cannot read the CSV rows: {what}", hint=fix)


def _records(source: Source) -> Iterator[tuple[int, list[str]]]:
    """(the line each record starts on, its fields): the input's CSV records read again
    from the start, the header first; blank lines, which Arrow skips and which hold no
    row, are left out, and a line break inside a quoted field counts (error reports only)."""
    text = io.TextIOWrapper(
        io.BufferedReader(Prefixed(b"", open_stream(source))),
        encoding="utf-8-sig" if source.encoding == "utf-8" else source.encoding,
        errors="replace",  # a stray byte must not hide the error being explained
        newline="",
    )
    reader = csv.reader(text, delimiter=field_delimiter(source))
    start = 1
    for record in reader:
        if record:
            yield start, record
        start = reader.line_num + 1


def _data_rows(source: Source) -> Iterator[tuple[int, int, list[str]]]:
    """(row, line, fields) of each data row: rows counted from 0 as the passes count them."""
    records = _records(source)
    next(records, None)  # the header
    for row, (line, record) in enumerate(records):
        yield row, line, record


def physical_line(source: Source, row: int) -> int | None:
    """The line of a CSV/TSV file on which data row ``row`` starts, counting blank lines
    and line breaks in quoted fields, found by reading the file again (error reports
    only); None when it cannot be read again (streamed stdin) or has no such row.

    A UTF-8 file is scanned as bytes (a row is a line that is not blank, the header the
    first) up to a line that this would miscount; any other with Python's csv module."""
    if source.streamed:
        return None
    if source.encoding == "utf-8" and not source.newlines_in_values:
        try:
            return _line_by_bytes(source, row)
        except _NeedsCsvModule:
            pass  # Python's csv module counts those lines
    for number, line, _ in _data_rows(source):
        if number == row:
            return line
    return None


def _line_by_bytes(source: Source, row: int) -> int | None:
    """``physical_line`` by counting lines: data row ``row`` is the (row + 2)th line that
    is not blank (empty or a lone "\\r"; Arrow skips those), the header the first. Raises
    ``_NeedsCsvModule`` at a line that ends in "\\r" alone or holds an odd count of quotes
    (a quoted field goes on to the next line), which counting "\\n" would miscount."""
    import numpy as np

    wanted = row + 2
    seen = 0  # lines that are not blank, in the blocks before
    lines = 0  # lines ended in the blocks before
    carry, carry_first = 0, -1  # bytes (and the first) of the line the last block ended in
    carry_quotes, after_return = 0, False  # its quotes; whether the last byte was "\r"
    with io.BufferedReader(Prefixed(b"", open_stream(source))) as stream:
        while block := stream.read(CSV_BLOCK):
            data = np.frombuffer(block, np.uint8)
            returns = np.flatnonzero(data[:-1] == 13)
            lone = len(returns) and (data[returns + 1] != 10).any()
            if lone or (after_return and data[0] != 10):
                raise _NeedsCsvModule
            after_return = bool(data[-1] == 13)
            ends = np.flatnonzero(data == 10)
            quotes = np.flatnonzero(data == 34)
            if not len(ends):
                carry_first = carry_first if carry else int(data[0])
                carry += len(block)
                carry_quotes += len(quotes)
                continue
            in_line = np.diff(np.searchsorted(quotes, ends), prepend=0)
            in_line[0] += carry_quotes
            if (in_line % 2).any():
                raise _NeedsCsvModule
            starts = np.concatenate(([0], ends[:-1] + 1))
            length = ends - starts
            first = data[np.minimum(starts, len(data) - 1)].astype(np.int64)
            if carry:
                length[0] += carry
                first[0] = carry_first
            full = (length > 1) | ((length == 1) & (first != 13))
            counts = seen + np.cumsum(full)
            hit = int(np.searchsorted(counts, wanted))
            if hit < len(counts):
                return lines + hit + 1
            seen, lines = int(counts[-1]), lines + len(ends)
            carry = len(block) - int(ends[-1]) - 1
            carry_first = int(data[ends[-1] + 1]) if carry else -1
            carry_quotes = len(quotes) - int(np.searchsorted(quotes, ends[-1]))
    last_full = carry > 1 or (carry == 1 and carry_first != 13)
    return lines + 1 if last_full and seen + 1 == wanted else None


class _NeedsCsvModule(Exception):
    """A line ends in "\\r" alone, or a quoted field holds a line break: lines that
    counting "\\n" would miscount."""


def _find_ragged_line(source: Source, width: int, message: str) -> tuple[int | None, int]:
    """(line, fields) of the first row whose field count is not ``width``; on streamed
    stdin, the kept line that is the row Arrow's ``message`` quotes (None, 0: not kept)."""
    if source.streamed:
        import re

        m = re.search(r"got \d+: (.*)", message, re.S)
        for line, record in _tail_records(source, m.group(1) if m else None):
            if len(record) != width:
                return line, len(record)
        return None, 0
    for line, record in _records(source):
        if len(record) != width:
            return line, len(record)
    return None, 0


def _tail_records(source: Source, holding: str | None) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of the lines kept of streamed stdin (``io.stream_tail``) that hold
    the text ``holding`` (the header's line left out); a UTF-8 input only."""
    tail = source.tail
    if tail is None or holding is None or source.encoding != "utf-8":
        return
    wanted = holding.encode("utf-8", "surrogateescape")
    for line, data in tail.lines():
        if line > 1 and wanted in data:
            text = data.decode("utf-8", "replace")
            yield line, next(csv.reader([text], delimiter=field_delimiter(source)), [])


def _non_numeric_in_tail(
    source: Source, header: Header, index: int, value: str
) -> tuple[str, int | None, int, str] | None:
    """``_find_non_numeric`` on streamed stdin: the first kept line whose field ``index``
    is ``value`` (Arrow's message names both), and its row where ``StreamTail`` knows it."""
    for line, record in _tail_records(source, value):
        if index < len(record) and record[index] == value:
            return header.columns[index], source.tail.row_of(line), line, value
    return None


def _find_non_numeric(
    source: Source, header: Header, numeric: list[str]
) -> tuple[str, int, int, str] | None:
    """(column, row, line, cell) of the first cell of ``numeric`` that is not a number."""
    if source.streamed:
        return None
    index = {c: header.columns.index(c) for c in numeric}
    for row, line, record in _data_rows(source):
        for column, i in index.items():
            cell = record[i] if i < len(record) else ""
            if cell in NULL_VALUES or cell.strip() == "":
                continue
            try:
                if source.decimal == "," and "." in cell:
                    raise ValueError  # Arrow reads decimal commas only
                float(cell.replace(",", ".") if source.decimal == "," else cell.replace("_", "x"))
            except ValueError:
                return column, row, line, cell
    return None
