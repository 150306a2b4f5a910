"""Streamed stdin's kept blocks (losscli.io.stream_tail): the lines and rows errors name."""

from __future__ import annotations

import io

import pytest
from helpers import stdin_bytes, user_error

from losscli.io.stream_tail import StreamTail


def read_all(tail: StreamTail, size: int) -> bytes:
    out = []
    while chunk := tail.read(size):
        out.append(chunk)
    return b"".join(out)


@pytest.mark.parametrize("size", [1, 3, 7, 64])
@pytest.mark.parametrize("head", [b"", b"y,p\n1,", b"y,p\n1,2\n3,4\n5,6\n"])
def test_reads_give_the_head_then_the_rest(head: bytes, size: int) -> None:
    rest = b"2\n" * 5 + b"7,8\n"
    tail = StreamTail(head, io.BytesIO(rest), keep=10)
    assert read_all(tail, size) == head + rest


def lines_of(text: bytes) -> list[tuple[int, bytes]]:
    """Each line with its number, as an editor counts them ("\\n", "\\r\\n")."""
    return [(i + 1, line.removesuffix(b"\r")) for i, line in enumerate(text.split(b"\n"))]


@pytest.mark.parametrize("keep", [1, 5, 13, 1000])
@pytest.mark.parametrize("size", [4, 6, 11])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_kept_lines_are_numbered_from_the_input_start(keep: int, size: int, eol: bytes) -> None:
    text = eol.join([b"y,p", b"1,2", b"", b"3,45", b"6,7", b"", b"", b"8,9", b"10,11"])
    tail = StreamTail(b"", io.BytesIO(text), keep=keep)
    read_all(tail, size)
    kept = list(tail.lines())
    assert kept or keep < size, "past one block, the last line is kept"
    # the lines kept are the input's last ones, numbered as in the whole input
    every = lines_of(text)
    assert kept == every[len(every) - len(kept) :]
    if keep == 1000:  # nothing let go: every line, and rows as the passes count them
        assert len(kept) == 9
        rows = [tail.row_of(n) for n in (2, 4, 5, 8, 9)]
        assert rows == [0, 1, 2, 3, 4]
    else:
        assert tail.row_of(9) is None  # lines were let go: the blank ones are unknown


def test_a_quote_or_a_lone_return_leaves_the_row_unknown() -> None:
    quoted = b'y,p,note\n1,2,"a\nb"\n3,x,c\n'
    tail = StreamTail(b"", io.BytesIO(quoted))
    read_all(tail, 8)
    assert tail.row_of(4) is None  # the quoted field holds a line break: row 1, line 4
    assert list(tail.lines())[-1] == (4, b"3,x,c")
    header_quotes = StreamTail(b"", io.BytesIO(b'"y","p"\n1,2\n3,x\n'))
    read_all(header_quotes, 100)
    assert header_quotes.row_of(3) == 1
    lone = StreamTail(b"", io.BytesIO(b"y,p\r1,2\r" + b"3,4\n" * 10), keep=8)
    read_all(lone, 8)
    assert list(lone.lines()) == []  # a lone "\r" was let go: the lines are unknown


BIG = 4_000_000  # rows of "1,2\n": 16 MB, more than io.stream_tail.TAIL_BYTES


def test_a_cell_far_into_streamed_stdin_names_its_line(capsys, monkeypatch) -> None:
    """Past the kept bytes the line is still counted exactly; the row is not claimed."""
    data = b"y_true,y_pred\n" + b"1,2\n" * BIG + b"3,abc\n5,6\n"
    stdin_bytes(monkeypatch, data)
    msg = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg == f"error: <stdin>: column 'y_pred', line {BIG + 2}: 'abc' is not a number"


def test_a_ragged_row_far_into_streamed_stdin_names_its_line(capsys, monkeypatch) -> None:
    data = b"y_true,y_pred\r\n" + b"1,2\r\n" * BIG + b"3,4,5\r\n5,6\r\n"
    stdin_bytes(monkeypatch, data)
    msg = user_error(capsys, "eval", "-", "--loss", "mse")
    assert (
        msg == f"error: <stdin>: ragged CSV row at line {BIG + 2}: 3 fields where the header has 2"
    )


def test_a_cell_on_streamed_stdin_after_blank_lines_and_quotes(capsys, monkeypatch) -> None:
    blank = b"y_true,y_pred\n1,2\n\n\n3,4\n5,zz\n"
    stdin_bytes(monkeypatch, blank)
    msg = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg == "error: <stdin>: column 'y_pred', row 2 (line 6): 'zz' is not a number"
    quoted = b'y_true,y_pred,note\n1,2,"a\nb"\n5,zz,c\n'
    stdin_bytes(monkeypatch, quoted)
    msg = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg == "error: <stdin>: column 'y_pred', line 4: 'zz' is not a number"


def test_one_field_is_said_in_the_singular(capsys, monkeypatch) -> None:
    stdin_bytes(monkeypatch, b"y_true,y_pred\n1,2\n3\n")
    msg = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg == "error: <stdin>: ragged CSV row at line 3: 1 field where the header has 2"
