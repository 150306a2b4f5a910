"""Input: a path or '-' → pyarrow record batches, without ever loading the file whole.

CSV/TSV (optionally .gz/.bz2/.zst), Parquet files or datasets (a directory, a
glob or an fsspec URL: ``losscli.io.dataset``), JSON Lines and stdin. Columns are
read as float64 unless they are label, group or key columns, which are read as
dictionary-encoded strings when the first block shows text.
pandas is never imported here (pyarrow's to_numpy() and pa.array() would import
it): arrays become numpy through their buffers.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError, shown
from losscli.io import dataset, input_options

CSV_BLOCK = 1 << 20  # larger blocks raise memory for no speed
# Each of the parallel range readers (split_lines) parses blocks of about this many rows,
# between these sizes: small blocks hold little memory, too small ones cost per batch.
CSV_RANGE_ROWS = 16384
CSV_RANGE_BLOCK = (1 << 17, 1 << 20)
CSV_READ_LEAD = 8  # blocks read ahead of the batches taken (ReadLead)
PARQUET_BATCH = 1 << 16  # rows per batch at most
PARQUET_BATCH_BYTES = 1 << 20  # ... and about this many bytes of float64 per batch
PARQUET_READ_BUFFER = 1 << 16  # bytes read at a time from a Parquet column chunk
SNIFF_BYTES = 1 << 20
FORMATS = ("csv", "tsv", "parquet", "jsonl")
COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}


@dataclass
class Source:
    """Where the rows come from and how to parse them."""

    path: str  # as the user wrote it ('-' for stdin)
    fmt: str
    compression: str | None = None
    data: bytes | None = None  # stdin, buffered (Parquet, or a second pass)
    pending: Any = None  # (first bytes, open stream) left by read_header for read_batches
    # Parquet only. A dataset partition reads these (file, row groups) pieces instead of
    # the whole path, and numbers its first row ``row0``; ``filesystem`` is the fsspec
    # filesystem of a URL; ``files`` caches the dataset's listing.
    pieces: tuple[tuple[str, tuple[int, ...] | None], ...] | None = None
    row0: int = 0
    filesystem: Any = None
    files: list[str] | None = None
    # CSV/TSV only: a slice of whole lines (split_lines) and the watch its ranges share.
    byte_range: tuple[int, int] | None = None  # a slice of lines of a CSV file (split_lines)
    block_size: int = 0  # the range readers' block size
    watch: Any = None  # the RangeWatch shared by the ranges of one file
    part: str = ""  # "1/2": which of the parallel parts this is (for the progress bar)
    # CSV/TSV only: the field delimiter (None until sniffed from the header line) and the
    # decimal mark; by default those of --delimiter and --decimal (losscli.io.input_options).
    delimiter: str | None = None
    decimal: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter is None:
            self.delimiter = input_options.current.delimiter
        if self.decimal is None:
            self.decimal = input_options.current.decimal

    # CSV/TSV only, set by read_header: the text encoding (from a byte-order mark) and
    # whether a quoted field holds a line break (Arrow's newlines_in_values, slower).
    encoding: str = "utf-8"
    newlines_in_values: bool = False

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    @property
    def is_text(self) -> bool:
        return self.fmt in ("csv", "tsv")


def detect_format(path: str, input_format: str | None = None) -> Source:
    """The format from ``--input-format`` or the extension (stdin defaults to CSV)."""
    if input_format is not None:
        fmt = (
            input_format.lower()
            .replace("ndjson", "jsonl")
            .replace("json", "jsonl")
            .replace("jsonll", "jsonl")
        )
        if fmt == "pq":
            fmt = "parquet"
        if fmt not in FORMATS:
            raise UsageError(
                f"unknown --input-format {input_format!r}", hint=f"use one of {', '.join(FORMATS)}"
            )
    if path == "-":
        return Source(path, input_format and fmt or "csv")
    p = Path(path)
    if dataset.is_url(path) or (dataset.has_glob(path) and not p.exists()):
        if (input_format is not None and fmt != "parquet") or not _parquet_like(path):
            raise InputError(
                f"{path}: a URL or a glob is read as a Parquet dataset; other formats need a local file",
                hint="name Parquet files (.parquet, .pq) or a directory of them",
            )
        return Source(path, "parquet")
    if not p.exists():
        raise InputError(f"{path}: no such file or directory")
    if p.is_dir():
        if input_format not in (None, "parquet"):
            raise InputError(
                f"{path} is a directory; only a directory of Parquet files can be read"
            )
        return Source(path, "parquet")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    suffixes = [s.lower() for s in p.suffixes]
    compression = COMPRESSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    if input_format is not None:
        return Source(path, fmt, compression)
    ext = suffixes[-1] if suffixes else ""
    by_ext = {
        ".csv": "csv",
        ".txt": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
    }
    if ext not in by_ext:
        raise InputError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}",
            hint="use --input-format csv|tsv|parquet|jsonl",
        )
    if by_ext[ext] == "parquet" and compression:
        raise InputError(
            f"{path}: a compressed Parquet file is not supported (Parquet compresses itself)"
        )
    return Source(path, by_ext[ext], compression)


def _parquet_like(path: str) -> bool:
    """A path that names Parquet files, or a directory-like prefix (no known other format)."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    others = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".json", *COMPRESSION)
    return not name.endswith(others)


