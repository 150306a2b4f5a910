"""Bad input to ``losscli eval`` (and ``grad``): exit 2 and one error line (README "In CI"), one case per kind of mistake.

Every user error exits 2 with exactly one ``error:`` line on stderr (at most one
``hint:`` line, possibly ``note:`` lines, nothing else, never a traceback). The
message says what is wrong and where (file, column, row or line) and, where there
is one, how to fix it. A failed run never touches an existing ``-o`` file and
leaves no temporary file beside it. Only a failed ``--fail-above`` check exits 1;
a bug exits 70.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli, error_lines, stdin_bytes

import losscli.app.evaluation

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
BIG = 300_000  # rows of "1,2\n": more than io.SNIFF_BYTES (1 MiB)
KNOWN = b"previous results, must survive a failed run\n"

GOOD = "y_true,y_pred\n1.0,1.5\n2.0,2.5\n3.0,3.0\n4.0,3.5\n"
BINARY = "y_true,y_pred\n0,0.2\n1,0.9\n0,0.3\n1,0.6\n"
MULTICLASS = "label,prob_cat,prob_dog\ncat,0.5,0.5\ndog,0.3,0.7\ncat,0.9,0.1\n"


# ---- helpers ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    """A fixture file in ``tmp_path/in`` (outputs go to ``tmp_path/out``); returns its path."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def user_error(capsys, *args: object) -> tuple[str, str | None]:
    return error_lines(*cli(capsys, *args))


def refused_with_hint(capsys, args: list, says: list[str], hinted: str) -> None:
    """``losscli ARGS`` is a user error naming every part of ``says``, with a hint naming ``hinted``."""
    msg, hint = user_error(capsys, *args)
    contains_all(msg, *says)
    assert hint is not None and hinted in hint


def contains_all(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


@pytest.fixture
def out_file(tmp_path):
    """An existing ``-o`` target with known content; the check that it survived."""
    folder = tmp_path / "out"
    folder.mkdir()

    def make(name: str = "out.csv") -> Path:
        path = folder / name
        path.write_bytes(KNOWN)
        return path

    return make


def untouched(path: Path) -> None:
    """The file has its old bytes and no temporary file (``.NAME.*.tmp``) is left beside it."""
    assert path.read_bytes() == KNOWN
    leftovers = [
        p.name for p in path.parent.iterdir() if p.name.startswith(".") or ".tmp" in p.name
    ]
    assert leftovers == [], leftovers


def subprocess_cli(*args: object, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "losscli", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


# ---- the file: missing, unknown, empty, ragged -----------------------------------------


def test_missing_file(tmp_path, capsys, out_file):
    out = out_file()
    path = str(tmp_path / "in" / "nope.csv")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "-o", out)
    contains_all(msg, "nope.csv", "no such file")
    untouched(out)


def test_missing_file_grad(tmp_path, capsys, out_file):
    out = out_file("g.csv")
    msg, _ = user_error(capsys, "grad", tmp_path / "nope.csv", "--loss", "mse", "-o", out)
    contains_all(msg, "nope.csv", "no such file")
    untouched(out)


def test_unknown_extension_hints_input_format(tmp_path, capsys):
    path = write(tmp_path, "preds.xyz", GOOD)
    refused_with_hint(
        capsys, ["eval", path, "--loss", "mse"], ["preds.xyz", ".xyz"], "--input-format"
    )
    # and the hint works
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--input-format", "csv")
    assert code == 0, err


def test_unknown_input_format_value(tmp_path, capsys):
    path = write(tmp_path, "good.csv", GOOD)
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "mse", "--input-format", "xml"],
        ["--input-format", "xml"],
        "parquet",
    )


def test_empty_file(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "empty.csv", b"")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "-o", out)
    contains_all(msg, "empty.csv", "empty")
    untouched(out)


def test_empty_file_without_loss(tmp_path, capsys):
    path = write(tmp_path, "empty.csv", b"")
    msg, _ = user_error(capsys, "eval", path)
    contains_all(msg, "empty.csv", "empty")


def test_header_only(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "header.csv", "y_true,y_pred\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "-o", out)
    assert "header.csv" in msg
    assert re.search(r"no (data )?rows", msg), msg
    untouched(out)


def test_header_only_reduction_none(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "header.csv", "y_true,y_pred\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "--reduction", "none", "-o", out)
    assert "header.csv" in msg and "rows" in msg
    untouched(out)


NAN = "y_true,y_pred\n0,0\n1,nan\n2,\n3,inf\n4,4\n"
RAGGED = "y_true,y_pred\n1,2\n3,4\n5,6,7\n8,9\n"


def test_ragged_row_names_the_line(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "ragged.csv", RAGGED)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "-o", out)
    contains_all(msg, "ragged.csv", "line 4", "3 fields")
    assert hint is not None
    untouched(out)


def test_ragged_row_compressed(tmp_path, capsys):
    import gzip

    path = write(tmp_path, "ragged.csv.gz", gzip.compress(RAGGED.encode()))
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "ragged.csv.gz", "line 4")


def test_ragged_row_tsv(tmp_path, capsys):
    path = write(tmp_path, "ragged.tsv", RAGGED.replace(",", "\t"))
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "ragged.tsv", "line 4")


def test_ragged_row_on_stdin_while_inferring(capsys, monkeypatch):
    # without --loss stdin is buffered (for task inference), so the line is found
    stdin_bytes(monkeypatch, RAGGED.encode())
    msg, _ = user_error(capsys, "eval", "-")
    contains_all(msg, "<stdin>", "line 4", "3 fields")


def test_ragged_row_on_stdin_names_the_line(capsys, monkeypatch):
    stdin_bytes(monkeypatch, RAGGED.encode())
    msg, _ = user_error(capsys, "eval", "-", "--loss", "mse")
    contains_all(msg, "<stdin>", "line 4", "3 fields")


def test_a_ragged_row_on_streamed_stdin_is_shown_escaped(capsys, monkeypatch):
    """Where stdin's row is no longer kept (io.stream_tail), the message quotes it."""
    from losscli.io.stream_tail import StreamTail

    monkeypatch.setattr(StreamTail, "lines", lambda self: iter(()))
    stdin_bytes(monkeypatch, b"y_true,y_pred\n1,2\n3,4\n5,6,\x1b[31mx\n")
    msg, hint = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg == (
        "error: <stdin>: ragged CSV row '5,6,\\x1b[31mx': 3 fields where the header has 2"
    )
    assert "one value per header column" in hint


