"""Skill scores and calibration metrics on the command line: selection, --fail-below,
direction rules, groups, every output format, ``losses``/``explain``, ``compare``
and ``check`` (README "Skill scores and calibration")."""

from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

import helpers
import numpy as np
import pandas as pd
import pytest
from helpers import SAMPLES, cli
from sklearn import metrics

import losscli

eval_json = partial(helpers.eval_json, quiet=True, codes=(0, 1))

REGRESSION = SAMPLES / "regression.csv"
WORSE = SAMPLES / "regression_worse.csv"
BINARY = SAMPLES / "binary.csv"
MULTICLASS = SAMPLES / "multiclass.csv"


# ---- values on files -------------------------------------------------------------------


def test_per_group_d2_is_each_groups_own_score(capsys):
    frame = pd.read_csv(REGRESSION)
    doc = eval_json(
        capsys, REGRESSION, "--loss", "d2_tweedie,d2_absolute_error", "--power", "0",
        "--group", "segment", "--weight", "weight",
    )  # fmt: skip
    by = {(r["loss"], r["group"]): r["value"] for r in doc["results"]}
    for group, rows in [(None, frame), *frame.groupby("segment")]:
        y, p, w = rows["y_true"], rows["y_pred"], rows["weight"]
        assert by["d2_tweedie", group] == pytest.approx(
            metrics.r2_score(y, p, sample_weight=w), rel=1e-9
        )
        assert by["d2_absolute_error", group] == pytest.approx(
            metrics.d2_absolute_error_score(y, p, sample_weight=w), rel=1e-9
        )


def test_string_labels_map_to_class_columns(capsys):
    frame = pd.read_csv(MULTICLASS)
    classes = ["cat", "dog", "bird"]
    doc = eval_json(capsys, MULTICLASS, "--loss", "d2_log_loss,d2_brier")
    probs = frame[[f"prob_{c}" for c in classes]].to_numpy()
    labels = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    values = {r["loss"]: r["value"] for r in doc["results"]}
    assert values["d2_log_loss"] == pytest.approx(
        metrics.d2_log_loss_score(labels, probs, labels=[0, 1, 2]), rel=1e-9
    )
    assert values["d2_brier"] == pytest.approx(
        metrics.d2_brier_score(labels, probs, labels=[0, 1, 2]), rel=1e-9
    )


def test_brier_decomposition_selects_four_rows_with_its_parameters(capsys):
    doc = eval_json(capsys, BINARY, "--loss", "brier_decomposition(bins=10,binning=mass)")
    assert [r["loss"] for r in doc["results"]] == [
        "brier",
        "brier_reliability(bins=10,binning=mass)",
        "brier_resolution(bins=10,binning=mass)",
        "brier_uncertainty",
    ]
    assert doc["results"][1]["params"] == {"bins": 10, "binning": "mass"}
    assert doc["results"][2]["params"] == {"bins": 10, "binning": "mass", "generalized": True}
    v = [r["value"] for r in doc["results"]]
    assert v[1] - v[2] + v[3] == pytest.approx(v[0], rel=1e-13)


