"""Infer the task from the data (README "Usage") and pick that task's default losses.

The task is decided by the whole file: ``TargetEvidence`` collects the target's
distinct values, class counts and whether every value is a non-negative integer,
batch by batch (from any thread), and ``decide`` applies the rules to what it saw.
``evaluate_file`` guesses from the first batch, gathers the evidence during its
own pass and evaluates again only when the whole file says otherwise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from losscli._lazy import np
from losscli.app.evidence import (
    IMBALANCE_SHARE,
    add_counts,
    distinct_counts,
    non_negative_integers,
)
from losscli.errors import InputError
from losscli.io.batches import float_column, read_batches, text_column
from losscli.io.sources import Header, Source
from losscli.losses.registry import default_losses


@dataclass
class Inference:
    """The inferred task, the default losses for it, and the evidence, in words."""

    task: str
    losses: str
    reason: str
    imbalanced: bool = False
    rows: int = 0  # the rows it was inferred from
    evaluated: str = ""  # the losses evaluated for it (a --convention may leave some out)
    replaced: Inference | None = None  # the first batch's different answer

    def note(self) -> str:
        """What was inferred, from what, and what is evaluated."""
        misled = ""
        if self.replaced is not None:
            guess = self.replaced
            looked = f"like {guess.task}"
            if guess.task == self.task:
                looked = "imbalanced" if guess.imbalanced else "balanced"
            misled = f"; the first {guess.rows:,} rows alone looked {looked}"
        losses = self.evaluated or self.losses
        return f"inferred task: {self.task} ({self.reason}{misled}); evaluating {losses}"


class TargetEvidence:
    """What the target columns hold, added up batch by batch (thread-safe)."""

    def __init__(
        self, target: list[str], pred: list[str], text: set[str], pos_label: str | None = None
    ) -> None:
        self.target, self.pred, self.text = target, pred, text
        self.pos_label = pos_label  # --pos-label: the positive class of text labels
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every batch (a pass that starts again)."""
        self.rows = 0
        self.counts: dict[Any, int] | None = {}  # distinct numeric values, up to MAX_DISTINCT
        self.labels: dict[str, int] = {}  # text labels, every one
        self.integral = True  # every finite value is a non-negative integer
        self.blind = False  # a batch lacked a target column: the evidence is incomplete

    def add_values(self, values: np.ndarray) -> None:
        with self._lock:
            counting, integral = self.counts is not None, self.integral
        if not (counting or integral):
            return  # a continuous target, known to be one: nothing more to learn
        values = values[np.isfinite(values)]
        counts = distinct_counts(values) if counting else None
        integral = integral and non_negative_integers(values)
        with self._lock:
            self.integral = self.integral and integral
            self.counts = add_counts(self.counts, counts)

    def add_labels(self, codes: np.ndarray, cats: list[str]) -> None:
        counts = np.bincount(codes[codes >= 0], minlength=len(cats))
        with self._lock:
            for name, c in zip(cats, counts.tolist()):
                if c:
                    self.labels[name] = self.labels.get(name, 0) + c

    def add_batch(self, batch: Any) -> None:
        """A record batch read with the target columns (text ones as dictionaries); a row
        with an empty target cell is no label (``--dropna`` drops it; else it is an error
        the pass reports) and is not counted."""
        if self.target[0] in self.text:
            codes, cats, nulls = text_column(batch.column(self.target[0]))
            labelled = codes if nulls is None else codes[~nulls]
            self._count(len(labelled))
            self.add_labels(labelled, cats)
            return
        read = [float_column(batch.column(c)) for c in self.target]
        empty = None
        for _, nulls in read:
            if nulls is not None:
                empty = nulls if empty is None else empty | nulls
        columns = [values if empty is None else values[~empty] for values, _ in read]
        self._count(len(columns[0]))
        self.add_values(np.concatenate(columns) if len(columns) > 1 else columns[0])

    def add_frame(self, frame: Any) -> None:
        """A frame of the evaluation pass (``engine.frames``), after ``--dropna``."""
        col = self.target[0]
        if col in self.text and col in frame.texts:
            self._count(frame.n)
            self.add_labels(*frame.texts[col])
        elif col not in self.text and all(c in frame.numbers for c in self.target):
            self._count(frame.n)
            values = [frame.numbers[c] for c in self.target]
            self.add_values(np.concatenate(values) if len(values) > 1 else values[0])
        else:
            with self._lock:
                self.blind = True

    def _count(self, n: int) -> None:
        with self._lock:
            self.rows += n

    def decide(self) -> Inference:
        """The task these values point to (the rules README "Usage" describes)."""
        inference = self._decide()
        inference.rows = self.rows
        return inference

    def _decide(self) -> Inference:
        rows = f"{self.rows:,} rows"
        if len(self.target) > 1:
            k = len(self.target)
            if self.counts is not None and set(self.counts) <= {0.0, 1.0}:
                return Inference(
                    "multilabel", default_losses("multilabel"), f"{k} 0/1 target columns, {rows}"
                )
            return Inference(
                "distribution", default_losses("distribution"), f"{k} target columns, {rows}"
            )
        col = self.target[0]
        if col in self.text and len(self.pred) == 1:
            binary = _text_binary(col, self.labels, rows, self.pos_label)
            if binary is not None:
                return binary
        if col in self.text or len(self.pred) > 1:
            counts = list(self.labels.values()) if col in self.text else self._numeric_counts()
            total = sum(counts)
            minority = min(counts) / total if counts and total else 1.0
            imbalanced = minority < IMBALANCE_SHARE / max(1, len(self.pred) - 1)
            key = "multiclass-imbalanced" if imbalanced else "multiclass"
            return Inference(
                "multiclass",
                default_losses(key),
                f"labels in {col!r} with {len(self.pred)} prediction column"
                + ("" if len(self.pred) == 1 else "s")
                + f", {rows}"
                + (f"; smallest class share {minority:.1%}" if imbalanced else ""),
                imbalanced,
            )
        counts = self.counts
        distinct = "more than 64" if counts is None else str(len(counts))
        if counts is not None and len(counts) == 2 and set(counts) <= {0.0, 1.0}:
            share = counts[1.0] / (counts[0.0] + counts[1.0])
            minority = min(share, 1 - share)
            if minority < IMBALANCE_SHARE:
                return Inference(
                    "imbalanced",
                    default_losses("imbalanced"),
                    f"0/1 target {col!r} with a minority share of {minority:.1%} (< 20%) in {rows}",
                    True,
                )
            return Inference(
                "binary",
                default_losses("binary"),
                f"0/1 target {col!r} with a positive share of {share:.1%} in {rows}",
            )
        if counts is not None and len(counts) == 2 and set(counts) == {-1.0, 1.0}:
            return _margin_binary(col, counts, rows, self.pos_label)
        if self.integral and self.rows and (counts is None or len(counts) > 2):
            return Inference(
                "counts",
                default_losses("counts"),
                f"non-negative integer target {col!r} with {distinct} distinct values in {rows}",
            )
        return Inference(
            "regression",
            default_losses("regression"),
            f"real-valued target {col!r} with {distinct} distinct values in {rows}",
        )

    def _numeric_counts(self) -> list[int]:
        return [] if self.counts is None else list(self.counts.values())


