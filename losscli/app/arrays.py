"""The Python API: evaluate and differentiate losses on arrays, in one call or streaming."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from losscli._lazy import np
from losscli.binding.objective import Objective, objectives_for
from losscli.errors import InputError, ParamError, UsageError
from losscli.kernel.streaming import SUMMARIES, Batch, PartialSums
from losscli.kernel.validate import require_finite
from losscli.losses.registry import Loss

ArrayLike = Any


def _as_array(x: ArrayLike, role: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # a ragged list: rows of different lengths
        raise InputError(f"{role} is not an array of rows: {exc}") from None
    if arr.dtype.kind in "biuf":
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 0:
        raise InputError(f"{role} must be an array of rows, got a scalar")
    if arr.ndim > 2:  # (n, h, w) masks: a row's values are one axis, as a file's columns
        raise InputError(
            f"{role} has shape {arr.shape}: losses read rows, as a 1-D array or a 2-D "
            "array of rows × columns (classes, pixels, embedding dimensions)",
            hint="reshape it to rows × columns: a.reshape(len(a), -1)",
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    return arr


def _like(grad: Any, given: ArrayLike) -> Any:
    """A gradient in the shape its input was given in ((n, 1) read as (n,))."""
    shape = np.shape(given)
    return grad.reshape(shape) if len(shape) == 2 and shape[1] == 1 else grad


def _shaped(grads: tuple, y_pred: ArrayLike) -> Any:
    """``gradient``'s result: one array, or a tuple for several inputs; each in its
    input's shape."""
    if isinstance(y_pred, tuple):
        return tuple(_like(g, p) for g, p in zip(grads, y_pred))
    return _like(grads[0], y_pred)


#: predictions (a tuple's length) each input kind reads; the others read one
PREDICTIONS = {"gaussian": (2,), "triplet": (2, 3), "ranking": (2,), "pair_embedding": (2,)}
TARGETLESS = {"triplet"}  # its inputs are distances or embeddings: no target


def _check_inputs(label: str, obj: Objective, y_true: Any, y_pred: Any, var: Any) -> None:
    """Refuse inputs the loss would not read (silently ignored, they would hide a mistake)."""
    kind = obj.inputs
    if var is not None and kind != "gaussian":
        raise UsageError(f"{label} takes no var=: only gaussian_nll reads a variance")
    given = len(y_pred) if isinstance(y_pred, tuple) else 1
    takes = PREDICTIONS.get(kind, (1,))
    if given > max(takes):
        raise UsageError(
            f"{label} reads {' or '.join(map(str, takes))} prediction input(s), got {given}",
            hint="pass one array of predictions" if takes == (1,) else None,
        )
    if y_true is not None and kind in TARGETLESS:
        raise UsageError(
            f"{label} reads no target (its inputs are distances or embeddings): pass y_true=None"
        )


def file_path(path: Any, function: str) -> str:
    """The path argument of a file-level function (str or os.PathLike); arrays and frames
    are a ``TypeError`` that names the frame and array APIs instead."""
    import os

    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    kind = type(path).__name__
    raise TypeError(
        f"{function}() reads a file: path must be a str or os.PathLike, not {kind}; for "
        "a DataFrame or Arrow table use losscli.evaluate_frame(df, loss, target=..., "
        "pred=...) (rows_frame, gradient_frame); for arrays or a DataFrame's columns "
        "losscli.evaluate(y_true, y_pred, loss) (losscli.gradient for gradients), e.g. "
        "losscli.evaluate(df['y'], df['yhat'], 'mse')"
    )


