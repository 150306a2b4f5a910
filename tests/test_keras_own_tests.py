"""Keras 3's own loss tests, replayed through the CLI under ``--convention keras``.

The cases are data in ``fixtures/keras_own_tests.json`` (copied from
keras/src/losses/losses_test.py, commit and test name in each case). Each in-scope case is
written as the CSV a user would export (one row per sample, one column per output; timestep
data one row per timestep with its weight) and run as
``losscli eval FILE --loss … --convention keras --format json``. A case Keras's test checks
and losscli cannot yet reproduce is an ``xfail(strict=True)`` with the gap named in GAPS.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import cli

FIXTURES = Path(__file__).with_name("fixtures") / "keras_own_tests.json"
CASES = json.loads(FIXTURES.read_text())["cases"]
IN_SCOPE = [c for c in CASES if "out_of_scope" not in c]
OUT_OF_SCOPE = [c for c in CASES if "out_of_scope" in c]

# case id -> the gap it shows (strict xfail until the gap is closed).
GAPS: dict[str, str] = {}


def _columns(values, prefix):
    width = len(values[0]) if isinstance(values[0], list) else 0
    return [f"{prefix}{i}" for i in range(width)] if width else [prefix]


def write_csv(case, path: Path) -> tuple[list[str], list[str], str | None]:
    y, p = case["y"], case["p"]
    ycols, pcols = _columns(y, "y"), _columns(p, "p")
    n = len(y)
    w = case["weight"]
    weights = None if w is None else (list(w) if isinstance(w, list) else [w] * n)
    header = ycols + pcols + (["w"] if weights is not None else [])
    lines = [",".join(header)]
    for i in range(n):
        row = (y[i] if isinstance(y[i], list) else [y[i]]) + (
            p[i] if isinstance(p[i], list) else [p[i]]
        )
        if weights is not None:
            row = [*row, weights[i]]
        lines.append(",".join(repr(float(v)) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return ycols, pcols, ("w" if weights is not None else None)


def run_case(case, tmp_path, capsys):
    path = tmp_path / "preds.csv"
    ycols, pcols, wcol = write_csv(case, path)
    spec = case["loss"]
    if case["params"]:  # inline parameters, as 'huber(delta=0.8)'
        spec += "(" + ",".join(f"{k}={v}" for k, v in case["params"].items()) + ")"
    args = ["eval", path, "--loss", spec, "-t", ",".join(ycols), "-p", ",".join(pcols)]
    args += ["--convention", "keras", "--format", "json", "-q", "--reduction", case["reduction"]]
    if wcol:
        args += ["--weight", wcol]
    if case["from_logits"] is not None:
        args.append("--from-logits" if case["from_logits"] else "--no-from-logits")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    if case["reduction"] == "none":
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        # the loss's column under its canonical name: weighted_NAME with --weight
        (column,) = [
            k
            for k in rows[0]
            if k not in ("row", "weight") and k.startswith("weighted_") == bool(wcol)
        ]
        return [r[column] for r in rows]
    (result,) = json.loads(out)["results"]
    return result["value"]


def _param(case):
    marks = []
    if case["id"] in GAPS:
        marks.append(pytest.mark.xfail(strict=True, reason=f"gap: {GAPS[case['id']]}"))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in IN_SCOPE])
def test_keras_own_case(case, tmp_path, capsys):
    got = run_case(case, tmp_path, capsys)
    t = case["tolerance"]
    np.testing.assert_allclose(
        got, case["expected"], rtol=t["rtol"], atol=t["atol"], err_msg=case["id"]
    )


def test_every_gap_names_an_in_scope_case():
    assert set(GAPS) <= {c["id"] for c in IN_SCOPE}


@pytest.mark.parametrize("case", OUT_OF_SCOPE, ids=[c["id"] for c in OUT_OF_SCOPE])
def test_out_of_scope_cases_give_a_reason(case):
    assert case["out_of_scope"].strip()
    assert case["source"]["commit"] and case["source"]["test"]


@pytest.mark.parametrize(
    "loss,y,p",
    [
        ("msle", [[1, 9, 2], [-5, -2, 6]], [[4, 8, 12], [8, 1, 3]]),
        ("cross_entropy", [[1, 0, 0], [0, 1, 0]], [[0.9, 0.05, 0.05], [0.5, 0.89, 0.6]]),
        ("kl_div", [[0.5, 0.8, 0.12], [0.7, 0.43, 0.8]], [[0.4, 0.9, 0.12], [0.36, 0.3, 0.4]]),
        ("kl_div", [0.5, 0.8], [0.4, 0.9]),
        ("dice", [[1, 2], [1, 2]], [[4, 1], [6, 1]]),
        ("multi_hinge", [[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]]),
    ],
    ids=[
        "msle-negative",
        "cross_entropy-row-sum",
        "kl_div-row-sum",
        "kl_div-one-class",
        "dice-outside-0-1",
        "multi_hinge-all-zero-row",
    ],
)
def test_default_stays_strict_where_keras_computes(loss, y, p, tmp_path, capsys):
    """Without --convention the inputs Keras accepts are refused, as before."""
    case = {"y": y, "p": p, "weight": None}
    ycols, pcols, _ = write_csv(case, tmp_path / "preds.csv")
    code, out, err = cli(
        capsys,
        "eval",
        tmp_path / "preds.csv",
        "--loss",
        loss,
        "-t",
        ",".join(ycols),
        "-p",
        ",".join(pcols),
    )
    assert code == 2 and out == "", err


def _weighted_file(tmp_path: Path) -> Path:
    path = tmp_path / "weighted.csv"
    path.write_text("y,p,w\n1,4,1.2\n-5,8,3.4\n2,2,0.5\n")
    return path


@pytest.mark.parametrize("convention", [(), ("--convention", "keras")], ids=["default", "keras"])
def test_mean_with_sample_weight_divides_by_the_weights(convention, tmp_path, capsys):
    """Σw·L/Σw under every convention; Keras's plain mean (sum_over_batch_size) divides by n."""
    path = _weighted_file(tmp_path)
    w, e2 = np.array([1.2, 3.4, 0.5]), np.array([9.0, 169.0, 0.0])
    values = {}
    for reduction in ("mean", "mean_with_sample_weight"):
        args = ["eval", path, "-l", "mse", "-t", "y", "-p", "p", "--weight", "w", *convention]
        code, out, err = cli(capsys, *args, "--reduction", reduction, "-f", "json", "-q")
        assert code == 0, err
        (result,) = json.loads(out)["results"]
        assert result["reduction"] == reduction
        values[reduction] = result["value"]
    assert values["mean_with_sample_weight"] == pytest.approx(np.sum(w * e2) / np.sum(w))
    keras_mean = np.sum(w * e2) / 3 if convention else np.sum(w * e2) / np.sum(w)
    assert values["mean"] == pytest.approx(keras_mean)


