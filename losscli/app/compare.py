"""``losscli compare``: did the candidate model get worse than the baseline?

Both prediction files are scored against their targets in one streaming pass
each; the targets must be the same (rows aligned by order, or by ``--key``).
For every loss and ``--group`` value the result holds the baseline and
candidate values, the difference d = candidate − baseline, the relative difference
d / |baseline|, and a paired percentile bootstrap interval of d
(``losscli.engine.bootstrap``). Losses are lower-is-better, so the worsening is d; for
higher-is-better metrics (D², resolution) it is −d; a metric that describes the
targets only (Brier uncertainty) never regresses. A regression is a worsening
beyond the allowance: worsening > max(--tolerance, --rel-tolerance · |baseline|)
(0 when neither is given) that is also significant: its paired interval lies wholly
on the worse side of 0 (above 0 for a loss, below 0 for a higher-is-better metric).
A worsening beyond the allowance whose interval reaches 0 is "within noise" and
passes. ``--no-require-significant`` drops the significance condition, and so does
``--bootstrap 0`` (no interval, so the point difference alone decides). Every result
says why it got its verdict (``reason``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from losscli._lazy import np
from losscli._version import __version__
from losscli.app.thresholds import better
from losscli.binding.libraries import normalize_library
from losscli.engine import bootstrap
from losscli.engine.backend import backend_for
from losscli.engine.passes import (
    Selected,
    bind_reduction,
    group_by,
    group_order,
    located,
    usable_selection,
    with_group_values,
)
from losscli.engine.scoring import Scored
from losscli.errors import InputError, UsageError
from losscli.io.input_options import InputSpec
from losscli.kernel.distinct import distinct
from losscli.kernel.streaming import SUMMARIES, PartialSums

SCHEMA = "losscli.compare/1"


def check_aligned(base: Scored, cand: Scored, key: str | None) -> None:
    """Both files must hold the same rows (or keys) and the same targets. Rows that
    ``--dropna`` left out of one file and not the other are said to be the cause."""
    try:
        _check_aligned(base, cand, key)
    except InputError as exc:
        if not (base.dropped or cand.dropped):
            raise
        raise InputError(
            f"--dropna dropped {base.dropped} row(s) of {base.path} and {cand.dropped} of "
            f"{cand.path}, so the rows left do not pair: {exc}",
            hint="compare pairs rows, so both files must miss cells on the same rows: fill "
            "the missing cells, or drop those rows from both files",
        ) from None


def _check_aligned(base: Scored, cand: Scored, key: str | None) -> None:
    if key is not None:
        _check_keys(base, cand, key)
    elif base.rows - base.dropped != cand.rows - cand.dropped:
        kept_base, kept_cand = base.rows - base.dropped, cand.rows - cand.dropped
        diff = abs(kept_base - kept_cand)
        raise InputError(
            f"{base.path} has {kept_base} rows but {cand.path} has {kept_cand} "
            f"({diff} {'more' if kept_cand > kept_base else 'fewer'} in the candidate)",
            hint="compare pairs rows by their order; pair them by an id column with --key COL",
        )
    a, b = base.checksum, cand.checksum
    scale = np.maximum(np.abs(a), np.abs(b)) + 1.0
    differ = np.any(np.abs(a - b) > 1e-9 * scale, axis=1)
    if np.any(differ):
        units = np.flatnonzero(differ)
        if key is None and base.rows <= bootstrap.UNITS:
            where = f"{len(units)} row(s), first at row {int(units[0])}"
        elif key is None:
            where = (
                f"{len(units)} of {bootstrap.UNITS} blocks of rows (row i is in block "
                f"i mod {bootstrap.UNITS}), first in block {int(units[0])}"
            )
        else:
            where = f"{len(units)} of {bootstrap.UNITS} blocks of keys"
        gap = float(np.max(np.abs(a - b) / scale))
        if gap < 1e-5:  # rounding, not other rows: a float32 or short-digit export
            raise InputError(
                f"{base.path} and {cand.path} do not hold the same targets: they differ in "
                f"{where}, by at most {gap:.1e} relative, as when one file's targets were "
                "rounded (saved as float32, or with fewer digits)",
                hint="write the targets of both files at full precision (float64, "
                "to_csv without float_format)",
            )
        raise InputError(
            f"{base.path} and {cand.path} do not hold the same targets: they differ in {where}",
            hint="both files must score the same rows against the same targets"
            + ("; pair rows by an id column with --key COL" if key is None else ""),
        )


def _check_keys(base: Scored, cand: Scored, key: str) -> None:
    """One row per key in each file, and the same keys in both; an error names the first
    offending row of each file (the keys are held as hashes, rows in reading order)."""
    for scored in (base, cand):
        uniq = distinct(scored.keys)
        if len(uniq) != len(scored.keys):
            again, first = _first_repeat(scored.keys)
            raise InputError(
                f"{scored.path}: column {key!r} has {len(scored.keys) - len(uniq)} duplicate "
                f"key(s): {_row(scored, again)} repeats the key of {_row(scored, first)}",
                hint="--key needs one row per key in each file",
            )
    lacking = ~np.isin(base.keys, cand.keys)
    foreign = ~np.isin(cand.keys, base.keys)
    if lacking.any() or foreign.any():
        first = []
        if lacking.any():
            row = _row(base, int(np.argmax(lacking)))
            first.append(f"{row} of {base.path} has a key {cand.path} lacks")
        if foreign.any():
            row = _row(cand, int(np.argmax(foreign)))
            first.append(f"{row} of {cand.path} has a key {base.path} lacks")
        raise InputError(
            f"{cand.path}: {int(lacking.sum())} key(s) of {base.path} are missing and "
            f"{int(foreign.sum())} key(s) are not in it (column {key!r}); first, "
            + " and ".join(first),
            hint="both files must hold the same keys, one row each (the same type too: "
            "1 and 1.0 are different keys)",
        )


def _first_repeat(keys: Any) -> tuple[int, int]:
    """The first row whose key an earlier row has, and that earlier row."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    same = np.flatnonzero(ranked[1:] == ranked[:-1])
    again = order[same + 1]
    k = int(np.argmin(again))
    first = int(np.flatnonzero(keys == keys[again[k]])[0])
    return int(again[k]), first


