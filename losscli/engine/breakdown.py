"""Eval rows beyond (loss, group): per-class rows and bootstrap intervals, in one pass.

``accumulate`` is the engine's one pass (``passes.accumulate``) with an ``Extra`` per
loss, which keeps besides the loss's overall and group sums:

- with ``--per-class``, the sums of every (group, class) for splits by true class and
  by output column (an overlap split slices its classes out of the group's sums);
- with ``--bootstrap``, per-resampling-unit sums of every stratum: the whole file,
  each group, and each class within them (``losscli.engine.bootstrap``: a replicate draws
  the stratum's units with replacement, adds their sums and computes J as usual).

Draws: the whole file uses ``seed``; the i-th group in the order of the result rows
``[seed, i]`` (as ``compare`` does); the rows of true class c within stratum i
``[seed, i, c + 1]`` (i = 0 for the whole file). Classes by output column and overlap
classes are computed on all of their stratum's rows, so they share its draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.engine import bootstrap, passes
from losscli.engine.passes import Frame, GroupedSums, Reading, Selected, group_codes, group_slices
from losscli.engine.perclass import ClassSplit, column_batch
from losscli.errors import InputError, ZeroWeightError
from losscli.kernel.streaming import Batch, PartialSums, map_leaves

UNITS = bootstrap.UNITS
Key = tuple[Any, Any]  # (group or None, class index or None)


@dataclass
class Resampling:
    """What ``--bootstrap N --confidence C --seed S`` asks for."""

    replicates: int
    confidence: float = 0.95
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        """The ``bootstrap`` object of the eval JSON document."""
        return {
            "replicates": self.replicates,
            "confidence": self.confidence,
            "seed": self.seed,
            "units": UNITS,
        }


@dataclass
class UnitTable:
    """Per-unit partial sums of one stratum, kept only for the units that hold its rows
    (a group of 30 rows keeps 30 units, not ``UNITS``), in unit order."""

    ids: Any = None  # sorted unit numbers
    sums: PartialSums | None = None

    def add(self, ids: np.ndarray, sums: PartialSums) -> None:
        """Add sums whose leading axis follows the sorted unit numbers ``ids``."""
        if self.sums is None:
            self.ids, self.sums = ids, sums
            return
        if not np.array_equal(ids, self.ids):
            seen = np.zeros(UNITS, dtype=bool)
            seen[self.ids] = seen[ids] = True
            if np.count_nonzero(seen) != len(self.ids):  # new units: make room for them
                merged = np.flatnonzero(seen)
                self.sums = _spread(self.sums, np.searchsorted(merged, self.ids), len(merged))
                self.ids = merged
            sums = _spread(sums, np.searchsorted(self.ids, ids), len(self.ids))
        self.sums = self.sums.merge(sums)

    def interval(
        self,
        compute: Callable[[Mapping[str, Any]], float],
        seed: Any,
        resampling: Resampling,
    ) -> tuple[float | None, float | None]:
        """The percentile interval of ``compute`` over replicates of these units."""
        occupied = np.arange(len(self.ids))
        (values,) = bootstrap.replicates_of(
            compute, [self.sums], occupied, resampling.replicates, seed
        )
        lo, hi = bootstrap.interval(values, resampling.confidence)
        # every replicate undefined (e.g. zero weights): no interval rather than NaN in JSON
        return (None, None) if np.isnan(lo) else (lo, hi)


def _spread(sums: PartialSums, where: np.ndarray, size: int) -> PartialSums:
    def leaf(values: np.ndarray) -> np.ndarray:
        out = np.zeros((size, *np.shape(values)[1:]), dtype=np.asarray(values).dtype)
        out[where] = values  # object leaves (Collected) keep 0 in empty slots, which they absorb
        return out

    return map_leaves(sums, leaf)


def _by_unit(
    obj: Any, batch: Batch, codes: np.ndarray, bound: int = UNITS
) -> tuple[np.ndarray, PartialSums]:
    """Sums per distinct code (sorted; 0 ≤ code < bound), from one grouped update."""
    if bound <= max(4 * len(codes), UNITS):  # a count instead of a sort
        present = np.bincount(codes, minlength=bound) > 0
        ids = np.flatnonzero(present)
        local = (np.cumsum(present) - 1)[codes]
    else:
        ids, local = np.unique(codes, return_inverse=True)
    return ids, obj.update_grouped(batch, local.astype(np.intp), len(ids))


@dataclass
class Extra:
    """One loss's sums for class rows and intervals."""

    split: ClassSplit | None
    resample: bool
    classes: GroupedSums = field(default_factory=GroupedSums)  # keyed (group, class)
    units: dict[Key, UnitTable] = field(default_factory=dict)

    def add(self, sel: Selected, batch: Batch, frame: Frame, units: np.ndarray | None) -> None:
        """Add one batch: class sums (overall and per group) and per-unit sums."""
        codes = None
        if self.split is not None and self.split.kind == "label":
            k = len(self.split.names)
            found = sel.objective.class_codes(batch)
            codes = np.where(found < 0, k, found)  # slot k: rows of no class
        if self.split is not None and self.split.kind != "overlap":
            self._add_classes(sel, batch, frame, codes)
        if self.resample:
            self._add_units(sel, batch, frame, units, codes)

    def _add_classes(self, sel: Selected, batch: Batch, frame: Frame, codes: Any) -> None:
        obj, group = sel.objective, sel.plan.group
        k = len(self.split.names)
        gcodes, gnames = group_codes(frame, group) if group else (None, [])
        if codes is not None:  # by true class: one update for the file, one for (group, class)
            size = k + 1
            self.classes.add_grouped(
                [(None, j) for j in range(size)],
                obj.update_grouped(batch, codes, size),
                np.bincount(codes, minlength=size),
            )
            if group:
                both = gcodes * size + codes
                total = len(gnames) * size
                self.classes.add_grouped(
                    [(g, j) for g in gnames for j in range(size)],
                    obj.update_grouped(batch, both, total),
                    np.bincount(both, minlength=total),
                )
            return
        zeros = np.zeros(len(batch), dtype=np.intp)
        for j in range(k):  # by output column: the loss of each column alone
            col = column_batch(batch, j)
            self.classes.add_grouped(
                [(None, j)], obj.update_grouped(col, zeros, 1), np.array([len(batch)])
            )
            if group:
                self.classes.add_grouped(
                    [(g, j) for g in gnames],
                    obj.update_grouped(col, gcodes, len(gnames)),
                    np.bincount(gcodes, minlength=len(gnames)),
                )

    def _add_units(
        self, sel: Selected, batch: Batch, frame: Frame, units: np.ndarray, codes: Any
    ) -> None:
        obj, group = sel.objective, sel.plan.group
        strata: list[tuple[Any, Any]] = [(None, None)]
        if group:
            strata += group_slices(frame, group)
        kind = self.split.kind if self.split is not None else None
        for key, idx in strata:
            part = batch if idx is None else batch.take(idx)
            u = units if idx is None else units[idx]
            self._unit(key, None).add(*_by_unit(obj, part, u))
            if kind == "label":
                self._add_class_units(obj, key, part, u, codes if idx is None else codes[idx])
            elif kind == "column":
                for j in range(len(self.split.names)):
                    self._unit(key, j).add(*_by_unit(obj, column_batch(part, j), u))

    def _add_class_units(
        self, obj: Any, key: Any, part: Batch, u: np.ndarray, codes: np.ndarray
    ) -> None:
        """Per-unit sums of each true class, from one update over code = class × UNITS + unit
        (rows of no class, code K, are left out with their last slot)."""
        size = len(self.split.names) + 1
        ids, grouped = _by_unit(obj, part, codes * UNITS + u, size * UNITS)
        classes = ids // UNITS
        bounds = np.searchsorted(classes, np.arange(len(self.split.names) + 1))
        for c in range(len(self.split.names)):
            lo, hi = int(bounds[c]), int(bounds[c + 1])
            if hi > lo:
                sub = map_leaves(grouped, lambda leaf, lo=lo, hi=hi: leaf[lo:hi])
                self._unit(key, c).add(ids[lo:hi] % UNITS, sub)

    def _unit(self, key: Any, c: Any) -> UnitTable:
        return self.units.setdefault((key, c), UnitTable())

    def finish(self) -> None:
        self.classes.finish()

    def fresh(self) -> Extra:
        """An empty extra of the same kind, for another part of the input."""
        return Extra(self.split, self.resample)

    def merge(self, other: Extra) -> None:
        """Take the finished sums of the rows after these (the next part's, whose rows
        are numbered by their place in the input, so its units are these units)."""
        self.classes = self.classes.merge(other.classes)
        for key, table in other.units.items():
            self.units.setdefault(key, UnitTable()).add(table.ids, table.sums)


