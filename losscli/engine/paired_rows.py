"""``losscli report BASE CAND``: the rows whose loss got worse most, per loss.

Each row i that both files hold gets ΔLᵢ = Lᵢ(candidate) − Lᵢ(baseline), its per-row loss
in the candidate's file less that in the baseline's; of the rows whose loss rose (ΔLᵢ > 0,
or NaN), the K with the largest ΔLᵢ are kept (a NaN ranks above every number, ties to the
earlier row), as ``--top`` keeps
the rows with the largest Lᵢ (``top_rows``), so the list is that of sorting the
difference of the two files' ``--reduction none`` outputs.

Rows paired by order are read from both files side by side, batch against batch: memory
holds one batch of each. Rows paired by a key column (``--key``) cannot be: the
baseline's pass keeps each row's key hash, row number and Lᵢ (8 bytes each per row and
loss, as ``compare --key`` keeps the key hashes), then the candidate's rows look theirs up.
Each listed row carries the candidate's cells (key, ``--keep`` columns, group, target,
prediction, weight) and the baseline's prediction cells beside them (paired by key, from
one more read of the baseline for the listed rows).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.engine.passes import Frame, Reading, Selected, row_frames
from losscli.engine.scoring import key_hashes
from losscli.engine.top_rows import cells, first_k, largest, shown_columns

BASELINE = "baseline:"  # the prefix of the baseline's prediction cells


@dataclass
class WorseRows:
    """One loss's K rows with the largest ΔLᵢ = Lᵢ(candidate) − Lᵢ(baseline)."""

    k: int
    columns: list[str]  # the candidate's cells
    baseline_columns: list[str]  # the baseline's prediction cells (paired by order)
    kept: list[tuple] = field(default_factory=list)  # (−rank, row, cells, (Lb, Lc, ΔL), base row)

    @classmethod
    def of(cls, k: int, base: Selected, cand: Selected, keep: Sequence[str], key: str | None):
        baseline = [c for cols in base.plan.inputs for c in cols]
        return cls(k, shown_columns(cand, keep, key), baseline)

    def offer(
        self,
        base_losses: Any,
        cand_losses: Any,
        cand_frame: Frame,
        cand_at: Any,
        base_rows: Any,
        base_frame: Frame | None = None,
        base_at: Any = None,
    ) -> None:
        """Offer rows paired as ``cand_at`` (indices into the candidate's frame) and
        ``base_at`` (into the baseline's, when paired by order) with their Lᵢ."""
        change = cand_losses - base_losses
        rank = np.where(np.isnan(change), np.inf, change)
        offered = []
        chosen = largest(rank, self.k)
        for i in chosen[rank[chosen] > 0].tolist():  # rows whose loss rose (or became NaN)
            j = int(cand_at[i])
            shown = cells(cand_frame, self.columns, j)
            if base_frame is not None:
                before = cells(base_frame, self.baseline_columns, int(base_at[i]))
                shown.update({BASELINE + c: v for c, v in before.items()})
            values = (float(base_losses[i]), float(cand_losses[i]), float(change[i]))
            row = int(cand_frame.rows[j])
            offered.append((-float(rank[i]), row, shown, values, int(base_rows[i])))
        self.kept = first_k(self.kept + offered, self.k)

    def rows(self) -> list[dict[str, Any]]:
        """The ranked rows: row numbers, cells, both Lᵢ and the change."""
        return [
            {
                "rank": i + 1,
                "row": row,
                "baseline_row": base_row,
                "baseline": b,
                "candidate": c,
                "change": d,
                "columns": shown,
            }
            for i, (_, row, shown, (b, c, d), base_row) in enumerate(self.kept)
        ]