class _Prefixed(io.RawIOBase):
    """A stream that replays already-read bytes, then continues with the rest."""

    def __init__(self, prefix: bytes, rest: Any) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _open_stream(source: Source) -> Any:
    """A binary stream of the (decompressed) bytes."""
    import pyarrow as pa

    if source.data is not None:
        return io.BytesIO(source.data)
    if source.path == "-":
        return sys.stdin.buffer
    try:
        return pa.input_stream(source.path, compression=source.compression)
    except OSError as exc:
        raise InputError(f"{source.name}: cannot open: {exc}") from None


def buffer_stdin(source: Source) -> Source:
    """Read stdin whole (Parquet needs random access; a second pass needs a replay)."""
    if source.path == "-" and source.data is None:
        source.data = sys.stdin.buffer.read()
    return source


def _text_prefix(source: Source) -> tuple[bytes, Any]:
    """The first ~1 MiB up to a line end (for the header and type sniffing) and the stream."""
    stream = _open_stream(source)
    try:
        head = stream.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{source.name}: cannot read: {exc}") from None
    head = bytes(head)
    if not head.strip():
        raise InputError(f"{source.name}: the file is empty")
    _refuse_binary(source, head)
    return head, stream


# What the first bytes of a file that is not text say it is, and what to do about it.
MAGIC = (
    (b"\x1f\x8b", "gzip data", "name it .csv.gz or pipe it through gunzip"),
    (b"BZh", "bzip2 data", "name it .csv.bz2 or pipe it through bunzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd data", "name it .csv.zst or pipe it through unzstd"),
    (b"PAR1", "a Parquet file", "name it .parquet, or give --input-format parquet"),
    (
        b"PK\x03\x04",
        "a zip archive (or an Excel .xlsx workbook)",
        "unzip it, or save the sheet as CSV",
    ),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook", "save the sheet as CSV"),
)


