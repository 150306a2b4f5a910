"""``--engine dask`` (issue 7; README "Beyond one machine"): eval, grad and compare over a multi-file Parquet
dataset as Dask tasks, one per partition, equal the local engine's results to 1e-9
relative; ``grad`` writes one Parquet file per partition; errors are the local engine's;
a missing extra is one ``error:`` line naming ``pip install 'losscli[dask]'``.

The cluster is a LocalCluster of 2 workers in this process that talk over TCP (so every
task and result is pickled), started once for the module; one test starts 2 worker
processes. A test that hangs ends the run after ``HANG_SECONDS`` with a traceback.
"""

from __future__ import annotations

import faulthandler
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import cli

from losscli.app.compare import compare_files
from losscli.app.evaluation import evaluate_file, write_gradients, write_rows

try:
    import dask
    import distributed
except ImportError:  # the missing-extra tests below still run
    dask = distributed = None

needs_dask = pytest.mark.skipif(distributed is None, reason="needs pip install 'losscli[dask]'")
HANG_SECONDS = 120
REL = 1e-9

# Rows per file (one file is empty) and the row-group size each is written with.
FILES = {
    "part-0.parquet": (500, 128),
    "part-1.parquet": (37, 37),
    "part-1z.parquet": (0, 10),
    "year=2025/part-2.parquet": (800, 100),
    "year=2025/part-3.pq": (263, 64),
}
GROUPS = np.array(["north", "south", "east"])


@pytest.fixture(autouse=True)
def _hang_guard():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _table(n: int, preds_seed: int) -> pa.Table:
    """``n`` rows whose targets are the same for every seed; predictions depend on it."""
    t = np.random.default_rng(17)
    y = t.normal(size=n)
    label = (t.uniform(size=n) < 0.3).astype(np.float64)
    cls = t.integers(0, 3, size=n)
    group = GROUPS[t.integers(0, 3, size=n)].astype(object)
    group[1400:1500] = "west"  # a group that only the last file has
    p = np.random.default_rng(preds_seed)
    logits = p.normal(size=(n, 3)) + np.eye(3)[cls]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pa.table(
        {
            "id": pa.array([f"r{r:05d}" for r in range(n)], pa.string()),
            "y_true": y,
            "y_pred": y + p.normal(scale=0.4, size=n),
            "w": p.uniform(0.1, 3.0, size=n),
            "g": pa.array(list(group), pa.string()),
            "label": label,
            "prob": np.clip(label * 0.6 + p.uniform(0.05, 0.4, size=n), 0.01, 0.99),
            "cls": cls.astype(np.int64),
            **{f"p_{k}": probs[:, k] for k in range(3)},
        }
    )


def _write_dataset(root: Path, preds_seed: int, layout: dict[str, tuple[int, int]]) -> pa.Table:
    whole = _table(sum(n for n, _ in layout.values()), preds_seed)
    start = 0
    for name, (n, group_rows) in layout.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(whole.slice(start, n), path, row_group_size=group_rows)
        start += n
    (root / "_SUCCESS").write_text("")
    hidden = root / ".checkpoints"
    hidden.mkdir()
    (hidden / "stale.parquet").write_bytes(b"not parquet: would fail if it were read")
    return whole


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A baseline and a candidate dataset (different file layouts, same targets), and the
    baseline concatenated into one file."""
    root = tmp_path_factory.mktemp("dask_data")
    whole = _write_dataset(root / "base", 1, FILES)
    (root / "single").mkdir()
    pq.write_table(whole, root / "single" / "all.parquet", row_group_size=1000)
    layout = {"a.parquet": (900, 300), "b/b.parquet": (700, 50)}
    cand = _write_dataset(root / "cand", 2, layout)
    pq.write_table(cand, root / "single" / "cand.parquet")
    return {
        "base": root / "base",
        "cand": root / "cand",
        "all": root / "single" / "all.parquet",
        "cand_all": root / "single" / "cand.parquet",
        "root": root,
    }


@pytest.fixture(scope="module")
def cluster():
    """Two workers in this process, talking to the scheduler over TCP."""
    if distributed is None:
        pytest.skip("needs pip install 'losscli[dask]'")
    with dask.config.set({"distributed.comm.timeouts.connect": "20s"}):
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            dashboard_address=":0",
            silence_logs=40,
        ) as c:
            yield c


def assert_close(a, b, path="doc"):
    """Equal structure; floats equal to 1e-9 relative (1e-12 absolute near 0); paths skipped."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            if k != "path":
                assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, float), path
        assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-12), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# ---- eval ------------------------------------------------------------------------------

