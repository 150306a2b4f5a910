"""One pass over the batches → partial sums per loss and group → results.

The file is read once for values (every selected loss and every group updates
its sums from the same batch); gradients need the merged sums, so they take a
second pass. Memory is bounded by the batch, not the file.

``each_batch`` is the one loop over a reading's batches: ``accumulate`` (with the
``breakdown`` extras for ``--per-class`` and ``--bootstrap``) and ``scoring.score``
(``compare``) hand it what to do with each loss's batch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from losscli._lazy import np
from losscli.binding.objective import Objective
from losscli.errors import InputError, UsageError, ZeroWeightError, shown
from losscli.io.batches import (
    expected_rows,
    float_column,
    part_place,
    read_batches,
    read_header,
    text_column,
    where_row,
)
from losscli.io.columns import ColumnPlan, resolve_columns
from losscli.io.csv_ranges import usable_cpus
from losscli.io.parquet_reader import split_row_groups
from losscli.io.sources import Header, Source, drop_pending
from losscli.kernel.distinct import distinct
from losscli.kernel.streaming import ROW_STATISTICS, Batch, PartialSums, map_leaves, take_group


@dataclass
class Selected:
    """One requested loss: its label as results show it, the objective, its columns."""

    label: str
    objective: Objective
    plan: ColumnPlan
    # --pos-label (as given when the loss was planned), and the labels its binary
    # target columns have shown so far (a binary target holds at most two).
    pos_label: str | None = None
    labels_seen: dict[str, set] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return getattr(self.objective, "name", self.label)


def plan_losses(
    header: Header,
    objectives: Sequence[tuple[str, Objective]],
    *,
    source: str,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | None = None,
    pos_label: str | None = None,
) -> list[Selected]:
    """Resolve every loss's columns on this header."""
    return [
        Selected(
            label,
            obj,
            resolve_columns(
                header.columns,
                obj.inputs,
                target=target,
                pred=pred,
                var=var,
                weight=weight,
                group=group,
                source=source,
            ),
            pos_label,
        )
        for label, obj in objectives
    ]


@dataclass
class Frame:
    """The needed columns of one record batch as numpy arrays."""

    numbers: dict[str, np.ndarray]
    texts: dict[str, tuple[np.ndarray, list[str]]]
    kept_rows: np.ndarray | None  # input row numbers when rows were dropped, else None
    n: int
    row0: int = 0  # the input row number of the first row
    # --keep columns as Arrow arrays of their own type (text of a CSV as written)
    carried: dict[str, Any] = field(default_factory=dict)
    # where the frame's part of the file starts (the part's first row): frames of parts
    # read in parallel, sorted by it, are in file order
    origin: int = 0
    # the --key column as an Arrow array of its own type (per-row output writes it so;
    # ``texts`` holds it as text, to join and compare rows by)
    key: Any = None

    @property
    def rows(self) -> np.ndarray:
        """The input row numbers of the frame's rows."""
        if self.kept_rows is not None:
            return self.kept_rows
        return self.row0 + np.arange(self.n)


@dataclass
class Reading:
    """What one pass over the input needs: where, which losses, how."""

    source: Source
    header: Header
    selected: Sequence[Selected]
    text_columns: set[str]
    dropna: bool = False
    targets: Any = None  # a TargetTable when the targets live in a second file
    key: str | None = None
    # Watchers that see every frame, from any thread (tasks.TargetEvidence,
    # validate.LogitsWatch): ``add_frame(frame)``, and ``reset()`` when a pass restarts.
    observers: list[Any] = field(default_factory=list)
    keep: tuple[str, ...] = ()  # columns copied as they are into per-row output (--keep)

    def reopen(self) -> Reading:
        """The same reading, ready for another pass from the first row (a dataset of
        parts opens each part as it comes to it: nothing to reopen)."""
        if not self.source.is_parts:
            self.header = read_header(self.source)
        if self.targets is not None:
            self.targets.reset()
        for observer in self.observers:
            observer.reset()
        return self


@dataclass
class BadCells:
    """Missing or non-finite cells found while reading, per column."""

    counts: dict[str, int] = field(default_factory=dict)
    first_rows: dict[str, list[int]] = field(default_factory=dict)
    # which of a dataset's files holds the first bad row of a column, and its row there
    # (Source.part_row); worded, with its line, only for the error (io.batches.part_place)
    places: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, column: str, rows: np.ndarray, source: Source | None = None) -> None:
        if len(rows):
            self.counts[column] = self.counts.get(column, 0) + len(rows)
            kept = self.first_rows.setdefault(column, [])
            found = source.part_row(int(rows[0])) if not kept and source is not None else None
            if found is not None:
                self.places[column] = found
            kept.extend(int(r) for r in rows[: max(0, 3 - len(kept))])

    def merge(self, other: BadCells) -> None:
        """Add the bad cells of rows that come after these (the next partition's)."""
        for column, count in other.counts.items():
            self.counts[column] = self.counts.get(column, 0) + count
            kept = self.first_rows.setdefault(column, [])
            if not kept and column in other.places:
                self.places[column] = other.places[column]
            kept.extend(other.first_rows[column][: max(0, 3 - len(kept))])

    def error(self, source: Source, logit_columns: set[str] = frozenset()) -> BadCellsError:
        """The error naming the first bad column; ``logit_columns`` take −inf as a logit
        once --from-logits is given (safe_softmax_cross_entropy), which the hint then says."""
        column = next(iter(self.counts))
        total = self.counts[column]
        rows = ", ".join(map(str, self.first_rows[column]))
        if column in self.places:
            where = part_place(source, *self.places[column])
            rows += f" (row {self.first_rows[column][0]}: {where})"
        elif not source.is_parts:
            rows += where_row(source, self.first_rows[column][0])  # " (line N)" in a CSV
        others = "" if len(self.counts) == 1 else f" (and {len(self.counts) - 1} more column(s))"
        hint = "drop those rows with --dropna (the count is reported), or fix the data"
        if column in logit_columns:
            hint = "these columns take −inf as a logit with --from-logits; " + hint
        return BadCellsError(
            f"{source.name}: column {column!r} has {total} empty, NaN or infinite cell(s), first at row(s) {rows}{others}",
            hint=hint,
            cells=self,
        )


