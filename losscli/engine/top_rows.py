"""``eval --top K``: the K rows with the largest per-row loss Lᵢ, per loss and per group.

Streaming with bounded memory: each batch offers its own K largest Lᵢ (``argpartition``,
no sort of the batch), which are merged with the K kept so far; nothing else of the file
is held. Rows are ranked by Lᵢ, largest first (a NaN Lᵢ ranks above every number), ties
by row number, so the list is that of sorting ``--reduction none`` output and does not
depend on batch sizes. Each row carries its row number, the ``--keep`` columns, the group
column, and the target, prediction and weight columns the loss read, as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.engine.passes import Frame, Selected, group_slices
from losscli.errors import UsageError
from losscli.io.sink import json_cell
from losscli.kernel.streaming import Batch


def shown_columns(sel: Selected, keep: Sequence[str], key: str | None = None) -> list[str]:
    """The cells a listed row shows: the key, the --keep columns, the group columns, then
    the loss's target, prediction and weight columns, each once."""
    plan = sel.plan
    read = [*plan.target, *(c for cols in plan.inputs for c in cols), plan.weight]
    return list(dict.fromkeys(c for c in [key, *keep, *plan.group, *read] if c))


@dataclass
class WorstRows:
    """One loss's K worst rows: overall (key None) and per group (key: the group's name)."""

    k: int
    columns: list[str]  # --keep columns, then the loss's target, prediction, weight columns
    group: tuple[str, ...] = ()
    ranked: bool = True  # False for a loss without per-row values (rmse, Dice-type, …)
    kept: dict[str | None, list[tuple[float, int, dict[str, Any], float]]] = field(
        default_factory=dict
    )

    @classmethod
    def of(cls, k: int, sel: Selected, keep: tuple[str, ...], key: str | None = None) -> WorstRows:
        columns = shown_columns(sel, keep, key)
        return cls(k, columns, sel.plan.group, ranked=unranked_reason(sel) is None)

    def add(self, sel: Selected, batch: Batch, frame: Frame, shared: Any) -> None:
        """Offer one batch's rows (``passes.BatchAdder``)."""
        if not self.ranked:
            return
        losses = np.asarray(sel.objective.rows(batch), dtype=np.float64)
        self._offer(None, losses, frame, None)
        if self.group:
            for name, where in group_slices(frame, self.group):
                self._offer(name, losses[where], frame, where)

    def finish(self) -> None:
        pass

    def fresh(self) -> WorstRows:
        """An empty list for another part of the file (read in parallel)."""
        return WorstRows(self.k, self.columns, self.group, self.ranked)

    def merge(self, other: WorstRows) -> None:
        """Take the rows of another part (numbered by their place in the input): the K
        worst of both, ranked as one list."""
        for key, rows in other.kept.items():
            self.kept[key] = first_k(self.kept.get(key, []) + rows, self.k)

    def _offer(self, key: str | None, losses: Any, frame: Frame, where: Any) -> None:
        rank = np.where(np.isnan(losses), np.inf, losses)
        kept = self.kept.get(key, [])
        if len(kept) < self.k:
            chosen = largest(rank, self.k)
        else:  # a row below the K-th kept value cannot enter the list: only the others
            candidates = np.flatnonzero(rank >= -kept[-1][0])
            if not candidates.size:
                return
            chosen = candidates[largest(rank[candidates], self.k)]
        at = chosen if where is None else where[chosen]
        rows = frame.rows[at]
        offered = [
            (-float(rank[i]), int(r), cells(frame, self.columns, int(j)), float(losses[i]))
            for i, j, r in zip(chosen.tolist(), at.tolist(), rows.tolist())
        ]
        self.kept[key] = first_k(self.kept.get(key, []) + offered, self.k)

    def rows(self, key: str | None) -> list[dict[str, Any]]:
        """The ranked rows of the whole file (None) or of one group."""
        return [
            {"rank": i + 1, "row": row, "value": value, "columns": cells}
            for i, (_, row, cells, value) in enumerate(self.kept.get(key, []))
        ]


def unranked_reason(sel: Selected) -> str | None:
    """Why a loss's rows cannot be ranked by Lᵢ batch by batch (None: they can). A loss has
    per-row values when it takes ``--reduction none`` or is bound to a row statistic
    (median, max, p95, which only such losses take); circle's Lᵢ needs every row."""
    from losscli.kernel.streaming import ROW_STATISTICS

    if getattr(sel.objective, "rows_need_sums", False):
        return f"{sel.label}: each row's loss needs every row (--reduction none writes them)"
    for reduction in ("none", *ROW_STATISTICS):
        try:
            sel.objective.check_reduction(reduction)
        except UsageError:
            continue
        return None
    return f"{sel.label} has no per-row loss"


_ASKED_FOR_ROWS = {
    "--top": "--top lists rows",
    "--keep": "--keep copies columns into the worst rows, listed",
}


def require_ranked(selected: Sequence[Selected], drop: str = "--top") -> None:
    """``--top`` needs a loss whose rows can be ranked: refused before the file is read.
    ``drop`` is the option the hint offers to leave out (``report``'s ``--top`` has a
    default; there ``--keep`` asked for the rows)."""
    reasons = [unranked_reason(sel) for sel in selected]
    if all(reasons):
        asked = _ASKED_FOR_ROWS[drop]
        raise UsageError(
            f"{asked} by their per-row loss Lᵢ: {'; '.join(reasons)}",
            hint=f"add a loss with per-row values (e.g. mse, bce, cross_entropy), or drop {drop}",
        )


def first_k(entries: list[tuple], k: int) -> list[tuple]:
    """The first k of ``(−rank, row, …)`` entries: largest rank first, ties to the earlier row."""
    return sorted(entries, key=lambda e: (e[0], e[1]))[:k]


def largest(rank: Any, k: int) -> Any:
    """Indices of the k largest values, ties to the earliest rows, in row order."""
    n = len(rank)
    if n <= k:
        return np.arange(n)
    threshold = rank[np.argpartition(rank, n - k)[n - k :]].min()
    above = np.flatnonzero(rank > threshold)
    ties = np.flatnonzero(rank == threshold)[: k - len(above)]
    return np.sort(np.concatenate([above, ties]))


def cells(frame: Frame, columns: Sequence[str], j: int) -> dict[str, Any]:
    """One row's cells of ``columns``: numbers as floats, text as read, kept as read (a
    date, time or decimal as its text, so the document stays JSON)."""
    out: dict[str, Any] = {}
    for c in columns:
        if c in frame.carried:
            out[c] = json_cell(frame.carried[c][j].as_py())
        elif c in frame.texts:
            codes, cats = frame.texts[c]
            out[c] = cats[codes[j]]
        elif c in frame.numbers:
            out[c] = float(frame.numbers[c][j])
    return out
