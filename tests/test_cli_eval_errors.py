"""Bad input to ``losscli eval`` (and ``grad``): SPEC §6, one case per kind of mistake.

Every user error exits 2 with exactly one ``error:`` line on stderr (at most one
``hint:`` line, possibly ``note:`` lines, nothing else, never a traceback). The
message says what is wrong and where (file, column, row or line) and, where there
is one, how to fix it. A failed run never touches an existing ``-o`` file and
leaves no temporary file beside it. Only a failed ``--fail-above`` check exits 1;
a bug exits 70.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import losscli.files
from losscli.cli import run

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


def cli(capsys, *args: object) -> tuple[int, str, str]:
    """Run one command line in-process: (exit code, stdout, stderr)."""
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(code: int, out: str, err: str, expect_code: int = 2) -> tuple[str, str | None]:
    """Check the shape of a user error; return (error line, hint line or None)."""
    assert code == expect_code, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err and "Traceback" not in out, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    hints = [line for line in lines if line.startswith("hint:")]
    others = [line for line in lines if not line.startswith(("error:", "hint:", "note:"))]
    assert len(errors) == 1, f"expected one error: line, got\n{err}"
    assert len(hints) <= 1, f"at most one hint: line, got\n{err}"
    assert not others, f"unexpected stderr lines: {others}"
    if hints:  # the hint follows its error
        assert lines.index(hints[0]) == lines.index(errors[0]) + 1, err
    return errors[0], (hints[0] if hints else None)


def user_error(capsys, *args: object) -> tuple[str, str | None]:
    return error_lines(*cli(capsys, *args))


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


def stdin_bytes(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


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
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse")
    contains_all(msg, "preds.xyz", ".xyz")
    assert hint is not None and "--input-format" in hint
    # and the hint works
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--input-format", "csv")
    assert code == 0, err


def test_unknown_input_format_value(tmp_path, capsys):
    path = write(tmp_path, "good.csv", GOOD)
    msg, hint = user_error(capsys, "eval", path, "--loss", "mse", "--input-format", "xml")
    contains_all(msg, "--input-format", "xml")
    assert hint is not None and "parquet" in hint


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
    msg, hint = user_error(capsys, "grad", path, "--loss", "mse,mae", "-o", out)
    contains_all(msg, "one loss", "mse,mae")
    assert hint is not None and "0.7*mse + 0.3*mae" in hint
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
    assert proc.returncode == 1
    assert b"mse" in proc.stderr and b"Traceback" not in proc.stderr
    proc = subprocess_cli("eval", path, "--loss", "mse", "--fail-above", "mse=0.2")
    assert proc.returncode == 0 and proc.stderr == b""


# ---- bugs and subprocess ---------------------------------------------------------------


def test_internal_error_exits_70(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(losscli.files, "evaluate_file", boom)
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
