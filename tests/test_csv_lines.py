"""The line a CSV row starts on, as errors name it: counted in bytes where the file has
no line break inside a quoted field, else by Python's csv module; both must agree."""

from __future__ import annotations

import random

import pytest

from losscli.io import csv_reader
from losscli.io.sources import Source


def _random_csv(rng: random.Random) -> str:
    lines = [] if rng.random() < 0.7 else ["", "\r"]  # blank lines before the header
    lines.append("y_true,y_pred")
    for i in range(rng.randint(0, 40)):
        kind = rng.random()
        lines.append("" if kind < 0.15 else "\r" if kind < 0.2 else f"{i},{i + 1}")
    ending = rng.choice(["\n", "\r\n"])
    text = ending.join(lines) + (ending if rng.random() < 0.7 else "")
    return text.replace("\r\r", "\r")


@pytest.mark.parametrize("block", [3, 7, 1 << 20])
def test_counting_lines_in_bytes_agrees_with_the_csv_module(tmp_path, monkeypatch, block):
    monkeypatch.setattr(csv_reader, "CSV_BLOCK", block)
    rng = random.Random(block)
    for trial in range(120):
        path = tmp_path / f"t{trial}.csv"
        path.write_bytes(_random_csv(rng).encode())
        source = Source(str(path), "csv", None, delimiter=",")
        slow = {row: line for row, line, _ in csv_reader._data_rows(source)}
        for row in range(45):
            assert csv_reader._line_by_bytes(source, row) == slow.get(row), (path.read_bytes(), row)


def test_lines_ending_in_a_lone_carriage_return_are_counted_by_the_csv_module(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"y_true,y_pred\r0,0.2\r\r1,1.5\r0,0.3\r")
    source = Source(str(path), "csv", None, delimiter=",")
    with pytest.raises(csv_reader._LoneCarriageReturn):
        csv_reader._line_by_bytes(source, 1)
    assert [csv_reader.physical_line(source, row) for row in range(4)] == [2, 4, 5, None]
