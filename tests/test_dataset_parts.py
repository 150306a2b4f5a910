"""Issue 19, more inputs (README "Folders of parts, Hive partitions, Feather"): a directory
or glob of CSV, TSV, JSON Lines or Arrow parts is read as one table, its files in path
order; Hive ``key=value`` folders give columns usable as --target, --group and --keep;
Feather and Arrow IPC files and streams are read batch by batch.

Every value is checked against scikit-learn or pandas on the same rows, and against
``eval`` on the same rows written as one CSV file.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from helpers import SAMPLES, cli, eval_json, user_error
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

# Part sizes, named so that path order (part-10 before part-2) differs from natural order.
PARTS = {"part-0": 700, "part-1": 300, "part-10": 450, "part-2": 550}
ORDER = ["part-0", "part-1", "part-10", "part-2"]  # sorted path components, as documented


@pytest.fixture(scope="module")
def regression() -> pd.DataFrame:
    frame = pd.read_csv(SAMPLES / "regression.csv")
    assert len(frame) == sum(PARTS.values())
    return frame


def _split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame cut into the parts, in the order they are written (not path order)."""
    out, start = {}, 0
    for name, n in PARTS.items():
        out[name] = frame.iloc[start : start + n]
        start += n
    return out


def _in_path_order(frame: pd.DataFrame) -> pd.DataFrame:
    parts = _split(frame)
    return pd.concat([parts[name] for name in ORDER], ignore_index=True)


def _values(doc: dict) -> dict[tuple[str, str], float]:
    return {(r["loss"], r.get("group") or "(all)"): r["value"] for r in doc["results"]}


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory, regression) -> Path:
    root = tmp_path_factory.mktemp("csv_parts")
    for name, part in _split(regression).items():
        part.to_csv(root / f"{name}.csv", index=False)
    (root / "_SUCCESS").write_text("")  # skipped, as Spark's marker files are
    (root / "README.md").write_text("not a part\n")
    return root


def test_a_directory_of_csv_parts_equals_one_csv_of_the_rows_in_path_order(
    capsys, tmp_path, csv_dir, regression
):
    whole = _in_path_order(regression)
    whole.to_csv(tmp_path / "whole.csv", index=False)
    args = ["--loss", "mse,mae", "--weight", "weight", "--group", "segment"]
    parts = eval_json(capsys, csv_dir, *args, quiet=True)
    one = eval_json(capsys, tmp_path / "whole.csv", *args, quiet=True)
    assert parts["input"]["rows"] == 2000
    assert _values(parts) == pytest.approx(_values(one), rel=1e-12)
    got = _values(parts)
    w = whole["weight"]
    assert got[("mse", "(all)")] == pytest.approx(
        mean_squared_error(whole.y_true, whole.y_pred, sample_weight=w), rel=1e-12
    )
    for name, g in whole.groupby("segment"):
        assert got[("mae", name)] == pytest.approx(
            mean_absolute_error(g.y_true, g.y_pred, sample_weight=g.weight), rel=1e-12
        )


def test_per_row_losses_are_numbered_across_the_parts_in_path_order(
    capsys, tmp_path, csv_dir, regression
):
    out = tmp_path / "rows.csv"
    code, _, err = cli(
        capsys, "eval", csv_dir, "--loss", "mse", "--reduction", "none", "--keep", "segment",
        "-o", out,
    )  # fmt: skip
    assert code == 0, err
    rows = pd.read_csv(out)
    whole = _in_path_order(regression)
    assert rows["row"].tolist() == list(range(2000))
    assert rows["segment"].tolist() == whole["segment"].tolist()
    np.testing.assert_allclose(rows["mse"], (whole.y_true - whole.y_pred) ** 2, rtol=1e-12)


def test_grad_and_compare_read_a_glob_of_parts(capsys, tmp_path, csv_dir, regression):
    out = tmp_path / "grad.csv"
    code, _, err = cli(capsys, "grad", f"{csv_dir}/part-1*.csv", "--loss", "mse", "-o", out)
    assert code == 0, err
    rows = pd.read_csv(out)
    parts = _split(regression)
    chosen = pd.concat([parts["part-1"], parts["part-10"]], ignore_index=True)
    assert rows["row"].tolist() == list(range(750))
    # d/dŷ of the mean squared error over n rows: 2 (ŷ - y) / n
    np.testing.assert_allclose(
        rows.iloc[:, -1], 2 * (chosen.y_pred - chosen.y_true) / len(chosen), rtol=1e-12
    )
    code, out_text, err = cli(
        capsys, "compare", csv_dir, SAMPLES / "regression_retrained.csv", "--loss", "mse",
        "--bootstrap", "0", "--format", "json",
    )  # fmt: skip
    assert code in (0, 1), err
    doc = json.loads(out_text)
    base = [r for r in doc["results"] if r["loss"] == "mse"][0]
    whole = _in_path_order(regression)
    assert base["baseline"] == pytest.approx(mean_squared_error(whole.y_true, whole.y_pred))