LINE_CASES = {
    # name: (file text, loss, what the message must contain)
    "ragged_after_multiline_field": (
        'y_true,y_pred,note\n1,2,"multi\nline"\n3,4,x\n5,6,x,extra\n',
        "mse",
        ["line 5", "4 fields"],
    ),
    "value_after_blank_line": ("y_true,y_pred\n0,0.2\n\n1,1.5\n", "bce", ["row 1 (line 4)"]),
    "value_after_multiline_field": (
        'y_true,y_pred,note\n0,0.2,"a\nb"\n1,1.5,c\n',
        "bce",
        ["row 1 (line 4)"],
    ),
    "value_after_blank_crlf_line": (
        "y_true,y_pred\r\n0,0.2\r\n\r\n1,1.5\r\n",
        "bce",
        ["row 1 (line 4)"],
    ),
    "value_after_blank_cr_line": ("y_true,y_pred\r0,0.2\r\r1,1.5\r", "bce", ["row 1 (line 4)"]),
    "non_numeric_after_blank_line": ("y_true,y_pred\n1,2\n\n3,abc\n", "mse", ["row 1 (line 4)"]),
    "non_numeric_after_multiline_field": (
        'y_true,y_pred,note\n1,2,"a\nb"\n3,abc,x\n',
        "mse",
        ["row 1 (line 4)"],
    ),
}


@pytest.mark.parametrize("case", list(LINE_CASES))
def test_line_numbers_are_physical_lines(tmp_path, capsys, case):
    text, loss, parts = LINE_CASES[case]
    path = write(tmp_path, "lines.csv", text)
    msg, _ = user_error(capsys, "eval", path, "--loss", loss)
    contains_all(msg, "lines.csv", *parts)


def test_blank_line_does_not_shift_rows(tmp_path, capsys):
    path = write(tmp_path, "blank.csv", "y_true,y_pred\n0,0.2\n\n1,1.5\n")
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "bce"],
        ["blank.csv", "'y_pred'", "row 1", "1.5"],
        "--from-logits",
    )


def test_ragged_row_subprocess(tmp_path):
    path = write(tmp_path, "ragged.csv", RAGGED)
    proc = subprocess_cli("eval", path, "--loss", "mse")
    msg, _ = error_lines(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    contains_all(msg, "ragged.csv", "line 4")
    assert proc.stdout == b""


# ---- columns ---------------------------------------------------------------------------


def test_missing_pred_column_did_you_mean(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "good.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--pred", "y_pre", "-o", out)
    contains_all(msg, "good.csv", "--pred", "'y_pre'", "no such column")
    assert hint is not None
    contains_all(hint, "did you mean", "y_pred")
    untouched(out)


def test_missing_target_weight_group_columns(tmp_path, capsys):
    path = write(tmp_path, "good.csv", GOOD)
    for flag, name in (("--target", "ytrue"), ("--weight", "wieght"), ("--group", "segment")):
        msg, hint = user_error(capsys, "eval", path, "--loss", "mse", flag, name)
        contains_all(msg, "good.csv", flag, repr(name), "no such column")
        assert hint is not None and ("did you mean" in hint or "y_true, y_pred" in hint)


def test_no_default_target_column_lists_columns(tmp_path, capsys):
    path = write(tmp_path, "cols.csv", "a,b,c\n1,2,3\n4,5,6\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--pred", "b")
    contains_all(msg, "cols.csv", "no target column")
    assert hint is not None
    contains_all(hint, "--target", "a, b, c")


def test_no_default_prediction_column_lists_columns(tmp_path, capsys):
    path = write(tmp_path, "cols.csv", "y_true,b,c\n1,2,3\n4,5,6\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "cols.csv", "no prediction column")
    assert hint is not None
    contains_all(hint, "--pred", "y_true, b, c")


def test_no_default_columns_without_loss(tmp_path, capsys):
    path = write(tmp_path, "cols.csv", "a,b\n1,2\n3,4\n")
    refused_with_hint(capsys, ["eval", path], ["cols.csv"], "--loss")


def test_ambiguous_prediction_families(tmp_path, capsys):
    path = write(
        tmp_path,
        "amb.csv",
        "y_true,p_0,p_1,logit_0,logit_1\n0,0.5,0.5,1,2\n1,0.4,0.6,3,4\n",
    )
    refused_with_hint(
        capsys, ["eval", path, "--loss", "cross_entropy"], ["amb.csv", "p_*", "logit_*"], "--pred"
    )
    # choosing one family resolves it
    code, _, err = cli(capsys, "eval", path, "--loss", "cross_entropy", "--pred", "p_*")
    assert code == 0, err


def test_glob_matching_nothing(tmp_path, capsys):
    path = write(tmp_path, "good.csv", GOOD)
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "mse", "--pred", "q_*"],
        ["--pred", "q_*"],
        "y_true, y_pred",
    )


# ---- cells: non-numeric, missing -------------------------------------------------------


def _big_prefix(rows: int = BIG) -> str:
    """More than io.SNIFF_BYTES (1 MiB) of clean rows, so a bad cell lies past the sniffed block."""
    return "y_true,y_pred\n" + "1,2\n" * rows


