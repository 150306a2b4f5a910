"""The streaming contract every loss implements: update → partial sums → compute.

A loss never sees the whole data at once. Each batch of rows is turned into a
few additive sums (``update``); sums from batches, files or workers are merged by
addition (``PartialSums.merge``); J is computed once from the merged sums
(``compute``). Gradients are per row but may depend on global sums (the mean's
Σw, rmse's value, Dice's totals), so ``grad`` takes a batch *and* the merged sums.
This is the update/compute split of torchmetrics, made mergeable across workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.errors import UsageError
from losscli.kernel.distinct import distinct

Params = Mapping[str, Any]


@dataclass
class Batch:
    """A block of rows: target (or None), the differentiable inputs, optional weights.

    ``row0`` is the input row number of the first row, so errors can name the row.
    ``mask`` marks the rows that count (False for ``ignore_index`` rows); ``aux``
    carries what ``prepare`` derived (e.g. the activation applied to logits). ``memo``
    holds what a loss made of it (its prepared batch, ``BoundLoss.prepare``; its Lᵢ,
    ``Elementwise.rows``), so the loss's sums, its grouped sums and the pass's extras
    (worst rows, the report's histograms) share them.
    """

    target: np.ndarray | None
    preds: tuple[np.ndarray, ...]
    weights: np.ndarray | None = None
    row0: int = 0
    mask: np.ndarray | None = None
    aux: dict[str, Any] = field(default_factory=dict)
    rows: np.ndarray | None = None  # input row numbers when not row0, row0+1, … (--dropna)
    memo: dict[Any, tuple[Any, Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    def replace(self, **changes: Any) -> Batch:
        """A copy with some fields changed (the arrays are shared, not copied)."""
        fields = {**self.__dict__, "aux": dict(self.aux), "memo": {}, **changes}
        return Batch(**fields)

    def kept(self, key: Any, owner: Any, params: Any, make: Callable[[], Any]) -> Any:
        """What ``make()`` gives ``owner`` (a kernel) with ``params`` for this batch,
        made once: kept in ``memo`` under ``key`` while they are the same objects. The
        batch itself is kept as None, so that its memo holds no cycle through it."""
        found = self.memo.get(key)
        if found is not None and found[0] is owner and found[1] is params:
            return self if found[2] is None else found[2]
        made = make()
        self.memo[key] = (owner, params, None if made is self else made)
        return made

    def __len__(self) -> int:
        return int(self.preds[0].shape[0])

    def row_number(self, index: int) -> int:
        """The input row number of the batch's ``index``-th row."""
        return int(self.rows[index]) if self.rows is not None else self.row0 + index

    def take(self, index: np.ndarray) -> Batch:
        """The rows at ``index`` (a boolean mask or positions), keeping their row numbers."""
        rows = self.rows if self.rows is not None else self.row0 + np.arange(len(self))
        return Batch(
            target=None if self.target is None else self.target[index],
            preds=tuple(p[index] for p in self.preds),
            weights=None if self.weights is None else self.weights[index],
            row0=self.row0,
            mask=None if self.mask is None else self.mask[index],
            # Per-row arrays that ``prepare`` derived (labels) are sliced with the rows.
            aux={k: _rows_of(v, index, len(self)) for k, v in self.aux.items()},
            rows=rows[index],
        )

    def w(self) -> np.ndarray:
        """The sample weights, ones when none were given."""
        return np.ones(len(self)) if self.weights is None else self.weights


def _rows_of(value: Any, index: Any, n: int) -> Any:
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == n:
        return value[index]
    return value


class PartialSums(dict):
    """Named additive statistics of a set of rows; merging is elementwise addition."""

    def merge(self, other: Mapping[str, Any]) -> PartialSums:
        """Sums of the union of both row sets (nested sums, as composites have, too)."""
        if not self:
            return PartialSums(other)
        if not other:  # e.g. a partition whose rows were all dropped
            return PartialSums(self)
        return PartialSums(
            {
                k: PartialSums(v).merge(other[k]) if isinstance(v, Mapping) else v + other[k]
                for k, v in self.items()
            }
        )


class Kernel:
    """The math of one loss. Subclasses implement the four methods below."""

    #: J is a ratio of sums (Dice, IoU, Tversky) or a function of all rows' sorted errors
    #: (Lovász): no per-row values, no ``none``.
    ratio: bool = False
    #: the reductions this loss supports.
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    #: a row's Lᵢ depends on the other rows (circle: every pair of rows): ``rows`` takes the
    #: merged sums of all rows as a third argument, so per-row output first merges them
    #: (``engine.row_output``), and no row statistic (median, max, p95) is offered.
    rows_need_sums: bool = False

    def prepare(self, batch: Batch, params: Params) -> Batch:
        """Validate and convert a batch's inputs (labels to int, ±1 targets, ranges)."""
        return batch

    def update(self, batch: Batch, params: Params) -> PartialSums:
        raise NotImplementedError

    def compute(self, sums: Mapping[str, Any], params: Params, reduction: str) -> float:
        raise NotImplementedError

    def update_grouped(
        self, batch: Batch, params: Params, codes: np.ndarray, size: int
    ) -> PartialSums:
        """Partial sums of each group of rows at once: every leaf gains a leading axis of
        length ``size``, indexed by the group ``codes`` (0 ≤ code < size) of the rows.

        ``take_group(result, g)`` is ``update`` of the rows whose code is g (zeros for
        a group without rows). This default calls ``update`` once per group present;
        kernels whose sums are sums over rows override it with ``bincount``.
        """
        out: PartialSums | None = None
        present = distinct(codes)
        for g in present.tolist():
            part = self.update(batch.take(codes == g), params)
            if out is None:
                out = _zeros_like(part, size)
            _put(out, part, g)
        return out if out is not None else PartialSums()

    def rows(self, batch: Batch, params: Params) -> np.ndarray:
        """Per-row losses Lᵢ (for ``--reduction none``); with ``rows_need_sums``,
        ``rows(batch, params, sums)`` against the merged sums of every row."""
        raise UsageError("this loss has no per-row values (it is a ratio of sums)")

    def grad(
        self, batch: Batch, sums: Mapping[str, Any], params: Params, reduction: str
    ) -> tuple[np.ndarray, ...]:
        """∂J/∂(each input) for the batch's rows, J being reduced over the merged sums."""
        raise NotImplementedError

    def gradient_sums(
        self, rows: Callable[[], int | None], params: Params, reduction: str, weighted: bool
    ) -> PartialSums | None:
        """What ``grad`` reads of the merged sums, known before any row is read: the sums a
        pass gives when no row is masked, ``rows()`` being the input's row count (asked for
        only when needed; None when unknown) and ``weighted`` whether rows carry sample
        weights. None when the gradient needs the pass's own sums.

        A pass may write gradients from these and check them against its own merged sums
        at the end (each leaf equal, ``engine.passes.sums_agree``): one pass instead of two.
        """
        return None

    #: What recombines linearly across --per-class rows: J, or J² (rmse), log J (perplexity).
    combines: str = "J"

    def breakdown(self, targets: int, predictions: int) -> str | None:
        """How ``--per-class`` splits J, given the number of target and prediction columns:
        ``"label"`` (by each row's true class), ``"column"`` (by output column),
        ``"overlap"`` (each class's own ratio), or None (no per-class breakdown).
        ``losscli.engine.perclass`` defines each."""
        return None

    def class_codes(self, batch: Batch, params: Params) -> np.ndarray:
        """The true class (0..K−1) of each prepared row, −1 for rows that do not count
        (``--per-class`` by label)."""
        from losscli.kernel.validate import true_classes

        return true_classes(batch)

    def class_sums(self, sums: Mapping[str, Any], c: int) -> PartialSums:
        """The sums of class ``c`` alone, from the sums of all classes (``--per-class``
        of a ratio loss)."""
        raise NotImplementedError


class Elementwise(Kernel):
    """A loss whose J is a (weighted) mean or sum of per-row values Lᵢ.

    Subclasses give ``loss`` (Lᵢ, or an (n, m) array of per-column terms that is
    averaged over the m columns, as for multilabel BCE or multi-output MSE) and
    ``dloss`` (∂Lᵢ/∂input for each input, before reduction). Rows for which
    ``valid`` is False (``ignore_index``) leave both the sum and n.
    An ``outer`` function turns the mean M into J (rmse: √M, perplexity: e^M).
    """

    def loss(self, batch: Batch, params: Params) -> np.ndarray:
        raise NotImplementedError

    def dloss(self, batch: Batch, params: Params) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def valid(self, batch: Batch, params: Params) -> np.ndarray | None:
        return batch.mask

    def outer(self, mean: float) -> float:
        return mean

    def outer_grad(self, mean: float) -> float:
        return 1.0

    def _row_weights(self, batch: Batch, params: Params) -> np.ndarray:
        mask = self.valid(batch, params)
        return batch.w() if mask is None else np.where(mask, batch.w(), 0.0)

    def denominator(self, batch: Batch, params: Params) -> np.ndarray:
        """Per-row dᵢ whose sum divides the mean: J = Σ wᵢLᵢ / Σ dᵢ.

        dᵢ = wᵢ, the sample weight (0 for ignored rows), unless a library convention
        sets the ``denominator`` option: ``count`` gives 1 per counted row (Keras
        divides by n); ``class`` and ``label_class`` give wᵢ·cᵢ with cᵢ the row's class
        weight from ``row_class_weight`` (PyTorch's Σ w_y, scikit-learn's sample weights).
        """
        mode = params.get("denominator")
        if mode == "count":
            mask = self.valid(batch, params)
            return np.ones(len(batch)) if mask is None else mask.astype(np.float64)
        w = self._row_weights(batch, params)
        if mode in ("class", "label_class"):
            c = self.row_class_weight(batch, params, labels_only=mode == "label_class")
            if c is not None:
                w = w * c
        return w

    def row_class_weight(
        self, batch: Batch, params: Params, labels_only: bool = False
    ) -> np.ndarray | None:
        """The class weight of each row's label (None: the loss has no class weights).
        ``labels_only``: None too when the targets are not integer labels."""
        return None

    def rows(self, batch: Batch, params: Params) -> np.ndarray:
        """Per-row Lᵢ (0 where the row does not count), computed once per batch and
        parameters (``Batch.kept``) for the other readers of the same batch. The array is
        shared: its readers do not write to it."""
        return batch.kept(id(self), self, params, lambda: self._rows(batch, params))

    def _rows(self, batch: Batch, params: Params) -> np.ndarray:
        values = self.loss(batch, params)
        if values.ndim == 2:
            values = values.mean(axis=1)
        mask = self.valid(batch, params)
        return values if mask is None else np.where(mask, values, 0.0)

    def update(self, batch: Batch, params: Params) -> PartialSums:
        mask = self.valid(batch, params)
        values = self.rows(batch, params)
        if (
            mask is None
            and batch.weights is None
            and not params.get("denominator")
            and type(self).denominator is Elementwise.denominator
        ):  # unit weights and the default denominator: Σd is the row count
            n = len(batch)
            return PartialSums(wl=float(np.sum(values)), w=float(n), n=n)
        w = batch.w() if mask is None else np.where(mask, batch.w(), 0.0)
        n = len(batch) if mask is None else int(np.count_nonzero(mask))
        d = self.denominator(batch, params)
        return PartialSums(wl=float(np.sum(w * values)), w=float(np.sum(d)), n=n)

    def update_grouped(
        self, batch: Batch, params: Params, codes: np.ndarray, size: int
    ) -> PartialSums:
        mask = self.valid(batch, params)
        w = batch.w() if mask is None else np.where(mask, batch.w(), 0.0)
        values = self.rows(batch, params)
        counted = np.ones(len(batch)) if mask is None else mask.astype(np.float64)
        return PartialSums(
            wl=np.bincount(codes, weights=w * values, minlength=size),
            w=np.bincount(codes, weights=self.denominator(batch, params), minlength=size),
            n=np.bincount(codes, weights=counted, minlength=size).astype(np.int64),
        )

    def compute(self, sums: Mapping[str, Any], params: Params, reduction: str) -> float:
        if reduction == "sum":
            return float(sums["wl"])
        return float(self.outer(_weighted_mean(sums)))

    def grad(
        self, batch: Batch, sums: Mapping[str, Any], params: Params, reduction: str
    ) -> tuple[np.ndarray, ...]:
        w = self._row_weights(batch, params)
        if reduction == "mean":
            total = _total_weight(sums)
            slope = 1.0 if self._linear_outer else self.outer_grad(float(sums["wl"] / total))
            scale = w * (slope / total)
        else:  # sum, and none: ∂(wᵢLᵢ)/∂input per row (autograd with a ones cotangent)
            scale = w
        out = []
        columnwise = self.columnwise(batch)
        for g in self.dloss(batch, params):
            s = scale / g.shape[1] if columnwise and g.ndim == 2 else scale
            out.append(g * (s[:, None] if g.ndim == 2 else s))
        return tuple(out)

    @property
    def _linear_outer(self) -> bool:
        """J is the mean itself (no ``outer`` function): ∂J/∂M = 1 whatever M is."""
        return type(self).outer_grad is Elementwise.outer_grad

    def gradient_sums(
        self, rows: Callable[[], int | None], params: Params, reduction: str, weighted: bool
    ) -> PartialSums | None:
        """``sum``: ∂(ΣwᵢLᵢ) reads no sums. ``mean`` of J = M: the gradient reads Σdᵢ alone,
        which is the row count when every row counts once (no sample weights, no class
        weights in the denominator, no row masked: the pass's check); None otherwise."""
        if type(self).grad is not Elementwise.grad:
            return None
        if reduction == "sum":
            return PartialSums()
        denominator = params.get("denominator")
        counted_once = (
            (denominator == "count" or (denominator is None and not weighted))
            and type(self).denominator is Elementwise.denominator
            and type(self).update is Elementwise.update
        )
        if reduction == "mean" and self._linear_outer and counted_once:
            n = rows()
            return PartialSums(w=float(n)) if n else None
        return None

    def columnwise(self, batch: Batch) -> bool:
        """True when Lᵢ is the mean of per-column terms (multilabel, multi-output),
        so ``loss`` returns an (n, m) array and each ∂ is divided by m."""
        return False


class Collected:
    """Values kept row by row, for statistics that are not sums (a median, a sort).

    A leaf of ``PartialSums`` like any other: merging concatenates instead of adding,
    so it survives batches, groups and workers. Memory grows with the rows it keeps
    (8 bytes per float64 value), so only the losses and reductions that need every
    value (``--reduction median``, Lovász, d2_pinball's quantile, equal-mass bins) use it.
    """

    __slots__ = ("parts",)

    def __init__(self, *parts: np.ndarray) -> None:
        self.parts = tuple(p for p in parts if len(p))

    def __add__(self, other: Any) -> Collected:
        if isinstance(other, Collected):
            return Collected(*self.parts, *other.parts)
        if isinstance(other, (int, float)) and other == 0:  # a group's empty slot
            return self
        return NotImplemented

    def __radd__(self, other: Any) -> Collected:
        if isinstance(other, (int, float)) and other == 0:
            return self
        return NotImplemented

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def array(self) -> np.ndarray:
        """All kept values in the order they were read."""
        if not self.parts:
            return np.empty(0)
        if len(self.parts) > 1:  # keep the one array instead of the pieces: half the memory
            self.parts = (np.concatenate(self.parts),)
        return self.parts[0]

    @staticmethod
    def resampler(units: np.ndarray) -> Any:
        """``draw(counts)``: the values of the ``units`` (an object array of Collected, 0 for
        none) with unit u repeated counts[u] times, in unit order; one gather per draw."""
        arrays = [u.array() for u in units if isinstance(u, Collected) and len(u)]
        index = [i for i, u in enumerate(units) if isinstance(u, Collected) and len(u)]
        lengths = np.array([len(a) for a in arrays], dtype=np.intp)
        values = np.concatenate(arrays) if arrays else np.empty(0)
        starts = np.cumsum(lengths) - lengths

        def draw(counts: np.ndarray) -> Collected:
            reps = np.repeat(np.arange(len(arrays)), np.asarray(counts)[index])
            sizes = lengths[reps]
            # row j of drawn unit r sits at starts[r] + j: one arange shifted per unit
            shift = np.repeat(starts[reps] - (np.cumsum(sizes) - sizes), sizes)
            return Collected(values[shift + np.arange(int(sizes.sum()))])

        return draw

    def __repr__(self) -> str:
        return f"Collected({len(self)} values)"


def collect_grouped(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """One ``Collected`` per group code (an object array of length ``size``)."""
    out = np.empty(size, dtype=object)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(size + 1))
    for g in range(size):
        out[g] = Collected(values[order[bounds[g] : bounds[g + 1]]])
    return out


def _zeros_like(sums: Mapping[str, Any], size: int) -> PartialSums:
    """Zero sums shaped like ``sums`` with a leading axis of length ``size``."""
    return PartialSums(
        {
            k: _zeros_like(v, size) if isinstance(v, Mapping) else _zero_leaf(v, size)
            for k, v in sums.items()
        }
    )


def _zero_leaf(leaf: Any, size: int) -> np.ndarray:
    if isinstance(leaf, Collected):
        out = np.empty(size, dtype=object)
        out[:] = [Collected() for _ in range(size)]
        return out
    return np.zeros((size, *np.shape(leaf)), dtype=np.asarray(leaf).dtype)


def _put(out: Mapping[str, Any], part: Mapping[str, Any], g: int) -> None:
    for k, v in part.items():
        if isinstance(v, Mapping):
            _put(out[k], v, g)
        else:
            out[k][g] = v


def take_group(sums: Mapping[str, Any], g: Any) -> PartialSums:
    """The sums of group ``g`` from grouped sums (``g`` may also be an index array)."""
    return PartialSums(
        {k: take_group(v, g) if isinstance(v, Mapping) else v[g] for k, v in sums.items()}
    )


def map_leaves(sums: Mapping[str, Any], fn: Any) -> PartialSums:
    """Grouped sums with ``fn`` applied to every leaf array."""
    return PartialSums(
        {k: map_leaves(v, fn) if isinstance(v, Mapping) else fn(v) for k, v in sums.items()}
    )


def _weighted_mean(sums: Mapping[str, Any]) -> float:
    """Σ wL / Σ w; a mean over no weight is an input error, not NaN."""
    return float(sums["wl"] / _total_weight(sums))


def _total_weight(sums: Mapping[str, Any]) -> Any:
    """Σ w, the mean's denominator; none (zero) is an input error, not NaN."""
    if not sums["w"] > 0:
        from losscli.errors import ZeroWeightError

        raise ZeroWeightError()
    return sums["w"]


#: Reductions that are statistics of the per-row losses Lᵢ (``losscli.kernel.row_statistics``):
#: every loss with per-row values (``none``) has them.
ROW_STATISTICS = ("median", "max", "p95")
#: Keras's reduction='mean_with_sample_weight': J = Σwᵢ·Lᵢ / Σwᵢ even where a library
#: convention's mean divides by something else (Keras's default sum_over_batch_size divides by
#: n). Losses bind it as the mean without the ``denominator`` option ``count``
#: (``losscli.binding.objective``); their kernels see ``mean``.
MEAN_WITH_SAMPLE_WEIGHT = "mean_with_sample_weight"
REDUCTIONS = ("mean", "sum", "none", *ROW_STATISTICS)
#: The reductions that give one value: what eval, grad, compare and the accumulator take.
SUMMARIES = ("mean", MEAN_WITH_SAMPLE_WEIGHT, "sum", *ROW_STATISTICS)


def kernel_reduction(reduction: str) -> str:
    """The reduction a kernel computes: ``mean`` for ``mean_with_sample_weight``."""
    return "mean" if reduction == MEAN_WITH_SAMPLE_WEIGHT else reduction


def supported_reductions(kernel: Kernel) -> tuple[str, ...]:
    """The reductions a loss defines: its own, plus the row statistics when it has rows."""
    extra = ROW_STATISTICS if "none" in kernel.reductions and not kernel.rows_need_sums else ()
    return (*kernel.reductions, *(r for r in extra if r not in kernel.reductions))


def check_reduction(name: str, kernel: Kernel, reduction: str) -> None:
    """Refuse a reduction the loss does not define, naming the ones it has."""
    reduction = kernel_reduction(reduction)
    if reduction not in REDUCTIONS:
        raise UsageError(
            f"unknown reduction {reduction!r}: use {', '.join(REDUCTIONS[:-1])} or {REDUCTIONS[-1]}"
        )
    supported = supported_reductions(kernel)
    if reduction not in supported:
        raise UsageError(
            f"{name} has no reduction {reduction!r}",
            hint=f"{name} supports: {', '.join(supported)}",
        )


def memo(sums: Mapping[str, Any], name: str, fn: Any) -> Any:
    """``fn()``, computed once per merged-sums object (a sort of collected values is
    needed by every batch of the gradient pass, and the sums do not change there)."""
    cache = getattr(sums, "_memo", None)
    if cache is None:
        try:
            cache = sums._memo = {}  # type: ignore[union-attr]
        except AttributeError:  # a plain mapping: nowhere to keep it
            return fn()
    if name not in cache:
        cache[name] = fn()
    return cache[name]