class BadCellsError(InputError):
    """Missing or non-finite cells; ``cells`` has the counts, so partitions can add them up."""

    def __init__(self, message: str, hint: str | None = None, cells: BadCells | None = None):
        super().__init__(message, hint)
        self.cells = cells or BadCells()


def frames(reading: Reading, stats: dict[str, int]) -> Iterator[Frame]:
    """Numpy frames of the needed columns; bad rows dropped (``dropna``) or reported.

    Rows are numbered from the source's ``row0``. A dataset partition (a source with
    ``pieces``) may be empty or wholly dropped: the dataset's totals are checked by
    whoever merges the partitions.
    """
    source, dropna, targets = reading.source, reading.dropna, reading.targets
    text_columns = set(reading.text_columns)
    needed = list(dict.fromkeys(c for s in reading.selected for c in s.plan.columns()))
    if targets is not None:
        from_targets = {c for s in reading.selected for c in s.plan.target}
        needed = [c for c in needed if c not in from_targets]
        if reading.key:
            needed.append(reading.key)
            text_columns.add(reading.key)
    elif reading.key and reading.key not in needed:  # rows keyed by a column (compare --key)
        needed.append(reading.key)
        text_columns.add(reading.key)
    # --keep columns no loss reads: carried as they are (text of a CSV as written), never
    # converted to numbers nor checked for empty cells.
    carry_only = [c for c in reading.keep if c not in needed]
    needed += carry_only
    text_columns.update(
        c
        for c in carry_only
        if source.fmt not in ("parquet", "jsonl", "arrow", "table")
        or c in reading.header.text_columns
    )
    neg_inf = neg_inf_columns(reading.selected)
    bad = BadCells()
    row0 = start = source.row0
    origin = source.row0
    for rb in read_batches(source, reading.header, needed, text_columns, carry_only):
        n = rb.num_rows
        if n == 0:
            continue
        texts: dict[str, tuple[np.ndarray, list[str]]] = {}
        columns = {
            c: _numbers(rb, c, source)
            for c in needed
            if c not in text_columns and c not in carry_only
        }
        if targets is not None:
            keys = text_column(rb.column(reading.key))[:2] if reading.key else None
            t_numbers, t_texts = targets.take(targets.align(n, row0 + np.arange(n), keys))
            columns.update({c: (v, None) for c, v in t_numbers.items()})
            texts.update(t_texts)
            if keys is not None:
                texts[reading.key] = keys
        drop = None
        numbers = {}
        for c, (values, nulls) in columns.items():
            numbers[c] = values
            # A finite sum means no NaN or ±inf (one pass, no temporary array); an
            # infinite or NaN sum, or nulls, call for the exact per-cell look.
            if nulls is None and math.isfinite(np.add.reduce(values, axis=None)):
                continue
            broken = ~np.isfinite(values)
            if c in neg_inf:  # logits of −inf that the loss takes (the kernel checks rows)
                broken &= values != -np.inf
            if nulls is not None:
                broken |= nulls
            if broken.any():
                drop = broken if drop is None else drop | broken
                if not dropna:
                    bad.add(c, row0 + np.flatnonzero(broken), source)
        for c in needed:
            if c in text_columns and c not in texts and c not in carry_only:
                try:
                    codes, cats, nulls = text_column(rb.column(c))
                except InputError as exc:  # a nested column as a group or labels
                    raise InputError(f"{source.name}: column {c!r} {exc.message}") from None
                if nulls is not None and nulls.any():
                    drop = nulls if drop is None else drop | nulls
                    if not dropna:
                        bad.add(c, row0 + np.flatnonzero(nulls), source)
                texts[c] = (codes, cats)
        first = row0
        row0 += n
        stats["rows"] = stats.get("rows", 0) + n
        if bad.counts:
            continue  # keep counting bad cells to report them all, compute nothing
        carried = {c: carried_column(rb.column(c), c, source.name) for c in reading.keep}
        key = carried_column(rb.column(reading.key), reading.key) if reading.key else None
        kept = None
        if drop is not None and drop.any():
            keep = ~drop
            stats["dropped"] = stats.get("dropped", 0) + int(drop.sum())
            numbers = {c: v[keep] for c, v in numbers.items()}
            texts = {c: (codes[keep], cats) for c, (codes, cats) in texts.items()}
            carried = {c: a.filter(keep) for c, a in carried.items()}
            key = None if key is None else key.filter(keep)
            kept = first + np.flatnonzero(keep)
            n = len(kept)
            if n == 0:
                continue
        frame = Frame(numbers, texts, kept, n, first, carried, origin, key)
        for observer in reading.observers:
            observer.add_frame(frame)
        yield frame
    if bad.counts:
        raise bad.error(source, _logit_columns_without_flag(reading.selected))
    if source.pieces is not None:
        return
    if targets is not None:
        targets.finish(source, row0)
    check_rows(source, row0 - start, stats.get("dropped", 0))