def test_check_and_report_read_a_directory_of_parts(capsys, tmp_path, csv_dir, regression):
    whole = _in_path_order(regression)
    mse = mean_squared_error(whole.y_true, whole.y_pred)
    config = tmp_path / "losscli.toml"
    for limit, status in ((mse * 1.001, 0), (mse * 0.999, 1)):
        config.write_text(
            f'[[check]]\nname = "parts"\nfile = "{csv_dir}"\nloss = "mse"\n'
            f"fail_above = {{ mse = {limit!r} }}\n"
        )
        code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
        assert code == status, err
        (result,) = json.loads(out)["checks"][0]["results"]
        assert result["value"] == pytest.approx(mse, rel=1e-12)
    page = tmp_path / "page.html"
    code, _, err = cli(capsys, "report", csv_dir, "--loss", "mse", "-o", page, "-q")
    assert code == 0, err
    data = page.read_text(encoding="utf-8").split('id="losscli-data">', 1)[1]
    doc = json.loads(data.split("</script>", 1)[0].replace("<\\/", "</"))
    assert doc["input"]["rows"] == 2000
    assert doc["results"][0]["value"] == pytest.approx(mse, rel=1e-12)


def test_json_lines_parts_some_compressed(capsys, tmp_path, regression):
    root = tmp_path / "jl"
    root.mkdir()
    for name, part in _split(regression).items():
        text = part.to_json(orient="records", lines=True)
        if name == "part-1":
            (root / f"{name}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
        else:
            (root / f"{name}.jsonl").write_text(text)
    whole = _in_path_order(regression)
    got = _values(eval_json(capsys, root, "--loss", "mse", "--group", "segment", quiet=True))
    assert got[("mse", "(all)")] == pytest.approx(
        mean_squared_error(whole.y_true, whole.y_pred), rel=1e-12
    )
    for name, g in whole.groupby("segment"):
        assert got[("mse", name)] == pytest.approx(
            mean_squared_error(g.y_true, g.y_pred), rel=1e-12
        )


# ---- Hive partitions --------------------------------------------------------------------


@pytest.fixture(scope="module")
def hive(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """Binary rows in label=0/1 × region=… folders, as CSV parts: the target is a folder."""
    rng = np.random.default_rng(19)
    root = tmp_path_factory.mktemp("hive")
    frames = []
    for label in (0, 1):
        for region, n in (("eu", 120), ("us", 80), ("south america", 50)):
            prob = np.clip(rng.uniform(0.05, 0.6, n) + 0.35 * label, 0.01, 0.99)
            part = pd.DataFrame({"prob": prob, "w": rng.uniform(0.5, 2.0, n)})
            folder = root / f"label={label}" / f"region={region.replace(' ', '%20')}"
            folder.mkdir(parents=True)
            half = n // 2
            part.iloc[:half].to_csv(folder / "part-0.csv", index=False)
            part.iloc[half:].to_csv(folder / "part-1.csv", index=False)
            frames.append(part.assign(label=label, region=region))
    return root, pd.concat(frames, ignore_index=True)


def test_hive_folders_are_columns_for_target_and_group(capsys, hive):
    root, rows = hive
    doc = eval_json(
        capsys, root, "--loss", "bce", "--target", "label", "--pred", "prob", "--weight", "w",
        "--group", "region", quiet=True,
    )  # fmt: skip
    got = _values(doc)
    assert doc["input"]["rows"] == len(rows)
    assert got[("bce", "(all)")] == pytest.approx(
        log_loss(rows.label, rows.prob, sample_weight=rows.w), rel=1e-12
    )
    for region, g in rows.groupby("region"):  # the percent-encoded folder reads as a space
        assert got[("bce", region)] == pytest.approx(
            log_loss(g.label, g.prob, sample_weight=g.w, labels=[0, 1]), rel=1e-12
        )


def test_completion_offers_the_parts_and_partition_columns(hive, tmp_path, regression):
    from losscli.cli.completion import header_columns

    root, _ = hive
    assert header_columns(str(root)) == ["prob", "w", "label", "region"]
    feather.write_feather(pa.Table.from_pandas(regression), tmp_path / "r.feather")
    assert header_columns(str(tmp_path / "r.feather")) == list(regression.columns)


def test_hive_columns_are_kept_in_per_row_output(capsys, tmp_path, hive):
    root, rows = hive
    out = tmp_path / "rows.csv"
    code, _, err = cli(
        capsys, "eval", f"{root}/label=1", "--loss", "mse", "--target", "prob", "--pred", "w",
        "--reduction", "none", "--keep", "region", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    got = pd.read_csv(out, keep_default_na=False)
    # below label=1 only region is a partition; folders in path order: eu, south%20america, us
    ones = rows[rows.label == 1]
    order = {"eu": 0, "south america": 1, "us": 2}
    expected = ones.assign(k=ones.region.map(order)).sort_values("k", kind="stable")
    assert got["region"].tolist() == expected["region"].tolist()
    np.testing.assert_allclose(got["mse"], (expected.prob - expected.w) ** 2, rtol=1e-12)


def test_hive_values_and_types_are_pyarrows(tmp_path):
    """The partition columns equal pyarrow.dataset's Hive partitioning of the same paths."""
    import pyarrow.dataset as ds

    from losscli.io.dataset import hive_partitions

    paths = [
        "a=1/b=x/f.parquet",
        "a=2/b=__HIVE_DEFAULT_PARTITION__/f.parquet",
        "a=3/b=%C3%A9t%C3%A9/c=3000000000/f.parquet",
        "a=-4/b=7/c=5/f.parquet",
        "a=5/b=1_000/d=x%3Dy/f.parquet",
    ]
    files = []
    for i, rel in enumerate(paths):
        path = tmp_path / rel
        path.parent.mkdir(parents=True)
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"v": [float(i)]}), path)
        files.append(str(path))
    ours = hive_partitions(str(tmp_path), files)
    theirs = ds.dataset(str(tmp_path), partitioning="hive")
    kinds = {f.name: str(f.type) for f in theirs.schema if f.name != "v"}
    assert (
        dict(ours.columns) == kinds == {"a": "int32", "b": "string", "c": "string", "d": "string"}
    )
    for fragment in theirs.get_fragments():
        assert ours.values[fragment.path] == ds.get_partition_keys(fragment.partition_expression)


