"""A change within noise passes ``compare`` and ``check`` by default (README, "In CI").

A worsening beyond the tolerance is a regression only when it is significant: its paired
bootstrap interval lies wholly on the worse side of 0 (above 0 for a loss, below 0 for a
D² that fell). ``--no-require-significant`` / ``require_significant = false`` keep the
strict rule. The verdict says why a change passed, and the verdict line is printed once.
The intervals are checked against a numpy row bootstrap written here from its definition.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli, on_pty

N = 500
REPLICATES, SEED, CONFIDENCE = 1000, 0, 0.95  # compare's defaults
TOLERANCE = 1e-4  # smaller than the noise-level worsening of mse below


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A baseline, a candidate that differs from it by noise, and a clearly worse one."""
    rng = np.random.default_rng(3)
    y = rng.normal(size=N).round(4)
    base = (y + rng.normal(0, 0.5, N)).round(4)
    noise = (base + rng.normal(0, 0.05, N)).round(4)
    worse = (y + rng.normal(0, 0.7, N)).round(4)
    folder = tmp_path_factory.mktemp("significance")
    out = {}
    for name, pred in (("base", base), ("noise", noise), ("worse", worse)):
        out[name] = folder / f"{name}.csv"
        pd.DataFrame({"y_true": y, "y_pred": pred}).to_csv(out[name], index=False)
    return out


