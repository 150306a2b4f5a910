"""``losscli eval``/``grad`` input and output: every reader gives the same numbers, batching
does not change them, real-world CSV quirks are tolerated, per-row output, groups, the
report formats, task inference, and real shell pipelines (README "Columns" and "JSON output")."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import ROOT, SAMPLES, cli, eval_json, stdin_bytes, succeeds
from typer.testing import CliRunner

import losscli
import losscli.io.csv_reader
import losscli.io.jsonl_reader
import losscli.io.parquet_reader
from losscli.cli.commands import app, run

# ---- helpers ---------------------------------------------------------------------------


def losscli_command() -> str:
    """The venv's console script, or ``python -m losscli`` beside this interpreter."""
    script = Path(sys.executable).parent / "losscli"
    if script.exists():
        return str(script)
    return f"{sys.executable} -m losscli"


def bash(script: str, cwd: Path | str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def read_csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def column(rows: list[list[str]], j: int) -> np.ndarray:
    return np.array([float(r[j]) for r in rows])


# ---- the same data in every format -----------------------------------------------------

# Dyadic values (multiples of 1/64 and 0/1 labels): every per-row loss and every partial
# sum of these losses is exact in binary floating point, so the results must be equal to
# the last bit whatever the batching (a Parquet directory is read in three batches).
N = 600
EXACT_LOSSES = "mse,rmse,mae,huber(delta=0.25),brier,dice,iou"


@pytest.fixture(scope="module")
def table() -> dict[str, list]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, N)
    p = rng.integers(1, 64, N) / 64
    g = np.array(["north", "south", "east"])[rng.integers(0, 3, N)]
    return {"y_true": [int(v) for v in y], "y_pred": [float(v) for v in p], "g": list(g)}


def _csv_text(table: dict[str, list], sep: str = ",") -> str:
    lines = [sep.join(table)]
    lines += [sep.join(str(v) for v in row) for row in zip(*table.values())]
    return "\n".join(lines) + "\n"


def _arrow(table: dict[str, list]) -> pa.Table:
    return pa.table(
        {
            "y_true": pa.array(table["y_true"], pa.int64()),
            "y_pred": pa.array(table["y_pred"], pa.float64()),
            "g": pa.array(table["g"], pa.string()),
        }
    )