def _row(scored: Scored, i: int) -> str:
    """The i-th row read, as errors name rows (the i-th kept one, after --dropna)."""
    return f"row {i}" if not scored.dropped else f"row {i} of those kept by --dropna"


@dataclass
class Rule:
    """When a worsening counts as a regression."""

    tolerance: float | None = None
    rel_tolerance: float | None = None
    require_significant: bool = True

    def allowance(self, baseline: float) -> float:
        """max(ABS, FRAC·|baseline|): the worsening that is still tolerated."""
        return max(self.tolerance or 0.0, (self.rel_tolerance or 0.0) * abs(baseline))

    def as_dict(self) -> dict[str, Any]:
        return {
            "tolerance": self.tolerance,
            "rel_tolerance": self.rel_tolerance,
            "require_significant": self.require_significant,
        }


def _value(sel: Selected, sums: PartialSums, reduction: str, scored: Scored, group: Any) -> float:
    try:
        return sel.objective.compute(sums, reduction)
    except InputError as exc:  # the weights sum to 0, or a metric is undefined
        raise located(exc, sel, scored.source, group) from None


def _interval(
    sel: Selected,
    base: bootstrap.UnitSums,
    cand: bootstrap.UnitSums,
    reduction: str,
    replicates: int,
    confidence: float,
    seed: Any,
) -> tuple[float, float]:
    occupied = base.occupied()

    def compute(sums: Any) -> float:
        return sel.objective.compute(sums, reduction)

    b, c = bootstrap.replicates_of(compute, [base.sums, cand.sums], occupied, replicates, seed)
    return bootstrap.interval(c - b, confidence)


