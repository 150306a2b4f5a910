"""Which columns a loss reads: explicit options, the default names, column families.

Rules (README "Columns"): ``--target``/``--pred`` are repeatable, take comma lists and globs;
without them the first present default name is used, then a family of columns
sharing a prefix (``p_0..p_K`` or ``p0..pK``, ``prob_<class>``, ``logit_<class>``). When no rule
decides, the error lists the candidates — never a silent guess.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from losscli.errors import InputError, UsageError

TARGET_NAMES = ("y_true", "target", "label", "y", "truth", "actual")
PRED_NAMES = (
    "y_pred",
    "pred",
    "prediction",
    "y_hat",
    "yhat",
    "score",
    "prob",
    "probability",
    "logit",
)
DISTANCE_NAMES = ("distance", "dist", "d")
VAR_NAMES = ("var", "variance", "y_var", "pred_var")
# A family: a prefix and a suffix after "_" (p_0, prob_cat), or digits right after the
# prefix (p0, p1, y0, y1).
PRED_FAMILY = re.compile(
    r"^(p|prob|proba|probs|probability|logit|logits|score|scores|pred|y_pred|logp|log_prob)"
    r"(?:_(.+)|(\d+))$"
)
TARGET_FAMILY = re.compile(r"^(y|y_true|target|label|t|true)(?:_(.+)|(\d+))$")

# Multi-input kinds: (input roles, default column names or family prefixes for each)
PAIRS = {
    "triplet": (("d_ap", "d_an"), ("anchor", "positive", "negative")),
    "ranking": (("x1", "x2"), None),
    "pair_embedding": (None, ("x1", "x2")),
}
PAIR_EMBEDDING_PREFIXES = (("x1", "x2"), ("a", "b"), ("left", "right"), ("u", "v"))


@dataclass
class ColumnPlan:
    """The columns one loss reads, by role."""

    target: list[str] = field(default_factory=list)
    inputs: list[list[str]] = field(default_factory=list)  # one list of columns per input
    classes: list[str] | None = None  # class names from prob_<class>-style columns
    weight: str | None = None
    group: tuple[str, ...] = ()  # --group: one result row per combination of their values

    def columns(self) -> list[str]:
        out = [*self.target, *(c for cols in self.inputs for c in cols)]
        out += [c for c in (self.weight, *self.group) if c]
        return list(dict.fromkeys(out))


def _suffix_key(name: str) -> tuple[int, object]:
    tail = name.rsplit("_", 1)[-1] if "_" in name else _suffix(name)
    return (0, int(tail)) if tail.isdigit() else (1, 0)


def _suffix(name: str) -> str:
    """A family member's suffix: after the first "_" (p_0 → 0, prob_cat → cat), else the
    trailing digits (p0 → 0)."""
    if "_" in name:
        return name.split("_", 1)[1]
    m = re.match(r"^\D+(\d+)$", name)
    return m.group(1) if m else name


def close_columns(name: str, columns: Sequence[str]) -> list[str]:
    """Columns like ``name``, for a did-you-mean: any that differ only in case first,
    then close spellings compared without case."""
    same = [c for c in columns if c.lower() == name.lower()]
    lowered = {}
    for c in columns:
        lowered.setdefault(c.lower(), c)
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3)
    return list(dict.fromkeys([*same, *(lowered[c] for c in close)]))[:3]


def expand(
    patterns: Sequence[str], columns: Sequence[str], option: str, source: str | None = None
) -> list[str]:
    """Expand repeatable, comma-separated names and globs against the header, in order."""
    where = f"{source}: " if source else ""
    out: list[str] = []
    for pattern in patterns:
        for part in (p.strip() for p in pattern.split(",")):
            if not part:
                continue
            if any(ch in part for ch in "*?["):
                hits = [c for c in columns if fnmatch.fnmatchcase(c, part)]
                if not hits:
                    raise InputError(
                        f"{option} {part!r} matches no column", hint=_columns_hint(columns)
                    )
                hits.sort(key=lambda c: (_suffix_key(c), columns.index(c)))
                out += hits
            elif part in columns:
                out.append(part)
            else:
                close = close_columns(part, columns)
                hint = f"did you mean {' or '.join(close)}?" if close else _columns_hint(columns)
                raise InputError(f"{where}{option} {part!r}: no such column", hint=hint)
    return list(dict.fromkeys(out))


def one_column(name: str, columns: Sequence[str], option: str, source: str | None = None) -> str:
    """The one column a single-column option (``--weight``, ``--group``, ``--var``) names.

    A comma list or a glob that matches several columns is refused, never cut to its first.
    """
    hits = expand([name], columns, option, source)
    if len(hits) != 1:
        where = f"{source}: " if source else ""
        named = f"{len(hits)} columns ({', '.join(hits)})" if hits else "no column"
        raise UsageError(
            f"{where}{option} {name!r} names {named}: {option} takes one column",
            hint=f"give one column, e.g. {option} {hits[0]}" if hits else None,
        )
    return hits[0]


def group_columns(group: str, columns: Sequence[str], source: str | None = None) -> tuple[str, ...]:
    """The columns ``--group`` names: one, or a comma list (``--group region,segment``) whose
    value combinations each get a result row. Each name (or glob) is one column, and a
    column named twice is an error."""
    out = [one_column(p.strip(), columns, "--group", source) for p in group.split(",") if p.strip()]
    where = f"{source}: " if source else ""
    if not out:
        raise UsageError(f"{where}--group {group!r} names no column")
    twice = next((c for c in out if out.count(c) > 1), None)
    if twice is not None:
        raise UsageError(
            f"{where}--group {group!r} names {twice!r} twice",
            hint="name each group column once, e.g. --group region,segment",
        )
    return tuple(out)


def _columns_hint(columns: Sequence[str]) -> str:
    shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
    return f"the columns are: {shown}"


def _families(columns: Sequence[str], pattern: re.Pattern) -> dict[str, list[str]]:
    fams: dict[str, list[str]] = {}
    for c in columns:
        m = pattern.match(c)
        if m:
            fams.setdefault(m.group(1), []).append(c)
    return {
        k: sorted(v, key=lambda c: (_suffix_key(c), columns.index(c)))
        for k, v in fams.items()
        if len(v) >= 2
    }


def _suffixes(cols: Sequence[str]) -> list[str]:
    return [_suffix(c) for c in cols]


def _first_present(names: Sequence[str], columns: Sequence[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def resolve_columns(
    columns: Sequence[str],
    kind: str,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | None = None,
    source: str = "input",
) -> ColumnPlan:
    """The ColumnPlan for a loss of input ``kind`` on a file with these ``columns``."""
    plan = ColumnPlan()
    if weight:
        plan.weight = one_column(weight, columns, "--weight", source)
    if group:
        plan.group = group_columns(group, columns, source)
    if kind in PAIRS:
        plan.inputs = _pair_inputs(columns, kind, pred, source)
    else:
        plan.inputs = [_single_input(columns, kind, pred, target, source)]
        if kind == "gaussian":
            plan.inputs.append([_variance(columns, var, source)])
    if kind != "triplet":
        plan.target = _targets(columns, kind, target, plan.inputs[0], source)
    # an embedding's columns are coordinates, not classes
    if len(plan.inputs[0]) > 1 and kind not in PAIRS and kind != "labelled_embedding":
        plan.classes = _suffixes(plan.inputs[0])
    used = set(plan.columns()) - {*plan.group, plan.weight}
    for role, col in (("--weight", plan.weight), *(("--group", c) for c in plan.group)):
        if col and col in used:
            raise UsageError(f"{role} column {col!r} is also read as a target or prediction")
    return plan


def _single_input(columns, kind, pred, target, source) -> list[str]:
    if pred:
        return expand(pred, columns, "--pred", source)
    if target and len(expand(target, columns, "--target", source)) > 1 and kind != "distribution":
        # several targets: pair each with a prediction column of the same suffix
        tcols = expand(target, columns, "--target", source)
        fam = _families(columns, PRED_FAMILY)
        for cols in fam.values():
            if _suffixes(cols) == _suffixes(tcols):
                return cols
    names = DISTANCE_NAMES + PRED_NAMES if kind == "pair_distance" else PRED_NAMES
    name = _first_present(names, columns)
    if name and kind not in ("distribution", "log_probs"):
        return [name]
    fams = _families(columns, PRED_FAMILY)
    if len(fams) == 1:
        return next(iter(fams.values()))
    if name:
        return [name]
    if len(fams) > 1:
        listed = "; ".join(f"{k}_* ({len(v)} columns)" for k, v in fams.items())
        raise InputError(
            f"{source}: several prediction column families: {listed}",
            hint="choose one with --pred, e.g. --pred 'prob_*'",
        )
    raise InputError(
        f"{source}: no prediction column found (looked for {', '.join(names)} and families like p_0..p_K or p0..pK)",
        hint="name it with --pred COL; " + _columns_hint(columns),
    )


def _variance(columns, var, source) -> str:
    if var:
        return one_column(var, columns, "--var", source)
    name = _first_present(VAR_NAMES, columns)
    if name is None:
        raise InputError(
            f"{source}: gaussian_nll needs a variance column",
            hint="name it with --var COL; " + _columns_hint(columns),
        )
    return name


def _targets(columns, kind, target, first_input, source) -> list[str]:
    if target:
        return expand(target, columns, "--target", source)
    if kind == "distribution" or (len(first_input) > 1 and kind in ("binary", "real")):
        # one target column per prediction column, matched by suffix
        want = _suffixes(first_input)
        for cols in _families(columns, TARGET_FAMILY).values():
            if sorted(_suffixes(cols)) == sorted(want):
                by_suffix = dict(zip(_suffixes(cols), cols))
                return [by_suffix[s] for s in want]
        if kind == "distribution":
            raise InputError(
                f"{source}: no target-distribution columns matching {', '.join(first_input)}",
                hint="name them with --target, e.g. --target 't_*'",
            )
    name = _first_present(TARGET_NAMES, columns)
    if name is None and len(first_input) > 1 and kind in ("multiclass", "log_probs"):
        # no label column: one-hot target columns (Keras's layout), matched by suffix
        want = _suffixes(first_input)
        for cols in _families(columns, TARGET_FAMILY).values():
            if sorted(_suffixes(cols)) == sorted(want):
                by_suffix = dict(zip(_suffixes(cols), cols))
                return [by_suffix[s] for s in want]
    if name is None:
        raise InputError(
            f"{source}: no target column found (looked for {', '.join(TARGET_NAMES)})",
            hint="name it with --target COL; " + _columns_hint(columns),
        )
    return [name]


def _pair_inputs(columns, kind, pred, source) -> list[list[str]]:
    singles, families = PAIRS[kind]
    n_inputs = len(singles or families)
    if pred:
        groups = [expand([p], columns, "--pred", source) for p in pred]
        if len(groups) == 1 and len(groups[0]) in (2, 3) and (kind != "pair_embedding"):
            groups = [[c] for c in groups[0]]
        if kind == "triplet" and len(groups) not in (2, 3):
            raise UsageError(
                "triplet takes --pred d_ap,d_an (distances) or three embedding families "
                "(--pred 'anchor_*' --pred 'positive_*' --pred 'negative_*')"
            )
        if kind != "triplet" and len(groups) != n_inputs:
            raise UsageError(
                f"{kind.replace('_', ' ')} loss needs {n_inputs} inputs; give --pred once per input"
            )
        widths = {len(g) for g in groups}
        if len(widths) > 1:
            raise UsageError(
                f"the --pred families have different widths: {', '.join(str(len(g)) for g in groups)}"
            )
        return groups
    if singles and all(s in columns for s in singles):
        return [[s] for s in singles]
    prefix_sets = (
        [families]
        if families and kind != "pair_embedding"
        else (PAIR_EMBEDDING_PREFIXES if families else [])
    )
    for prefixes in prefix_sets:
        groups = [
            sorted((c for c in columns if c.startswith(p + "_")), key=_suffix_key) for p in prefixes
        ]
        if all(len(g) >= 1 for g in groups) and len({len(g) for g in groups}) == 1:
            return groups
    wanted = ", ".join(singles) if singles else "two embedding families"
    raise InputError(
        f"{source}: cannot find the {kind.replace('_', ' ')} inputs (looked for {wanted})",
        hint="name them with --pred, once per input; " + _columns_hint(columns),
    )
