"""Input checks shared by the loss families; each failure names the role, row and value.

Errors carry ``role`` (target, prediction, variance, weights, …) and the 0-based
input ``row`` so the CLI can add the file and column names in front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from losscli._lazy import np
from losscli.errors import InputError

if TYPE_CHECKING:  # annotations only: streaming imports this module at run time
    from losscli.kernel.streaming import Batch


class ValueProblem(InputError):
    """An invalid value in the data, located by role, row and column index."""

    def __init__(
        self,
        message: str,
        *,
        role: str,
        row: int,
        count: int,
        value: object = None,
        col: int | None = None,
        hint: str | None = None,
        what: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.what = what
        self.role = role
        self.row = row
        self.count = count
        self.value = value
        self.col = col


def _first_bad(bad: np.ndarray) -> tuple[int, int | None, int]:
    """(row, column or None, count of bad rows) of a boolean mask of shape (n,) or (n, k)."""
    rows = bad if bad.ndim == 1 else bad.any(axis=1)
    idx = int(np.argmax(rows))
    col = None if bad.ndim == 1 else int(np.argmax(bad[idx]))
    return idx, col, int(np.count_nonzero(rows))


def fail_where(
    bad: np.ndarray,
    values: np.ndarray,
    batch: Batch,
    role: str,
    what: str,
    hint: str | None = None,
) -> None:
    """Raise ValueProblem for the first True of ``bad``, if any."""
    if not bad.any():
        return
    idx, col, count = _first_bad(bad)
    value = values[idx] if col is None else values[idx, col]
    if isinstance(value, np.generic):
        value = value.item()
    row = batch.row_number(idx)
    more = f" (at least {count} rows)" if count > 1 else ""  # counted in this batch
    raise ValueProblem(
        f"{role} {what} at row {row}: {value!r}{more}",
        role=role,
        row=row,
        count=count,
        value=value,
        col=col,
        hint=hint,
        what=what,
    )


def require_finite(values: np.ndarray, batch: Batch, role: str) -> None:
    fail_where(
        ~np.isfinite(values),
        values,
        batch,
        role,
        "is NaN, infinite or empty",
        hint="drop those rows with --dropna, or fix the data",
    )


def require_range(
    values: np.ndarray,
    batch: Batch,
    role: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    what: str | None = None,
    hint: str | None = None,
) -> None:
    """Values must lie in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    if values.size and (lo is None or hi is None or lo < hi):
        # The common case in two reductions, no temporaries: the extremes are inside.
        inside = True
        if lo is not None:
            low = np.min(values)
            inside = bool(low > lo if lo_open else low >= lo)
        if inside and hi is not None:
            inside = bool(np.max(values) <= hi)
        if inside:
            return
    bad = np.zeros(values.shape, dtype=bool)
    if lo is not None:
        bad |= values <= lo if lo_open else values < lo
    if hi is not None:
        bad |= values > hi
    if what is None:
        left = "(" if lo_open else "["
        what = f"outside {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    fail_where(bad, values, batch, role, what, hint)


def require_probabilities(values: np.ndarray, batch: Batch, role: str = "prediction") -> None:
    require_range(
        values,
        batch,
        role,
        0.0,
        1.0,
        what="is not a probability in [0, 1]",
        hint="if the predictions are logits (scores), pass --from-logits",
    )


def require_binary(values: np.ndarray, batch: Batch, role: str = "target") -> None:
    fail_where(
        (values != 0) & (values != 1),
        values,
        batch,
        role,
        "is not a 0/1 label",
        hint="binary losses need targets 0 or 1",
    )


def require_soft_labels(values: np.ndarray, batch: Batch, role: str = "target") -> None:
    require_range(
        values,
        batch,
        role,
        0.0,
        1.0,
        what="is not a label in [0, 1]",
        hint="binary losses need targets 0 or 1 (or soft targets in [0, 1])",
    )


def plus_minus_one(values: np.ndarray, batch: Batch, role: str = "target") -> np.ndarray:
    """Map {0, 1} → {−1, +1}; {−1, +1} stay; anything else (or 0 beside −1) is an error."""
    fail_where(
        (values != 0) & (values != 1) & (values != -1),
        values,
        batch,
        role,
        "is not a label in {-1, +1} or {0, 1}",
        hint="margin losses take ±1 targets (0/1 targets are mapped 0 → -1)",
    )
    if np.any(values == 0) and np.any(values == -1):
        fail_where(
            values == 0,
            values,
            batch,
            role,
            "mixes 0 and -1 labels",
            hint="use either {0, 1} or {-1, +1} targets",
        )
    return np.where(values == 1, 1.0, -1.0)


def integer_labels(
    values: np.ndarray,
    k: int,
    batch: Batch,
    role: str = "target",
    ignore_index: int | None = None,
) -> np.ndarray:
    """Labels as int64 in [0, k) (rows equal to ``ignore_index`` are mapped to 0)."""
    values = np.asarray(values)
    if values.dtype.kind not in "iuf":
        raise InputError(
            f"{role} labels must be integers 0..{k - 1}, got {values.dtype} values",
            hint="string labels are matched to prob_<class> columns by the CLI",
        )
    ignored = values == ignore_index if ignore_index is not None else np.zeros(values.shape, bool)
    fail_where(
        ~ignored & ((values != np.round(values)) | (values < 0) | (values >= k)),
        values,
        batch,
        role,
        f"is not a class label in 0..{k - 1}",
        hint=f"there are {k} prediction columns, so labels must be 0..{k - 1}",
    )
    return np.where(ignored, 0, values).astype(np.int64)