def test_mean_with_sample_weight_gradient_under_keras(tmp_path, capsys):
    path = _weighted_file(tmp_path)
    args = ["grad", path, "-l", "mse", "-t", "y", "-p", "p", "--weight", "w"]
    code, out, err = cli(
        capsys, *args, "--convention", "keras", "--reduction", "mean_with_sample_weight", "-q"
    )
    assert code == 0, err
    grads = [float(line.split(",")[1]) for line in out.splitlines()[1:]]
    w, e = np.array([1.2, 3.4, 0.5]), np.array([3.0, 13.0, 0.0])
    np.testing.assert_allclose(grads, 2 * w * e / np.sum(w))


def _keras_binary_focal(y, p, gamma, alpha, ls, eps=1e-7):
    """keras.losses.binary_focal_crossentropy as its code computes it (float64)."""
    y = y * (1 - ls) + 0.5 * ls
    pc = np.clip(p, eps, 1 - eps)
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    p_t = y * p + (1 - y) * (1 - p)
    loss = (1 - p_t) ** gamma * bce
    if alpha is not None:  # apply_class_balancing=True
        loss = (y * alpha + (1 - y) * (1 - alpha)) * loss
    return loss.mean(axis=-1)


def _keras_categorical_focal(onehot, p, gamma, alpha, ls, eps=1e-7):
    """keras.losses.categorical_focal_crossentropy as its code computes it (float64)."""
    t = onehot * (1 - ls) + ls / onehot.shape[1]
    q = np.clip(p / p.sum(axis=1, keepdims=True), eps, 1 - eps)
    return np.sum(alpha * (1 - q) ** gamma * -t * np.log(q), axis=1)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("logits", [False, True], ids=["probabilities", "logits"])
