"""grad in one pass: a gradient that reads no more of the merged sums than the row count
(a plain mean) or none of them (sum) is written as the rows are read, and the pass's own
sums confirm the count at the end; the output is byte for byte the two-pass output."""

from __future__ import annotations

import gzip
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cases import case_params
from helpers import case_args, case_columns, cli

import losscli
from losscli.engine import backend, passes
from losscli.io.csv_ranges import count_lines
from losscli.io.sources import Source

PARAMS = case_params(losscli.available_losses())


@pytest.fixture
def reads(monkeypatch):
    """How many times each grad run read its input (calls of the batch reader)."""
    calls = []
    original = passes.read_batches

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(passes, "read_batches", counted)
    return calls


def _two_passes(monkeypatch) -> None:
    monkeypatch.setattr(backend, "assumed_gradient_sums", lambda reading, reduction: None)


def _grad(capsys, *args) -> tuple[int, str]:
    code, _, err = cli(capsys, "grad", *args, "-q")
    return code, err


@pytest.mark.parametrize("make", PARAMS)
def test_every_loss_writes_the_two_pass_bytes(make, capsys, monkeypatch, tmp_path):
    case = make(np.random.default_rng(3), 40)
    # a composite (0.7*mse+0.3*mae) is laid out as its first term's columns
    layout = replace(case, loss=case.loss.split("+")[0].split("*")[-1])
    cols, target, inputs = case_columns(layout)
    path = tmp_path / "in.csv"
    names = list(cols)
    rows = zip(*(np.asarray(cols[c]).tolist() for c in names))
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows))
    args = [path, *case_args(layout, target, inputs), "--with-loss"]
    args[args.index("--loss") + 1] = case.loss
    one = _grad(capsys, *args, "-o", tmp_path / "one.csv")
    with monkeypatch.context() as m:
        _two_passes(m)
        two = _grad(capsys, *args, "-o", tmp_path / "two.csv")
    assert one[0] == two[0], (one, two)
    if one[0] == 0:
        assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def _regression(tmp_path, n=5000, blank_at=None, nan_at=None):
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=n), rng.normal(size=n)
    lines = [f"{a!r},{b!r}\n" for a, b in zip(y.tolist(), p.tolist())]
    if nan_at is not None:
        lines[nan_at] = f"{float(y[nan_at])!r},\n"
    if blank_at is not None:
        lines.insert(blank_at, "\n")
    path = tmp_path / "preds.csv"
    path.write_text("y,yhat\n" + "".join(lines))
    return path, y, p


def _grad_column(out) -> tuple[np.ndarray, np.ndarray]:
    data = np.genfromtxt(out, delimiter=",", skip_header=1)
    return data[:, 0].astype(int), data[:, 1]


