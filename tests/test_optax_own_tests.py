"""optax's own loss tests replayed through the CLI under ``--convention optax``.

The numbers live in ``tests/fixtures/optax_own_tests.json`` (carried over from
google-deepmind/optax ``optax/losses/*_test.py``, the commit named there). Each case
is written as the CSV a user would export, one row per sample, and run through
``losscli eval FILE --loss … --convention optax --format json``. Cases the optax test
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
_L2 = (
    "optax.losses.l2_loss is ½(ŷ − y)²; losscli's l2 is an alias of mse (no ½), and no "
    "convention option halves it"
)
_SAFE = (
    "losscli has no safe_softmax_cross_entropy (optax: logits of -inf give 0·(-inf) = 0, "
    "a row with all-inf logits a finite or inf loss)"
)
_SPARSEMAX = (
    "losscli has no sparsemax loss (optax.losses.sparsemax_loss / multiclass_sparsemax_loss)"
)
_GKL = "losscli has no generalized KL, Σ t(log t − log p) − t + p (optax.losses.generalized_kl_divergence)"
_PERCEPTRON = (
    "losscli has no binary perceptron loss relu(−y·s) (optax.losses.perceptron_loss); hinge has "
    "no margin parameter to set to 0"
)
_NTXENT = (
    "losscli has no NT-Xent (optax.losses.ntxent: in-batch contrastive over all pairs of rows)"
)
GAPS: dict[str, str] = {
    "sparsemax_binary": _SPARSEMAX,
    "sparsemax_batched_binary": _SPARSEMAX,
    "multiclass_sparsemax_zero_loss": _SPARSEMAX,
    "generalized_kl_scalar": _GKL,
    "generalized_kl_batched": _GKL,
    "perceptron_binary": _PERCEPTRON,
    "perceptron_batched_binary": _PERCEPTRON,
    "ntxent_0": _NTXENT,
    "ntxent_1": _NTXENT,
    "ntxent_2": _NTXENT,
    "l2_loss_scalar": _L2,
    "l2_loss_batched": _L2,
    "safe_softmax_ce_scalar": _SAFE,
    "safe_softmax_ce_batched": _SAFE,
}


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
    args = ["eval", path, "--loss", spec, "--convention", "optax", "--format", "json"]
    if case["target"]:
        args += ["-t", ",".join(case["target"])]
    for group in case.get("pred_groups") or [",".join(case["pred"])]:
        args += ["-p", group]
    if "from_logits" in case:
        args.append("--from-logits" if case["from_logits"] else "--no-from-logits")
    args += ["--reduction", case["reduction"]]
    code, out, err = cli(capsys, *args)
    assert code == 0, [line for line in err.splitlines() if line.startswith("error")]
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
