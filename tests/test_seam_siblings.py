"""Siblings of the seam bugs: the same class of fault found in another command.

- ``compare --from-logits`` on probabilities warns as ``eval`` does, and ``compare`` says
  its notes (``--convention``) once, not once per file.
- ``compare`` on values that overflowed float64 never passes the candidate silently.
- JSON Lines writes a non-finite value as the summary documents do (``"Infinity"``).
- ``eval --fail-above`` says its verdict once on a terminal.
"""

from __future__ import annotations

import json

import pytest
from helpers import cli
from test_compare_significance import on_terminal

PROBABILITIES = "y,pred\n0,0.2\n1,0.9\n0,0.3\n1,0.6\n"


def test_compare_warns_when_probabilities_are_read_as_logits(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text(PROBABILITIES)
    code, _, err = cli(capsys, "compare", path, path, "-l", "bce", "--from-logits", "--quiet")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "drop --from-logits" in warnings[0], err


def test_compare_says_its_convention_note_once(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text(PROBABILITIES)
    code, _, err = cli(capsys, "compare", path, path, "-l", "bce", "--convention", "sklearn")
    assert code == 0, err
    assert err.count("note: --convention sklearn: bce as sklearn.metrics.log_loss") == 1, err


@pytest.fixture
def overflow(tmp_path):
    finite = tmp_path / "finite.csv"
    finite.write_text("y,y_pred\n1,1\n2,3\n")
    huge = tmp_path / "huge.csv"
    huge.write_text("y,y_pred\n1,1e300\n2,3\n")  # (1e300 - 1)^2 overflows to inf
    return finite, huge


@pytest.mark.parametrize(
    ("files", "passed", "reason"),
    [
        ((0, 1), False, "the candidate's value is inf: not a finite number"),
        ((1, 1), False, "not comparable: the values are inf and inf"),
        ((1, 0), True, "better: the baseline's value is inf"),
    ],
)
def test_compare_of_non_finite_values(overflow, capsys, files, passed, reason):
    base, cand = (overflow[i] for i in files)
    code, out, err = cli(capsys, "compare", base, cand, "-l", "mse", "--format", "json")
    doc = json.loads(out)
    (result,) = doc["results"]
    assert doc["passed"] is passed and code == (0 if passed else 1), err
    assert result["reason"].startswith(reason), result["reason"]


def test_json_lines_spell_non_finite_values_as_the_summary_does(overflow, capsys):
    _, huge = overflow
    code, out, err = cli(
        capsys, "eval", huge, "-l", "mse", "--reduction", "none", "--format", "json"
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows == [{"row": 0, "mse": "Infinity"}, {"row": 1, "mse": 1.0}]
    code, out, _ = cli(capsys, "eval", huge, "-l", "mse", "--format", "json")
    assert json.loads(out)["results"][0]["value"] == "Infinity"


def test_eval_says_a_failed_threshold_once(overflow, tmp_path):
    finite, _ = overflow
    code, text = on_terminal(["eval", finite, "-l", "mse", "--fail-above", "mse=0.1"])
    assert code == 1
    assert text.count("FAILED") + text.count("check failed") == 1, text


def test_eval_json_with_a_failed_threshold_says_it_on_stderr(overflow, capsys):
    finite, _ = overflow
    code, out, err = cli(
        capsys, "eval", finite, "-l", "mse", "--fail-above", "mse=0.1", "--format", "json"
    )
    assert code == 1 and json.loads(out)["passed"] is False
    assert err.strip() == "check failed: mse above threshold"
