"""What a predictions file says about its task: the evidence ``recommend FILE`` reports.

One streaming pass over the target and prediction columns collects exact class
counts, the prediction range and whether probability rows sum to 1; residual
statistics (median absolute deviation, outlier share, kurtosis) come from the
first ``RESIDUAL_SAMPLE`` rows, which is said in the evidence when it applies.
The task follows from the evidence by these rules (``_classify``): many real values →
regression (non-negative integers → counts), two label values → binary, labels
with K prediction columns → multi-class, several 0/1 targets → multilabel, a
minority class under 20% → also imbalanced.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError
from losscli.io.batches import float_column, read_batches, text_column
from losscli.io.columns import (
    PRED_FAMILY,
    PRED_NAMES,
    TARGET_FAMILY,
    TARGET_NAMES,
    _families,
    _first_present,
    expand,
)
from losscli.io.sources import Header, Source
from losscli.kernel.distinct import distinct

IMBALANCE_SHARE = 0.20
# Beyond 3 robust standard deviations lie 0.27% of Gaussian residuals; 1% is ~4× that.
OUTLIER_SHARE = 0.01
# Excess kurtosis of Gaussian residuals is 0; ≥ 1 means clearly heavier tails.
HEAVY_TAILS = 1.0
MAD_TO_SIGMA = 1.4826  # σ ≈ 1.4826·MAD for Gaussian data
HUBER_TUNING = 1.345  # Huber's constant: 95% efficiency at the Gaussian
RESIDUAL_SAMPLE = 1_000_000
MAX_DISTINCT = 64  # beyond this many distinct target values, stop counting them
GROUP_HINTS = {
    "segmentation": re.compile(r"^(image|img|mask|slice|scan|volume|tile)(_?id)?$", re.I),
    "sequence": re.compile(r"^(seq|sequence|sentence|sent|doc|document|utterance)(_?id)?$", re.I),
}


@dataclass
class Residuals:
    """Robust statistics of r = y − ŷ."""

    n: int
    mean: float
    std: float
    median: float
    mad: float
    outlier_share: float
    kurtosis: float
    sampled: bool

    @property
    def robust_scale(self) -> float:
        """σ̂ = 1.4826·MAD, the Gaussian-consistent robust standard deviation."""
        return MAD_TO_SIGMA * self.mad

    @property
    def heavy_tailed(self) -> bool:
        return self.outlier_share >= OUTLIER_SHARE or self.kurtosis >= HEAVY_TAILS

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
            "median": self.median,
            "mad": self.mad,
            "robust_scale": self.robust_scale,
            "outlier_share": self.outlier_share,
            "excess_kurtosis": self.kurtosis,
            "sampled": self.sampled,
        }


@dataclass
class Evidence:
    """Facts about a file's target and predictions, and the task they point to."""

    path: str
    rows: int | None
    target: list[str]
    predictions: list[str]
    target_kind: str  # real, count, binary, margin, labels, multilabel, distribution
    task: str
    distinct: int | None = None  # distinct target values (None: more than MAX_DISTINCT)
    classes: list[str] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)
    pred_min: float | None = None
    pred_max: float | None = None
    rows_sum_to_one: float | None = None  # share of rows whose predictions sum to 1
    logits: bool = False
    residuals: Residuals | None = None
    count_mean: float | None = None
    count_var: float | None = None
    zero_share: float | None = None
    group: str | None = None  # a column that groups rows (image_id, seq_id)
    layout: str | None = None  # similarity files: the loss their columns are laid out for
    pred_args: list[str] = field(default_factory=list)  # --pred values for that layout

    @property
    def shares(self) -> list[float]:
        """Class shares; for multilabel targets, each label's positive rate."""
        if self.target_kind == "multilabel":
            return [c / self.rows for c in self.class_counts]
        total = sum(self.class_counts)
        return [c / total for c in self.class_counts] if total else []

    @property
    def minority_share(self) -> float | None:
        """The share of the rarest class (multilabel: of the rarer side of any label)."""
        if not self.shares:
            return None
        if self.target_kind == "multilabel":
            return min(min(s, 1.0 - s) for s in self.shares)
        return min(self.shares)

    @property
    def imbalance_threshold(self) -> float:
        """20% for two classes and for each label; 40% of the balanced share 1/K for K classes."""
        k = len(self.class_counts)
        return IMBALANCE_SHARE if self.target_kind == "multilabel" or k <= 2 else 0.4 / k

    @property
    def imbalanced(self) -> bool:
        share = self.minority_share
        return share is not None and share < self.imbalance_threshold

    def class_weights(self) -> list[float]:
        """n / (K·n_c) per class: the "balanced" weights of scikit-learn."""
        n, k = sum(self.class_counts), len(self.class_counts)
        return [n / (k * c) for c in self.class_counts]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows": self.rows,
            "target": self.target,
            "predictions": self.predictions,
            "target_kind": self.target_kind,
            "distinct_targets": self.distinct,
            "task": self.task,
            "imbalanced": self.imbalanced,
            "prediction_range": None if self.pred_min is None else [self.pred_min, self.pred_max],
            "logits": self.logits,
            "rows_sum_to_one": self.rows_sum_to_one,
            "group": self.group,
        }
        if self.class_counts:
            out["classes"] = [
                {"class": c, "count": n, "share": s}
                for c, n, s in zip(self.classes, self.class_counts, self.shares)
            ]
            out["minority_share"] = self.minority_share
            out["imbalance_threshold"] = self.imbalance_threshold
        if self.residuals is not None:
            out["residuals"] = self.residuals.as_dict()
        if self.task == "counts" and self.count_mean is not None:
            out["counts"] = {
                "mean": self.count_mean,
                "variance": self.count_var,
                "zero_share": self.zero_share,
            }
        return out


