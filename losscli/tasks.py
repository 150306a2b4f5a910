"""Infer the task from the data (SPEC §5) and pick that task's default losses."""

from __future__ import annotations

from dataclasses import dataclass

from losscli._lazy import np
from losscli.errors import InputError
from losscli.evidence import IMBALANCE_SHARE
from losscli.io import Header, Source, float_column, read_batches, text_column

DEFAULT_LOSSES = {
    "regression": "mse,rmse,mae,huber",
    "counts": "poisson,mse,mae",
    "binary": "bce,brier",
    "imbalanced": "bce,focal,brier",
    "multiclass": "cross_entropy",
    "multiclass-imbalanced": "cross_entropy,focal",
    "multilabel": "bce",
    "distribution": "kl_div",
}


@dataclass
class Inference:
    """The inferred task, the default losses for it, and the evidence, in words."""

    task: str
    losses: str
    reason: str
    imbalanced: bool = False


def infer_task(source: Source, header: Header, target: list[str], pred: list[str]) -> Inference:
    """Look at the first batch: target type and cardinality, class shares, prediction columns."""
    from losscli.evidence import task_columns

    target_cols, pred_cols = task_columns(source, header, target, pred)
    text = {c for c in target_cols if c in header.text_columns}
    batch = next(iter(read_batches(source, header, target_cols, text)), None)
    if batch is None or batch.num_rows == 0:
        raise InputError(f"{source.name}: no data rows")
    if len(target_cols) > 1:
        values = np.concatenate([float_column(batch.column(c))[0] for c in target_cols])
        if set(np.unique(values[np.isfinite(values)])) <= {0.0, 1.0}:
            return Inference(
                "multilabel", DEFAULT_LOSSES["multilabel"], f"{len(target_cols)} 0/1 target columns"
            )
        return Inference(
            "distribution", DEFAULT_LOSSES["distribution"], f"{len(target_cols)} target columns"
        )
    col = target_cols[0]
    if col in text and len(pred_cols) == 1:
        binary = _text_binary(col, *text_column(batch.column(col))[:2])
        if binary is not None:
            return binary
    if col in text or len(pred_cols) > 1:
        if col in text:
            codes, cats, _ = text_column(batch.column(col))
            shares = np.bincount(codes, minlength=len(cats)) / len(codes)
        else:
            values = float_column(batch.column(col))[0]
            _, counts = np.unique(values[np.isfinite(values)], return_counts=True)
            shares = counts / counts.sum()
        minority = float(shares.min()) if len(shares) else 1.0
        imbalanced = minority < IMBALANCE_SHARE / max(1, len(pred_cols) - 1)
        key = "multiclass-imbalanced" if imbalanced else "multiclass"
        return Inference(
            "multiclass",
            DEFAULT_LOSSES[key],
            f"labels in {col!r} with {len(pred_cols)} prediction columns"
            + (f"; smallest class share {minority:.1%}" if imbalanced else ""),
            imbalanced,
        )
    values = float_column(batch.column(col))[0]
    values = values[np.isfinite(values)]
    uniq = np.unique(values)
    if len(uniq) == 2 and set(uniq) <= {0.0, 1.0}:
        share = float(np.mean(values == 1.0))
        minority = min(share, 1 - share)
        if minority < IMBALANCE_SHARE:
            return Inference(
                "imbalanced",
                DEFAULT_LOSSES["imbalanced"],
                f"0/1 target {col!r} with a minority share of {minority:.1%} (< 20%)",
                True,
            )
        return Inference(
            "binary", DEFAULT_LOSSES["binary"], f"0/1 target {col!r} (positive share {share:.1%})"
        )
    if len(uniq) > 2 and np.all(uniq >= 0) and np.all(uniq == np.round(uniq)):
        return Inference("counts", DEFAULT_LOSSES["counts"], f"non-negative integer target {col!r}")
    return Inference(
        "regression",
        DEFAULT_LOSSES["regression"],
        f"real-valued target {col!r} with {len(uniq)} distinct values",
    )


def _text_binary(column: str, codes: np.ndarray, cats: list[str]) -> Inference | None:
    """Two text labels (cat/dog, True/False) and one prediction column: a binary task,
    the positive class named by --pos-label (True by default for True/False)."""
    from losscli import input_options
    from losscli.errors import shown

    counts = np.bincount(codes, minlength=len(cats))
    labels = [c for c, n in zip(cats, counts.tolist()) if n]
    if len(labels) > 2:
        return None
    positive = input_options.current.pos_label
    if positive is None:
        positive = next((c for c in labels if c in ("True", "true", "TRUE")), None)
    names = " and ".join(shown(c) for c in sorted(labels))
    if positive is None:
        reason = f"two labels {names} in {column!r} and one prediction column"
        return Inference("binary", DEFAULT_LOSSES["binary"], reason)
    share = float(sum(n for c, n in zip(cats, counts.tolist()) if c == positive) / counts.sum())
    minority = min(share, 1 - share)
    reason = f"labels {names} in {column!r}, positive {shown(positive)}"
    if minority < IMBALANCE_SHARE:
        return Inference(
            "imbalanced",
            DEFAULT_LOSSES["imbalanced"],
            f"{reason} with a minority share of {minority:.1%} (< 20%)",
            True,
        )
    return Inference("binary", DEFAULT_LOSSES["binary"], f"{reason} (positive share {share:.1%})")
