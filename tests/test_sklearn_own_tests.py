"""scikit-learn 1.9.1's own metric tests (regression, log_loss, brier_score_loss, d2_log_loss_score,
d2_brier_score), replayed through the CLI with ``--convention sklearn``.

The cases are data in ``fixtures/sklearn_own_tests.json``, taken from the test files the
scikit-learn 1.9.1 wheel ships (``sklearn/metrics/tests/``), the version the test environment
installs and the sklearn convention reproduces: the inputs as the rows a user would export (one
row per sample, one column per output or class), the loss and its parameters, the expected
value and the tolerance the scikit-learn test used, and the test it came from (file, test, line).
Each in-scope case is written to a CSV and evaluated by
``losscli eval FILE --loss … --convention sklearn --format json``; the same inputs also go
through the installed scikit-learn function, so the fixture's number, scikit-learn 1.9.1 and
losscli agree three ways. Cases a CSV cannot express carry ``out_of_scope`` with the reason;
gaps are strict xfails (``GAPS``). ``docs/own-tests-sklearn.md`` lists them all.
"""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import cli

FIXTURES = Path(__file__).parent / "fixtures" / "sklearn_own_tests.json"
DOC = json.loads(FIXTURES.read_text())
CASES = [c for c in DOC["cases"] if "out_of_scope" not in c]
OUT_OF_SCOPE = [c for c in DOC["cases"] if "out_of_scope" in c]
PAGE = Path(__file__).parents[1] / "docs" / "own-tests-sklearn.md"

# case id -> why losscli does not reproduce scikit-learn there (yet). Closed in this round:
# brier-labels-1-2, brier-labels-minus1-1, brier-single-minus1 (the sklearn record's
# pos_label="greater": sklearn's positive class of a numeric target without --pos-label) and
# log_loss-not-probabilities (the cross_entropy record's rows_as_given option), rmsle-4-outputs
# (the new rmsle loss, root_mean_squared_log_error, per output column under the convention),
# brier-two-prob-columns, brier-multiclass*, brier-single-label-with-labels (the brier record's
# brier_classes option: one label column with K probability columns, Σ over the classes).
GAPS: dict[str, str] = {}
CONV = ["--convention", "sklearn"]


def spec(case: dict) -> str:
    """The --loss spec: NAME or NAME(k=v, …)."""
    params = case["params"]
    if not params:
        return case["loss"]
    inner = ",".join(f"{k}={v!r}" for k, v in params.items())
    return f"{case['loss']}({inner})"


def write_csv(path: Path, columns: dict[str, list]) -> None:
    names = list(columns)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows(zip(*(columns[n] for n in names)))


def params(cases: list[dict]) -> list:
    out = []
    for case in cases:
        marks = []
        if case["id"] in GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=f"gap: {GAPS[case['id']]}"))
        out.append(pytest.param(case, id=f"{case['source']['test']}-{case['id']}", marks=marks))
    return out


def assert_checked(case: dict, value: float) -> None:
    """``value`` passes the case's check, at the scikit-learn test's tolerance."""
    assert isinstance(value, float) and math.isfinite(value), value
    check, expected = case["check"], case.get("expected")
    if check == "greater":
        assert value > expected
    elif check == "less":
        assert value < expected
    elif check == "between":
        assert expected[0] < value < expected[1]
    elif check == "value":
        tol = case["tolerance"]
        assert value == pytest.approx(expected, rel=tol["rtol"], abs=tol["atol"])
    else:
        assert check == "finite", check


@pytest.mark.parametrize("case", params(CASES))
def test_sklearn_case_through_cli(case, tmp_path, capsys):
    path = tmp_path / "preds.csv"
    write_csv(path, case["columns"])
    args = ["eval", path, "--loss", spec(case), *CONV, "--format", "json"]
    args += ["-t", ",".join(case["targets"]), "-p", ",".join(case["preds"]), *case["flags"]]
    args += ["--reduction", case["reduction"]]
    code, out, err = cli(capsys, *args)
    if case["check"] == "error":
        # scikit-learn raises ValueError: losscli refuses the file (exit 2), no value.
        assert code == 2, f"expected a refusal, got exit {code}\n{out}"
        assert "error:" in err
        return
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert_checked(case, result["value"])


