"""CSV dialects and what a file really is: the delimiter sniffed from the header line or
given with --delimiter, decimal commas (--decimal), True/False cells, and binary inputs
refused in one line that says what they look like, their bytes escaped (README, Input)."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SAMPLES, cli, stdin_bytes, values

import losscli.engine.passes
import losscli.io.csv_ranges
import losscli.io.csv_reader


def one_error(err: str) -> tuple[str, str | None]:
    lines = err.splitlines()
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) <= 2 and "Traceback" not in err, err
    hint = lines[1] if len(lines) == 2 else None
    assert hint is None or hint.startswith("hint: "), err
    return lines[0], hint


@pytest.fixture
def regression(tmp_path) -> Path:
    path = tmp_path / "r.csv"
    path.write_text((SAMPLES / "regression.csv").read_text())
    return path


def rewrite(path: Path, out: Path, delimiter: str, decimal: str = ".") -> Path:
    lines = path.read_text().splitlines()
    rows = [line.split(",") for line in lines]
    out.write_text(
        "\n".join(delimiter.join(c.replace(".", decimal) for c in row) for row in rows) + "\n"
    )
    return out


# ---- delimiters --------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_the_delimiter_is_sniffed_from_the_header(capsys, tmp_path, regression, delimiter):
    expected = values(capsys, regression, "--loss", "mse,mae", "--group", "segment")
    other = rewrite(regression, tmp_path / "other.csv", delimiter)
    assert values(capsys, other, "--loss", "mse,mae", "--group", "segment") == expected


def test_task_inference_reads_a_semicolon_file(capsys, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("y_true;y_pred\n0;0.2\n1;0.7\n1;0.9\n0;0.4\n")
    code, out, err = cli(capsys, "eval", path, "--format", "json")
    assert code == 0, err
    assert "binary" in err
    assert json.loads(out)["results"][0]["value"] == pytest.approx(0.29900116, rel=1e-7)


def test_a_quoted_header_cell_holding_a_comma_sniffs_right(capsys, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('"y_true";"y_pred";"note, free text"\n1,5;1,0;"a, b"\n2,5;3,0;c\n')
    assert values(capsys, path, "--loss", "mse", "--decimal", ",") == [pytest.approx(0.25)]


def test_delimiter_overrides_the_sniff(capsys, tmp_path):
    path = tmp_path / "x.csv"
    # Sniffing would split at ',' (more fields); the file is '|'-separated with commas in names.
    path.write_text("y_true|y_pred|a,b,c\n1|2|x\n3|5|y\n")
    assert values(capsys, path, "--loss", "mse", "--delimiter", "|") == [pytest.approx(2.5)]
    code, _, err = cli(capsys, "eval", path, "--loss", "mse")
    assert code == 2


def test_a_one_column_header_with_semicolons_gets_a_hint(capsys, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("y_true;y_pred\n0;0.2\n1;0.7\n")
    code, _, err = cli(capsys, "eval", path, "--loss", "mse", "--delimiter", ",")
    assert code == 2
    error, hint = one_error(err)
    assert (
        error == f"error: {path}: the header line is one column 'y_true;y_pred' when split at ','"
    )
    assert (
        hint
        == "hint: the file looks ';'-separated: use --delimiter ';' (or leave it out to have it sniffed)"
    )


def test_delimiter_reaches_grad_compare_and_recommend(capsys, tmp_path, regression):
    semi = rewrite(regression, tmp_path / "semi.csv", ";", ",")
    args = ["--loss", "mse", "--target", "y_true", "--pred", "y_pred"]
    code, plain, err = cli(capsys, "grad", regression, *args)
    assert code == 0, err
    code, out, err = cli(capsys, "grad", semi, *args, "--delimiter", ";", "--decimal", ",")
    assert code == 0, err
    assert out == plain
    code, out, err = cli(capsys, "compare", semi, semi, *args, "--decimal", ",", "--format", "json")
    assert code == 0, err
    code, out, err = cli(capsys, "recommend", regression, "--format", "json")
    assert code == 0, err
    task = json.loads(out)["task"]
    code, out, err = cli(capsys, "recommend", semi, "--decimal", ",", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["task"] == task


def test_decimal_commas(capsys, tmp_path, regression):
    expected = values(capsys, regression, "--loss", "mse,huber")
    semi = rewrite(regression, tmp_path / "semi.csv", ";", ",")
    assert values(capsys, semi, "--loss", "mse,huber", "--decimal", ",") == expected
    code, _, err = cli(capsys, "eval", semi, "--loss", "mse")
    assert code == 2
    error, hint = one_error(err)
    assert "is not a number" in error
    assert hint == "hint: numbers with decimal commas: add --decimal ','"


def test_decimal_comma_with_a_comma_delimiter_is_refused(capsys, tmp_path, regression):
    code, _, err = cli(capsys, "eval", regression, "--loss", "mse", "--decimal", ",")
    assert code == 2
    error, _ = one_error(err)
    assert error == f"error: {regression}: the delimiter ',' is also the decimal mark"


def test_delimiter_on_parquet_is_not_silently_ignored(capsys, tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"y_true": [1.0, 2.0], "y_pred": [1.0, 3.0]}), path)
    code, _, err = cli(capsys, "eval", path, "--loss", "mse", "--delimiter", ";")
    assert code == 2
    assert (
        one_error(err)[0] == f"error: --delimiter applies to CSV input; {path} is read as Parquet"
    )


def test_check_reads_the_delimiter_and_decimal_keys(capsys, tmp_path, regression, monkeypatch):
    rewrite(regression, tmp_path / "semi.csv", ";", ",")
    expected = values(capsys, regression, "--loss", "mse")[0]
    config = tmp_path / "losscli.toml"
    config.write_text(
        '[[check]]\nfile = "semi.csv"\nloss = "mse"\ndelimiter = ";"\ndecimal = ","\n'
        "fail_above = 1000.0\n"
    )
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["checks"][0]["results"][0]["value"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("chunk", [1 << 12, 20_000])
def test_chunks_parsed_ahead_use_the_sniffed_delimiter(capsys, monkeypatch, tmp_path, chunk):
    rng = np.random.default_rng(1)
    y = np.round(rng.normal(size=6000), 6)
    p = np.round(y + rng.normal(size=6000), 6)
    path = tmp_path / "big.csv"
    path.write_text(
        "y_true;y_pred\n" + "".join(f"{a:.6f};{b:.6f}\n".replace(".", ",") for a, b in zip(y, p))
    )
    serial = values(capsys, path, "--loss", "mse,mae", "--decimal", ",")
    chunks = []
    parse = losscli.io.csv_reader._parse_chunk
    monkeypatch.setattr(losscli.io.csv_ranges, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK", chunk)
    monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK_MAX", chunk)
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    monkeypatch.setattr(
        losscli.io.csv_reader, "_parse_chunk", lambda *a: chunks.append(1) or parse(*a)
    )
    assert values(capsys, path, "--loss", "mse,mae", "--decimal", ",") == pytest.approx(
        serial, rel=1e-12
    )
    assert len(chunks) >= path.stat().st_size // chunk  # every chunk, parsed as a chunk
    assert serial == [
        pytest.approx(float(np.mean((y - p) ** 2)), rel=1e-9),
        pytest.approx(float(np.mean(np.abs(y - p))), rel=1e-9),
    ]


# ---- binary inputs -----------------------------------------------------------------------


def no_raw_bytes(err: str) -> None:
    assert err.isascii() and all(c.isprintable() for c in err.replace("\n", "")), repr(err)


@pytest.mark.parametrize(
    ("data", "error", "hint"),
    [
        (
            gzip.compress(b"y_true,y_pred\n1,2\n"),
            "error: <stdin>: this looks like gzip data, not a text CSV file",
            "hint: pipe it through gunzip",  # stdin has no name to give it
        ),
        (
            b"\x28\xb5\x2f\xfd" + bytes(range(40)),
            "error: <stdin>: this looks like zstd data",
            "hint: pipe it through unzstd",
        ),
        (
            b"PAR1" + bytes(range(40)),
            "error: <stdin>: this looks like a Parquet file",
            "hint: give --input-format parquet",
        ),
    ],
    ids=["gzip", "zstd", "parquet"],
)
def test_compressed_stdin_says_what_it_is(capsys, monkeypatch, data, error, hint):
    stdin_bytes(monkeypatch, data)
    code, _, err = cli(capsys, "eval", "-", "--loss", "mse")
    assert code == 2
    no_raw_bytes(err)
    said, hinted = one_error(err)
    assert said.startswith(error)
    assert hinted == hint


@pytest.mark.parametrize(
    "kind, data, looks",
    [
        ("parquet", None, "a Parquet file"),
        ("bz2", bz2.compress(b"y_true,y_pred\n1,2\n"), "bzip2 data"),
        ("zip", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "a zip archive"),
        ("random", np.random.default_rng(0).bytes(300), "binary data"),
    ],
    ids=["parquet", "bz2", "zip", "random"],
)
def test_binary_files_named_csv_are_refused_with_escaped_bytes(capsys, tmp_path, kind, data, looks):
    path = tmp_path / "x.csv"
    if data is None:
        pq.write_table(pa.table({"y_true": [1.0, 2.0], "y_pred": [1.0, 3.0]}), tmp_path / "p.pq")
        data = (tmp_path / "p.pq").read_bytes()
    path.write_bytes(data)
    for args in (["--loss", "mse"], []):
        code, _, err = cli(capsys, "eval", path, *args)
        assert code == 2, err
        no_raw_bytes(err)
        error, _ = one_error(err)
        assert error.startswith(f"error: {path}: this looks like {looks}")


def test_a_bad_cell_with_control_characters_is_escaped(capsys, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"y_true,y_pred\n1,2\n3,\x1b[31mred\x07\n")
    code, _, err = cli(capsys, "eval", path, "--loss", "mse")
    assert code == 2
    no_raw_bytes(err)
    assert one_error(err)[0] == (
        f"error: {path}: column 'y_pred', row 1 (line 3): '\\x1b[31mred\\x07' is not a number"
    )


def test_a_latin1_file_with_a_bad_cell_is_an_input_error(capsys, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("y_true,y_pred,city\n1,2,Köln\n3,x,Zürich\n".encode("latin-1"))
    code, _, err = cli(capsys, "eval", path, "--loss", "mse")
    assert code == 2, err
    assert (
        one_error(err)[0] == f"error: {path}: column 'y_pred', row 1 (line 3): 'x' is not a number"
    )


@pytest.mark.parametrize("order", ["LE", "BE"])
def test_utf16_without_a_bom_is_named(capsys, monkeypatch, order):
    stdin_bytes(monkeypatch, "y_true,y_pred\n1,2\n3,4\n".encode(f"utf-16-{order.lower()}"))
    code, _, err = cli(capsys, "eval", "-", "--loss", "mse")
    assert code == 2
    no_raw_bytes(err)
    assert one_error(err) == (
        "error: <stdin>: this looks like UTF-16 text without a byte-order mark",
        f"hint: save it as UTF-8, e.g. iconv -f UTF-16{order} -t UTF-8",
    )
