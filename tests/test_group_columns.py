"""``--group a,b``: one result row per combination of several columns' values.

A row's group is named ``a=x, b=y`` in every output (table, CSV, Markdown, JSON); the JSON
results also carry ``groups``, the value of each column (``{"a": "x", "b": "y"}``), and
``input.group`` lists the columns. One group column keeps the eval document as it was (the
value as ``group``, no ``groups`` key). Combinations are ordered as one column's values
are (natural order: 2 before 10), the first column first; only combinations that occur
get a row. Values are checked against pandas' groupby and scikit-learn, for eval,
compare, check and ``--top``.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from helpers import cli, error_lines, eval_json
from sklearn.metrics import mean_absolute_error, mean_squared_error

import losscli

ROWS = 1200


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    out = pd.DataFrame(
        {
            "y_true": rng.normal(size=ROWS),
            "y_pred": rng.normal(size=ROWS),
            "region": rng.choice(["eu", "us", "asia"], size=ROWS),
            "tier": rng.choice([1, 2, 10], size=ROWS),
            "w": rng.uniform(0.5, 2.0, size=ROWS),
            # many values each: more combinations than a lookup table would hold
            "c1": rng.integers(0, 1000, size=ROWS),
            "c2": rng.integers(0, 1000, size=ROWS),
        }
    )
    # one combination never occurs: it gets no row
    return out[~((out["region"] == "us") & (out["tier"] == 2))].reset_index(drop=True)


@pytest.fixture(scope="module", params=["csv", "parquet"])
def path(request, frame, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("groups") / f"preds.{request.param}"
    frame.to_csv(out, index=False) if request.param == "csv" else frame.to_parquet(out)
    return str(out)


def expected(frame: pd.DataFrame, weighted: bool = False) -> list[tuple[str, dict, float, int]]:
    """(name, values, mse, n) per combination, in natural order: tier 1, 2, 10 as numbers."""
    out = []
    for (region, tier), part in sorted(frame.groupby(["region", "tier"]), key=lambda g: g[0]):
        weight = part["w"] if weighted else None
        mse = mean_squared_error(part["y_true"], part["y_pred"], sample_weight=weight)
        name = f"region={region}, tier={tier}"
        out.append((name, {"region": region, "tier": str(tier)}, mse, len(part)))
    return out


def test_eval_gives_one_row_per_combination_in_natural_order(capsys, frame, path):
    doc = eval_json(capsys, path, "-l", "mse", "--weight", "w", "--group", "region,tier")
    want = expected(frame, weighted=True)
    rows = doc["results"][1:]
    assert [r["group"] for r in rows] == [name for name, *_ in want]
    assert [r["groups"] for r in rows] == [values for _, values, *_ in want]
    assert [r["n"] for r in rows] == [n for *_, n in want]
    assert [r["value"] for r in rows] == pytest.approx([v for _, _, v, _ in want], rel=1e-12)
    whole = doc["results"][0]
    assert whole["group"] is None and whole["groups"] is None
    assert whole["value"] == pytest.approx(
        mean_squared_error(frame["y_true"], frame["y_pred"], sample_weight=frame["w"]), rel=1e-12
    )
    assert doc["input"]["group"] == ["region", "tier"]
    assert len(rows) == 8  # 3 × 3 combinations, less the one that never occurs
    # the columns' order is the order of the names: tier first, then region
    swapped = eval_json(capsys, path, "-l", "mse", "--group", "tier,region")
    assert swapped["results"][1]["group"] == "tier=1, region=asia"
    assert swapped["results"][-1]["group"] == "tier=10, region=us"
    # one group column keeps the document as it was: the value as group, no groups key
    one = eval_json(capsys, path, "-l", "mse", "--group", "region")
    assert one["input"]["group"] == "region"
    assert [r["group"] for r in one["results"]] == [None, "asia", "eu", "us"]
    assert all("groups" not in r for r in one["results"])


def test_csv_and_the_table_name_each_combination(capsys, frame, path):
    code, out, err = cli(
        capsys, "eval", path, "-l", "mse,mae", "--group", "region,tier", "-f", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    mae = {r["group"]: float(r["value"]) for r in rows if r["loss"] == "mae" and r["group"]}
    for (region, tier), part in frame.groupby(["region", "tier"]):
        got = mae[f"region={region}, tier={tier}"]
        assert got == pytest.approx(mean_absolute_error(part["y_true"], part["y_pred"]), rel=1e-12)
    code, out, _ = cli(capsys, "eval", path, "-l", "mse", "--group", "region,tier")
    assert code == 0
    assert "region=asia, tier=10" in out and "region=us, tier=2" not in out


def test_top_rows_per_combination(capsys, frame, path):
    doc = eval_json(capsys, path, "-l", "mse", "--group", "region,tier", "--top", "2")
    squared = (frame["y_true"] - frame["y_pred"]) ** 2
    blocks = doc["top_rows"]
    assert [b["group"] for b in blocks] == [None, *(name for name, *_ in expected(frame))]
    for block in blocks[1:]:
        region, tier = block["groups"]["region"], int(block["groups"]["tier"])
        part = squared[(frame["region"] == region) & (frame["tier"] == tier)]
        assert [r["row"] for r in block["rows"]] == list(part.nlargest(2).index)
        assert [r["value"] for r in block["rows"]] == pytest.approx(list(part.nlargest(2)))
        assert all(r["columns"]["region"] == region for r in block["rows"])


def test_compare_pairs_each_combination(capsys, frame, tmp_path):
    base, cand = tmp_path / "base.csv", tmp_path / "cand.csv"
    frame.to_csv(base, index=False)
    worse = frame.assign(y_pred=frame["y_pred"] + np.where(frame["region"] == "eu", 0.5, 0.0))
    worse.to_csv(cand, index=False)
    code, out, err = cli(
        capsys, "compare", base, cand, "-l", "mse", "--group", "region,tier", "--bootstrap", "0",
        "-f", "json",
    )  # fmt: skip
    assert code == 1, err  # eu got worse
    doc = json.loads(out)
    assert doc["group"] == ["region", "tier"]
    rows = doc["results"][1:]
    assert [r["group"] for r in rows] == [name for name, *_ in expected(frame)]
    for r in rows:
        region, tier = r["groups"]["region"], int(r["groups"]["tier"])
        pick = (frame["region"] == region) & (frame["tier"] == tier)
        y = frame.loc[pick, "y_true"]
        assert r["baseline"] == pytest.approx(
            mean_squared_error(y, frame.loc[pick, "y_pred"]), rel=1e-12
        )
        assert r["candidate"] == pytest.approx(
            mean_squared_error(y, worse.loc[pick, "y_pred"]), rel=1e-12
        )
        assert r["regression"] == (region == "eu")
    assert [g["group"] for g in doc["regressions"]] == [
        None,
        *(r["group"] for r in rows if r["groups"]["region"] == "eu"),
    ]


def test_a_check_groups_by_a_list_of_columns(capsys, frame, tmp_path, monkeypatch):
    frame.to_csv(tmp_path / "preds.csv", index=False)
    (tmp_path / "losscli.toml").write_text(
        '[[check]]\nfile = "preds.csv"\nloss = "mse"\ngroup = ["region", "tier"]\n'
        "fail_above = 100\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "check", "--format", "json")
    assert code == 0, err
    results = json.loads(out)["checks"][0]["results"][1:]
    want = expected(frame)
    assert [r["group"] for r in results] == [name for name, *_ in want]
    assert [r["value"] for r in results] == pytest.approx([v for _, _, v, _ in want], rel=1e-12)


def test_the_python_api_takes_a_list_of_group_columns(frame, path):
    doc = losscli.evaluate_file(path, "mse", group=["region", "tier"])
    want = expected(frame)
    assert [r["group"] for r in doc["results"][1:]] == [name for name, *_ in want]
    assert [r["value"] for r in doc["results"][1:]] == pytest.approx(
        [v for _, _, v, _ in want], rel=1e-12
    )


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("region,region", "--group 'region,region' names 'region' twice"),
        ("region,y_*", "--group 'y_*' names 2 columns (y_true, y_pred)"),
    ],
)
def test_bad_group_lists_are_usage_errors(capsys, path, group, message):
    line, _ = error_lines(*cli(capsys, "eval", path, "-l", "mse", "--group", group))
    assert message in line


def test_combinations_of_many_values_are_counted_as_one_column(capsys, frame, path):
    doc = eval_json(capsys, path, "-l", "mse", "--group", "c1,c2,region")
    rows = doc["results"][1:]
    want = sorted(frame.groupby(["c1", "c2", "region"]), key=lambda g: g[0])
    assert [r["group"] for r in rows] == [f"c1={a}, c2={b}, region={c}" for (a, b, c), _ in want]
    assert [r["n"] for r in rows] == [len(part) for _, part in want]
    assert [r["value"] for r in rows] == pytest.approx(
        [mean_squared_error(part["y_true"], part["y_pred"]) for _, part in want], rel=1e-12
    )