def carried_column(arr: Any, column: str = "", source: str = "") -> Any:
    """A ``--keep`` column as written to output: its own type; dictionary text as plain text.
    A nested column (list, struct, map) has no cell a CSV could hold: an input error."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_nested(arr.type):
        raise InputError(
            f"{source}: --keep column {column!r} holds {arr.type} values, not one value per cell",
            hint="keep a column of numbers, text, dates or times",
        )
    return arr


def _logit_columns_without_flag(selected: Sequence[Selected]) -> set[str]:
    """Prediction columns of a loss that would take −inf logits with --from-logits."""
    out: set[str] = set()
    for sel in selected:
        params = getattr(sel.objective, "params", {})
        if params.get("neg_inf_logits") and not params.get("from_logits"):
            out |= {c for cols in sel.plan.inputs for c in cols}
    return out


def neg_inf_columns(selected: Sequence[Selected]) -> set[str]:
    """The prediction columns where −inf is a value, not a bad cell: those of losses that
    take logits of −inf (safe_softmax_cross_entropy) and of no other selected loss."""
    takes, refuses = set(), set()
    for sel in selected:
        preds = {c for cols in sel.plan.inputs for c in cols}
        if getattr(sel.objective, "neg_inf_logits", False):
            takes |= preds
            refuses |= set(sel.plan.columns()) - preds
        else:
            refuses |= set(sel.plan.columns())
    return takes - refuses


def check_rows(source: Source, rows: int, dropped: int) -> None:
    """The input has rows, and some are left after ``--dropna``."""
    if rows == 0:
        raise InputError(f"{source.name}: no data rows", hint="the file has a header but no rows")
    if rows == dropped:
        raise InputError(
            f"{source.name}: every row has an empty, NaN or infinite cell; nothing is left to evaluate"
        )


def _numbers(rb: Any, column: str, source: Source) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        return float_column(rb.column(column))
    except InputError as exc:  # text, dates, lists …
        raise InputError(
            f"{source.name}: column {column!r} {exc.message}",
            hint="choose numeric columns with --pred/--target/--weight",
        ) from None


def _labels(frame: Frame, column: str, classes: list[str] | None, source: str) -> np.ndarray:
    """Text labels → class indices, through the class names of the prediction columns."""
    codes, cats = frame.texts[column]
    if not classes:
        raise InputError(
            f"{source}: column {column!r} holds text labels ({', '.join(cats[:4])}…), "
            "but the predictions are a single column",
            hint="binary losses need 0/1 targets; multi-class losses need one prediction column per class (prob_<class>)",
        )
    index = {c: i for i, c in enumerate(classes)}
    lookup = np.array([index.get(c, -1) for c in cats], dtype=np.int64)
    out = lookup[codes]
    if np.any(out < 0):
        i = int(np.argmax(out < 0))
        raise InputError(
            f"{source}: column {column!r}, row {int(frame.rows[i])}: label {cats[codes[i]]!r} has no prediction column",
            hint=f"the prediction columns name the classes {', '.join(classes)}",
        )
    return out.astype(np.float64)


#: the input kinds (losscli.losses.registry.INPUT_KINDS) whose target is a label
LABEL_INPUTS = {
    "binary",
    "margin",
    "multiclass",
    "log_probs",
    "overlap",
    "pair_distance",
    "ranking",
}
TRUE = ("true", "True", "TRUE")
FALSE = ("false", "False", "FALSE")


def _binary_text_labels(frame: Frame, column: str, sel: Selected, source: Source) -> np.ndarray:
    """A binary target of text labels as 0/1: --pos-label is 1, the other label 0
    (True/False need no --pos-label: True is 1)."""
    codes, cats = frame.texts[column]
    present = [cats[i] for i in np.flatnonzero(np.bincount(codes, minlength=len(cats)))]
    _numbers_with_a_word(frame, column, present, source)
    seen = sel.labels_seen.setdefault(column, set())
    seen.update(present)
    labels = ", ".join(shown(c) for c in sorted(seen)[:5]) + ("…" if len(seen) > 5 else "")
    if len(seen) > 2:
        raise InputError(
            f"{source.name}: column {column!r} holds more than two labels ({labels}), but the "
            f"predictions of {sel.name} are one column",
            hint="multi-class losses need one prediction column per class (prob_<class>)",
        )
    positive = sel.pos_label
    if positive is None:
        if seen <= {*TRUE, *FALSE}:
            positive = next((c for c in cats if c in TRUE), "True")
        else:
            import shlex

            choices = " or ".join(f"--pos-label {shlex.quote(c)}" for c in sorted(seen))
            raise InputError(
                f"{source.name}: column {column!r} holds the text labels {labels}, and "
                f"{sel.name} needs to know which one is the positive class",
                hint=f"name it: {choices} (as scikit-learn's pos_label)",
            )
    elif len(seen) == 2 and positive not in seen:
        raise InputError(
            f"{source.name}: --pos-label {shown(positive)} is not a label of column {column!r} "
            f"(its labels are {labels})",
            hint="--pos-label names one of the two labels, as written in the file",
        )
    lookup = np.array([c == positive for c in cats], dtype=np.float64)
    return lookup[codes]


def _numbers_with_a_word(frame: Frame, column: str, present: list[str], source: Source) -> None:
    """Numeric labels with a stray word among them: report the word's cell."""

    def number(text: str) -> bool:
        try:
            float(text)
            return True
        except ValueError:
            return False

    if not any(number(c) for c in present) or all(number(c) for c in present):
        return
    codes, cats = frame.texts[column]
    words = np.array([not number(c) for c in cats])[codes]
    i = int(np.argmax(words))
    row = int(frame.rows[i])
    raise InputError(
        f"{source.name}: column {column!r}, row {row}{where_row(source, row)}: "
        f"{shown(cats[codes[i]])} is not a number",
        hint="fix or remove the cell (empty cells count as missing; see --dropna)",
    )