def results(
    base: Scored,
    cand: Scored,
    selected: Sequence[Selected],
    *,
    reduction: str,
    rule: Rule,
    replicates: int,
    confidence: float,
    seed: int,
) -> list[dict[str, Any]]:
    """One result per (loss, group): values, difference, interval, verdict."""
    out = []
    for sel, tb, tc in zip(selected, base.tallies, cand.tallies):
        rows = [(None, tb.overall, tc.overall, tb.n, tb.units, tc.units, seed)]
        names = sorted(set(tb.groups) | set(tc.groups), key=group_order(sel.plan.group))
        for i, name in enumerate(names):
            if name not in tb.groups or name not in tc.groups:
                raise InputError(
                    f"group {name!r} is in only one of {base.path} and {cand.path}",
                    hint="both files must hold the same rows",
                )
            rows.append(
                (
                    name,
                    tb.groups[name],
                    tc.groups[name],
                    tb.group_n[name],
                    tb.group_units.get(name),
                    tc.group_units.get(name),
                    [seed, i + 1],
                )
            )
        direction = better(sel.objective)
        for name, sb, sc, n, ub, uc, group_seed in rows:
            vb = _value(sel, sb, reduction, base, name)
            vc = _value(sel, sc, reduction, cand, name)
            rounding = _rounding(vb, vc, direction)
            diff = _unrounded(vc - vb, rounding)
            result: dict[str, Any] = {
                "loss": sel.label,
                "params": sel.objective.user_params(),
                "group": name,
                "n": int(n),
                "better": direction,
                "baseline": vb,
                "candidate": vc,
                "difference": diff,
                "relative_difference": diff / abs(vb) if vb != 0 else None,
                "ci_low": None,
                "ci_high": None,
            }
            if replicates and ub is not None:
                lo, hi = _interval(sel, ub, uc, reduction, replicates, confidence, group_seed)
                result["ci_low"], result["ci_high"] = (_unrounded(x, rounding) for x in (lo, hi))
            sign = {"lower": 1.0, "higher": -1.0}.get(direction, 0.0)
            lo, hi = result["ci_low"], result["ci_high"]
            if lo is not None and not (math.isfinite(lo) and math.isfinite(hi)):
                lo = hi = result["ci_low"] = result["ci_high"] = None  # no replicate computed
            # significant: the interval lies wholly on the worse side (None: no interval,
            # or no worse side for a metric of the targets alone)
            significant = None if lo is None or sign == 0 else bool(lo > 0 if sign > 0 else hi < 0)
            allowance = rule.allowance(vb)
            beyond = sign != 0 and sign * diff > allowance
            worse = beyond and (not rule.require_significant or significant is not False)
            if sign != 0 and not math.isfinite(vc):
                worse = True  # an overflowed or undefined candidate is never a pass
            result["significant"] = significant
            result["regression"] = bool(worse)
            result["reason"] = _reason(result, sign, allowance, rule, confidence)
            out.append(result)
    return out


#: differences within this fraction of the larger value are rounding, not a change: the
#: two files' sums were added in another order (another layout, rows joined by --key),
#: which moves a value by about 1e-14 of itself over millions of rows; taken as 0, an
#: identical model is never a regression
ROUNDING = 1e-12


def _rounding(vb: float, vc: float, direction: str | None) -> float:
    """How far two values of one loss may differ by rounding alone: ``ROUNDING`` of the
    larger, and of 1 for a higher-is-better score (R², D², accuracy: 1 − a ratio, whose
    rounding is the ratio's, near 1 where the score is near 0)."""
    if not math.isfinite(vb + vc):
        return 0.0
    scale = max(abs(vb), abs(vc), 1.0 if direction == "higher" else 0.0)
    return ROUNDING * scale


def _unrounded(x: float, rounding: float) -> float:
    """``x``, or 0.0 where it is within ``rounding`` of 0."""
    return 0.0 if abs(x) <= rounding else x


def _reason(
    result: dict[str, Any], sign: float, allowance: float, rule: Rule, confidence: float
) -> str:
    """Why a result got its verdict, in words: "+0.04%, within noise (…)"."""
    diff, rel = result["difference"], result["relative_difference"]
    base, cand = result["baseline"], result["candidate"]
    if not (math.isfinite(base) and math.isfinite(cand)):
        if sign == 0:
            return "a metric of the targets alone: never a regression"
        if math.isfinite(base):
            return f"the candidate's value is {cand:g}: not a finite number (rescale the columns)"
        if math.isfinite(cand):
            return f"better: the baseline's value is {base:g}, the candidate's finite"
        return f"not comparable: the values are {base:g} and {cand:g} (rescale the columns)"
    change = f"{rel:+.2%}" if rel is not None else f"{diff:+.6g}"
    if diff == 0:
        if base == cand:
            return "no change"
        return (
            f"no change: the values differ by {cand - base:+.3g}, the rounding of sums added "
            "in another order (another file layout or row order)"
        )
    if sign == 0:
        return f"{change}, a metric of the targets alone: never a regression"
    worsening = sign * diff
    if worsening < 0:
        return f"{change}, better"
    if worsening <= allowance:
        return f"{change}, within tolerance (up to {allowance:.4g})"
    lo, hi = result["ci_low"], result["ci_high"]
    side = "above" if sign > 0 else "below"
    interval = None if lo is None else f"{confidence:.0%} interval [{lo:+.4g}, {hi:+.4g}]"
    beyond = "beyond the tolerance" if allowance > 0 else "worse"
    if interval is None:
        return f"{change}, {beyond} (no interval: the point difference decides)"
    if result["significant"]:
        return f"{change}, {beyond} and significant ({interval} lies {side} 0)"
    where = "includes 0" if lo <= 0 <= hi else f"lies {'below' if sign > 0 else 'above'} 0"
    if rule.require_significant:
        return f"{change}, within noise ({interval} {where})"
    return f"{change}, {beyond} (not significant: {interval} {where})"


