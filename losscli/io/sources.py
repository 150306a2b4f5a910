"""Where rows come from: what a path or '-' is, and what its first bytes look like.

``Source`` (a path, its format and compression, and the reading state the format
readers keep on it), ``detect_format`` (``--input-format`` or the extension; a
directory or glob is a dataset of parts of one format, a URL a Parquet dataset),
``Header`` (the columns a source has),
the decompressed byte stream of a text input with its first block (``text_prefix``),
and the refusal of binary data read as text. The format readers build on this:
``csv_header``/``csv_reader``/``csv_ranges``, ``parquet_reader``, ``jsonl_reader``,
``arrow_reader``.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io import dataset
from losscli.io.input_options import InputOptions

SNIFF_BYTES = 1 << 20  # the first block of a text input: header, dialect and type sniffing
FORMATS = ("csv", "tsv", "parquet", "jsonl", "arrow")
# other names --input-format takes for a format
FORMAT_ALIASES = {
    "pq": "parquet",
    "json": "jsonl",
    "ndjson": "jsonl",
    "feather": "arrow",
    "ipc": "arrow",
}


def known_format(name: str) -> bool:
    """Whether ``--input-format`` (or a config file's ``input_format``) takes ``name``."""
    return name.lower() in FORMATS or name.lower() in FORMAT_ALIASES


COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}


@dataclass
class Source:
    """Where the rows come from and how to parse them."""

    path: str  # as the user wrote it ('-' for stdin)
    fmt: str
    compression: str | None = None
    data: bytes | None = None  # stdin, buffered (Parquet, or a second pass)
    pending: Any = None  # (first bytes, open stream) left by read_header for read_batches
    # A dataset partition (--engine dask) reads these (file, row groups) pieces instead
    # of the whole path (a CSV, JSON Lines or Arrow part: one file, row groups None), and
    # numbers its first row ``row0``; ``filesystem`` is the fsspec filesystem of a URL.
    pieces: tuple[tuple[str, tuple[int, ...] | None], ...] | None = None
    row0: int = 0
    filesystem: Any = None
    # A dataset (a directory or glob): its files in row order (for Parquet, a cache of
    # the listing); ``partitions`` their Hive partition columns (dataset.Partitions);
    # ``part_starts`` (first row, file) of each file as it is read, for errors.
    files: list[str] | None = None
    partitions: Any = None
    part_starts: list[tuple[int, str]] = field(default_factory=list)
    part: str = ""  # "1/2": which of the parallel parts this is (for the progress bar)
    # CSV/TSV only: the field delimiter (--delimiter, else sniffed from the header line)
    # and the decimal mark (--decimal); ``detect_format`` sets them from the InputSpec.
    delimiter: str | None = None
    decimal: str = "."
    # --delimiter or --decimal was given: an error for a Parquet or JSON Lines input
    csv_options_given: bool = False
    # An in-memory table (format ``table``, ``losscli.io.frames``): the Arrow table itself.
    table: Any = None

    # CSV/TSV only, set by read_header: the text encoding (from a byte-order mark) and
    # whether a quoted field holds a line break (Arrow's newlines_in_values, slower).
    encoding: str = "utf-8"
    newlines_in_values: bool = False
    # streamed stdin's last blocks as the CSV reader reads them (io.stream_tail), where
    # an error finds its row
    tail: Any = None

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    @property
    def is_text(self) -> bool:
        return self.fmt in ("csv", "tsv")

    @property
    def streamed(self) -> bool:
        """stdin read as it comes (not buffered in ``data``): it cannot be read again."""
        return self.path == "-" and self.data is None

    @property
    def is_parts(self) -> bool:
        """A directory or glob of CSV, TSV, JSON Lines or Arrow files read one by one."""
        return self.files is not None and self.fmt != "parquet"

    def part_row(self, row: int) -> tuple[str, int] | None:
        """Which file of a dataset holds input row ``row``, and its row there; None for a
        single file or a row not yet read (``io.batches.place`` words it for errors)."""
        import bisect

        i = bisect.bisect_right(self.part_starts, (row, "\uffff")) - 1
        if i < 0:
            return None
        first, part = self.part_starts[i]
        if part == self.path:  # a file read as a dataset of one part (--engine dask)
            return None
        return part, row - first


@dataclass
class Header:
    """The columns of a source and, for text formats, which ones hold text."""

    columns: list[str]
    text_columns: set[str]
    rows_hint: int | None = None  # exact row count when the format stores it
    bool_columns: set[str] = field(default_factory=set)  # CSV True/False columns