def test_non_numeric_cell_past_the_first_block(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "late.csv", _big_prefix() + "3,abc\n5,6\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "-o", out)
    contains_all(msg, "late.csv", "'y_pred'", f"row {BIG}", f"line {BIG + 2}", "'abc'")
    assert hint is not None
    untouched(out)


def test_non_numeric_cell_past_the_first_block_grad(tmp_path, capsys, out_file):
    out = out_file("g.parquet")
    path = write(tmp_path, "late.csv", _big_prefix() + "3,abc\n5,6\n")
    msg, _ = user_error(capsys, "grad", path, "--loss", "mse", "-o", out)
    contains_all(msg, "late.csv", "'y_pred'", f"line {BIG + 2}", "'abc'")
    untouched(out)


@pytest.mark.parametrize(
    ("name", "text", "args", "column", "value"),
    [
        ("nonnum.csv", "y_true,y_pred\n1,2\n3,abc\n5,6\n", [], "'y_pred'", "'abc'"),
        ("nonnum_t.csv", "y_true,y_pred\n1,2\nabc,4\n5,6\n", [], "'y_true'", "'abc'"),
        (
            "nonnum_w.csv",
            "y_true,y_pred,w\n1,2,1\n3,4,x\n5,6,1\n",
            ["--weight", "w"],
            "'w'",
            "'x'",
        ),
    ],
    ids=["prediction", "regression_target", "weight"],
)
def test_non_numeric_cell(tmp_path, capsys, out_file, name, text, args, column, value):
    out = out_file()
    path = write(tmp_path, name, text)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", *args, "-o", out)
    contains_all(msg, name, column, "row 1", "line 3", value, "not a number")
    assert hint is not None
    untouched(out)


def test_non_numeric_cell_grad(tmp_path, capsys, out_file):
    out = out_file("g.csv")
    path = write(tmp_path, "nonnum.csv", "y_true,y_pred\n1,2\n3,abc\n5,6\n")
    msg, _ = user_error(capsys, "grad", path, "--loss", "mse", "-o", out)
    contains_all(msg, "nonnum.csv", "'y_pred'", "row 1", "'abc'")
    untouched(out)


def test_text_column_chosen_as_prediction(capsys):
    msg, _ = user_error(
        capsys, "eval", SAMPLES / "regression.csv", "--loss", "mse", "--pred", "segment"
    )
    contains_all(msg, "regression.csv", "'segment'", "row 0", "line 2", "not a number")


def test_non_numeric_cell_on_stdin(capsys, monkeypatch):
    stdin_bytes(monkeypatch, (_big_prefix() + "3,abc\n5,6\n").encode())
    msg, _ = user_error(capsys, "eval", "-", "--loss", "mse")
    contains_all(msg, "<stdin>", "'y_pred'", f"row {BIG}", "'abc'")


@pytest.mark.parametrize("flag", ["--pred", "--weight"])
def test_parquet_text_column_where_numbers_are_needed(capsys, out_file, flag):
    out = out_file()
    msg, hint = user_error(
        capsys, "eval", SAMPLES / "regression.parquet", "--loss", "mse", flag, "segment", "-o", out
    )
    contains_all(msg, "regression.parquet", "'segment'", "text")
    assert hint is not None
    untouched(out)


def test_jsonl_non_numeric_value(tmp_path, capsys):
    path = write(tmp_path, "bad.jsonl", '{"y_true":1,"y_pred":2}\n{"y_true":1,"y_pred":"x"}\n')
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "bad.jsonl", "'y_pred'", "row 1", "'x'")


GOOD_LINE = '{"y_true": 1, "y_pred": 2, "g": "a"}\n'
JSONL_MISFITS = {
    # name: (the lines after a good one, the message after the file's name)
    "string": (
        '{"y_true": 1, "y_pred": "x", "g": "a"}\n',
        "column 'y_pred', row 1 (line 2): 'x' is not a number",
    ),
    "boolean after a blank line": (
        '\n{"y_true": 1, "y_pred": true, "g": "a"}\n',
        "column 'y_pred', row 1 (line 3): true is not a number",
    ),
    "array, third row": (
        GOOD_LINE + '{"y_true": 1, "y_pred": [1], "g": "a"}\n',
        "column 'y_pred', row 2 (line 3): [1] is not a number",
    ),
    "number in a text column": (
        '{"y_true": 1, "y_pred": 2, "g": 3}\n',
        "column 'g', row 1 (line 2): 3 is not text (the column's kind is its value's on line 1)",
    ),
    "not JSON": ("not json\n", "line 2 is not valid JSON"),
    "two objects on a line, then a string": (
        GOOD_LINE.strip() + " " + GOOD_LINE + '{"y_true": 1, "y_pred": "x", "g": "a"}\n',
        "column 'y_pred', row 3 (line 3): 'x' is not a number",
    ),
    "the text 'true'": (
        '{"y_true": 1, "y_pred": "true", "g": "a"}\n',
        "column 'y_pred', row 1 (line 2): 'true' is not a number",
    ),
    "not an object": ("[1, 2]\n", "line 2 is not a JSON object"),
}


@pytest.mark.parametrize("case", list(JSONL_MISFITS))
def test_a_jsonl_value_that_does_not_fit_is_found_by_line_row_and_column(tmp_path, capsys, case):
    rest, says = JSONL_MISFITS[case]
    path = write(tmp_path, "bad.jsonl", GOOD_LINE + rest)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--group", "g")
    assert msg == f"error: {path}: {says}"
    assert hint is not None
    gz = tmp_path / "bad.jsonl.gz"
    gz.write_bytes(gzip.compress((GOOD_LINE + rest).encode()))
    assert user_error(capsys, "eval", gz, "--loss", "mse", "--group", "g")[0] == (
        f"error: {gz}: {says}"
    )


def test_a_jsonl_misfit_on_streamed_stdin_names_the_column(capsys, monkeypatch):
    stdin_bytes(monkeypatch, (GOOD_LINE + '{"y_true": 1, "y_pred": "x", "g": "a"}\n').encode())
    msg, hint = user_error(capsys, "eval", "-", "--input-format", "jsonl", "--loss", "mse")
    assert msg == "error: <stdin>: column 'y_pred': a JSON string where a number is due"
    assert "save stdin to a file" in hint


def test_jsonl_errors_name_the_file(tmp_path, capsys):
    path = write(tmp_path, "bad.jsonl", '{"y_true":1,"y_pred":2}\nnot json\n')
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "bad.jsonl", "JSON")
    path = write(tmp_path, "miss.jsonl", '{"y_true":1,"y_pred":2}\n{"y_true":3}\n')
    refused_with_hint(
        capsys, ["eval", path, "--loss", "mse"], ["miss.jsonl", "'y_pred'", "row(s) 1"], "--dropna"
    )