EVAL_CASES = {
    "regression": dict(
        loss="mse,rmse,mae,huber(delta=0.5),log_cosh,0.7*mse+0.3*mae",
        target=["y_true"],
        pred=["y_pred"],
        weight="w",
        group="g",
    ),
    "binary": dict(
        loss="bce,dice,iou,tversky(alpha=0.3,beta=0.7),brier,0.5*bce+0.5*dice",
        target=["label"],
        pred=["prob"],
        group="g",
    ),
    "multiclass": dict(
        loss="cross_entropy,perplexity,focal",
        target=["cls"],
        pred=["p_*"],
        weight="w",
        group="g",
    ),
}


@needs_dask
@pytest.mark.parametrize("case", EVAL_CASES)
def test_eval_on_a_cluster_equals_local_eval_of_the_concatenated_file(data, cluster, case):
    options = EVAL_CASES[case]
    local = evaluate_file(str(data["all"]), gradients=True, **options)
    dist = evaluate_file(
        str(data["base"]),
        gradients=True,
        engine="dask",
        scheduler=cluster.scheduler_address,
        **options,
    )
    assert_close(dist, local)
    groups = {r["group"] for r in dist["results"]}
    assert groups == {None, "north", "south", "east", "west"}
    assert dist["input"]["rows"] == 1600


@needs_dask
def test_eval_values_match_numpy_closed_forms(data, cluster):
    """An independent check of the merged sums: weighted MSE per group and overall Dice."""
    t = pq.read_table(data["all"]).to_pydict()
    y, p, w = (np.array(t[c]) for c in ("y_true", "y_pred", "w"))
    label, prob, g = np.array(t["label"]), np.array(t["prob"]), np.array(t["g"])
    doc = evaluate_file(
        str(data["base"]), "mse", weight="w", group="g", engine="dask",
        scheduler=cluster.scheduler_address,
    )  # fmt: skip
    for r in doc["results"]:
        keep = np.ones(len(y), bool) if r["group"] is None else g == r["group"]
        want = np.sum(w[keep] * (y[keep] - p[keep]) ** 2) / np.sum(w[keep])
        assert math.isclose(r["value"], want, rel_tol=REL)
        assert r["n"] == int(keep.sum())
    dice = evaluate_file(str(data["base"]), "dice", target=["label"], pred=["prob"], engine="dask")
    want = 1 - (2 * np.sum(label * prob) + 1e-6) / (np.sum(label) + np.sum(prob) + 1e-6)
    assert math.isclose(dice["results"][0]["value"], want, rel_tol=REL)


@needs_dask
def test_files_split_into_row_group_partitions_give_the_same_results(data, monkeypatch):
    from losscli.engine import dask_backend as dask_engine

    monkeypatch.setattr(dask_engine, "PARTITION_ROWS", 150)
    monkeypatch.setattr(dask_engine, "FAN_IN", 3)  # a reduction tree of three levels
    notes = []
    options = EVAL_CASES["binary"]
    dist = evaluate_file(str(data["base"]), engine="dask", note=notes.append, **options)
    assert_close(dist, evaluate_file(str(data["all"]), **options))
    # Runs of whole row groups of >= 150 rows. part-0: 128, 128, 128, 116 → [0, 1], [2, 3];
    # part-1 and the empty part-1z: one each; part-2: 8 × 100 → 4 runs of 2;
    # part-3: 64, 64, 64, 64, 7 → [0, 1, 2], [3, 4]
    assert any("10 partition(s) of 5 file(s) on local threads" in n for n in notes), notes


