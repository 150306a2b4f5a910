"""DataFrames in, DataFrames out: ``evaluate_frame``, ``rows_frame`` and ``gradient_frame``
on a pandas DataFrame, a pyarrow Table, a polars DataFrame (when polars is installed) and
any object with only ``__arrow_c_stream__`` equal ``eval``, ``eval --reduction none`` and
``grad`` on the same data written to CSV, for every case of the registry's test cases;
and their errors are the command line's.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from cases import CASES
from helpers import SAMPLES, assert_same_table, case_args, case_columns, cli, csv_table, error_lines

import losscli
from losscli.errors import InputError, LossCliError, UsageError
from losscli.losses.registry import get_loss

NAMES = losscli.available_losses()
PARAMS = [
    pytest.param(name, i, id=f"{name}-{i}")
    for name in NAMES
    for i in range(len(CASES.get(name, [])))
]


class StreamOnly:
    """A table that offers nothing but the Arrow PyCapsule stream interface."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


def _kinds(frame: pd.DataFrame) -> dict[str, object]:
    """The same data as each kind of table the frame functions take."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    kinds = {"pandas": frame, "arrow": table, "stream": StreamOnly(table)}
    try:
        import polars
    except ImportError:  # polars is no dependency; the stream-only object always runs
        return kinds
    kinds["polars"] = polars.from_pandas(frame)
    return kinds


def _keywords(case, target: list[str], inputs: list[list[str]]) -> dict[str, object]:
    """The frame functions' keywords for ``case_args``'s command line."""
    kw: dict[str, object] = {"params": case.params}
    if target:
        kw["target"] = ",".join(target)
    if get_loss(case.loss).inputs == "gaussian":
        kw.update(pred="y_pred", var="var")
    else:
        kw["pred"] = [",".join(cols) for cols in inputs]
    if case.from_logits:
        kw["from_logits"] = True
    return kw


def _case(name: str, index: int, tmp_path):
    """(case, frame with a group column, its CSV, command-line options, keywords)."""
    case = CASES[name][index](np.random.default_rng(7), 40)
    cols, target, inputs = case_columns(case)
    frame = pd.DataFrame(cols)
    frame["fold"] = np.where(np.arange(40) % 3 == 0, "a", "b")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)  # floats at full precision
    return case, frame, path, case_args(case, target, inputs), _keywords(case, target, inputs)


@pytest.mark.parametrize(("name", "index"), PARAMS)
def test_evaluate_frame_equals_eval_on_the_csv_for_every_case(name, index, tmp_path, capsys):
    case, frame, path, args, kw = _case(name, index, tmp_path)
    code, out, err = cli(capsys, "eval", path, *args, "--group", "fold", "--format", "csv", "-q")
    assert code == 0, err
    expected = csv_table(out)
    assert len(expected) == 3  # the whole table, then groups a and b
    for kind, table in _kinds(frame).items():
        got = losscli.evaluate_frame(table, case.loss, group="fold", **kw)
        assert isinstance(got, pd.DataFrame), kind
        assert_same_table(got, expected)


@pytest.mark.parametrize(("name", "index"), PARAMS)
def test_gradient_and_rows_frames_equal_grad_and_reduction_none(name, index, tmp_path, capsys):
    case, frame, path, args, kw = _case(name, index, tmp_path)
    code, out, err = cli(capsys, "grad", path, *args, "-q")
    assert code == 0, err
    grads = csv_table(out)
    code, out, err = cli(capsys, "eval", path, *args, "--reduction", "none", "-q")
    rows = csv_table(out) if code == 0 else None
    refused = None if code == 0 else error_lines(code, out, err)[0]
    for kind, table in _kinds(frame).items():
        assert_same_table(losscli.gradient_frame(table, case.loss, **kw), grads)
        if rows is not None:
            assert_same_table(losscli.rows_frame(table, case.loss, **kw), rows)
        else:  # a loss without per-row values: refused with the command line's words
            with pytest.raises(LossCliError) as info:
                losscli.rows_frame(table, case.loss, **kw)
            assert refused.endswith(info.value.message), kind


def test_keep_weight_and_with_loss_columns_are_the_files(capsys):
    path = SAMPLES / "regression.csv"
    frame = pd.read_csv(path)
    options = ["-l", "huber", "--weight", "weight", "--keep", "segment", "-q"]
    code, out, err = cli(capsys, "grad", path, *options, "--with-loss")
    assert code == 0, err
    grads = losscli.gradient_frame(frame, "huber", weight="weight", keep="segment", with_loss=True)
    assert list(grads.columns) == ["row", "segment", "grad_y_pred", "loss"]
    assert_same_table(grads, csv_table(out))
    code, out, err = cli(capsys, "eval", path, *options, "--reduction", "none")
    assert code == 0, err
    rows = losscli.rows_frame(frame, "huber", weight="weight", keep="segment")
    assert list(rows.columns) == ["row", "segment", "weight", "huber", "weighted_huber"]
    assert_same_table(rows, csv_table(out))


def test_bootstrap_per_class_and_gradients_give_the_same_table(capsys):
    path = SAMPLES / "multiclass.csv"
    frame = pd.read_csv(path)
    options = dict(per_class=True, bootstrap=200, seed=3, gradients=True)
    code, out, err = cli(
        capsys, "eval", path, "-l", "cross_entropy,multi_margin", "--per-class", "--bootstrap", "200",
        "--seed", "3", "--gradients", "--format", "csv", "-q",
    )  # fmt: skip
    assert code == 0, err
    expected = csv_table(out)
    assert {"class", "ci_low", "ci_high", "grad_mean"} <= set(expected.columns)
    for table in _kinds(frame).values():
        got = losscli.evaluate_frame(table, "cross_entropy,multi_margin", **options)
        assert_same_table(got, expected)


def test_text_labels_and_groups_may_be_categorical_or_object(capsys):
    """A multiclass target and a group as pandas categories, as text, as polars/Arrow text."""
    frame = pd.read_csv(SAMPLES / "multiclass.csv")
    frame["half"] = np.where(np.arange(len(frame)) < len(frame) // 2, "first", "second")
    path = SAMPLES / "multiclass.csv"
    expected = None
    categorical = frame.astype({"label": "category", "half": "category"})
    as_object = frame.astype({"label": object, "half": object})
    results = [
        losscli.evaluate_frame(f, "cross_entropy", group="half")
        for f in (categorical, as_object, pa.Table.from_pandas(categorical))
    ]
    for got in results[1:]:
        assert_same_table(got, results[0])
    assert list(results[0]["group"].fillna("")) == ["", "first", "second"]
    # the whole table's row equals eval on the file (the CSV has no half column)
    code, out, _ = cli(capsys, "eval", path, "-l", "cross_entropy", "--format", "csv", "-q")
    expected = csv_table(out)
    assert results[0]["value"][0] == pytest.approx(expected["value"][0], rel=1e-12)


def test_the_task_is_inferred_as_on_the_file(capsys):
    path = SAMPLES / "binary.csv"
    notes: list[str] = []
    got = losscli.evaluate_frame(pd.read_csv(path), note=notes.append)
    code, out, err = cli(capsys, "eval", path, "--format", "csv")
    assert code == 0
    assert_same_table(got, csv_table(out))
    assert notes and notes[0] in err  # the same inference note


def test_a_pandas_index_is_no_column_unless_named():
    frame = pd.read_csv(SAMPLES / "regression.csv")
    by_column = losscli.evaluate_frame(frame, "mse", weight="weight", group="segment")
    indexed = frame.set_index("segment")
    by_index = losscli.evaluate_frame(indexed, "mse", weight="weight", group="segment")
    assert_same_table(by_index, by_column)
    assert len(by_column) > 2
    # not named by an option: the index is not among the columns
    with pytest.raises(InputError) as info:
        losscli.evaluate_frame(indexed, "mse", pred="segmant")
    assert "segment" not in str(info.value)
    # several group columns, both index levels
    frame["tier"] = np.where(frame.index % 3 == 0, "x", "y")
    by_columns = losscli.evaluate_frame(frame, "mse", group=["segment", "tier"])
    by_levels = losscli.evaluate_frame(
        frame.set_index(["segment", "tier"]), "mse", group=["segment", "tier"]
    )
    assert_same_table(by_levels, by_columns)
    assert "segment=east, tier=x" in set(by_columns["group"])
    rows = losscli.rows_frame(frame.set_index(frame.index + 100), "mse")
    assert list(rows["row"]) == list(range(len(frame)))  # row numbers are positions


def _cli_error(capsys, path, *args) -> str:
    code, out, err = cli(capsys, "eval", path, *args)
    message, _ = error_lines(code, out, err)
    return message.removeprefix("error: ").replace(str(path), "<DataFrame>")


@pytest.mark.parametrize(
    ("change", "args"),
    [
        (lambda f: f.assign(y_pred=f["y_pred"].where(f.index != 4)), ["-l", "mse"]),
        (lambda f: f, ["-l", "mse", "--pred", "y_prde"]),
        (lambda f: f.assign(weight=f["weight"] * 0), ["-l", "mse", "--weight", "weight"]),
        (
            lambda f: f.assign(y_pred=f["y_pred"].astype(str).where(f.index != 2, "oops")),
            ["-l", "mse"],
        ),
        (lambda f: f.assign(y_true=-f["y_true"].abs() - 1), ["-l", "poisson"]),
        (lambda f: f.rename(columns={"segment": "y_pred"}), ["-l", "mse"]),
    ],
    ids=[
        "nan-cell",
        "no-such-column",
        "zero-weights",
        "text-in-numbers",
        "out-of-domain",
        "a-name-twice",
    ],
)
def test_errors_are_the_command_lines(change, args, tmp_path, capsys):
    frame = change(pd.read_csv(SAMPLES / "regression.csv"))
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    expected = _cli_error(capsys, path, *args)
    options = {"-l": "loss", "--pred": "pred", "--weight": "weight"}
    kw = {options[flag]: value for flag, value in zip(args[::2], args[1::2])}
    loss = kw.pop("loss")
    with pytest.raises((InputError, UsageError)) as info:
        losscli.evaluate_frame(frame, loss, **kw)
    # a CSV row is also on a line of the file; a table in memory has rows only
    assert info.value.message == re.sub(r" \(line \d+\)", "", expected)


def test_what_a_table_cannot_hold_is_an_input_error():
    frame = pd.read_csv(SAMPLES / "regression.csv")
    mixed = frame.astype({"y_pred": object})
    mixed.loc[3, "y_pred"] = b"\x00bytes"
    with pytest.raises(InputError, match=r"<DataFrame>: column 'y_pred' cannot be read"):
        losscli.evaluate_frame(mixed, "mse")
    dated = frame.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(InputError, match=r"<DataFrame>: column 'when' holds timestamp"):
        losscli.evaluate_frame(dated, "mse", pred="when")
    twice = pa.table([frame["y_true"], frame["y_pred"], frame["y_pred"]], ["y_true", "y", "y"])
    with pytest.raises(InputError, match=r"<Table>: duplicate column name\(s\) y"):
        losscli.evaluate_frame(twice, "mse", pred="y")
    with pytest.raises(InputError, match=r"<DataFrame>: duplicate column name\(s\) y"):
        losscli.evaluate_frame(twice.to_pandas(), "mse", pred="y")
    with pytest.raises(TypeError, match=r"evaluate_frame\(\) takes a pandas DataFrame"):
        losscli.evaluate_frame({"y_true": [1.0], "y_pred": [2.0]}, "mse")
    with pytest.raises(UsageError, match="rows_frame"):
        losscli.evaluate_frame(frame, "mse", reduction="none")


def test_the_frame_functions_load_without_pandas():
    script = """
