"""Loss recommendations: from the guideline table for a task, or from a file's evidence.

``for_task`` returns what the guidelines say about a task: ranked losses with
why, activation, key parameters and the ``losscli eval`` command to try each,
and the pitfalls. ``for_file`` reads a predictions file (``losscli.app.evidence``),
infers the task and turns the evidence into advice with numbers, each piece
naming the evidence that triggered it:

- a Huber δ = 1.345·σ̂ with σ̂ = 1.4826·MAD of the residuals (Huber's tuning
  constant for 95% efficiency at Gaussian errors, times the robust scale);
- robust losses first when the residuals are heavy-tailed (≥ 1% beyond 3σ̂,
  where Gaussian errors put 0.27%, or excess kurtosis ≥ 1);
- class weights n / (K·n_c) and a focal α = 1 − (positive share) from the class
  shares when the minority class is rare;
- ``--from-logits`` when predictions fall outside [0, 1] (log-rates for counts);
- Tweedie beside Poisson when counts are over-dispersed (variance ≥ 1.5× mean)
  or have many zeros (≥ 30%).

Both return one JSON-ready record (schema ``losscli.recommend/1``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli import __version__
from losscli.app.guidelines import PITFALLS, Pick, TaskGuide, activations_of, task_guide
from losscli.io.input_options import InputSpec
from losscli.losses.registry import get_loss, normalize_task

SCHEMA = "losscli.recommend/1"
OVERDISPERSED = 1.5  # variance / mean of counts at or above which Tweedie is suggested
MANY_ZEROS = 0.30


@dataclass
class Advice:
    """One ranked recommendation."""

    loss: str
    spec: str
    why: str
    params: str = ""
    guideline: str = ""
    evidence: list[str] = field(default_factory=list)
    suggested: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    error: str | None = None


def _num(x: float) -> str:
    """A suggested parameter as it goes into a spec: 4 significant digits."""
    return f"{x:.4g}"


def _spec(loss: str, params: dict[str, Any]) -> str:
    if not params:
        return loss
    parts = []
    for k, v in params.items():
        text = "[" + ",".join(_num(x) for x in v) + "]" if isinstance(v, list) else _num(v)
        parts.append(f"{k}={text}")
    return f"{loss}({','.join(parts)})"


def _activation(loss: str) -> str:
    rows = activations_of(loss)
    if rows:
        return rows[0].activation
    explain = get_loss(loss).explain
    return explain.activation if explain else ""


def _from_pick(pick: Pick) -> Advice:
    return Advice(pick.loss, pick.loss_spec, pick.why, pick.params, pick.seed)


def _command(path: str, spec: str, flags: Sequence[str]) -> str:
    return " ".join(["losscli", "eval", shlex.quote(path), "--loss", shlex.quote(spec), *flags])


def _reading(opts: InputSpec) -> list[str]:
    """The --delimiter, --decimal, --pos-label and --dropna given (report's): the file is
    read the same way."""
    given = [
        ("--delimiter", "tab" if opts.delimiter == "\t" else opts.delimiter),
        ("--decimal", None if opts.decimal == "." else opts.decimal),
        ("--pos-label", opts.pos_label),
    ]
    flags = [f"{flag} {shlex.quote(value)}" for flag, value in given if value is not None]
    return [*flags, "--dropna"] if opts.dropna else flags


def _record(
    guide: TaskGuide,
    advice: list[Advice],
    path: str,
    flags_for: Callable[[str], list[str]],
    pitfalls: Sequence[str],
) -> dict[str, Any]:
    recs = []
    for rank, a in enumerate(advice, start=1):
        recs.append(
            {
                "rank": rank,
                "loss": a.loss,
                "spec": a.spec,
                "why": a.why,
                "activation": _activation(a.loss),
                "params": a.params or None,
                "suggested": a.suggested or None,
                "evidence": a.evidence,
                "guideline": a.guideline or None,
                "command": _command(path, a.spec, flags_for(a.loss)),
            }
        )
    return {
        "schema": SCHEMA,
        "version": __version__,
        "task": guide.task,
        "title": guide.title,
        "target": guide.target,
        "activation": guide.activation,
        "input": None,
        "evidence": None,
        "findings": [],
        "recommendations": recs,
        "pitfalls": [PITFALLS[key].text for key in dict.fromkeys(pitfalls)],
    }


def for_task(task: str) -> dict[str, Any]:
    """The guideline table's recommendations for a task (any accepted spelling)."""
    guide = task_guide(normalize_task(task))
    advice = [_from_pick(p) for p in guide.picks]
    return _record(guide, advice, "FILE", lambda loss: [], guide.pitfalls)


def for_file(
    path: str, inputs: InputSpec, *, evaluate: bool = False, evidence: Any = None
) -> dict[str, Any]:
    """Infer the task of a predictions file and recommend losses from its evidence
    (``inputs``: its target and prediction columns, its format and dialect). ``evidence``:
    what ``evidence.gather`` would find, already gathered (``losscli report``'s pass)."""
    from losscli.app.evidence import gather
    from losscli.errors import UsageError
    from losscli.io.batches import read_header
    from losscli.io.sources import detect_format

    if evaluate and path == "-":
        raise UsageError(
            "--evaluate reads the input twice, which stdin cannot do",
            hint="save the predictions to a file and pass its path",
        )
    target, pred = inputs.target, inputs.pred
    source = detect_format(path, inputs.input_format, inputs.dialect)
    if evidence is None:
        ev = gather(source, read_header(source), list(target), list(pred))
    else:  # the header was read (and its text columns sniffed) by the pass that gathered it
        ev = evidence
    source.pending = None
    advice, findings, pitfalls = _advise(ev)
    guide = task_guide(ev.task)

    columns: list[str] = []
    for t in target or (ev.target if ev.task == "distribution" else ()):
        columns += ["--target", shlex.quote(t)]
    for p in ev.pred_args or pred:
        columns += ["--pred", shlex.quote(p)]
    group_flags = ["--group", shlex.quote(ev.group)] if ev.group else []

    def flags_for(loss: str) -> list[str]:
        logits = ["--from-logits"] if ev.logits and get_loss(loss).logits else []
        return [*columns, *logits, *group_flags, *_reading(inputs)]

    record = _record(guide, advice, path, flags_for, [*guide.pitfalls, *pitfalls])
    record["input"] = {
        "path": source.name,
        "rows": ev.rows,
        "target": ev.target,
        "predictions": ev.predictions,
    }
    record["evidence"] = ev.as_dict()
    record["findings"] = findings
    if evaluate:
        _evaluate(path, ev, advice, record, inputs)
    return record


def _evaluate(
    path: str,
    ev: Any,
    advice: list[Advice],
    record: dict[str, Any],
    inputs: InputSpec,
) -> None:
    """Each recommended loss's value on the file: one pass for all of them."""
    from dataclasses import replace

    from losscli.app.evaluation import evaluate
    from losscli.errors import LossCliError

    read = replace(
        inputs,
        target=inputs.target or (tuple(ev.target) if ev.task == "distribution" else ()),
        pred=tuple(ev.pred_args or inputs.pred),
        from_logits=ev.logits and any(get_loss(a.loss).logits for a in advice),
    )

    def run(specs: list[str]) -> list[float]:
        doc = evaluate(path, ",".join(specs), read)
        return [r["value"] for r in doc["results"] if r["group"] is None]

    specs = [a.spec for a in advice]
    try:
        values: list[float | None] = list(run(specs))
        errors: list[str | None] = [None] * len(specs)
    except LossCliError:  # one loss does not fit: evaluate them one by one
        values, errors = [], []
        for spec in specs:
            try:
                values.append(run([spec])[0])
                errors.append(None)
            except LossCliError as exc:
                values.append(None)
                errors.append(exc.message)
    for rec, value, error in zip(record["recommendations"], values, errors):
        rec["value"] = value
        if error:
            rec["error"] = error


def _share(x: float) -> str:
    return f"{x:.2%}"


def _advise(ev: Any) -> tuple[list[Advice], list[str], list[str]]:
    """Ranked advice, the findings in words, and extra pitfall keys, from the evidence."""
    findings: list[str] = []
    pitfalls: list[str] = []
    if ev.task == "similarity":
        return _advise_similarity(ev, findings)
    if ev.pred_min is not None:
        kind = "probabilities" if not ev.logits else "scores/logits (outside [0, 1])"
        if ev.task in ("regression", "robust-regression"):
            kind = ""  # any real value: nothing to say of it
        elif ev.task == "counts":
            kind = "log-rates (negative values)" if ev.logits else "rates (non-negative)"
        findings.append(
            f"predictions {', '.join(ev.predictions)} range over "
            f"[{ev.pred_min:.4g}, {ev.pred_max:.4g}]" + (f": {kind}" if kind else "")
        )
    if ev.rows_sum_to_one is not None:
        findings.append(
            f"{_share(ev.rows_sum_to_one)} of rows have predictions summing to 1 "
            + ("(softmax probabilities)" if ev.rows_sum_to_one >= 0.99 else "(not a softmax)")
        )
    if ev.task in ("regression", "robust-regression"):
        return _advise_regression(ev, findings), findings, pitfalls
    if ev.task == "counts":
        return _advise_counts(ev, findings), findings, pitfalls
    if ev.class_counts:
        findings.append(_class_finding(ev))
    if ev.task == "multilabel":
        if ev.rows_sum_to_one is not None and ev.rows_sum_to_one >= 0.99:
            pitfalls.append("softmax-multilabel")
            findings.append(
                "the label probabilities sum to 1 on every row: they look like a softmax, "
                "but multilabel needs a sigmoid per label"
            )
        return _advise_multilabel(ev), findings, pitfalls
    if ev.task == "distribution":
        return (
            [
                _advice_from("distribution", "kl_div"),
                _advice_from("distribution", "cross_entropy"),
            ],
            findings,
            pitfalls,
        )
    if ev.group:
        findings.append(f"rows are grouped by {ev.group!r}: results per value with --group")
    if ev.task == "segmentation":
        return _advise_segmentation(ev), findings, pitfalls
    if ev.task == "sequence":
        return _advise_sequence(ev), findings, pitfalls
    if ev.target_kind == "margin":
        return _advise_margin(ev), findings, pitfalls
    if ev.imbalanced:
        ev.task = "imbalanced"
        return _advise_imbalanced(ev), findings, pitfalls
    if ev.task == "binary":
        balance = f"classes balanced enough: minority share {_share(ev.minority_share)} ≥ 20%"
        return (
            [
                _advice_from("binary", "bce", [balance]),
                _advice_from("binary", "brier"),
            ],
            findings,
            pitfalls,
        )
    balance = (
        f"classes balanced enough: smallest share {_share(ev.minority_share)} ≥ "
        f"{_share(ev.imbalance_threshold)}"
    )
    advice = [_advice_from("multiclass", "cross_entropy", [balance])]
    advice.append(_advice_from("multiclass", "focal"))
    if ev.logits:
        advice.append(
            _advice_from("multiclass", "multi_hinge", ["predictions are raw scores (logits)"])
        )
    return advice, findings, pitfalls


def _advice_from(
    task: str, loss: str, evidence: Sequence[str] = (), params: dict[str, Any] | None = None
) -> Advice:
    """The guideline pick for ``loss`` under ``task``, with evidence and suggested params."""
    pick = next(p for p in task_guide(task).picks if p.loss == loss)
    advice = _from_pick(pick)
    advice.evidence = list(evidence)
    if params:
        advice.suggested = dict(params)
        advice.spec = _spec(loss, params)
    return advice


def _class_finding(ev: Any) -> str:
    if ev.target_kind == "multilabel":
        rates = ", ".join(f"{c} {_share(s)}" for c, s in zip(ev.classes, ev.shares))
        return (
            f"{len(ev.classes)} 0/1 labels; positive rates {rates}; rarest side "
            f"{_share(ev.minority_share)} (imbalanced under 20%)"
        )
    shares = ", ".join(
        f"{c}: {n} ({_share(s)})" for c, n, s in zip(ev.classes, ev.class_counts, ev.shares)
    )
    verdict = "imbalanced" if ev.imbalanced else "not imbalanced"
    return (
        f"target {', '.join(ev.target)}: {len(ev.classes)} classes over {ev.rows} rows — {shares}; "
        f"minority share {_share(ev.minority_share)} vs threshold "
        f"{_share(ev.imbalance_threshold)}: {verdict}"
    )


def _advise_regression(ev: Any, findings: list[str]) -> list[Advice]:
    r = ev.residuals
    if r is None:
        return [_advice_from("regression", p.loss) for p in task_guide("regression").picks]
    sample = f" (first {r.n} rows)" if r.sampled else ""
    scale = r.robust_scale
    findings.append(
        f"residuals r = y − ŷ over {r.n} rows{sample}: median {r.median:.4g}, "
        f"MAD {r.mad:.4g}, robust σ̂ = 1.4826·MAD = {scale:.4g}, std {r.std:.4g}"
    )
    findings.append(
        f"{_share(r.outlier_share)} of residuals lie beyond 3σ̂ = {3 * scale:.4g} "
        "(0.27% for Gaussian errors); excess kurtosis "
        f"{r.kurtosis:.3g} (0 for Gaussian errors)"
    )
    tails = (
        f"{_share(r.outlier_share)} of residuals beyond 3σ̂ (≥ 1% means outliers)"
        if r.outlier_share >= 0.01
        else f"excess kurtosis {r.kurtosis:.3g} ≥ 1 (heavy tails)"
    )
    huber_params = {"delta": 1.345 * scale} if scale > 0 else None
    delta_evidence = (
        [f"δ = 1.345·σ̂ = 1.345 × {scale:.4g} = {1.345 * scale:.4g}"] if scale > 0 else []
    )
    if r.heavy_tailed:
        return [
            _advice_from("robust-regression", "huber", [tails, *delta_evidence], huber_params),
            _advice_from("robust-regression", "mae", [tails]),
            _advice_from("robust-regression", "log_cosh", [tails]),
            _advice_from(
                "regression",
                "mse",
                [f"kept for comparison: {tails}, which dominate a squared error"],
            ),
        ]
    calm = (
        f"residuals look Gaussian: {_share(r.outlier_share)} beyond 3σ̂ (< 1%), "
        f"excess kurtosis {r.kurtosis:.3g} (< 1)"
    )
    return [
        _advice_from("regression", "mse", [calm]),
        _advice_from("regression", "huber", delta_evidence, huber_params),
        _advice_from("regression", "mae"),
        _advice_from("regression", "rmse"),
    ]


def _advise_counts(ev: Any, findings: list[str]) -> list[Advice]:
    mean, var, zeros = ev.count_mean, ev.count_var, ev.zero_share
    ratio = var / mean if mean else float("inf")
    findings.append(
        f"target {ev.target[0]}: non-negative integer counts; mean {mean:.4g}, variance "
        f"{var:.4g} (variance/mean {ratio:.3g}; 1 for Poisson), zeros {_share(zeros)}"
    )
    evidence = ["non-negative integer target"]
    if ev.logits:
        evidence.append("predictions go below 0: log-rates, so --from-logits")
    advice = [_advice_from("counts", "poisson", evidence)]
    why = []
    if ratio >= OVERDISPERSED:
        why.append(f"variance/mean {ratio:.3g} ≥ {OVERDISPERSED}: over-dispersed")
    if zeros >= MANY_ZEROS:
        why.append(f"{_share(zeros)} zeros ≥ {MANY_ZEROS:.0%}")
    if ev.logits:  # tweedie reads rates: its try command would refuse the log-rates
        if why:
            findings.append(
                f"{'; '.join(why)}: Tweedie suits such counts, but it reads rates, not "
                "log-rates (evaluate it on exp of these predictions)"
            )
        return advice
    tweedie = _advice_from("counts", "tweedie", why)
    if why:
        advice.insert(0, tweedie)
    else:
        advice.append(tweedie)
    if not ev.logits:
        advice += [_advice_from("counts", "mse"), _advice_from("counts", "mae")]
    return advice


def _advise_imbalanced(ev: Any) -> list[Advice]:
    weights = ev.class_weights()
    counts = ", ".join(f"{c}: {n}" for c, n in zip(ev.classes, ev.class_counts))
    n, k = sum(ev.class_counts), len(ev.class_counts)
    weight_text = ", ".join(f"{c} → {w:.4g}" for c, w in zip(ev.classes, weights))
    weight_evidence = f"class weights n/(K·n_c) with n = {n}, K = {k} ({counts}): {weight_text}"
    rare = f"minority share {_share(ev.minority_share)} < {_share(ev.imbalance_threshold)}"
    if ev.task == "imbalanced" and k == 2:
        positive = ev.shares[1]
        alpha = 1.0 - positive
        weighted = _advice_from(
            "imbalanced", "weighted_bce", [rare, weight_evidence], {"class_weights": weights}
        )
        # The file's own numbers, not the guideline's formula alone.
        n0, n1 = ev.class_counts
        weighted.params = (
            f"class_weights: w_c = n / (2·n_c), here {weight_text} for {_share(positive)} "
            f"positives; or pos_weight = n₀ / n₁ = {n0}/{n1} = {_num(n0 / n1)}"
        )
        return [
            _advice_from(
                "imbalanced",
                "focal",
                [rare, f"α = 1 − positive share = 1 − {positive:.4g} = {alpha:.4g}"],
                {"gamma": 2.0, "alpha": alpha},
            ),
            weighted,
            _advice_from("binary", "bce", ["unweighted baseline beside the weighted losses"]),
            _advice_from("imbalanced", "brier"),
        ]
    return [
        _advice_from(
            "imbalanced", "cross_entropy", [rare, weight_evidence], {"class_weights": weights}
        ),
        _advice_from(
            "imbalanced", "focal", [rare, weight_evidence], {"gamma": 2.0, "class_weights": weights}
        ),
        _advice_from("multiclass", "cross_entropy", ["unweighted baseline"]),
    ]


def _advise_multilabel(ev: Any) -> list[Advice]:
    advice = [_advice_from("multilabel", "bce", [f"{len(ev.classes)} independent 0/1 labels"])]
    focal = _advice_from("multilabel", "focal")
    if ev.imbalanced:
        focal.evidence = [f"a label's rarer side is {_share(ev.minority_share)} < 20%"]
        advice.insert(0, focal)
    else:
        advice.append(focal)
    advice.append(_advice_from("multilabel", "brier"))
    return advice


def _advise_segmentation(ev: Any) -> list[Advice]:
    group = f"pixels grouped by {ev.group!r}: per-image overlap with --group {ev.group}"
    advice = [
        _advice_from("segmentation", "dice", [group]),
        _advice_from("segmentation", "iou", [group]),
    ]
    tversky = _advice_from("segmentation", "tversky")
    if ev.imbalanced:
        tversky.evidence = [f"foreground share {_share(ev.minority_share)} is small: weight recall"]
    advice += [tversky, _advice_from("segmentation", "bce")]
    return advice


def _advise_sequence(ev: Any) -> list[Advice]:
    group = f"tokens grouped by {ev.group!r}: per-sequence values with --group {ev.group}"
    return [
        _advice_from("sequence", "cross_entropy", [group]),
        _advice_from("sequence", "perplexity", [group]),
    ]


def _advise_margin(ev: Any) -> list[Advice]:
    evidence = ["±1 targets and raw scores: margin losses"]
    return [
        _advice_from("binary", "hinge", evidence),
        _advice_from("binary", "squared_hinge", evidence),
    ]


def _advise_similarity(ev: Any, findings: list[str]) -> tuple[list[Advice], list[str], list[str]]:
    findings.append(
        f"columns {', '.join(ev.predictions)} are laid out for {ev.layout} "
        f"(--pred {' --pred '.join(ev.pred_args)})"
    )
    advice = _advice_from("similarity", ev.layout, [f"column layout: {', '.join(ev.pred_args)}"])
    return [advice], findings, []