def _refuse_binary(source: Source, head: bytes) -> None:
    """A text input that is compressed, Parquet or other binary data: one clear error
    saying what it looks like (its bytes are never echoed)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM: text
        return
    kind = fix = None
    for magic, what, how in MAGIC:
        if head.startswith(magic):
            kind, fix = what, how
            break
    else:
        sample = head[:4096]
        text = sample.decode("utf-8", errors="replace")
        for order, zeros in (("LE", sample[1::2]), ("BE", sample[::2])):
            if len(sample) >= 8 and zeros.count(0) == len(zeros):
                raise InputError(
                    f"{source.name}: this looks like UTF-16 text without a byte-order mark",
                    hint=f"save it as UTF-8, e.g. iconv -f UTF-16{order} -t UTF-8",
                )
        odd = text.count("\ufffd") + sum(
            text.count(chr(b)) for b in (*range(9), 11, 12, *range(14, 32))
        )
        if "\0" in text or (odd >= 16 and odd > len(text) // 10):
            kind, fix = "binary data", "give a CSV, TSV, Parquet or JSON Lines file"
    if kind is not None:
        what = "a text" if source.fmt in ("csv", "tsv", "jsonl") else "an"
        raise InputError(
            f"{source.name}: this looks like {kind}, not {what} {source.fmt.upper()} file "
            f"(it starts with {repr(head[:8])[1:]})",
            hint=fix,
        )


def _delimiter(source: Source) -> str:
    if source.delimiter is not None:
        return source.delimiter
    return "\t" if source.fmt == "tsv" else ","


def sniff_delimiter(line: str) -> str:
    """The delimiter of a CSV header line: of ``,`` ``;`` tab ``|``, the one that splits
    it into the most fields (quoted names may hold any of them); a comma on a tie."""
    fields = {d: len(next(csv.reader([line], delimiter=d), [])) for d in input_options.DELIMITERS}
    return max(input_options.DELIMITERS, key=lambda d: (fields[d], d == ","))


def _check_dialect(source: Source, first: str) -> None:
    """Settle the source's delimiter (sniffed unless given) and check it with the decimal mark."""
    given = source.delimiter is not None
    if not given:
        source.delimiter = "\t" if source.fmt == "tsv" else sniff_delimiter(first)
    if source.delimiter == source.decimal:
        raise UsageError(
            f"{source.name}: the delimiter {source.delimiter!r} is also the decimal mark",
            hint="decimal commas need another delimiter, such as ';'",
        )
    if given:
        names = next(csv.reader([first], delimiter=source.delimiter), [])
        others = [d for d in input_options.DELIMITERS if d != source.delimiter]
        seen = next((d for d in others if len(names) == 1 and d in names[0]), None)
        if seen is not None:
            raise InputError(
                f"{source.name}: the header line is one column {shown(names[0])} "
                f"when split at {source.delimiter!r}",
                hint=f"the file looks {seen!r}-separated: use --delimiter {_spelled(seen)} "
                "(or leave it out to have it sniffed)",
            )


