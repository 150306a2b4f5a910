"""Every CSV that pandas reads, losscli reads: the same numbers to 1e-12, or one clear
``error:`` line with exit status 2 (never another number, never exit 70).

Each file of the matrix (quoting, missing-value spellings, number formats, line ends,
byte-order marks, encodings, compression, long cells, large files) is read by
``pandas.read_csv``; the expected mse and mae are computed by numpy from pandas' columns.
Tests marked ``bigfile`` share one generated CSV of 64 MiB or more per session, which
losscli reads in chunks parsed ahead on two threads.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

import losscli.io.csv_ranges
import losscli.io.csv_reader
import losscli.io.sources
from losscli.cli.commands import run

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(15)
Y = RNG.normal(size=240).round(6)
P = (Y + RNG.normal(scale=0.3, size=240)).round(6)


def rows_text(sep: str = "\n", header: str = "y,yhat", cells=None) -> str:
    cells = cells or [(repr(float(a)), repr(float(b))) for a, b in zip(Y, P)]
    return sep.join([header, *(f"{a},{b}" for a, b in cells)]) + sep


def eval_doc(capsys, path: Path, *args: str) -> tuple[int, dict | None, str]:
    code = run(
        ["eval", str(path), "--loss", "mse,mae", "--pred", "yhat", "--format", "json", *args]
    )
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def expected(frame: pd.DataFrame, dropna: bool) -> dict[str, float] | None:
    """mse and mae from pandas' columns; None when they are not all numbers (or not all
    finite, without --dropna): losscli must then refuse."""
    if not all(
        pd.api.types.is_float_dtype(frame[c]) or pd.api.types.is_integer_dtype(frame[c])
        for c in ("y", "yhat")
    ):
        return None
    y, p = frame["y"].to_numpy(float), frame["yhat"].to_numpy(float)
    finite = np.isfinite(y) & np.isfinite(p)
    if not finite.all() and not dropna:
        return None
    y, p = y[finite], p[finite]
    return {"mse": float(np.mean((y - p) ** 2)), "mae": float(np.mean(np.abs(y - p)))}


def assert_agrees(capsys, path: Path, frame: pd.DataFrame) -> None:
    """losscli's values equal pandas' (with and without --dropna), or losscli refuses in
    one line with exit 2 exactly when pandas' columns are not all (finite) numbers."""
    complete = expected(frame, False) is not None  # --dropna would change nothing
    for dropna in (False,) if complete else (False, True):
        want = expected(frame, dropna)
        code, doc, err = eval_doc(capsys, path, *(["--dropna"] if dropna else []))
        if want is None:
            assert code == 2, (dropna, err)
            lines = err.strip().splitlines()
            assert lines[0].startswith("error: ") and len(lines) <= 2, err
            assert all(line.startswith(("error: ", "hint: ")) for line in lines), err
            continue
        assert code == 0, (dropna, err)
        got = {r["loss"]: r["value"] for r in doc["results"]}
        assert got == pytest.approx(want, rel=1e-12, abs=0), dropna
        assert doc["input"]["rows"] - doc["input"]["rows_dropped"] == doc["results"][0]["n"]