@pytest.mark.parametrize(
    "kind,params",
    [
        ("binary", {"label_smoothing": 0.1}),
        ("binary", {"label_smoothing": 0.3, "gamma": 0.5, "alpha": 0.25}),
        ("categorical", {"label_smoothing": 0.1}),
        ("categorical", {"label_smoothing": 0.2, "gamma": 3.0, "alpha": 0.5}),
    ],
    ids=["binary", "binary-alpha", "categorical", "categorical-alpha"],
)
def test_focal_label_smoothing_as_keras_computes_it(kind, params, logits, tmp_path, capsys):
    rng = np.random.default_rng(7)
    n, k = 12, 3
    labels = rng.integers(0, k if kind == "categorical" else 2, n)
    x = rng.normal(0, 2, (n, k)) if logits else rng.dirichlet(np.ones(k), n)
    if kind == "binary":
        x = x[:, 0] if logits else rng.uniform(0.01, 0.99, n)
        p = _sigmoid(x) if logits else x
        y = labels.astype(float)
        gamma, alpha, ls = params.get("gamma", 2.0), params.get("alpha"), params["label_smoothing"]
        rows = _keras_binary_focal(y[:, None], p[:, None], gamma, alpha, ls)
        case = {"y": y.tolist(), "p": x.tolist(), "weight": None}
        loss = "binary_focal"
    else:
        onehot = np.eye(k)[labels]
        p = _softmax(x) if logits else x
        alpha = params.get("alpha", 0.25)
        rows = _keras_categorical_focal(
            onehot, p, params.get("gamma", 2.0), alpha, params["label_smoothing"]
        )
        case = {"y": onehot.tolist(), "p": x.tolist(), "weight": None}
        loss = "categorical_focal"
    ycols, pcols, _ = write_csv(case, tmp_path / "preds.csv")
    spec = loss + "(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")"
    args = ["eval", tmp_path / "preds.csv", "-l", spec, "-t", ",".join(ycols)]
    args += ["-p", ",".join(pcols), "--convention", "keras", "-f", "json", "-q"]
    args.append("--from-logits" if logits else "--no-from-logits")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    np.testing.assert_allclose(result["value"], rows.mean(), rtol=1e-12)


@pytest.mark.parametrize("convention", [(), ("--convention", "torch")], ids=["default", "torch"])
def test_focal_label_smoothing_is_keras_only(convention, tmp_path, capsys):
    path = tmp_path / "preds.csv"
    path.write_text("y,p\n1,0.8\n0,0.3\n")
    args = ["eval", path, "-l", "focal(label_smoothing=0.1)", "-t", "y", "-p", "p"]
    code, out, err = cli(capsys, *args, *convention)
    assert code == 2 and out == ""
    assert "label_smoothing" in err and "--convention keras" in err


def test_shared_label_smoothing_reaches_focal_only_under_keras(tmp_path, capsys):
    """--label-smoothing goes to every selected loss that takes it: focal takes it only under
    --convention keras, so without it focal's value and reported parameters are as before."""
    path = tmp_path / "preds.csv"
    path.write_text("y,p\n1,0.8\n0,0.3\n")
    values = {}
    for convention in ((), ("--convention", "keras")):
        args = ["eval", path, "-l", "focal,binary_focal", "-t", "y", "-p", "p", "-f", "json"]
        code, out, err = cli(capsys, *args, "--label-smoothing", "0.1", "-q", *convention)
        if not convention:  # no selected loss takes it: an error that names the convention
            assert code == 2 and "--convention keras" in err
            continue
        assert code == 0, err
        values = {r["loss"]: r for r in json.loads(out)["results"]}
    assert values["focal"]["params"]["label_smoothing"] == 0.1
    y, p = np.array([1.0, 0.0]), np.array([0.8, 0.3])
    want = _keras_binary_focal(y[:, None], p[:, None], 2.0, None, 0.1).mean()
    np.testing.assert_allclose(values["binary_focal"]["value"], want, rtol=1e-12)
    code, out, err = cli(
        capsys,
        "eval",
        path,
        "-l",
        "bce,focal",
        "-t",
        "y",
        "-p",
        "p",
        "-f",
        "json",
        "-q",
        "--label-smoothing",
        "0.1",
    )
    assert code == 0, err
    focal = json.loads(out)["results"][1]
    assert "label_smoothing" not in focal["params"]
    p_t = np.array([0.8, 0.7])
    np.testing.assert_allclose(focal["value"], np.mean(-((1 - p_t) ** 2) * np.log(p_t)))