def _spelled(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _options_apply(source: Source) -> None:
    """--delimiter and --decimal describe CSV text: refuse them for another format."""
    opts = input_options.current
    if opts.delimiter is not None or opts.decimal != ".":
        flag = "--delimiter" if opts.delimiter is not None else "--decimal"
        kind = {"parquet": "Parquet", "jsonl": "JSON Lines"}[source.fmt]
        raise UsageError(f"{flag} applies to CSV input; {source.name} is read as {kind}")


@dataclass
class Header:
    """The columns of a source and, for text formats, which ones hold text."""

    columns: list[str]
    text_columns: set[str]
    rows_hint: int | None = None  # exact row count when the format stores it
    bool_columns: set[str] = field(default_factory=set)  # CSV True/False columns


def read_header(source: Source) -> Header:
    """Column names (and which look like text) without reading the whole input."""
    if source.fmt == "parquet":
        _options_apply(source)
        return _parquet_header(source)
    if source.fmt == "jsonl":
        _options_apply(source)
        return _jsonl_header(source)
    head, stream = _text_prefix(source)
    source.pending = (head, stream)  # reused by read_batches: stdin can be read once
    head_text = _decode_head(source, head)
    first = head_text.splitlines()[0] if head_text else ""
    _check_dialect(source, first)
    columns = _header_names(source, head_text)
    if all(c.startswith("unnamed_") for c in columns):
        raise InputError(f"{source.name}: no header line with column names")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise InputError(f"{source.name}: duplicate column name(s) {', '.join(dupes)}")
    text, flags = _sniff_text_columns(source, head_text, columns)
    return Header(columns, text, bool_columns=flags)


#: What pandas' read_csv reads as missing by default (its ``na_values``): Arrow's own
#: list less nothing, plus ``None`` and ``<NA>``. Such cells count as missing (see --dropna).
NULL_VALUES = [
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
    *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
]

#: byte-order marks read as the encoding they mark (UTF-32's before UTF-16's: it starts alike)
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _decode_head(source: Source, head: bytes) -> str:
    """The first block as text, in the encoding its byte-order mark names (else UTF-8)."""
    import codecs

    source.encoding = next((enc for bom, enc in BOMS if head.startswith(bom)), "utf-8")
    codec = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    # Incremental: a character cut at the end of the block is left out, not replaced.
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(head)


def _header_names(source: Source, head_text: str) -> list[str]:
    """The header row's names, which may be quoted and hold line breaks (Excel's Alt+Enter).

    Sets ``source.newlines_in_values`` (Arrow's reader then tracks quotes across lines)
    when a quoted field of the first block holds a line break, and for streamed stdin.
    """
    import re

    rows = csv.reader(io.StringIO(head_text, newline=""), delimiter=_delimiter(source))
    names = next(rows, [])
    header_end = rows.line_num  # physical lines the header row took
    # Streamed stdin cannot be read again, should a quoted line break turn up later.
    streamed = source.path == "-" and source.data is None
    if header_end > 1 or streamed or _quoted_line_break(head_text):
        source.newlines_in_values = True
    # Names are read as written, less surrounding spaces and with a line break inside a
    # name read as one space; unnamed columns get a placeholder.
    names = [re.sub(r"\s*[\r\n]+\s*", " ", c.strip()) for c in names]
    return [c or f"unnamed_{i}" for i, c in enumerate(names)]


def _quoted_line_break(text: str) -> bool:
    """Whether a quoted field in ``text`` spans lines: a line with an odd count of quotes
    opens or closes one (a quote inside a quoted field is doubled, so counts stay even)."""
    if '"' not in text:
        return False
    lines = text.splitlines()[:-1]  # the last line may be cut short
    return any(line.count('"') % 2 for line in lines)


def _sniff_sample(source: Source, head_text: str) -> bytes:
    """Whole rows of the first block as UTF-8, for Arrow's type inference."""
    cut = head_text.rfind("\n")
    if source.newlines_in_values:  # back off to a line end outside any quoted field
        odd = head_text.count('"', 0, max(cut, 0)) % 2
        while cut > 0 and odd:
            before = head_text.rfind("\n", 0, cut)
            odd ^= head_text.count('"', max(before, 0), cut) % 2
            cut = before
    return (head_text if cut < 0 else head_text[: cut + 1]).encode("utf-8")


def _sniff_text_columns(
    source: Source, head_text: str, columns: list[str]
) -> tuple[set[str], set[str]]:
    """Columns whose cells in the first block are not all numbers, and those that are
    True/False (read as 1/0, as Parquet's booleans are)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(
            pa.BufferReader(_sniff_sample(source, head_text)),
            read_options=pcsv.ReadOptions(column_names=columns, skip_rows_after_names=1),
            parse_options=pcsv.ParseOptions(
                delimiter=_delimiter(source), newlines_in_values=source.newlines_in_values
            ),
            convert_options=pcsv.ConvertOptions(
                strings_can_be_null=True,
                null_values=NULL_VALUES,
                decimal_point=source.decimal,
                **BOOLEANS,
            ),
        )
    except Exception:  # a ragged or odd first block: the real read reports it precisely
        return set(), set()
    text = {
        f.name
        for f in table.schema
        if not (
            pa.types.is_integer(f.type)
            or pa.types.is_floating(f.type)
            or pa.types.is_null(f.type)
            or pa.types.is_boolean(f.type)
        )
    }
    return text, {f.name for f in table.schema if pa.types.is_boolean(f.type)}


#: the spellings of CSV booleans (pandas writes True/False); 0/1 stay numbers
BOOLEANS = {
    "true_values": ["True", "true", "TRUE"],
    "false_values": ["False", "false", "FALSE"],
}


def parquet_files(source: Source) -> list[str]:
    """The Parquet files of a source, in row order (a dataset's listing, cached)."""
    if source.pieces is not None:
        return list(dict.fromkeys(path for path, _ in source.pieces))
    if source.path == "-":
        return ["-"]
    if source.files is None:
        source.files, source.filesystem = dataset.parquet_files(source.path)
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


def _parquet_header(source: Source) -> Header:
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


def _jsonl_header(source: Source) -> Header:
    import json

    head, stream = _text_prefix(source)
    source.pending = (head, stream)
    line = head.decode("utf-8-sig", errors="replace").splitlines()[0]
    try:
        record = json.loads(line)
    except ValueError:
        raise InputError(f"{source.name}: line 1 is not a JSON object") from None
    if not isinstance(record, dict):
        raise InputError(f"{source.name}: line 1 is not a JSON object")
    text = {k for k, v in record.items() if isinstance(v, str)}
    return Header(list(record), text)


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
    source: Source, header: Header, columns: list[str], text_columns: set[str]
) -> Iterator[Any]:
    """Record batches holding ``columns``: numbers as float64, text as dictionary strings.

    While a progress bar may be shown (``losscli.io.progress``), reading advances it.
    """
    from losscli.io import progress

    label = Path(source.name).name or source.name  # the file name; the path is known
    # The parallel parts of one file (split_lines, split_row_groups) share its one bar.
    whole = (source.path, source.part.partition("/")[2]) if source.part else None
    if source.fmt == "parquet":
        text = [c for c in columns if c in text_columns and c in header.text_columns]
        batches = prefetch(_parquet_batches(source, columns, text))
        # the whole input's rows; a partition of a dataset otherwise counts rows only
        total = header.rows_hint if source.pieces is None or whole else None
        yield from progress.track(batches, label, total=total, whole=whole)
    elif source.fmt == "jsonl":
        yield from progress.track(_jsonl_batches(source, columns, text_columns), label)
    elif source.byte_range is not None:
        start, end = source.byte_range
        lead = ReadLead(CSV_READ_LEAD)
        with _RangeFile(source.path, start, end, source.watch, lead) as stream:
            batches = lead.count(_csv_batches(source, header, columns, text_columns, stream))
            total = os.path.getsize(source.path) if whole else end - start
            yield from progress.track(
                batches, label, total=total, unit="bytes", position=stream.tell, whole=whole
            )
    elif source.path != "-" and source.compression is None and os.path.isfile(source.path):
        size = os.path.getsize(source.path)
        lead = ReadLead(CSV_READ_LEAD)
        with _RangeFile(source.path, 0, size, lead=lead) as stream:
            batches = lead.count(_csv_batches(source, header, columns, text_columns, stream))
            yield from progress.track(
                batches, label, total=size, unit="bytes", position=stream.tell
            )
    else:
        yield from progress.track(_csv_batches(source, header, columns, text_columns), label)


class ReadLead:
    """Keeps Arrow's CSV reader at most ``lead`` blocks ahead of the batches taken from it.

    Arrow's streaming CSV reader reads up to 32 blocks ahead of its parser on a
    background thread, so two range readers of 512 KiB blocks hold 32 MiB of text
    that nobody is parsing yet. The file object waits in ``before_read`` until the
    consumer has taken enough batches (``taken``): one batch per block, and Arrow
    needs the next block to finish a batch, so a lead of a few blocks never stalls
    it. Should a wait ever last ``patience`` seconds, the limit is dropped for good.
    """

    def __init__(self, lead: int, patience: float = 0.5) -> None:
        import threading

        self.lead, self.patience = lead, patience
        self._reads = self._taken = 0
        self._moved = threading.Condition()

    def before_read(self) -> None:
        with self._moved:
            if self.lead and self._reads - self._taken >= self.lead:
                room = self._moved.wait_for(
                    lambda: self._reads - self._taken < self.lead, timeout=self.patience
                )
                if not room:
                    self.lead = 0  # something else holds the parser: stop limiting
            self._reads += 1

    def taken(self) -> None:
        with self._moved:
            self._taken += 1
            self._moved.notify_all()

    def count(self, batches: Iterator[Any]) -> Iterator[Any]:
        """``batches``, each counted as taken when it is handed on."""
        for batch in batches:
            self.taken()
            yield batch


class _RangeFile(io.RawIOBase):
    """Bytes ``start``..``end`` of a file, read with pread (the GIL is released meanwhile)."""

    def __init__(
        self, path: str, start: int, end: int, watch: Any = None, lead: ReadLead | None = None
    ) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._start, self._pos, self._end = start, start, end
        self._watch = watch
        self._lead = lead
        self._header = start == 0  # the header line may quote its names
        self._next: _RangeFile | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes, as one new ``bytes`` (Arrow keeps it as the block)."""
        left = self._end - self._pos
        n = left if size is None or size < 0 else min(size, left)
        if n <= 0:
            return b""
        if self._lead is not None:
            self._lead.before_read()
        chunk = os.pread(self._fd, n, self._pos)
        if self._watch is not None:
            body = chunk
            if self._header:
                body = chunk[chunk.find(b"\n") + 1 :] if b"\n" in chunk else b""
                self._header = b"\n" not in chunk
            if b'"' in body:  # a quoted field may hold a newline: the cut is unsafe
                self._watch.quoted = True
                return b""  # stop here; the caller reads the file again, whole
        self._pos += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def tell(self) -> int:
        if self._next is not None:
            return self._next.tell()
        return self._pos - self._start

    def follow(self, other: _RangeFile) -> None:
        """Report ``other``'s position from now on (the file is being read again)."""
        self._next = other

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


#: files at least this large are parsed in parallel byte ranges (split_lines)
PARALLEL_MIN_BYTES = 64 << 20


class RangeWatch:
    """Set when a range reader met a quote character: the ranges must be read again."""

    quoted = False


def split_lines(source: Source, parts: int) -> list[Source] | None:
    """The file cut into ``parts`` ranges of whole lines, or None when it cannot be.

    Each range is parsed by its own reader in its own thread. A cut after a newline
    is a row boundary unless the newline sits inside a quoted field, so the readers
    watch for quote characters (past the header line): one quote anywhere and the
    ranges' results are dropped for a serial read (``RangeWatch`` on the sources).
    Only plain CSV/TSV files of at least ``PARALLEL_MIN_BYTES`` are cut.
    """
    if (
        parts < 2
        or source.fmt not in ("csv", "tsv")
        or source.path == "-"
        or source.compression is not None
        or source.encoding != "utf-8"  # a cut after b"\n" may split a UTF-16 character
        or source.newlines_in_values  # quoted line breaks: the cuts are unsafe
        or not hasattr(os, "pread")
    ):
        return None
    try:
        size = os.path.getsize(source.path)
        if size < PARALLEL_MIN_BYTES:
            return None
        cuts = [0]
        with open(source.path, "rb") as f:
            head = f.read(1 << 16)
            per_row = len(head) / max(head.count(b"\n"), 1)
            for i in range(1, parts):
                f.seek(size * i // parts)
                f.readline()  # to the end of the line the cut falls in
                at = f.tell()
                if at <= cuts[-1] or at >= size:
                    return None
                cuts.append(at)
    except OSError:
        return None
    cuts.append(size)
    watch = RangeWatch()
    lo, hi = CSV_RANGE_BLOCK
    block = min(hi, max(lo, 1 << int(CSV_RANGE_ROWS * per_row).bit_length() - 1))
    return [
        Source(
            source.path,
            source.fmt,
            byte_range=(a, b),
            watch=watch,
            block_size=block,
            part=f"{i}/{parts}",
            delimiter=source.delimiter,
            decimal=source.decimal,
        )
        for i, (a, b) in enumerate(zip(cuts, cuts[1:]), start=1)
    ]


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


def _take_stream(source: Source) -> tuple[bytes, Any]:
    pending = source.pending
    source.pending = None
    return pending if pending is not None else _text_prefix(source)


def _csv_batches(
    source: Source, header: Header, columns: list[str], text_columns: set[str], raw: Any = None
) -> Iterator[Any]:
    import pyarrow as pa

    types = {
        c: (
            pa.dictionary(pa.int32(), pa.string())
            if c in text_columns
            else pa.bool_()
            if c in header.bool_columns
            else pa.float64()
        )
        for c in columns
    }
    if source.byte_range is not None:  # lines from the middle of the file: no header
        data: Any = raw  # its reads hand Arrow each block without a copy
    else:
        head, stream = _take_stream(source)
        if source.path != "-" and source.compression is None:
            if hasattr(stream, "close"):
                stream.close()
            data = source.path if raw is None else raw
        else:
            data = io.BufferedReader(_Prefixed(head, stream), buffer_size=CSV_BLOCK)
    block = source.block_size if source.byte_range else CSV_BLOCK
    handed = 0  # rows handed on: a read started again skips them
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
            if source.watch is not None and source.watch.quoted:
                # A range cut short at a quote: void, read again whole by the caller
                # (explaining the error would scan the whole file for nothing).
                raise InputError(f"{source.name}: a quoted field may span the cut") from None
            larger = _csv_retry(source, str(exc), block)
            if larger is None:
                raise _explain_csv_error(source, header, columns, text_columns, str(exc)) from None
            block, data = larger, _csv_reopen(source, raw)


def _open_csv(
    source: Source, header: Header, data: Any, types: dict, columns: list[str], block: int
) -> Any:
    import pyarrow.csv as pcsv

    # Our cleaned names replace the header row, which is skipped as a row (quotes and all).
    skip = 1 if source.byte_range is None or source.byte_range[0] == 0 else 0
    return pcsv.open_csv(
        data,
        read_options=pcsv.ReadOptions(
            block_size=block,
            column_names=header.columns,
            skip_rows_after_names=skip,
            use_threads=True,  # ranges too: Arrow's threads parse while Python computes
            encoding=source.encoding,
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=_delimiter(source), newlines_in_values=source.newlines_in_values
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            include_columns=columns,
            null_values=NULL_VALUES,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=source.decimal,
            **BOOLEANS,
        ),
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
    if source.byte_range is not None or (source.path == "-" and source.data is None):
        return None  # a range is read again whole by the caller; stdin cannot be
    if synced:
        source.newlines_in_values = True
        return block
    return min(block * 16, CSV_MAX_BLOCK) if straddles else None


def _csv_reopen(source: Source, raw: Any) -> Any:
    """The input from its first byte, for another read (the last one's stream is dropped)."""
    if isinstance(raw, _RangeFile):
        again = _RangeFile(source.path, 0, os.path.getsize(source.path))
        raw.follow(again)  # the progress bar follows the new read
        return again
    if source.path != "-" and source.compression is None:
        return source.path
    return io.BufferedReader(_Prefixed(b"", _open_stream(source)), buffer_size=CSV_BLOCK)


def _explain_csv_error(
    source: Source, header: Header, columns: list[str], text: set[str], message: str
) -> InputError:
    """Turn pyarrow's CSV error into one that names the line, column and value."""
    if "Expected" in message and "columns" in message:
        line, got = _find_ragged_line(source, len(header.columns))
        if line is None:  # streamed stdin cannot be read again: take pyarrow's count
            import re

            m = re.search(r"got (\d+)", message)
            got = int(m.group(1)) if m else got
        where = f" at line {line}" if line else ""
        return InputError(
            f"{source.name}: ragged CSV row{where}: {got} fields where the header has {len(header.columns)}",
            hint="every row needs one value per header column (quote fields that contain the delimiter)",
        )
    if "conversion error" in message:
        bad = _find_non_numeric(source, header, [c for c in columns if c not in text])
        if bad is None:  # stdin cannot be read again: name the column from pyarrow's message
            import re

            m = re.search(r"column #(\d+).*invalid value '(.*)'", message)
            if m and int(m.group(1)) < len(header.columns):
                return InputError(
                    f"{source.name}: column {header.columns[int(m.group(1))]!r}: {shown(m.group(2))} is not a number",
                    hint=_number_hint(source, m.group(2))
                    or "fix or remove the cell; save stdin to a file to have the row reported",
                )
        if bad:
            column, line, value = bad
            return InputError(
                f"{source.name}: column {column!r}, row {line - 2} (line {line}): {shown(value)} is not a number",
                hint=_number_hint(source, value)
                or "fix or remove the cell (empty cells count as missing; see --dropna)",
            )
    if "out of sync with chunker" in message or "straddles" in message:
        return _multiline_error(source, message)
    return InputError(f"{source.name}: cannot parse: {shown(message.splitlines()[0], 200)}")


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


def _text_lines(source: Source) -> Iterator[list[str]]:
    """The input's CSV records, read again from the start (error reports only)."""
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(b"", _open_stream(source))),
        encoding="utf-8-sig" if source.encoding == "utf-8" else source.encoding,
        errors="replace",  # a stray byte must not hide the error being explained
        newline="",
    )
    yield from csv.reader(text, delimiter=_delimiter(source))


def _find_ragged_line(source: Source, width: int) -> tuple[int | None, int]:
    if source.path == "-" and source.data is None:
        return None, 0
    for number, row in enumerate(_text_lines(source), start=1):
        if row and len(row) != width:
            return number, len(row)
    return None, 0


def _find_non_numeric(
    source: Source, header: Header, numeric: list[str]
) -> tuple[str, int, str] | None:
    if source.path == "-" and source.data is None:
        return None
    index = {c: header.columns.index(c) for c in numeric}
    for number, row in enumerate(_text_lines(source), start=1):
        if number == 1:
            continue
        for column, i in index.items():
            cell = row[i] if i < len(row) else ""
            if cell in NULL_VALUES or cell.strip() == "":
                continue
            try:
                if source.decimal == "," and "." in cell:
                    raise ValueError  # Arrow reads decimal commas only
                float(cell.replace(",", ".") if source.decimal == "," else cell.replace("_", "x"))
            except ValueError:
                return column, number, cell
    return None


def parquet_batch_rows(columns: int) -> int:
    """Rows per Parquet batch: ``PARQUET_BATCH_BYTES`` of float64 over the columns read,
    a power of two between 4096 and ``PARQUET_BATCH`` (64Ki rows of 2 columns, 8Ki of 11).

    Wide files (K class columns) then hold a few MiB per batch, not tens, in the reader
    and in the loss's n×K intermediates.
    """
    rows = PARQUET_BATCH_BYTES // (8 * max(columns, 1))
    return max(min(4096, PARQUET_BATCH), min(PARQUET_BATCH, 1 << (rows.bit_length() - 1)))


def _parquet_batches(source: Source, columns: list[str], text: Sequence[str] = ()) -> Iterator[Any]:
    pieces = source.pieces or tuple((path, None) for path in parquet_files(source))
    for path, row_groups in pieces:
        pf = parquet_file(source, path, text)
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            raise InputError(
                f"{path}: missing column(s) {', '.join(missing)} (other files of the dataset have them)"
            )
        try:
            yield from pf.iter_batches(
                batch_size=parquet_batch_rows(len(columns)), columns=columns, row_groups=row_groups
            )
        finally:
            pf.close(force=source.filesystem is not None)  # the fsspec file is ours to close


def _jsonl_batches(source: Source, columns: list[str], text_columns: set[str]) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.json as pj

    head, stream = _take_stream(source)
    schema = pa.schema([(c, pa.string() if c in text_columns else pa.float64()) for c in columns])
    try:
        reader = pj.open_json(
            io.BufferedReader(_Prefixed(head, stream)),
            read_options=pj.ReadOptions(block_size=CSV_BLOCK),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise InputError(
            f"{source.name}: cannot parse JSON Lines: {str(exc).splitlines()[0]}"
        ) from None


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
        raise InputError("a text column was given where numbers are needed")
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
    arr = arr.cast(pa.float64())
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
        arr = arr.cast(pa.string()).dictionary_encode()
    indices = arr.indices
    if not pa.types.is_int32(indices.type):
        indices = indices.cast(pa.int32())
    codes = np.frombuffer(
        indices.buffers()[1], dtype=np.int32, count=len(indices), offset=indices.offset * 4
    )
    valid = _validity(indices)
    return codes, [str(x) for x in arr.dictionary.to_pylist()], None if valid is None else ~valid