def compare(
    baseline: str,
    candidate: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    *,
    reduction: str = "mean",
    bootstrap_replicates: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    tolerance: float | None = None,
    rel_tolerance: float | None = None,
    require_significant: bool | None = None,
    note: Callable[[str], None] | None = None,
    top: int = 0,
) -> dict[str, Any]:
    """Score both files and compare them: the ``losscli.compare/1`` document.

    Without ``loss`` the task is inferred from the baseline and its losses are compared.
    ``top`` (K > 0) adds ``worse_rows``: each loss's K rows with the largest
    ΔLᵢ = Lᵢ(candidate) − Lᵢ(baseline) (``engine.paired_rows``), from a second pass over
    both files once they are known to hold the same rows.

    ``inputs.key`` pairs the rows of the two files by an id column (else by order).
    ``require_significant`` (default: when there is an interval, i.e. with bootstrap
    replicates) counts a worsening beyond the tolerance as a regression only when its
    paired interval lies wholly on the worse side; ``False`` counts every such worsening.
    On the Dask backend each Parquet dataset is scored as tasks over its partitions.
    """
    from losscli.app.evaluation import said_once
    from losscli.app.reading import kept_rows_note, prepare
    from losscli.engine.logits import quiet

    note = said_once(note or quiet)
    if reduction not in SUMMARIES:
        raise UsageError(
            f"compare reduces with mean, mean_with_sample_weight, sum, median, max or p95, not {reduction!r}"
        )
    bootstrap.check_settings(bootstrap_replicates, confidence, seed)
    for flag, value in (("--tolerance", tolerance), ("--rel-tolerance", rel_tolerance)):
        if value is not None and not value >= 0:
            raise UsageError(f"{flag} {value}: must be >= 0")
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise UsageError(f"top is a number of rows (>= 1), not {top!r}")
    if require_significant and not bootstrap_replicates:
        raise UsageError("--require-significant needs a bootstrap interval (--bootstrap N > 0)")
    if require_significant is None:
        require_significant = bootstrap_replicates > 0
    backend = backend_for(inputs.engine, inputs.scheduler, baseline)
    backend_for(inputs.engine, inputs.scheduler, candidate)
    key = inputs.key
    readings = []
    inferred_losses = loss is None
    for path in (baseline, candidate):
        reading, inferred = prepare(
            path, loss, inputs, params, note=note, replay=False, pair_by_key=key is not None
        )
        if loss is None and inferred is not None:  # the candidate's losses are the baseline's
            loss = inferred.evaluated or inferred.losses
        # inferred losses the reduction leaves out: from both files alike, noted once
        usable_selection(reading.selected, reduction, inferred_losses, note)
        bind_reduction(reading.selected, reduction)
        readings.append(reading)
    group = readings[0].selected[0].plan.group  # the columns, as the file names them
    options = {"key": key, "group": group, "resample": bootstrap_replicates > 0}
    base, cand = backend.score(readings, options, note, inputs.from_logits)
    selected = readings[0].selected
    kept_rows_note(selected, base.rows - base.dropped + cand.rows - cand.dropped, note)
    check_aligned(base, cand, key)
    rule = Rule(tolerance, rel_tolerance, require_significant)
    rows = results(
        base,
        cand,
        selected,
        reduction=reduction,
        rule=rule,
        replicates=bootstrap_replicates,
        confidence=confidence,
        seed=seed,
    )
    with_group_values(rows, group)
    regressions = [{"loss": r["loss"], "group": r["group"]} for r in rows if r["regression"]]
    doc = {
        "schema": SCHEMA,
        "version": __version__,
        "baseline": {"path": base.path, "rows": base.rows, "rows_dropped": base.dropped},
        "candidate": {"path": cand.path, "rows": cand.rows, "rows_dropped": cand.dropped},
        "key": key,
        "group": group_by(group),
        "reduction": reduction,
        "convention": normalize_library(inputs.convention) if inputs.convention else None,
        "bootstrap": {
            "replicates": bootstrap_replicates,
            "confidence": confidence,
            "seed": seed,
            "units": bootstrap.UNITS,
        }
        if bootstrap_replicates
        else None,
        "rule": rule.as_dict(),
        "results": rows,
        "regressions": regressions,
        "passed": not regressions,
    }
    if top:
        doc["worse_rows"] = _worse_rows(readings, top, key, note)
    return doc


