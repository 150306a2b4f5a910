"""``losscli check``: the model checks declared in losscli.toml or pyproject.toml (issue 6).

A check scores one file against ``fail_above`` thresholds or compares a candidate with
a baseline. One summary (table, Markdown, or JSON ``losscli.check/1``) is printed; only
a failed check exits 1. A configuration error (unknown key, unknown loss, missing
file, bad TOML, no configuration) exits 2 with one ``error:`` line naming the file and
the key. Paths are relative to the configuration file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLES, cli, parse_table, user_error

REGRESSION = SAMPLES / "regression.csv"
WORSE = SAMPLES / "regression_worse.csv"
RETRAINED = SAMPLES / "regression_retrained.csv"

TOP_KEYS = {"schema", "version", "config", "checks", "passed"}
CHECK_KEYS = {"name", "kind", "subject", "results", "passed"}
ROW_KEYS = {
    "loss",
    "group",
    "value",
    "baseline",
    "difference",
    "ci_low",
    "ci_high",
    "limit",
    "rule",
    "passed",
    "reason",
}
TABLE_COLUMNS = ["check", "loss", "group", "value", "baseline", "rule", "result"]


# ---- helpers ---------------------------------------------------------------------------


def check_json(capsys, *args: object) -> tuple[int, dict, str]:
    code, out, err = cli(capsys, "check", *args, "--format", "json")
    assert "error:" not in err, err
    doc = json.loads(out)
    assert code == (0 if doc["passed"] else 1), (code, err)
    return code, doc, err


def q(path: Path | str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    return json.dumps(str(path))


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def eval_values(capsys, path: Path, *args: object) -> dict[tuple[str, str | None], float]:
    code, out, err = cli(capsys, "eval", path, *args, "--format", "json")
    assert code == 0, err
    return {(r["loss"], r["group"]): r["value"] for r in json.loads(out)["results"]}


@pytest.fixture
def repo(monkeypatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def file_check(name: str = "file check", **extra: str) -> str:
    lines = ["[[check]]", f"name = {q(name)}", f"file = {q(REGRESSION)}"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def compare_check(name: str = "compare check", candidate: Path = WORSE, **extra: str) -> str:
    lines = [
        "[[check]]",
        f"name = {q(name)}",
        f"baseline = {q(REGRESSION)}",
        f"candidate = {q(candidate)}",
    ]
    fields = {"loss": '"mse"', "bootstrap": "100", **extra}
    lines += [f"{k} = {v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


# ---- the repository's own losscli.toml -----------------------------------------------------


def test_repo_config_passes_with_one_row_per_check_loss_and_group(capsys, repo):
    code, out, err = cli(capsys, "check", "--config", "losscli.toml")
    assert code == 0, err
    assert err == ""
    rows = parse_table(out)
    assert list(rows[0]) == TABLE_COLUMNS
    keys = [(r["check"], r["loss"], r["group"]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per (check, loss, group)
    groups = ["(all)", "east", "north", "south", "west"]
    assert keys == [
        *[("regression stays accurate", "huber(delta=0.5)", g) for g in groups],
        *[("regression stays accurate", "mse", g) for g in groups],
        ("retrained model is no worse", "mse", "(all)"),
        ("retrained model is no worse", "huber", "(all)"),
        ("imbalanced classifier", "focal(gamma=2)", "(all)"),
        ("imbalanced classifier", "bce", "(all)"),
    ]
    assert all(r["result"] == "passed" for r in rows)
    assert out.rstrip("\n").splitlines()[-1] == "3 of 3 checks passed"


def test_repo_config_is_found_without_config_option(capsys, repo):
    explicit = cli(capsys, "check", "--config", "losscli.toml")
    found = cli(capsys, "check")
    assert found == explicit


def test_repo_config_values_equal_eval(capsys, repo):
    _, doc, _ = check_json(capsys, "--config", "losscli.toml")
    first = doc["checks"][0]
    expected = eval_values(
        capsys, REGRESSION, "--loss", "huber(delta=0.5),mse", "--group", "segment"
    )
    assert {(r["loss"], r["group"]): r["value"] for r in first["results"]} == pytest.approx(
        expected, rel=1e-12
    )
    for r in first["results"]:
        assert r["limit"] == (0.3 if r["loss"].startswith("huber") else 3.5)
        assert r["rule"] == f"<= {r['limit']:g}"
        assert r["passed"] is (r["value"] <= r["limit"])


def test_repo_config_json_has_the_pinned_schema_and_keys(capsys, repo):
    code, doc, _ = check_json(capsys, "--config", "losscli.toml")
    assert code == 0
    assert doc["schema"] == "losscli.check/1"
    assert set(doc) == TOP_KEYS
    assert doc["config"] == "losscli.toml"
    assert doc["passed"] is True
    assert [c["name"] for c in doc["checks"]] == [
        "regression stays accurate",
        "retrained model is no worse",
        "imbalanced classifier",
    ]
    assert [c["kind"] for c in doc["checks"]] == ["eval", "compare", "eval"]
    for check in doc["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["passed"] is True
        for row in check["results"]:
            assert set(row) == ROW_KEYS
    assert doc["checks"][0]["subject"] == "sample_data/regression.csv"
    assert doc["checks"][1]["subject"] == (
        "sample_data/regression.csv → sample_data/regression_retrained.csv"
    )
    for row in doc["checks"][1]["results"]:  # the compare check
        assert row["difference"] == row["value"] - row["baseline"]
        assert row["ci_low"] <= row["difference"] <= row["ci_high"]
        assert row["limit"] is None
        assert row["rule"] == "Δ <= 0.01·|baseline| or not significant"
        assert ", within tolerance (up to " in row["reason"]
    for row in doc["checks"][0]["results"]:  # a file check
        assert row["baseline"] is row["difference"] is row["ci_low"] is row["ci_high"] is None


def test_repo_config_markdown_for_the_step_summary(capsys, repo):
    code, out, err = cli(capsys, "check", "--format", "markdown")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("### ✅ losscli check")
    assert lines[0] == "### ✅ losscli check: 3 of 3 checks passed"
    assert lines[2] == "| " + " | ".join(TABLE_COLUMNS) + " |"
    assert lines[3] == "|" + "---|" * len(TABLE_COLUMNS)
    body = lines[4:]
    assert len(body) == 14
    assert all(line.endswith("| ✅ passed |") for line in body)
    assert "\\|baseline\\|" in out  # a "|" in a cell is escaped


@pytest.mark.parametrize("fmt", ["json", "markdown", "table"])
def test_output_is_byte_identical_across_runs(capsys, repo, fmt):
    first = cli(capsys, "check", "--format", fmt)
    second = cli(capsys, "check", "--format", fmt)
    assert first == second
    assert first[0] == 0 and first[1]


def test_output_file(capsys, repo, tmp_path):
    _, expected, _ = cli(capsys, "check", "--format", "markdown")
    target = tmp_path / "summary.md"
    code, out, err = cli(capsys, "check", "--format", "markdown", "-o", target)
    assert code == 0, err
    assert out == ""
    assert target.read_text() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


# ---- failing checks exit 1 -------------------------------------------------------------


def test_a_failed_threshold_exits_1_and_names_the_check(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("huber is tiny", loss='"huber"', fail_above="{ huber = 0.01 }"),
    )
    code, out, err = cli(capsys, "check", "--config", config)
    assert code == 1
    assert err == ""  # the verdict line once, on stdout
    (row,) = parse_table(out)
    assert row["check"] == "huber is tiny"
    assert row["rule"] == "<= 0.01"
    assert row["result"] == "FAILED"
    assert out.rstrip("\n").splitlines()[-1] == "1 of 1 checks failed: huber is tiny"
    code, out, _ = cli(capsys, "check", "--config", config, "--format", "markdown")
    assert code == 1
    assert out.splitlines()[0] == "### ❌ losscli check: 1 of 1 checks failed: huber is tiny"
    assert "| ❌ failed |" in out


def test_one_failed_check_among_passing_ones_fails_the_run(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("loose", loss='"mse"', fail_above="5")
        + file_check("tight", loss='"mse,mae"', fail_above="{ mae = 0.1 }")
        + compare_check("same", candidate=REGRESSION),
    )
    code, doc, err = check_json(capsys, "--config", config)
    assert code == 1
    assert "check failed: 1 of 3 checks failed: tight" in err
    assert [c["passed"] for c in doc["checks"]] == [True, False, True]
    tight = doc["checks"][1]["results"]
    assert [(r["loss"], r["limit"], r["passed"]) for r in tight] == [
        ("mse", None, True),  # no threshold for mse: reported, never fails
        ("mae", 0.1, False),
    ]
    assert tight[0]["reason"] == "no threshold applies to this loss"


def test_a_loss_no_threshold_names_is_not_gated_not_passed(capsys, tmp_path):
    """A check's loss that no threshold names is reported as "not gated" (it said
    "passed", as if checked), in the table and the Markdown, as JUnit says "skipped"."""
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("partial", loss='"mse,mae"', fail_above="{ mse = 5 }"),
    )
    code, out, _ = cli(capsys, "check", "--config", config)
    assert code == 0
    assert [(r["loss"], r["rule"], r["result"]) for r in parse_table(out)] == [
        ("mse", "<= 5", "passed"),
        ("mae", "-", "not gated"),
    ]
    code, out, _ = cli(capsys, "check", "--config", config, "--format", "markdown")
    assert "| mae | (all) | 0.685442 | - | - | ➖ not gated |" in out
    code, out, _ = cli(capsys, "check", "--config", config, "--format", "junit")
    assert out.count("<skipped") == 1 and "no threshold applies to this loss" in out


def test_a_threshold_applies_to_every_group(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("by segment", loss='"mse"', group='"segment"', fail_above="3.0"),
    )
    code, doc, err = check_json(capsys, "--config", config)
    assert code == 1
    rows = {r["group"]: r for r in doc["checks"][0]["results"]}
    assert list(rows) == [None, "east", "north", "south", "west"]
    assert rows[None]["passed"] is True  # 2.56 overall
    assert rows["south"]["passed"] is False  # 3.19 in the south
    assert [g for g, r in rows.items() if not r["passed"]] == ["south"]


def test_a_compare_check_against_the_worse_candidate_exits_1(capsys, tmp_path):
    config = write_config(tmp_path / "losscli.toml", compare_check("no worse"))
    code, out, err = cli(capsys, "check", "--config", config)
    assert code == 1
    assert err == ""  # the verdict line once, on stdout
    assert out.count("1 of 1 checks failed: no worse") == 1
    (row,) = parse_table(out)
    assert (row["loss"], row["rule"], row["result"]) == (
        "mse",
        "Δ <= 0 or not significant",
        "FAILED",
    )
    _, doc, _ = check_json(capsys, "--config", config)
    (check,) = doc["checks"]
    assert check["kind"] == "compare"
    assert check["subject"] == f"{REGRESSION} → {WORSE}"
    (r,) = check["results"]
    assert r["difference"] == r["value"] - r["baseline"] > 0


def test_a_compare_check_within_tolerance_passes_and_beyond_fails(capsys, tmp_path):
    within = write_config(
        tmp_path / "within.toml",
        compare_check("retrained", candidate=RETRAINED, max_rel_regression="0.01"),
    )
    code, doc, err = check_json(capsys, "--config", within)
    assert code == 0, err
    assert doc["checks"][0]["results"][0]["rule"] == "Δ <= 0.01·|baseline| or not significant"
    beyond = write_config(
        tmp_path / "beyond.toml",
        compare_check(
            "retrained", candidate=RETRAINED, max_regression="0.0001", require_significant="false"
        ),
    )
    code, doc, _ = check_json(capsys, "--config", beyond)
    assert code == 1
    (r,) = doc["checks"][0]["results"]
    assert r["rule"] == "Δ <= 0.0001"
    assert r["difference"] > 0.0001


def test_per_group_false_drops_the_group_rows(capsys, tmp_path):
    grouped = file_check("g", loss='"mse,mae"', group='"segment"', fail_above="5")
    with_groups = write_config(tmp_path / "a.toml", grouped)
    without = write_config(tmp_path / "b.toml", grouped + "per_group = false\n")
    _, doc_a, _ = check_json(capsys, "--config", with_groups)
    code, doc_b, _ = check_json(capsys, "--config", without)
    assert code == 0
    rows_a, rows_b = doc_a["checks"][0]["results"], doc_b["checks"][0]["results"]
    assert len(rows_a) == 2 * 5
    assert [(r["loss"], r["group"]) for r in rows_b] == [("mse", None), ("mae", None)]
    assert rows_b == [r for r in rows_a if r["group"] is None]
    code, out, _ = cli(capsys, "check", "--config", without)
    assert [r["group"] for r in parse_table(out)] == ["(all)", "(all)"]


def test_per_group_false_in_a_compare_check(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml",
        compare_check("c", candidate=RETRAINED, group='"segment"', per_group="false")
        + "max_rel_regression = 0.01\n",
    )
    code, doc, err = check_json(capsys, "--config", config)
    assert code == 0, err
    assert [r["group"] for r in doc["checks"][0]["results"]] == [None]


# ---- configuration errors exit 2, naming the file and the key --------------------------------


def _config_errors() -> list:
    good = file_check("c", loss='"huber"')
    return [
        pytest.param(
            file_check("c", loss='"huber"', fail_abov="0.3"), ["'fail_abov'"], id="unknown-key"
        ),
        pytest.param(
            file_check("c", loss='"huber"', max_regression="0.1"),
            ["'max_regression'", "baseline/candidate"],
            id="compare-key-in-file-check",
        ),
        pytest.param(
            compare_check("c", fail_above="1"),
            ["'fail_above'", "file check"],
            id="file-key-in-compare-check",
        ),
        pytest.param(file_check("c", loss='"huberr"'), ["'loss'", "huberr"], id="unknown-loss"),
        pytest.param(
            file_check("c", loss='"huber"', params="{ nope = 1 }"),
            ["'loss'", "nope"],
            id="unknown-param",
        ),
        pytest.param(file_check("c"), ["missing key 'loss'"], id="missing-loss"),
        pytest.param(
            '[[check]]\nname = "c"\nloss = "mse"\n', ["missing key 'file'"], id="missing-file-key"
        ),
        pytest.param(
            '[[check]]\nname = "c"\nfile = "nope.csv"\nloss = "mse"\n',
            ["'file'", "nope.csv"],
            id="missing-data-file",
        ),
        pytest.param(
            compare_check("c", candidate=Path("nope.csv")),
            ["'candidate'", "nope.csv"],
            id="missing-candidate",
        ),
        pytest.param(
            file_check("c", loss='"huber"', fail_above='"x"'),
            ["'fail_above'", "wrong type"],
            id="wrong-type",
        ),
        pytest.param(
            compare_check("c", bootstrap="true"), ["'bootstrap'", "wrong type"], id="bool-for-int"
        ),
        pytest.param(
            file_check("c", loss='"huber"', fail_above="{ mae = 1 }"),
            ["fail_above.mae"],
            id="fail-above-unselected-loss",
        ),
        pytest.param(
            file_check("c", loss='"huber"', fail_above='{ huber = "x" }'),
            ["fail_above.huber"],
            id="fail-above-value-type",
        ),
        pytest.param(good + "[[check\n", ["not valid TOML"], id="invalid-toml"),
        pytest.param("checks = 1\n", ["'checks'"], id="unknown-top-level-key"),
        pytest.param("[check]\nfile = 'x'\n", ["[[check]]"], id="check-not-an-array"),
    ]


@pytest.mark.parametrize(("text", "named"), _config_errors())
def test_config_errors_exit_2_naming_file_and_key(capsys, tmp_path, monkeypatch, text, named):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path / "conf" / "losscli.toml", text)
    line = user_error(capsys, "check", "--config", config)
    assert str(config) in line
    for part in named:
        assert part in line, line


def test_config_error_names_the_check_by_index_and_name(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("first", loss='"mse"', fail_above="5")
        + file_check("second", loss='"mse"', fail_abov="1"),
    )
    line = user_error(capsys, "check", "--config", config)
    assert f"{config}: [[check]] #2 (second): unknown key 'fail_abov'" in line


def test_a_config_error_in_a_later_check_runs_nothing(capsys, tmp_path):
    """Validation comes first: a failing first check does not hide the config error (exit 2)."""
    config = write_config(
        tmp_path / "losscli.toml",
        file_check("fails", loss='"mse"', fail_above="0.1") + file_check("bad", loss='"nope"'),
    )
    line = user_error(capsys, "check", "--config", config)
    assert "[[check]] #2 (bad)" in line and "'loss'" in line


def test_a_boolean_fail_above_is_a_wrong_type(capsys, tmp_path):
    config = write_config(
        tmp_path / "losscli.toml", file_check("c", loss='"huber"', fail_above="true")
    )
    line = user_error(capsys, "check", "--config", config)
    assert "'fail_above'" in line and "wrong type" in line


def test_a_non_string_column_list_is_a_config_error(capsys, tmp_path):
    config = write_config(tmp_path / "losscli.toml", file_check("c", loss='"huber"', target="[1]"))
    line = user_error(capsys, "check", "--config", config)
    assert str(config) in line and "'target'" in line


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (file_check("c", loss='"mse"', reduction='"bogus"'), "reduction"),
        (compare_check("c", bootstrap="-1"), "bootstrap"),
        (compare_check("c", confidence="1.5"), "confidence"),
        (file_check("c", loss='"mse"', input_format='"xlsx"'), "input_format"),
    ],
)
def test_an_invalid_value_names_its_config_key(capsys, tmp_path, text, key):
    config = write_config(tmp_path / "losscli.toml", text)
    line = user_error(capsys, "check", "--config", config)
    assert str(config) in line
    assert f"key '{key}'" in line, line


def test_input_errors_while_running_a_check_exit_2_not_1(capsys, tmp_path):
    """Only a failed check exits 1: a misaligned pair or a missing column is exit 2."""
    short = tmp_path / "short.csv"
    short.write_text("".join(WORSE.read_text().splitlines(keepends=True)[:1001]))
    config = write_config(tmp_path / "pair.toml", compare_check("pair", candidate=short))
    line = user_error(capsys, "check", "--config", config)
    assert f"{config}: [[check]] #1 (pair)" in line
    assert "2000" in line and "1000" in line
    config = write_config(
        tmp_path / "column.toml", file_check("col", loss='"mse"', target='"nope"', fail_above="9")
    )
    line = user_error(capsys, "check", "--config", config)
    assert f"{config}: [[check]] #1 (col)" in line
    assert 'target = "nope": no such column' in line  # the TOML key, not the --target flag


def test_a_missing_config_file_is_exit_2(capsys, tmp_path):
    missing = tmp_path / "nowhere.toml"
    line = user_error(capsys, "check", "--config", missing)
    assert str(missing) in line
    assert "no such configuration file" in line


def test_no_config_found_is_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = user_error(capsys, "check")
    assert "no checks found" in line
    assert "losscli.toml" in line and "pyproject.toml" in line
    # a pyproject.toml without [tool.losscli] is no configuration either
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    line = user_error(capsys, "check")
    assert "no checks found" in line


# ---- pyproject.toml ------------------------------------------------------------------------


def pyproject(extra: str = "") -> str:
    return (
        '[project]\nname = "model"\n\n[tool.losscli]\n'
        + extra
        + "\n[[tool.losscli.check]]\n"
        + 'name = "from pyproject"\n'
        + f"file = {q(REGRESSION)}\n"
        + 'loss = "mse"\nfail_above = 5\n'
    )


def test_pyproject_tool_losscli_is_found_in_cwd(capsys, tmp_path, monkeypatch):
    write_config(tmp_path / "pyproject.toml", pyproject())
    monkeypatch.chdir(tmp_path)
    code, doc, err = check_json(capsys)
    assert code == 0, err
    assert doc["config"] == "pyproject.toml"
    assert [c["name"] for c in doc["checks"]] == ["from pyproject"]
    code, out, _ = cli(capsys, "check")
    assert code == 0
    assert out.rstrip("\n").splitlines()[-1] == "1 of 1 checks passed"


def test_pyproject_via_config_option(capsys, tmp_path, monkeypatch):
    config = write_config(tmp_path / "proj" / "pyproject.toml", pyproject())
    monkeypatch.chdir(tmp_path)
    code, doc, err = check_json(capsys, "--config", config)
    assert code == 0, err
    assert doc["config"] == str(config)
    assert doc["checks"][0]["results"][0]["value"] == pytest.approx(
        eval_values(capsys, REGRESSION, "--loss", "mse")[("mse", None)], rel=1e-12
    )


def test_losscli_toml_comes_before_pyproject(capsys, tmp_path, monkeypatch):
    write_config(tmp_path / "pyproject.toml", pyproject())
    write_config(
        tmp_path / "losscli.toml", file_check("from losscli.toml", loss='"mse"', fail_above="5")
    )
    monkeypatch.chdir(tmp_path)
    _, doc, _ = check_json(capsys)
    assert doc["config"] == "losscli.toml"
    assert [c["name"] for c in doc["checks"]] == ["from losscli.toml"]


def test_unknown_key_under_tool_losscli_is_exit_2(capsys, tmp_path, monkeypatch):
    config = write_config(tmp_path / "pyproject.toml", pyproject("threshold = 1\n"))
    monkeypatch.chdir(tmp_path)
    line = user_error(capsys, "check")
    assert "pyproject.toml" in line and "'tool.losscli.threshold'" in line
    line = user_error(capsys, "check", "--config", config)
    assert str(config) in line and "'tool.losscli.threshold'" in line


def test_unknown_key_in_a_pyproject_check_names_its_table(capsys, tmp_path, monkeypatch):
    text = pyproject().replace("fail_above = 5", "fail_abov = 5")
    write_config(tmp_path / "pyproject.toml", text)
    monkeypatch.chdir(tmp_path)
    line = user_error(capsys, "check")
    assert "pyproject.toml: [[tool.losscli.check]] #1 (from pyproject)" in line
    assert "'fail_abov'" in line


def test_pyproject_given_with_config_but_without_the_section(capsys, tmp_path):
    config = write_config(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    line = user_error(capsys, "check", "--config", config)
    assert str(config) in line and "[tool.losscli]" in line


# ---- paths are relative to the configuration file ------------------------------------------


def test_paths_are_relative_to_the_config_file(capsys, tmp_path, monkeypatch):
    shutil.copy(REGRESSION, tmp_path / "data.csv")
    shutil.copy(WORSE, tmp_path / "worse.csv")
    config = write_config(
        tmp_path / "sub" / "losscli.toml",
        '[[check]]\nname = "rel"\nfile = "../data.csv"\nloss = "mse"\nfail_above = 5\n'
        '[[check]]\nname = "pair"\nbaseline = "../data.csv"\ncandidate = "../worse.csv"\n'
        'loss = "mse"\nbootstrap = 50\nmax_regression = 1\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, doc, err = check_json(capsys, "--config", config)
    assert code == 0, err
    rel, pair = doc["checks"]
    assert rel["subject"] == str(config.parent / "../data.csv")
    assert rel["results"][0]["value"] == pytest.approx(
        eval_values(capsys, REGRESSION, "--loss", "mse")[("mse", None)], rel=1e-12
    )
    assert pair["results"][0]["difference"] > 0
    # relative --config from another directory
    monkeypatch.chdir(tmp_path)
    code, _, err = check_json(capsys, "--config", "sub/losscli.toml")
    assert code == 0, err


def test_a_missing_relative_file_names_the_config_directory(capsys, tmp_path, monkeypatch):
    config = write_config(
        tmp_path / "sub" / "losscli.toml",
        '[[check]]\nfile = "data.csv"\nloss = "mse"\n',
    )
    (tmp_path / "data.csv").write_text("y_true,y_pred\n1,1\n")  # in cwd, not beside the config
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "check", "--config", config)
    assert code == 2
    assert "key 'file': no such file 'data.csv'" in err
    assert f"paths are relative to {config.parent}" in err