@pytest.mark.parametrize("loss", ["mse", "0.7*mse + 0.3*mae"])
def test_a_mean_is_read_once(loss, capsys, reads, tmp_path):
    path, _, _ = _regression(tmp_path)
    assert _grad(capsys, path, "-l", loss, "-o", tmp_path / "g.csv")[0] == 0
    assert len(reads) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["-l", "rmse"],  # J = √M: the gradient needs M itself
        ["-l", "mse", "--reduction", "median"],
        ["-l", "mse", "--weight", "w"],  # Σw is only known once read
    ],
)
def test_a_gradient_that_needs_the_sums_reads_twice(args, capsys, reads, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("y,yhat,w\n" + "".join(f"{i % 7},{i % 5}.5,{1 + i % 3}\n" for i in range(50)))
    assert _grad(capsys, path, *args, "-o", tmp_path / "g.csv")[0] == 0
    assert len(reads) == 2


def test_a_sum_needs_no_sums_even_weighted(capsys, reads, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("y,yhat,w\n" + "".join(f"{i % 7},{i % 5}.5,{1 + i % 3}\n" for i in range(50)))
    out = tmp_path / "g.csv"
    args = [path, "-l", "mse", "--weight", "w", "--reduction", "sum", "-o", out]
    assert _grad(capsys, *args)[0] == 0
    assert len(reads) == 1
    rows, g = _grad_column(out)
    i = np.arange(50)
    assert np.allclose(g, 2 * ((i % 5 + 0.5) - i % 7) * (1 + i % 3), rtol=1e-15)


@pytest.mark.parametrize(
    ("blank_at", "nan_at", "extra"),
    [(2500, None, []), (None, 1234, ["--dropna"])],
    ids=["blank-line", "dropped-row"],
)
def test_a_wrong_row_count_is_written_again(
    blank_at, nan_at, extra, capsys, reads, monkeypatch, tmp_path
):
    """A blank line counts as a line but is no row, and --dropna drops rows: the count
    disagrees with the pass's, and the file is written again from the pass's sums."""
    path, y, p = _regression(tmp_path, blank_at=blank_at, nan_at=nan_at)
    out = tmp_path / "g.csv"
    assert _grad(capsys, path, "-l", "mse", *extra, "-o", out)[0] == 0
    assert len(reads) == 2  # the count was wrong: the rows are written again
    keep = np.ones(len(y), bool)
    if nan_at is not None:
        keep[nan_at] = False
    rows, g = _grad_column(out)
    assert np.array_equal(rows, np.flatnonzero(keep))
    assert np.allclose(g, 2 * (p[keep] - y[keep]) / keep.sum(), rtol=1e-14, atol=0)
    monkeypatch.setattr(backend, "assumed_gradient_sums", lambda reading, reduction: None)
    two = tmp_path / "two.csv"
    assert _grad(capsys, path, "-l", "mse", *extra, "-o", two)[0] == 0
    assert out.read_bytes() == two.read_bytes()


def test_parquet_counts_its_rows_from_the_footer(capsys, reads, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    y, p = rng.normal(size=3000), rng.normal(size=3000)
    path = tmp_path / "preds.parquet"
    pq.write_table(pa.table({"y": y, "yhat": p}), path, row_group_size=700)
    out_one, out_two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    assert _grad(capsys, path, "-l", "mse", "-o", out_one)[0] == 0
    assert len(reads) == 1
    _two_passes(monkeypatch)
    assert _grad(capsys, path, "-l", "mse", "-o", out_two)[0] == 0
    one, two = pq.read_table(out_one), pq.read_table(out_two)
    assert one.equals(two)
    assert np.allclose(one["grad_yhat"].to_numpy(), 2 * (p - y) / 3000, rtol=1e-14, atol=0)


def test_stdout_is_never_taken_back(capsys, reads, tmp_path):
    """Written to stdout, rows cannot be withdrawn: the sums come first (two passes)."""
    path, _, _ = _regression(tmp_path, n=100)
    assert _grad(capsys, path, "-l", "mse")[0] == 0
    assert len(reads) == 2


def test_a_bad_cell_late_in_the_file_leaves_no_output(capsys, tmp_path):
    path, _, _ = _regression(tmp_path, n=5000, nan_at=4900)
    out = tmp_path / "g.csv"
    out.write_text("kept\n")
    code, err = _grad(capsys, path, "-l", "mse", "-o", out)
    assert code == 2 and "row(s) 4900" in err
    assert out.read_text() == "kept\n"
    assert {f.name for f in tmp_path.iterdir()} == {"preds.csv", "g.csv"}  # no temporary left


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (b"a,b\n1,2\n3,4\n", 2),
        (b"a,b\n1,2\n3,4", 2),  # no line break after the last row
        (b"a,b\r\n1,2\r\n3,4\r\n", 2),
        (b"a,b\n", 0),
        (b"a,b", 0),
        (b"a,b\n1,2\n3,4\n\n\n", 2),  # blank lines at the end are no rows
        (b"a,b\r\n1,2\r\n\r\n", 1),
    ],
)
def test_count_lines(text, rows, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(text)
    assert count_lines(Source(str(path), "csv")) == rows


@pytest.mark.parametrize("ending", [b"\n", b"", b"\r\n\n\n"])
@pytest.mark.parametrize("blocks", [1, 3.5])
def test_count_lines_across_blocks(ending, blocks, tmp_path, monkeypatch):
    """Files of several read blocks (made small here), a line break on a block's last
    byte, a last block part full: the same count as Python's own."""
    from losscli.io import csv_ranges

    monkeypatch.setattr(csv_ranges, "COUNT_BLOCK", 64)
    rows = [f"{i},{i * 0.5!r}".encode() for i in range(int(blocks * 64 / 6))]
    text = b"a,b\n" + b"\n".join(rows) + ending
    path = tmp_path / "f.csv"
    path.write_bytes(text)
    assert text.count(b"\n") >= 2 and len(text) > 64 * (blocks > 1)
    assert count_lines(Source(str(path), "csv")) == len(rows)
    # a block that ends on a line break
    exact = b"a,b\n" + b"1,2\n" * 15  # 64 bytes
    path.write_bytes(exact + exact[4:])
    assert count_lines(Source(str(path), "csv")) == 30


def test_count_lines_declines_what_it_cannot_count(tmp_path):
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert count_lines(Source(str(path), "csv", compression="gzip")) is None
    assert count_lines(Source("-", "csv")) is None
    plain = tmp_path / "q.csv"
    plain.write_bytes(b'a,b\n"x\ny",2\n')
    assert count_lines(Source(str(plain), "csv", newlines_in_values=True)) is None


def test_a_composite_counts_the_lines_once(capsys, monkeypatch, tmp_path):
    from losscli.io import batches

    path, _, _ = _regression(tmp_path, n=200)
    counted = []
    original = batches.count_lines
    monkeypatch.setattr(
        batches, "count_lines", lambda source: counted.append(1) or original(source)
    )
    out = tmp_path / "g.csv"
    assert _grad(capsys, path, "-l", "0.7*mse + 0.3*mae", "-o", out)[0] == 0
    assert len(counted) == 1