def task_columns(
    source: Source, header: Header, target: list[str], pred: list[str]
) -> tuple[list[str], list[str]]:
    """The target and prediction columns for inference: given ones, else the defaults."""
    columns = header.columns
    pred_cols = expand(pred, columns, "--pred") if pred else []
    if not pred_cols:
        name = _first_present(PRED_NAMES, columns)
        fams = _families(columns, PRED_FAMILY)
        pred_cols = [name] if name else (next(iter(fams.values())) if len(fams) == 1 else [])
    target_cols = expand(target, columns, "--target") if target else []
    if not target_cols:
        name = _first_present(TARGET_NAMES, columns)
        if name:
            target_cols = [name]
        else:
            fams = list(_families(columns, TARGET_FAMILY).values())
            target_cols = fams[0] if len(fams) == 1 else []
    if not target_cols or not pred_cols:
        raise UsageError(
            f"{source.name}: cannot infer the task: no default target or prediction column",
            hint="choose losses with --loss, and columns with --target/--pred",
        )
    return target_cols, pred_cols


DISTINCT_PREFIX = 1024  # values looked at first: more than MAX_DISTINCT there ends the count


def distinct_counts(values: np.ndarray) -> dict[float, int] | None:
    """How often each distinct value of the finite ``values`` occurs, or None when there
    are more than MAX_DISTINCT of them.

    A continuous column is told by its first ``DISTINCT_PREFIX`` values (the whole has at
    least their distinct values) without sorting the rest; non-negative integers below
    2¹⁶ are counted by ``bincount`` rather than by sorting.
    """
    if values.size == 0:
        return {}
    if distinct(values[:DISTINCT_PREFIX]).size > MAX_DISTINCT:
        return None
    if values.min() >= 0 and values.max() < 1 << 16 and non_negative_integers(values):
        counts = np.bincount(values.astype(np.intp))
        keys = np.flatnonzero(counts)
        if keys.size > MAX_DISTINCT:
            return None
        return dict(zip(keys.astype(float).tolist(), counts[keys].tolist()))
    keys, counts = np.unique(values, return_counts=True)
    if keys.size > MAX_DISTINCT:
        return None
    return dict(zip(keys.tolist(), counts.tolist()))