def evidence_for(
    source: Source,
    header: Header,
    target: list[str],
    pred: list[str],
    pos_label: str | None = None,
) -> TargetEvidence:
    """An empty TargetEvidence for the columns inference reads (given ones, else defaults)."""
    from losscli.app.evidence import task_columns

    target_cols, pred_cols = task_columns(source, header, target, pred)
    text = {c for c in target_cols if c in header.text_columns}
    return TargetEvidence(target_cols, pred_cols, text, pos_label)


def infer_task(
    source: Source,
    header: Header,
    target: list[str],
    pred: list[str],
    *,
    whole: bool = True,
    pos_label: str | None = None,
) -> Inference:
    """The task the target columns point to: over the whole file, or (``whole=False``)
    a first guess from the first record batch, to be checked during the evaluation pass
    (``TargetEvidence.add_frame``)."""
    ev = evidence_for(source, header, target, pred, pos_label)
    for batch in read_batches(source, header, ev.target, ev.text):
        ev.add_batch(batch)
        if not whole and ev.rows:
            break
    if ev.rows == 0:
        raise InputError(f"{source.name}: no data rows")
    return ev.decide()


def _margin_binary(
    column: str, counts: dict[float, int], rows: str, positive: str | None
) -> Inference:
    """A ±1 target (an SVM's labels): binary, evaluated with the margin losses on raw
    scores (hinge, squared hinge), as ``recommend`` advises. The share is the positive
    class's (+1, or −1 by --pos-label); a minority share under 20% is said, though the
    margin losses have no class weights to apply."""
    label = -1.0 if positive is not None and _number(positive) == -1.0 else 1.0
    share = counts[label] / (counts[-1.0] + counts[1.0])
    minority = min(share, 1 - share)
    imbalanced = minority < IMBALANCE_SHARE
    said = (
        f"a minority share of {minority:.1%} (< 20%)"
        if imbalanced
        else f"a {label:+g} share of {share:.1%}"
    )
    reason = f"±1 target {column!r} with {said} in {rows}: margin losses on raw scores"
    return Inference("binary", default_losses("binary-margin"), reason, imbalanced)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _text_binary(
    column: str, label_counts: dict[str, int], rows: str, positive: str | None
) -> Inference | None:
    """Two text labels (cat/dog, True/False) and one prediction column: a binary task,
    the positive class named by --pos-label (True by default for True/False)."""
    from losscli.errors import shown

    labels = [c for c, n in label_counts.items() if n]
    total = sum(label_counts.values())
    if len(labels) > 2:
        return None
    if positive is None:
        positive = next((c for c in labels if c in ("True", "true", "TRUE")), None)
    names = " and ".join(shown(c) for c in sorted(labels))
    if positive is None:
        reason = f"two labels {names} in {column!r} and one prediction column, {rows}"
        return Inference("binary", default_losses("binary"), reason)
    share = label_counts.get(positive, 0) / total
    minority = min(share, 1 - share)
    reason = f"labels {names} in {column!r}, positive {shown(positive)}"
    if minority < IMBALANCE_SHARE:
        return Inference(
            "imbalanced",
            default_losses("imbalanced"),
            f"{reason} with a minority share of {minority:.1%} (< 20%) in {rows}",
            True,
        )
    return Inference(
        "binary",
        default_losses("binary"),
        f"{reason} with a positive share of {share:.1%} in {rows}",
    )
