r"""``losscli report``: what the page shows beyond ``eval``, gathered in the eval pass.

``RowStats`` is a ``LossExtra`` (as ``top_rows.WorstRows``): it sees each of its loss's
batches in the evaluation pass and keeps fixed-size sums only, so memory is bounded by
the batch whatever the file's length.

- **Histogram of the per-row losses Lᵢ** on fixed log-spaced bins: edges 10^(k/4) for
  k = −48 … 48 (10⁻¹² … 10¹², 4 bins per decade), plus a bin for Lᵢ ≤ 0, one below 10⁻¹²,
  one at or above 10¹², and a count of non-finite Lᵢ. Each bin keeps its count nₖ and
  its sum Sₖ = Σ_{i∈k} Lᵢ.
- **Concentration**: the share of the total Σ Lᵢ (over Lᵢ > 0) held by the top q of rows
  (q = 1%, 10%), from the histogram: bins are taken from the largest down until ⌈q·n⌉
  rows; the last bin contributes its mean Sₖ/nₖ per row taken. It is therefore *resolved
  to a bin* (a factor 10^¼ ≈ 1.78 in Lᵢ), not exact.
- The same for the **squared norm of the per-row gradient** gᵢ = ‖∂Lᵢ/∂ŷᵢ‖² (the loss's
  ``grad`` with reduction none, which needs no merged sums; the mean's gradient is
  gᵢ/n², so the shares are those of training's gradient). A loss whose per-row gradient
  needs the merged sums (ratio losses, circle) has none.
- For the file's task (kept by the first loss only, chosen by its inputs: ``TASK_VIEWS``):
  regression: a 40 × 40 count of (ŷ, y − ŷ) on a grid fixed from the first batch's
  range (widened by 10%); rows outside are clipped into the edge bins and counted
  (``clipped``; a part of a large file read in parallel has its own grid, re-binned by
  cell centres into the first part's when merged: ``rebinned``). Classification:
  reliability bins (15 equal-width over [0, 1], as ``ece``) with Wₖ, Σp, Σy, and
  ECE = Σₖ (Wₖ/W)·|ȳₖ − p̄ₖ| (binary: p of class 1; K classes: the top-label confidence
  max_c p_c against argmax = label), and the confusion matrix at p > 0.5 (binary, as
  accuracy and the other metrics decide) or argmax (K classes); soft targets in (0, 1)
  are binned but left out of the confusion (``soft_targets`` counts them). Logits (the
  loss's ``from_logits``, or a loss that reads raw scores only: multi_hinge,
  multiclass_sparsemax) are read through the sigmoid or softmax first,
  log-probabilities through exp, poisson's log-rates through exp for the residuals.
  Margin scores (±1 targets): the confusion matrix at s > 0 only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from losscli._lazy import np
from losscli.engine.passes import Frame, Selected
from losscli.kernel.numerics import sigmoid, softmax
from losscli.kernel.streaming import Batch

PER_DECADE = 4
LOW, HIGH = -12, 12  # decades of the log bins
GRID = 40  # residual density: GRID × GRID
CALIBRATION_BINS = 15
SHARES = (0.01, 0.10)


def log_edges() -> Any:
    """The inner edges 10^(k/4), k = −48 … 48, of the log bins."""
    return 10.0 ** (np.arange(LOW * PER_DECADE, HIGH * PER_DECADE + 1) / PER_DECADE)


@cache
def _bounds() -> tuple[Any, Any]:
    """The bins' lower bounds ``below[s]`` and upper bounds ``above[s]``, s = 0 … 98: the
    inner edges after the smallest positive float (bin 1 starts there, bin 0 is v ≤ 0)."""
    edges = np.concatenate([[np.nextafter(0.0, 1.0)], log_edges()])
    return np.concatenate([[-np.inf], edges]), np.concatenate([edges, [np.inf]])


#: a finite float's sign, exponent and first two mantissa bits (its bits shifted right by
#: this many): the normal values sharing such a key lie within a factor 1.25 of each
#: other, less than the bins' factor 10^¼ ≈ 1.78, so no key's values reach more than one
#: edge (``_key_bins`` checks it for every key; the subnormal keys 0 and 1 lie far below
#: 10⁻¹², key 0's one edge being the smallest positive float)
KEY_SHIFT = 50


@cache
def _key_bins() -> tuple[Any, Any]:
    """Per key (``v``'s bits >> ``KEY_SHIFT``, v ≥ 0): the bin of the key's smallest value,
    and that bin's upper bound, the one edge the key's values may reach."""
    _, above = _bounds()
    keys = np.arange(1 << (63 - KEY_SHIFT), dtype=np.int64)
    smallest = (keys << KEY_SHIFT).view(np.float64)  # NaN past the largest finite key
    first = np.minimum(np.searchsorted(above, smallest, side="right"), len(above) - 1)
    largest = ((keys + 1) << KEY_SHIFT).view(np.float64)
    nxt = np.minimum(first + 1, len(above) - 1)
    finite = np.isfinite(largest)
    if not (above[nxt][finite] >= largest[finite]).all():  # a second edge inside a key
        raise AssertionError("KEY_SHIFT too small for the log bins")
    return first.astype(np.uint8), above[first]


def log_bins(v: Any) -> Any:
    """Each finite value's bin on the log bins: 0 for v ≤ 0, else 1 + the number of edges
    ≤ v (``searchsorted(edges, v, side="right") + 1``, exactly).

    A value's leading bits (sign, exponent, two bits of mantissa) give a key whose values
    all lie in one bin or in one bin and the next (``_key_bins``): the bin of the key's
    smallest value, plus one where v reaches that bin's upper bound. Negative values (and
    −0.0) have negative keys, clipped to key 0, whose bound is the smallest positive
    float. Two table look-ups and a comparison per value: several times cheaper than a
    binary search over the edges, and cheaper than the logarithm. ``v``: float64 (its
    bits are read as int64); the bins are uint8."""
    first, upper = _key_bins()
    key = v.view(np.int64) >> KEY_SHIFT
    np.maximum(key, 0, out=key)
    s = first.take(key)
    s += v >= upper.take(key)
    return s


@dataclass
class Histogram:
    """Counts and sums of values on the fixed log bins.

    Bin 0: v ≤ 0; bin 1: 0 < v < 10⁻¹²; bins 2 … 97: [10^(k/4), 10^((k+1)/4)); bin 98:
    v ≥ 10¹²; non-finite values are counted in ``nonfinite``.
    """

    counts: Any = None
    sums: Any = None
    nonfinite: int = 0

    def add(self, values: Any) -> None:
        v = np.ascontiguousarray(values, dtype=np.float64).ravel()
        if not math.isfinite(np.add.reduce(v)):  # a NaN or an infinity (or the sum's overflow)
            finite = np.isfinite(v)
            self.nonfinite += int(v.size - np.count_nonzero(finite))
            v = v[finite]
        index = log_bins(v)
        size = len(_bounds()[0])
        counts = np.bincount(index, minlength=size)
        sums = np.bincount(index, weights=v, minlength=size)
        if self.counts is None:
            self.counts, self.sums = counts, sums
        else:
            self.counts += counts
            self.sums += sums

    def merge(self, other: Histogram) -> None:
        """Add another part's counts and sums."""
        self.nonfinite += other.nonfinite
        if other.counts is None:
            return
        if self.counts is None:
            self.counts, self.sums = other.counts.copy(), other.sums.copy()
        else:
            self.counts += other.counts
            self.sums += other.sums

    def share_of_top(self, q: float) -> float | None:
        """Share of Σv (v > 0) held by the ⌈q·n⌉ largest values, resolved to a bin."""
        if self.counts is None:
            return None
        n = int(self.counts.sum())
        total = float(self.sums[1:].sum())
        if n == 0 or total <= 0:
            return None
        want = math.ceil(q * n)
        taken = 0.0
        for k in range(len(self.counts) - 1, 0, -1):
            c = int(self.counts[k])
            if not c:
                continue
            take = min(c, want)
            taken += self.sums[k] * take / c
            want -= take
            if want == 0:
                break
        return float(taken / total)

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the edges, the occupied range of bins, shares of the top rows."""
        counts = self.counts if self.counts is not None else np.zeros(len(log_edges()) + 2)
        return {
            "edges": log_edges().tolist(),
            "counts": [int(c) for c in counts],
            "sums": [float(s) for s in (self.sums if self.sums is not None else counts)],
            "nonfinite": self.nonfinite,
            "top_share": {f"{q:.0%}": self.share_of_top(q) for q in SHARES},
        }


@dataclass
class Residuals:
    """A GRID × GRID count of (ŷ, y − ŷ) on a grid fixed from the first batch."""

    pred_range: tuple[float, float] | None = None
    resid_range: tuple[float, float] | None = None
    counts: Any = None
    clipped: int = 0
    n: int = 0
    rebinned: int = 0  # rows of parallel parts re-binned into this grid (``merge``)

    def add(self, y: Any, yhat: Any) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # y − ŷ may overflow: clipped
            self._add(y, yhat)

    def _add(self, y: Any, yhat: Any) -> None:
        if not math.isfinite(np.add.reduce(y) + np.add.reduce(yhat)):  # else all are finite
            ok = np.isfinite(y) & np.isfinite(yhat)
            y, yhat = y[ok], yhat[ok]
        if not y.size:
            return
        r = y - yhat
        if self.pred_range is None:
            self.pred_range = _widened(yhat)
            self.resid_range = _widened(r)
            self.counts = np.zeros((GRID, GRID), dtype=np.int64)
        i, out_i = _cells(yhat, self.pred_range)
        j, out_j = _cells(r, self.resid_range)
        out_i |= out_j
        self.clipped += int(np.count_nonzero(out_i))
        i *= GRID
        i += j
        self.counts += np.bincount(i, minlength=GRID * GRID).reshape(GRID, GRID)
        self.n += int(y.size)

    def merge(self, other: Residuals) -> None:
        """Add another part's counts. A part read in parallel fixed its grid from its own
        first batch: its cells are re-binned by their centres into this grid (the file's
        first part's), so they may move by up to one cell; ``rebinned`` counts them."""
        if other.counts is None:
            return
        if self.counts is None:
            self.pred_range, self.resid_range = other.pred_range, other.resid_range
            self.counts, self.clipped, self.n = other.counts.copy(), other.clipped, other.n
            self.rebinned += other.rebinned
            return
        self.clipped += other.clipped
        self.n += other.n
        if (other.pred_range, other.resid_range) == (self.pred_range, self.resid_range):
            self.counts += other.counts
            return
        centres = (np.arange(GRID) + 0.5) / GRID
        px = other.pred_range[0] + centres * (other.pred_range[1] - other.pred_range[0])
        ry = other.resid_range[0] + centres * (other.resid_range[1] - other.resid_range[0])
        i, out_i = _cells(px, self.pred_range)
        j, out_j = _cells(ry, self.resid_range)
        cells = (i[:, None] * GRID + j[None, :]).ravel()
        counts = other.counts.ravel()
        self.counts += (
            np.bincount(cells, weights=counts, minlength=GRID * GRID)
            .astype(np.int64)
            .reshape(GRID, GRID)
        )
        self.clipped += int(counts[(out_i[:, None] | out_j[None, :]).ravel()].sum())
        self.rebinned += int(counts.sum())

    def describe(self) -> dict[str, Any] | None:
        if self.counts is None:
            return None
        return {
            "rebinned": self.rebinned,
            "pred_range": list(self.pred_range),
            "resid_range": list(self.resid_range),
            "counts": self.counts.tolist(),  # [prediction bin][residual bin]
            "clipped": self.clipped,
            "n": self.n,
        }


def _widened(v: Any) -> tuple[float, float]:
    """The range of the finite ``v`` widened by 10% (a residual of finite values can
    overflow to ±inf: y = 1e308, ŷ = −1e308), (−1, 1) when none is finite."""
    if not math.isfinite(np.add.reduce(v)):
        v = v[np.isfinite(v)]
        if not v.size:
            return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = 0.1 * (hi - lo) or max(abs(lo), 1.0) * 0.1
    return lo - pad, hi + pad


def _cells(v: Any, bounds: tuple[float, float]) -> tuple[Any, Any]:
    """Each value's cell ⌊(v − lo)/(hi − lo)·GRID⌋ clipped to 0 … GRID − 1, and whether it
    was clipped (decided on the floating-point cell, so no value is too large for it; a
    cell that is not a number, from an infinite residual or range, is clipped to 0)."""
    lo, hi = bounds
    t = np.subtract(v, lo, dtype=np.float64)
    t /= hi - lo
    t *= GRID
    np.floor(t, out=t)
    out = t >= 0
    out &= t < GRID
    np.logical_not(out, out=out)  # NaN compares false: clipped
    np.fmax(t, 0, out=t)  # fmax and fmin take 0 over NaN
    np.fmin(t, GRID - 1, out=t)
    return t.astype(np.intp), out


@dataclass
class Calibration:
    """Reliability bins (W, Σp, Σy per bin) and the confusion matrix."""

    kind: str  # "binary", "multiclass" or "margin" (confusion at s > 0; no reliability bins)
    classes: int
    weight: Any = None
    sum_p: Any = None
    sum_y: Any = None
    confusion: Any = None
    soft: int = 0  # binary rows with a soft target in (0, 1): binned, not in the confusion

    def __post_init__(self) -> None:
        self.weight = np.zeros(CALIBRATION_BINS)
        self.sum_p = np.zeros(CALIBRATION_BINS)
        self.sum_y = np.zeros(CALIBRATION_BINS)
        self.confusion = np.zeros((self.classes, self.classes), dtype=np.int64)

    def add(self, y: Any, p: Any) -> None:
        from losscli.losses.metrics.calibration import width_bins

        if self.kind == "margin":
            truth, guess = y.astype(np.int64), (p > 0).astype(np.int64)
            self.confusion += np.bincount(truth * 2 + guess, minlength=4).reshape(2, 2)
            return
        if self.kind == "binary":
            conf, hit = p, y.astype(np.float64)
            truth, guess = y.astype(np.int64), (p > 0.5).astype(np.int64)  # as the metrics decide
            soft = (y != 0) & (y != 1)  # a soft label has no class to count it under
            if soft.any():
                self.soft += int(np.count_nonzero(soft))
                truth[soft] = -1
        else:
            guess = np.argmax(p, axis=1)
            truth = y.astype(np.int64)
            conf, hit = p[np.arange(len(p)), guess], (guess == truth).astype(np.float64)
        k = width_bins(conf, CALIBRATION_BINS)
        self.weight += np.bincount(k, minlength=CALIBRATION_BINS)
        self.sum_p += np.bincount(k, weights=conf, minlength=CALIBRATION_BINS)
        self.sum_y += np.bincount(k, weights=hit, minlength=CALIBRATION_BINS)
        c = self.classes
        ok = (truth >= 0) & (truth < c)
        self.confusion += np.bincount(truth[ok] * c + guess[ok], minlength=c * c).reshape(c, c)

    def merge(self, other: Calibration) -> None:
        """Add another part's bins and confusion counts."""
        if other.kind != self.kind or other.classes != self.classes:
            return
        self.weight += other.weight
        self.sum_p += other.sum_p
        self.sum_y += other.sum_y
        self.confusion += other.confusion
        self.soft += other.soft

    def ece(self) -> float | None:
        """ECE = Σₖ (Wₖ/W)·|ȳₖ − p̄ₖ| = Σₖ |Σy − Σp|ₖ / W."""
        total = float(self.weight.sum())
        if not total or self.kind == "margin":
            return None
        return float(np.abs(self.sum_y - self.sum_p).sum() / total)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "bins": CALIBRATION_BINS,
            "count": self.weight.astype(int).tolist(),
            "mean_p": _ratio(self.sum_p, self.weight),
            "mean_y": _ratio(self.sum_y, self.weight),
            "ece": self.ece(),
            "confusion": self.confusion.tolist(),  # [true class][predicted class]
            "soft_targets": self.soft,
        }