def _sklearn_arrays(case: dict) -> dict:
    """The case's columns as scikit-learn's arguments: y_true, y_pred/y_proba, sample_weight."""
    cols = case["columns"]

    def stacked(names: list[str]) -> np.ndarray:
        if len(names) == 1:
            return np.asarray(cols[names[0]])
        return np.column_stack([np.asarray(cols[n]) for n in names])

    out = {"y_true": stacked(case["targets"]), "y_pred": stacked(case["preds"])}
    flags = case["flags"]
    if "--weight" in flags:
        out["sample_weight"] = np.asarray(cols[flags[flags.index("--weight") + 1]])
    return out


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_installed_sklearn_gives_the_fixture_number(case):
    """The fixture's number is scikit-learn 1.9.1's: the installed function on the same inputs."""
    sklearn = pytest.importorskip("sklearn")
    assert sklearn.__version__ == DOC["version"]
    import sklearn.metrics

    call = case["sklearn"]
    function = getattr(sklearn.metrics, call["function"])
    arrays = _sklearn_arrays(case)
    y_true, y_pred = arrays.pop("y_true"), arrays.pop("y_pred")
    kwargs = {**call["kwargs"], **arrays}
    if case["check"] == "error":
        with pytest.raises(ValueError):
            function(y_true, y_pred, **kwargs)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(function(y_true, y_pred, **kwargs))
    assert_checked(case, value)


def test_every_case_is_sourced_and_out_of_scope_cases_give_a_reason():
    assert len(CASES) + len(OUT_OF_SCOPE) == len(DOC["cases"])
    ids = [c["id"] for c in DOC["cases"]]
    assert len(ids) == len(set(ids))
    for case in DOC["cases"]:
        source = case["source"]
        assert source["file"].startswith("sklearn/metrics/tests/")
        assert source["version"] == DOC["version"] == "1.9.1"
        assert source["test"].startswith("test_") and source["line"] > 0
        assert source["url"] == (
            f"https://github.com/scikit-learn/scikit-learn/blob/1.9.1/{source['file']}"
            f"#L{source['line']}"
        )
    for case in OUT_OF_SCOPE:
        assert case["out_of_scope"].strip()
    for case in CASES:
        assert case["sklearn"]["function"]
    assert set(GAPS) <= {c["id"] for c in CASES}


def test_the_source_lines_are_in_the_installed_test_files():
    """Each case's line lies inside its test function in the test files sklearn 1.9.1 ships."""
    sklearn = pytest.importorskip("sklearn")
    root = Path(sklearn.__file__).parent
    for case in DOC["cases"]:
        source = case["source"]
        lines = (root / source["file"].removeprefix("sklearn/")).read_text().splitlines()
        starts = [
            i + 1 for i, line in enumerate(lines) if re.match(rf"def {source['test']}\(", line)
        ]
        assert starts, source["test"]
        defs = [i + 1 for i, line in enumerate(lines) if line.startswith("def ")]
        before = max((d for d in defs if d < starts[0]), default=0)
        end = min((d for d in defs if d > starts[0]), default=len(lines) + 1)
        # after the previous function (a parametrised test's cases precede its def)
        assert before < source["line"] < end, (case["id"], source["line"])


def test_the_docs_page_quotes_the_counts_and_lists_every_case():
    page = PAGE.read_text()
    agreeing = len(CASES) - len(GAPS)
    counts = (
        f"In scope: {len(CASES)} cases; agreeing: {agreeing}; xfail gaps: {len(GAPS)}; "
        f"out of scope: {len(OUT_OF_SCOPE)} entries."
    )
    assert counts in page
    for case in DOC["cases"]:
        assert f"| {case['id']} |" in page, case["id"]
    for gap in GAPS:
        assert f"| {gap} |" in page.split("## Gaps")[1].split("## ")[0]
    for item in DOC["dropped"]:
        assert item["id"] in page