def refuse_duplicate_columns(columns: list[str], name: str) -> None:
    """Each column name once: a name given twice cannot say which column is meant."""
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise InputError(f"{name}: duplicate column name(s) {', '.join(dupes)}")


def detect_format(
    path: str, input_format: str | None = None, dialect: InputOptions | None = None
) -> Source:
    """The format from ``--input-format`` or the extension (stdin defaults to CSV), read
    with ``dialect``'s delimiter and decimal mark (``InputSpec.dialect``)."""
    source = _detect(path, input_format)
    if dialect is not None:
        source.delimiter, source.decimal = dialect.delimiter, dialect.decimal
        source.csv_options_given = dialect.delimiter is not None or dialect.decimal != "."
    return source


def _detect(path: str, input_format: str | None) -> Source:
    if input_format is not None:
        fmt = FORMAT_ALIASES.get(input_format.lower(), input_format.lower())
        if fmt not in FORMATS:
            raise UsageError(
                f"unknown --input-format {input_format!r}", hint=f"use one of {', '.join(FORMATS)}"
            )
    if path == "-":
        return Source(path, input_format and fmt or "csv")
    p = Path(path)
    if dataset.is_url(path):
        if (input_format is not None and fmt != "parquet") or not _parquet_like(path):
            raise InputError(
                f"{path}: a URL is read as a Parquet dataset; other formats need a local file",
                hint="name Parquet files (.parquet, .pq) or a directory of them",
            )
        return Source(path, "parquet")
    if dataset.has_glob(path) and not p.exists():
        return _parts(path, fmt if input_format is not None else None)
    if not p.exists():
        raise InputError(f"{path}: no such file or directory")
    if p.is_dir():
        return _parts(path, fmt if input_format is not None else None)
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
        ".arrow": "arrow",
        ".feather": "arrow",
        ".ipc": "arrow",
    }
    if ext not in by_ext:
        raise InputError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}",
            hint="use --input-format csv|tsv|parquet|jsonl|arrow",
        )
    if by_ext[ext] in ("parquet", "arrow") and compression:
        kind = "Parquet" if by_ext[ext] == "parquet" else "Arrow"
        raise InputError(
            f"{path}: a compressed {kind} file is not supported ({kind} compresses itself)"
        )
    return Source(path, by_ext[ext], compression)


def _parts(path: str, fmt: str | None) -> Source:
    """A local directory or glob: its files of one format, in row order (``dataset``)."""
    files, fmt = dataset.data_files(path, fmt)
    return Source(path, fmt, files=files, partitions=dataset.hive_partitions(path, files))


def part_source(source: Source, path: str) -> Source:
    """One file of a dataset of parts, read with the dataset's dialect."""
    suffix = Path(path).suffix.lower()
    return Source(
        path,
        source.fmt,
        COMPRESSION.get(suffix),
        delimiter=source.delimiter,
        decimal=source.decimal,
        csv_options_given=source.csv_options_given,
    )


def _parquet_like(path: str) -> bool:
    """A path that names Parquet files, or a directory-like prefix (no known other format)."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    others = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".json", *COMPRESSION)
    return not name.endswith(others)


class Prefixed(io.RawIOBase):
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


def open_stream(source: Source) -> Any:
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
    if source.streamed:
        source.data = sys.stdin.buffer.read()
    return source


def text_prefix(source: Source) -> tuple[bytes, Any]:
    """The first ~1 MiB up to a line end (for the header and type sniffing) and the stream."""
    stream = open_stream(source)
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
    if kind is not None and source.path == "-" and fix.startswith("name it"):
        fix = fix.split(" or ", 1)[1]  # stdin has no name to give
    if kind is not None:
        what = "a text" if source.fmt in ("csv", "tsv", "jsonl") else "an"
        raise InputError(
            f"{source.name}: this looks like {kind}, not {what} {source.fmt.upper()} file "
            f"(it starts with {repr(head[:8])[1:]})",
            hint=fix,
        )


def drop_pending(source: Source) -> None:
    """Close the stream a header read left open for the batches."""
    if source.pending is not None and hasattr(source.pending[1], "close"):
        source.pending[1].close()
    source.pending = None


def take_stream(source: Source) -> tuple[bytes, Any]:
    pending = source.pending
    source.pending = None
    return pending if pending is not None else text_prefix(source)