def test_partitions_are_runs_of_whole_row_groups_numbered_in_dataset_order():
    from losscli.engine.dask_backend import Partition, plan_partitions

    parts = plan_partitions(["a", "b", "c"], [[100, 100, 100, 30], [], [50]], 200)
    assert parts == [
        Partition(0, (("a", (0, 1)),), 0, 200),
        Partition(1, (("a", (2, 3)),), 200, 130),
        Partition(2, (("b", None),), 330, 0),
        Partition(3, (("c", None),), 330, 50),
    ]


@needs_dask
@pytest.mark.parametrize("spelling", ["glob", "recursive_glob", "file_url", "directory_url"])
def test_globs_and_fsspec_urls_read_the_same_dataset(data, spelling):
    base = data["base"]
    path = {
        "glob": f"{base}/*.parquet",  # the top-level files only
        "recursive_glob": f"{base}/**/*.p*q*",
        "file_url": f"file://{base}",
        "directory_url": f"file://{base}/year=2025/",
    }[spelling]
    options = dict(loss="mse,rmse", weight="w", group="g")
    dist = evaluate_file(path, engine="dask", **options)
    local = evaluate_file(path, **options)  # the local engine reads globs and URLs too
    assert_close(dist, local)
    expected_rows = {"glob": 537, "directory_url": 1063}.get(spelling, 1600)
    assert dist["input"]["rows"] == expected_rows


@needs_dask
def test_memory_filesystem_url(data):
    """Any fsspec filesystem: memory:// is one that needs no package and no network."""
    import fsspec

    fs = fsspec.filesystem("memory")
    for f in data["base"].rglob("*"):
        if f.suffix in (".parquet", ".pq") and not f.parent.name.startswith("."):
            fs.pipe(f"/losscli-test/{f.relative_to(data['base']).as_posix()}", f.read_bytes())
    try:
        dist = evaluate_file("memory://losscli-test", "mse,dice", target=["label"], pred=["prob"], engine="dask")  # fmt: skip
        local = evaluate_file(str(data["all"]), "mse,dice", target=["label"], pred=["prob"])
        assert_close(dist, local)
    finally:
        fs.rm("/losscli-test", recursive=True)


@needs_dask
def test_dropna_counts_rows_over_all_partitions(data, tmp_path):
    shutil.copytree(data["base"], tmp_path / "ds")
    _set_cells(tmp_path / "ds" / "part-1.parquet", "y_pred", [3, 30], float("nan"))
    _set_cells(tmp_path / "ds" / "year=2025" / "part-3.pq", "w", [0], float("inf"))
    options = dict(loss="mse", weight="w", group="g", dropna=True)
    dist = evaluate_file(str(tmp_path / "ds"), engine="dask", **options)
    assert_close(dist, evaluate_file(str(tmp_path / "ds"), **options))
    assert dist["input"]["rows_dropped"] == 3


def _set_cells(path: Path, column: str, rows: list[int], value: object) -> None:
    table = pq.read_table(path)
    values = table[column].to_pylist()
    for r in rows:
        values[r] = value
    i = table.schema.get_field_index(column)
    column_type = table.schema.field(column).type
    pq.write_table(table.set_column(i, column, pa.array(values, column_type)), path)


# ---- CSV, JSON Lines and Arrow parts; --per-class and --bootstrap ----------------------


def _write_parts(root: Path, table: pa.Table, fmt: str) -> None:
    """``table`` cut as FILES (the empty part a header alone), as CSV, JSON Lines or Feather."""
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather

    start = 0
    for name, (n, _) in FILES.items():
        path = root / name.replace(".parquet", f".{fmt}").replace(".pq", f".{fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        part = table.slice(start, n)
        if fmt == "csv":
            pacsv.write_csv(part, path)
        elif fmt == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in part.to_pylist()))
        else:
            feather.write_feather(part, path, chunksize=100)
        start += n