# (id, file name, bytes, pandas.read_csv keyword arguments)
def _cases() -> list[tuple[str, str, bytes, dict]]:
    plain = rows_text()
    quoted = io.StringIO()
    writer = csv.writer(quoted, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["y", "yhat", "note"])
    for i, (a, b) in enumerate(zip(Y, P)):
        writer.writerow([repr(float(a)), repr(float(b)), ['a, "b"', "two\nlines", "x\r\ny"][i % 3]])
    cells = [(repr(float(a)), repr(float(b))) for a, b in zip(Y, P)]

    def with_cell(value: str, column: int = 1) -> str:
        changed = list(cells)
        changed[7] = (value, changed[7][1]) if column == 0 else (changed[7][0], value)
        return rows_text(cells=changed)

    cases = [
        ("lf", "a.csv", plain.encode(), {}),
        ("crlf", "a.csv", rows_text("\r\n").encode(), {}),
        ("cr", "a.csv", rows_text("\r").encode(), {}),
        ("no_final_newline", "a.csv", plain.rstrip("\n").encode(), {}),
        ("blank_lines", "a.csv", plain.replace("\n", "\n\n", 5).encode(), {}),
        ("utf8_bom", "a.csv", b"\xef\xbb\xbf" + plain.encode(), {}),
        ("utf16_le_bom", "a.csv", b"\xff\xfe" + plain.encode("utf-16-le"), {"encoding": "utf-16"}),
        ("utf16_be_bom", "a.csv", b"\xfe\xff" + plain.encode("utf-16-be"), {"encoding": "utf-16"}),
        ("utf32_bom", "a.csv", plain.encode("utf-32"), {"encoding": "utf-32"}),
        (
            "latin1_text_column",
            "a.csv",
            rows_text(header="y,yhat,città", cells=[(a, f"{b},né") for a, b in cells]).encode(
                "latin-1"
            ),
            {"encoding": "latin-1"},
        ),
        ("quote_all_with_line_breaks", "a.csv", quoted.getvalue().encode(), {}),
        ("quoted_header", "a.csv", plain.replace("y,yhat", '"y","yhat"', 1).encode(), {}),
        (
            "header_cell_with_line_break",
            "a.csv",
            rows_text(
                header='y,yhat,"note\nsecond line"', cells=[(a, f"{b},n") for a, b in cells]
            ).encode(),
            {},
        ),
        ("gzip", "a.csv.gz", gzip.compress(plain.encode()), {}),
        ("bz2", "a.csv.bz2", bz2.compress(plain.encode()), {}),
    ]
    for spelling in (
        "",
        "NA",
        "NaN",
        "nan",
        "null",
        "NULL",
        "N/A",
        "n/a",
        "#N/A",
        "None",
        "<NA>",
        "-nan",
    ):
        cases.append((f"missing_{spelling or 'empty'}", "a.csv", with_cell(spelling).encode(), {}))
    for number in ("1e5", "+1", ".5", "1.", "-0", "1E+05", "-1.5e-3", " 2", "2 ", "007"):
        cases.append((f"number_{number.strip()}", "a.csv", with_cell(number, 0).encode(), {}))
    for refused in ("1_000", '"1,000"', "0x10", "1.0.0", "abc", "inf", "-Infinity"):
        cases.append((f"not_a_finite_number_{refused}", "a.csv", with_cell(refused).encode(), {}))
    ragged = plain.split("\n")
    ragged[9] += ",3"
    cases.append(("ragged_row", "a.csv", "\n".join(ragged).encode(), {}))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name, data, read", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_small_files_agree_with_pandas(capsys, tmp_path, name, data, read):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        frame = pd.read_csv(path, **read)
    except Exception:  # pandas refuses: so must losscli, in one line
        frame = pd.DataFrame({"y": ["?"], "yhat": ["?"]})
    assert_agrees(capsys, path, frame)


def test_zstd_file_agrees_with_pandas(capsys, tmp_path):
    if not pa.Codec.is_available("zstd"):
        pytest.skip("this pyarrow has no zstd")
    path = tmp_path / "a.csv.zst"
    with pa.output_stream(path, compression="zstd") as out:
        out.write(rows_text().encode())
    # pandas reads .zst only with the zstandard package: it reads the same rows unpacked.
    assert_agrees(capsys, path, pd.read_csv(io.StringIO(rows_text())))


