"""CI systems' own formats (issue 19, item 4): ``--format junit`` of ``check``, ``compare``
and ``eval`` (its ``--fail-above``/``--fail-below`` gates), and GitHub Actions ``::error``
annotations of failed gates under ``GITHUB_ACTIONS=true``.

The JUnit structure is checked against the rules of the Ant JUnit schema (windyroad's
``JUnit.xsd``, which GitLab, Azure DevOps and the GitHub test-report actions read) and of
Jenkins' ``junit-10.xsd``, encoded in ``assert_junit_schema`` (no XSD validator is a
dependency). The numbers in the reports are checked against scikit-learn and pandas.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, SAMPLES, cli, user_error
from sklearn.metrics import mean_absolute_error, mean_squared_error

REGRESSION = SAMPLES / "regression.csv"
WORSE = SAMPLES / "regression_worse.csv"
RETRAINED = SAMPLES / "regression_retrained.csv"


# ---- the schema's rules ----------------------------------------------------------------

# Attributes the schemas declare: a suite inside <testsuites> (JUnit.xsd adds package and
# id there, both required), a test case, a property.
SUITE_REQUIRED = {"name", "timestamp", "hostname", "tests", "failures", "errors", "time"}
SUITE_ALLOWED = SUITE_REQUIRED | {"skipped", "package", "id"}
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
# Jenkins' SUREFIRE_TIME, for the suite's time
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def _int(text: str) -> int:
    assert re.fullmatch(r"[+-]?[0-9]+", text), f"xs:int expected, got {text!r}"
    return int(text)


def _decimal(text: str) -> Decimal:
    assert re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text), f"xs:decimal, got {text!r}"
    return Decimal(text)


def _token(text: str | None) -> str:
    """An xs:token of minLength 1: non-empty once whitespace is collapsed."""
    assert text is not None and " ".join(text.split()), f"non-empty token expected: {text!r}"
    return text


def assert_junit_schema(text: str) -> ET.Element:
    """The rules of JUnit.xsd (and Jenkins' junit-10.xsd) on one report; returns the suite."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites" and not root.attrib  # JUnit.xsd declares none there
    suites = list(root)
    assert [s.tag for s in suites] == ["testsuite"], "one suite per command run"
    suite = suites[0]
    assert SUITE_REQUIRED | {"package", "id"} <= set(suite.attrib) <= SUITE_ALLOWED, suite.attrib
    _token(suite.get("name"))
    _token(suite.get("hostname"))
    _token(suite.get("package"))
    assert _int(suite.get("id")) == 0  # the first suite of <testsuites>
    assert TIMESTAMP.fullmatch(suite.get("timestamp")), suite.get("timestamp")
    datetime.strptime(suite.get("timestamp"), "%Y-%m-%dT%H:%M:%S")  # a real date and time
    assert _decimal(suite.get("time")) >= 0
    assert SUREFIRE_TIME.fullmatch(suite.get("time"))
    # the sequence: properties (once), testcase*, system-out, system-err
    tags = [child.tag for child in suite]
    assert tags[0] == "properties" and tags[-2:] == ["system-out", "system-err"], tags
    assert set(tags[1:-2]) <= {"testcase"}, tags
    for prop in suite.find("properties"):
        assert prop.tag == "property" and set(prop.attrib) == {"name", "value"}
        _token(prop.get("name"))
    for stream in ("system-out", "system-err"):
        assert not suite.find(stream).attrib and len(suite.find(stream)) == 0
    cases = suite.findall("testcase")
    for case in cases:
        assert set(case.attrib) == {"name", "classname", "time"}, case.attrib
        _token(case.get("name"))
        _token(case.get("classname"))
        assert _decimal(case.get("time")) >= 0
        outcome = list(case)
        assert len(outcome) <= 1 and all(
            o.tag in ("skipped", "error", "failure") for o in outcome
        ), [o.tag for o in outcome]
        for o in outcome:
            assert len(o) == 0  # text only
            if o.tag in ("error", "failure"):
                assert o.get("type"), "a failure's type is required"
                assert set(o.attrib) <= {"type", "message"}
    counts = {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }
    assert {k: _int(suite.get(k)) for k in counts} == counts
    return suite


# ---- helpers ---------------------------------------------------------------------------


def junit(capsys, *args: object, code: int) -> tuple[ET.Element, str]:
    """Run a command with ``--format junit``: (the suite, stderr); checks the exit code."""
    status, out, err = cli(capsys, *args, "--format", "junit")
    assert status == code, err
    assert "Traceback" not in err
    return assert_junit_schema(out), err


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.findall("testcase")}


