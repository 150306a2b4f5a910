"""grad -o on a plain CSV file takes one pass when ∂J/∂ŷ needs only n (a plain mean):
n comes from the line count, checked against the rows read; anything else, or a
mismatch, takes the two passes. The output is the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest

import losscli.files
from losscli.cli import run

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def grad_to_file(capsys, tmp_path: Path, name: str, *args: str) -> bytes:
    out = tmp_path / name
    code = run(["grad", *args, "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    return out.read_bytes()


def two_passes(monkeypatch, capsys, tmp_path: Path, *args: str) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(losscli.files, "_counted_sums", lambda *a: None)
        return grad_to_file(capsys, tmp_path, "two.csv", *args)


ONE_PASS = [
    ("regression.csv", ["--loss", "mse", "--with-loss"]),
    ("regression.csv", ["--loss", "0.7*mse + 0.3*huber(delta=0.5)"]),
    ("binary_logits.csv", ["--loss", "bce", "--pred", "logit", "--from-logits"]),
    ("multiclass.csv", ["--loss", "cross_entropy"]),
]


@pytest.mark.parametrize("sample, args", ONE_PASS, ids=lambda v: v if isinstance(v, str) else "")
def test_one_pass_writes_what_two_passes_write(monkeypatch, capsys, tmp_path, sample, args):
    calls = []
    count = losscli.files._count_lines
    monkeypatch.setattr(losscli.files, "_count_lines", lambda p: calls.append(p) or count(p))
    one = grad_to_file(capsys, tmp_path, "one.csv", str(SAMPLES / sample), *args)
    assert calls  # the one-pass route was taken
    assert one == two_passes(monkeypatch, capsys, tmp_path, str(SAMPLES / sample), *args)


@pytest.mark.parametrize(
    "args",
    [
        ["--loss", "rmse"],  # an outer function: needs the mean
        ["--loss", "mse", "--weight", "weight"],  # needs Σw
        ["--loss", "mse", "--reduction", "sum"],
        ["--loss", "mse", "--dropna"],
    ],
    ids=["rmse", "weights", "sum", "dropna"],
)
def test_losses_whose_gradient_needs_more_than_n_take_two_passes(
    monkeypatch, capsys, tmp_path, args
):
    calls = []
    monkeypatch.setattr(losscli.files, "_count_lines", lambda p: calls.append(p) or None)
    path = str(SAMPLES / "regression.csv")
    got = grad_to_file(capsys, tmp_path, "g.csv", path, *args)
    assert calls == []
    assert got == two_passes(monkeypatch, capsys, tmp_path, path, *args)


def test_a_miscount_redoes_the_gradients_in_two_passes(monkeypatch, capsys, tmp_path):
    path = str(SAMPLES / "regression.csv")
    monkeypatch.setattr(losscli.files, "_count_lines", lambda p: 1999)  # one row short
    got = grad_to_file(capsys, tmp_path, "g.csv", path, "--loss", "mse")
    assert got == two_passes(monkeypatch, capsys, tmp_path, path, "--loss", "mse")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.csv", "two.csv"]  # no leftovers


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"1,2\n3,4\n", 2),
        (b"1,2\r\n3,4\r\n", 2),
        (b"1,2\n3,4", 2),  # no line end after the last row
        (b"1,2\n\n3,4\n", None),  # a blank line: the reader skips it
        (b'1,"2"\n', None),  # a quote: a field may hold a newline
        (b"", None),
    ],
)
def test_line_count(tmp_path, body, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(b"y_true,y_pred\n" + body)
    assert losscli.files._count_lines(str(path)) == expected


def test_a_blank_line_file_still_gives_the_right_gradients(monkeypatch, capsys, tmp_path):
    src = tmp_path / "blank.csv"
    lines = (SAMPLES / "regression.csv").read_text().splitlines()
    src.write_text("\n".join(lines[:100] + [""] + lines[100:]) + "\n")
    got = grad_to_file(capsys, tmp_path, "g.csv", str(src), "--loss", "mse")
    assert got == two_passes(monkeypatch, capsys, tmp_path, str(src), "--loss", "mse")
    assert got.count(b"\n") == 1 + 2000