def _ratio(a: Any, b: Any) -> list[float | None]:
    return [float(x / w) if w else None for x, w in zip(a, b)]


def _squared_norms(parts: Any, n: int) -> Any:
    """‖gᵢ‖² per row of a gradient given as arrays of n rows (one per input)."""
    if len(parts) == 1 and np.ndim(parts[0]) == 1:
        a = np.asarray(parts[0])
        return a * a
    return sum((np.asarray(a).reshape(n, -1) ** 2).sum(axis=1) for a in parts)


#: the page's task section by the first loss's inputs (``Loss.inputs``): decided by the
#: loss, not by the first batch's values, so every batch and every part read in parallel
#: is summed alike. A regression loss gets the residual density; a classifier's
#: probabilities the reliability bins and confusion; raw margin scores (±1 targets, hinge)
#: the confusion at s > 0 only, a score not being a probability to calibrate.
TASK_VIEWS = {
    "real": "residuals",
    "gaussian": "residuals",  # gaussian_nll: the predicted mean's residuals
    "binary": "binary",
    "overlap": "binary",  # dice, iou, tversky: probabilities of one class, or of K
    "margin": "margin",
    "multiclass": "multiclass",
    "log_probs": "log_probs",  # nll: log-probabilities of K classes, exp first
}


@dataclass
class RowStats:
    """One loss's report sums: the histograms of Lᵢ and ‖∂Lᵢ/∂ŷᵢ‖², and (``view``) the
    residual density or the calibration of the file's predictions."""

    view: str | None = None  # the task section this loss's sums feed (``TASK_VIEWS``), or none
    # its predictions are logits (--from-logits, or a loss of raw scores): σ or softmax
    # first; a regression loss's log-rates (poisson --from-logits): exp first
    logits: bool = False
    losses: Histogram = field(default_factory=Histogram)
    grads: Histogram | None = field(default_factory=Histogram)
    ranked: bool = True
    residuals: Residuals | None = None
    calibration: Calibration | None = None
    classes: list[str] | None = None

    @classmethod
    def of(cls, sel: Selected, task: bool) -> RowStats:
        """The sums for ``sel``; ``task``: it is the first loss, which feeds the task section."""
        from losscli.engine.top_rows import unranked_reason

        ranked = unranked_reason(sel) is None
        classes = list(sel.plan.classes) if getattr(sel.plan, "classes", None) else None
        objective = sel.objective
        view = TASK_VIEWS.get(objective.inputs) if task else None
        first = objective.terms[0][1] if hasattr(objective, "terms") else objective
        logits = bool(getattr(first, "params", {}).get("from_logits"))
        if view in ("binary", "multiclass") and not getattr(first.loss, "logits", True):
            logits = True  # it reads raw scores only (multi_hinge, multiclass_sparsemax)
        if view == "margin":  # t = +1 for the positive class (--pos-label's), −1 for the other
            pos = sel.pos_label
            classes = ["−1", "+1"] if pos is None else [f"not {pos}", f"{pos} (positive)"]
        return cls(
            view=view,
            logits=logits,
            ranked=ranked,
            grads=Histogram() if ranked else None,
            classes=classes,
        )

    def add(self, sel: Selected, batch: Batch, frame: Frame, shared: Any) -> None:
        """Offer one batch (``passes.BatchAdder``)."""
        if self.ranked:
            self.losses.add(sel.objective.rows(batch))
            if self.grads is not None:
                try:
                    g = sel.objective.grad(batch, {}, "none")
                except Exception:  # a gradient that needs the merged sums: left out
                    self.grads = None
                else:
                    self.grads.add(_squared_norms(g, len(batch)))
        if self.view is not None:
            self._task(batch)

    def _task(self, batch: Batch) -> None:
        y = batch.target
        if y is None or not batch.preds:
            return
        y = np.asarray(y)
        if y.ndim != 1:
            return  # several target columns (multilabel, distributions): no task section
        y = y.astype(np.float64)
        cols = [np.asarray(p, dtype=np.float64) for p in batch.preds]
        if self.view == "residuals":  # the first prediction column: ŷ (gaussian_nll's mean)
            if cols[0].ndim == 1:
                if self.residuals is None:
                    self.residuals = Residuals()
                # poisson --from-logits reads log-rates z: its prediction is the rate e^z
                self.residuals.add(y, np.exp(cols[0]) if self.logits else cols[0])
            return
        x = cols[0] if len(cols) == 1 else np.column_stack(cols)
        if x.ndim == 2:  # K class columns (cross-entropy, focal, brier over K classes)
            self._classes(y, x)
        elif self.view in ("binary", "margin"):
            if self.calibration is None:
                self.calibration = Calibration(self.view, 2)
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
            if self.view == "margin":  # class 1: t > 0 (+1; a 0/1 target's 1)
                self.calibration.add((y > 0).astype(np.float64), x)
            else:
                self.calibration.add(y, sigmoid(x) if self.logits else x)

    def _classes(self, y: Any, p: Any) -> None:
        """Reliability of the top-label confidence and the argmax confusion of K columns."""
        if self.view not in ("binary", "multiclass", "log_probs"):
            return
        if self.calibration is None:
            self.calibration = Calibration("multiclass", p.shape[1])
        if self.view == "log_probs":
            p = np.exp(p)  # −inf (a class ruled out) is p = 0
        elif self.logits:
            p = softmax(p)
        ok = np.isfinite(p).all(axis=1) & np.isfinite(y)
        self.calibration.add(y[ok], p[ok])

    def finish(self) -> None:
        pass

    def fresh(self) -> RowStats:
        """Empty sums for another part of the file (read in parallel)."""
        return RowStats(
            view=self.view,
            logits=self.logits,
            ranked=self.ranked,
            grads=Histogram() if self.grads is not None else None,
            classes=self.classes,
        )

    def merge(self, other: RowStats) -> None:
        """Add another part's sums."""
        self.losses.merge(other.losses)
        if self.grads is not None and other.grads is not None:
            self.grads.merge(other.grads)
        else:
            self.grads = None
        for name in ("residuals", "calibration"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is None:
                continue
            if mine is None and self.residuals is None and self.calibration is None:
                setattr(self, name, theirs)  # the part's sums are not used after the merge
            elif mine is not None:
                mine.merge(theirs)

    def describe(self) -> dict[str, Any]:
        """JSON-ready sums of the page."""
        return {
            "ranked": self.ranked,
            "losses": self.losses.describe() if self.ranked else None,
            "gradients": self.grads.describe() if self.grads is not None else None,
            "residuals": self.residuals.describe() if self.residuals is not None else None,
            "calibration": self.calibration.describe() if self.calibration else None,
            "classes": self.classes,
        }