def _binary_numeric_labels(
    values: np.ndarray, column: str, sel: Selected, source: str
) -> np.ndarray:
    """A binary target of numbers (or booleans, read as 1/0) as 0/1 by --pos-label."""
    label = sel.pos_label
    if label in TRUE or label in FALSE:
        positive = 1.0 if label in TRUE else 0.0
    else:
        try:
            positive = float(label)
        except ValueError:
            raise InputError(
                f"{source}: --pos-label {shown(label)} is not a label of column {column!r}, "
                "which holds numbers",
                hint="--pos-label names one of the two labels, e.g. --pos-label 1",
            ) from None
    seen = sel.labels_seen.setdefault(column, set())
    seen.update(distinct(values).tolist())
    if len(seen) > 2:
        shown_values = ", ".join(f"{v:g}" for v in sorted(seen)[:5])
        raise InputError(
            f"{source}: --pos-label needs a binary target; column {column!r} holds more "
            f"than two values ({shown_values}{'…' if len(seen) > 5 else ''})",
            hint="leave --pos-label out for targets that are not two labels",
        )
    return (values == positive).astype(np.float64)


def _numeric_labels(values: np.ndarray, classes: list[str] | None) -> np.ndarray:
    """Numeric labels; with numeric class suffixes (prob_1, prob_2, …) mapped by value."""
    if not classes or not all(c.lstrip("-").isdigit() for c in classes):
        return values
    suffixes = [int(c) for c in classes]
    if suffixes == list(range(len(classes))):
        return values
    index = {v: i for i, v in enumerate(suffixes)}
    return np.array(
        [index.get(int(v), -1) if float(v).is_integer() else v for v in values], dtype=np.float64
    )


def columns_matrix(columns: Sequence[np.ndarray]) -> np.ndarray:
    """An n×K matrix of K columns, stored column by column (Fortran order): one copy,
    and the sums over a row's K values (softmax, row checks) run over whole columns."""
    return np.vstack(columns).T


def build_batch(frame: Frame, sel: Selected, source: Source) -> Batch:
    """The Batch one loss reads from a frame."""
    plan = sel.plan
    target = None
    if not plan.target and sel.pos_label is not None:
        raise UsageError(f"--pos-label names the positive class of a target; {sel.name} reads none")
    if plan.target:
        cols = []
        if plan.classes and sel.pos_label is not None:
            raise UsageError(
                f"--pos-label names the positive class of a binary target; {sel.name} reads "
                f"one prediction column per class ({', '.join(plan.classes)})",
                hint="leave --pos-label out: the labels map to the prediction columns by name",
            )
        for c in plan.target:
            if c in frame.texts and plan.classes:
                cols.append(_labels(frame, c, plan.classes, source.name))
            elif c in frame.texts:
                cols.append(_binary_text_labels(frame, c, sel, source))
            elif len(plan.target) == 1 and plan.classes:
                cols.append(_numeric_labels(frame.numbers[c], plan.classes))
            elif sel.pos_label is not None:
                cols.append(_binary_numeric_labels(frame.numbers[c], c, sel, source.name))
            else:
                cols.append(frame.numbers[c])
        target = cols[0] if len(cols) == 1 else columns_matrix(cols)
    preds = tuple(
        frame.numbers[cols[0]]
        if len(cols) == 1
        else columns_matrix([frame.numbers[c] for c in cols])
        for cols in plan.inputs
    )
    weights = None
    if plan.weight:
        weights = frame.numbers[plan.weight]
        if np.any(weights < 0):
            i = int(np.argmax(weights < 0))
            raise InputError(
                f"{source.name}: column {plan.weight!r}, row {int(frame.rows[i])}: negative weight {float(weights[i])!r}",
                hint="sample weights must be >= 0",
            )
    if frame.kept_rows is None:
        return Batch(target, preds, weights, frame.row0)
    return Batch(target, preds, weights, int(frame.kept_rows[0]), rows=frame.kept_rows)


# The words after a loss's name with which a kernel's message reads on from its columns
_GOES_ON = ("is", "of", "needs", "takes", "has")