def column_names(value: Any, option: str) -> tuple[str, ...]:
    """A column-list argument: a str is one column (or a comma list, as on the command line),
    never its characters; a list or tuple of str is several."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{option} must be a column name or a list of them, not {value!r}")


def column_name(value: Any, option: str) -> str | None:
    """A one-column argument (weight, group, var, key): a str, or a list holding one."""
    if value is None or isinstance(value, str):
        return value
    names = column_names(value, option)
    if len(names) != 1:
        raise TypeError(f"{option} takes one column name, not {value!r}")
    return names[0]


def thresholds(value: Any, option: str) -> tuple[str, ...]:
    """``fail_above``/``fail_below``: ``"mse=1"`` or ``0.3`` is one threshold, a mapping
    ``{"mse": 1}`` one per loss, a list several."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (repr(value),)
    if isinstance(value, Mapping):
        return tuple(f"{k}={v!r}" for k, v in value.items())
    if isinstance(value, Sequence):
        return tuple(item for v in value for item in thresholds(v, option))
    raise TypeError(f"{option} must be 'LOSS=VALUE', a number, a mapping or a list, not {value!r}")


def loss_text(loss: Any, function: str) -> str | None:
    """A loss spec argument: text, a Loss, or a list of them (``["mse", "mae"]`` is
    ``"mse,mae"``, as ``-l mse -l mae`` is on the command line)."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return loss.name
    if isinstance(loss, Sequence) and all(isinstance(x, str | Loss) for x in loss):
        return ",".join(x.name if isinstance(x, Loss) else x for x in loss)
    raise TypeError(f"{function}() takes a loss spec such as 'mse,huber(delta=0.5)', not {loss!r}")


def make_batch(
    y_true: ArrayLike | None,
    y_pred: ArrayLike | Sequence[ArrayLike],
    weights: ArrayLike | None = None,
    row0: int = 0,
    neg_inf_preds: bool = False,
    allow_empty: bool = False,
) -> Batch:
    """Arrays in, a validated Batch out (shapes agree, values finite, weights ≥ 0; rows,
    unless ``allow_empty``: an Accumulator's batch may have none).

    ``y_pred`` is one array, or a tuple of arrays for losses with several inputs
    (gaussian_nll's mean and variance, triplet's distances or embeddings, …).
    ``neg_inf_preds``: predictions may be −inf (logits of safe_softmax_cross_entropy).
    """
    preds = y_pred if isinstance(y_pred, tuple) else (y_pred,)
    preds = tuple(_as_array(p, "prediction") for p in preds)
    target = None if y_true is None else _as_array(y_true, "target")
    batch = Batch(target, preds, None, row0)
    n = preds[0].shape[0]
    if not allow_empty and n == 0:
        raise InputError("no rows were given")
    for arr, role in [(target, "target"), *((p, "prediction") for p in preds)]:
        if arr is None:
            continue
        if arr.shape[0] != n:
            raise InputError(f"{role} has {arr.shape[0]} rows but the predictions have {n}")
        if arr.dtype.kind == "f":
            if neg_inf_preds and role == "prediction":
                arr = np.where(arr == -np.inf, 0.0, arr)
            require_finite(arr, batch, role)
    if weights is not None:
        w = _as_array(weights, "weights")
        if w.dtype.kind != "f":  # bool, int and uint are float64 by now
            raise InputError(f"weights must be numbers, not values of dtype {w.dtype}")
        if w.shape != (n,):
            raise InputError(f"weights have shape {w.shape}, expected ({n},)")
        require_finite(w, batch, "weights")
        if np.any(w < 0):
            bad = float(w[np.argmax(w < 0)])
            raise ParamError("weights", bad, ">= 0 (sample weights cannot be negative)")
        batch.weights = w
    return batch


def objective(
    loss: str | Loss,
    from_logits: bool | None = None,
    convention: str | None = None,
    **params: Any,
) -> tuple[str, Objective]:
    """Bind one loss spec (a name, alias, ``huber(delta=0.5)`` or ``0.7*mse+0.3*mae``).

    ``convention`` (torch, keras, sklearn, optax) reproduces that library's definition;
    ``from_logits=None`` reads the predictions as the convention does (probabilities
    without one).
    """
    text = loss_text(loss, "evaluate")
    if from_logits is not None and not isinstance(from_logits, (bool, np.bool_)):
        raise UsageError(f"from_logits is True, False or None, not {from_logits!r}")
    bound = objectives_for(text, params, from_logits, convention)
    if len(bound) != 1:
        raise UsageError(
            f"{text!r} names {len(bound)} losses; evaluate() takes one",
            hint="call it once per loss, or combine them: '0.7*mse + 0.3*mae'",
        )
    return bound[0]


class Accumulator:
    """Streaming evaluation of one loss: ``update`` per batch, ``merge``, then ``value``.

    Partial sums are additive, so accumulators fed different chunks (or run on
    different workers) merge into the result of one pass over all the rows.
    Gradients need the merged sums: call ``gradient`` per batch after the updates.
    """

    def __init__(
        self,
        loss: str | Loss,
        *,
        reduction: str = "mean",
        from_logits: bool | None = None,
        convention: str | None = None,
        **params: Any,
    ) -> None:
        if reduction not in SUMMARIES:
            raise UsageError(
                f"an accumulator reduces with mean, mean_with_sample_weight, sum, median, max or p95, not {reduction!r}"
            )
        self.label, self.objective = objective(loss, from_logits, convention, **params)
        self.objective.check_reduction(reduction)
        self.objective = self.objective.for_reduction(reduction)
        self.reduction = reduction
        self.sums = PartialSums()
        self.rows_seen = 0
        # what a merged accumulator must share (its sums are of the same statistics)
        self._binding = (
            loss_text(loss, "Accumulator"),
            reduction,
            from_logits,
            convention,
            repr(sorted(params.items())),
        )

    def update(
        self, y_true: ArrayLike | None, y_pred: ArrayLike, weights: ArrayLike | None = None
    ) -> Accumulator:
        _check_inputs(self.label, self.objective, y_true, y_pred, None)
        batch = make_batch(
            y_true,
            y_pred,
            weights,
            row0=self.rows_seen,
            neg_inf_preds=_neg_inf(self.objective),
            allow_empty=True,
        )
        if len(batch):
            self.sums = self._merged(self.objective.update(batch))
            self.rows_seen += len(batch)
        return self

    def merge(self, other: Accumulator) -> Accumulator:
        """The rows of ``other`` (an Accumulator of the same loss, parameters, reduction,
        convention and from_logits) added to these."""
        if not isinstance(other, Accumulator):
            raise UsageError(f"merge takes another Accumulator, not {type(other).__name__}")
        if other._binding != self._binding:
            names = ("loss", "reduction", "from_logits", "convention", "parameters")
            differ = [
                f"{name} {theirs} (here {ours})"
                for name, ours, theirs in zip(names, self._binding, other._binding)
                if ours != theirs
            ]
            raise UsageError(
                f"cannot merge an Accumulator of another binding: {'; '.join(differ)}",
                hint="merge accumulators made with the same loss and settings",
            )
        self.sums = self._merged(other.sums)
        self.rows_seen += other.rows_seen
        return self

    def _merged(self, sums: Any) -> PartialSums:
        try:
            return self.sums.merge(sums)
        except KeyError:  # another shape of input than the rows before (2 vs K columns)
            raise InputError(
                f"{self.label}: these rows' sums do not add to the earlier ones': the "
                "inputs changed shape between batches (binary labels, then K columns?)"
            ) from None

    def value(self) -> float:
        if not self.sums:
            raise InputError("no rows were given")
        return self.objective.compute(self.sums, self.reduction)

    def gradient(
        self,
        y_true: ArrayLike | None,
        y_pred: ArrayLike,
        weights: ArrayLike | None = None,
        row0: int = 0,
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        if not self.sums:
            raise InputError(
                "no rows were given: the gradient of J needs its sums, so call update() "
                "with every batch first"
            )
        _check_inputs(self.label, self.objective, y_true, y_pred, None)
        batch = make_batch(y_true, y_pred, weights, row0, _neg_inf(self.objective))
        return _shaped(self.objective.grad(batch, self.sums, self.reduction), y_pred)


def _neg_inf(obj: Any) -> bool:
    """The objective takes logits of −inf (safe_softmax_cross_entropy)."""
    return bool(getattr(obj, "neg_inf_logits", False))


def _inputs(y_pred: ArrayLike, var: ArrayLike | None) -> ArrayLike:
    if var is None:
        return y_pred
    return (*y_pred, var) if isinstance(y_pred, tuple) else (y_pred, var)


def evaluate(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    loss: str | Loss,
    *,
    weights: ArrayLike | None = None,
    reduction: str = "mean",
    from_logits: bool | None = None,
    var: ArrayLike | None = None,
    convention: str | None = None,
    **params: Any,
) -> float | np.ndarray:
    """J for ``loss`` on the rows (``reduction='none'``: the per-row losses Lᵢ, or wᵢLᵢ
    with weights, as Keras gives them and as ``gradient`` differentiates them).

    mean: J = Σ wᵢLᵢ / Σ wᵢ (1/n Σ Lᵢ without weights); sum: Σ wᵢLᵢ; median, max,
    p95: that statistic of the Lᵢ (linear interpolation, as numpy.quantile; no weights).
    ``y_pred`` is a tuple for losses with several inputs; ``var`` is
    gaussian_nll's variance. Parameters are keyword arguments (``delta=0.5``).
    ``convention="torch"`` (or keras, sklearn, optax) gives that library's number
    (its denominators, clipping, defaults); explicit parameters still win.
    """
    given = y_pred
    y_pred = _inputs(y_pred, var)
    if reduction == "none":
        label, obj = objective(loss, from_logits, convention, **params)
        _check_inputs(label, obj, y_true, given, var)
        obj.check_reduction("none")
        batch = make_batch(y_true, y_pred, weights, neg_inf_preds=_neg_inf(obj))
        rows = obj.rows(batch, obj.update(batch) if obj.rows_need_sums else None)
        return rows if batch.weights is None else batch.weights * rows
    acc = Accumulator(
        loss, reduction=reduction, from_logits=from_logits, convention=convention, **params
    )
    _check_inputs(acc.label, acc.objective, y_true, given, var)
    return acc.update(y_true, y_pred, weights).value()  # no rows: "no rows were given"


def gradient(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    loss: str | Loss,
    *,
    weights: ArrayLike | None = None,
    reduction: str = "mean",
    from_logits: bool | None = None,
    var: ArrayLike | None = None,
    convention: str | None = None,
    **params: Any,
) -> np.ndarray | tuple[np.ndarray, ...]:
    """∂J/∂ŷ with ŷ's shape (a tuple, one per input, for several inputs or ``var``).

    It is what autograd returns for J as ``evaluate`` reports it, with the
    reduction and weights included (w.r.t. logits with ``from_logits``).
    """
    given = y_pred
    y_pred = _inputs(y_pred, var)
    if reduction == "none":
        label, obj = objective(loss, from_logits, convention, **params)
        _check_inputs(label, obj, y_true, given, var)
        obj.check_reduction("none")
        batch = make_batch(y_true, y_pred, weights, neg_inf_preds=_neg_inf(obj))
        return _shaped(obj.grad(batch, PartialSums(), "none"), y_pred)
    acc = Accumulator(
        loss, reduction=reduction, from_logits=from_logits, convention=convention, **params
    )
    _check_inputs(acc.label, acc.objective, y_true, given, var)
    acc.update(y_true, y_pred, weights)
    return acc.gradient(y_true, y_pred, weights)


def partial_sums(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    loss: str | Loss,
    *,
    weights: ArrayLike | None = None,
    convention: str | None = None,
    **params: Any,
) -> Mapping[str, Any]:
    """The additive statistics one batch contributes (for custom distributed merging)."""
    _, obj = objective(loss, params.pop("from_logits", None), convention, **params)
    return obj.update(make_batch(y_true, y_pred, weights, neg_inf_preds=_neg_inf(obj)))