import sys, losscli
losscli.evaluate_frame, losscli.rows_frame, losscli.gradient_frame
assert "pandas" not in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_readme_notebook_example_runs_and_shows_its_table(monkeypatch):
    from helpers import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### DataFrames in a notebook\n\n```python\n(.*?)```", readme, re.S)
    assert block, "README: the DataFrame example"
    code = block.group(1)
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    lines = code.splitlines()
    after = lines[[line.startswith("table  #") for line in lines].index(True) + 1 :]
    shown = [line[2:] for line in after[: [x.startswith("# ") for x in after].index(False)]]
    assert len(shown) == 4
    assert namespace["table"].to_string().splitlines()[: len(shown)] == shown


def test_a_duckdb_result_is_read_through_its_stream():
    duckdb = pytest.importorskip("duckdb")
    path = SAMPLES / "regression.csv"
    result = duckdb.sql(f"select * from read_csv('{path}')")
    got = losscli.evaluate_frame(result, "mse", weight="weight", group="segment")
    expected = losscli.evaluate_file(path, "mse", weight="weight", group="segment").to_pandas()
    assert_same_table(got, expected)


def test_text_numbers_read_as_the_csv_reader_reads_them(tmp_path):
    """A column of text read as numbers: empty cells and null spellings are missing and
    spaces are dropped, as in the same table written to CSV; a word the CSV reader refuses
    is refused with its row."""
    y = pd.Series(["1.0", "", "NA", " 0.5", "None", "2"], dtype=object)
    frame = pd.DataFrame({"y_true": y, "y_pred": [0.5, 1.0, 2.0, 0.0, 1.0, 1.5]})
    frame.to_csv(tmp_path / "same.csv", index=False)
    got = losscli.evaluate_frame(frame, "mse", dropna=True)
    want = losscli.evaluate_file(str(tmp_path / "same.csv"), "mse", dropna=True)["results"][0]
    assert (got["value"].iloc[0], got["n"].iloc[0]) == (want["value"], want["n"]) == (0.25, 3)
    with pytest.raises(losscli.InputError, match=r"row 1: '1_0' is not a number"):
        losscli.evaluate_frame(pd.DataFrame({"y_true": ["1", "1_0"], "y_pred": [1.0, 2.0]}), "mse")
