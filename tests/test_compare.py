"""``losscli compare``: did the candidate get worse than the baseline? (issue 6; README "In CI").

Both prediction files are scored against the same targets (paired by row order or
``--key``); every (loss, group) gets baseline, candidate, difference, relative
difference and a paired bootstrap interval of the difference. Any regression exits 1
with a ``regression:`` line on stderr; a misaligned pair or a bad option exits 2 with
one ``error:`` line; the json, markdown and csv outputs are byte-identical across runs.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SAMPLES, cli, eval_json, parse_table, user_error

BASE = SAMPLES / "regression.csv"
WORSE = SAMPLES / "regression_worse.csv"
RETRAINED = SAMPLES / "regression_retrained.csv"
CLEAN = SAMPLES / "regression_clean.csv"
SEGMENTATION = SAMPLES / "segmentation.csv"
FAST = ("--bootstrap", "200")  # enough replicates where the interval is not the point

TOP_KEYS = {
    "schema",
    "version",
    "baseline",
    "candidate",
    "key",
    "group",
    "reduction",
    "convention",
    "bootstrap",
    "rule",
    "results",
    "regressions",
    "passed",
}
RESULT_KEYS = {
    "loss",
    "params",
    "group",
    "n",
    "better",
    "baseline",
    "candidate",
    "difference",
    "relative_difference",
    "ci_low",
    "ci_high",
    "significant",
    "regression",
    "reason",
}
FILE_KEYS = {"path", "rows", "rows_dropped"}
BOOTSTRAP_KEYS = {"replicates", "confidence", "seed", "units"}
RULE_KEYS = {"tolerance", "rel_tolerance", "require_significant"}
CSV_HEADER = [
    "loss",
    "params",
    "group",
    "n",
    "baseline",
    "candidate",
    "difference",
    "relative_difference",
    "ci_low",
    "ci_high",
    "regression",
    "significant",
    "reason",
]


# ---- helpers ---------------------------------------------------------------------------


def compare(capsys, *args: object) -> tuple[int, str, str]:
    return cli(capsys, "compare", *args)


def compare_json(capsys, *args: object, expect: int | None = None) -> dict:
    code, out, err = compare(capsys, *args, "--format", "json")
    assert "error:" not in err, err
    if expect is not None:
        assert code == expect, f"exit {code}\n{err}"
    doc = json.loads(out)
    assert code == (0 if doc["passed"] else 1), (code, err)
    return doc


def by_key(doc: dict) -> dict[tuple[str, str | None], dict]:
    return {(r["loss"], r["group"]): r for r in doc["results"]}


def eval_values(doc: dict) -> dict[tuple[str, str | None], float]:
    return {(r["loss"], r["group"]): r["value"] for r in doc["results"]}


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def keyed(tmp_path: Path) -> dict[str, Path]:
    """The baseline and the worse candidate with an ``id`` column, in and out of row order."""
    base = pd.read_csv(BASE)
    worse = pd.read_csv(WORSE)
    ids = [f"r{i:04d}" for i in range(len(base))]
    base.insert(0, "id", ids)
    worse.insert(0, "id", ids)
    perm = np.random.default_rng(11).permutation(len(worse))
    shuffled = worse.iloc[perm].reset_index(drop=True)
    missing = shuffled.copy()
    missing.loc[:2, "id"] = ["x1", "x2", "x3"]  # 3 keys replaced by 3 unknown ones
    dup = shuffled.copy()
    dup.loc[:1, "id"] = dup.loc[2:3, "id"].to_numpy()  # 2 keys now appear twice
    return {
        "base": write_csv(tmp_path / "base_id.csv", base),
        "ordered": write_csv(tmp_path / "worse_id.csv", worse),
        "shuffled": write_csv(tmp_path / "worse_shuffled.csv", shuffled),
        "missing": write_csv(tmp_path / "worse_missing.csv", missing),
        "dup": write_csv(tmp_path / "worse_dup.csv", dup),
    }


# ---- a candidate made worse on purpose ----------------------------------------------------


def test_worse_candidate_exits_1_and_the_table_names_the_worsened_losses(capsys):
    code, out, err = compare(capsys, BASE, WORSE, "--loss", "mse,huber,mae", *FAST)
    assert code == 1, err
    rows = parse_table(out)
    assert [r["loss"] for r in rows] == ["mse", "huber", "mae"]
    assert all(r["group"] == "(all)" for r in rows)
    assert all(r["verdict"] == "REGRESSION" for r in rows)
    assert all(r["n"] == "2000" for r in rows)
    assert all(r["diff"].startswith("+") for r in rows)
    summary = out.rstrip("\n").splitlines()[-1]
    assert summary == (f"regression: {WORSE} is worse than {BASE} on mse, huber, mae")
    # the verdict line once: stdout holds it, so stderr stays empty
    assert err == ""
    assert (out + err).count("regression:") == 1


def test_worse_candidate_json_document_has_the_pinned_schema_and_keys(capsys):
    doc = compare_json(capsys, BASE, WORSE, "--loss", "mse,huber", *FAST, expect=1)
    assert doc["schema"] == "losscli.compare/1"
    assert set(doc) == TOP_KEYS
    assert set(doc["baseline"]) == FILE_KEYS
    assert set(doc["candidate"]) == FILE_KEYS
    assert set(doc["bootstrap"]) == BOOTSTRAP_KEYS
    assert set(doc["rule"]) == RULE_KEYS
    for result in doc["results"]:
        assert set(result) == RESULT_KEYS
        assert result["better"] == "lower"
    assert doc["baseline"] == {"path": str(BASE), "rows": 2000, "rows_dropped": 0}
    assert doc["candidate"] == {"path": str(WORSE), "rows": 2000, "rows_dropped": 0}
    assert doc["bootstrap"]["replicates"] == 200
    assert doc["bootstrap"]["confidence"] == 0.95
    assert doc["bootstrap"]["seed"] == 0
    assert doc["rule"] == {"tolerance": None, "rel_tolerance": None, "require_significant": True}
    assert doc["key"] is None and doc["group"] is None and doc["reduction"] == "mean"


def test_worse_candidate_json_lists_the_regressions_and_fails(capsys):
    doc = compare_json(capsys, BASE, WORSE, "--loss", "mse,huber", *FAST, expect=1)
    assert doc["passed"] is False
    assert doc["regressions"] == [
        {"loss": "mse", "group": None},
        {"loss": "huber", "group": None},
    ]
    assert [r["regression"] for r in doc["results"]] == [True, True]
    assert [r["params"] for r in doc["results"]] == [{}, {"delta": 1.0}]


def test_baseline_and_candidate_values_equal_eval_of_each_file(capsys):
    losses = "mse,huber,mae,rmse"
    doc = compare_json(capsys, BASE, WORSE, "--loss", losses, *FAST, expect=1)
    base = eval_values(eval_json(capsys, BASE, "--loss", losses))
    cand = eval_values(eval_json(capsys, WORSE, "--loss", losses))
    assert set(by_key(doc)) == set(base) == set(cand)
    for key, result in by_key(doc).items():
        assert result["baseline"] == pytest.approx(base[key], rel=1e-12, abs=1e-12), key
        assert result["candidate"] == pytest.approx(cand[key], rel=1e-12, abs=1e-12), key
        assert result["n"] == 2000


def test_difference_is_candidate_minus_baseline_and_relative_is_over_abs_baseline(capsys):
    doc = compare_json(capsys, BASE, WORSE, "--loss", "mse,huber,mae,rmse", *FAST, expect=1)
    for r in doc["results"]:
        assert r["difference"] == r["candidate"] - r["baseline"]
        assert r["relative_difference"] == r["difference"] / abs(r["baseline"])
        assert r["difference"] > 0
        assert r["ci_low"] <= r["difference"] <= r["ci_high"]


def test_relative_difference_is_null_when_the_baseline_is_zero(capsys, tmp_path):
    frame = pd.read_csv(BASE).iloc[:200]
    perfect = write_csv(tmp_path / "perfect.csv", frame.assign(y_pred=frame["y_true"]))
    noisy = write_csv(tmp_path / "noisy.csv", frame)
    doc = compare_json(capsys, perfect, noisy, "--loss", "mse", *FAST, expect=1)
    (r,) = doc["results"]
    assert r["baseline"] == 0.0
    assert r["relative_difference"] is None
    assert r["difference"] == r["candidate"] > 0
    code, out, _ = compare(capsys, perfect, noisy, "--loss", "mse", *FAST, "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["relative_difference"] == ""
    code, out, _ = compare(capsys, perfect, noisy, "--loss", "mse", *FAST)
    assert parse_table(out)[0]["rel diff"] == "-"


# ---- a candidate within tolerance ------------------------------------------------------


def test_retrained_candidate_without_tolerance_is_a_regression_under_the_strict_rule(capsys):
    doc = compare_json(
        capsys, BASE, RETRAINED, "--loss", "mse,huber", *FAST, "--no-require-significant", expect=1
    )
    worse = [(r["loss"], r["group"]) for r in doc["results"] if r["difference"] > 0]
    assert worse  # the retrained model is a hair worse on some loss
    assert [(r["loss"], r["group"]) for r in doc["regressions"]] == worse
    for r in doc["results"]:
        assert abs(r["relative_difference"]) < 0.01  # within ~0.1%


def test_retrained_candidate_within_rel_tolerance_passes(capsys):
    code, out, err = compare(
        capsys, BASE, RETRAINED, "--loss", "mse,huber", *FAST, "--rel-tolerance", "0.01"
    )
    assert code == 0, err
    assert err == ""
    rows = parse_table(out)
    assert {r["verdict"] for r in rows} <= {"within tolerance", "better", "ok"}
    assert "within tolerance" in {r["verdict"] for r in rows}
    assert out.rstrip("\n").splitlines()[-1] == (
        f"passed: {RETRAINED} is no worse than {BASE}: mse +0.04%, within tolerance; "
        "huber +0.08%, within tolerance"
    )
    doc = compare_json(
        capsys, BASE, RETRAINED, "--loss", "mse,huber", *FAST, "--rel-tolerance", "0.01"
    )
    assert doc["passed"] is True and doc["regressions"] == []
    assert doc["rule"]["rel_tolerance"] == 0.01


def test_retrained_candidate_within_abs_tolerance_passes(capsys):
    doc = compare_json(capsys, BASE, RETRAINED, "--loss", "mse,huber", *FAST, expect=0)
    largest = max(r["difference"] for r in doc["results"])
    assert 0 < largest < 0.01
    strict = ("--no-require-significant",)
    code, _, err = compare(
        capsys, BASE, RETRAINED, "--loss", "mse,huber", *FAST, *strict, "--tolerance", "0.01"
    )
    assert code == 0, err
    # a tolerance smaller than the worsening still fails under the strict rule
    code, _, err = compare(
        capsys,
        BASE,
        RETRAINED,
        "--loss",
        "mse,huber",
        *FAST,
        *strict,
        "--tolerance",
        repr(largest / 2),
        "-f",
        "json",
    )
    assert code == 1
    assert "regression:" in err


def test_a_worsening_equal_to_the_tolerance_is_not_a_regression(capsys):
    doc = compare_json(capsys, BASE, RETRAINED, "--loss", "mse", "--bootstrap", "0", expect=1)
    diff = doc["results"][0]["difference"]
    doc = compare_json(
        capsys, BASE, RETRAINED, "--loss", "mse", "--bootstrap", "0", "--tolerance", repr(diff)
    )
    assert doc["passed"] is True  # "beyond" the tolerance: d > ABS


def test_require_significant_passes_a_small_worsening_whose_interval_straddles_zero(capsys):
    args = (BASE, RETRAINED, "--loss", "mse", *FAST)
    plain = compare_json(capsys, *args, "--no-require-significant", expect=1)
    (r,) = plain["results"]
    assert r["difference"] > 0
    assert r["ci_low"] < 0 < r["ci_high"]
    doc = compare_json(capsys, *args, "--require-significant", expect=0)
    (r2,) = doc["results"]
    assert r2["regression"] is False
    assert (r2["difference"], r2["ci_low"], r2["ci_high"]) == (
        r["difference"],
        r["ci_low"],
        r["ci_high"],
    )
    assert doc["rule"]["require_significant"] is True


def test_require_significant_still_fails_a_significant_worsening(capsys):
    doc = compare_json(
        capsys, BASE, WORSE, "--loss", "mse,huber", *FAST, "--require-significant", expect=1
    )
    for r in doc["results"]:
        assert r["ci_low"] > 0
        assert r["regression"] is True


def test_a_file_compared_with_itself_has_zero_differences_and_a_zero_interval(capsys):
    doc = compare_json(
        capsys, BASE, BASE, "--loss", "mse,huber,rmse", "--group", "segment", *FAST, expect=0
    )
    assert doc["regressions"] == []
    assert len(doc["results"]) == 3 * 5
    for r in doc["results"]:
        assert r["baseline"] == r["candidate"]
        assert r["difference"] == 0.0
        assert r["relative_difference"] == 0.0
        assert (r["ci_low"], r["ci_high"]) == (0.0, 0.0)
        assert r["regression"] is False
    code, out, err = compare(capsys, BASE, BASE, "--loss", "mse", *FAST)
    assert code == 0 and err == ""
    assert parse_table(out)[0]["verdict"] == "ok"


# ---- groups ------------------------------------------------------------------------------


def test_group_gives_one_row_per_group_plus_overall_in_sorted_order(capsys):
    doc = compare_json(
        capsys, BASE, WORSE, "--loss", "mse,huber", "--group", "segment", *FAST, expect=1
    )
    assert doc["group"] == "segment"
    groups = [r["group"] for r in doc["results"]]
    assert groups == [None, "east", "north", "south", "west"] * 2
    assert [r["loss"] for r in doc["results"]] == ["mse"] * 5 + ["huber"] * 5
    overall = [r for r in doc["results"] if r["group"] is None]
    assert all(r["n"] == 2000 for r in overall)
    for loss in ("mse", "huber"):
        assert sum(r["n"] for r in doc["results"] if r["loss"] == loss and r["group"]) == 2000
    for r in doc["results"]:
        assert r["ci_low"] is not None and r["ci_low"] <= r["ci_high"]


def test_group_values_equal_eval_with_the_same_group(capsys):
    doc = compare_json(
        capsys, BASE, WORSE, "--loss", "mse,huber", "--group", "segment", *FAST, expect=1
    )
    base = eval_json(capsys, BASE, "--loss", "mse,huber", "--group", "segment")
    cand = eval_json(capsys, WORSE, "--loss", "mse,huber", "--group", "segment")
    base_n = {(r["loss"], r["group"]): r["n"] for r in base["results"]}
    base_v, cand_v = eval_values(base), eval_values(cand)
    assert set(by_key(doc)) == set(base_v)
    for key, r in by_key(doc).items():
        assert r["baseline"] == pytest.approx(base_v[key], rel=1e-12, abs=1e-12), key
        assert r["candidate"] == pytest.approx(cand_v[key], rel=1e-12, abs=1e-12), key
        assert r["n"] == base_n[key]


def test_group_table_has_a_row_per_group_and_names_grouped_regressions(capsys):
    code, out, err = compare(capsys, BASE, WORSE, "--loss", "mse", "--group", "segment", *FAST)
    assert code == 1
    rows = parse_table(out)
    assert [r["group"] for r in rows] == ["(all)", "east", "north", "south", "west"]
    assert "mse [north]" in out.splitlines()[-1]
    assert err == ""


# ---- misaligned pairs --------------------------------------------------------------------


def first_rows(source: Path, n: int, copy: Path) -> Path:
    """``copy`` holding the header and the first ``n`` rows of ``source``."""
    lines = source.read_text().splitlines(keepends=True)
    copy.write_text("".join(lines[: n + 1]))
    return copy


def test_a_candidate_with_fewer_rows_is_an_input_error_naming_both_counts(capsys, tmp_path):
    short = first_rows(WORSE, 1500, tmp_path / "short.csv")
    line = user_error(capsys, "compare", BASE, short, "--loss", "mse", *FAST)
    assert "2000" in line and "1500" in line
    assert "500 fewer" in line
    assert str(BASE) in line and str(short) in line


def test_a_candidate_with_more_rows_is_an_input_error_naming_both_counts(capsys, tmp_path):
    short = first_rows(BASE, 1800, tmp_path / "short_base.csv")
    line = user_error(capsys, "compare", short, WORSE, "--loss", "mse", *FAST)
    assert "1800" in line and "2000" in line
    assert "200 more" in line


def test_row_count_message_says_more_when_the_candidate_has_more_kept_rows(capsys, tmp_path):
    base = pd.read_csv(BASE)
    base.loc[:9, "y_pred"] = np.nan  # 10 rows dropped by --dropna: 1990 kept
    base_path = write_csv(tmp_path / "base_nan.csv", base)
    cand_path = write_csv(tmp_path / "cand_1995.csv", pd.read_csv(WORSE).iloc[:1995])
    line = user_error(capsys, "compare", base_path, cand_path, "--loss", "mse", "--dropna", *FAST)
    assert "1990" in line and "1995" in line
    assert "5 more" in line


def test_a_candidate_with_different_targets_is_an_input_error(capsys):
    line = user_error(capsys, "compare", BASE, CLEAN, "--loss", "mse", *FAST)
    assert "do not hold the same targets" in line
    assert "2000 row(s)" in line  # every target differs
    assert str(BASE) in line and str(CLEAN) in line


def test_shuffled_rows_without_key_are_an_input_error(capsys, keyed):
    line = user_error(capsys, "compare", keyed["base"], keyed["shuffled"], "--loss", "mse", *FAST)
    assert "do not hold the same targets" in line
    assert re.search(r"differ in \d+ row\(s\)", line)


def test_key_pairs_rows_by_id_like_the_aligned_files_by_order(capsys, keyed):
    losses = ("--loss", "mse,huber,rmse", "--group", "segment")
    by_order = compare_json(capsys, keyed["base"], keyed["ordered"], *losses, *FAST, expect=1)
    by_id = compare_json(
        capsys, keyed["base"], keyed["shuffled"], *losses, "--key", "id", *FAST, expect=1
    )
    assert by_id["key"] == "id"
    assert set(by_key(by_id)) == set(by_key(by_order))
    for key, r in by_key(by_id).items():
        o = by_key(by_order)[key]
        for field in ("baseline", "candidate", "difference", "relative_difference"):
            assert r[field] == pytest.approx(o[field], rel=1e-12, abs=1e-12), (key, field)
        assert r["n"] == o["n"]
        assert r["regression"] == o["regression"]
        assert r["ci_low"] <= r["difference"] <= r["ci_high"]
    assert by_id["regressions"] == by_order["regressions"]


def test_key_with_missing_keys_is_an_input_error_with_counts(capsys, keyed):
    line = user_error(
        capsys, "compare", keyed["base"], keyed["missing"], "--loss", "mse", "--key", "id", *FAST
    )
    assert "3 key(s)" in line and "missing" in line
    assert "'id'" in line
    # the first row of each file with a key the other lacks, in reading order
    first = int(np.random.default_rng(11).permutation(2000)[:3].min())
    assert line.endswith(
        f"first, row {first} of {keyed['base']} has a key {keyed['missing']} lacks and "
        f"row 0 of {keyed['missing']} has a key {keyed['base']} lacks"
    )


def test_key_with_duplicate_keys_is_an_input_error_with_counts(capsys, keyed):
    line = user_error(
        capsys, "compare", keyed["base"], keyed["dup"], "--loss", "mse", "--key", "id", *FAST
    )
    assert "2 duplicate key(s)" in line
    assert str(keyed["dup"]) in line and "'id'" in line
    assert line.endswith("2 duplicate key(s): row 2 repeats the key of row 0")


def test_key_column_missing_is_an_input_error(capsys):
    line = user_error(capsys, "compare", BASE, WORSE, "--loss", "mse", "--key", "id", *FAST)
    assert "--key" in line and "'id'" in line
    assert str(BASE) in line


# ---- determinism -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "markdown", "csv", "table"])
def test_the_same_command_twice_gives_byte_identical_output(capsys, fmt):
    args = (BASE, WORSE, "--loss", "mse,huber", "--group", "segment", *FAST, "--format", fmt)
    first = compare(capsys, *args)
    second = compare(capsys, *args)
    assert first == second
    assert first[0] == 1 and first[1]


def test_a_different_seed_changes_the_interval_but_not_the_values(capsys):
    args = (BASE, WORSE, "--loss", "mse,huber", "--group", "segment", *FAST)
    a = compare_json(capsys, *args, "--seed", "1")
    b = compare_json(capsys, *args, "--seed", "2")
    assert a["bootstrap"]["seed"] == 1 and b["bootstrap"]["seed"] == 2
    for ra, rb in zip(a["results"], b["results"], strict=True):
        for field in ("baseline", "candidate", "difference", "relative_difference", "n"):
            assert ra[field] == rb[field]
    assert any(
        (ra["ci_low"], ra["ci_high"]) != (rb["ci_low"], rb["ci_high"])
        for ra, rb in zip(a["results"], b["results"])
    )
    assert all(ra["ci_low"] != rb["ci_low"] for ra, rb in zip(a["results"], b["results"]))


def test_the_interval_matches_a_numpy_row_bootstrap_reference(capsys):
    """Below 4096 rows every row is its own unit: the classic paired row bootstrap."""
    seed, replicates, conf = 7, 200, 0.9
    doc = compare_json(
        capsys,
        BASE,
        WORSE,
        "--loss",
        "mse",
        "--bootstrap",
        replicates,
        "--seed",
        seed,
        "--confidence",
        conf,
    )
    base, cand = pd.read_csv(BASE), pd.read_csv(WORSE)
    lb = (base.y_pred.to_numpy() - base.y_true.to_numpy()) ** 2
    lc = (cand.y_pred.to_numpy() - cand.y_true.to_numpy()) ** 2
    n = len(lb)
    idx = np.random.default_rng(seed).integers(0, n, size=(replicates, n))
    diffs = lc[idx].mean(axis=1) - lb[idx].mean(axis=1)
    lo, hi = np.quantile(diffs, [(1 - conf) / 2, (1 + conf) / 2])
    (r,) = doc["results"]
    assert r["ci_low"] == pytest.approx(lo, rel=1e-9)
    assert r["ci_high"] == pytest.approx(hi, rel=1e-9)


def test_a_lower_confidence_gives_a_nested_interval(capsys):
    args = (BASE, WORSE, "--loss", "mse", *FAST)
    wide = compare_json(capsys, *args, "--confidence", "0.95")["results"][0]
    narrow = compare_json(capsys, *args, "--confidence", "0.5")["results"][0]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


# ---- output formats ----------------------------------------------------------------------


def test_markdown_output_has_a_heading_a_table_and_the_summary_line(capsys):
    code, out, _ = compare(
        capsys, BASE, WORSE, "--loss", "mse,huber", *FAST, "--format", "markdown"
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "### losscli compare: ❌ regression"
    header = next(line for line in lines if line.startswith("| loss |"))
    assert "95% interval" in header and "verdict" in header
    assert lines[lines.index(header) + 1].startswith("|---|")
    body = [line for line in lines if line.startswith("| mse |") or line.startswith("| huber |")]
    assert len(body) == 2 and all("REGRESSION" in line for line in body)
    assert lines[-1] == f"regression: {WORSE} is worse than {BASE} on mse, huber"
    code, out, _ = compare(
        capsys, BASE, RETRAINED, "--loss", "mse", *FAST, "--rel-tolerance", "0.01", "-f", "markdown"
    )
    assert code == 0
    assert out.splitlines()[0] == "### losscli compare: ✅ no regression"
    assert out.splitlines()[-1] == (
        f"passed: {RETRAINED} is no worse than {BASE}: mse +0.04%, within tolerance"
    )


def test_csv_output_has_the_pinned_header_and_full_precision_values(capsys):
    args = (BASE, WORSE, "--loss", "mse,huber", "--group", "segment", *FAST)
    doc = compare_json(capsys, *args)
    code, out, _ = compare(capsys, *args, "--format", "csv")
    assert code == 1
    reader = csv.reader(io.StringIO(out))
    assert next(reader) == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(doc["results"]) == 10
    for row, r in zip(rows, doc["results"], strict=True):
        assert row["loss"] == r["loss"]
        assert row["group"] == ("" if r["group"] is None else r["group"])
        assert json.loads(row["params"]) == r["params"]
        assert int(row["n"]) == r["n"]
        for field in ("baseline", "candidate", "difference", "relative_difference"):
            assert float(row[field]) == r[field]
        assert float(row["ci_low"]) == r["ci_low"] and float(row["ci_high"]) == r["ci_high"]
        assert row["regression"] == ("true" if r["regression"] else "false")
        assert row["significant"] == {True: "true", False: "false", None: ""}[r["significant"]]
        assert row["reason"] == r["reason"]


def test_table_output_rounds_the_json_values(capsys):
    args = (BASE, WORSE, "--loss", "mse,huber", *FAST)
    doc = compare_json(capsys, *args)
    code, out, _ = compare(capsys, *args, "--format", "table")
    assert code == 1
    rows = parse_table(out)
    assert len(rows) == 2
    for row, r in zip(rows, doc["results"], strict=True):
        assert float(row["baseline"]) == pytest.approx(r["baseline"], rel=1e-5)
        assert float(row["candidate"]) == pytest.approx(r["candidate"], rel=1e-5)
        assert float(row["diff"]) == pytest.approx(r["difference"], rel=1e-5)
        low, high = (float(x) for x in row["95% interval"].strip("[]").split(","))
        assert low == pytest.approx(r["ci_low"], rel=1e-3)
        assert high == pytest.approx(r["ci_high"], rel=1e-3)


def test_output_file_is_written_atomically_and_nothing_goes_to_stdout(capsys, tmp_path):
    args = (BASE, WORSE, "--loss", "mse,huber", *FAST, "--format", "json")
    _, expected, _ = compare(capsys, *args)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "out.json"
    code, out, err = compare(capsys, *args, "-o", target)
    assert code == 1  # the regression still exits 1
    assert out == ""
    assert err.startswith("regression:")
    assert target.read_text() == expected
    assert sorted(p.name for p in out_dir.iterdir()) == ["out.json"]  # no temporary left
    assert json.loads(target.read_text())["schema"] == "losscli.compare/1"


def test_a_failed_run_leaves_an_existing_output_file_alone(capsys, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous\n")
    user_error(capsys, "compare", BASE, CLEAN, "--loss", "mse", *FAST, "-o", target)
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_bootstrap_0_gives_null_intervals(capsys):
    doc = compare_json(
        capsys, BASE, WORSE, "--loss", "mse", "--group", "segment", "--bootstrap", "0"
    )
    assert doc["bootstrap"] is None
    assert all(r["ci_low"] is None and r["ci_high"] is None for r in doc["results"])
    assert doc["passed"] is False  # the point difference still decides
    code, out, _ = compare(capsys, BASE, WORSE, "--loss", "mse", "--bootstrap", "0")
    assert code == 1
    (row,) = parse_table(out)
    assert row["interval"] == "-"
    code, out, _ = compare(capsys, BASE, WORSE, "--loss", "mse", "--bootstrap", "0", "-f", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["ci_low"] == row["ci_high"] == ""


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (("--confidence", "1.5"), "--confidence"),
        (("--confidence", "0"), "--confidence"),
        (("--bootstrap", "-1"), "--bootstrap"),
        (("--require-significant", "--bootstrap", "0"), "--require-significant"),
        (("--tolerance", "-0.1"), "--tolerance"),
        (("--rel-tolerance", "-1"), "--rel-tolerance"),
    ],
)
def test_bad_options_are_usage_errors(capsys, option, named):
    line = user_error(capsys, "compare", BASE, WORSE, "--loss", "mse", *option)
    assert named in line


# ---- ratio losses and other inputs -------------------------------------------------------


@pytest.fixture
def perturbed_segmentation(tmp_path: Path) -> Path:
    frame = pd.read_csv(SEGMENTATION)
    rng = np.random.default_rng(5)
    noisy = np.clip(frame["y_pred"] + rng.normal(0, 0.1, len(frame)), 0.0, 1.0).round(6)
    return write_csv(tmp_path / "segmentation_noisy.csv", frame.assign(y_pred=noisy))


def test_dice_interval_contains_the_point_difference(capsys, perturbed_segmentation):
    doc = compare_json(
        capsys,
        SEGMENTATION,
        perturbed_segmentation,
        "--loss",
        "dice,iou",
        "--group",
        "image_id",
        *FAST,
    )
    base = eval_values(eval_json(capsys, SEGMENTATION, "--loss", "dice,iou", "--group", "image_id"))
    assert len(doc["results"]) == 2 * 9  # overall + 8 images
    for r in doc["results"]:
        assert r["ci_low"] <= r["difference"] <= r["ci_high"], r
        assert r["baseline"] == pytest.approx(base[(r["loss"], r["group"])], rel=1e-12)
    overall = by_key(doc)[("dice", None)]
    assert overall["n"] == 8192  # more rows than bootstrap units
    assert overall["ci_low"] > 0  # the noise made the soft masks clearly worse


def test_dice_of_a_file_with_itself_beyond_the_unit_count_has_a_zero_interval(capsys):
    doc = compare_json(capsys, SEGMENTATION, SEGMENTATION, "--loss", "dice", *FAST, expect=0)
    (r,) = doc["results"]
    assert r["n"] == 8192
    assert (r["difference"], r["ci_low"], r["ci_high"]) == (0.0, 0.0, 0.0)


def test_rmse_interval_contains_the_point_difference(capsys):
    doc = compare_json(capsys, BASE, WORSE, "--loss", "rmse,mse", "--group", "segment", *FAST)
    for r in doc["results"]:
        assert r["ci_low"] <= r["difference"] <= r["ci_high"], r
    for group in (None, "east", "north", "south", "west"):
        rmse, mse = by_key(doc)[("rmse", group)], by_key(doc)[("mse", group)]
        assert rmse["baseline"] == pytest.approx(math.sqrt(mse["baseline"]), rel=1e-12)
        assert rmse["candidate"] == pytest.approx(math.sqrt(mse["candidate"]), rel=1e-12)


def test_parquet_baseline_against_a_csv_candidate(capsys, tmp_path):
    parquet = SAMPLES / "regression.parquet"
    stored = pd.read_parquet(parquet)
    assert np.array_equal(stored["y_true"].to_numpy(), pd.read_csv(WORSE)["y_true"].to_numpy())
    from_csv = compare_json(capsys, BASE, WORSE, "--loss", "mse,huber", *FAST, expect=1)
    from_parquet = compare_json(capsys, parquet, WORSE, "--loss", "mse,huber", *FAST, expect=1)
    assert from_parquet["baseline"]["path"] == str(parquet)
    for a, b in zip(from_csv["results"], from_parquet["results"], strict=True):
        for field in ("baseline", "candidate", "difference", "ci_low", "ci_high"):
            assert b[field] == pytest.approx(a[field], rel=1e-12, abs=1e-15), field
    # and a Parquet candidate written from the CSV one
    worse_parquet = tmp_path / "regression_worse.parquet"
    pd.read_csv(WORSE).to_parquet(worse_parquet, index=False)
    both = compare_json(capsys, parquet, worse_parquet, "--loss", "mse,huber", *FAST, expect=1)
    for a, b in zip(from_csv["results"], both["results"], strict=True):
        for field in ("baseline", "candidate", "difference", "ci_low", "ci_high"):
            assert b[field] == pytest.approx(a[field], rel=1e-12, abs=1e-15), field
    same = compare_json(capsys, parquet, BASE, "--loss", "mse", *FAST, expect=0)
    assert same["results"][0]["difference"] == 0.0


def test_the_same_model_read_in_another_order_is_no_regression(tmp_path, capsys):
    """The same predictions as Parquet row groups, or shuffled and joined by --key: the
    sums are added in another order and the values differ in their last bits; that is
    rounding, not a regression (it exited 1). A real change, however small, still is."""
    rng = np.random.default_rng(21)
    n = 30_000
    y = rng.normal(size=n)
    k = rng.integers(0, 3, n)
    probs = rng.dirichlet([1, 1, 1], n)
    frame = pd.DataFrame(
        {"id": np.arange(n), "y_true": y, "y_pred": y + rng.normal(size=n), "label": k}
        | {f"p_{c}": probs[:, c] for c in range(3)}
    )
    base, parquet, shuffled = tmp_path / "b.csv", tmp_path / "b.parquet", tmp_path / "s.csv"
    frame.to_csv(base, index=False)
    frame.to_parquet(parquet, row_group_size=7_000)
    frame.sample(frac=1, random_state=2).to_csv(shuffled, index=False)
    regression = ["--loss", "mae,log_cosh,r2,d2_absolute_error"]
    classes = ["--target", "label", "--pred", "p_*", "--loss", "cross_entropy,perplexity"]
    for other, extra in (
        (parquet, ["--bootstrap", "0"]),
        (shuffled, ["--key", "id", "--bootstrap", "100"]),
    ):
        for losses in (regression, classes):
            args = ["compare", base, other, *losses, *extra, "--format", "json", "-q"]
            code, out, err = cli(capsys, *args)
            doc = json.loads(out)
            assert code == 0, (other, losses, err, doc["results"])
            for r in doc["results"]:
                assert r["difference"] == 0.0 and not r["regression"], r
                assert r["reason"] == "no change" or "the rounding of sums" in r["reason"]
    worse = frame.copy()
    worse.loc[123, "y_pred"] += 1e-3  # one row, slightly worse or better: a real change
    changed = tmp_path / "w.parquet"
    worse.to_parquet(changed, row_group_size=7_000)
    code, out, _ = cli(capsys, "compare", base, changed, "--loss", "mae", "--bootstrap", "0",
                       "--format", "json", "-q")  # fmt: skip
    (r,) = json.loads(out)["results"]
    assert r["difference"] != 0.0
    assert r["difference"] == pytest.approx(abs(frame.y_true[123] - frame.y_pred[123] - 1e-3) / n
                                            - abs(frame.y_true[123] - frame.y_pred[123]) / n,
                                            abs=1e-15)  # fmt: skip
