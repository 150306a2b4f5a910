"""Parallel reads of one large CSV/TSV file: byte ranges of whole lines, read with pread.

``split_lines`` cuts a plain file of at least ``PARALLEL_MIN_BYTES`` into ranges, each
parsed by its own reader; ``RangeFile`` is the file object each reader reads (also
used for a whole-file read, for its progress position); ``RangeWatch`` voids the
ranges when a quote may hide a line break; ``ReadLead`` keeps Arrow's reader a few
blocks ahead of the batches taken, no more.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

from losscli.io.sources import Source

# Each of the parallel range readers (split_lines) parses blocks of about this many rows,
# between these sizes: small blocks hold little memory, too small ones cost per batch.
CSV_RANGE_ROWS = 16384
CSV_RANGE_BLOCK = (1 << 17, 1 << 20)
CSV_READ_LEAD = 8  # blocks read ahead of the batches taken (ReadLead)


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


class RangeFile(io.RawIOBase):
    """Bytes ``start``..``end`` of a file, read with pread (the GIL is released meanwhile)."""

    def __init__(
        self, path: str, start: int, end: int, watch: Any = None, lead: ReadLead | None = None
    ) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._start, self._pos, self._end = start, start, end
        self._watch = watch
        self._lead = lead
        self._header = start == 0  # the header line may quote its names
        self._next: RangeFile | None = None

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

    def follow(self, other: RangeFile) -> None:
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
        or source.files is not None  # a dataset's parts are read one after another
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


def count_lines(source: Source) -> int | None:
    """The data rows of a plain CSV/TSV file, told by its line breaks: one per row after
    the header's, and a last row without one. None for stdin, a compressed file, a
    dataset of parts or a file whose quoted fields hold line breaks.

    A count, not a parse: blank lines (which a reader skips) make it larger than the rows
    read, so whoever relies on it checks it against the rows read.
    """
    import numpy as np

    if (
        source.fmt not in ("csv", "tsv")
        or source.path == "-"
        or source.files is not None
        or source.pieces is not None
        or source.compression is not None
        or source.encoding != "utf-8"
        or source.newlines_in_values
    ):
        return None
    breaks, last = 0, b"\n"
    buffer = bytearray(1 << 24)
    try:
        with open(source.path, "rb", buffering=0) as f:
            while size := f.readinto(buffer):
                view = np.frombuffer(buffer, dtype=np.uint8, count=size)
                breaks += int(np.count_nonzero(view == 10))  # the GIL is let go meanwhile
                last = bytes(buffer[size - 1 : size])
    except OSError:
        return None
    lines = breaks + (last != b"\n")
    return max(lines - 1, 0)
