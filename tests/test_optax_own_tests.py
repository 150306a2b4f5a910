"""optax's own loss tests replayed through the CLI under ``--convention optax``.

The numbers live in ``tests/fixtures/optax_own_tests.json`` (carried over from
google-deepmind/optax ``optax/losses/*_test.py``, the commit named there). Each case
is written as the CSV a user would export, one row per sample, and run through
``losscli eval FILE --loss … --convention optax --format json`` (``grad`` where the optax
test checks a gradient). Cases the optax test
makes about array arguments (masks, axes, shapes, its own autodiff) are listed in the
fixture with ``out_of_scope`` and a reason; gaps are ``xfail(strict=True)`` below.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from helpers import cli

FIXTURE = Path(__file__).parent / "fixtures" / "optax_own_tests.json"
DOC = json.loads(FIXTURE.read_text(encoding="utf-8"))
CASES = [c for c in DOC["cases"] if "out_of_scope" not in c]
OUT_OF_SCOPE = [c for c in DOC["cases"] if "out_of_scope" in c]

# case id -> why losscli does not reproduce it yet (each a strict xfail).
GAPS: dict[str, str] = {}


def _param(case):
    marks = []
    if case["id"] in GAPS:
        marks.append(pytest.mark.xfail(strict=True, reason=f"gap: {GAPS[case['id']]}"))
    return pytest.param(case, id=case["id"], marks=marks)


def _number(v) -> float:
    return float(v) if not isinstance(v, str) else float(v.replace("inf", "Infinity"))


def _write_csv(path: Path, rows: dict[str, list]) -> None:
    names = list(rows)
    n = len(rows[names[0]])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for i in range(n):
            w.writerow([repr(_number(rows[c][i])) for c in names])


def _run(capsys, tmp_path: Path, case) -> list[float]:
    path = tmp_path / f"{case['id']}.csv"
    _write_csv(path, case["rows"])
    spec = case["loss"]
    if case["params"]:
        inline = ",".join(
            f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in case["params"].items()
        )
        spec = f"{spec}({inline})"
    command = case.get("command", "eval")
    args = [command, path, "--loss", spec, "--convention", "optax", "--format", "json"]
    if case["target"]:
        args += ["-t", ",".join(case["target"])]
    for group in case.get("pred_groups") or [",".join(case["pred"])]:
        args += ["-p", group]
    if "from_logits" in case:
        args.append("--from-logits" if case["from_logits"] else "--no-from-logits")
    args += ["--reduction", case["reduction"]]
    code, out, err = cli(capsys, *args)
    assert code == 0, [line for line in err.splitlines() if line.startswith("error")]
    if command == "grad":  # each row's gradient, the columns in order, row after row
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [_number(v) for r in rows for k, v in r.items() if k != "row"]
    if case["reduction"] == "none":
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [_number(next(v for k, v in r.items() if k != "row")) for r in rows]
    return [_number(json.loads(out)["results"][0]["value"])]


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_optax_case(capsys, tmp_path, case):
    got = _run(capsys, tmp_path, case)
    if "bound" in case:  # the optax test asserts a bound on the loss, not a value
        (value,) = got
        assert value < case["bound"].get("below", math.inf), got
        assert value > case["bound"].get("above", -math.inf), got
        return
    want = case["expected"] if isinstance(case["expected"], list) else [case["expected"]]
    want = [_number(v) for v in want]
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        if math.isinf(w):
            assert g == w, (got, want)
        else:
            # numpy.testing.assert_allclose's rule, as the optax test used it
            assert abs(g - w) <= case["atol"] + case["rtol"] * abs(w), (got, want)


def test_out_of_scope_cases_name_a_reason():
    for case in OUT_OF_SCOPE:
        assert case["out_of_scope"].strip(), case["id"]
        assert case["source"]["test"], case["id"]


def test_every_gap_names_a_case_in_scope():
    assert set(GAPS) <= {c["id"] for c in CASES}


def test_counts_quoted_in_the_fixture_are_current():
    counts = DOC["counts"]
    assert counts["in_scope"] == len(CASES)
    assert counts["xfail_gaps"] == len(GAPS)
    assert counts["agreeing"] == len(CASES) - len(GAPS)
    assert counts["out_of_scope"] == len(OUT_OF_SCOPE)


def test_the_docs_page_quotes_the_counts_and_lists_every_case():
    doc = (Path(__file__).parents[1] / "docs" / "own-tests-optax.md").read_text(encoding="utf-8")
    counts = DOC["counts"]
    assert (
        f"In scope: {counts['in_scope']} cases; agreeing: {counts['agreeing']}; "
        f"xfail gaps: {counts['xfail_gaps']}; out of scope: {counts['out_of_scope']} entries."
    ) in doc
    cases, gaps, skipped = (
        doc.split("## Cases")[1].split("## Gaps left")[0],
        doc.split("## Gaps left, and why")[1].split("## Not reproduced")[0],
        doc.split("## Not reproduced, and why")[1],
    )
    for case in CASES:
        result = "gap (xfail)" if case["id"] in GAPS else "agrees"
        row = next(line for line in cases.splitlines() if line.startswith(f"| {case['id']} |"))
        assert row.endswith(f"| {result} |"), row
    for case_id in GAPS:
        assert f"| {case_id} |" in gaps, case_id
    for case in OUT_OF_SCOPE:
        assert f"| {case['id']} | {case['source']['test']} |" in skipped, case["id"]
    listed = [line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")]
    known = {c["id"] for c in DOC["cases"]}
    assert {x for x in listed if x not in ("case", "---")} <= known