@pytest.mark.parametrize(
    "name,text,says,fix",
    [
        (
            "array.json",
            '[{"y_true": 1, "y_pred": 2}]\n',
            "line 1 opens a JSON array; JSON Lines holds one JSON object per line",
            "lines=True",
        ),
        (
            "pretty.json",
            '{\n  "y_true": 1,\n  "y_pred": 2\n}\n',
            "line 1 is not a whole JSON object: the file looks like one JSON document",
            "lines=True",
        ),
        (
            "doc.json",
            '{\n  "schema": "losscli.eval/1",\n  "results": []\n}\n',
            "this is a losscli output document, not predictions",
            "the predictions file",
        ),
        ("table.jsonl", "y_true,y_pred\n1,2\n", "line 1 is not a JSON object", "--input-format"),
        (
            "blank-first.json",
            '\n[{"y_true": 1, "y_pred": 2}]\n',
            "line 2 opens a JSON array",
            "lines=True",
        ),
        (
            "pretty-predictions.json",
            '{\n  "src": "losscli.toml",\n  "y_true": 1\n}\n',
            "line 1 is not a whole JSON object",
            "lines=True",
        ),
    ],
)
def test_json_that_is_not_json_lines_says_what_it_is_and_the_fix(
    tmp_path, capsys, name, text, says, fix
):
    path = write(tmp_path, name, text)
    code, out, err = cli(capsys, "eval", path, "--loss", "mse")
    message, hint = error_lines(code, out, err)
    assert message.startswith(f"error: {path}: {says}")
    assert fix in hint


def test_not_a_parquet_file(tmp_path, capsys):
    path = write(tmp_path, "bad.parquet", b"this is not parquet\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "bad.parquet", "Parquet")


def test_parquet_directory_problems(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty = tmp_path / "empty_dir"
    empty.mkdir()
    msg, _ = user_error(capsys, "eval", empty, "--loss", "mse")
    contains_all(msg, "empty_dir", ".parquet")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(pa.table({"y_true": [1.0, 2.0], "y_pred": [1.0, 2.5]}), mixed / "a.parquet")
    pq.write_table(pa.table({"y_true": [1.0, 2.0], "yhat": [1.0, 2.5]}), mixed / "b.parquet")
    msg, _ = user_error(capsys, "eval", mixed, "--loss", "mse")
    contains_all(msg, "b.parquet", "y_pred")


NAN = "y_true,y_pred\n1,2\n3,nan\n5,\n7,inf\n9,10\n"


def test_nan_inf_empty_cells_count_and_first_rows(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "nan.csv", NAN)
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "mse", "-o", out],
        ["nan.csv", "'y_pred'", "3 empty", "1, 2, 3"],
        "--dropna",
    )
    untouched(out)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_nan_cells_leave_o_untouched(tmp_path, capsys, out_file, reduction):
    out = out_file("rows.parquet")
    path = write(tmp_path, "nan.csv", NAN)
    user_error(capsys, "eval", path, "--loss", "mse", "--reduction", reduction, "-o", out)
    untouched(out)


def test_nan_cells_in_a_later_batch_leave_o_untouched(tmp_path, capsys, out_file):
    # rows were already written to the temporary file when the bad cell shows up
    out = out_file("rows.csv")
    text = "y_true,y_pred\n" + "1.5,2.5\n" * BIG + "3,nan\n"
    path = write(tmp_path, "late_nan.csv", text)
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "--reduction", "none", "-o", out)
    contains_all(msg, "late_nan.csv", "'y_pred'", str(BIG))
    untouched(out)


def test_nan_in_target_and_grad(tmp_path, capsys, out_file):
    out = out_file("g.csv")
    path = write(tmp_path, "nan_t.csv", "y_true,y_pred\n1,2\n,3\n5,6\n")
    refused_with_hint(
        capsys,
        ["grad", path, "--loss", "mse", "-o", out],
        ["nan_t.csv", "'y_true'", "row(s) 1"],
        "--dropna",
    )
    untouched(out)


def test_dropna_drops_and_reports(tmp_path, capsys):
    path = write(tmp_path, "nan.csv", NAN)
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--dropna", "--format", "json")
    assert code == 0, err
    assert "error:" not in err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "dropped 3" in notes[0] and "5" in notes[0], err
    doc = json.loads(out)
    assert doc["input"]["rows"] == 5
    assert doc["input"]["rows_dropped"] == 3
    (result,) = doc["results"]
    assert result["n"] == 2
    assert result["value"] == pytest.approx(1.0)  # rows (1,2) and (9,10)


def test_dropna_quiet_hides_the_note(tmp_path, capsys):
    path = write(tmp_path, "nan.csv", NAN)
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--dropna", "-q")
    assert code == 0 and err == ""


def test_dropna_every_row_bad(tmp_path, capsys):
    path = write(tmp_path, "allnan.csv", "y_true,y_pred\n1,\n2,nan\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "--dropna")
    contains_all(msg, "allnan.csv")


# ---- values a loss cannot take ---------------------------------------------------------


def test_probability_outside_unit_interval_hints_from_logits(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "prob.csv", "y_true,y_pred\n0,0.2\n1,1.5\n0,0.3\n")
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "bce", "-o", out],
        ["prob.csv", "'y_pred'", "row 1", "line 3", "1.5"],
        "--from-logits",
    )
    untouched(out)


def test_labels_outside_0_1_for_bce(tmp_path, capsys):
    path = write(tmp_path, "lab.csv", "y_true,y_pred\n0,0.2\n2,0.5\n0,0.3\n")
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "bce"],
        ["lab.csv", "'y_true'", "row 1", "line 3", "2"],
        "0 or 1",
    )


