"""``--per-class``: what a class row is for each loss, and how the rows recombine.

A loss splits in one of three ways (``Kernel.breakdown``):

- **by true class** (``label``): cross_entropy, perplexity, nll, multi_hinge,
  multi_margin and multi-class focal, by the row's label c; bce, weighted_bce, brier and
  focal on one 0/1 column, by the target 0 or 1. J_c is the loss of the rows whose
  label is c, reduced as J is. With ``mean`` the overall value is the weighted mean of
  the class values, J = Σ_c W_c·J_c / Σ_c W_c (W_c: the class's sum of weights, its row
  count n_c without ``--weight``; ``ignore_index`` rows belong to no class); with ``sum``,
  J = Σ_c J_c.
- **by output column** (``column``): multilabel bce, weighted_bce, brier and focal (one
  row per label column), and regression losses with m ≥ 2 target/prediction column
  pairs. J_j is the loss of pair j alone; as Lᵢ is the mean over the m columns,
  J = (1/m)·Σ_j J_j.
- **each class's own ratio** (``overlap``): dice, iou and tversky; J_c = 1 − score_c from
  the class's sums TP_c, ΣY_c, ΣP_c over all rows, and J = (1/K)·Σ_c J_c, which is how
  K-class Dice is defined. One foreground column is one class, named ``1``.

rmse and perplexity transform a mean: their J² and log J recombine as above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from losscli.errors import UsageError
from losscli.kernel.streaming import Batch

BY = {"label": "true class", "column": "output column", "overlap": "class overlap"}


@dataclass(frozen=True)
class ClassSplit:
    """How one selected loss splits into class rows, and the classes' names."""

    kind: str  # label | column | overlap
    names: tuple[str, ...]
    combine: str  # the recombination rule, for the output

    def describe(self, loss: str) -> dict[str, Any]:
        """The ``per_class[]`` entry of the eval JSON document."""
        return {
            "loss": loss,
            "by": BY[self.kind],
            "classes": list(self.names),
            "combine": self.combine,
        }


def split_for(
    label: str,
    objective: Any,
    target: Sequence[str],
    inputs: Sequence[Sequence[str]],
    classes: Sequence[str] | None,
    reduction: str,
) -> ClassSplit:
    """The class split of one loss on its columns; a loss without one is a usage error."""
    predictions = len(inputs[0]) if inputs else 0
    kind = objective.breakdown(len(target), predictions)
    if kind is None:
        raise _no_breakdown(label, objective, len(target), predictions)
    if kind == "label":
        names = tuple(classes) if predictions > 1 and classes else ("0", "1")
    elif kind == "column":
        names = _unique(classes, len(target)) or _unique(target, len(target))
        names = names or tuple(str(j) for j in range(len(target)))
    else:
        names = tuple(classes) if predictions > 1 and classes else ("1",)
    return ClassSplit(kind, names, combine_rule(kind, objective.combines, reduction))


def _unique(names: Sequence[str] | None, count: int) -> tuple[str, ...] | None:
    if names and len(names) == count and len(set(names)) == count:
        return tuple(names)
    return None


def combine_rule(kind: str, combines: str, reduction: str) -> str:
    """How the class values J_c give the overall J, in words a reader can check."""
    if combines == "per term":
        return "each term of the combination recombines by its own rule"
    if kind == "label":
        rule = (
            "Σ_c J_c"
            if reduction == "sum"
            else "Σ_c W_c·J_c / Σ_c W_c (W_c: the class's total weight, n_c without --weight)"
        )
        lhs = "J"
    elif kind == "column":
        rule, lhs = "(1/m)·Σ_j J_j over the m columns", "J"
    else:
        rule, lhs = "(1/K)·Σ_c J_c over the K classes", "J"
    if combines != "J":
        rule = rule.replace("J_c", combines.replace("J", "J_c")).replace(
            "J_j", combines.replace("J", "J_j")
        )
        lhs = combines
    return f"{lhs} = {rule}"


def _no_breakdown(label: str, objective: Any, targets: int, predictions: int) -> UsageError:
    terms = getattr(objective, "terms", [])
    kinds = [(t.name, t.breakdown(targets, predictions)) for _, t in terms]
    if kinds and all(k for _, k in kinds):
        how = ", ".join(f"{name} by {BY[k]}" for name, k in kinds)
        return UsageError(
            f"--per-class: the terms of {label} split differently ({how})",
            hint="evaluate the terms as separate losses with --per-class, e.g. --loss "
            + ",".join(dict.fromkeys(name for name, _ in kinds)),
        )
    columns = objective.breakdown(2, 2) == "column"
    if columns:
        message = f"--per-class: {label} on one target column has no per-class breakdown"
        hint = f"{label} splits by output column: give several pairs, e.g. --target 'y_*' --pred 'p_*'; "
    else:
        message = f"--per-class: {label} has no per-class breakdown"
        hint = ""
    return UsageError(message, hint=hint + "losses with one: " + with_breakdown())


def with_breakdown() -> str:
    """Which registered losses split into classes, and how (for error hints and docs)."""
    from losscli.losses.registry import all_losses

    by_class, by_column = [], []
    for loss in all_losses():
        kernel = loss.kernel
        if kernel.breakdown(1, 1) or kernel.breakdown(1, 3):
            by_class.append(loss.name)
        elif kernel.breakdown(2, 2):
            by_column.append(loss.name)
    parts = []
    if by_class:
        parts.append(f"{', '.join(by_class)} (by class, or by label column)")
    if by_column:
        parts.append(f"{', '.join(by_column)} (by column, given several target/prediction pairs)")
    return "; ".join(parts)


def column_batch(batch: Batch, j: int) -> Batch:
    """The batch of output column j alone (target and every 2-D input sliced)."""
    return batch.replace(
        target=batch.target[:, j],
        preds=tuple(p[:, j] if p.ndim == 2 else p for p in batch.preds),
    )
