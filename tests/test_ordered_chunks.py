"""A large CSV file read in order (grad, --reduction none, second passes) is parsed in
chunks of whole lines on two threads and handed on in file order: the rows, their
numbers, the output bytes and the errors are those of the serial reader."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import cli

from losscli.io import csv_ranges, sources


@pytest.fixture
def small_chunks(monkeypatch):
    """Files of a few KiB read in chunks of 1 KiB (about 25 rows), on two CPUs."""
    monkeypatch.setattr(csv_ranges, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(csv_ranges, "CSV_CHUNK", 1024)
    monkeypatch.setattr(csv_ranges, "CSV_CHUNK_MAX", 1024)
    monkeypatch.setattr(csv_ranges, "usable_cpus", lambda: 2)
    monkeypatch.setattr(sources, "SNIFF_BYTES", 8192)  # the head sees no quote of row 1500
    parsed = []
    original = csv_ranges.OrderedChunks._parse

    def counted(fd, start, end, parse):
        out = original(fd, start, end, parse)
        parsed.append(out is not None)
        return out

    monkeypatch.setattr(csv_ranges.OrderedChunks, "_parse", staticmethod(counted))
    return parsed


def _serial(monkeypatch) -> None:
    monkeypatch.setattr(csv_ranges, "chunkable", lambda source: False)


def _write(tmp_path, lines: list[str], name="preds.csv"):
    path = tmp_path / name
    path.write_text("y,yhat,note\n" + "".join(lines))
    return path


def _rows(n: int, seed=0) -> list[str]:
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=n).tolist(), rng.normal(size=n).tolist()
    return [f"{a!r},{b!r},{'ab'[i % 2]}\n" for i, (a, b) in enumerate(zip(y, p))]


def _both(capsys, monkeypatch, tmp_path, path, *args):
    """(code, output bytes, stderr) of a run with the chunked reader, then the serial one."""
    out = []
    for serial in (False, True):
        with monkeypatch.context() as m:
            if serial:
                _serial(m)
            target = tmp_path / f"out{int(serial)}.csv"
            code, _, err = cli(capsys, *args[:1], path, *args[1:], "-o", target, "-q")
            out.append((code, target.read_bytes() if target.exists() else None, err))
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "-l", "mse", "--with-loss"],
        ["grad", "-l", "mse", "--reduction", "sum"],
        ["eval", "-l", "mse,mae", "--reduction", "none", "--keep", "note"],
    ],
)
def test_chunks_give_the_serial_bytes(args, small_chunks, capsys, monkeypatch, tmp_path):
    lines = _rows(2000)
    lines[-1] = lines[-1].rstrip("\n")  # no line break after the last row
    path = _write(tmp_path, lines)
    chunked, serial = _both(capsys, monkeypatch, tmp_path, path, *args)
    assert chunked[0] == serial[0] == 0, (chunked[2], serial[2])
    assert chunked[1] == serial[1]
    assert len(small_chunks) > 20 and all(small_chunks)  # every chunk parsed on the pool
    rows = chunked[1].decode().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(2000))


@pytest.mark.parametrize("quoted", ['"a,b"', '"two\nlines"'])
def test_a_quote_hands_the_rest_to_the_serial_reader(
    quoted, small_chunks, capsys, monkeypatch, tmp_path
):
    lines = _rows(2000)
    y, p, _ = lines[1500].split(",")
    lines[1500] = f"{y},{p},{quoted}\n"  # a quoted note past many chunks
    path = _write(tmp_path, lines)
    args = ["eval", "-l", "mse", "--reduction", "none", "--keep", "note"]
    chunked, serial = _both(capsys, monkeypatch, tmp_path, path, *args)
    assert chunked[0] == serial[0] == 0, (chunked[2], serial[2])
    assert chunked[1] == serial[1]
    assert small_chunks.count(False) >= 1 and small_chunks[0]  # parsed, then handed on
    assert len(chunked[1].decode().replace(quoted, "q").splitlines()) == 2001


def test_an_error_in_a_late_chunk_is_the_serial_error(small_chunks, capsys, monkeypatch, tmp_path):
    lines = _rows(2000)
    y, _, label = lines[1700].split(",")
    lines[1700] = f"{y},oops,{label}"
    path = _write(tmp_path, lines)
    chunked, serial = _both(capsys, monkeypatch, tmp_path, path, "grad", "-l", "mse")
    assert chunked[0] == serial[0] == 2
    assert chunked[2] == serial[2]
    assert "row 1700 (line 1702)" in chunked[2]
    assert chunked[1] is None


def test_blank_lines_are_skipped_as_the_serial_reader_does(
    small_chunks, capsys, monkeypatch, tmp_path
):
    lines = _rows(600)
    for at in (599, 300, 30):
        lines.insert(at, "\n")
    path = _write(tmp_path, lines)
    args = ["eval", "-l", "mse", "--reduction", "none"]
    chunked, serial = _both(capsys, monkeypatch, tmp_path, path, *args)
    assert chunked[0] == serial[0] == 0
    assert chunked[1] == serial[1]
    assert len(chunked[1].splitlines()) == 601


def test_lines_ending_in_a_lone_carriage_return(small_chunks, capsys, monkeypatch, tmp_path):
    """Old Mac line ends: no cut after a line feed ends a line, so one reader reads it."""
    path = tmp_path / "cr.csv"
    path.write_bytes(("y,yhat,note\r" + "".join(_rows(600)).replace("\n", "\r")).encode())
    args = ["eval", "-l", "mse", "--reduction", "none"]
    chunked, serial = _both(capsys, monkeypatch, tmp_path, path, *args)
    assert chunked[0] == serial[0] == 0, (chunked[2], serial[2])
    assert chunked[1] == serial[1]
    assert len(chunked[1].splitlines()) == 601


def test_a_bad_cell_is_explained_once(small_chunks, capsys, monkeypatch, tmp_path):
    """Chunks parsed ahead may fail too; the file is searched for the bad row only once."""
    from losscli.io import csv_reader

    lines = _rows(2000)
    for at in range(1500, 2000):  # every chunk from row 1500 on fails
        y, _, note = lines[at].split(",")
        lines[at] = f"{y},oops,{note}"
    path = _write(tmp_path, lines)
    calls = []
    explain = csv_reader._explain_csv_error
    monkeypatch.setattr(csv_reader, "_explain_csv_error", lambda *a: calls.append(1) or explain(*a))
    code, _, err = cli(capsys, "grad", path, "-l", "mse", "-o", tmp_path / "g.csv", "-q")
    assert code == 2 and "row 1500 (line 1502)" in err
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("row_bytes", "expected"),
    [(10, 1 << 20), (50, 50 << 16), (200, 6 << 20)],
    ids=["narrow: the least chunk", "64Ki rows", "wide: the largest chunk"],
)
def test_a_chunk_holds_about_64ki_rows_within_its_bounds(tmp_path, row_bytes, expected):
    """2 MiB holds 100k rows of two numbers but 10k of ten: chunks aim at 64Ki rows,
    between 1 and 6 MiB."""
    import os

    path = tmp_path / "rows.csv"
    line = ("1," * (row_bytes // 2))[: row_bytes - 2] + "1\n"
    assert len(line) == row_bytes
    path.write_text("h\n" + line * 5000)
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = csv_ranges.OrderedChunks(sources.detect_format(str(path)))
        # told from the first 64 KiB, whose last line is cut: within a row of the mark
        assert chunks._chunk_bytes(fd, 2) == pytest.approx(expected, rel=1e-3)
    finally:
        os.close(fd)


def test_batches_hold_at_most_the_chunk_rows(small_chunks, monkeypatch, tmp_path):
    """A chunk's rows are handed on in batches of at most CSV_CHUNK_ROWS (the arrays a loss
    computes stay that size), every row once, in order."""
    from losscli.io.batches import read_batches, read_header

    monkeypatch.setattr(csv_ranges, "CSV_CHUNK", 1 << 20)
    monkeypatch.setattr(csv_ranges, "CSV_CHUNK_MAX", 1 << 20)
    monkeypatch.setattr(csv_ranges, "CSV_CHUNK_ROWS", 100)
    path = _write(tmp_path, _rows(3000))
    source = sources.detect_format(str(path))
    batches = list(read_batches(source, read_header(source), ["y", "yhat"], set()))
    assert small_chunks == [True]  # one chunk of the whole file ...
    assert [b.num_rows for b in batches] == [100] * 30  # ... in batches of 100 rows
    y = np.concatenate([b.column("y").to_numpy() for b in batches])
    expected = np.array([float(line.split(",")[0]) for line in _rows(3000)])
    np.testing.assert_array_equal(y, expected)