def _worse_rows(
    readings: Sequence[Any], k: int, key: str | None, note: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Each lower-is-better loss's K rows that got worse most (``engine.paired_rows``)."""
    from losscli.engine.paired_rows import worse_rows
    from losscli.engine.top_rows import unranked_reason

    selected = readings[0].selected
    ranked = []
    for sel in selected:
        reason = unranked_reason(sel)
        if reason is None and better(sel.objective) != "lower":
            reason = f"{sel.label} is higher-is-better and has no per-row loss"
        if reason is not None:
            note(f"rows that got worse: {reason}; its rows are not ranked")
        ranked.append(reason is None)
    if not any(ranked):
        if readings[0].keep:  # the kept columns would have no row to stand beside
            raise UsageError(
                "--keep shows columns beside the rows that got worse, and no loss here ranks its rows",
                hint="add a loss with per-row values (e.g. mse, bce, cross_entropy), or drop --keep",
            )
        return []
    lists = worse_rows(readings[0].reopen(), readings[1].reopen(), ranked, k, key)
    return [{"loss": sel.label, "rows": w.rows()} for sel, w in zip(selected, lists) if w]


def compare_files(
    baseline: str,
    candidate: str,
    loss: str,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | None = None,
    key: str | None = None,
    reduction: str = "mean",
    from_logits: bool | None = None,
    dropna: bool = False,
    input_format: str | None = None,
    params: dict[str, Any] | None = None,
    convention: str | None = None,
    bootstrap_replicates: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    tolerance: float | None = None,
    rel_tolerance: float | None = None,
    require_significant: bool | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    note: Callable[[str], None] | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    pos_label: str | None = None,
) -> dict[str, Any]:
    """``compare`` with the input options as keywords (the Python API)."""
    from losscli.app.evaluation import api_inputs

    inputs = api_inputs(locals())
    return compare(
        baseline,
        candidate,
        loss,
        inputs,
        params,
        reduction=reduction,
        bootstrap_replicates=bootstrap_replicates,
        confidence=confidence,
        seed=seed,
        tolerance=tolerance,
        rel_tolerance=rel_tolerance,
        require_significant=require_significant,
        note=note,
    )


# ---- the verdict in words (every output of compare and report BASE CAND) ----


def rule_text(rule: Mapping[str, Any]) -> str:
    """The rule a change must meet, from the document's ``rule``: ``Δ <= 0.01·|baseline| or
    not significant`` (Δ is the worsening: candidate − baseline for a loss, its negative
    for a higher-is-better metric)."""
    parts = []
    if rule["tolerance"] is not None:
        parts.append(f"Δ <= {rule['tolerance']:g}")
    if rule["rel_tolerance"] is not None:
        parts.append(f"Δ <= {rule['rel_tolerance']:g}·|baseline|")
    text = " or ".join(parts) or "Δ <= 0"
    if rule["require_significant"]:
        text += " or not significant"
    return text


def verdict(result: Mapping[str, Any]) -> str:
    """One result's verdict as the table shows it: REGRESSION, better, ok, within noise,
    within tolerance, or - (a metric of the targets alone that changed)."""
    if result["regression"]:
        return "REGRESSION"
    sign = {"lower": 1.0, "higher": -1.0}.get(result["better"])
    if sign is None:  # a metric of the targets alone: no direction
        return "ok" if result["difference"] == 0 else "-"
    worsening = sign * result["difference"]
    if worsening < 0:
        return "better"
    if worsening == 0:
        return "ok"
    # a worsening beyond the tolerance that passed: its interval reaches 0
    return "within noise" if ", within noise" in result.get("reason", "") else "within tolerance"


def _name(result: Mapping[str, Any]) -> str:
    """``mse [east]``: a group value's control characters escaped (it is read from input)."""
    from losscli.errors import printable

    group = result["group"]
    return result["loss"] if group is None else f"{result['loss']} [{printable(str(group))}]"


def summary(doc: Mapping[str, Any], shown: int = 2) -> str:
    """One line: what was compared, whether the candidate regressed, and why a worse
    value still passed ("mse +0.04%, within noise (…)")."""
    if doc["passed"]:
        line = f"passed: {doc['candidate']['path']} is no worse than {doc['baseline']['path']}"
        why = [  # the reason without its details: "mse +0.04%, within noise"
            f"{_name(r)} {r['reason'].split(' (')[0]}"
            for r in doc["results"]
            if verdict(r) in ("within noise", "within tolerance")
        ]
        if len(why) > shown:
            why = [*why[:shown], f"{len(why) - shown} more within noise or tolerance"]
        return f"{line}: {'; '.join(why)}" if why else line
    worse = ", ".join(_name(r) for r in doc["regressions"])
    return (
        f"regression: {doc['candidate']['path']} is worse than {doc['baseline']['path']} on {worse}"
    )