# ---- Feather / Arrow IPC ----------------------------------------------------------------


def test_feather_and_arrow_ipc_file_and_stream(capsys, tmp_path, regression):
    table = pa.Table.from_pandas(regression, preserve_index=False)
    feather.write_feather(table, tmp_path / "r.feather", chunksize=300, compression="zstd")
    with pa.ipc.new_stream(tmp_path / "r.ipc", table.schema) as w:
        for batch in table.to_batches(max_chunksize=700):
            w.write_batch(batch)
    with pa.ipc.new_file(tmp_path / "r.data", table.schema) as w:
        w.write_table(table)
    args = ["--loss", "mse", "--weight", "weight", "--group", "segment"]
    expected = _values(eval_json(capsys, SAMPLES / "regression.csv", *args, quiet=True))
    assert expected[("mse", "(all)")] == pytest.approx(
        mean_squared_error(regression.y_true, regression.y_pred, sample_weight=regression.weight),
        rel=1e-12,
    )
    for path, extra in (
        ("r.feather", []),
        ("r.ipc", []),
        ("r.data", ["--input-format", "arrow"]),
        ("r.data", ["--input-format", "feather"]),
    ):
        doc = eval_json(capsys, tmp_path / path, *args, *extra, quiet=True)
        assert doc["input"]["rows"] == 2000
        assert _values(doc) == pytest.approx(expected, rel=1e-12), path


def test_an_arrow_stream_on_stdin(capsys, monkeypatch, tmp_path, regression):
    from helpers import stdin_bytes

    table = pa.Table.from_pandas(regression, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table, max_chunksize=512)
    stdin_bytes(monkeypatch, sink.getvalue().to_pybytes())
    got = _values(eval_json(capsys, "-", "--input-format", "arrow", "--loss", "mse", quiet=True))
    assert got[("mse", "(all)")] == pytest.approx(
        mean_squared_error(regression.y_true, regression.y_pred), rel=1e-12
    )