def is_one_hot(y: np.ndarray) -> np.ndarray:
    """Per row of K target columns: one 1 and the rest 0."""
    hot = y == 1.0
    return ((y == 0.0) | hot).all(axis=1) & (np.count_nonzero(hot, axis=1) == 1)


def one_hot_labels(y: np.ndarray, batch: Batch, loss: str, hint: str | None = None) -> np.ndarray:
    """K one-hot target columns (Keras's layout) → class labels 0..K−1, as floats;
    a row that is not one-hot is an error naming its row."""
    ok = is_one_hot(y)
    if not ok.all():
        idx = int(np.argmin(ok))
        row = batch.row_number(idx)
        count = int(np.count_nonzero(~ok))
        value = tuple(float(v) for v in y[idx])
        raise ValueProblem(
            f"target row {row} is not one-hot: {value}",
            role="target",
            row=row,
            count=count,
            value=value,
            hint=hint
            or f"{loss} reads one class per row: K target columns must be one-hot, "
            "or give one label column 0..K-1",
            what="is not a one-hot row (one 1, the rest 0)",
        )
    return np.argmax(y, axis=1).astype(np.float64)


def require_rows_sum_to_one(
    p: np.ndarray, batch: Batch, role: str = "prediction", tol: float = 1e-3
) -> None:
    sums = p.sum(axis=1)
    fail_where(
        np.abs(sums - 1.0) > tol,
        sums,
        batch,
        role,
        "is the row sum; class probabilities must sum to 1",
        hint="if the columns are logits (scores), pass --from-logits",
    )


class LogitsWatch:
    """Do the columns read as logits (``--from-logits``) hold probabilities instead?

    Watches the prediction columns during the evaluation pass, from any thread: a
    column group is suspect while every value lies in [0, 1] and, for K columns of
    one distribution (softmax), every row sums to 1. A group stops being watched at
    its first value outside.
    """

    def __init__(self, groups: list[tuple[list[str], str, list[str]]]) -> None:
        import threading

        # (prediction columns, how they are read: "sigmoid", "softmax" (their rows are
        # one distribution) or "margin" (raw scores), the losses that read them so)
        self.groups = groups
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.suspect = [True] * len(self.groups)
        self.rows = 0

    def add_frame(self, frame) -> None:
        for i, (columns, read, _) in enumerate(self.groups):
            if not self.suspect[i]:
                continue
            values = [frame.numbers.get(c) for c in columns]
            if any(v is None for v in values):
                suspect = False
            else:
                suspect = all(v.size == 0 or (v.min() >= 0.0 and v.max() <= 1.0) for v in values)
                if suspect and read == "softmax" and len(values) > 1:
                    suspect = bool(np.all(np.abs(np.add.reduce(values) - 1.0) <= 1e-3))
            with self._lock:
                self.suspect[i] = self.suspect[i] and suspect
        with self._lock:
            self.rows += frame.n

    def warning(self, source: str, flag: bool = True) -> str | None:
        """One line for the first suspect group, or None; ``flag``: read as logits by
        ``--from-logits`` (else by a convention's default)."""
        if not self.rows:
            return None
        for (columns, read, losses), suspect in zip(self.groups, self.suspect):
            if suspect:
                where = ", ".join(columns)
                rows = " and every row sums to 1" if read == "softmax" and len(columns) > 1 else ""
                reads = "reads" if len(losses) == 1 else "read"
                if read == "margin":
                    return (
                        f"{source}: every score in {where} lies in [0, 1]: they look like "
                        f"probabilities, but {', '.join(losses)} {reads} raw margin scores "
                        "(t·s ≥ 1 for a right answer with a margin, which a probability never "
                        "reaches for t = −1); give the model's raw scores, or the logits "
                        "log(p / (1 − p))"
                    )
                return (
                    f"{source}: every prediction in {where} lies in [0, 1]{rows}: they look like "
                    f"probabilities, but {', '.join(losses)} {reads} them as logits "
                    + (
                        "(--from-logits); if they are probabilities, drop --from-logits"
                        if flag
                        else "(the convention's default); if they are probabilities, "
                        "add --no-from-logits"
                    )
                )
        return None


#: the hint of a soft target met by ``--per-class`` (a page that adds class rows where
#: they are defined leaves them out on it: ``app.report``)
SOFT_TARGETS_HINT = "--per-class groups rows by their true class; soft targets have none"


def true_classes(batch: Batch) -> np.ndarray:
    """Each prepared row's true class: the label (K columns), the one-hot column, or the
    0/1 target of one column; −1 for a row that does not count (``ignore_index``)."""
    hint = SOFT_TARGETS_HINT
    if "labels" in batch.aux:
        codes = np.asarray(batch.aux["labels"], dtype=np.int64)
    elif batch.target.ndim == 2:  # one-hot (or soft) target columns
        t = batch.target
        top = t.max(axis=1)
        soft = (top != 1.0) | (t.sum(axis=1) != 1.0)
        if batch.mask is not None:
            soft &= batch.mask
        fail_where(soft, top, batch, "target", "is not a one-hot row (largest value shown)", hint)
        codes = np.argmax(t, axis=1).astype(np.int64)
    else:
        t = batch.target
        fail_where((t != 0) & (t != 1), t, batch, "target", "is not a 0/1 class", hint)
        codes = t.astype(np.int64)
    return codes if batch.mask is None else np.where(batch.mask, codes, -1)