@pytest.fixture(scope="module")
def parts(data) -> dict[str, Path]:
    """The baseline dataset as CSV, JSON Lines and Feather parts (same files, same folders)."""
    table = pq.read_table(data["all"])
    out = {}
    for fmt in ("csv", "jsonl", "feather"):
        out[fmt] = data["root"] / f"parts-{fmt}"
        _write_parts(out[fmt], table, fmt)
    return out


@needs_dask
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "feather"])
@pytest.mark.parametrize("case", EVAL_CASES)
def test_parts_of_other_formats_on_a_cluster_equal_local_eval(data, parts, cluster, fmt, case):
    """One task per part; values equal the local engine's on the concatenated file."""
    options = EVAL_CASES[case]
    local = evaluate_file(str(data["all"]), gradients=True, **options)
    notes = []
    dist = evaluate_file(
        str(parts[fmt]), gradients=True, engine="dask", scheduler=cluster.scheduler_address,
        note=notes.append, **options,
    )  # fmt: skip
    assert_close(dist, local)
    assert dist["input"]["rows"] == 1600
    assert any("5 partition(s) of 5 file(s)" in n for n in notes), notes


@needs_dask
@pytest.mark.parametrize("layout", ["parquet_row_groups", "csv", "jsonl"])
def test_per_class_and_bootstrap_on_dask_equal_the_local_engine(data, parts, monkeypatch, layout):
    """Class sums merge; bootstrap units are row number mod 4096 with the rows numbered in
    the dataset, so the intervals are the local engine's too."""
    from losscli.engine import dask_backend as dask_engine

    monkeypatch.setattr(dask_engine, "PARTITION_ROWS", 150)  # Parquet files cut into runs
    monkeypatch.setattr(dask_engine, "FAN_IN", 2)
    path = data["base"] if layout == "parquet_row_groups" else parts[layout]
    for options in (
        dict(EVAL_CASES["multiclass"], per_class=True, bootstrap=300, seed=7),
        dict(EVAL_CASES["binary"], bootstrap=200),
        dict(EVAL_CASES["regression"], bootstrap=100, confidence=0.9),
    ):
        local = evaluate_file(str(data["all"]), **options)
        dist = evaluate_file(str(path), engine="dask", **options)
        assert_close(dist, local)
        assert all(r.get("ci_low") is not None for r in dist["results"])
        if options.get("per_class"):
            assert {r["class"] for r in dist["results"]} == {None, "0", "1", "2"}


@needs_dask
def test_grad_of_csv_parts_on_dask_numbers_rows_across_parts(data, parts, tmp_path):
    options = dict(loss="bce", target=["label"], pred=["prob"])
    write_gradients(str(data["all"]), output=str(tmp_path / "local.parquet"), **options)
    write_gradients(str(parts["csv"]), output=str(tmp_path / "g"), engine="dask", **options)
    got, want = pq.read_table(tmp_path / "g"), pq.read_table(tmp_path / "local.parquet")
    assert got["row"].to_pylist() == list(range(1600)) == want["row"].to_pylist()
    for name in want.column_names[1:]:
        np.testing.assert_allclose(got[name].to_numpy(), want[name].to_numpy(), rtol=REL)


@needs_dask
def test_a_bad_cell_in_a_csv_part_is_the_local_engines_error(parts, tmp_path, capsys):
    shutil.copytree(parts["csv"], tmp_path / "ds")
    path = tmp_path / "ds" / "year=2025" / "part-2.csv"
    lines = path.read_text().splitlines()
    cells = lines[6].split(",")
    cells[2] = ""  # y_pred of the part's row 5
    lines[6] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    args = ["--loss", "mse", "-q"]
    local = cli(capsys, "eval", tmp_path / "ds", *args)
    dist = cli(capsys, "eval", tmp_path / "ds", *args, "--engine", "dask")
    assert local[0] == 2 and dist == local
    assert f"first at row(s) 542 (row 542: {path}, row 5, line 7)" in local[2]