def add_counts(total: dict[float, int] | None, more: dict[float, int] | None) -> dict | None:
    """``total`` (changed in place) with the counts of ``more``; None past MAX_DISTINCT."""
    if total is None or more is None:
        return None
    for k, c in more.items():
        total[k] = total.get(k, 0) + c
    return total if len(total) <= MAX_DISTINCT else None


def non_negative_integers(values: np.ndarray) -> bool:
    """Whether every one of the finite ``values`` is a non-negative integer (0, 1, 2, …)."""
    return bool(np.all(values >= 0) and np.all(values == np.floor(values)))


class _Counter:
    """Exact counts of distinct values while there are at most MAX_DISTINCT of them."""

    def __init__(self) -> None:
        self.counts: dict[Any, int] | None = {}

    def add(self, values: np.ndarray) -> None:
        if self.counts is not None:
            self.counts = add_counts(self.counts, distinct_counts(values))


# Column layouts of similarity files: (loss, required columns or families, --pred values).
SIMILARITY_LAYOUTS = (
    ("triplet", ("d_ap", "d_an"), ["d_ap,d_an"]),
    ("triplet", ("anchor_*", "positive_*", "negative_*"), ["anchor_*", "positive_*", "negative_*"]),
    ("contrastive", ("distance",), ["distance"]),
    ("margin_ranking", ("x1", "x2"), ["x1", "x2"]),
    ("cosine_embedding", ("a_*", "b_*"), ["a_*", "b_*"]),
)


def similarity_layout(source: Source, header: Header) -> Evidence | None:
    """A pairs/triplets file recognised by its column names, or None."""
    import fnmatch

    columns = header.columns
    for loss, needed, preds in SIMILARITY_LAYOUTS:
        if all(fnmatch.filter(columns, pattern) for pattern in needed):
            target = [c for c in TARGET_NAMES if c in columns][:1]
            used = [c for pattern in needed for c in fnmatch.filter(columns, pattern)]
            return Evidence(
                path=source.name,
                rows=header.rows_hint,
                target=target,
                predictions=used,
                target_kind="pairs",
                task="similarity",
                layout=loss,
                pred_args=preds,
            )
    return None


def gather(
    source: Source,
    header: Header,
    target: list[str],
    pred: list[str],
    *,
    max_batches: int | None = None,
) -> Evidence:
    """Read the target and prediction columns once and collect the evidence."""
    try:
        target_cols, pred_cols = task_columns(source, header, target, pred)
    except UsageError:
        layout = None if (target or pred) else similarity_layout(source, header)
        if layout is None:
            raise
        return layout
    text = {c for c in target_cols if c in header.text_columns}
    wanted = list(dict.fromkeys([*target_cols, *pred_cols]))
    tally = Tally(target_cols, pred_cols, text)
    for i, batch in enumerate(read_batches(source, header, wanted, text)):
        if max_batches is not None and i >= max_batches:
            break
        if batch.num_rows == 0:
            continue
        tally.add(batch.num_rows, *_readers(batch))
    return tally.evidence(source, header)


def _readers(batch: Any) -> tuple[Callable[[str], np.ndarray], Callable[[str], Any]]:
    """A record batch's columns as float64 numbers, and as (codes, categories) of text."""

    def numbers(column: str) -> np.ndarray:
        values, nulls = float_column(batch.column(column))
        if nulls is not None and nulls.any():  # a missing cell's slot holds no number
            values = np.where(nulls, np.nan, values)
        return values

    return numbers, lambda c: text_column(batch.column(c))[:2]


