"""Reads of one large plain CSV/TSV file with pread: in order, parsed ahead in chunks.

``OrderedChunks`` reads a plain file of at least ``PARALLEL_MIN_BYTES`` in chunks of
whole lines parsed on two threads and handed on in file order; ``RangeFile`` is the file
object Arrow's serial reader reads (for its progress position); ``ReadLead`` keeps that
reader a few blocks ahead of the batches taken, no more. ``count_lines`` tells the rows
of such a file from its line breaks.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

from losscli.io.sources import Source

CSV_READ_LEAD = 8  # blocks read ahead of the batches taken (ReadLead)


class ReadLead:
    """Keeps Arrow's CSV reader at most ``lead`` blocks ahead of the batches taken from it.

    Arrow's streaming CSV reader reads up to 32 blocks ahead of its parser on a
    background thread: 32 MiB of text that nobody is parsing yet. The file object waits
    in ``before_read`` until the consumer has taken enough batches (``taken``): one
    batch per block, and Arrow needs the next block to finish a batch, so a lead of a
    few blocks never stalls it. Should a wait ever last ``patience`` seconds, the limit is dropped for good.
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

    def __init__(self, path: str, start: int, end: int, lead: ReadLead | None = None) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._start, self._pos, self._end = start, start, end
        self._lead = lead
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


#: files at least this large are read by ``OrderedChunks`` (smaller ones by one reader)
PARALLEL_MIN_BYTES = 64 << 20


def plain_lines(source: Source) -> bool:
    """Whether ``source`` is one plain CSV/TSV file whose line breaks end its rows, so that
    it may be cut after any of them, counted by them, or read with pread: not stdin, not
    compressed, not a dataset's parts, UTF-8 (a cut after b"\\n" may split a UTF-16
    character), no quoted line break seen in its head."""
    return (
        source.fmt in ("csv", "tsv")
        and source.path != "-"
        and source.files is None  # a dataset's parts are read one after another
        and source.pieces is None
        and source.compression is None
        and source.encoding == "utf-8"
        and not source.newlines_in_values  # quoted line breaks: the cuts are unsafe
        and hasattr(os, "pread")
    )


#: a large file is parsed in chunks of about CSV_CHUNK_ROWS rows, at least CSV_CHUNK and
#: at most CSV_CHUNK_MAX bytes, handed on in batches of at most CSV_CHUNK_ROWS rows: fewer
#: rows a chunk cost per-chunk and per-batch work (a 10-class file's 2 MiB holds 10k
#: rows), more rows hold more memory in the parsed chunks and the batches' arrays (5M
#: rows of two numbers: 87 MiB peak in chunks of 64Ki rows, 95 in 2 MiB, 119 in 4 MiB)
CSV_CHUNK = 1 << 20
CSV_CHUNK_MAX = 6 << 20
CSV_CHUNK_ROWS = 1 << 16
CHUNKS_AHEAD = 3  # chunks read and parsed ahead of the one handed on