@needs_dask
def test_the_line_of_a_bad_value_in_one_gzip_file_is_the_local_engines(tmp_path, capsys):
    import gzip

    lines = ["y_true,y_pred"] + [f"{i % 2},0.5" for i in range(20_000)]
    lines[2801] = "1,1.5"  # row 2800
    lines[50:50] = ["", ""]
    path = tmp_path / "one.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    local = cli(capsys, "eval", path, "--loss", "bce", "-q")
    dist = cli(capsys, "eval", path, "--loss", "bce", "-q", "--engine", "dask")
    assert local[0] == 2 and dist == local
    assert "row 2800 (line 2804): 1.5 is not a probability" in local[2]


# ---- grad and per-row output -----------------------------------------------------------

GRAD_CASES = {
    "weighted_mse": dict(loss="mse", weight="w"),
    "rmse": dict(loss="rmse"),
    "mae_sum": dict(loss="mae", reduction="sum", weight="w"),
    "dice": dict(loss="dice", target=["label"], pred=["prob"]),
    "composite": dict(loss="0.5*bce+0.5*dice", target=["label"], pred=["prob"]),
    "cross_entropy": dict(
        loss="cross_entropy", target=["cls"], pred=["p_*"], weight="w", with_loss=True
    ),
}


@needs_dask
@pytest.mark.parametrize("case", GRAD_CASES)
def test_grad_writes_one_parquet_file_per_partition_equal_to_local_grad(
    data, cluster, tmp_path, case
):
    options = GRAD_CASES[case]
    write_gradients(str(data["all"]), output=str(tmp_path / "local.parquet"), **options)
    out = tmp_path / "grads"
    rows = write_gradients(
        str(data["base"]), output=str(out), engine="dask",
        scheduler=cluster.scheduler_address, **options,
    )  # fmt: skip
    assert rows == 1600
    parts = sorted(p.name for p in out.iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(5)]  # one per file here
    assert [pq.read_metadata(out / p).num_rows for p in parts] == [500, 37, 0, 800, 263]
    got = pa.concat_tables(pq.read_table(out / p) for p in parts)
    want = pq.read_table(tmp_path / "local.parquet")
    assert got.schema == want.schema
    assert got["row"].to_pylist() == list(range(1600))
    for name in want.column_names[1:]:
        a, b = got[name].to_numpy(), want[name].to_numpy()
        np.testing.assert_allclose(a, b, rtol=REL, atol=1e-12 * np.abs(b).max())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


@needs_dask
def test_eval_reduction_none_writes_a_dataset_of_per_row_losses(data, tmp_path):
    options = dict(loss="mse,bce", target=["label"], pred=["prob"])
    write_rows(str(data["all"]), output=str(tmp_path / "local.parquet"), **options)
    rows = write_rows(str(data["base"]), output=str(tmp_path / "rows"), engine="dask", **options)
    assert rows == 1600
    got = pq.read_table(tmp_path / "rows")  # the directory read as one dataset
    want = pq.read_table(tmp_path / "local.parquet")
    assert got["row"].to_pylist() == want["row"].to_pylist()
    for name in ("mse", "bce"):
        np.testing.assert_allclose(got[name].to_numpy(), want[name].to_numpy(), rtol=REL)


@needs_dask
def test_grad_output_directory_is_replaced_only_when_it_holds_parts(data, tmp_path, capsys):
    out = tmp_path / "grads"
    args = ("grad", data["base"], "--loss", "mse", "--engine", "dask", "-o", out, "-q")
    assert cli(capsys, *args) == (0, "", "")
    (out / "part-00000.parquet").write_bytes(b"stale")
    assert cli(capsys, *args)[0] == 0  # a previous output: replaced whole
    assert pq.read_metadata(out / "part-00000.parquet").num_rows == 500
    (out / "notes.txt").write_text("mine")
    code, out_text, err = cli(capsys, *args)
    assert code == 2 and out_text == ""
    assert err.startswith(f"error: cannot write -o {out}: the directory holds other files")
    assert (out / "notes.txt").read_text() == "mine"


# ---- compare ---------------------------------------------------------------------------

