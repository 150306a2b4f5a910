"""eval --bootstrap: every interval equals a plain numpy reference (resample the rows,
recompute, take percentiles), for whole files, groups and class rows; seeds; formats."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from losscli.app.evaluation import evaluate_file
from losscli.cli.commands import run

EPS = 1e-7


def write_csv(path, **columns):
    names = list(columns)
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in zip(*columns.values()):
            fh.write(",".join(v if isinstance(v, str) else repr(float(v)) for v in row) + "\n")
    return str(path)


def reference(stat, n, replicates, confidence, seed):
    """Draw rows as the scheme says (rng.integers over the stratum's rows, in row order),
    recompute the statistic on each replicate, take the percentile interval."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(replicates, n))
    values = np.array([stat(i) for i in idx])
    lo, hi = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return lo, hi


def assert_interval(row, lo, hi):
    assert row["ci_low"] == pytest.approx(lo, rel=1e-9)
    assert row["ci_high"] == pytest.approx(hi, rel=1e-9)
    assert row["ci_low"] <= row["ci_high"]


def find(doc, loss, group=None, cls=None):
    return next(
        r
        for r in doc["results"]
        if r["loss"] == loss and r["group"] == group and r.get("class") == cls
    )


@pytest.fixture
def regression(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    y = rng.normal(0, 1, n)
    p = y + rng.normal(0, 1.0, n) + rng.standard_t(3, n) * 0.2
    w = rng.uniform(0.5, 2.0, n)
    g = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    path = write_csv(tmp_path / "r.csv", y_true=y, y_pred=p, w=w, g=g)
    y, p, w = (np.array([float(repr(float(v))) for v in a]) for a in (y, p, w))
    return path, y, p, w, g


@pytest.mark.parametrize("seed", [0, 7])
def test_interval_equals_the_numpy_reference_for_weighted_mse(regression, seed):
    path, y, p, w, _ = regression
    doc = evaluate_file(path, "mse", weight="w", bootstrap=400, seed=seed)
    r = doc["results"][0]
    lo, hi = reference(
        lambda i: np.sum(w[i] * (y[i] - p[i]) ** 2) / np.sum(w[i]), len(y), 400, 0.95, seed
    )
    assert_interval(r, lo, hi)
    assert r["ci_low"] < r["value"] < r["ci_high"]


def test_interval_of_a_transformed_mean_and_a_sum(regression):
    path, y, p, _, _ = regression
    doc = evaluate_file(path, "rmse,mae", bootstrap=300, confidence=0.9, seed=3)
    lo, hi = reference(lambda i: np.sqrt(np.mean((y[i] - p[i]) ** 2)), len(y), 300, 0.9, 3)
    assert_interval(find(doc, "rmse"), lo, hi)
    doc = evaluate_file(path, "mae", reduction="sum", bootstrap=200, seed=1)
    lo, hi = reference(lambda i: np.sum(np.abs(y[i] - p[i])), len(y), 200, 0.95, 1)
    assert_interval(doc["results"][0], lo, hi)


def test_group_intervals_resample_within_each_group(regression):
    path, y, p, _, g = regression
    doc = evaluate_file(path, "huber", group="g", bootstrap=200, seed=11)
    e = np.abs(p - y)
    losses = np.where(e <= 1, 0.5 * e**2, e - 0.5)
    for i, name in enumerate(["a", "b", "c"]):
        rows = np.flatnonzero(g == name)
        lo, hi = reference(
            lambda j, rows=rows: losses[rows][j].mean(), len(rows), 200, 0.95, [11, i + 1]
        )
        assert_interval(find(doc, "huber", name), lo, hi)


def test_interval_of_dice_a_ratio_of_sums(tmp_path):
    rng = np.random.default_rng(9)
    n = 500
    y = (rng.random(n) < 0.3).astype(float)
    p = np.round(np.clip(y * 0.6 + rng.random(n) * 0.4, 0, 1), 6)
    path = write_csv(tmp_path / "d.csv", y_true=y, y_pred=p)
    doc = evaluate_file(path, "dice", bootstrap=300, seed=4)

    def dice(i, s=1e-6):
        return 1 - (2 * np.sum(y[i] * p[i]) + s) / (np.sum(y[i]) + np.sum(p[i]) + s)

    assert_interval(doc["results"][0], *reference(dice, n, 300, 0.95, 4))


@pytest.fixture
def multiclass(tmp_path):
    rng = np.random.default_rng(21)
    n = 400
    p = np.round(rng.dirichlet(np.ones(3) * 2, n), 8)
    p[:, 2] = 1 - p[:, 0] - p[:, 1]
    y = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    g = np.array(["x", "y"])[rng.integers(0, 2, n)]
    path = write_csv(tmp_path / "m.csv", y_true=y, p_0=p[:, 0], p_1=p[:, 1], p_2=p[:, 2], g=g)
    with open(path) as fh:  # the numbers as written
        rows = list(csv.DictReader(fh))
    p = np.array([[float(r[f"p_{k}"]) for k in range(3)] for r in rows])
    return path, y, p, g


def test_true_class_intervals_resample_within_the_class(multiclass):
    path, y, p, g = multiclass
    doc = evaluate_file(path, "cross_entropy", per_class=True, group="g", bootstrap=250, seed=5)
    losses = -np.log(np.clip(p[np.arange(len(y)), y], EPS, 1 - EPS))
    for stratum, name in enumerate([None, "x", "y"]):
        in_stratum = np.ones(len(y), bool) if name is None else g == name
        seed = 5 if name is None else [5, stratum]
        rows = np.flatnonzero(in_stratum)
        lo, hi = reference(lambda i, rows=rows: losses[rows][i].mean(), len(rows), 250, 0.95, seed)
        assert_interval(find(doc, "cross_entropy", name), lo, hi)
        for c in range(3):
            rows = np.flatnonzero(in_stratum & (y == c))
            lo, hi = reference(
                lambda i, rows=rows: losses[rows][i].mean(),
                len(rows),
                250,
                0.95,
                [5, stratum, c + 1],
            )
            assert_interval(find(doc, "cross_entropy", name, str(c)), lo, hi)


def test_overlap_class_intervals_share_the_draws_of_their_rows(multiclass):
    path, y, p, _ = multiclass
    doc = evaluate_file(path, "dice", per_class=True, bootstrap=200, seed=2)
    onehot = np.eye(3)[y]

    def dice(i, c=None, s=1e-6):
        t, q = onehot[i], p[i]
        score = (2 * (t * q).sum(0) + s) / (t.sum(0) + q.sum(0) + s)
        return 1 - (score.mean() if c is None else score[c])

    assert_interval(find(doc, "dice"), *reference(dice, len(y), 200, 0.95, 2))
    for c in range(3):
        lo, hi = reference(lambda i, c=c: dice(i, c), len(y), 200, 0.95, 2)
        assert_interval(find(doc, "dice", None, str(c)), lo, hi)


def test_output_column_intervals_share_the_draws_of_their_rows(tmp_path):
    rng = np.random.default_rng(13)
    n = 200
    y = rng.normal(size=(n, 2))
    p = np.round(y + rng.normal(size=(n, 2)) * [0.5, 1.5], 6)
    y = np.round(y, 6)
    path = write_csv(tmp_path / "c.csv", y_a=y[:, 0], y_b=y[:, 1], p_a=p[:, 0], p_b=p[:, 1])
    doc = evaluate_file(
        path, "mse", target=["y_a,y_b"], pred=["p_*"], per_class=True, bootstrap=300, seed=9
    )
    sq = (p - y) ** 2
    assert_interval(find(doc, "mse"), *reference(lambda i: sq[i].mean(), n, 300, 0.95, 9))
    for j, name in enumerate("ab"):
        lo, hi = reference(lambda i, j=j: sq[i, j].mean(), n, 300, 0.95, 9)
        assert_interval(find(doc, "mse", None, name), lo, hi)


def test_more_rows_than_units_resample_clusters_of_rows(tmp_path):
    """Beyond 4096 rows, row r is in unit r mod 4096: the reference draws units."""
    rng = np.random.default_rng(17)
    n = 6000
    y = np.round(rng.normal(size=n), 6)
    p = np.round(y + rng.normal(size=n), 6)
    path = write_csv(tmp_path / "big.csv", y_true=y, y_pred=p)
    doc = evaluate_file(path, "mse", bootstrap=100, seed=0)
    unit = np.arange(n) % 4096
    sse = np.bincount(unit, weights=(p - y) ** 2, minlength=4096)
    count = np.bincount(unit, minlength=4096)
    lo, hi = reference(lambda i: sse[i].sum() / count[i].sum(), 4096, 100, 0.95, 0)
    assert_interval(doc["results"][0], lo, hi)


def test_the_same_seed_gives_the_same_intervals_and_another_seed_others(multiclass):
    path = multiclass[0]
    args = ["eval", path, "--loss", "cross_entropy", "--per-class", "--bootstrap", "100"]

    def output(*extra):
        out = io.StringIO()
        import contextlib

        with contextlib.redirect_stdout(out):
            assert run([*args, *extra, "--format", "json"]) == 0
        return out.getvalue()

    first, again = output("--seed", "4"), output("--seed", "4")
    assert first == again
    other = json.loads(output("--seed", "5"))
    assert [r["ci_low"] for r in json.loads(first)["results"]] != [
        r["ci_low"] for r in other["results"]
    ]
    assert json.loads(output())["bootstrap"] == {
        "replicates": 100,
        "confidence": 0.95,
        "seed": 0,
        "units": 4096,
    }


def test_a_wider_confidence_gives_a_wider_interval(regression):
    path = regression[0]
    narrow = evaluate_file(path, "mse", bootstrap=300, confidence=0.5)["results"][0]
    wide = evaluate_file(path, "mse", bootstrap=300, confidence=0.99)["results"][0]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


def test_every_format_shows_the_interval(regression, capsys):
    path = regression[0]
    args = ["eval", path, "--loss", "mse", "--group", "g", "--bootstrap", "50", "-q"]
    run([*args, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    run([*args, "--format", "csv"])
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(records[0])[-2:] == ["ci_low", "ci_high"]
    for record, r in zip(records, doc["results"]):
        assert float(record["ci_low"]) == r["ci_low"]  # full precision
        assert float(record["ci_high"]) == r["ci_high"]
    run(args)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["95%", "interval"]
    first = doc["results"][0]
    assert lines[1].endswith(f"[{first['ci_low']:.4g}, {first['ci_high']:.4g}]")
    assert lines[-1] == "95% interval: percentile bootstrap over rows, 50 replicates, seed 0"
    run([*args, "--format", "markdown", "--confidence", "0.9"])
    out = capsys.readouterr().out
    assert "| loss | params | group | n | value | 90% interval |" in out
    assert "- 90% interval: percentile bootstrap over rows, 50 replicates, seed 0" in out


def test_without_bootstrap_there_are_no_interval_keys(regression):
    doc = evaluate_file(regression[0], "mse")
    assert "bootstrap" not in doc and "ci_low" not in doc["results"][0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bootstrap", "-1"], "error: --bootstrap -1: give 0 (no intervals) or a number of"),
        (["--bootstrap", "100000000"], "error: --bootstrap 100000000: give 0 (no intervals) or"),
        (["--bootstrap", "10", "--confidence", "1"], "error: --confidence 1.0: must be in (0, 1)"),
        (["--seed", "3"], "error: --confidence and --seed shape the bootstrap: add --bootstrap N"),
        (["--confidence", "0.9"], "error: --confidence and --seed shape the bootstrap"),
        (
            ["--bootstrap", "10", "--reduction", "none"],
            "error: --reduction none writes per-row losses; it takes no --per-class, --bootstrap or --top",
        ),
    ],
)
def test_bad_bootstrap_options_are_usage_errors(regression, capsys, extra, message):
    code = run(["eval", regression[0], "--loss", "mse", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(message)


def test_95_percent_intervals_cover_the_true_mse_about_95_percent_of_the_time(tmp_path):
    """Errors N(0, 1.5²): the true MSE is 2.25."""
    rng = np.random.default_rng(2025)
    covered = 0
    for rep in range(120):
        y = rng.normal(size=150)
        p = y + rng.normal(0, 1.5, 150)
        path = write_csv(tmp_path / "cov.csv", y_true=y, y_pred=p)
        r = evaluate_file(path, "mse", bootstrap=300, seed=rep)["results"][0]
        covered += r["ci_low"] <= 2.25 <= r["ci_high"]
    assert 104 <= covered <= 119, covered


def test_intervals_do_not_depend_on_how_the_file_is_cut_into_batches(multiclass, monkeypatch):
    """Per-unit sums merge across batches whose rows occupy different units and classes."""
    import losscli.io.csv_reader

    path = multiclass[0]

    def evaluate():
        return evaluate_file(
            path, "cross_entropy,dice", per_class=True, group="g", bootstrap=100, seed=8
        )["results"]

    whole = evaluate()
    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 512)  # a few dozen rows per batch
    pieces = evaluate()
    assert [(r["group"], r["class"], r["n"]) for r in pieces] == [
        (r["group"], r["class"], r["n"]) for r in whole
    ]
    for a, b in zip(whole, pieces):
        for key in ("value", "ci_low", "ci_high"):
            assert b[key] == pytest.approx(a[key], rel=1e-12)