class Tally:
    """The evidence's sums over the rows seen so far: ``gather`` adds each record batch,
    ``losscli report`` each frame of its evaluation pass (``FrameTally``). Parts of a file
    read in parallel keep one each, merged in file order (``merge``): the sums are then
    those of one reader, the residual sample the same first ``RESIDUAL_SAMPLE`` rows."""

    def __init__(self, target_cols: list[str], pred_cols: list[str], text: set[str]) -> None:
        self.target_cols, self.pred_cols, self.text = target_cols, pred_cols, text
        self.labels = _Counter()
        self.label_names: dict[str, int] = {}
        self.positives = np.zeros(len(target_cols))
        self.rows = 0
        self.pmin, self.pmax = math.inf, -math.inf
        self.sums_to_one = 0
        self.residuals: list[np.ndarray] = []  # the first RESIDUAL_SAMPLE finite y − ŷ
        self.kept = 0  # residuals in the sample
        self.finite_residuals = 0  # residuals seen (more than kept: the sample is a sample)
        self.ysum = [0, 0.0, 0.0, 0]  # n, Σy, Σy², zeros of a single numeric target
        self.integral = True  # every value of a single numeric target is a non-negative integer

    def add(
        self,
        n: int,
        numbers: Callable[[str], np.ndarray],
        labels: Callable[[str], tuple[np.ndarray, Sequence[Any]]],
    ) -> None:
        """One block of ``n`` rows: ``numbers(column)`` as float64, ``labels(column)`` as
        (codes, categories) of a text column."""
        target_cols, pred_cols = self.target_cols, self.pred_cols
        if len(pred_cols) == 1:
            preds = numbers(pred_cols[0])[:, None]
        else:
            preds = np.column_stack([numbers(c) for c in pred_cols])
        finite = _finite(preds)
        if finite.size:
            self.pmin = min(self.pmin, float(finite.min()))
            self.pmax = max(self.pmax, float(finite.max()))
        if len(pred_cols) > 1:
            self.sums_to_one += int(np.count_nonzero(np.abs(preds.sum(axis=1) - 1.0) <= 1e-4))
        if len(target_cols) > 1:
            y = np.column_stack([numbers(c) for c in target_cols])
            self.labels.add(y.ravel()[np.isfinite(y.ravel())])
            self.positives += np.nansum(y == 1.0, axis=0)
        elif target_cols[0] in self.text:
            codes, cats = labels(target_cols[0])
            names = [str(c) for c in cats]
            counts = np.bincount(codes, minlength=len(names))
            for name, c in zip(names, counts.tolist()):
                self.label_names[name] = self.label_names.get(name, 0) + c
        else:
            y = numbers(target_cols[0])
            finite = _finite(y)
            self.labels.add(finite)
            ysum = self.ysum
            ysum[0] += finite.size
            ysum[1] += float(finite.sum())
            ysum[2] += float(np.add.reduce(finite * finite))  # not np.dot: BLAS threads spin
            ysum[3] += int(np.count_nonzero(finite == 0.0))
            self.integral = self.integral and non_negative_integers(finite)
            if len(pred_cols) == 1:
                self._residuals(_finite(y - preds[:, 0]))
        self.rows += n

    def _residuals(self, r: np.ndarray) -> None:
        self.finite_residuals += r.size
        if self.kept < RESIDUAL_SAMPLE:
            r = r[: RESIDUAL_SAMPLE - self.kept]
            self.residuals.append(r)
            self.kept += r.size

    def merge(self, later: Tally) -> None:
        """Add the sums of the rows that follow these (the next part of the file)."""
        self.labels.counts = add_counts(self.labels.counts, later.labels.counts)
        for name, c in later.label_names.items():
            self.label_names[name] = self.label_names.get(name, 0) + c
        self.positives += later.positives
        self.rows += later.rows
        self.pmin, self.pmax = min(self.pmin, later.pmin), max(self.pmax, later.pmax)
        self.sums_to_one += later.sums_to_one
        self.ysum = [a + b for a, b in zip(self.ysum, later.ysum)]
        self.integral = self.integral and later.integral
        seen = self.finite_residuals + later.finite_residuals
        for r in later.residuals:
            self._residuals(r)
        self.finite_residuals = seen

    def evidence(self, source: Source, header: Header) -> Evidence:
        """The evidence of the rows added, and the task it points to."""
        rows, pred_cols, target_cols = self.rows, self.pred_cols, self.target_cols
        if rows == 0:
            raise InputError(f"{source.name}: no data rows", hint="the file has a header only")
        wanted = list(dict.fromkeys([*target_cols, *pred_cols]))
        pmin, pmax = self.pmin, self.pmax
        ev = Evidence(
            path=source.name,
            rows=rows,
            target=target_cols,
            predictions=pred_cols,
            target_kind="real",
            task="regression",
            pred_min=pmin if math.isfinite(pmin) else None,
            pred_max=pmax if math.isfinite(pmax) else None,
            rows_sum_to_one=self.sums_to_one / rows if len(pred_cols) > 1 else None,
            group=_group_column(header.columns, wanted),
        )
        label_names = self.label_names
        if label_names:  # text labels: counts were kept for every class
            ev.distinct = len(label_names)
            ev.classes = sorted(label_names)
            ev.class_counts = [label_names[c] for c in ev.classes]
        else:
            ev.distinct = None if self.labels.counts is None else len(self.labels.counts)
        ysum = self.ysum
        if ysum[0]:
            mean = ysum[1] / ysum[0]
            ev.count_mean, ev.count_var = mean, max(ysum[2] / ysum[0] - mean * mean, 0.0)
            ev.zero_share = ysum[3] / ysum[0]
        sampled = self.finite_residuals > self.kept
        _classify(ev, self.labels.counts, self.positives, self.residuals, sampled, self.integral)
        return ev


