"""The line a CSV row starts on, as errors name it: counted in bytes up to a line that
counting "\\n" would miscount (a lone "\\r", a quoted line break), else by Python's csv
module; both must give the same line for every row."""

from __future__ import annotations

import random

import pytest
from helpers import cli, error_lines

from losscli.io import csv_reader
from losscli.io.sources import Source


def _random_csv(rng: random.Random) -> str:
    lines = ["y_true,y_pred,note"]
    for i in range(rng.randint(0, 40)):
        kind = rng.random()
        if kind < 0.15:
            lines.append("")
        elif kind < 0.2:
            lines.append("\r")
        elif kind < 0.25:
            lines.append(f'{i},{i + 1},"say ""hi"""')  # quotes, none spanning lines
        elif kind < 0.28:
            lines.append(f'{i},{i + 1},"two\nlines"')
        else:
            lines.append(f"{i},{i + 1},x")
    ending = rng.choice(["\n", "\r\n", "\r\n", "\r"]) if rng.random() < 0.9 else "\n"
    text = ending.join(lines) + (ending if rng.random() < 0.7 else "")
    return text.replace("\r\r", "\r")


def _lines_by_csv_module(source: Source) -> dict[int, int]:
    return {row: line for row, line, _ in csv_reader._data_rows(source)}


@pytest.mark.parametrize("block", [3, 7, 1 << 20])
def test_the_line_of_every_row_is_the_csv_modules(tmp_path, monkeypatch, block):
    monkeypatch.setattr(csv_reader, "CSV_BLOCK", block)
    rng = random.Random(block)
    counted = 0
    for trial in range(150):
        path = tmp_path / f"t{trial}.csv"
        path.write_bytes(_random_csv(rng).encode())
        source = Source(str(path), "csv", None, delimiter=",")
        want = _lines_by_csv_module(source)
        for row in range(45):
            assert csv_reader.physical_line(source, row) == want.get(row), (path.read_bytes(), row)
        try:
            csv_reader._line_by_bytes(source, 45)
            counted += 1
        except csv_reader._NeedsCsvModule:
            pass
    assert 30 < counted < 150  # both ways were taken


def test_a_quoted_line_break_past_the_first_block_is_counted(tmp_path, capsys):
    lines = ["y_true,y_pred,note"] + [f"{i % 2},0.5,x" for i in range(150_000)]
    lines += ['1,0.5,"a\nb"', "1,1.5,z"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    message, _ = error_lines(*cli(capsys, "eval", path, "--loss", "bce"))
    assert "row 150001 (line 150004): 1.5 is not a probability" in message


def test_a_lone_carriage_return_at_the_end_of_a_block_is_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "CSV_BLOCK", 8)
    path = tmp_path / "cr.csv"
    path.write_bytes(b"y,p\n0,0.5\n0,0.5\r1,0.5\n1,1.5\n")  # "\r": the 2nd block's last byte
    source = Source(str(path), "csv", None, delimiter=",")
    with pytest.raises(csv_reader._NeedsCsvModule):
        csv_reader._line_by_bytes(source, 3)
    assert [csv_reader.physical_line(source, row) for row in range(5)] == [2, 3, 4, 5, None]