def test_labels_outside_set_for_hinge(tmp_path, capsys):
    path = write(tmp_path, "h.csv", "y_true,score\n1,0.5\n-1,0.2\n3,0.1\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "hinge")
    contains_all(msg, "h.csv", "'y_true'", "row 2", "3")
    assert hint is not None


def test_string_label_not_a_class(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "fish.csv", "label,prob_cat,prob_dog\ncat,0.5,0.5\nfish,0.4,0.6\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "cross_entropy", "-o", out)
    contains_all(msg, "fish.csv", "'label'", "row 1", "'fish'")
    assert hint is not None
    contains_all(hint, "cat", "dog")
    untouched(out)


def test_integer_label_out_of_range(tmp_path, capsys):
    path = write(tmp_path, "int.csv", "y_true,p_0,p_1\n0,0.5,0.5\n2,0.4,0.6\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "cross_entropy")
    contains_all(msg, "int.csv", "'y_true'", "row 1", "2")
    assert hint is not None and "0..1" in (msg + hint)


def test_class_probabilities_not_summing_to_one(tmp_path, capsys):
    path = write(tmp_path, "sum.csv", "label,prob_cat,prob_dog\ncat,0.5,0.5\ndog,0.7,0.6\n")
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "cross_entropy"],
        ["sum.csv", "prob_cat", "row 1", "line 3", "sum to 1", "1.3"],
        "--from-logits",
    )


def test_negative_weights(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "negw.csv", "y_true,y_pred,w\n1,2,1\n3,4,-1\n5,6,2\n")
    refused_with_hint(
        capsys,
        ["eval", path, "--loss", "mse", "--weight", "w", "-o", out],
        ["negw.csv", "'w'", "row 1", "-1", "negative"],
        ">= 0",
    )
    untouched(out)


def test_negative_weights_grad(tmp_path, capsys):
    path = write(tmp_path, "negw.csv", "y_true,y_pred,w\n1,2,1\n3,4,-1\n5,6,2\n")
    msg, _ = user_error(capsys, "grad", path, "--loss", "mse", "--weight", "w")
    contains_all(msg, "negw.csv", "'w'", "row 1")


ZERO_WEIGHTS = "y_true,y_pred,w\n1,2,0\n3,5,0\n"


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--format", "json"],
        ["eval", "--format", "table"],
        ["eval", "--gradients"],
        ["grad"],
    ],
    ids=["json", "table", "gradients", "grad"],
)
def test_weights_summing_to_zero(tmp_path, capsys, out_file, args):
    out = out_file()
    path = write(tmp_path, "w0.csv", ZERO_WEIGHTS)
    msg, _ = user_error(
        capsys, args[0], path, "--loss", "mse", "--weight", "w", *args[1:], "-o", out
    )
    contains_all(msg, "w0.csv", "'w'")
    assert re.search(r"sum to 0|zero", msg), msg
    untouched(out)


@pytest.mark.parametrize("extra", [["--format", "json"], ["--gradients"]])
def test_group_with_zero_total_weight_is_not_an_internal_error(tmp_path, capsys, extra):
    path = write(tmp_path, "w0g.csv", "y_true,y_pred,w,g\n1,2,1,a\n3,5,0,b\n")
    code, out, err = cli(
        capsys, "eval", path, "--loss", "mse", "--weight", "w", "--group", "g", *extra
    )
    assert code in (0, 2), err
    assert "internal error" not in err