def _finite(v: np.ndarray) -> np.ndarray:
    """The finite values of ``v``, flattened; ``v`` itself when its sum is finite (then
    every value is, and no copy is made)."""
    if math.isfinite(np.add.reduce(v, axis=None)):
        return v.ravel()
    return v[np.isfinite(v)]


class FrameTally:
    """``gather``'s evidence from the frames of an evaluation pass (an observer of the
    pass's ``Reading``), so that ``losscli report`` does not read the file a second time.

    Parts of the file read in parallel hand their frames over from their own threads:
    each part (``Frame.origin``) adds to its own ``Tally``, merged in file order at the
    end. ``evidence`` is None when it cannot be ``gather``'s: a frame lacked a column the
    evidence reads (losses on other columns), or the frames were not every row of the
    file (``rows``: rows dropped by ``--dropna``, or read where no frame was observed).
    """

    def __init__(self, source: Source, header: Header, target: list[str], pred: list[str]):
        self.target_cols, self.pred_cols = task_columns(source, header, target, pred)
        self.text = {c for c in self.target_cols if c in header.text_columns}
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every frame (a pass that starts again)."""
        self.parts: dict[int, tuple[int, Tally]] = {}
        self.blind = False

    def add_frame(self, frame: Any) -> None:
        me = threading.get_ident()
        with self._lock:
            reader, tally = self.parts.setdefault(
                frame.origin, (me, Tally(self.target_cols, self.pred_cols, self.text))
            )
            if reader != me or self.blind:  # one part read by two threads: order unknown
                self.blind = True
                return
        try:
            tally.add(frame.n, frame.numbers.__getitem__, frame.texts.__getitem__)
        except Exception:  # a column the losses do not read, or any surprise:
            self.blind = True  # never the pass's failure (recommend reads the file instead)

    def evidence(self, source: Source, header: Header, rows: int) -> Evidence | None:
        """``gather``'s evidence of the ``rows`` rows of the file, or None (see the class)."""
        if self.blind or not self.parts:
            return None
        ordered = [tally for _, (_, tally) in sorted(self.parts.items())]
        whole = ordered[0]
        for tally in ordered[1:]:
            whole.merge(tally)
        self.parts = {0: (0, whole)}
        if whole.rows != rows:
            return None
        return whole.evidence(source, header)


def _group_column(columns: list[str], used: list[str]) -> str | None:
    for column in columns:
        if column in used:
            continue
        for pattern in GROUP_HINTS.values():
            if pattern.match(column):
                return column
    return None