COMPARE_CASES = {
    "regression_groups": dict(loss="mse,rmse,0.7*mse+0.3*mae", weight="w", group="g"),
    "ratio_losses": dict(loss="dice,iou", target=["label"], pred=["prob"]),
    "keyed": dict(loss="mse,huber", key="id", group="g"),
}


@needs_dask
@pytest.mark.parametrize("split", [False, True], ids=["by_file", "row_groups"])
@pytest.mark.parametrize("case", COMPARE_CASES)
def test_compare_on_a_cluster_equals_local_compare(data, cluster, monkeypatch, case, split):
    """Bootstrap units (row mod 4096, or key hashes) merge across partitions exactly."""
    if split:
        from losscli.engine import dask_backend as dask_engine

        monkeypatch.setattr(dask_engine, "PARTITION_ROWS", 100)
        monkeypatch.setattr(dask_engine, "FAN_IN", 2)
    options = dict(COMPARE_CASES[case], bootstrap_replicates=200)
    local = compare_files(str(data["all"]), str(data["cand_all"]), **options)
    dist = compare_files(
        str(data["base"]), str(data["cand"]), engine="dask",
        scheduler=cluster.scheduler_address, **options,
    )  # fmt: skip
    assert_close(dist, local)
    assert all(r["ci_low"] is not None for r in dist["results"])


@needs_dask
def test_compare_refuses_datasets_with_different_targets(data, tmp_path):
    shutil.copytree(data["cand"], tmp_path / "cand")
    _set_cells(tmp_path / "cand" / "b" / "b.parquet", "y_true", [10], 99.0)
    with pytest.raises(Exception, match="do not hold the same targets: they differ in 1 row"):
        compare_files(str(data["base"]), str(tmp_path / "cand"), "mse", engine="dask")


@needs_dask
@pytest.mark.parametrize("case", COMPARE_CASES)
def test_compare_of_csv_parts_on_a_cluster_equals_local_compare(data, parts, cluster, case):
    """The candidate as CSV parts, the baseline as JSON Lines parts: one task per part."""
    options = dict(COMPARE_CASES[case], bootstrap_replicates=200)
    local = compare_files(str(data["all"]), str(data["cand_all"]), **options)
    cand = data["root"] / "cand-csv"
    if not cand.exists():
        _write_parts(cand, pq.read_table(data["cand_all"]), "csv")
    dist = compare_files(
        str(parts["jsonl"]), str(cand), engine="dask", scheduler=cluster.scheduler_address,
        **options,
    )  # fmt: skip
    assert_close(dist, local)
    assert all(r["ci_low"] is not None for r in dist["results"])


# ---- the command line ------------------------------------------------------------------


@needs_dask
def test_cli_scheduler_address_gives_the_local_output(data, cluster, capsys):
    common = ("--loss", "mse,rmse,dice", "-t", "label", "-p", "prob", "--group", "g")
    code, local, _ = cli(capsys, "eval", data["all"], *common, "--format", "json")
    assert code == 0
    code, dist, err = cli(
        capsys, "eval", data["base"], *common, "--format", "json",
        "--engine", "dask", "--scheduler", cluster.scheduler_address,
    )  # fmt: skip
    assert code == 0
    assert f"on the cluster at {cluster.scheduler_address}" in err
    assert_close(json.loads(dist), json.loads(local))