def test_reduction_sum_with_zero_weights_is_fine(tmp_path, capsys):
    path = write(tmp_path, "w0.csv", ZERO_WEIGHTS)
    code, out, err = cli(
        capsys,
        "eval",
        path,
        "--loss",
        "mse",
        "--weight",
        "w",
        "--reduction",
        "sum",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["results"][0]["value"] == 0.0


@pytest.mark.parametrize(
    ("data", "column", "row", "value"),
    [
        ("y_true,y_pred\n1,2\n-3,4\n5,6\n", "'y_true'", "row 1", "-3"),
        ("y_true,y_pred\n1,2\n3,4\n5,-6\n", "'y_pred'", "row 2", "-6"),
    ],
)
def test_negative_inputs_for_msle(tmp_path, capsys, out_file, data, column, row, value):
    out = out_file()
    path = write(tmp_path, "neg.csv", data)
    msg, hint = user_error(capsys, "eval", path, "--loss", "msle", "-o", out)
    contains_all(msg, "neg.csv", column, row, value, "negative")
    assert hint is not None
    untouched(out)


def test_negative_counts_for_poisson(tmp_path, capsys):
    path = write(tmp_path, "cnt.csv", "y_true,y_pred\n1,2\n-3,4\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "poisson")
    contains_all(msg, "cnt.csv", "'y_true'", "row 1", "-3")


# ---- parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "args", "param", "value", "valid"),
    [
        (GOOD, ["--loss", "huber", "--delta", "0"], "delta", "0", "> 0"),
        (GOOD, ["--loss", "huber", "--delta", "-2"], "delta", "-2", "> 0"),
        (GOOD, ["--loss", "smooth_l1", "--beta", "0"], "beta", "0", "> 0"),
        (GOOD, ["--loss", "quantile", "--quantile", "1.5"], "quantile", "1.5", "(0, 1)"),
        (GOOD, ["--loss", "quantile", "--quantile", "0"], "quantile", "0", "(0, 1)"),
        (BINARY, ["--loss", "focal", "--gamma", "-1"], "gamma", "-1", ">= 0"),
        (BINARY, ["--loss", "focal", "--alpha", "2"], "alpha", "2", "[0, 1]"),
        (BINARY, ["--loss", "bce", "--label-smoothing", "1"], "label_smoothing", "1", "[0, 1)"),
        (BINARY, ["--loss", "bce", "--class-weights", "1,2,3"], "class_weights", "3", "2"),
        (BINARY, ["--loss", "bce", "--pos-weight", "0"], "pos_weight", "0", "> 0"),
        (BINARY, ["--loss", "bce", "--eps", "0"], "eps", "0", "> 0"),
        (
            MULTICLASS,
            ["--loss", "cross_entropy", "--class-weights", "1,2,3"],
            "class_weights",
            "3",
            "2",
        ),
        (GOOD, ["--loss", "huber(delta=0)"], "delta", "0", "> 0"),
    ],
)
def test_invalid_params_name_param_value_and_range(
    tmp_path, capsys, out_file, data, args, param, value, valid
):
    out = out_file()
    path = write(tmp_path, "data.csv", data)
    msg, _ = user_error(capsys, "eval", path, *args, "-o", out)
    assert param in msg, msg
    assert re.search(rf"{param}=\S*{re.escape(value)}", msg), msg
    assert valid in msg.split(":", 2)[-1], msg
    untouched(out)


def test_invalid_param_grad(tmp_path, capsys, out_file):
    out = out_file("g.csv")
    path = write(tmp_path, "data.csv", GOOD)
    msg, _ = user_error(capsys, "grad", path, "--loss", "huber", "--delta", "0", "-o", out)
    contains_all(msg, "delta", "> 0")
    untouched(out)


def test_non_number_param_flag_is_a_usage_error(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    refused_with_hint(
        capsys, ["eval", path, "--loss", "huber", "--delta", "abc"], ["--delta", "abc"], "--help"
    )


def test_multiclass_focal_rejects_scalar_alpha(capsys):
    msg, _ = user_error(
        capsys, "eval", SAMPLES / "multiclass.csv", "--loss", "focal", "--alpha", "0.5"
    )
    contains_all(msg, "alpha", "focal", "class_weights")


def test_flag_no_selected_loss_takes(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--delta", "0.5", "-o", out)
    contains_all(msg, "delta", "mse")
    assert hint is not None
    untouched(out)


def test_from_logits_with_no_logit_loss(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "--from-logits")
    contains_all(msg, "--from-logits")


# ---- losses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "bad", "suggestion"),
    [
        ("hubr", "hubr", "huber"),
        ("mse,mea", "mea", "mae"),
        ("crossentropy", "crossentropy", "cross_entropy"),
    ],
)
def test_unknown_loss_did_you_mean(tmp_path, capsys, out_file, spec, bad, suggestion):
    out = out_file()
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", spec, "-o", out)
    contains_all(msg, "unknown loss", repr(bad))
    assert hint is not None and "did you mean" in hint and suggestion in hint
    untouched(out)


def test_unknown_loss_grad(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "grad", path, "--loss", "hubr")
    assert "'hubr'" in msg and hint is not None and "huber" in hint


@pytest.mark.parametrize(
    ("spec", "reads", "hint_says"),
    [
        (
            "binary-cross-entropy",
            "binary minus cross minus entropy",
            ["binary_cross_entropy (bce)"],
        ),
        ("Smooth-L1", "Smooth minus L1", ["write smooth_l1"]),
        # every part is a loss too: the difference is spelled out with spaces
        ("mae,poisson-nll", "poisson minus nll", ["poisson_nll (poisson)", "'poisson - nll'"]),
        # a loss's name inside a longer run: that part joined, the rest still subtracted
        (
            "poisson-nll-mae",
            "poisson minus nll minus mae",
            ["write poisson_nll-mae (poisson_nll is poisson)", "'poisson - nll - mae'"],
        ),
        ("brier-decomposition", "brier minus decomposition", ["write brier_decomposition"]),
    ],
)
def test_a_hyphenated_loss_name_says_how_to_write_it(
    tmp_path, capsys, out_file, spec, reads, hint_says
):
    """'-' subtracts in --loss, and explain takes hyphens: a name written with hyphens
    whose underscored form is a loss is refused, not read as names subtracted."""
    out = out_file()
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", spec, "-o", out)
    contains_all(msg, reads, "subtracts")
    assert hint is not None and all(h in hint for h in hint_says)
    untouched(out)


@pytest.mark.parametrize("spec", ["mse-mae", "0.5*mse-mae", "huber(delta=1e-3)-mae", "mse - mae"])
def test_a_difference_of_losses_is_still_one(tmp_path, spec):
    """No joined name is a loss here: the minus subtracts, as before."""
    import losscli

    y, p = [1.0, 2.0, 4.0], [1.5, 1.0, 3.0]
    value = losscli.evaluate(y, p, spec)
    first = {"mse-mae": 1.0, "0.5*mse-mae": 0.5, "huber(delta=1e-3)-mae": None, "mse - mae": 1.0}
    if first[spec] is None:
        expected = losscli.evaluate(y, p, "huber", delta=1e-3) - losscli.evaluate(y, p, "mae")
    else:
        expected = first[spec] * losscli.evaluate(y, p, "mse") - losscli.evaluate(y, p, "mae")
    assert value == pytest.approx(expected, rel=1e-12)


def test_unparsable_loss_spec(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse(")
    assert "mse(" in msg and hint is not None


def test_cross_entropy_on_a_single_prediction_column(tmp_path, capsys, out_file):
    out = out_file()
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "cross_entropy", "-o", out)
    contains_all(msg, "data.csv", "cross_entropy", "y_pred")
    assert "shape" not in msg
    assert hint is not None and "bce" in hint
    untouched(out)


@pytest.mark.parametrize(
    ("sample", "loss", "columns"),
    [
        ("multiclass.csv", "mse", ["label", "prob_cat"]),
        ("multiclass.csv", "bce", ["label", "prob_cat"]),
        ("multiclass_logits.csv", "mae", ["y_true", "logit_0"]),
    ],
)
def test_regression_or_binary_loss_on_multiclass_file(capsys, sample, loss, columns):
    # a multi-class file with a single-column loss is a misfit, not silently evaluated
    msg, hint = user_error(capsys, "eval", SAMPLES / sample, "--loss", loss)
    contains_all(msg, sample, loss, *columns)
    assert "shape" not in msg
    assert hint is not None


@pytest.mark.parametrize(
    ("loss", "parts"),
    [
        ("bce", ["regression.csv", "'y_true'", "row 0", "line 2"]),
        ("hinge", ["regression.csv", "'y_true'", "row 0"]),
        ("triplet", ["regression.csv", "triplet", "d_ap"]),
        ("gaussian_nll", ["regression.csv", "variance"]),
        ("kl_div", ["regression.csv", "target"]),
    ],
)
def test_losses_that_do_not_fit_regression_data(capsys, loss, parts):
    msg, hint = user_error(capsys, "eval", SAMPLES / "regression.csv", "--loss", loss)
    contains_all(msg, *parts)
    assert hint is not None


def test_ratio_loss_has_no_reduction_none(capsys):
    msg, hint = user_error(
        capsys, "eval", SAMPLES / "segmentation.csv", "--loss", "dice", "--reduction", "none"
    )
    contains_all(msg, "dice", "none")
    assert "dice: dice" not in msg
    assert hint is not None and "mean" in hint


def test_class_probability_sum_is_readable(tmp_path, capsys):
    path = write(tmp_path, "sum.csv", "label,prob_cat,prob_dog\ncat,0.5,0.5\ndog,0.7,0.6\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "cross_entropy")
    assert "1.3" in msg and "1.2999999999999998" not in msg


# ---- output ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--loss", "mse"],
        ["eval", "--loss", "mse", "--reduction", "none"],
        ["grad", "--loss", "mse"],
    ],
)
def test_output_in_a_missing_directory(tmp_path, capsys, args):
    path = write(tmp_path, "data.csv", GOOD)
    target = tmp_path / "no_such_dir" / "out.csv"
    msg, _ = user_error(capsys, args[0], path, *args[1:], "-o", target)
    contains_all(msg, "-o", str(target), "no_such_dir")
    assert not target.parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--loss", "mse"],
        ["eval", "--loss", "mse", "--reduction", "none"],
        ["grad", "--loss", "mse"],
    ],
)
def test_output_is_a_directory(tmp_path, capsys, args):
    path = write(tmp_path, "data.csv", GOOD)
    target = tmp_path / "outdir"
    target.mkdir()
    msg, _ = user_error(capsys, args[0], path, *args[1:], "-o", target)
    contains_all(msg, "-o", str(target), "directory")
    assert list(target.iterdir()) == []


