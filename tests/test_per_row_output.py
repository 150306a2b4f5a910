"""Per-row output (``eval --reduction none``, ``grad``) honours every flag it accepts.

``--weight`` adds the weight and each loss's wᵢLᵢ (Keras's per-sample value with
``sample_weight``); ``--format json`` writes JSON Lines (one object per row); a format
per-row output has not (table, markdown), or one that disagrees with ``-o``'s name, is a
usage error. Summaries written with ``-o`` take their format from the file's extension.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

import losscli
from losscli.cli.commands import run

DATA = "y,p,w,id\n1,1.5,2,a\n2,2,0.5,b\n3,2,1,c\n4,4.25,0.125,d\n"
Y = [1.0, 2.0, 3.0, 4.0]
P = [1.5, 2.0, 2.0, 4.25]
W = [2.0, 0.5, 1.0, 0.125]


@pytest.fixture
def data(tmp_path) -> str:
    path = tmp_path / "preds.csv"
    path.write_text(DATA)
    return str(path)


def losscli_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "losscli", *map(str, args)], capture_output=True, text=True
    )


def usage_error(capsys, *args: object) -> tuple[str, str]:
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\n{out}\n{err}"
    lines = err.splitlines()
    errors = [x for x in lines if x.startswith("error:")]
    hints = [x for x in lines if x.startswith("hint:")]
    assert len(errors) == 1 and len(hints) <= 1 and "Traceback" not in err, err
    return errors[0], (hints[0] if hints else "")


ROWS = ["eval", "-l", "mse,mae", "-t", "y", "-p", "p", "--weight", "w", "--reduction", "none"]


def test_per_row_losses_carry_the_weight_and_the_weighted_loss(data):
    done = losscli_cli(*ROWS[:1], data, *ROWS[1:], "-q")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == ["row", "weight", "mse", "weighted_mse", "mae", "weighted_mae"]
    for i, r in enumerate(rows):
        e = P[i] - Y[i]
        assert int(r["row"]) == i and float(r["weight"]) == W[i]
        assert float(r["mse"]) == e * e and float(r["weighted_mse"]) == W[i] * e * e
        assert float(r["mae"]) == abs(e) and float(r["weighted_mae"]) == W[i] * abs(e)
    # Σ wᵢLᵢ / Σ wᵢ of the rows is the weighted mean eval reports.
    mean = sum(float(r["weighted_mse"]) for r in rows) / sum(W)
    assert mean == pytest.approx(losscli.evaluate(Y, P, "mse", weights=W), rel=1e-15)


def test_weighted_rows_are_what_keras_returns_per_sample(data):
    done = losscli_cli(*ROWS[:1], data, *ROWS[1:], "--convention", "keras", "-q")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    # keras.losses.MeanSquaredError(reduction=None)(y, p, sample_weight=w) = w·(y − p)²
    assert [float(r["weighted_mse"]) for r in rows] == [
        w * (p - y) ** 2 for y, p, w in zip(Y, P, W)
    ]


def test_format_json_writes_json_lines_with_the_same_numbers(data):
    as_csv = losscli_cli(*ROWS[:1], data, *ROWS[1:], "-q")
    as_json = losscli_cli(*ROWS[:1], data, *ROWS[1:], "-q", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    lines = as_json.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    expected = [
        {k: (int(v) if k == "row" else float(v)) for k, v in r.items()}
        for r in csv.DictReader(io.StringIO(as_csv.stdout))
    ]
    assert records == expected
    assert list(records[0]) == ["row", "weight", "mse", "weighted_mse", "mae", "weighted_mae"]


def test_json_lines_to_a_file_by_name_and_the_python_api(data, tmp_path):
    out = tmp_path / "rows.jsonl"
    done = losscli_cli("eval", data, "-l", "mse", "-t", "y", "-p", "p", "--reduction", "none",
                       "-o", out, "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"row": i, "mse": (p - y) ** 2} for i, (y, p) in enumerate(zip(Y, P))
    ]
    api = tmp_path / "api.jsonl"
    losscli.write_rows(data, "mse", str(api), target=["y"], pred=["p"], fmt="json")
    assert api.read_text() == out.read_text()


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_a_summary_format_for_per_row_output_is_a_usage_error(capsys, data, fmt):
    error, hint = usage_error(capsys, *ROWS[:1], data, *ROWS[1:], "--format", fmt)
    assert f"--format {fmt}: --reduction none writes one row per input row" in error
    assert "csv or json (JSON Lines)" in error
    assert "-o FILE.parquet" in hint


@pytest.mark.parametrize(
    ("fmt", "name", "named"),
    [
        ("json", "rows.csv", "csv"),
        ("csv", "rows.jsonl", "jsonl"),
        ("json", "rows.parquet", "parquet"),
    ],
)
def test_format_and_output_name_must_agree(capsys, data, tmp_path, fmt, name, named):
    out = tmp_path / name
    error, _ = usage_error(capsys, *ROWS[:1], data, *ROWS[1:], "--format", fmt, "-o", out)
    assert f"--format {fmt} and -o {out} disagree: that name is for {named} output" in error
    assert not out.exists()


def test_grad_writes_json_lines(data):
    done = losscli_cli("grad", data, "-l", "mse", "-t", "y", "-p", "p", "--weight", "w",
                       "--key", "id", "--with-loss", "-f", "json", "-q")  # fmt: skip
    # --key joins a --targets file only: the flag is refused, not dropped
    assert done.returncode == 2 and "--key joins a --targets file" in done.stderr
    done = losscli_cli("grad", data, "-l", "mse", "-t", "y", "-p", "p", "--weight", "w",
                       "--with-loss", "-f", "json", "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in done.stdout.splitlines()]
    grads = losscli.gradient(Y, P, "mse", weights=W)
    assert [r["grad_p"] for r in records] == list(grads)
    assert [r["loss"] for r in records] == [(p - y) ** 2 for y, p in zip(Y, P)]


def test_a_summary_written_with_o_takes_its_format_from_the_name(data, tmp_path):
    out = tmp_path / "results.json"
    assert run(["eval", data, "-l", "mse", "-t", "y", "-p", "p", "-o", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert doc["results"][0]["value"] == losscli.evaluate(Y, P, "mse")
    # An explicit --format wins for a summary (per-row files are read by their name).
    assert run(["eval", data, "-l", "mse", "-t", "y", "-p", "p", "-o", str(out), "-q",
                "--format", "csv"]) == 0  # fmt: skip
    assert out.read_text().startswith("loss,params,reduction,group,n,value\n")