def _units_of_frame(frame: Frame) -> np.ndarray:
    return bootstrap.units_of_rows(frame.rows)


def accumulate(
    reading: Reading,
    stats: dict[str, int],
    splits: list[ClassSplit | None],
    resample: bool,
    alongside: Sequence[passes.LossExtra | None] | None = None,
) -> tuple[list[GroupedSums], list[Extra]]:
    """One pass (``engine.passes.accumulate``) whose extras keep class and per-unit sums;
    ``alongside``: another extra per loss that sees the same batches (``--top``)."""
    extras = [Extra(split, resample) for split in splits]
    per_frame = _units_of_frame if resample else None
    each = [
        passes.Joined(e, a) if a else e for e, a in zip(extras, alongside or [None] * len(extras))
    ]
    return passes.accumulate(reading, stats, passes.Extras(each, per_frame)), extras


def _ordered(row: Mapping[str, Any]) -> dict[str, Any]:
    """Result keys in the documented order; any others keep theirs, after."""
    first = ("loss", "params", "reduction", "group", "class", "n", "value", "ci_low", "ci_high")
    out = {k: row[k] for k in first if k in row}
    out.update({k: v for k, v in row.items() if k not in out})
    return out


def _draw_seed(seed: int, stratum: int, c: int | None = None) -> Any:
    if c is not None:
        return [seed, stratum, c + 1]
    return seed if stratum == 0 else [seed, stratum]