def reference(files: dict[str, Path], candidate: str, metric: str) -> dict[str, float]:
    """The difference and its paired percentile interval, from the rows (every row is one
    resampling unit below 4096 rows; the draws are numpy's default_rng(seed))."""
    base, cand = pd.read_csv(files["base"]), pd.read_csv(files[candidate])
    y = base.y_true.to_numpy()
    sb = (base.y_pred.to_numpy() - y) ** 2
    sc = (cand.y_pred.to_numpy() - y) ** 2
    idx = np.random.default_rng(SEED).integers(0, N, size=(REPLICATES, N))
    if metric == "mse":
        diffs = sc[idx].mean(axis=1) - sb[idx].mean(axis=1)
        diff = sc.mean() - sb.mean()
        rel = diff / sb.mean()
    else:  # D² of the squared error: 1 − SSE / SST, the SST of each replicate's own rows
        yr = y[idx]
        sst = ((yr - yr.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        diffs = (sb[idx].sum(axis=1) - sc[idx].sum(axis=1)) / sst
        total = ((y - y.mean()) ** 2).sum()
        diff = (sb.sum() - sc.sum()) / total
        rel = diff / (1 - sb.sum() / total)
    lo, hi = np.quantile(diffs, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return {"difference": diff, "relative": rel, "lo": float(lo), "hi": float(hi)}


def compare_json(capsys, files, candidate, *extra) -> tuple[int, dict, str]:
    code, out, err = cli(
        capsys, "compare", files["base"], files[candidate], *extra, "--format", "json"
    )
    return code, json.loads(out), err


# ---- compare ---------------------------------------------------------------------------


def test_a_noise_level_worsening_beyond_the_tolerance_passes_within_noise(capsys, files):
    ref = reference(files, "noise", "mse")
    assert ref["difference"] > TOLERANCE  # over the tolerance ...
    assert ref["lo"] < 0 < ref["hi"]  # ... and the interval straddles 0
    args = ("--loss", "mse", "--tolerance", TOLERANCE)
    code, out, err = cli(capsys, "compare", files["base"], files["noise"], *args)
    assert code == 0, err
    assert err == ""
    header, row = out.splitlines()[:2]
    assert row.split()[-2:] == ["within", "noise"]
    expected = (
        f"passed: {files['noise']} is no worse than {files['base']}: "
        f"mse {ref['relative']:+.2%}, within noise"
    )
    assert out.splitlines()[-1] == expected
    assert out.count("passed:") == 1
    code, doc, err = compare_json(capsys, files, "noise", *args)
    assert code == 0 and err == ""
    (r,) = doc["results"]
    assert r["difference"] == pytest.approx(ref["difference"], rel=1e-9)
    assert r["ci_low"] == pytest.approx(ref["lo"], rel=1e-9)
    assert r["ci_high"] == pytest.approx(ref["hi"], rel=1e-9)
    assert (r["significant"], r["regression"]) == (False, False)
    assert r["reason"] == (
        f"{ref['relative']:+.2%}, within noise "
        f"(95% interval [{ref['lo']:+.4g}, {ref['hi']:+.4g}] includes 0)"
    )
    assert doc["rule"] == {
        "tolerance": TOLERANCE,
        "rel_tolerance": None,
        "require_significant": True,
    }
    assert doc["passed"] is True


def test_no_require_significant_fails_the_same_noise(capsys, files):
    args = ("--loss", "mse", "--tolerance", TOLERANCE, "--no-require-significant")
    code, out, err = cli(capsys, "compare", files["base"], files["noise"], *args)
    assert code == 1
    assert out.splitlines()[1].split()[-1] == "REGRESSION"
    summary = f"regression: {files['noise']} is worse than {files['base']} on mse"
    assert out.splitlines()[-1] == summary
    assert err == ""  # the verdict line once: stdout holds it
    code, doc, err = compare_json(capsys, files, "noise", *args)
    assert code == 1
    assert err.splitlines() == [summary]  # JSON on stdout: the verdict goes to stderr, once
    (r,) = doc["results"]
    assert (r["significant"], r["regression"]) == (False, True)
    assert doc["rule"]["require_significant"] is False
    ref = reference(files, "noise", "mse")
    assert r["reason"] == (
        f"{ref['relative']:+.2%}, beyond the tolerance "
        f"(not significant: 95% interval [{ref['lo']:+.4g}, {ref['hi']:+.4g}] includes 0)"
    )


def test_a_real_regression_fails_by_default(capsys, files):
    ref = reference(files, "worse", "mse")
    assert ref["lo"] > 0
    code, out, err = cli(capsys, "compare", files["base"], files["worse"], "--loss", "mse")
    assert code == 1
    assert err == ""
    assert out.count("regression:") == 1
    code, doc, err = compare_json(capsys, files, "worse", "--loss", "mse")
    assert code == 1
    assert err.count("regression:") == 1
    (r,) = doc["results"]
    assert r["ci_low"] == pytest.approx(ref["lo"], rel=1e-9)
    assert (r["significant"], r["regression"]) == (True, True)
    assert r["reason"] == (
        f"{ref['relative']:+.2%}, worse and significant "
        f"(95% interval [{ref['lo']:+.4g}, {ref['hi']:+.4g}] lies above 0)"
    )


def test_a_higher_is_better_metric_is_worse_below_0(capsys, files):
    loss = ("--loss", "d2_tweedie(power=0)")
    noise = reference(files, "noise", "d2")
    assert noise["difference"] < 0 and noise["lo"] < 0 < noise["hi"]
    code, doc, _ = compare_json(capsys, files, "noise", *loss)
    assert code == 0
    (r,) = doc["results"]
    assert r["better"] == "higher"
    assert r["difference"] == pytest.approx(noise["difference"], rel=1e-9)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((noise["lo"], noise["hi"]), rel=1e-9)
    assert (r["significant"], r["regression"]) == (False, False)
    assert ", within noise (" in r["reason"]
    code, _, _ = compare_json(capsys, files, "noise", *loss, "--no-require-significant")
    assert code == 1
    worse = reference(files, "worse", "d2")
    code, doc, _ = compare_json(capsys, files, "worse", *loss)
    assert code == 1
    (r,) = doc["results"]
    assert r["ci_high"] == pytest.approx(worse["hi"], rel=1e-9) and worse["hi"] < 0
    assert (r["significant"], r["regression"]) == (True, True)
    assert r["reason"].endswith("lies below 0)")
    # a D² that rose significantly is better, never a regression
    code, doc, _ = cli_json_swapped(capsys, files, *loss)
    assert code == 0
    assert doc["results"][0]["significant"] is False
    assert doc["results"][0]["reason"].endswith(", better")


def cli_json_swapped(capsys, files, *extra) -> tuple[int, dict, str]:
    code, out, err = cli(
        capsys, "compare", files["worse"], files["base"], *extra, "--format", "json"
    )
    return code, json.loads(out), err


def test_bootstrap_0_has_no_interval_and_keeps_the_strict_rule_with_a_note(capsys, files):
    code, doc, err = compare_json(capsys, files, "noise", "--loss", "mse", "--bootstrap", "0")
    assert code == 1
    assert doc["rule"]["require_significant"] is False
    (r,) = doc["results"]
    assert r["significant"] is None and r["regression"] is True
    relative = reference(files, "noise", "mse")["relative"]
    assert r["reason"] == f"{relative:+.2%}, worse (no interval: the point difference decides)"
    assert err.splitlines()[0] == (
        "note: --bootstrap 0 gives no interval, so significance is not required: "
        "any worsening beyond the tolerance is a regression"
    )
    code, _, err = compare_json(
        capsys, files, "noise", "--loss", "mse", "--bootstrap", "0", "--quiet"
    )
    assert code == 1 and not err.startswith("note:")


@pytest.mark.parametrize("command", ["compare", "eval"])
def test_a_negative_seed_is_a_usage_error(capsys, files, command):
    paths = [files["base"], files["noise"]] if command == "compare" else [files["base"]]
    code, out, err = cli(
        capsys, command, *paths, "--loss", "mse", "--bootstrap", "10", "--seed", "-1"
    )
    assert code == 2, err
    assert err.splitlines()[0] == "error: --seed -1: must be 0 or more"


pytest.importorskip("pty")


def on_terminal(args: list[object]) -> tuple[int, str]:
    """Run losscli with stdout and stderr on one pseudo-terminal: what a user sees."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    env.update({"TERM": "xterm", "COLUMNS": "200", "NO_COLOR": "1"})
    command = [sys.executable, "-m", "losscli", *map(str, args)]
    code, shown, _ = on_pty(command, terminal=["stdout", "stderr"], env=env)
    return code, shown


def test_on_a_terminal_the_verdict_line_is_shown_once(files, tmp_path):
    code, text = on_terminal(["compare", files["base"], files["worse"], "--loss", "mse"])
    assert code == 1
    assert text.count("regression:") == 1, text
    config = tmp_path / "losscli.toml"
    config.write_text(
        f'[[check]]\nname = "pair"\nbaseline = {json.dumps(str(files["base"]))}\n'
        f'candidate = {json.dumps(str(files["worse"]))}\nloss = "mse"\n'
    )
    code, text = on_terminal(["check", "--config", config])
    assert code == 1
    assert text.count("1 of 1 checks failed: pair") == 1, text


# ---- check -------------------------------------------------------------------------------


def write_check(tmp_path: Path, files, candidate: str, *extra: str) -> Path:
    config = tmp_path / f"{candidate}.toml"
    lines = [
        "[[check]]",
        'name = "pair"',
        f"baseline = {json.dumps(str(files['base']))}",
        f"candidate = {json.dumps(str(files[candidate]))}",
        'loss = "mse"',
        f"max_regression = {TOLERANCE}",
        *extra,
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def test_a_compare_check_passes_noise_and_says_so(capsys, files, tmp_path):
    ref = reference(files, "noise", "mse")
    config = write_check(tmp_path, files, "noise")
    code, out, err = cli(capsys, "check", "--config", config)
    assert code == 0, err
    assert err == ""
    row = out.splitlines()[1]
    assert row.endswith("Δ <= 0.0001 or not significant  passed (within noise)")
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 0 and err == ""
    (r,) = json.loads(out)["checks"][0]["results"]
    assert r["passed"] is True
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ref["lo"], ref["hi"]), rel=1e-9)
    assert r["reason"] == (
        f"{ref['relative']:+.2%}, within noise "
        f"(95% interval [{ref['lo']:+.4g}, {ref['hi']:+.4g}] includes 0)"
    )
    code, out, _ = cli(capsys, "check", "--config", config, "--format", "markdown")
    assert "| ✅ passed (within noise) |" in out


def test_a_compare_check_with_require_significant_false_fails_the_noise(capsys, files, tmp_path):
    config = write_check(tmp_path, files, "noise", "require_significant = false")
    code, out, err = cli(capsys, "check", "--config", config)
    assert code == 1
    assert err == ""  # the verdict line once, on stdout
    assert out.count("1 of 1 checks failed: pair") == 1
    assert out.splitlines()[1].split()[-1] == "FAILED"
    assert "Δ <= 0.0001  FAILED" in out.splitlines()[1]  # no "or not significant"
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 1
    assert err.splitlines() == ["check failed: 1 of 1 checks failed: pair"]


def test_a_compare_check_fails_a_real_regression_by_default(capsys, files, tmp_path):
    config = write_check(tmp_path, files, "worse")
    code, out, err = cli(capsys, "check", "--config", config, "--format", "json")
    assert code == 1
    assert err.splitlines() == ["check failed: 1 of 1 checks failed: pair"]
    (r,) = json.loads(out)["checks"][0]["results"]
    assert r["passed"] is False and r["reason"].endswith("lies above 0)")


def test_confidence_or_seed_with_bootstrap_0_is_a_usage_error_not_ignored(capsys, files):
    for option in (("--confidence", "0.9"), ("--seed", "3")):
        code, out, err = cli(
            capsys, "compare", files["base"], files["noise"], "--loss", "mse", "--bootstrap", "0",
            *option,
        )  # fmt: skip
        assert code == 2 and out == ""
        assert err.splitlines() == [
            "error: --confidence and --seed shape the bootstrap interval, and --bootstrap 0 "
            "computes none",
            "hint: drop them, or give --bootstrap N",
        ]


def test_rows_dropped_from_one_file_are_named_as_the_cause(capsys, tmp_path):
    """--dropna on missing cells in different rows: the error says --dropna made the rows
    differ, not that the files hold other targets or rows."""
    import pandas as pd

    rows = pd.DataFrame(
        {"y_true": [float(i) for i in range(20)], "id": [f"k{i}" for i in range(20)]}
    )
    rows["y_pred"] = rows["y_true"] + 0.5
    base, cand = rows.copy(), rows.copy()
    base.loc[3, "y_pred"] = float("nan")
    cand.loc[7, "y_pred"] = float("nan")
    paths = []
    for name, df in (("base.csv", base), ("cand.csv", cand), ("full.csv", rows)):
        df.to_csv(tmp_path / name, index=False)
        paths.append(tmp_path / name)
    for pair, extra, dropped in (
        ((paths[0], paths[1]), [], "1 row(s) of {0} and 1 of {1}"),
        ((paths[0], paths[2]), [], "1 row(s) of {0} and 0 of {1}"),
        ((paths[2], paths[1]), ["--key", "id"], "0 row(s) of {0} and 1 of {1}"),
    ):
        code, _, err = cli(capsys, "compare", *pair, "--loss", "mse", "--dropna", *extra)
        assert code == 2
        assert err.startswith(f"error: --dropna dropped {dropped.format(*pair)}, so the rows left")
        assert "drop those rows from both files" in err