@pytest.mark.parametrize("flag", [["--bins", "5"], ["--param", "bins=5"]])
def test_the_bins_flag_applies_to_every_binned_metric(capsys, flag):
    doc = eval_json(capsys, BINARY, "--loss", "ece,brier_uncertainty", *flag)
    assert doc["results"][0]["params"]["bins"] == 5
    assert doc["results"][1]["params"] == {}
    frame = pd.read_csv(BINARY)
    assert doc["results"][0]["value"] == pytest.approx(
        losscli.evaluate(frame["y_true"], frame["y_pred"], "ece", bins=5), rel=1e-12
    )


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_every_format_shows_metrics_and_below_checks(capsys, fmt):
    code, out, err = cli(
        capsys, "eval", BINARY, "--loss", "bce,d2_log_loss,ece(binning=mass)",
        "--fail-below", "d2_log_loss=0.99", "--fail-above", "0.5", "--format", fmt,
    )  # fmt: skip
    assert code == 1
    # the verdict once: in the table or Markdown on stdout, else on stderr
    said = "" if fmt in ("table", "markdown") else "check failed: d2_log_loss below threshold"
    assert err.strip() == said
    if fmt == "json":
        doc = json.loads(out)
        assert doc["checks"] == [
            {"loss": "bce", "fail_above": 0.5, "value": doc["results"][0]["value"], "passed": True},
            {
                "loss": "ece(binning=mass)",
                "fail_above": 0.5,
                "value": doc["results"][2]["value"],
                "passed": True,
            },
            {
                "loss": "d2_log_loss",
                "fail_below": 0.99,
                "value": doc["results"][1]["value"],
                "passed": False,
            },
        ]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["loss"] for r in rows] == ["bce", "d2_log_loss", "ece(binning=mass)"]
        assert json.loads(rows[2]["params"]) == {"bins": 15, "binning": "mass"}
    elif fmt == "markdown":
        assert "| d2_log_loss | ≥ 0.99 |" in out and "❌ failed" in out
    else:
        assert "check d2_log_loss >= 0.99: FAILED" in out
        assert "check bce <= 0.5: passed" in out


def test_fail_below_passes_when_the_score_is_high_enough(capsys):
    code, out, _ = cli(capsys, "eval", BINARY, "--loss", "d2_brier", "--fail-below", "0.1")
    assert code == 0
    assert "check d2_brier >= 0.1: passed" in out


# ---- direction rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loss", "d2_brier", "--fail-above", "d2_brier=0.3"], "d2_brier is higher-is-better"),
        (["--loss", "brier", "--fail-below", "brier=0.3"], "brier is lower-is-better"),
        (["--loss", "brier_resolution", "--fail-above", "resolution=0.1"], "higher-is-better"),
        (["--loss", "ece", "--fail-below", "0.1"], "no selected loss is higher-is-better"),
        (["--loss", "d2_brier", "--fail-above", "0.1"], "no selected loss is lower-is-better"),
        (["--loss", "brier_uncertainty", "--fail-below", "uncertainty=0.1"], "no threshold"),
        (["--loss", "0.5*d2_brier+bce"], "d2_brier is a metric, not a loss"),
        (["--loss", "bce+brier_decomposition"], "stands for several metrics"),
        (["--loss", "brier_decomposition(gamma=2)"], "invalid gamma"),
        (["--loss", "d2_brier", "--reduction", "sum"], "d2_brier has no reduction 'sum'"),
        (["--loss", "ece", "--reduction", "none"], "ece has no reduction 'none'"),
        (["--loss", "d2_brier", "--fail-below", "d2_brier=x"], "expected [LOSS=]VALUE"),
    ],
)
def test_direction_and_selection_errors_exit_2(capsys, args, message):
    code, out, err = cli(capsys, "eval", BINARY, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_wrong_direction_hint_names_the_right_flag(capsys):
    _, _, err = cli(capsys, "eval", BINARY, "--loss", "d2_brier", "--fail-above", "d2_brier=0.3")
    assert err.splitlines()[1] == "hint: gate it with --fail-below d2_brier=0.3"


def test_unnamed_thresholds_apply_by_direction(capsys):
    doc = eval_json(
        capsys, BINARY, "--loss", "bce,d2_brier,brier_uncertainty",
        "--fail-above", "9", "--fail-below", "-9",
    )  # fmt: skip
    assert [
        (c["loss"], next(iter(set(c) - {"loss", "value", "passed"}))) for c in doc["checks"]
    ] == [
        ("bce", "fail_above"),
        ("d2_brier", "fail_below"),
    ]
    assert doc["passed"] is True


def test_explain_of_the_bundle_lists_its_metrics(capsys):
    code, _, err = cli(capsys, "explain", "brier_decomposition")
    assert code == 2
    assert "brier, brier_reliability, brier_resolution, brier_uncertainty" in err


def test_grad_of_a_skill_score_is_minus_the_loss_gradient_over_the_null_deviance(capsys):
    frame = pd.read_csv(REGRESSION)
    y, p = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
    code, out, _ = cli(capsys, "grad", REGRESSION, "--loss", "d2_tweedie", "--power", "0", "-q")
    assert code == 0
    got = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1)[:, 1]
    null = np.mean((y - y.mean()) ** 2)
    np.testing.assert_allclose(got, -2 * (p - y) / len(y) / null, rtol=1e-12)


