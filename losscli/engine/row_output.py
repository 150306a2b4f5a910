"""The columns of per-row output: ``--reduction none`` losses and ``grad`` gradients.

Both backends build each batch's output columns here, so a local file and a Dask
partition write the same columns with the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from losscli.engine.passes import Reading, Selected, located
from losscli.errors import InputError, UsageError
from losscli.io.sources import Source


def _row_ids(reading: Reading, frame: Any) -> Any:
    """The first output column: input row numbers, or the ``--key`` column's values in
    their own type (an integer key stays an integer, to join the output back on)."""
    if not reading.key:
        return frame.rows
    return frame.key if frame.key is not None else frame.texts[reading.key]


def row_names(reading: Reading) -> list[str]:
    """The columns of ``--reduction none`` output: ``row`` (or the key), one per loss; with
    ``--weight``, the ``weight`` after the row and ``weighted_<loss>`` (wᵢLᵢ) after each loss."""
    weighted = reading.selected[0].plan.weight is not None
    names = [reading.key or "row", *reading.keep, *(["weight"] if weighted else [])]
    for sel in reading.selected:
        names += [sel.label, *([f"weighted_{sel.label}"] if weighted else [])]
    return _distinct(names, reading)


def rows_need_sums(reading: Reading) -> bool:
    """Whether a selected loss's Lᵢ depends on the other rows (circle), so that per-row
    output first merges every row's sums (pass 1, as ``grad`` does) and computes each
    batch's Lᵢ against them; every other loss's rows are written in one pass."""
    return any(getattr(sel.objective, "rows_need_sums", False) for sel in reading.selected)


def row_columns(
    reading: Reading, frame: Any, batches: Sequence[Any], sums: Sequence[Any] | None = None
) -> list[Any]:
    """One frame's ``--reduction none`` output columns: the row ids (and weights), then each
    loss's Lᵢ (and wᵢLᵢ); ``sums``, each loss's merged sums when ``rows_need_sums``."""
    weights = batches[0].weights if reading.selected[0].plan.weight is not None else None
    columns = [_row_ids(reading, frame), *_carried(reading, frame)]
    columns += [weights] if weights is not None else []
    for i, (sel, batch) in enumerate(zip(reading.selected, batches)):
        merged = () if sums is None else (sums[i].overall,)
        losses = _guard(sel, reading.source, sel.objective.rows, batch, *merged)
        columns += [losses, *([weights * losses] if weights is not None else [])]
    return columns


def _carried(reading: Reading, frame: Any) -> list[Any]:
    """The ``--keep`` columns of one frame, in the order given."""
    return [frame.carried[c] for c in reading.keep]


def _guard(sel: Selected, source: Source, fn: Callable[..., Any], *args: Any) -> Any:
    """Call a kernel; a value error gets the file and column in front."""
    try:
        return fn(*args)
    except InputError as exc:
        raise located(exc, sel, source) from None


def gradient_names(reading: Reading, with_loss: bool) -> list[str]:
    """The columns of ``grad`` output: ``row`` (or the key), ``grad_<column>``…, ``loss``."""
    sel = reading.selected[0]
    names = [
        reading.key or "row",
        *reading.keep,
        *(f"grad_{c}" for cols in sel.plan.inputs for c in cols),
    ]
    return _distinct(names + (["loss"] if with_loss else []), reading)


def _distinct(names: list[str], reading: Reading) -> list[str]:
    """Output column names, refused when a ``--keep`` column takes the name of another."""
    for column in reading.keep:
        if names.count(column) > 1:
            raise UsageError(
                f"--keep {column}: the output already has a column named {column!r}",
                hint="rename that column in the input, or keep another",
            )
    return names


def gradient_columns(
    reading: Reading, frame: Any, batch: Any, sums: Any, reduction: str, with_loss: bool
) -> list[Any]:
    """One frame's ``grad`` output columns, each row differentiated against the merged sums."""
    sel = reading.selected[0]
    grads = _guard(sel, reading.source, sel.objective.grad, batch, sums.overall, reduction)
    columns = [_row_ids(reading, frame), *_carried(reading, frame)]
    for g in grads:
        columns += [g] if g.ndim == 1 else [g[:, j] for j in range(g.shape[1])]
    if with_loss:
        columns.append(sel.objective.rows(batch, sums.overall))
    return columns


def row_format(output: str | None, fmt: str | None, what: str) -> str:
    """The format of per-row output: ``--format`` (csv or json) agreeing with ``-o``'s name.

    Per-row output is CSV, JSON Lines (``--format json``, ``.jsonl``) or Parquet (``-o
    FILE.parquet``); the table and Markdown formats are for summaries, so they are refused
    here rather than ignored.
    """
    from losscli.io.sink import output_format

    by_name = output_format(output) if output is not None else None
    if fmt is None:
        return by_name or "csv"
    wanted = {"csv": "csv", "json": "jsonl"}.get(fmt)
    if wanted is None:
        raise UsageError(
            f"--format {fmt}: {what} writes one row per input row, as csv or json (JSON Lines)",
            hint="use --format csv or --format json, or -o FILE.parquet for Parquet",
        )
    if by_name is not None and by_name != wanted:
        raise UsageError(
            f"--format {fmt} and -o {output} disagree: that name is for {by_name} output",
            hint=f"drop --format, or name the file {'.jsonl' if wanted == 'jsonl' else '.csv'}",
        )
    return wanted
