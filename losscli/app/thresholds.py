"""Thresholds on a loss or metric: ``--fail-above``/``--fail-below`` and a check's
``fail_above``/``fail_below`` keys, in one place.

``fail_above`` gates lower-is-better losses (fails when the value is above the limit),
``fail_below`` higher-is-better metrics such as D² (fails below it); a metric that
describes the targets alone (neither direction) takes no threshold. A threshold names
a loss by its label, its name or an alias, or names none and applies to every loss of
its direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from losscli.errors import LossCliError, UsageError

#: each kind of threshold: the flag that sets it and the direction of what it gates
KINDS = {"fail_above": ("--fail-above", "lower"), "fail_below": ("--fail-below", "higher")}


#: the reason of a loss a check evaluates but no threshold names: reported, not gated
NOT_GATED = "no threshold applies to this loss"


def other_kind(kind: str) -> str:
    return "fail_below" if kind == "fail_above" else "fail_above"


def kind_for(direction: str) -> str:
    """The threshold that gates a direction: fail_above for "lower", fail_below for "higher"."""
    return next(k for k, (_, way) in KINDS.items() if way == direction)


def better(objective: Any) -> str | None:
    """Which way is better for a bound objective: "lower", "higher" or None (see
    ``Loss.better``). Composites combine losses only, so they are lower-is-better."""
    from losscli.binding.objective import BoundLoss

    return objective.loss.better if isinstance(objective, BoundLoss) else "lower"


def passes(kind: str, value: float, limit: float) -> bool:
    """Whether ``value`` is within ``limit`` (at the limit passes)."""
    return bool(value <= limit if kind == "fail_above" else value >= limit)


def rule(kind: str, limit: float) -> str:
    """``<= 0.3`` or ``>= 0.65``: the rule a value must meet."""
    return f"<= {limit:g}" if kind == "fail_above" else f">= {limit:g}"


def parse(items: Sequence[str], kind: str) -> list[tuple[str | None, float]]:
    """``huber=0.3`` or ``0.3`` (every loss of the direction) → [(loss or None, limit)]."""
    flag = KINDS[kind][0]
    out = []
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            out.append((name.strip() or None, float(value)))
        except ValueError:
            example = "huber=0.3" if kind == "fail_above" else "d2_tweedie=0.2"
            raise UsageError(f"{flag} {item!r}: expected [LOSS=]VALUE, e.g. {example}") from None
    return out


def canonical(label: str) -> str | None:
    """The registered name of a loss label (``l2`` → ``mse``), None for a composite."""
    from losscli.losses.registry import get_loss

    try:
        return get_loss(label.split("(")[0].strip()).name
    except LossCliError:
        return None


def names(name: str, label: str, objective: Any = None) -> bool:
    """Whether a threshold's loss name designates the loss of ``label``: the label
    itself, or the same registered loss under its name or an alias."""
    from losscli.binding.objective import BoundLoss

    if name.replace(" ", "") == label.replace(" ", ""):
        return True
    if objective is not None and not isinstance(objective, BoundLoss):
        return False  # a composite is named by its spec
    wanted = canonical(name)
    return wanted is not None and wanted == canonical(label)


def limit_for(limits: Any, label: str) -> float | None:
    """A check's threshold for a loss label: one number for every loss, or a table of
    limits by name or alias (``{ mse = 1.2 }``)."""
    if limits is None:
        return None
    if isinstance(limits, (int, float)):
        return float(limits)
    return next((float(v) for name, v in limits.items() if names(name, label)), None)


def gated(kind: str, name: str | None, limit: float, selected: Sequence[Any]) -> list[Any]:
    """The selected losses (``.label``, ``.objective``) a ``--fail-above``/``--fail-below``
    applies to; a named one of the wrong direction, or none, is a usage error."""
    flag, direction = KINDS[kind]
    if name is None:
        targets = [s for s in selected if better(s.objective) == direction]
        if not targets:
            raise UsageError(
                f"{flag} {limit:g}: no selected loss is {direction}-is-better",
                hint=f"{', '.join(s.label for s in selected)}: gate them with "
                f"{KINDS[other_kind(kind)][0]}",
            )
        return targets
    targets = [s for s in selected if names(name, s.label, s.objective)]
    if not targets:
        raise UsageError(
            f"{flag} {name}={limit:g}: {name!r} is not one of the selected losses",
            hint=f"selected: {', '.join(s.label for s in selected)}",
        )
    for sel in targets:
        way = better(sel.objective)
        if way is None:
            raise UsageError(
                f"{flag} {name}={limit:g}: {sel.label} describes the targets, not the model; "
                "neither higher nor lower is better, so it takes no threshold"
            )
        if way != direction:
            raise UsageError(
                f"{flag} {name}={limit:g}: {sel.label} is {way}-is-better",
                hint=f"gate it with {KINDS[kind_for(way)][0]} {name}={limit:g}",
            )
    return targets


def checks(
    thresholds: Sequence[tuple[str, str | None, float]],
    selected: Sequence[Any],
    results: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The ``checks`` of an eval document: each threshold against each loss it gates."""
    out = []
    overall = {r["loss"]: r for r in results if r["group"] is None and r.get("class") is None}
    for kind, name, limit in thresholds:
        for sel in gated(kind, name, limit, selected):
            value = overall[sel.label]["value"]
            out.append(
                {
                    "loss": sel.label,
                    kind: limit,
                    "value": value,
                    "passed": passes(kind, value, limit),
                }
            )
    return out