# ---- losses and explain ------------------------------------------------------------------


def test_losses_lists_metrics_after_the_losses(capsys):
    code, out, _ = cli(capsys, "losses", "--task", "regression")
    assert code == 0
    losses_table, metrics_part = out.split(
        "\n\nMetrics: classification, skill scores, calibration and similarity", 1
    )
    assert "d2_tweedie" not in losses_table and "mse" in losses_table
    header = metrics_part.splitlines()[1].split()
    assert header[:2] == ["name", "better"]
    rows = {line.split()[0]: line.split()[1] for line in metrics_part.splitlines()[2:] if line}
    assert rows["d2_tweedie"] == "higher" and rows["d2_absolute_error"] == "higher"
    assert "--fail-below" in metrics_part


def test_explain_says_a_metric_is_not_a_loss(capsys):
    _, out, _ = cli(capsys, "explain", "ece")
    assert "  kind     metric, lower is better (gate it with --fail-above)" in out
    _, out, _ = cli(capsys, "explain", "d2_log_loss", "--format", "json")
    record = json.loads(out)
    assert record["kind"] == "metric" and record["better"] == "higher"


# ---- compare and check -------------------------------------------------------------------


def test_compare_flags_a_fall_in_a_skill_score_as_a_regression(capsys):
    code, out, err = cli(
        capsys, "compare", REGRESSION, WORSE, "--loss", "d2_tweedie,d2_absolute_error",
        "--power", "0", "--bootstrap", "200", "--require-significant", "--format", "json",
    )  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    for r in doc["results"]:
        assert r["better"] == "higher"
        assert r["difference"] < 0 and r["ci_high"] < 0
        assert r["regression"] is True
    code, out, _ = cli(
        capsys, "compare", WORSE, REGRESSION, "--loss", "d2_tweedie", "--power", "0",
        "--bootstrap", "0",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[1].split()[-1] == "better"


def test_compare_never_flags_a_metric_of_the_targets(capsys):
    code, out, _ = cli(
        capsys, "compare", BINARY, BINARY, "--loss", "brier_uncertainty", "--bootstrap", "50",
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    (r,) = json.loads(out)["results"]
    assert r["better"] is None and r["regression"] is False


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "losscli.toml"
    path.write_text(f'[[check]]\nname = "skill"\nfile = "{REGRESSION}"\n{body}')
    return path


def test_check_fail_below_gates_scores_per_group(capsys, tmp_path):
    config = write_config(
        tmp_path,
        'loss = "mse,d2_tweedie"\nparams = { power = 0 }\ngroup = "segment"\n'
        "fail_above = 3.5\nfail_below = { d2_tweedie = 0.55 }\n",
    )
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 1
    rows = json.loads(out)["checks"][0]["results"]
    d2 = {r["group"]: r for r in rows if r["loss"] == "d2_tweedie"}
    assert d2[None]["rule"] == ">= 0.55" and d2[None]["passed"] is True
    assert d2["south"]["passed"] is False  # 0.51 in the south
    assert all(r["rule"] == "<= 3.5" for r in rows if r["loss"] == "mse")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('loss = "d2_brier"\nfail_above = { d2_brier = 0.2 }\n', "d2_brier is higher-is-better"),
        ('loss = "mse"\nfail_below = { mse = 0.2 }\n', "mse is lower-is-better"),
        ('loss = "d2_tweedie"\nfail_above = 0.2\n', "the check has none"),
        ('loss = "mse"\nfail_below = { mae = 0.2 }\n', "names no loss of this check"),
    ],
)
def test_check_threshold_direction_errors_exit_2(capsys, tmp_path, body, message):
    code, _, err = cli(capsys, "check", "--config", write_config(tmp_path, body))
    assert code == 2
    assert message in err