def chunkable(source: Source) -> bool:
    """Whether a whole-file read may go through ``OrderedChunks``: a plain CSV/TSV file of
    at least ``PARALLEL_MIN_BYTES``, no quoted line break seen in its head, two CPUs."""
    if not plain_lines(source) or usable_cpus() < 2:
        return False
    try:
        return os.path.isfile(source.path) and os.path.getsize(source.path) >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class OrderedChunks:
    """A plain CSV/TSV file read in order, its chunks of whole lines parsed on two threads.

    Arrow's streaming reader parses one block after another; every whole-file read of
    such a file goes this way instead: chunks of about ``CSV_CHUNK_ROWS`` rows
    (``_chunk_bytes``), each cut after a line break, are read with pread and parsed whole
    by ``parse(data)`` on a pool of two threads (Arrow lets go of the GIL) while the
    caller computes on the rows before them, at most ``CHUNKS_AHEAD`` ahead, and handed
    on in order. (Two readers of halves of the file, each Arrow's threaded streaming
    reader, were measured slower on two cores: their threads contend for the same CPUs.)

    A cut after a line break is a row boundary unless the break sits in a quoted field, so
    a chunk holding a quote character is not parsed: the rows from there on come from
    ``rest(raw, skip)``, the serial reader over the whole file (``raw``) less the ``skip``
    rows already handed on. Every chunk before it was free of quotes, so those rows are
    the serial reader's rows.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.size = os.path.getsize(source.path)
        self._pos = 0
        self._rest: RangeFile | None = None

    def tell(self) -> int:
        """Bytes handed on so far (the progress bar's position)."""
        return self._rest.tell() if self._rest is not None else self._pos

    def batches(
        self,
        parse: Callable[[bytes], list[Any]],
        rest: Callable[[RangeFile, int], Iterator[Any]],
    ) -> Iterator[Any]:
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        fd = os.open(self.source.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        pool = ThreadPoolExecutor(2, thread_name_prefix="losscli-chunk")
        try:
            pos = self._after_header(fd)
            if pos is None:  # lines end in a lone \r: no cut after b"\n" is a line's end
                yield from self._serially(rest, 0)
                return
            chunk = self._chunk_bytes(fd, pos)
            ahead: deque[tuple[int, Any]] = deque()
            rows = 0

            def read_next() -> None:
                nonlocal pos
                end = self._after_line(fd, pos + chunk)
                ahead.append((end, pool.submit(self._parse, fd, pos, end, parse)))
                pos = end

            while pos < self.size and len(ahead) < CHUNKS_AHEAD:
                read_next()
            while ahead:
                end, parsed = ahead.popleft()
                batches = parsed.result()
                if batches is None:  # a quote: the serial reader from here on
                    pool.shutdown(wait=False, cancel_futures=True)
                    yield from self._serially(rest, rows)
                    return
                if pos < self.size:
                    read_next()
                for batch in batches:
                    rows += batch.num_rows
                    yield batch
                self._pos = end
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a stopped reader waits for none
            os.close(fd)

    def _serially(
        self, rest: Callable[[RangeFile, int], Iterator[Any]], skip: int
    ) -> Iterator[Any]:
        """``rest``'s batches over the whole file, less ``skip`` rows, Arrow's reader kept a
        few blocks ahead (``ReadLead``)."""
        lead = ReadLead(CSV_READ_LEAD)
        with RangeFile(self.source.path, 0, self.size, lead=lead) as raw:
            self._rest = raw
            yield from lead.count(rest(raw, skip))

    def _after_header(self, fd: int) -> int | None:
        """Where the rows start (past the header line), or None when the header line ends
        in a lone carriage return (old Mac line ends), which Arrow reads as a line end."""
        end = self._after_line(fd, 0)
        head = os.pread(fd, min(end, 1 << 16), 0)
        cr = head.find(b"\r")
        return None if 0 <= cr != end - 2 else end

    def _chunk_bytes(self, fd: int, start: int) -> int:
        """The chunk size for this file: ``CSV_CHUNK_ROWS`` rows as long as its first
        64 KiB of rows, within ``CSV_CHUNK`` … ``CSV_CHUNK_MAX`` bytes."""
        head = os.pread(fd, 1 << 16, start)
        per_row = len(head) / max(head.count(b"\n"), 1)
        return min(CSV_CHUNK_MAX, max(CSV_CHUNK, int(CSV_CHUNK_ROWS * per_row)))

    @staticmethod
    def _parse(
        fd: int, start: int, end: int, parse: Callable[[bytes], list[Any]]
    ) -> list[Any] | None:
        data = os.pread(fd, end - start, start)
        return None if b'"' in data else parse(data)

    def _after_line(self, fd: int, at: int) -> int:
        """The offset just past the first line break at or after ``at`` (or the end)."""
        while at < self.size:
            window = os.pread(fd, 1 << 16, at)
            if not window:
                break
            i = window.find(b"\n")
            if i >= 0:
                return at + i + 1
            at += len(window)
        return self.size


COUNT_BLOCK = 1 << 20  # bytes read at a time by count_lines


def count_lines(source: Source) -> int | None:
    """The data rows of a plain CSV/TSV file, told by its line breaks: one per row after
    the header's, and a last row without one. None for stdin, a compressed file, a
    dataset of parts or a file whose quoted fields hold line breaks.

    A count, not a parse: blank lines (which a reader skips) make it larger than the rows
    read, so whoever relies on it checks it against the rows read.
    """
    import numpy as np

    if not plain_lines(source):
        return None
    breaks, last = 0, b"\n"
    # 1 MiB at a time, into the same two buffers: they stay in the CPU's cache (16 MiB
    # blocks took twice as long on a 181 MiB file, 0.13-0.17 s against 0.06-0.08 s)
    buffer = bytearray(COUNT_BLOCK)
    found = np.empty(COUNT_BLOCK, dtype=bool)
    try:
        with open(source.path, "rb", buffering=0) as f:
            while size := f.readinto(buffer):
                view = np.frombuffer(buffer, dtype=np.uint8, count=size)
                is_break = np.equal(view, 10, out=found[:size])  # the GIL is let go meanwhile
                breaks += int(np.count_nonzero(is_break))
                last = bytes(buffer[size - 1 : size])
    except OSError:
        return None
    lines = breaks + (last != b"\n")
    return max(lines - 1 - _trailing_blank_lines(source.path), 0)


def _trailing_blank_lines(path: str) -> int:
    """Empty lines at the end of a file (a reader skips them; most writers leave none)."""
    with open(path, "rb") as f:
        f.seek(max(os.path.getsize(path) - 256, 0))
        tail = f.read()
    ending = tail[len(tail.rstrip(b"\r\n")) :]
    return max(ending.count(b"\n") - 1, 0)