@needs_dask
def test_worker_processes(data, tmp_path):
    """Two worker processes: tasks, sums and errors cross a process boundary."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=40,
    ) as procs:  # fmt: skip
        options = EVAL_CASES["regression"]
        dist = evaluate_file(
            str(data["base"]), engine="dask", scheduler=procs.scheduler_address, **options
        )
        assert_close(dist, evaluate_file(str(data["all"]), **options))
        shutil.copytree(data["base"], tmp_path / "ds")
        _set_cells(tmp_path / "ds" / "year=2025" / "part-2.parquet", "w", [5], -1.0)
        with pytest.raises(Exception) as dist_error:
            evaluate_file(str(tmp_path / "ds"), engine="dask", scheduler=procs.scheduler_address, **options)  # fmt: skip
    with pytest.raises(Exception) as local_error:
        evaluate_file(str(tmp_path / "ds"), **options)
    assert type(dist_error.value) is type(local_error.value)
    assert dist_error.value.message == local_error.value.message
    assert "row 542: negative weight -1.0" in dist_error.value.message
    assert dist_error.value.hint == local_error.value.hint


# ---- errors: the local engine's, for the same data -------------------------------------


@needs_dask
@pytest.mark.parametrize(
    "damage, args",
    [
        # NaN in two files and inf in a third: counted over every partition
        (
            [("part-1.parquet", "y_pred", [3, 30], float("nan")),
             ("year=2025/part-2.parquet", "y_pred", [0], float("nan")),
             ("year=2025/part-3.pq", "w", [1], float("inf"))],
            ["--loss", "mse", "--weight", "w"],
        ),
        # a kernel error in the last file, after bad cells in an earlier one: bad cells win
        (
            [("part-0.parquet", "prob", [499], float("nan")),
             ("year=2025/part-3.pq", "prob", [5], 1.5)],
            ["--loss", "bce", "-t", "label", "-p", "prob"],
        ),
        # the first kernel error in row order, though a later file has one too
        (
            [("year=2025/part-2.parquet", "prob", [7, 9], 1.5),
             ("year=2025/part-3.pq", "prob", [0], -0.5)],
            ["--loss", "bce", "-t", "label", "-p", "prob"],
        ),
        # weights summing to 0 in a group that only the first file has
        (
            [("part-0.parquet", "w", list(range(500)), 0.0),
             ("part-0.parquet", "g", list(range(500)), "only-here")],
            ["--loss", "mse", "--weight", "w", "--group", "g"],
        ),
    ],
    ids=["bad_cells", "bad_cells_before_kernel_error", "first_kernel_error", "zero_weights"],
)  # fmt: skip
@pytest.mark.parametrize("split", [False, True], ids=["by_file", "row_groups_deep_tree"])
def test_errors_are_the_local_engines(data, tmp_path, capsys, monkeypatch, damage, args, split):
    """The error a single pass meets first, also when partition outcomes are combined in a
    deep tree (row-group partitions, two per merge task)."""
    if split:
        from losscli.engine import dask_backend as dask_engine

        monkeypatch.setattr(dask_engine, "PARTITION_ROWS", 60)
        monkeypatch.setattr(dask_engine, "FAN_IN", 2)
    shutil.copytree(data["base"], tmp_path / "ds")
    for name, column, rows, value in damage:
        _set_cells(tmp_path / "ds" / name, column, rows, value)
    local = cli(capsys, "eval", tmp_path / "ds", *args, "-q")
    dist = cli(capsys, "eval", tmp_path / "ds", *args, "-q", "--engine", "dask")
    assert local[0] == 2 and local[2].startswith("error: ")
    assert dist == local


@needs_dask
def test_a_file_without_a_needed_column_is_named(data, tmp_path, capsys):
    shutil.copytree(data["base"], tmp_path / "ds")
    table = pq.read_table(tmp_path / "ds" / "year=2025" / "part-3.pq")
    pq.write_table(table.drop_columns(["w"]), tmp_path / "ds" / "year=2025" / "part-3.pq")
    code, _, err = cli(capsys, "eval", tmp_path / "ds", "--loss", "mse", "--weight", "w", "--engine", "dask")  # fmt: skip
    assert code == 2
    assert f"error: {tmp_path / 'ds' / 'year=2025' / 'part-3.pq'}: missing column(s) w" in err


@needs_dask
@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", "-", "--loss", "mse", "--engine", "dask"], "--engine dask reads files, not stdin"),
        (["eval", "{base}", "--loss", "mse", "--engine", "dask", "--targets", "{all}"], "--engine dask does not read a --targets file"),
        (["eval", "{base}", "--loss", "mse", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --engine dask"),
        (["eval", "{base}", "--loss", "mse", "--engine", "dask", "--scheduler", "nowhere"], "--scheduler nowhere: not a scheduler address"),
        (["grad", "{base}", "--loss", "mse", "--engine", "dask"], "--engine dask writes per-row output as a Parquet dataset: give -o DIR"),
        (["grad", "{base}", "--loss", "mse", "--engine", "dask", "-o", "g.csv"], "-o g.csv: --engine dask writes a Parquet dataset"),
        (["eval", "{base}/*.csv", "--loss", "mse"], "{base}/*.csv: no .csv files match"),
        (["eval", "{base}/*.nothing.parquet", "--loss", "mse"], "{base}/*.nothing.parquet: no .parquet files match"),
    ],
    ids=["stdin", "targets", "scheduler_alone", "bad_address", "grad_no_output", "grad_csv_output", "csv_glob", "empty_glob"],
)  # fmt: skip
def test_usage_errors(data, tmp_path, capsys, args, message):
    csv = tmp_path / "p.csv"
    csv.write_text("y_true,y_pred\n1,2\n")
    names = {"base": data["base"], "all": data["all"], "csv": csv}
    code, out, err = cli(capsys, *(a.format(**names) for a in args))
    assert code == 2 and out == ""
    assert err.startswith("error: " + message.format(**names)), err
    assert "Traceback" not in err


@needs_dask
def test_unreachable_scheduler_is_an_error_line(data, capsys):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, _, err = cli(capsys, "eval", data["base"], "--loss", "mse", "--engine", "dask",
                           "--scheduler", "tcp://127.0.0.1:9")  # fmt: skip
    assert code == 2
    assert err.startswith("error: --scheduler tcp://127.0.0.1:9: cannot connect")
    assert "hint: start a scheduler with 'dask scheduler'" in err


@pytest.mark.parametrize(
    "missing, extra, message",
    [
        ("dask", [], "error: --engine dask needs dask, which is not installed"),
        ("distributed", ["--scheduler", "tcp://127.0.0.1:8786"], "error: --scheduler needs dask's distributed package, which is not installed"),
    ],
)  # fmt: skip
def test_missing_extra_is_an_error_naming_pip_install(data, capsys, monkeypatch, missing, extra, message):  # fmt: skip
    if missing == "distributed" and dask is None:
        pytest.skip("dask itself is missing: the dask message comes first")
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    for command in (["eval"], ["grad", "-o", "g"], ["compare", data["base"]]):
        code, out, err = cli(capsys, command[0], data["base"], *command[1:], "--loss", "mse", "--engine", "dask", *extra)  # fmt: skip
        assert (code, out) == (2, "")
        assert err == f"{message}\nhint: pip install 'losscli[dask]'\n"


# ---- the local engine reads the same datasets ------------------------------------------


def test_local_engine_skips_hidden_and_underscore_files(data):
    # .checkpoints/stale.parquet is not Parquet: reading it would be an error
    doc = evaluate_file(str(data["base"]), "mse")
    assert doc["input"]["rows"] == 1600


def test_a_url_without_its_filesystem_package_is_an_error_line(capsys, monkeypatch):
    pytest.importorskip("fsspec")
    monkeypatch.setitem(sys.modules, "s3fs", None)
    code, out, err = cli(capsys, "eval", "s3://bucket/preds/", "--loss", "mse")
    assert (code, out) == (2, "")
    assert err.startswith("error: s3://bucket/preds/: reading s3:// URLs needs a package")
    assert "pip install s3fs" in err


def test_errors_survive_pickling():
    """Worker errors reach the client by pickle, hint and location included."""
    import pickle

    from losscli.engine.passes import BadCells, BadCellsError
    from losscli.errors import InputError, ParamError, ZeroWeightError
    from losscli.kernel.validate import ValueProblem

    cells = BadCells({"w": 2}, {"w": [4, 9]})
    for error in (
        InputError("x.parquet: bad", hint="fix it"),
        ZeroWeightError(),
        ParamError("delta", -1.0, "> 0", "huber"),
        ValueProblem("p", role="prediction", row=7, count=2, value=1.5, what="is not in [0, 1]"),
        BadCellsError("m", hint="h", cells=cells),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert copy.__dict__ == error.__dict__
        assert str(copy) == str(error)