def _quoted_line_breaks(path: Path, rows: int, seed: int) -> None:
    """A file with many quoted notes of random lengths holding line breaks, so that some
    read block ends inside one (where Arrow's reader went out of sync)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows).round(4)
    p = (y + rng.normal(scale=0.5, size=rows)).round(4)
    lines = ["id,y,yhat,note"]
    for i in range(rows):
        note = "x"
        if rng.random() < 0.3:
            parts = ["w" * int(k) for k in rng.integers(0, 30, size=rng.integers(1, 6))]
            note = '"' + "\n".join(parts) + '"'
        lines.append(f"{i},{y[i]},{p[i]},{note}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("seed", [0, 2])
def test_quoted_line_breaks_past_the_first_block(capsys, tmp_path, monkeypatch, seed):
    path = tmp_path / "notes.csv"
    _quoted_line_breaks(path, 120_000, seed=seed)
    assert path.stat().st_size > 4 * losscli.io.csv_reader.CSV_BLOCK
    # Arrow's reader alone fails on these ("out of sync with chunker", or "Expected 4
    # columns, got 1" where a block starts inside a quoted field).
    with pytest.raises(pa.ArrowInvalid):
        for _ in pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 20)):
            pass
    frame = pd.read_csv(path)
    assert_agrees(capsys, path, frame)  # the first block shows quoted line breaks
    monkeypatch.setattr(losscli.io.sources, "SNIFF_BYTES", 64)  # now it shows none: a read again
    assert_agrees(capsys, path, frame)


def test_a_cell_longer_than_the_read_block(capsys, tmp_path):
    path = tmp_path / "long.csv"
    cells = [
        (f"{a},{'z' * (3 * losscli.io.csv_reader.CSV_BLOCK if i == 120 else 1)}", repr(float(b)))
        for i, (a, b) in enumerate(zip(Y, P))
    ]
    path.write_text(rows_text(header="y,note,yhat", cells=cells))
    assert_agrees(capsys, path, pd.read_csv(path))


def test_a_header_name_with_a_line_break_is_one_name(capsys, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(rows_text(header='"target\nvalue","model\r\nscore"'))
    code = run(
        [
            "eval",
            str(path),
            "--loss",
            "mse",
            "--target",
            "target value",
            "--pred",
            "model score",
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["input"]["predictions"] == ["model score"]
    assert json.loads(out)["results"][0]["value"] == pytest.approx(
        float(np.mean((Y - P) ** 2)), rel=1e-12
    )


def test_stdin_with_quoted_line_breaks_past_the_first_block(tmp_path):
    path = tmp_path / "notes.csv"
    _quoted_line_breaks(path, 60_000, seed=4)
    rows = "".join(f"{i},{a},{b},x\n" for i, (a, b) in enumerate(zip(Y, P)))
    plain = rows * (3 * losscli.io.sources.SNIFF_BYTES // len(rows))
    data = path.read_bytes()
    body = b"id,y,yhat,note\n" + plain.encode() + data[data.index(b"\n") + 1 :]
    done = run_losscli(
        "eval", "-", "--loss", "mse", "--pred", "yhat", "--format", "json", input=body
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(io.BytesIO(body))
    want = float(np.mean((frame.y - frame.yhat) ** 2))
    assert json.loads(done.stdout)["results"][0]["value"] == pytest.approx(want, rel=1e-12)


def test_a_cell_longer_than_the_block_on_stdin_is_one_error_line():
    body = (
        f"y,yhat,note\n1,2,x\n3,4,{'z' * (2 * losscli.io.csv_reader.CSV_BLOCK)}\n5,6,x\n".encode()
    )
    done = run_losscli("eval", "-", "--loss", "mse", "--pred", "yhat", input=body)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: <stdin>: cannot read the CSV rows: a row is longer than 1 MiB",
        "hint: save the input to a file and read that",
    ]


# ---- what must never reach the user: exit 70, JSON that is not JSON, raw warnings ----------


def run_losscli(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "losscli", *args],
        capture_output=True,
        input=input,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


def test_overflowing_values_give_strict_json_and_one_warning(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("y,yhat\n1e300,-1e300\n2,3\n-1e308,1e308\n")
    done = run_losscli("eval", str(path), "--loss", "mse,mae", "--pred", "yhat", "--format", "json")
    assert done.returncode == 0, done.stderr
    values = {
        r["loss"]: r["value"]
        for r in json.loads(done.stdout, parse_constant=pytest.fail)["results"]
    }
    assert values == {"mse": "Infinity", "mae": "Infinity"}
    with np.errstate(over="ignore"):
        want = np.mean((np.array([1e300, 2, -1e308]) - np.array([-1e300, 3, 1e308])) ** 2)
    assert float(values["mse"]) == want
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("warning: mse, mae:"), (
        done.stderr
    )
    assert "RuntimeWarning" not in done.stderr


def test_a_utf16_file_without_its_rows_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("y,yhat\n1,2\nx,3\n".encode("utf-16"))
    done = run_losscli("eval", str(path), "--loss", "mse", "--pred", "yhat")
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}: column 'y'") and "'x' is not a number" in first


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_or_after_the_command_name(tmp_path, where):
    path = tmp_path / "a.csv"
    path.write_text("y,yhat\n1,2\n")
    args = ["eval", str(path), "--pred", "nope"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    done = run_losscli(*args)
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-2] == "error: --pred 'nope': no such column"


# ---- a file of 64 MiB or more: chunks parsed ahead on two threads --------------------------


@pytest.fixture(scope="session")
def big_csv(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """One CSV just over the parallel-read threshold (written once per session), and the
    pandas frame of the block it repeats."""
    cells = [(repr(float(a)), f"{float(b)!r},x") for a, b in zip(Y, P)]
    block = rows_text(header="", cells=cells).lstrip("\n").encode() * 64
    head = b"y,yhat,note\n"
    copies = losscli.io.csv_ranges.PARALLEL_MIN_BYTES // len(block) + 1
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(copies):
            f.write(block)
    return path, pd.read_csv(io.BytesIO(head + block))


@pytest.mark.bigfile
def test_a_file_over_the_parallel_threshold_agrees_with_pandas(capsys, big_csv, monkeypatch):
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    path, block = big_csv
    assert path.stat().st_size >= losscli.io.csv_ranges.PARALLEL_MIN_BYTES
    assert losscli.io.csv_ranges.chunkable(losscli.io.sources.detect_format(str(path)))
    assert_agrees(capsys, path, block)  # the mean of copies of a block is the block's mean


@pytest.mark.bigfile
def test_a_big_file_with_a_quoted_line_break_at_a_cut(capsys, big_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    path, _ = big_csv
    quoted = tmp_path / "quoted.csv"
    data = path.read_bytes()
    middle = data.index(b"\n", len(data) // 2 - 40)
    start = data.rindex(b"\n", 0, middle) + 1
    # a note of 40 short lines around the middle: the chunk holding it, and every chunk
    # after it, go to the serial reader
    note = '"' + "\n".join(["note"] * 40) + '"'
    row = data[start:middle].decode().rsplit(",", 1)[0] + f",{note}"
    data = data[:start] + row.encode() + data[middle:]
    quoted.write_bytes(data)
    assert losscli.io.csv_ranges.chunkable(losscli.io.sources.detect_format(str(quoted)))
    assert_agrees(capsys, quoted, pd.read_csv(quoted))