def test_output_with_unknown_extension_for_rows(tmp_path, capsys, out_file):
    out = out_file("rows.xyz")
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--reduction", "none", "-o", out)
    assert "rows.xyz" in msg and hint is not None and ".parquet" in hint
    untouched(out)


# ---- option combinations ---------------------------------------------------------------


@pytest.mark.parametrize("extra", [["--group", "y_true"], ["--gradients"], ["--fail-above", "1"]])
def test_reduction_none_with_aggregate_options(tmp_path, capsys, out_file, extra):
    out = out_file()
    path = write(tmp_path, "data.csv", GOOD)
    msg, _ = user_error(
        capsys, "eval", path, "--loss", "mse", "--reduction", "none", *extra, "-o", out
    )
    contains_all(msg, "--reduction none", extra[0])
    untouched(out)


def test_grad_with_two_losses(tmp_path, capsys, out_file):
    out = out_file("g.csv")
    path = write(tmp_path, "data.csv", GOOD)
    refused_with_hint(
        capsys,
        ["grad", path, "--loss", "mse,mae", "-o", out],
        ["one loss", "mse,mae"],
        "0.7*mse + 0.3*mae",
    )
    untouched(out)


def test_grad_without_loss(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "grad", path)
    assert "--loss" in msg and hint is not None