def worse_rows(
    base: Reading,
    cand: Reading,
    ranked: Sequence[bool],
    k: int,
    key: str | None,
) -> list[WorseRows | None]:
    """One pass over both files (already checked to hold the same rows): each ranked loss's
    K rows that got worse most (None for a loss not ranked)."""
    lists = [
        WorseRows.of(k, b, c, cand.keep, key) if r else None
        for b, c, r in zip(base.selected, cand.selected, ranked)
    ]
    if key is None:
        _by_order(base, cand, lists)
    else:
        _by_key(base, cand, lists, key)
        _baseline_cells(base, lists)
    return lists


def _baseline_cells(base: Reading, lists: Sequence[WorseRows | None]) -> None:
    """Rows paired by key: the listed rows' baseline predictions, from one more read of
    the baseline (its pass kept each row's key hash, row number and Lᵢ, not its cells);
    none for stdin, which cannot be read again."""
    wanted: dict[int, list[tuple[WorseRows, dict[str, Any]]]] = {}
    for w in lists:
        for entry in w.kept if w is not None else ():
            wanted.setdefault(entry[4], []).append((w, entry[2]))
    if not wanted or base.source.path == "-":
        return
    rows = np.fromiter(wanted, np.int64, len(wanted))
    for frame, _ in row_frames(base, {}):
        for i in np.flatnonzero(np.isin(frame.rows, rows)).tolist():
            for w, shown in wanted[int(frame.rows[i])]:
                before = cells(frame, w.baseline_columns, i)
                shown.update({BASELINE + c: v for c, v in before.items()})


def _row_losses(reading: Reading, lists: Sequence[WorseRows | None]) -> Iterator[tuple]:
    """Each frame with each listed loss's Lᵢ (None for the others)."""
    stats: dict[str, int] = {}
    for frame, batches in row_frames(reading, stats):
        losses = [
            None if w is None else np.asarray(sel.objective.rows(b), dtype=np.float64)
            for sel, b, w in zip(reading.selected, batches, lists)
        ]
        yield frame, losses


class _Cursor:
    """Where one file's side-by-side reading stands: its frame and the next row in it."""

    def __init__(self, frames: Iterator[tuple]) -> None:
        self.frames, self.frame, self.losses, self.at = frames, None, None, 0

    def left(self) -> int:
        """Rows left in the current frame (the next frame read when none are)."""
        while self.frame is None or self.at >= self.frame.n:
            step = next(self.frames, None)
            if step is None:
                return 0
            (self.frame, self.losses), self.at = step, 0
        return self.frame.n - self.at


def _by_order(base: Reading, cand: Reading, lists: Sequence[WorseRows | None]) -> None:
    b, c = _Cursor(_row_losses(base, lists)), _Cursor(_row_losses(cand, lists))
    while True:
        m = min(b.left(), c.left())
        if m == 0:
            return
        ib, ic = np.arange(b.at, b.at + m), np.arange(c.at, c.at + m)
        base_rows = b.frame.rows[ib]
        for w, lb, lc in zip(lists, b.losses, c.losses):
            if w is not None:
                w.offer(lb[ib], lc[ic], c.frame, ic, base_rows, b.frame, ib)
        b.at += m
        c.at += m


def _by_key(base: Reading, cand: Reading, lists: Sequence[WorseRows | None], key: str) -> None:
    hashes, rows, losses = [], [], [[] for _ in lists]
    for frame, frame_losses in _row_losses(base, lists):
        hashes.append(key_hashes(frame, key))
        rows.append(frame.rows)
        for kept, values in zip(losses, frame_losses):
            if values is not None:
                kept.append(values)
    order = np.argsort(np.concatenate(hashes), kind="stable")
    sorted_hashes = np.concatenate(hashes)[order]
    base_rows = np.concatenate(rows)[order]
    base_losses = [np.concatenate(v)[order] if v else None for v in losses]
    for frame, frame_losses in _row_losses(cand, lists):
        at = np.searchsorted(sorted_hashes, key_hashes(frame, key))
        every = np.arange(frame.n)
        for w, lb, lc in zip(lists, base_losses, frame_losses):
            if w is not None:
                w.offer(lb[at], lc, frame, every, base_rows[at])