def finish_rows(
    result: dict[str, Any],
    sel: Selected,
    extra: Extra,
    *,
    part: PartialSums,
    stratum: int,
    reduction: str,
    resampling: Resampling | None,
    source: Any,
) -> list[dict[str, Any]]:
    """The (loss, group) ``result`` with its interval and ``class`` key, then its class rows."""
    obj, key = sel.objective, result["group"]

    def compute_with(transform: Callable[[Any], Any]) -> Callable[[Any], float]:
        return lambda sums: obj.compute(transform(sums), reduction)

    split = extra.split
    if split is not None:
        result["class"] = None
    if resampling is not None:
        result["ci_low"], result["ci_high"] = extra.units[(key, None)].interval(
            compute_with(lambda s: s), _draw_seed(resampling.seed, stratum), resampling
        )
    out = [_ordered(result)]
    if split is None:
        return out
    for j, name in enumerate(split.names):
        if split.kind == "overlap":
            sums, n = obj.class_sums(part, j), result["n"]
        elif (key, j) in extra.classes.groups:
            sums, n = extra.classes.groups[(key, j)], extra.classes.group_n[(key, j)]
        else:
            continue  # no row of this class in this stratum
        row = {
            "loss": result["loss"],
            "params": result["params"],
            "reduction": reduction,
            "group": key,
            "class": name,
            "n": int(n),
            "value": _class_value(sel, sums, reduction, source, key, name),
        }
        if resampling is not None:
            if split.kind == "overlap":
                compute = compute_with(lambda s, j=j: obj.class_sums(s, j))
                units, seed = extra.units[(key, None)], _draw_seed(resampling.seed, stratum)
            else:
                compute = compute_with(lambda s: s)
                units = extra.units[(key, j)]
                c = j if split.kind == "label" else None
                seed = _draw_seed(resampling.seed, stratum, c)
            row["ci_low"], row["ci_high"] = units.interval(compute, seed, resampling)
        out.append(_ordered(row))
    return out


def _class_value(
    sel: Selected, sums: PartialSums, reduction: str, source: Any, key: Any, name: str
) -> float:
    try:
        return sel.objective.compute(sums, reduction)
    except ZeroWeightError as exc:
        where = f"class {name!r}" + (f" in group {key!r}" if key is not None else "")
        raise InputError(
            f"{source.name}: the weights in column {sel.plan.weight!r} sum to 0 over the rows "
            f"of {where}, so the weighted mean of {sel.name} is undefined",
            hint=exc.hint,
        ) from None