def test_weighted_bce_clips_as_keras_bce_does(tmp_path, capsys):
    """Class weights are sample weights on Keras's BinaryCrossentropy: the same float32 clip
    bounds (1 − 1e-7 rounds to 1 − 1.19e-7), so p = 1 with y = 0 costs w₀·15.94."""
    path = tmp_path / "preds.csv"
    y, p = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.3, 0.0, 1e-50, 0.6]
    path.write_text("y,p\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(y, p)))
    args = ["eval", path, "-t", "y", "-p", "p", "--convention", "keras", "-q", "-f", "json"]
    code, out, err = cli(capsys, *args, "-l", "bce", "--reduction", "none")
    assert code == 0, err
    bce = np.array([json.loads(line)["bce"] for line in out.splitlines()])
    lo, hi = float(np.float32(1e-7)), float(np.float32(1 - 1e-7))
    pc = np.clip(p, lo, hi)
    np.testing.assert_allclose(
        bce, -(np.multiply(y, np.log(pc)) + np.subtract(1, y) * np.log1p(-pc))
    )
    code, out, err = cli(capsys, *args, "-l", "weighted_bce(class_weights=[2,3])")
    assert code == 0, err
    w = np.where(np.array(y) == 1, 3.0, 2.0)
    np.testing.assert_allclose(json.loads(out)["results"][0]["value"], np.mean(w * bce), rtol=1e-12)


def _page_sections() -> dict[str, dict[str, str]]:
    """docs/own-tests-keras.md: each '## ' section's table rows, case id -> last cell."""
    page = (Path(__file__).parents[1] / "docs" / "own-tests-keras.md").read_text("utf-8")
    sections: dict[str, dict[str, str]] = {}
    for part in page.split("\n## ")[1:]:
        title, _, body = part.partition("\n")
        rows = [line for line in body.splitlines() if line.startswith("| ")][2:]
        cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
        sections[title] = {c[0]: c[-1].replace("\\|", "|") for c in cells}
    return sections


def test_the_docs_page_quotes_the_counts_and_lists_every_case():
    """The page's counts and its three tables match the fixture and GAPS, case by case; after
    a change run python tests/fixtures/make_keras_own_tests_page.py."""
    import importlib.util

    page = (Path(__file__).parents[1] / "docs" / "own-tests-keras.md").read_text("utf-8")
    agreeing = len(IN_SCOPE) - len(GAPS)
    assert (
        f"In scope: {len(IN_SCOPE)} cases; agreeing: {agreeing}; xfail gaps: {len(GAPS)}; "
        f"out of scope: {len(OUT_OF_SCOPE)} cases." in page
    )
    sections = _page_sections()
    assert list(sections) == [
        "Agreeing",
        "Gaps left (strict xfail), and why",
        "Out of scope, and why",
    ]
    ok, gaps, skipped = sections.values()
    assert set(ok) == {c["id"] for c in IN_SCOPE if c["id"] not in GAPS}
    assert gaps == GAPS
    assert skipped == {c["id"]: c["out_of_scope"] for c in OUT_OF_SCOPE}
    maker = Path(__file__).with_name("fixtures") / "make_keras_own_tests_page.py"
    spec = importlib.util.spec_from_file_location("make_keras_own_tests_page", maker)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert page == module.render(json.loads(FIXTURES.read_text()), GAPS)