def failure(case: ET.Element) -> str | None:
    found = case.find("failure")
    return None if found is None else found.get("message")


def failure_numbers(case: ET.Element) -> dict[str, float]:
    """The ``name: value`` lines of a failure's text."""
    lines = case.find("failure").text.strip().splitlines()
    return {k: float(v) for k, v in (line.split(": ") for line in lines)}


def regression_frame(path: Path = REGRESSION) -> pd.DataFrame:
    return pd.read_csv(path)


def unescape_data(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def error_commands(err: str) -> list[tuple[str, str]]:
    """(title, message) of each ``::error title=…::message`` line, unescaped."""
    out = []
    for line in err.splitlines():
        if line.startswith("::"):
            match = re.fullmatch(r"::error title=([^:]*)::(.*)", line)
            assert match, f"not a workflow command: {line!r}"
            out.append((unescape_property(match.group(1)), unescape_data(match.group(2))))
    return out


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "losscli.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_schema_rules_reject_what_the_schema_rejects(capsys):
    """The encoded rules are not vacuous: a real report passes them, and each breach of
    the schema made to it is caught."""
    code, good, err = cli(
        capsys, "eval", REGRESSION, "--loss", "mse", "--fail-above", "1", "--format", "junit"
    )
    assert code == 1, err
    assert_junit_schema(good)
    timestamp = re.search(r'timestamp="([^"]+)"', good).group(1)
    for bad in (
        good.replace('failures="1"', 'failures="0"'),  # counts disagree
        good.replace(' type="threshold"', ""),  # a failure without its type
        good.replace(timestamp, timestamp.replace("T", " ")),
        re.sub(r' hostname="[^"]*"', "", good),
        re.sub(r' time="[^"]*"', ' time="1e-3"', good, count=1),
        re.sub(r"<properties>.*</properties>", "", good, flags=re.S),
        good.replace("<system-out />\n    <system-err />", "<system-err />\n    <system-out />"),
        re.sub(r' classname="[^"]*"', "", good),
    ):
        assert bad != good
        with pytest.raises(AssertionError):
            assert_junit_schema(bad)


# ---- eval --------------------------------------------------------------------------------


def test_eval_junit_has_one_case_per_gate_with_the_value_the_limit_and_the_interval(capsys):
    df = regression_frame()
    mse = mean_squared_error(df.y_true, df.y_pred)
    mae = mean_absolute_error(df.y_true, df.y_pred)
    # mse's limit just below its value fails, mae's just above passes
    mse_limit, mae_limit = float(f"{mse * 0.999:.6g}"), float(f"{mae * 1.001:.6g}")
    suite, err = junit(
        capsys,
        "eval",
        REGRESSION,
        "--loss",
        "mse,mae",
        "--fail-above",
        f"mse={mse_limit!r}",
        "--fail-above",
        f"mae={mae_limit!r}",
        "--bootstrap",
        "50",
        code=1,
    )
    assert suite.get("name") == "losscli eval"
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    by_name = cases(suite)
    assert set(by_name) == {f"mse <= {mse_limit:g}", f"mae <= {mae_limit:g}"}
    assert {c.get("classname") for c in by_name.values()} == {str(REGRESSION)}
    failed = by_name[f"mse <= {mse_limit:g}"]
    message = failure(failed)
    assert failed.find("failure").get("type") == "threshold"
    value = float(re.match(r"mse = (\S+);", message).group(1))
    assert value == pytest.approx(mse, rel=1e-5)  # 6 significant digits
    numbers = failure_numbers(failed)
    assert numbers["value"] == pytest.approx(mse, rel=1e-12)  # the text: full precision
    assert numbers["limit"] == mse_limit
    assert numbers["ci_low"] < mse < numbers["ci_high"]
    assert f"limit <= {mse_limit:g}" in message
    low, high = map(float, re.search(r"95% interval \[(\S+), (\S+)\]", message).groups())
    assert low < mse < high
    assert failure(by_name[f"mae <= {mae_limit:g}"]) is None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["file"] == str(REGRESSION)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", props["losscli.version"])
    assert "check failed: mse above threshold" in err  # the verdict, on stderr


def test_eval_junit_gates_a_higher_is_better_metric_with_fail_below(capsys):
    from sklearn.metrics import d2_absolute_error_score

    df = regression_frame()
    d2 = d2_absolute_error_score(df.y_true, df.y_pred)
    suite, _ = junit(
        capsys, "eval", REGRESSION, "--loss", "d2_absolute_error", "--fail-below", "0.99", code=1
    )
    (case,) = suite.findall("testcase")
    assert case.get("name") == "d2_absolute_error >= 0.99"
    value = float(re.match(r"d2_absolute_error = (\S+);", failure(case)).group(1))
    assert value == pytest.approx(d2, rel=1e-5)


def test_eval_junit_passing_gates_exit_0_and_write_the_file_with_o(capsys, tmp_path):
    out = tmp_path / "report.xml"  # .xml names the format
    code, stdout, err = cli(
        capsys, "eval", REGRESSION, "--loss", "mse", "--fail-above", "100", "-o", out
    )
    assert code == 0, err
    assert stdout == ""
    suite = assert_junit_schema(out.read_text(encoding="utf-8"))
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


@pytest.mark.parametrize(
    "extra",
    [
        [],  # no gate: nothing to report
        ["--fail-above", "9", "--reduction", "none"],
        ["--fail-above", "9", "--top", "3"],
        ["--fail-above", "9", "--gradients"],
    ],
    ids=["no gate", "reduction none", "top", "gradients"],
)
def test_eval_junit_without_a_gate_or_with_rows_it_cannot_hold_is_refused(capsys, tmp_path, extra):
    out = tmp_path / "report.xml"
    line = user_error(
        capsys, "eval", REGRESSION, "--loss", "mse", *extra, "--format", "junit", "-o", out
    )
    assert "--format junit" in line
    assert not out.exists()


def test_junit_o_is_not_written_on_bad_input(capsys, tmp_path):
    out = tmp_path / "report.xml"
    missing = tmp_path / "missing.csv"
    line = user_error(
        capsys, "compare", REGRESSION, missing, "--loss", "mse", "--format", "junit", "-o", out
    )
    assert "missing.csv" in line  # the error is the input's, not the format's
    assert not out.exists()


# ---- compare -----------------------------------------------------------------------------


def test_compare_junit_has_one_case_per_loss_and_group(capsys):
    base, cand = regression_frame(REGRESSION), regression_frame(WORSE)
    args = ("compare", REGRESSION, WORSE, "--loss", "mse,mae", "--group", "segment")
    code, out, _ = cli(capsys, *args, "--bootstrap", "200", "--format", "json")
    doc = json.loads(out)
    suite, _ = junit(capsys, *args, "--bootstrap", "200", code=1)
    groups = sorted(base.segment.unique())
    assert int(suite.get("tests")) == 2 * (len(groups) + 1) == len(doc["results"])
    assert int(suite.get("failures")) == sum(r["regression"] for r in doc["results"])
    assert suite.get("name") == "losscli compare"
    by_name = cases(suite)
    for loss, metric in (("mse", mean_squared_error), ("mae", mean_absolute_error)):
        for group in [None, *groups]:
            b = base if group is None else base[base.segment == group]
            c = cand if group is None else cand[cand.segment == group]
            label = loss if group is None else f"{loss} [{group}]"
            case = by_name[f"{label} Δ <= 0 or not significant"]
            assert case.get("classname") == str(WORSE)
            result = next(r for r in doc["results"] if (r["loss"], r["group"]) == (loss, group))
            message = failure(case)
            assert (message is not None) == result["regression"]
            if message:
                assert case.find("failure").get("type") == "regression"
                before, after = map(
                    float, re.match(rf"{re.escape(label)}: (\S+) -> (\S+),", message).groups()
                )
                assert before == pytest.approx(metric(b.y_true, b.y_pred), rel=1e-5)
                assert after == pytest.approx(metric(c.y_true, c.y_pred), rel=1e-5)
                assert re.search(r"95% interval \[\S+, \S+\]", message)
                numbers = failure_numbers(case)
                assert numbers["baseline"] == pytest.approx(metric(b.y_true, b.y_pred), rel=1e-12)
                assert numbers["candidate"] == pytest.approx(metric(c.y_true, c.y_pred), rel=1e-12)
                assert numbers["difference"] == pytest.approx(
                    numbers["candidate"] - numbers["baseline"], rel=1e-9
                )
                assert (numbers["ci_low"], numbers["ci_high"]) == (
                    result["ci_low"],
                    result["ci_high"],
                )
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert (props["baseline"], props["candidate"]) == (str(REGRESSION), str(WORSE))


def test_compare_junit_passes_with_exit_0_within_noise(capsys):
    suite, _ = junit(capsys, "compare", REGRESSION, RETRAINED, "--loss", "mse", code=0)
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


# ---- check -------------------------------------------------------------------------------


def test_check_junit_has_one_case_per_row_and_skips_a_loss_without_a_threshold(capsys, tmp_path):
    df = regression_frame()
    mse = mean_squared_error(df.y_true, df.y_pred)
    groups = sorted(df.segment.unique())
    by_group = {g: mean_squared_error(d.y_true, d.y_pred) for g, d in df.groupby("segment")}
    limit = float(np.median(list(by_group.values())))  # some groups above it, some below
    config = write_config(
        tmp_path,
        f'[[check]]\nname = "accuracy: 100%, or near"\nfile = {json.dumps(str(REGRESSION))}\n'
        f'loss = "mse,mae"\ngroup = "segment"\nfail_above = {{ mse = {limit!r} }}\n\n'
        f'[[check]]\nname = "no worse"\nbaseline = {json.dumps(str(REGRESSION))}\n'
        f'candidate = {json.dumps(str(WORSE))}\nloss = "mse"\nbootstrap = 100\n',
    )
    suite, err = junit(capsys, "check", "--config", config, code=1)
    assert suite.get("name") == "losscli check"
    by_name = cases(suite)
    # mse and mae over all rows and each group, and compare's mse over all rows
    assert int(suite.get("tests")) == 2 * (len(groups) + 1) + 1
    assert int(suite.get("skipped")) == len(groups) + 1  # mae: no threshold names it
    assert all(
        by_name[f"mae{'' if g is None else f' [{g}]'}"].find("skipped") is not None
        for g in [None, *groups]
    )
    expected_failed = [g for g, v in by_group.items() if v > limit] + (
        [None] if mse > limit else []
    )
    failed = [n for n, c in by_name.items() if failure(c) is not None]
    assert len(failed) == len(expected_failed) + 1  # and the compare check's regression
    assert int(suite.get("failures")) == len(failed)
    for group in expected_failed:
        label = "mse" if group is None else f"mse [{group}]"
        case = by_name[f"{label} <= {limit:g}"]
        assert case.get("classname") == "accuracy: 100%, or near"
        value = float(re.match(rf"{re.escape(label)} = (\S+);", failure(case)).group(1))
        assert value == pytest.approx(mse if group is None else by_group[group], rel=1e-5)
        numbers = failure_numbers(case)
        assert numbers["value"] == pytest.approx(
            mse if group is None else by_group[group], rel=1e-12
        )
        assert numbers["limit"] == limit
    assert failure(by_name["mse Δ <= 0 or not significant"]).startswith("mse: ")


# ---- GitHub Actions annotations ----------------------------------------------------------


def test_failed_gates_are_annotated_under_github_actions_on_stderr(capsys, monkeypatch, tmp_path):
    df = regression_frame()
    by_group = {g: mean_squared_error(d.y_true, d.y_pred) for g, d in df.groupby("segment")}
    limit = float(np.median(list(by_group.values())))
    config = write_config(
        tmp_path,
        f'[[check]]\nname = "accuracy: 100%, or near"\nfile = {json.dumps(str(REGRESSION))}\n'
        f'loss = "mse"\ngroup = "segment"\nper_group = true\nfail_above = {{ mse = {limit!r} }}\n',
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 1
    doc = json.loads(out)  # stdout is the document alone
    failed = [r for r in doc["checks"][0]["results"] if not r["passed"]]
    annotations = error_commands(err)
    assert len(annotations) == len(failed) >= 1
    # the title's ':' and ',' and '%' were escaped as a property's are, and come back whole
    assert {title for title, _ in annotations} == {"losscli check: accuracy: 100%, or near"}
    assert re.search(r"title=losscli check%3A accuracy%3A 100%25%2C or near::", err)
    for (_, message), row in zip(annotations, failed):
        label = "mse" if row["group"] is None else f"mse [{row['group']}]"
        assert message == f"{label} = {row['value']:.6g}; limit <= {limit:g}"


def test_compare_annotations_escape_the_percent_of_the_message(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = cli(capsys, "compare", REGRESSION, WORSE, "--loss", "mse", "--format", "csv")
    assert code == 1
    assert out.startswith("loss,params,group")  # stdout is the CSV alone
    ((title, message),) = error_commands(err)
    assert title == f"losscli compare: {WORSE}"
    raw = next(line for line in err.splitlines() if line.startswith("::error"))
    assert "%25" in raw and re.search(r"\+\d+\.\d\d%,", message)  # "+9.88%" came back whole


@pytest.mark.parametrize("value", [None, "false"])
def test_no_annotations_outside_github_actions(capsys, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    code, _, err = cli(capsys, "eval", REGRESSION, "--loss", "mse", "--fail-above", "0.1")
    assert code == 1
    assert "::error" not in err
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # the same run under GitHub Actions
    code, _, err = cli(capsys, "eval", REGRESSION, "--loss", "mse", "--fail-above", "0.1")
    assert code == 1
    assert [title for title, _ in error_commands(err)] == [f"losscli eval: {REGRESSION}"]


def test_no_annotations_when_every_gate_passes(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, _, err = cli(capsys, "eval", REGRESSION, "--loss", "mse,mae", "--fail-above", "1")
    assert code == 1
    assert [title for title, _ in error_commands(err)] == [f"losscli eval: {REGRESSION}"]  # mse
    code, _, err = cli(capsys, "eval", REGRESSION, "--loss", "mse", "--fail-above", "100")
    assert code == 0
    assert "::" not in err


# ---- README's GitHub Actions workflow and GitLab CI job run as written -------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")
# The one line of the examples not run: the test runs this checkout's losscli instead.
INSTALL = "pip install losscli"


def readme_yaml() -> list[Any]:
    import yaml

    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", README, re.S)]


def github_workflow() -> dict[str, Any]:
    (workflow,) = [d for d in readme_yaml() if isinstance(d, dict) and "jobs" in d]
    return workflow


def gitlab_job() -> dict[str, Any]:
    jobs = [
        job
        for d in readme_yaml()
        if isinstance(d, dict) and "jobs" not in d
        for job in d.values()
        if isinstance(job, dict) and "script" in job
    ]
    (job,) = [j for j in jobs if "reports" in j.get("artifacts", {})]
    return job


def job_directory(tmp_path: Path) -> Path:
    """A checkout as a CI job sees it: the samples and losscli.toml."""
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    shutil.copy(ROOT / "losscli.toml", tmp_path / "losscli.toml")
    return tmp_path


def run_line(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def written(lines: list[str]) -> set[str]:
    """The files the lines' ``-o`` writes."""
    return {m for line in lines for m in re.findall(r"-o (\S+)", line)}


def test_readme_github_actions_workflow_runs_and_its_report_finds_the_junit_files(tmp_path):
    workflow = github_workflow()
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    lines = [
        line
        for step in steps
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip() and line.strip() != INSTALL
    ]
    assert any(line.startswith("losscli check --format junit") for line in lines)
    assert any(line.startswith("losscli compare ") for line in lines)
    cwd = job_directory(tmp_path)
    for line in lines:
        proc = run_line(line, cwd, {"GITHUB_ACTIONS": "true"})
        assert proc.returncode == 0, (line, proc.stderr)
        assert "::error" not in proc.stderr  # every gate passes on the samples
    (report,) = [s for s in steps if s.get("uses", "").startswith("mikepenz/action-junit-report")]
    assert report["if"] == "always()"  # the report shows a failed gate too
    found = {p.name for p in cwd.glob(report["with"]["report_paths"])}
    assert found == written(lines) and len(found) == 2
    for name in found:
        suite = assert_junit_schema((cwd / name).read_text(encoding="utf-8"))
        assert int(suite.get("tests")) >= 1 and suite.get("failures") == "0"


def test_readme_gitlab_job_runs_and_keeps_its_junit_reports(tmp_path):
    job = gitlab_job()
    lines = [line for line in job["script"] if line != INSTALL]
    assert any(line.startswith("losscli check --format junit") for line in lines)
    cwd = job_directory(tmp_path)
    for line in lines:
        proc = run_line(line, cwd, {"GITLAB_CI": "true"})
        assert proc.returncode == 0, (line, proc.stderr)
    assert job["artifacts"]["when"] == "always"  # kept when a gate fails
    reports = job["artifacts"]["reports"]["junit"]
    assert set(reports) == written(lines)
    for name in reports:
        assert_junit_schema((cwd / name).read_text(encoding="utf-8"))


def test_readme_workflow_commands_exit_1_and_report_the_failure_when_a_gate_fails(tmp_path):
    """The same commands on a worse candidate (the README's own regression_worse sample):
    the step fails with exit 1, the report still holds the failure, and GitHub sees an
    annotation."""
    (job,) = github_workflow()["jobs"].values()
    (line,) = [
        line
        for s in job["steps"]
        if "run" in s
        for line in s["run"].splitlines()
        if line.startswith("losscli compare ")
    ]
    cwd = job_directory(tmp_path)
    worse = line.replace("regression_retrained.csv", "regression_worse.csv")
    assert worse != line
    proc = run_line(worse, cwd, {"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1, proc.stderr
    assert error_commands(proc.stderr)
    (name,) = written([line])
    suite = assert_junit_schema((cwd / name).read_text(encoding="utf-8"))
    assert int(suite.get("failures")) >= 1


def test_check_and_compare_take_the_format_from_the_output_name(capsys, tmp_path, monkeypatch):
    """check -o report.xml writes JUnit (GitLab's usual name), compare -o cmp.json JSON, as
    eval -o does; --format still wins."""
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    shutil.copy(ROOT / "losscli.toml", tmp_path / "losscli.toml")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "check", "-o", "report.xml", "-q")
    assert code == 0, err
    assert ET.parse("report.xml").getroot().tag == "testsuites"
    code, _, err = cli(capsys, "check", "-o", "check.json", "-q")
    assert json.loads(Path("check.json").read_text())["schema"] == "losscli.check/1"
    code, _, err = cli(capsys, "check", "-f", "json", "-o", "forced.xml", "-q")
    assert json.loads(Path("forced.xml").read_text())["schema"] == "losscli.check/1"
    base, cand = SAMPLES / "regression.csv", SAMPLES / "regression_retrained.csv"
    code, _, err = cli(capsys, "compare", base, cand, "-l", "mse", "-o", "cmp.json", "-q")
    assert json.loads(Path("cmp.json").read_text())["schema"] == "losscli.compare/1"
    code, _, err = cli(capsys, "compare", base, cand, "-l", "mse", "-o", "cmp.xml", "-q")
    assert ET.parse("cmp.xml").getroot().find("testsuite").get("name") == "losscli compare"