@pytest.fixture(scope="module")
def formats(table, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    text = _csv_text(table)
    out = {"csv": d / "data.csv", "tsv": d / "data.tsv", "jsonl": d / "data.jsonl"}
    out["csv"].write_text(text)
    out["tsv"].write_text(_csv_text(table, "\t"))
    out["jsonl"].write_text(
        "".join(json.dumps(dict(zip(table, row))) + "\n" for row in zip(*table.values()))
    )
    out["csv.gz"] = d / "data.csv.gz"
    out["csv.gz"].write_bytes(gzip.compress(text.encode()))
    out["csv.bz2"] = d / "data.csv.bz2"
    out["csv.bz2"].write_bytes(bz2.compress(text.encode()))
    out["csv.zst"] = d / "data.csv.zst"
    with pa.CompressedOutputStream(str(out["csv.zst"]), "zstd") as stream:
        stream.write(text.encode())
    arrow = _arrow(table)
    out["parquet"] = d / "data.parquet"
    pq.write_table(arrow, out["parquet"])
    out["pq"] = d / "data.pq"
    pq.write_table(arrow, out["pq"])
    out["dir"] = d / "dataset"
    out["dir"].mkdir()
    for i in range(3):
        pq.write_table(arrow.slice(i * N // 3, N // 3), out["dir"] / f"part-{i}.parquet")
    return out


EVAL_ARGS = ["--loss", EXACT_LOSSES, "--group", "g"]


@pytest.fixture(scope="module")
def reference(formats) -> dict:
    """The CSV file's document (computed once, in-process)."""
    buf_out, buf_err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = buf_out, buf_err
    try:
        code = run(["eval", str(formats["csv"]), *EVAL_ARGS, "--format", "json"])
    finally:
        sys.stdout, sys.stderr = old
    assert code == 0, buf_err.getvalue()
    return json.loads(buf_out.getvalue())


def test_reference_document_is_complete(reference, table):
    results = reference["results"]
    labels = list(dict.fromkeys(r["loss"] for r in results))
    assert labels == ["mse", "rmse", "mae", "huber(delta=0.25)", "brier", "dice", "iou"]
    assert len(results) == 7 * 4  # overall + 3 groups each
    assert reference["input"]["rows"] == N
    y, p = np.array(table["y_true"], float), np.array(table["y_pred"])
    overall = {r["loss"]: r["value"] for r in results if r["group"] is None}
    assert overall["mse"] == losscli.evaluate(y, p, "mse")
    assert overall["dice"] == losscli.evaluate(y, p, "dice")
    assert overall["rmse"] == pytest.approx(np.sqrt(np.mean((y - p) ** 2)), rel=1e-15)


@pytest.mark.parametrize(
    "fmt", ["tsv", "jsonl", "csv.gz", "csv.bz2", "csv.zst", "parquet", "pq", "dir"]
)
def test_every_format_gives_identical_results(capsys, formats, reference, fmt):
    doc = eval_json(capsys, formats[fmt], *EVAL_ARGS)
    assert doc["results"] == reference["results"]
    assert doc["input"]["rows"] == N
    assert doc["input"]["path"] == str(formats[fmt])


def test_input_format_overrides_the_extension(capsys, formats, reference, tmp_path):
    odd = tmp_path / "data.export"
    shutil.copy(formats["parquet"], odd)
    doc = eval_json(capsys, odd, *EVAL_ARGS, "--input-format", "parquet")
    assert doc["results"] == reference["results"]
    odd = tmp_path / "data.dat"
    shutil.copy(formats["tsv"], odd)
    doc = eval_json(capsys, odd, *EVAL_ARGS, "--input-format", "tsv")
    assert doc["results"] == reference["results"]


@pytest.mark.parametrize(
    ("fmt", "extra"), [("csv", []), ("parquet", ["--input-format", "parquet"])]
)
def test_stdin_gives_identical_results(capsys, monkeypatch, formats, reference, fmt, extra):
    stdin_bytes(monkeypatch, formats[fmt].read_bytes())
    doc = eval_json(capsys, "-", *EVAL_ARGS, *extra)
    assert doc["results"] == reference["results"]
    assert doc["input"]["rows"] == N


def test_stdin_parquet_without_input_format_is_an_error(capsys, monkeypatch, formats):
    stdin_bytes(monkeypatch, formats["parquet"].read_bytes())
    code, out, err = cli(capsys, "eval", "-", "--loss", "mse")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: <stdin>")


def test_clirunner_file_and_stdin(formats, reference):
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(formats["csv"]), *EVAL_ARGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == reference["results"]
    result = runner.invoke(
        app, ["eval", "-", *EVAL_ARGS, "--format", "json"], input=formats["csv"].read_bytes()
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == reference["results"]
    result = runner.invoke(
        app,
        ["eval", "-", *EVAL_ARGS, "--format", "json", "--input-format", "parquet"],
        input=formats["parquet"].read_bytes(),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == reference["results"]


def test_clirunner_rows_and_grad(formats, table):
    runner = CliRunner()
    result = runner.invoke(
        app, ["eval", str(formats["parquet"]), "--loss", "mse", "--reduction", "none"]
    )
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(result.stdout)
    assert header == ["row", "mse"] and len(rows) == N
    result = runner.invoke(app, ["grad", str(formats["csv.zst"]), "--loss", "bce"])
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(result.stdout)
    assert header == ["row", "grad_y_pred"] and len(rows) == N
    y, p = np.array(table["y_true"], float), np.array(table["y_pred"])
    np.testing.assert_allclose(column(rows, 1), losscli.gradient(y, p, "bce"), rtol=1e-12)


# ---- one batch or many -----------------------------------------------------------------


def _counting_batches(monkeypatch) -> list[int]:
    """Count the record batches the engine reads (to prove the batching really changed)."""
    import losscli.engine.passes

    counts: list[int] = []
    real = losscli.engine.passes.read_batches

    def spy(*args, **kwargs):
        counts.append(0)
        for batch in real(*args, **kwargs):
            counts[-1] += 1
            yield batch

    monkeypatch.setattr(losscli.engine.passes, "read_batches", spy)
    return counts


def _docs_small_and_default(capsys, monkeypatch, path, *args):
    counts = _counting_batches(monkeypatch)
    default = eval_json(capsys, path, *args)
    default_batches = max(counts)
    counts.clear()
    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 256)
    monkeypatch.setattr(losscli.io.jsonl_reader, "JSONL_BLOCK", 256)
    monkeypatch.setattr(losscli.io.parquet_reader, "PARQUET_BATCH", 7)
    small = eval_json(capsys, path, *args)
    assert min(counts) > max(default_batches, 20), (default_batches, counts)
    monkeypatch.undo()
    return default, small


def _assert_same_values(a: dict, b: dict) -> None:
    assert len(a["results"]) == len(b["results"])
    for x, y in zip(a["results"], b["results"]):
        assert {k: v for k, v in x.items() if k not in ("value", "gradient")} == {
            k: v for k, v in y.items() if k not in ("value", "gradient")
        }
        assert x["value"] == pytest.approx(y["value"], rel=1e-12, abs=1e-300)
        if "gradient" in x:
            for key in ("mean", "abs_max", "l2_norm"):
                assert x["gradient"][key] == pytest.approx(y["gradient"][key], rel=1e-9, abs=1e-15)
    assert a["input"] == b["input"]


@pytest.mark.parametrize(
    ("sample", "args"),
    [
        (
            "regression.csv",
            ["--loss", "mse,rmse,mae,huber,log_cosh", "--weight", "weight", "--group", "segment"],
        ),
        ("regression.parquet", ["--loss", "mse,rmse,huber", "--group", "segment", "--gradients"]),
        ("imbalanced.csv", ["--loss", "bce,focal,brier,dice", "--group", "segment", "--gradients"]),
        ("imbalanced.parquet", ["--loss", "bce,focal,dice,tversky", "--group", "segment"]),
        ("multiclass.csv", ["--loss", "cross_entropy,focal"]),
        (
            "sequence.csv",
            ["--loss", "cross_entropy,perplexity", "--from-logits", "--group", "seq_id"],
        ),
    ],
)
def test_small_batches_give_the_same_results(capsys, monkeypatch, sample, args):
    default, small = _docs_small_and_default(capsys, monkeypatch, SAMPLES / sample, *args)
    _assert_same_values(default, small)


def test_small_batches_jsonl_and_dir(capsys, monkeypatch, formats, reference):
    for fmt in ("jsonl", "dir", "csv.gz"):
        default, small = _docs_small_and_default(capsys, monkeypatch, formats[fmt], *EVAL_ARGS)
        assert default["results"] == reference["results"]
        _assert_same_values(default, small)


def test_small_batches_same_per_row_output(capsys, monkeypatch):
    path = SAMPLES / "regression.csv"
    args = ["--loss", "huber", "--weight", "weight", "--with-loss"]
    code, big, err = cli(capsys, "grad", path, *args)
    assert code == 0, err
    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 256)
    code, small, err = cli(capsys, "grad", path, *args)
    assert code == 0, err
    assert small == big
    code, rows_small, _ = cli(capsys, "eval", path, "--loss", "mse,mae", "--reduction", "none")
    monkeypatch.undo()
    code, rows_big, _ = cli(capsys, "eval", path, "--loss", "mse,mae", "--reduction", "none")
    assert rows_small == rows_big


# ---- real exports ----------------------------------------------------------------------


@pytest.fixture
def clean(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.normal(size=50)
    p = y + rng.normal(size=50)
    path = tmp_path / "clean.csv"
    path.write_text(
        "y_true,y_pred\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(y, p))
    )
    return path, y, p


def _export(y, p, *, bom=False, crlf=False, quoted=False, extra=False, trailing=True) -> bytes:
    def cell(v: object) -> str:
        return f'"{v}"' if quoted else str(v)

    header = ["id", "y_true", "note", "y_pred", "score_v2"] if extra else ["y_true", "y_pred"]
    lines = [",".join(f'"{h}"' if quoted else h for h in header)]
    for i, (a, b) in enumerate(zip(y, p)):
        if extra:
            lines.append(
                ",".join([f"id{i}", cell(float(a)), '"a, ""quoted"" note"', cell(float(b)), "x"])
            )
        else:
            lines.append(",".join([cell(float(a)), cell(float(b))]))
    nl = "\r\n" if crlf else "\n"
    text = nl.join(lines) + (nl if trailing else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


EXPORTS = {
    "bom": dict(bom=True),
    "crlf": dict(crlf=True),
    "quoted": dict(quoted=True),
    "extra_columns": dict(extra=True),
    "no_trailing_newline": dict(trailing=False),
    "all_at_once": dict(bom=True, crlf=True, quoted=True, extra=True, trailing=False),
}


@pytest.mark.parametrize("quirk", list(EXPORTS))
def test_real_export_quirks(capsys, clean, tmp_path, quirk):
    path, y, p = clean
    want = eval_json(capsys, path, "--loss", "mse,mae,huber")
    assert want["results"][0]["value"] == pytest.approx(losscli.evaluate(y, p, "mse"), rel=1e-12)
    odd = tmp_path / f"{quirk}.csv"
    odd.write_bytes(_export(y, p, **EXPORTS[quirk]))
    got = eval_json(capsys, odd, "--loss", "mse,mae,huber")
    assert got["results"] == want["results"]
    assert got["input"]["target"] == ["y_true"] and got["input"]["predictions"] == ["y_pred"]


def test_real_export_trailing_empty_columns(capsys, clean, tmp_path):
    path, y, p = clean
    want = eval_json(capsys, path, "--loss", "mse")
    odd = tmp_path / "excel.csv"
    odd.write_text(
        "y_true,y_pred,,\n" + "".join(f"{float(a)!r},{float(b)!r},,\n" for a, b in zip(y, p))
    )
    assert eval_json(capsys, odd, "--loss", "mse")["results"] == want["results"]


def test_real_export_unnamed_index_column(capsys, clean, tmp_path):
    # pandas' to_csv() with its index: an unnamed first column
    path, y, p = clean
    want = eval_json(capsys, path, "--loss", "mse")
    odd = tmp_path / "pandas.csv"
    odd.write_text(
        ",y_true,y_pred\n"
        + "".join(f"{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(zip(y, p)))
    )
    assert eval_json(capsys, odd, "--loss", "mse")["results"] == want["results"]


@pytest.mark.parametrize("quirk", ["all_at_once", "bom"])
def test_real_export_quirks_on_stdin_and_gzip(capsys, monkeypatch, clean, tmp_path, quirk):
    path, y, p = clean
    want = eval_json(capsys, path, "--loss", "mse")
    data = _export(y, p, **EXPORTS[quirk])
    stdin_bytes(monkeypatch, data)
    assert eval_json(capsys, "-", "--loss", "mse")["results"] == want["results"]
    gz = tmp_path / "export.csv.gz"
    gz.write_bytes(gzip.compress(data))
    assert eval_json(capsys, gz, "--loss", "mse")["results"] == want["results"]


def test_real_export_quirks_grad(capsys, clean, tmp_path):
    path, y, p = clean
    odd = tmp_path / "odd.csv"
    odd.write_bytes(_export(y, p, **EXPORTS["all_at_once"]))
    code, out, err = cli(capsys, "grad", odd, "--loss", "mse")
    assert code == 0, err
    header, rows = read_csv_rows(out)
    assert header == ["row", "grad_y_pred"]
    np.testing.assert_allclose(column(rows, 1), losscli.gradient(y, p, "mse"), rtol=1e-12)


# ---- per-row output --------------------------------------------------------------------


@pytest.fixture(scope="module")
def regression() -> dict[str, np.ndarray]:
    with open(SAMPLES / "regression.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("y_true", "y_pred", "weight")}


def test_reduction_none_to_stdout(capsys, regression):
    code, out, err = cli(
        capsys,
        "eval",
        SAMPLES / "regression.csv",
        "--loss",
        "mse,huber,quantile(quantile=0.9)",
        "--reduction",
        "none",
    )
    assert code == 0 and err == ""
    header, rows = read_csv_rows(out)
    assert header == ["row", "mse", "huber", "quantile(quantile=0.9)"]
    assert [int(r[0]) for r in rows] == list(range(2000))
    y, p = regression["y_true"], regression["y_pred"]
    for j, (loss, params) in enumerate(
        [("mse", {}), ("huber", {}), ("quantile", {"quantile": 0.9})], start=1
    ):
        want = losscli.evaluate(y, p, loss, reduction="none", **params)
        np.testing.assert_allclose(column(rows, j), want, rtol=1e-12, atol=0)


def test_reduction_none_values_round_trip_exactly(capsys, regression):
    code, out, _ = cli(
        capsys, "eval", SAMPLES / "regression.csv", "--loss", "mse", "--reduction", "none"
    )
    _, rows = read_csv_rows(out)
    want = losscli.evaluate(regression["y_true"], regression["y_pred"], "mse", reduction="none")
    assert np.array_equal(column(rows, 1), want)


def parquet_written(capsys, target: Path, *args: object):
    """Run ``losscli ARGS -o TARGET``, which must succeed silently; the table it wrote."""
    code, out, err = cli(capsys, *args, "-o", target)
    assert code == 0 and out == "" and err == ""
    return pq.read_table(target)


def test_reduction_none_to_parquet(capsys, regression, tmp_path):
    target = tmp_path / "rows.parquet"
    t = parquet_written(
        capsys,
        target,
        "eval",
        SAMPLES / "regression.csv",
        "--loss",
        "mse,mae",
        "--reduction",
        "none",
    )
    assert t.column_names == ["row", "mse", "mae"]
    assert pa.types.is_integer(t.schema.field("row").type)
    assert t.column("row").to_pylist() == list(range(2000))
    y, p = regression["y_true"], regression["y_pred"]
    np.testing.assert_allclose(
        np.asarray(t.column("mae").to_pylist()), np.abs(p - y), rtol=1e-12, atol=0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["rows.parquet"]


def test_reduction_none_with_dropna_keeps_input_row_numbers(capsys, tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("y_true,y_pred\n1,2\n3,\n5,7\n")
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--reduction", "none", "--dropna")
    assert code == 0 and "dropped 1" in err
    assert out.splitlines() == ["row,mse", "0,1", "2,4"]


@pytest.mark.parametrize(
    ("args", "params"),
    [
        (["--loss", "mse"], {}),
        (["--loss", "huber", "--delta", "0.5", "--weight", "weight"], {"delta": 0.5, "w": True}),
        (["--loss", "mae", "--reduction", "sum"], {"reduction": "sum"}),
        (["--loss", "0.7*mse + 0.3*mae"], {}),
    ],
)
def test_grad_to_stdout_equals_the_api(capsys, regression, args, params):
    code, out, err = cli(capsys, "grad", SAMPLES / "regression.csv", *args, "--with-loss")
    assert code == 0 and err == ""
    header, rows = read_csv_rows(out)
    assert header == ["row", "grad_y_pred", "loss"]
    assert [int(r[0]) for r in rows] == list(range(2000))
    y, p = regression["y_true"], regression["y_pred"]
    kw = {}
    if params.get("delta"):
        kw["delta"] = params["delta"]
    weights = regression["weight"] if params.get("w") else None
    spec = args[1]
    want = losscli.gradient(
        y, p, spec, weights=weights, reduction=params.get("reduction", "mean"), **kw
    )
    np.testing.assert_allclose(column(rows, 1), want, rtol=1e-12, atol=1e-300)
    per_row = losscli.evaluate(y, p, spec, reduction="none", **kw)
    np.testing.assert_allclose(column(rows, 2), per_row, rtol=1e-12, atol=0)


def test_grad_multiclass_columns(capsys):
    path = SAMPLES / "multiclass_logits.csv"
    code, out, err = cli(
        capsys, "grad", path, "--loss", "cross_entropy", "--from-logits", "--label-smoothing", "0.1"
    )
    assert code == 0, err
    header, rows = read_csv_rows(out)
    assert header == ["row", *(f"grad_logit_{k}" for k in range(5))]
    with open(path) as f:
        data = list(csv.DictReader(f))
    y = np.array([float(r["y_true"]) for r in data])
    z = np.array([[float(r[f"logit_{k}"]) for k in range(5)] for r in data])
    want = losscli.gradient(y, z, "cross_entropy", from_logits=True, label_smoothing=0.1)
    got = np.column_stack([column(rows, j) for j in range(1, 6)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_grad_to_parquet(capsys, regression, tmp_path):
    target = tmp_path / "g.parquet"
    t = parquet_written(
        capsys, target, "grad", SAMPLES / "regression.parquet", "--loss", "huber", "--with-loss"
    )
    assert t.column_names == ["row", "grad_y_pred", "loss"]
    want = losscli.gradient(regression["y_true"], regression["y_pred"], "huber")
    np.testing.assert_allclose(
        np.asarray(t.column("grad_y_pred").to_pylist()), want, rtol=1e-12, atol=1e-300
    )


@pytest.mark.parametrize("name", ["g.csv", "g.parquet", "report.json"])
def test_o_replaces_an_existing_file(capsys, tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"old content that is longer than nothing\n" * 1000)
    if name == "report.json":
        args = ["eval", SAMPLES / "regression.csv", "--loss", "mse", "--format", "json"]
    else:
        args = ["grad", SAMPLES / "regression.csv", "--loss", "mse"]
    code, out, err = cli(capsys, *args, "-o", target)
    assert code == 0 and out == "" and err == ""
    assert b"old content" not in target.read_bytes()
    if name.endswith(".parquet"):
        assert pq.read_table(target).num_rows == 2000
    elif name.endswith(".json"):
        assert json.loads(target.read_text())["results"][0]["loss"] == "mse"
    else:
        assert target.read_text().splitlines()[0] == "row,grad_y_pred"
        assert len(target.read_text().splitlines()) == 2001
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_o_in_the_current_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "grad", SAMPLES / "regression.csv", "--loss", "mse", "-o", "g.csv")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.csv"]


# ---- groups ----------------------------------------------------------------------------


def test_group_rows_overall_first_and_weighted_mean(capsys):
    doc = eval_json(capsys, SAMPLES / "regression.csv", "--loss", "mse,mae", "--group", "segment")
    for loss in ("mse", "mae"):
        rows = [r for r in doc["results"] if r["loss"] == loss]
        assert rows[0]["group"] is None and rows[0]["n"] == 2000
        groups = rows[1:]
        assert sorted(r["group"] for r in groups) == ["east", "north", "south", "west"]
        assert [r["group"] for r in groups] == sorted(r["group"] for r in groups)
        assert sum(r["n"] for r in groups) == 2000
        mean = sum(r["n"] * r["value"] for r in groups) / 2000
        assert rows[0]["value"] == pytest.approx(mean, rel=1e-12)
    # results are ordered loss by loss, overall row first
    assert [r["loss"] for r in doc["results"]] == ["mse"] * 5 + ["mae"] * 5


def test_group_dice_overall_is_computed_from_all_rows(capsys):
    path = SAMPLES / "segmentation.csv"
    doc = eval_json(capsys, path, "--loss", "dice", "--group", "image_id")
    overall, *groups = doc["results"]
    assert overall["group"] is None and len(groups) == 8
    with open(path) as f:
        data = list(csv.DictReader(f))
    y = np.array([float(r["y_true"]) for r in data])
    p = np.array([float(r["y_pred"]) for r in data])
    ids = np.array([r["image_id"] for r in data])
    assert overall["value"] == pytest.approx(losscli.evaluate(y, p, "dice"), rel=1e-12)
    for r in groups:
        sel = ids == r["group"]
        assert r["n"] == int(sel.sum())
        assert r["value"] == pytest.approx(losscli.evaluate(y[sel], p[sel], "dice"), rel=1e-12)
    mean_of_groups = np.mean([r["value"] for r in groups])
    assert abs(overall["value"] - mean_of_groups) > 1e-3  # img_5 (empty mask) weighs ≈ 1


def test_group_with_weights(capsys, regression):
    doc = eval_json(
        capsys,
        SAMPLES / "regression.csv",
        "--loss",
        "mse",
        "--group",
        "segment",
        "--weight",
        "weight",
    )
    assert doc["input"]["weight"] == "weight" and doc["input"]["group"] == "segment"
    y, p, w = regression["y_true"], regression["y_pred"], regression["weight"]
    assert doc["results"][0]["value"] == pytest.approx(
        float(np.sum(w * (p - y) ** 2) / np.sum(w)), rel=1e-12
    )


def test_numeric_group_column(capsys, tmp_path):
    path = tmp_path / "num.csv"
    path.write_text("y_true,y_pred,k\n1,2,10\n1,3,2\n1,1,10\n1,5,2\n")
    doc = eval_json(capsys, path, "--loss", "mae", "--group", "k")
    assert [(r["group"], r["n"], r["value"]) for r in doc["results"]] == [
        (None, 4, 1.75),
        ("2", 2, 3.0),
        ("10", 2, 0.5),
    ]


# ---- report formats --------------------------------------------------------------------


INPUT_KEYS = {
    "path",
    "rows",
    "rows_dropped",
    "task",
    "target",
    "predictions",
    "weight",
    "group",
    "from_logits",
}
RESULT_KEYS = {"loss", "params", "reduction", "group", "n", "value"}


def test_json_schema_keys(capsys):
    doc = eval_json(capsys, SAMPLES / "regression.csv", "--loss", "mse,huber", "--delta", "0.5")
    assert set(doc) == {"schema", "version", "input", "convention", "results", "passed"}
    assert doc["convention"] is None
    assert doc["schema"] == "losscli.eval/1"
    assert doc["version"] == losscli.__version__
    assert set(doc["input"]) == INPUT_KEYS
    assert doc["input"] == {
        "path": str(SAMPLES / "regression.csv"),
        "rows": 2000,
        "rows_dropped": 0,
        "task": None,
        "target": ["y_true"],
        "predictions": ["y_pred"],
        "weight": None,
        "group": None,
        "from_logits": False,
    }
    for r in doc["results"]:
        assert set(r) == RESULT_KEYS
        assert r["reduction"] == "mean" and r["group"] is None and r["n"] == 2000
        assert isinstance(r["value"], float)
    assert doc["results"][1]["params"] == {"delta": 0.5}
    assert doc["passed"] is True


def test_json_schema_keys_with_gradients_and_checks(capsys):
    code, out, err = cli(
        capsys,
        "eval",
        SAMPLES / "binary_logits.csv",
        "--loss",
        "bce",
        "--pred",
        "logit",
        "--from-logits",
        "--gradients",
        "--fail-above",
        "bce=10",
        "--reduction",
        "sum",
        "--format",
        "json",
    )
    assert code == 1 and "bce" in err  # the sum is far above 10: the check fails
    doc = json.loads(out)
    assert set(doc) == {"schema", "version", "input", "convention", "results", "checks", "passed"}
    assert doc["input"]["from_logits"] is True and doc["input"]["predictions"] == ["logit"]
    (r,) = doc["results"]
    assert set(r) == RESULT_KEYS | {"gradient"}
    assert set(r["gradient"]) == {"mean", "abs_max", "l2_norm"}
    assert r["reduction"] == "sum"
    (c,) = doc["checks"]
    assert set(c) == {"loss", "fail_above", "value", "passed"}
    assert c == {"loss": "bce", "fail_above": 10.0, "value": r["value"], "passed": False}
    assert doc["passed"] is False


def test_csv_format(capsys):
    path = SAMPLES / "regression.csv"
    args = ["--loss", "mse,huber(delta=0.5)", "--group", "segment"]
    doc = eval_json(capsys, path, *args)
    code, out, err = cli(capsys, "eval", path, *args, "--format", "csv")
    assert code == 0 and err == ""
    header, rows = read_csv_rows(out)
    assert header == ["loss", "params", "reduction", "group", "n", "value"]
    assert len(rows) == len(doc["results"]) == 10
    for row, r in zip(rows, doc["results"]):
        assert row[0] == r["loss"]
        assert json.loads(row[1]) == r["params"]
        assert row[2] == "mean"
        assert row[3] == ("" if r["group"] is None else r["group"])
        assert int(row[4]) == r["n"]
        assert float(row[5]) == r["value"]  # full precision


def test_csv_format_with_gradients(capsys):
    path = SAMPLES / "regression.csv"
    doc = eval_json(capsys, path, "--loss", "mse", "--gradients")
    code, out, _ = cli(capsys, "eval", path, "--loss", "mse", "--gradients", "--format", "csv")
    header, rows = read_csv_rows(out)
    assert header[-3:] == ["grad_mean", "grad_abs_max", "grad_l2_norm"]
    g = doc["results"][0]["gradient"]
    assert [float(x) for x in rows[0][-3:]] == [g["mean"], g["abs_max"], g["l2_norm"]]


def test_markdown_format(capsys):
    path = SAMPLES / "regression.csv"
    code, out, err = cli(
        capsys,
        "eval",
        path,
        "--loss",
        "mse,mae",
        "--group",
        "segment",
        "--format",
        "markdown",
        "--fail-above",
        "mse=100",
    )
    assert code == 0 and err == ""
    # A title naming the file (as compare's and check's Markdown have), then what was read.
    assert out.splitlines()[:4] == [
        f"### losscli eval `{path}`: ✅ checks passed",
        "",
        "2000 rows read, target `y_true`, predictions `y_pred`.",
        "",
    ]
    lines = out.splitlines()[4:]
    assert lines[0] == "| loss | params | group | n | value |"
    assert lines[1] == "|---|---|---|---|---|"
    table = lines[2:12]
    assert all(line.startswith("| ") and line.endswith(" |") for line in table)
    assert [line.split(" | ")[0] for line in table] == ["| mse"] * 5 + ["| mae"] * 5
    assert table[0].split(" | ")[2] == "(all)"
    assert lines[12] == ""
    assert lines[13].startswith("| check |") and "mse" in lines[15] and "passed" in lines[15]


def test_markdown_with_gradients_has_gradient_columns(capsys):
    code, out, _ = cli(
        capsys,
        "eval",
        SAMPLES / "regression.csv",
        "--loss",
        "mse",
        "--gradients",
        "--format",
        "markdown",
    )
    header = out.splitlines()[4]
    assert header.count("|") == 9 and "grad" in header


def test_table_format_when_piped(capsys):
    code, out, err = cli(capsys, "eval", SAMPLES / "regression.csv", "--loss", "mse")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["loss", "params", "group", "n", "value"]
    assert lines[1].split()[:4] == ["mse", "-", "(all)", "2000"]
    assert "\x1b[" not in out  # no colour or box drawing when not a terminal


# ---- task inference --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "task", "losses"),
    [
        ("regression.csv", "regression", ["mse", "rmse", "mae", "huber"]),
        ("imbalanced.csv", "imbalanced", ["bce", "focal", "brier"]),
        ("multiclass.csv", "multiclass", ["cross_entropy"]),
        ("multilabel.csv", "multilabel", ["bce"]),
        ("counts.csv", "counts", ["poisson", "mse", "mae"]),
        ("binary.csv", "binary", ["bce", "brier"]),
        ("distribution.csv", "distribution", ["kl_div"]),
    ],
)
def test_task_inference(capsys, sample, task, losses):
    code, out, err = cli(capsys, "eval", SAMPLES / sample, "--format", "json")
    assert code == 0, err
    notes = err.splitlines()
    assert len(notes) == 1 and notes[0].startswith(f"note: inferred task: {task} ("), err
    doc = json.loads(out)
    assert doc["input"]["task"] == task
    assert list(dict.fromkeys(r["loss"] for r in doc["results"])) == losses
    code, out_quiet, err = cli(capsys, "eval", SAMPLES / sample, "--format", "json", "--quiet")
    assert code == 0 and err == ""
    assert json.loads(out_quiet) == doc


def test_task_inference_from_stdin(capsys, monkeypatch):
    stdin_bytes(monkeypatch, (SAMPLES / "imbalanced.csv").read_bytes())
    code, out, err = cli(capsys, "eval", "-", "--format", "json")
    assert code == 0, err
    assert err.startswith("note: inferred task: imbalanced")
    doc = json.loads(out)
    assert doc["input"]["task"] == "imbalanced" and doc["input"]["rows"] == 4000


def test_task_inference_parquet_matches_csv(capsys):
    a = eval_json(capsys, SAMPLES / "multiclass.csv", "-q")
    b = eval_json(capsys, SAMPLES / "multiclass.parquet", "-q")
    assert a["input"]["task"] == b["input"]["task"] == "multiclass"
    assert [r["value"] for r in a["results"]] == pytest.approx(
        [r["value"] for r in b["results"]], rel=1e-12
    )


# ---- shell pipelines -------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """200k rows (~8 MB): far more than a pipe buffer, so ``head`` closes the pipe early."""
    rng = np.random.default_rng(11)
    y = rng.normal(size=200_000)
    p = y + 0.3 * rng.normal(size=200_000)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    buf = io.StringIO()
    buf.write("y_true,y_pred\n")
    np.savetxt(buf, np.column_stack([y, p]), delimiter=",", fmt="%.17g")
    path.write_text(buf.getvalue())
    return path


def test_pipeline_stdin_to_json_to_python():
    L = losscli_command()
    script = (
        "set -o pipefail; "
        f"cat sample_data/regression.csv | {L} eval - --loss mse --format json | "
        f"{sys.executable} -c 'import json,sys; d=json.load(sys.stdin); "
        'assert d["results"][0]["loss"]=="mse"; assert d["input"]["rows"]==2000; print("ok")\''
    )
    proc = bash(script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n" and proc.stderr == ""


def test_pipeline_parquet_on_stdin():
    L = losscli_command()
    proc = bash(
        "set -o pipefail; "
        f"cat sample_data/regression.parquet | {L} eval - --input-format parquet --loss mse "
        "--format csv | tail -n 1"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mse,{},mean,,2000,")


@pytest.mark.parametrize(
    "command",
    ["grad {big} --loss mse", "eval {big} --loss mse,mae --reduction none", "grad - --loss mse"],
)
def test_pipeline_closed_early_by_head(big_csv, command):
    L = losscli_command()
    cmd = command.format(big=big_csv)
    source = f"cat {big_csv} | " if " - " in cmd else ""
    script = (
        "set -o pipefail; "
        f"{source}{L} {cmd} 2>losscli.err | head -3 > head.out; "
        'echo "${PIPESTATUS[*]} $?"'
    )
    proc = bash(script, cwd=big_csv.parent)
    assert proc.stderr == ""
    statuses = proc.stdout.split()
    assert statuses and all(s == "0" for s in statuses), statuses  # every command, overall
    assert (big_csv.parent / "losscli.err").read_text() == ""
    head = (big_csv.parent / "head.out").read_text().splitlines()
    assert len(head) == 3
    assert head[0] in ("row,grad_y_pred", "row,mse,mae")
    assert head[1].startswith("0,") and head[2].startswith("1,")


def test_pipeline_first_status_with_pipestatus(big_csv):
    # the same check without pipefail: the producer's own status, as CI scripts read it
    L = losscli_command()
    proc = bash(
        f'{L} grad {big_csv} --loss mse | head -3 >/dev/null; echo "${{PIPESTATUS[0]}}"',
        cwd=big_csv.parent,
    )
    assert proc.stdout.strip() == "0" and proc.stderr == ""


def test_pipeline_error_goes_to_stderr_only():
    L = losscli_command()
    proc = bash(
        "set -o pipefail; "
        f"printf 'y_true,y_pred\\n1,2\\n3,nan\\n' | {L} eval - --loss mse --format json | cat"
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: <stdin>") and "Traceback" not in proc.stderr


# A command line run in a fresh process, then a look at what it left set (``probe``).
AFTER_AN_EVAL = """
import sys
from losscli.cli.commands import main
sys.argv = ["losscli", "eval", {path!r}, "--loss", "mse", "--format", "json"]
try:
    main()
except SystemExit:
    pass
{probe}
"""


def _after_an_eval(probe: str, env: dict[str, str]) -> str:
    """stderr of a fresh process that runs ``losscli eval`` on the sample, then ``probe``."""
    import subprocess

    path = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")
    proc = subprocess.run(
        [sys.executable, "-c", AFTER_AN_EVAL.format(path=path, probe=probe)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return proc.stderr


POOL_PROBE = """
import pyarrow
sys.stderr.write("POOL=" + pyarrow.default_memory_pool().backend_name + "\\n")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jemalloc is chosen on Linux")
@pytest.mark.parametrize("user_choice,expected", [(None, "jemalloc"), ("system", "system")])
def test_the_cli_reads_with_arrows_jemalloc_pool_unless_the_user_chose_one(user_choice, expected):
    import os

    import pyarrow

    if expected == "jemalloc" and "jemalloc" not in pyarrow.supported_memory_backends():
        pytest.skip("this pyarrow build has no jemalloc")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if user_choice:
        env["ARROW_DEFAULT_MEMORY_POOL"] = user_choice
    err = _after_an_eval(POOL_PROBE, env)
    assert f"POOL={expected}" in err, err


BLAS_PROBE = """
import threadpoolctl
pools = [p for p in threadpoolctl.threadpool_info() if p["internal_api"] == "openblas"]
sys.stderr.write("THREADS=" + ",".join(str(p["num_threads"]) for p in pools) + "\\n")
"""

# numpy alone: its OpenBLAS pools and their threads, without losscli's settings
BLAS_ALONE = """
import numpy, threadpoolctl
pools = [p for p in threadpoolctl.threadpool_info() if p["internal_api"] == "openblas"]
print(max((p["num_threads"] for p in pools), default=0))
"""


@pytest.mark.parametrize(
    "user_choice,expected",
    [({}, "1"), ({"OPENBLAS_NUM_THREADS": "2"}, "2"), ({"OMP_NUM_THREADS": "2"}, "2")],
)
def test_the_cli_runs_numpys_openblas_on_one_thread_unless_the_user_chose(user_choice, expected):
    import os

    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    alone = subprocess.run(
        [sys.executable, "-c", BLAS_ALONE], capture_output=True, text=True, env=env
    )
    threads = int(alone.stdout.strip() or 0)
    if threads == 0:
        pytest.skip("this numpy does not run on OpenBLAS")
    if threads == 1:
        pytest.skip("OpenBLAS runs one thread on this machine anyway")
    err = _after_an_eval(BLAS_PROBE, {**env, **user_choice})
    assert f"THREADS={expected}" in err, err


def test_output_dash_is_stdout(tmp_path: Path) -> None:
    data = tmp_path / "small.csv"
    data.write_text("y_true,y_pred\n1,2\n3,5\n")
    proc = succeeds(
        [sys.executable, "-m", "losscli", "grad", str(data), "--loss", "mse", "-o", "-"],
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.stdout.splitlines() == ["row,grad_y_pred", "0,1", "1,2"]
    assert not (tmp_path / "-").exists()


def test_markdown_title_names_stdin_dropped_rows_and_a_failed_check(capsys, monkeypatch, tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("y_true,y_pred\n1,1.5\n2,\n3,2.5\n")
    code, out, _ = cli(
        capsys,
        "eval",
        path,
        "--loss",
        "mse",
        "--dropna",
        "--fail-above",
        "mse=0.1",
        "--format",
        "markdown",
    )
    assert code == 1
    assert out.splitlines()[:3] == [
        f"### losscli eval `{path}`: ❌ check failed",
        "",
        "3 rows read, 1 dropped, target `y_true`, predictions `y_pred`.",
    ]
    stdin_bytes(monkeypatch, b"y_true,y_pred\n1,1.5\n3,2.5\n")
    code, out, _ = cli(capsys, "eval", "-", "--loss", "mse", "--format", "markdown")
    assert code == 0 and out.splitlines()[0] == "### losscli eval standard input"


def test_jsonl_numeric_group_column_groups_like_csv(capsys, tmp_path):
    """A JSON Lines group column holding numbers (pandas' to_json of an int column) groups as
    the same column written to CSV does."""
    rng = np.random.default_rng(7)
    n = 400
    y, p, g = rng.normal(size=n).tolist(), rng.normal(size=n).tolist(), rng.integers(1, 4, n)
    jsonl, csv_path = tmp_path / "g.jsonl", tmp_path / "g.csv"
    jsonl.write_text(
        "".join(json.dumps({"y": a, "p": b, "g": int(c)}) + "\n" for a, b, c in zip(y, p, g))
    )
    csv_path.write_text("y,p,g\n" + "".join(f"{a!r},{b!r},{c}\n" for a, b, c in zip(y, p, g)))
    args = ["-l", "mse", "-t", "y", "-p", "p", "--group", "g"]
    from_jsonl = eval_json(capsys, jsonl, *args)["results"]
    from_csv = eval_json(capsys, csv_path, *args)["results"]
    assert [r["group"] for r in from_jsonl] == [None, "1", "2", "3"]
    assert from_jsonl == from_csv
    err = (np.array(y) - np.array(p)) ** 2
    for r in from_jsonl[1:]:
        assert r["value"] == pytest.approx(err[g == int(r["group"])].mean(), rel=1e-12)


@pytest.mark.parametrize(
    ("values", "suffix", "role", "shown"),
    [
        (
            pa.array([[1.0], [2.0], [3.0]]),
            "parquet",
            "pred",
            "list<element: double> values, not numbers",
        ),
        (
            pa.array([[1.0], [2.0], [3.0]]),
            "feather",
            "pred",
            "list<item: double> values, not numbers",
        ),
        (
            pa.array([19000, 19001, 19002], pa.date32()),
            "parquet",
            "pred",
            "date32[day] values, not numbers",
        ),
        (pa.array([[1], [2], [3]]), "parquet", "group", "list<element: int64> values, not labels"),
    ],
)
def test_a_column_of_lists_or_dates_is_one_error(capsys, tmp_path, values, suffix, role, shown):
    """A typed file's column that is not numbers (a list, a date) where numbers or labels
    are read: one error naming the file, the column and its type (was an internal error)."""
    import pyarrow.feather as feather

    table = pa.table({"y": [1.0, 2.0, 3.0], "p": [1.0, 2.5, 2.0], "c": values})
    path = tmp_path / f"typed.{suffix}"
    (pq.write_table if suffix == "parquet" else feather.write_feather)(table, str(path))
    args = ["-t", "y", "-p", "c"] if role == "pred" else ["-t", "y", "-p", "p", "--group", "c"]
    code, out, err = cli(capsys, "eval", path, "-l", "mse", *args)
    assert code == 2 and out == ""
    assert err.splitlines()[0] == f"error: {path}: column 'c' holds {shown}"