def located(exc: InputError, sel: Selected, source: Source, group: object = None) -> InputError:
    """Restate a loss kernel's value error with the file, column, row and line."""
    role = getattr(exc, "role", None)
    plan = sel.plan
    if isinstance(exc, ZeroWeightError):
        where = f" in group {group!r}" if group is not None else ""
        return InputError(
            f"{source.name}: the weights in column {plan.weight!r} sum to 0{where}, "
            f"so the weighted mean of {sel.name} is undefined",
            hint=exc.hint,
        )
    if role is None:
        if exc.message.startswith(source.name):
            return exc
        predictions = "; ".join(",".join(cols) for cols in plan.inputs)
        targets = f"target {','.join(plan.target)}, " if plan.target else ""
        where = f" in group {group!r}" if group is not None else ""
        # a kernel's message that names its loss ("roc_auc is undefined: …", "… of class
        # 2 …", "… needs a target column") goes on from the columns, the loss named once
        named = exc.message.startswith(tuple(f"{sel.name} {w} " for w in _GOES_ON))
        said = exc.message[len(sel.name) :] if named else f": {exc.message}"
        return InputError(
            f"{source.name}: {sel.name} on {targets}predictions {predictions}{where}{said}",
            hint=exc.hint,
        )
    inputs = plan.inputs
    columns = {
        "target": plan.target,
        "prediction": inputs[0] if inputs else [],
        "distance": inputs[0] if inputs else [],
        "d_ap": inputs[0] if inputs else [],
        "d_an": inputs[1] if len(inputs) > 1 else [],
        "variance": inputs[1] if len(inputs) > 1 else [],
        "weights": [plan.weight] if plan.weight else [],
    }.get(role, [])
    col = getattr(exc, "col", None)
    if col is not None and col < len(columns):
        name = columns[col]
    else:
        name = columns[0] if len(columns) == 1 else None
    where = f"column {name!r}" if name else (f"columns {', '.join(columns)}" if columns else role)
    line = where_row(source, exc.row)
    more = f"; at least {exc.count} rows" if exc.count > 1 else ""  # counted in its batch
    value = f"{exc.value:.10g}" if isinstance(exc.value, float) else repr(exc.value)
    return InputError(
        f"{source.name}: {where}, row {exc.row}{line}: {value} {exc.what} ({sel.name}{more})",
        hint=exc.hint,
    )


@dataclass
class GroupedSums:
    """Partial sums of one loss: overall and per group value."""

    overall: PartialSums = field(default_factory=PartialSums)
    groups: dict[str, PartialSums] = field(default_factory=dict)
    n: int = 0
    group_n: dict[str, int] = field(default_factory=dict)
    # While reading: every group's sums stacked along a leading axis, by first appearance.
    index: dict[str, int] = field(default_factory=dict)
    stacked: Any = None
    counts: Any = None

    def add_batch(self, sel: Selected, batch: Batch, frame: Frame, shared: Any = None) -> None:
        """Add one batch of ``sel``: its overall sums and, grouped, each group's sums (from
        one grouped update: a bincount per sum)."""
        self.overall = self.overall.merge(sel.objective.update(batch))
        self.n += len(batch)
        if sel.plan.group:
            codes, names = group_codes(frame, sel.plan.group)
            grouped = sel.objective.update_grouped(batch, codes, len(names))
            self.add_grouped(names, grouped, np.bincount(codes, minlength=len(names)))

    def add_grouped(self, names: Sequence[str], grouped: PartialSums, counts: np.ndarray) -> None:
        """Add one batch's grouped sums, whose axis follows ``names``."""
        for name in names:
            self.index.setdefault(name, len(self.index))
        size = len(self.index)
        where = np.fromiter((self.index[n] for n in names), dtype=np.intp, count=len(names))
        added = map_leaves(grouped, lambda leaf: _scatter(leaf, where, size))
        counted = _scatter(counts, where, size)
        if self.stacked is None:
            self.stacked, self.counts = added, counted
        else:
            grow = map_leaves(self.stacked, lambda leaf: _grow(leaf, size))
            self.stacked = grow.merge(added)
            self.counts = _grow(self.counts, size) + counted

    def merge(self, other: GroupedSums) -> GroupedSums:
        """The finished sums of both row sets (of two partitions), groups matched by name."""
        groups, group_n = dict(self.groups), dict(self.group_n)
        for name, part in other.groups.items():
            groups[name] = groups[name].merge(part) if name in groups else part
            group_n[name] = group_n.get(name, 0) + other.group_n[name]
        return GroupedSums(self.overall.merge(other.overall), groups, self.n + other.n, group_n)

    def finish(self) -> None:
        """Unstack into one PartialSums per group (after the last batch)."""
        if self.stacked is None:
            return
        for name, g in self.index.items():
            if self.counts[g]:
                self.groups[name] = take_group(self.stacked, g)
                self.group_n[name] = int(self.counts[g])
        self.stacked = self.counts = None


def _scatter(leaf: np.ndarray, where: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, *np.shape(leaf)[1:]), dtype=np.asarray(leaf).dtype)
    if out.dtype == object:  # Collected values: empty slots are 0, which Collected absorbs
        for g, part in zip(where.tolist(), leaf):
            out[g] = out[g] + part
        return out
    np.add.at(out, where, leaf)  # adds, in case a batch names a group twice
    return out


def _grow(leaf: np.ndarray, size: int) -> np.ndarray:
    if leaf.shape[0] == size:
        return leaf
    pad = np.zeros((size - leaf.shape[0], *leaf.shape[1:]), dtype=leaf.dtype)
    return np.concatenate([leaf, pad])


