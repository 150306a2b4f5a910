"""The JSON schemas documented in README are the keys the commands really print."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from losscli.cli.commands import run

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLES = ROOT / "sample_data"


def documented(schema: str) -> dict[str, tuple[set[str], set[str]]]:
    """object → (always-present keys, optional keys) from the README table of ``schema``."""
    # the heading of the schema's tables: "`losscli eval` — `losscli.eval/1`"
    block = README.split(f"— `{schema}`", 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    out = {}
    for line in ("|" + block).splitlines()[2:]:
        obj, keys = (cell.strip() for cell in line.strip("|").split("|"))
        names = re.findall(r"`([a-z0-9_]+)(\??)`", keys)
        always = {n for n, q in names if not q}
        optional = {n for n, q in names if q}
        for name in obj.split(", "):
            out[name] = (always, optional)
    return out


def run_json(capsys, *args) -> dict:
    run([str(a) for a in args] + ["--format", "json"])
    out, err = capsys.readouterr()
    return json.loads(out)


def assert_keys(obj: dict, spec: tuple[set[str], set[str]], where: str, full: bool) -> None:
    always, optional = spec
    keys = set(obj)
    assert always <= keys, (where, always - keys)
    assert keys <= always | optional, (where, keys - always - optional)
    if full:
        assert keys == always | optional, (where, (always | optional) - keys)


def with_two_groups(sample: Path, tmp_path: Path) -> Path:
    """A copy of ``sample`` with group columns g1 (a, b) and g2 (1, 2, 3), for the keys
    of several group columns."""
    lines = sample.read_text().splitlines()
    rows = [f"{line},{'ab'[i % 2]},{i % 3 + 1}" for i, line in enumerate(lines[1:])]
    out = tmp_path / sample.name
    out.write_text("\n".join([lines[0] + ",g1,g2", *rows]) + "\n")
    return out


def test_eval_schema(capsys, tmp_path):
    spec = documented("losscli.eval/1")
    plain = run_json(capsys, "eval", SAMPLES / "regression.csv", "--loss", "mse")
    full = run_json(
        capsys,
        "eval",
        with_two_groups(SAMPLES / "multiclass.csv", tmp_path),
        "--group",
        "g1,g2",
        "--loss",
        "cross_entropy",
        "--gradients",
        "--fail-above",
        "9",
        "--per-class",
        "--bootstrap",
        "20",
        "--top",
        "2",
    )
    for doc, complete in ((plain, False), (full, True)):
        assert doc["schema"] == "losscli.eval/1"
        assert_keys(doc, spec["document"], "document", complete)
        assert_keys(doc["input"], spec["input"], "input", True)
        assert_keys(doc["results"][0], spec["results[]"], "results[]", complete)
    assert_keys(full["results"][0]["gradient"], spec["results[].gradient"], "gradient", True)
    assert_keys(full["checks"][0], spec["checks[]"], "checks[]", False)
    assert_keys(full["per_class"][0], spec["per_class[]"], "per_class[]", True)
    assert_keys(full["bootstrap"], spec["bootstrap"], "bootstrap", True)
    assert_keys(full["top_rows"][0], spec["top_rows[]"], "top_rows[]", True)
    assert_keys(
        full["top_rows"][0]["rows"][0], spec["top_rows[].rows[]"], "top_rows[].rows[]", True
    )
    class_row = full["results"][1]
    assert class_row["class"] == "cat"
    assert_keys(class_row, spec["results[]"], "results[] (a class row)", False)
    gated = run_json(
        capsys,
        "eval",
        SAMPLES / "regression.csv",
        "--loss",
        "mse,d2_tweedie(power=0)",
        "--fail-above",
        "9",
        "--fail-below",
        "0.1",
    )
    always, optional = spec["checks[]"]
    assert optional == {"fail_above", "fail_below"}
    for check, threshold in zip(gated["checks"], ("fail_above", "fail_below"), strict=True):
        assert set(check) == always | {threshold}


def test_compare_schema(capsys, tmp_path):
    spec = documented("losscli.compare/1")
    (tmp_path / "base").mkdir()
    doc = run_json(
        capsys,
        "compare",
        with_two_groups(SAMPLES / "regression.csv", tmp_path / "base"),
        with_two_groups(SAMPLES / "regression_worse.csv", tmp_path),
        "--group",
        "g1,g2",
        "--loss",
        "mse",
        "--bootstrap",
        "50",
    )
    assert doc["schema"] == "losscli.compare/1"
    assert_keys(doc, spec["document"], "document", True)
    for part in ("baseline", "candidate", "bootstrap", "rule"):
        assert_keys(doc[part], spec[part], part, True)
    assert_keys(doc["results"][0], spec["results[]"], "results[]", True)
    assert_keys(doc["regressions"][0], spec["regressions[]"], "regressions[]", True)


@pytest.mark.parametrize("evaluate", [False, True])
def test_recommend_schema(capsys, evaluate):
    spec = documented("losscli.recommend/1")
    args = ["recommend", SAMPLES / "imbalanced.csv"] + (["--evaluate"] if evaluate else [])
    doc = run_json(capsys, *args)
    assert doc["schema"] == "losscli.recommend/1"
    assert_keys(doc, spec["document"], "document", True)
    assert_keys(doc["input"], spec["input"], "input", True)
    for rec in doc["recommendations"]:
        assert_keys(rec, spec["recommendations[]"], "recommendations[]", False)
        assert ("value" in rec) == evaluate
    task_doc = run_json(capsys, "recommend", "--task", "binary")
    assert_keys(task_doc, spec["document"], "document", True)
    assert task_doc["input"] is None and task_doc["evidence"] is None


def test_check_schema(capsys, monkeypatch):
    spec = documented("losscli.check/1")
    monkeypatch.chdir(ROOT)
    doc = run_json(capsys, "check")
    assert doc["schema"] == "losscli.check/1"
    assert_keys(doc, spec["document"], "document", True)
    for check in doc["checks"]:
        assert_keys(check, spec["checks[]"], "checks[]", True)
        for row in check["results"]:
            assert_keys(row, spec["checks[].results[]"], "checks[].results[]", True)