def test_grad_reduction_none_is_a_usage_error(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, _ = user_error(capsys, "grad", path, "--loss", "mse", "--reduction", "none")
    contains_all(msg, "--reduction", "none")


def test_grad_with_loss_for_a_ratio_loss(capsys):
    msg, _ = user_error(
        capsys, "grad", SAMPLES / "segmentation.csv", "--loss", "dice", "--with-loss"
    )
    assert "dice" in msg


def test_unknown_option(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--deltaa", "1")
    assert "--deltaa" in msg and hint is not None


# ---- --fail-above ----------------------------------------------------------------------


def test_fail_above_names_an_unselected_loss(tmp_path, capsys, out_file):
    out = out_file("r.json")
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(
        capsys, "eval", path, "--loss", "mse", "--fail-above", "mae=1", "-o", out
    )
    contains_all(msg, "--fail-above", "mae")
    assert hint is not None and "mse" in hint
    untouched(out)


def test_fail_above_not_a_number(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--fail-above", "mse=high")
    contains_all(msg, "--fail-above", "mse=high")


def test_failed_check_exits_1_and_names_the_loss(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)  # mse 0.1875, mae 0.375
    code, out, err = cli(
        capsys, "eval", path, "--loss", "mse,mae", "--fail-above", "mae=0.3", "--format", "json"
    )
    assert code == 1, err
    assert "Traceback" not in err and "error:" not in err
    assert "mae" in err and "mse" not in err
    doc = json.loads(out)
    assert doc["passed"] is False
    assert [(c["loss"], c["passed"]) for c in doc["checks"]] == [("mae", False)]


def test_failed_check_with_o_writes_the_report(tmp_path, capsys, out_file):
    out = out_file("r.json")
    path = write(tmp_path, "data.csv", GOOD)
    code, _, err = cli(
        capsys, "eval", path, "--loss", "mse", "--fail-above", "0.1", "--format", "json", "-o", out
    )
    assert code == 1 and "mse" in err
    assert json.loads(out.read_text())["passed"] is False


def test_passing_check_exits_0(tmp_path, capsys):
    path = write(tmp_path, "data.csv", GOOD)
    code, out, err = cli(
        capsys, "eval", path, "--loss", "mse,mae", "--fail-above", "0.5", "--format", "json"
    )
    assert code == 0, err
    assert err == ""
    doc = json.loads(out)
    assert doc["passed"] is True and len(doc["checks"]) == 2


def test_failed_check_subprocess(tmp_path):
    path = write(tmp_path, "data.csv", GOOD)
    proc = subprocess_cli("eval", path, "--loss", "mse", "--fail-above", "mse=0.1")
    assert proc.returncode == 1  # the table on stdout says it; stderr stays quiet
    assert b"check mse <= 0.1: FAILED" in proc.stdout and proc.stderr == b""
    proc = subprocess_cli(
        "eval", path, "--loss", "mse", "--fail-above", "mse=0.1", "--format", "json"
    )
    assert proc.returncode == 1
    assert proc.stderr == b"check failed: mse above threshold\n"
    proc = subprocess_cli("eval", path, "--loss", "mse", "--fail-above", "mse=0.2")
    assert proc.returncode == 0 and proc.stderr == b""


# ---- bugs and subprocess ---------------------------------------------------------------


def test_internal_error_exits_70(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(losscli.app.evaluation, "evaluate", boom)  # what eval calls
    path = write(tmp_path, "data.csv", GOOD)
    code, out, err = cli(capsys, "eval", path, "--loss", "mse")
    msg, hint = error_lines(code, out, err, expect_code=70)
    contains_all(msg, "internal error", "RuntimeError", "kaboom", "--debug")
    assert out == ""
    # --debug shows the traceback
    code, _, err = cli(capsys, "--debug", "eval", path, "--loss", "mse")
    assert code == 70 and "Traceback" in err and "kaboom" in err


def test_user_error_with_debug_shows_traceback_and_still_exits_2(tmp_path, capsys):
    code, _, err = cli(capsys, "--debug", "eval", tmp_path / "nope.csv", "--loss", "mse")
    assert code == 2 and "Traceback" in err and "error: " in err


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (["eval", "{d}/nope.csv", "--loss", "mse"], ["nope.csv"]),
        (["eval", "{d}/data.csv", "--loss", "huber", "--delta", "0"], ["delta", "> 0"]),
        (["eval", "{d}/data.csv", "--loss", "hubr"], ["hubr"]),
        (["grad", "{d}/data.csv", "--loss", "mse,mae"], ["one loss"]),
    ],
)
def test_errors_in_a_real_process(tmp_path, args, parts):
    write(tmp_path, "data.csv", GOOD)
    out = tmp_path / "out" / "out.csv"
    out.parent.mkdir()
    out.write_bytes(KNOWN)
    argv = [a.format(d=tmp_path / "in") for a in args] + ["-o", str(out)]
    proc = subprocess_cli(*argv)
    msg, _ = error_lines(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    contains_all(msg, *parts)
    assert proc.stdout == b""
    untouched(out)


def test_stdin_errors_in_a_real_process():
    proc = subprocess_cli("eval", "-", "--loss", "mse", stdin=b"")
    msg, _ = error_lines(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    contains_all(msg, "<stdin>", "empty")
    proc = subprocess_cli("eval", "-", "--loss", "mse", stdin=NAN.encode())
    msg, hint = error_lines(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    contains_all(msg, "<stdin>", "'y_pred'", "1, 2, 3")


def test_group_with_zero_total_weight_names_the_group(tmp_path, capsys):
    path = write(tmp_path, "w0g.csv", "y_true,y_pred,w,g\n1,2,1,a\n3,5,0,b\n")
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse", "--weight", "w", "--group", "g")
    contains_all(msg, "w0g.csv", "'w'", "group 'b'", "sum to 0")


def test_a_negative_weight_names_the_file_column_and_row(tmp_path, capsys):
    path = write(tmp_path, "w.csv", "y_true,y_pred,w\n1,2,1\n2,3,-0.5\n")
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--weight", "w")
    assert msg == f"error: {path}: column 'w', row 1: negative weight -0.5"
    assert hint is not None


def test_a_row_of_a_csv_dataset_is_placed_by_its_file_row_and_physical_line(tmp_path, capsys):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("y_true,y_pred,note\n1,2,x\n3,4,x\n")
    (folder / "b.csv").write_text('y_true,y_pred,note\n1,2,"two\nlines"\n\n3,-1,x\n')
    msg, _ = user_error(capsys, "eval", folder, "--loss", "poisson")
    assert msg.startswith(
        f"error: {folder}: column 'y_pred', row 3 ({folder / 'b.csv'}, row 1, line 5): -1 is not"
    )
    (folder / "b.csv").write_text('y_true,y_pred,note\n1,2,"two\nlines"\n\n3,,x\n')
    msg, _ = user_error(capsys, "eval", folder, "--loss", "mse")
    assert msg.endswith(f"first at row(s) 3 (row 3: {folder / 'b.csv'}, row 1, line 5)")


def test_json_lines_with_a_blank_first_line_and_u2028_in_a_string_are_read(tmp_path, capsys):
    path = write(
        tmp_path,
        "ok.jsonl",
        '\n{"y_true": 1, "y_pred": 2, "note": "a\u2028b"}\n{"y_true": 3, "y_pred": 5}\n',
    )
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["value"] == 2.5


def test_a_datasets_part_is_read_again_in_its_own_dialect_for_the_line(tmp_path, capsys):
    folder = tmp_path / "semicolons"
    folder.mkdir()
    (folder / "a.csv").write_text("y;pred;note\n1;0.5;x\n")
    (folder / "b.csv").write_text('y;pred;note\n1;0.5;"a\nb"\n\n0;0.3;"c\nd"\n0;1.5;z\n')
    args = ["eval", folder, "--loss", "log_loss", "--target", "y", "--pred", "pred"]
    msg, _ = user_error(capsys, *args)
    assert f"row 3 ({folder / 'b.csv'}, row 2, line 7): 1.5 is not a probability" in msg
    (folder / "b.csv").write_bytes("y;pred;note\n1;0.5;x\n\n0;0.3;y\n0;1.5;z\n".encode("utf-16"))
    msg, _ = user_error(capsys, *args)
    assert f"row 3 ({folder / 'b.csv'}, row 2, line 5): 1.5 is not a probability" in msg


def test_the_line_of_a_row_deep_in_a_gzip_file(tmp_path, capsys):
    lines = ["y_true,y_pred"] + [f"{i % 2},0.5" for i in range(100_000)]
    lines[2801] = "1,1.5"  # row 2800
    lines.insert(50, "")
    lines.insert(900, "\r")  # a blank line of a file with CRLF here and there
    path = tmp_path / "deep.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    msg, _ = user_error(capsys, "eval", path, "--loss", "bce")
    assert msg.startswith(f"error: {path}: column 'y_pred', row 2800 (line 2804): 1.5 is not")


def test_a_jsonl_kind_is_named_by_the_line_of_the_first_record(tmp_path, capsys):
    path = write(
        tmp_path,
        "late.jsonl",
        '\n\n{"y_true": 1, "y_pred": 0.5, "g": "a"}\n{"y_true": 0, "y_pred": 0.5, "g": 3}\n',
    )
    msg, _ = user_error(capsys, "eval", path, "--loss", "bce", "--group", "g")
    assert msg == (
        f"error: {path}: column 'g', row 1 (line 4): 3 is not text "
        "(the column's kind is its value's on line 3)"
    )


def test_an_empty_cell_names_its_physical_line_in_a_file_and_none_on_streamed_stdin(
    tmp_path, capsys, monkeypatch
):
    text = "y_true,y_pred\n1,2\n\n3,\n5,6\n"
    path = write(tmp_path, "holes.csv", text)
    msg, _ = user_error(capsys, "eval", path, "--loss", "mse")
    assert msg.endswith("first at row(s) 1 (line 4)")
    stdin_bytes(monkeypatch, text.encode())
    msg, _ = user_error(capsys, "eval", "-", "--loss", "mse")
    assert msg.endswith("first at row(s) 1")


@pytest.mark.parametrize("how", ["file", "gzip", "stdin"])
def test_a_latin1_cell_names_its_column_and_line(tmp_path, capsys, monkeypatch, how):
    """An Excel-style Latin-1 CSV: the column, the line and the fix, not Arrow's words."""
    import gzip

    data = b"y_true,y_pred,seg\n1,2,a\n" + b"1,2,b\n" * 5 + b"1,2,caf\xe9\n"
    if how == "stdin":
        stdin_bytes(monkeypatch, data)
        path = "-"
    else:
        path = tmp_path / ("l1.csv.gz" if how == "gzip" else "l1.csv")
        path.write_bytes(gzip.compress(data) if how == "gzip" else data)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--group", "seg")
    name = "<stdin>" if how == "stdin" else str(path)
    assert msg == f"error: {name}: column 'seg', line 8: the text is not UTF-8 (byte 0xe9)"
    assert "save the file as UTF-8" in hint and "iconv -f latin1 -t utf-8" in hint