def test_a_directory_of_feather_parts(capsys, tmp_path, regression):
    for name, part in _split(regression).items():
        feather.write_feather(
            pa.Table.from_pandas(part, preserve_index=False), tmp_path / f"{name}.feather"
        )
    whole = _in_path_order(regression)
    got = _values(eval_json(capsys, tmp_path, "--loss", "mae", quiet=True))
    assert got[("mae", "(all)")] == pytest.approx(
        mean_absolute_error(whole.y_true, whole.y_pred), rel=1e-12
    )


# ---- errors -----------------------------------------------------------------------------


def test_a_part_with_other_columns_is_named(capsys, tmp_path, regression):
    parts = _split(regression)
    parts["part-0"].to_csv(tmp_path / "part-0.csv", index=False)
    parts["part-1"].drop(columns=["weight"]).to_csv(tmp_path / "part-1.csv", index=False)
    line = user_error(capsys, "eval", tmp_path, "--loss", "mse")
    assert line == (
        f"error: {tmp_path / 'part-1.csv'}: the part lacks weight; every part of {tmp_path} "
        "needs the columns of its first part"
    )


def test_errors_name_the_part_file_and_its_row(capsys, tmp_path, regression):
    parts = _split(regression)
    for name, part in parts.items():
        part = part.copy()
        if name == "part-10":
            part.iloc[4, part.columns.get_loc("y_pred")] = np.nan
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    line = user_error(capsys, "eval", tmp_path, "--loss", "mse")
    # part-10 follows part-0 (700 rows) and part-1 (300 rows): table row 1004
    assert line == (
        f"error: {tmp_path}: column 'y_pred' has 1 empty, NaN or infinite cell(s), first at "
        f"row(s) 1004 (row 1004: {tmp_path / 'part-10.csv'}, row 4, line 6)"
    )
    (tmp_path / "part-2.csv").write_text("y_true,y_pred,segment,weight\n1,2,north,1\n1,x,north,1\n")
    line = user_error(capsys, "eval", tmp_path, "--loss", "mse", "--dropna")
    assert line.startswith(f"error: {tmp_path / 'part-2.csv'}: column 'y_pred', row 1 (line 3)")


def test_a_kernel_error_names_the_part_and_its_row(capsys, tmp_path, regression):
    parts = _split(regression)
    for name, part in parts.items():
        part = part.copy()
        part["y_true"] = part["y_true"].abs()
        part["y_pred"] = part["y_pred"].abs() + 0.1
        if name == "part-2":
            part.iloc[7, part.columns.get_loc("y_true")] = -1.0
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    line = user_error(capsys, "eval", tmp_path, "--loss", "poisson")
    assert f"row 1457 ({tmp_path / 'part-2.csv'}, row 7, line 9): -1 is a negative count" in line


def test_a_directory_of_two_formats_is_refused(capsys, tmp_path, regression):
    regression.to_csv(tmp_path / "a.csv", index=False)
    regression.to_json(tmp_path / "b.jsonl", orient="records", lines=True)
    line = user_error(capsys, "eval", tmp_path, "--loss", "mse")
    assert "the parts are of more than one format" in line
    got = _values(
        eval_json(capsys, tmp_path, "--input-format", "jsonl", "--loss", "mse", quiet=True)
    )
    assert got[("mse", "(all)")] == pytest.approx(
        mean_squared_error(regression.y_true, regression.y_pred), rel=1e-12
    )


def test_a_feather_v1_file_is_refused_with_a_hint(capsys, tmp_path):
    (tmp_path / "old.feather").write_bytes(b"FEA1" + b"\0" * 60)
    line = user_error(capsys, "eval", tmp_path / "old.feather", "--loss", "mse")
    assert "a Feather v1 file" in line


SCRIPT = """
import io, json, sys
from losscli.cli.commands import run
out, sys.stdout = sys.stdout, io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
code = run(sys.argv[1:])
sys.stdout = out
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules}))
"""


def test_reading_parts_and_hive_columns_imports_no_pandas(hive):
    root, _ = hive
    args = ["eval", str(root), "--loss", "bce", "--target", "label", "--pred", "prob", "--group", "region"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"code": 0, "pandas": False}
