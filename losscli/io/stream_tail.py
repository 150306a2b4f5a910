"""Streamed stdin's last blocks, kept so that a bad row can still be found (errors only).

A file is read again to find the line of a ragged row or of a cell that is not a number;
stdin cannot be. ``StreamTail`` hands Arrow's CSV reader stdin's bytes block by block
(each block a new ``bytes`` that Arrow keeps, so holding it costs nothing while Arrow
does), keeps a reference to the last ``keep`` bytes of them, and counts the line breaks
("\\n") of the bytes it lets go. ``ReadLead`` keeps Arrow's reader a few blocks ahead of
the batches taken, so the block that fails is among the kept ones.

A line's number is known unless a lone "\\r" was let go; its data row only while every
line read so far is kept (the first ``keep`` bytes): finding in every block the blank
lines that Arrow skips, and the quoted fields that may hold a line break, costs several
times the count of its line breaks (0.35 against 0.075 ms per MiB).
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator
from typing import Any

#: bytes of stdin kept past those Arrow is parsing (csv_ranges.ReadLead's 8 blocks of 1 MiB
#: ahead, the block being parsed, and the one before it, whose last line may go on)
TAIL_BYTES = 12 << 20


class StreamTail(io.RawIOBase):
    """``head`` then ``rest`` (a binary stream), read once; the last ``keep`` bytes kept."""

    def __init__(self, head: bytes, rest: Any, lead: Any = None, keep: int = TAIL_BYTES) -> None:
        self._head, self._rest, self._lead, self._keep = bytes(head), rest, lead, keep
        self._blocks: deque[bytes] = deque()
        self._kept = 0  # bytes in _blocks
        self.lines_before = 0  # line breaks in the bytes let go
        self.lines_known = True  # no lone "\r" let go (a line break to an editor)
        self._dropped = 0  # bytes let go
        self._ended_line = True  # the bytes let go end with "\n" (or there are none)
        self._ended_return = False  # ... or with "\r"

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes, as one new ``bytes`` (Arrow keeps it as the block)."""
        if self._lead is not None:
            self._lead.before_read()
        if size is None or size < 0:
            chunk = self._head + self._rest.read()
            self._head = b""
        elif self._head:
            chunk, self._head = self._head[:size], self._head[size:]
            if len(chunk) < size:
                chunk += self._rest.read(size - len(chunk))
        else:
            chunk = self._rest.read(size)
        if chunk:
            self._keep_block(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _keep_block(self, chunk: bytes) -> None:
        self._blocks.append(chunk)
        self._kept += len(chunk)
        while len(self._blocks) > 1 and self._kept - len(self._blocks[0]) >= self._keep:
            self._let_go(self._blocks.popleft())

    def _let_go(self, block: bytes) -> None:
        import numpy as np

        data = np.frombuffer(block, np.uint8)
        self._kept -= len(block)
        self.lines_before += int(np.count_nonzero(data == 10))
        if self._ended_return and data[0] != 10:
            self.lines_known = False
        if self.lines_known and b"\r" in block:
            returns = np.flatnonzero(data[:-1] == 13)
            self.lines_known = not (data[returns + 1] != 10).any()
        self._dropped += len(block)
        self._ended_line, self._ended_return = data[-1] == 10, data[-1] == 13

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, counted from 1 at the input's first line; its bytes without the
        line break) of each whole line kept, in order: a line begun in the bytes let go is
        left out. None at all when a lone "\\r" was let go."""
        if not self.lines_known:
            return
        data = b"".join(self._blocks)
        number = self.lines_before + 1
        start = 0
        if self._dropped and not self._ended_line:
            start = data.find(b"\n") + 1
            if start == 0:
                return
            number += 1
        while start < len(data):
            end = data.find(b"\n", start)
            if end < 0:
                end = len(data)
            yield number, data[start:end].removesuffix(b"\r")
            number += 1
            start = end + 1

    def row_of(self, line: int) -> int | None:
        """The data row (from 0, as the passes count them) that line ``line`` holds, when
        nothing was let go: the lines before it, less the header and the blank lines
        (Arrow skips them); None past a quote (a quoted field may hold a line break) or a
        lone "\\r"."""
        if self._dropped:
            return None
        blank = 0
        for number, text in self.lines():
            if number == line:
                return line - 2 - blank
            if number == 1:  # the header: its quotes are its own unless one stays open
                if text.count(b'"') % 2:
                    return None
            elif b'"' in text or b"\r" in text:
                return None
            elif not text:
                blank += 1
        return None