def _outside_unit(ev: Evidence) -> bool:
    return ev.pred_min is not None and (ev.pred_min < 0.0 or ev.pred_max > 1.0)


def _classify(
    ev: Evidence,
    counts: dict[Any, int] | None,
    positives: np.ndarray,
    residuals: list[np.ndarray],
    sampled: bool,
    integral: bool = False,
) -> None:
    """Set the target kind, the task and the kind-specific evidence."""
    values = set(counts) if counts is not None else None
    k_pred = len(ev.predictions)
    if len(ev.target) > 1:
        if values is not None and values <= {0.0, 1.0}:
            ev.target_kind, ev.task = "multilabel", "multilabel"
            ev.classes = list(ev.target)
            ev.class_counts = [int(p) for p in positives]
            # Shares per label are positive rates; the minority is the rarer side.
            ev.logits = _outside_unit(ev)
            return
        ev.target_kind, ev.task = "distribution", "distribution"
        ev.logits = _outside_unit(ev) or (ev.rows_sum_to_one or 0.0) < 0.99
        return
    if ev.classes:  # text labels
        ev.target_kind = "labels"
        ev.task = "binary" if len(ev.classes) == 2 and k_pred == 1 else "multiclass"
        ev.logits = _outside_unit(ev)
        if ev.group and GROUP_HINTS["sequence"].match(ev.group):
            ev.task = "sequence"
        return
    if values is not None and values and all(float(v).is_integer() for v in values):
        ints = sorted(int(v) for v in values)
        if k_pred > 1 and min(ints) >= 0:
            ev.target_kind = "labels"
            ev.task = "multiclass"
            ev.classes = [str(v) for v in range(k_pred)]
            ev.class_counts = [counts.get(float(v), 0) for v in range(k_pred)]
            ev.logits = _outside_unit(ev)
            if ev.group and GROUP_HINTS["sequence"].match(ev.group):
                ev.task = "sequence"
            elif ev.group and GROUP_HINTS["segmentation"].match(ev.group):
                ev.task = "segmentation"
            return
        if ints in ([0, 1], [-1, 1]):
            ev.target_kind = "binary" if ints == [0, 1] else "margin"
            ev.task = "binary"
            ev.classes = [str(v) for v in ints]
            ev.class_counts = [counts[float(v)] for v in ints]
            ev.logits = _outside_unit(ev)
            if ev.group and GROUP_HINTS["segmentation"].match(ev.group):
                ev.task = "segmentation"
            return
    r = np.concatenate(residuals) if residuals else np.empty(0)
    ev.residuals = _residuals(r, sampled) if r.size else None
    if integral and (values is None or len(values) > 2):
        ev.target_kind, ev.task = "count", "counts"
        # Predicted log-rates are negative somewhere; rates never are.
        ev.logits = ev.pred_min is not None and ev.pred_min < 0.0
        return
    ev.target_kind, ev.task = "real", "regression"
    ev.count_mean = ev.count_var = ev.zero_share = None
    if ev.residuals is not None and ev.residuals.heavy_tailed:
        ev.task = "robust-regression"


def _residuals(r: np.ndarray, sampled: bool) -> Residuals:
    median = float(np.median(r))
    mad = float(np.median(np.abs(r - median)))
    std = float(np.std(r))
    centred = r - r.mean()
    squared = centred * centred  # not ** 4: a general power is ~20× slower than a product
    m2 = float(np.mean(squared))
    kurtosis = float(np.mean(squared * squared) / m2**2 - 3.0) if m2 > 0 else 0.0
    scale = MAD_TO_SIGMA * mad
    outliers = float(np.mean(np.abs(r - median) > 3.0 * scale)) if scale > 0 else 0.0
    return Residuals(
        n=int(r.size),
        mean=float(r.mean()),
        std=std,
        median=median,
        mad=mad,
        outlier_share=outliers,
        kurtosis=kurtosis,
        sampled=sampled,
    )