def group_slices(frame: Frame, columns: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """Each group of a frame with the indices of its rows, in the order of the group names."""
    codes, cats = group_codes(frame, columns)
    out = []
    for code in distinct(codes):
        out.append((cats[code], np.flatnonzero(codes == code)))
    return out


def text_like(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    uniq, codes = np.unique(values, return_inverse=True)
    return codes, [str(int(u)) if float(u).is_integer() else repr(float(u)) for u in uniq]


def group_codes(frame: Frame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The group columns of a frame as codes into its group names (``group_name``): one
    code per combination of their values that occurs."""
    coded = [_column_codes(frame, c) for c in columns]
    if len(coded) == 1:
        return coded[0]
    # each combination as one number, mixed radix: code₁·|names₂|·… + code₂·… + …
    sizes = [max(len(names), 1) for _, names in coded]
    combined = np.zeros(frame.n, dtype=np.int64)
    for (codes, _), size in zip(coded, sizes):
        combined = combined * size + codes
    space = math.prod(sizes)
    if space <= max(4 * frame.n, 1 << 16):  # a lookup table: linear, no sort
        found = np.flatnonzero(np.bincount(combined, minlength=space))
        lookup = np.zeros(space, dtype=np.intp)
        lookup[found] = np.arange(len(found))
        codes = lookup[combined]
    else:
        found, codes = np.unique(combined, return_inverse=True)
    names = []
    for number in found.tolist():
        values = []
        for (_, column_names), size in zip(reversed(coded), reversed(sizes)):
            number, code = divmod(number, size)
            values.append(column_names[code])
        names.append(group_name(columns, values[::-1]))
    return codes.reshape(-1), names


def _column_codes(frame: Frame, column: str) -> tuple[np.ndarray, list[str]]:
    if column in frame.texts:
        return frame.texts[column]
    return text_like(frame.numbers[column])


def group_name(columns: Sequence[str], values: Sequence[str]) -> str:
    """The name of a group: its value for one group column; ``a=x, b=y`` for several."""
    if len(columns) == 1:
        return values[0]
    return ", ".join(f"{c}={v}" for c, v in zip(columns, values, strict=True))


def group_values(columns: Sequence[str], name: str) -> list[str]:
    """The values of a group's columns, read back from its name (``group_name``)."""
    if len(columns) == 1:
        return [name]
    values, rest = [], name[len(columns[0]) + 1 :]
    for column in columns[1:]:
        value, _, rest = rest.partition(f", {column}=")
        values.append(value)
    return [*values, rest]


def group_by(columns: Sequence[str]) -> str | list[str] | None:
    """The group columns as a document names them: none, the one column, or the list."""
    if not columns:
        return None
    return columns[0] if len(columns) == 1 else list(columns)


def with_group_values(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Give each result row of several group columns ``groups``, its group's value of each
    column (``{"region": "eu", "segment": "b"}``; null on the whole-file rows)."""
    if len(columns) < 2:
        return
    for row in rows:
        name = row["group"]
        row["groups"] = None if name is None else dict(zip(columns, group_values(columns, name)))


def group_order(columns: Sequence[str]) -> Callable[[str], tuple]:
    """The sort key of group names: the natural order of each column's value in turn
    (``2`` before ``10``), the first column first."""
    return lambda name: tuple(_natural_key(v) for v in group_values(columns, name))


class BatchAdder(Protocol):
    """What a pass does with one loss's batch: ``add(sel, batch, frame, shared)``, where
    ``shared`` is what the pass's ``per_frame`` made of the frame (None without one)."""

    def __call__(self, sel: Selected, batch: Batch, frame: Frame, shared: Any) -> None: ...


def each_batch(
    reading: Reading,
    stats: dict[str, int],
    adders: Sequence[Sequence[BatchAdder]],
    per_frame: Callable[[Frame], Any] | None = None,
) -> None:
    """The one loop over a reading's batches, shared by every pass that sums them.

    Each frame is read once; ``per_frame(frame)`` (if given) is computed once for all
    losses; then each loss's batch is built and handed to that loss's ``adders`` in order.
    An input error they raise is restated with its loss, file and row (``located``).
    """
    source, selected = reading.source, reading.selected
    for frame in frames(reading, stats):
        shared = per_frame(frame) if per_frame is not None else None
        for sel, adds in zip(selected, adders):
            batch = build_batch(frame, sel, source)
            try:
                for add in adds:
                    add(sel, batch, frame, shared)
            except InputError as exc:
                raise located(exc, sel, source) from None


class LossExtra(Protocol):
    """Sums a pass keeps for one loss besides its (loss, group) sums (``breakdown.Extra``)."""

    add: BatchAdder

    def finish(self) -> None: ...


@dataclass
class Joined:
    """Two extras of one loss that see the same batches, in order."""

    first: LossExtra
    second: LossExtra

    def add(self, sel: Selected, batch: Batch, frame: Frame, shared: Any) -> None:
        self.first.add(sel, batch, frame, shared)
        self.second.add(sel, batch, frame, shared)

    def finish(self) -> None:
        self.first.finish()
        self.second.finish()

    def fresh(self) -> Joined:
        """Both extras empty, for another part of the file (when both merge)."""
        return Joined(self.first.fresh(), self.second.fresh())  # type: ignore[attr-defined]

    def merge(self, other: Joined) -> None:
        self.first.merge(other.first)  # type: ignore[attr-defined]
        self.second.merge(other.second)  # type: ignore[attr-defined]


@dataclass
class Extras:
    """What a pass keeps besides the (loss, group) sums: one ``LossExtra`` per loss, which
    sees each batch after its loss's sums, with what ``per_frame`` made of the frame."""

    losses: Sequence[LossExtra]
    per_frame: Callable[[Frame], Any] | None = None

    @property
    def mergeable(self) -> bool:
        """Each extra can start empty (``fresh``) and take another's rows (``merge``, told
        how far the part's row numbers are off), so parts of the file can be read in
        parallel and merged (``--top``'s WorstRows, ``breakdown.Extra``)."""
        return all(_merges(e) for e in self.losses)


def _merges(extra: Any) -> bool:
    if isinstance(extra, Joined):
        return _merges(extra.first) and _merges(extra.second)
    return hasattr(extra, "fresh") and hasattr(extra, "merge")


def accumulate(
    reading: Reading, stats: dict[str, int], extras: Extras | None = None
) -> list[GroupedSums]:
    """Pass 1: every loss (and group) adds each batch to its partial sums.

    A large Parquet input is cut into runs of row groups (``io.split_row_groups``), read
    in parallel threads; each part is summed on its own and the sums merged in file
    order, so the result does not depend on thread timing. Any error there is stated by
    a serial rerun, which names the exact row. (A large plain CSV file is read by one
    reader whose chunks are parsed on two threads: ``io.csv_ranges.OrderedChunks``.)

    A pass with ``extras`` reads the file serially, unless every extra merges
    (``Extras.mergeable``: ``--top``'s rows, ``breakdown``'s per-class and bootstrap sums),
    when each part keeps its own and they are merged; without extras it does no
    per-batch work for them.
    """
    if extras is not None and not extras.mergeable:
        return _accumulate_serial(reading, stats, extras)
    parts = None
    if reading.targets is None and reading.key is None:
        parts = split_row_groups(reading.source, _parallel_parts(), reading.header.rows_hint)
    if parts:
        try:
            return _accumulate_parts(reading, stats, parts, extras)
        except InputError:  # an error is restated with its exact row
            stats.clear()
            reading.reopen()
    return _accumulate_serial(reading, stats, extras)


def _parallel_parts() -> int:
    return min(usable_cpus(), 2)


def _accumulate_parts(
    reading: Reading, stats: dict[str, int], sources: Sequence[Source], extras: Extras | None = None
) -> list[GroupedSums]:
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    drop_pending(reading.source)  # the header's open stream is not needed here
    parts = [replace(reading, source=r) for r in sources]
    part_stats: list[dict[str, int]] = [{} for _ in parts]
    # each part its own empty extras; merged into the caller's only once every part is read
    part_extras = [
        None if extras is None else Extras([e.fresh() for e in extras.losses], extras.per_frame)
        for _ in parts
    ]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="losscli-part") as pool:
        futures = [
            pool.submit(_accumulate_serial, p, st, ex)
            for p, st, ex in zip(parts, part_stats, part_extras)
        ]
        results = [f.result() for f in futures]
    if extras is not None:  # a part numbers its rows by their place in the file
        for part in part_extras:
            for mine, theirs in zip(extras.losses, part.losses):
                mine.merge(theirs)
    for st in part_stats:
        for k, v in st.items():
            stats[k] = stats.get(k, 0) + v
    merged = results[0]
    for part in results[1:]:
        merged = [a.merge(b) for a, b in zip(merged, part)]
    return merged


def _accumulate_serial(
    reading: Reading, stats: dict[str, int], extras: Extras | None = None
) -> list[GroupedSums]:
    sums = [GroupedSums() for _ in reading.selected]
    if extras is None:
        each_batch(reading, stats, [(acc.add_batch,) for acc in sums])
    else:
        adders = [(acc.add_batch, extra.add) for acc, extra in zip(sums, extras.losses)]
        each_batch(reading, stats, adders, extras.per_frame)
        for extra in extras.losses:
            extra.finish()
    for acc in sums:
        acc.finish()
    return sums


@dataclass
class GradientStats:
    """Summary of ∂J/∂ŷ over all rows and prediction columns."""

    total: float = 0.0
    count: int = 0
    abs_max: float = 0.0
    sum_sq: float = 0.0

    def add(self, grads: Sequence[np.ndarray]) -> None:
        for g in grads:
            self.total += float(np.sum(g))
            self.count += int(g.size)
            if g.size:
                self.abs_max = max(self.abs_max, float(np.max(np.abs(g))))
            self.sum_sq += float(np.sum(g * g))

    def merge(self, other: GradientStats) -> GradientStats:
        """The summary over both sets of rows."""
        return GradientStats(
            self.total + other.total,
            self.count + other.count,
            max(self.abs_max, other.abs_max),
            self.sum_sq + other.sum_sq,
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "mean": self.total / self.count if self.count else 0.0,
            "abs_max": self.abs_max,
            "l2_norm": float(np.sqrt(self.sum_sq)),
        }


def gradient_pass(
    reading: Reading, sums: Sequence[GroupedSums], reduction: str
) -> list[tuple[GradientStats, dict[str, GradientStats]]]:
    """Pass 2: gradient summaries, each row differentiated against the merged sums."""
    selected = reading.selected
    out = [(GradientStats(), {}) for _ in selected]
    for frame in frames(reading.reopen(), {}):
        for sel, acc, (overall, groups) in zip(selected, sums, out):
            batch = build_batch(frame, sel, reading.source)
            key = None
            try:
                overall.add(sel.objective.grad(batch, acc.overall, reduction))
                if sel.plan.group:
                    for key, idx in group_slices(frame, sel.plan.group):
                        stats = groups.setdefault(key, GradientStats())
                        stats.add(sel.objective.grad(batch.take(idx), acc.groups[key], reduction))
            except ZeroWeightError as exc:
                raise located(exc, sel, reading.source, key) from None
    return out


def assumed_gradient_sums(reading: Reading, reduction: str) -> GroupedSums | None:
    """The merged sums the (one) selected loss's gradient reads, known before the pass
    (its ``gradient_sums``: none for ``sum``, the row count for a plain mean): the rows'
    gradients can then be written as they are read, and the pass's own sums confirm the
    assumption at the end (``sums_agree``). None when the gradient needs the pass's sums."""
    sel = reading.selected[0]
    assumed = sel.objective.gradient_sums(
        functools.cache(lambda: expected_rows(reading.source, reading.header)),  # once a file
        reduction,
        sel.plan.weight is not None,
    )
    return None if assumed is None else GroupedSums(overall=assumed)


def sums_agree(assumed: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    """Whether every sum of ``assumed`` (nested sums too) equals the same sum of ``merged``."""
    for name, value in assumed.items():
        other = merged.get(name)
        if isinstance(value, Mapping):
            if not isinstance(other, Mapping) or not sums_agree(value, other):
                return False
        elif other is None or not bool(np.all(other == value)):
            return False
    return True


@dataclass
class Emitter:
    """An extra that hands each batch of a summing pass on (``emit(frame, batch)``): rows
    written by the pass that sums them (``grad`` in one pass)."""

    emit: Callable[[Frame, Batch], None]

    def add(self, sel: Selected, batch: Batch, frame: Frame, shared: Any) -> None:
        self.emit(frame, batch)

    def finish(self) -> None:
        pass


def row_frames(reading: Reading, stats: dict[str, int]) -> Iterator[tuple[Frame, list[Batch]]]:
    """Frames with each loss's batch, for per-row output (reduction none, grad)."""
    for frame in frames(reading, stats):
        yield frame, [build_batch(frame, sel, reading.source) for sel in reading.selected]


def text_columns_for(header: Header, selected: Sequence[Selected]) -> set[str]:
    """Columns read as text: group columns, and targets that hold text labels.

    Everything else is read as numbers, so a stray word in a prediction, weight or
    regression-target column is reported as a non-numeric cell with its row.
    """
    out = set()
    numbers = set()  # columns some loss reads as numbers
    for sel in selected:
        plan = sel.plan
        # Text labels map to the class columns (plan.classes) or, for a loss that reads
        # labels from one prediction column, to 0/1 by --pos-label (build_batch).
        labels = set()
        if plan.classes or getattr(sel.objective, "inputs", None) in LABEL_INPUTS:
            labels = {c for c in plan.target if c in header.text_columns}
        out |= labels
        read = [*plan.target, *(c for cols in plan.inputs for c in cols), plan.weight]
        numbers |= {c for c in read if c and c not in labels}
    for sel in selected:
        # A group column that is also read as numbers (the target, a prediction, the
        # weight) is grouped by its values, as a numeric Parquet column always is.
        out.update(c for c in sel.plan.group if c not in numbers)
    return out


def check_usable(selected: Sequence[Selected], reduction: str) -> None:
    """Refuse a reduction that a selected loss does not define."""
    for sel in selected:
        sel.objective.check_reduction(reduction)


def usable_selection(
    selected: list[Selected], reduction: str, inferred: bool, note: Callable[[str], None]
) -> None:
    """``check_usable``, but of losses inferred from the task (no --loss) those that do
    not define ``reduction`` are left out, with a note, while one is left: the user named
    the reduction, not them (rmse has no sum)."""
    if not inferred:
        check_usable(selected, reduction)
        return
    kept, left = [], []
    for sel in selected:
        try:
            sel.objective.check_reduction(reduction)
            kept.append(sel)
        except UsageError:
            left.append(sel.label)
    if not kept:
        check_usable(selected, reduction)  # the first one's error: none is left
    if left:
        selected[:] = kept
        note(
            f"--reduction {reduction}: {', '.join(left)} left out of the inferred losses (not defined for it)"
        )


def bind_reduction(selected: Sequence[Selected], reduction: str) -> None:
    """Give each loss what ``reduction`` needs (median, max and p95 keep every Lᵢ)."""
    if reduction in ROW_STATISTICS:
        weighted = next((s.plan.weight for s in selected if s.plan.weight), None)
        if weighted:
            from losscli.kernel.row_statistics import weights_refused

            raise weights_refused(reduction)
    for sel in selected:
        sel.objective = sel.objective.for_reduction(reduction)


def group_rows(sel: Selected, acc: GroupedSums) -> list[tuple[str, PartialSums, int]]:
    order = group_order(sel.plan.group)
    return [(k, acc.groups[k], acc.group_n[k]) for k in sorted(acc.groups, key=order)]


def _natural_key(text: str) -> tuple:
    import re

    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text))


@dataclass
class Evaluated:
    """One evaluation pass: each loss's sums, the row counts, and what the options added."""

    sums: list[Any]
    stats: dict[str, int]
    extras: Any = None  # per-class and bootstrap sums (``breakdown``), when asked for
    worst: Any = None  # each loss's top_rows.WorstRows (``--top``), when asked for
    gradients: Any = None  # gradient summaries, when a backend computes them in the pass
    report: Any = None  # each loss's report_stats.RowStats (``losscli report``), when asked for
