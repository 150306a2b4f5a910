"""The file-level API: evaluate and differentiate losses on a CSV/Parquet/JSONL file.

``evaluate_file`` returns the ``losscli.eval/1`` document (SPEC §4); ``write_rows``
writes per-row losses (``--reduction none``) and ``write_gradients`` per-row
gradients (``losscli grad``). The CLI calls these and only formats the results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from losscli import __version__
from losscli._lazy import np
from losscli.engine import (
    Selected,
    accumulate,
    check_usable,
    gradient_pass,
    group_rows,
    plan_losses,
    row_frames,
    text_columns_for,
)
from losscli.errors import InputError, UsageError
from losscli.io import Source, buffer_stdin, detect_format, read_header
from losscli.objective import objectives_for
from losscli.registry import get_loss
from losscli.sink import RowSink, check_writable
from losscli.tasks import infer_task

Note = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def parse_fail_above(items: Sequence[str]) -> list[tuple[str | None, float]]:
    """``huber=0.3`` or ``0.3`` (every loss) → [(loss or None, threshold)]."""
    out = []
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            out.append((name.strip() or None, float(value)))
        except ValueError:
            raise UsageError(
                f"--fail-above {item!r}: expected [LOSS=]VALUE, e.g. huber=0.3"
            ) from None
    return out


def _open(path: str, input_format: str | None, replay: bool) -> tuple[Source, Any]:
    source = detect_format(path, input_format)
    if replay:
        buffer_stdin(source)
    return source, read_header(source)


def _select(
    source: Source,
    header: Any,
    loss: str | None,
    *,
    target: Sequence[str],
    pred: Sequence[str],
    var: str | None,
    weight: str | None,
    group: str | None,
    params: Mapping[str, Any],
    from_logits: bool,
    note: Note,
) -> tuple[list[Selected], str | None]:
    task = None
    if loss is None:
        inference = infer_task(source, header, list(target), list(pred))
        note(f"inferred task: {inference.task} ({inference.reason}); evaluating {inference.losses}")
        task, loss = inference.task, inference.losses
        source.pending = None  # the inference read the first block; start again
        header = read_header(source)
    objectives = objectives_for(loss, params, from_logits)
    selected = plan_losses(
        header,
        objectives,
        source=source.name,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=group,
    )
    return selected, task


def _describe_input(
    source: Source,
    stats: Mapping[str, int],
    selected: Sequence[Selected],
    task: str | None,
    from_logits: bool,
) -> dict[str, Any]:
    plan = selected[0].plan
    return {
        "path": source.path,
        "rows": stats.get("rows", 0),
        "rows_dropped": stats.get("dropped", 0),
        "task": task,
        "target": plan.target,
        "predictions": [c for cols in plan.inputs for c in cols],
        "weight": plan.weight,
        "group": plan.group,
        "from_logits": from_logits,
    }


def evaluate_file(
    path: str,
    loss: str | None = None,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | None = None,
    reduction: str = "mean",
    gradients: bool = False,
    from_logits: bool = False,
    dropna: bool = False,
    input_format: str | None = None,
    fail_above: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    note: Note = _quiet,
) -> dict[str, Any]:
    """Evaluate ``loss`` (a spec such as ``'mse,huber(delta=0.5)'``; None infers the task).

    Returns the ``losscli.eval/1`` document: input description, one result per
    (loss, group) with the overall row first, and the ``--fail-above`` checks.
    """
    if reduction not in ("mean", "sum"):
        raise UsageError(
            f"evaluate_file reduces with mean or sum, not {reduction!r} (see write_rows)"
        )
    thresholds = parse_fail_above(fail_above)
    source, header = _open(path, input_format, replay=gradients or loss is None)
    selected, task = _select(
        source,
        header,
        loss,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=group,
        params=params or {},
        from_logits=from_logits,
        note=note,
    )
    check_usable(selected, reduction)
    text = text_columns_for(header, selected)
    stats: dict[str, int] = {}
    sums = accumulate(source, header, selected, dropna=dropna, text_columns=text, stats=stats)
    if stats.get("dropped"):
        note(
            f"dropped {stats['dropped']} of {stats['rows']} rows with empty, NaN or infinite cells (--dropna)"
        )
    grads = None
    if gradients:
        header = read_header(source)
        grads = gradient_pass(
            source, header, selected, sums, reduction, dropna=dropna, text_columns=text
        )
    results = []
    for i, (sel, acc) in enumerate(zip(selected, sums)):
        params_out = sel.objective.user_params()
        rows = [(None, acc.overall, acc.n)] + group_rows(sel, acc)
        for key, part, n in rows:
            value = sel.objective.compute(part, reduction)
            result = {
                "loss": sel.label,
                "params": params_out,
                "reduction": reduction,
                "group": key,
                "n": int(n),
                "value": value,
            }
            if grads is not None:
                overall, per_group = grads[i]
                result["gradient"] = (overall if key is None else per_group[key]).as_dict()
            results.append(result)
    doc: dict[str, Any] = {
        "schema": "losscli.eval/1",
        "version": __version__,
        "input": _describe_input(source, stats, selected, task, from_logits),
        "results": results,
    }
    if thresholds:
        doc["checks"] = _checks(thresholds, selected, results)
        doc["passed"] = all(c["passed"] for c in doc["checks"])
    else:
        doc["passed"] = True
    return doc


def _matches(name: str, sel: Selected) -> bool:
    if name.replace(" ", "") == sel.label:
        return True
    from losscli.objective import BoundLoss

    if not isinstance(sel.objective, BoundLoss):
        return False  # a composite is named by its spec
    try:
        return get_loss(name).name == sel.name
    except UsageError:
        return False


def _checks(
    thresholds, selected: Sequence[Selected], results: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    checks = []
    overall = {r["loss"]: r for r in results if r["group"] is None}
    for name, limit in thresholds:
        targets = [s for s in selected if name is None or _matches(name, s)]
        if not targets:
            raise UsageError(
                f"--fail-above {name}={limit}: {name!r} is not one of the selected losses",
                hint=f"selected: {', '.join(s.label for s in selected)}",
            )
        for sel in targets:
            value = overall[sel.label]["value"]
            checks.append(
                {
                    "loss": sel.label,
                    "fail_above": limit,
                    "value": value,
                    "passed": bool(value <= limit),
                }
            )
    return checks


def write_rows(
    path: str,
    loss: str | None,
    output: str | None = None,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    from_logits: bool = False,
    dropna: bool = False,
    input_format: str | None = None,
    params: Mapping[str, Any] | None = None,
    note: Note = _quiet,
) -> int:
    """Per-row losses Lᵢ (``--reduction none``): a ``row`` column, then one column per loss."""
    if output is not None:
        check_writable(output)
    source, header = _open(path, input_format, replay=loss is None)
    selected, _ = _select(
        source,
        header,
        loss,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=None,
        params=params or {},
        from_logits=from_logits,
        note=note,
    )
    check_usable(selected, "none")
    text = text_columns_for(header, selected)
    stats: dict[str, int] = {}
    sink = RowSink(output, ["row", *(s.label for s in selected)])
    try:
        for frame, batches in row_frames(
            source, header, selected, dropna=dropna, text_columns=text, stats=stats
        ):
            columns = [frame.rows]
            for sel, batch in zip(selected, batches):
                columns.append(_guard(sel, source, sel.objective.rows, batch))
            sink.write(columns)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    if stats.get("dropped"):
        note(
            f"dropped {stats['dropped']} of {stats['rows']} rows with empty, NaN or infinite cells (--dropna)"
        )
    return stats.get("rows", 0)


def _guard(sel: Selected, source: Source, fn: Callable[..., Any], *args: Any) -> Any:
    """Call a kernel; a value error gets the file and column in front."""
    from losscli.engine import located

    try:
        return fn(*args)
    except InputError as exc:
        raise located(exc, sel, source) from None


def write_gradients(
    path: str,
    loss: str,
    output: str | None = None,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    reduction: str = "mean",
    from_logits: bool = False,
    with_loss: bool = False,
    dropna: bool = False,
    input_format: str | None = None,
    params: Mapping[str, Any] | None = None,
    note: Note = _quiet,
) -> int:
    """Per-row ∂J/∂ŷ: ``row``, ``grad_<prediction column>`` per column, and ``loss`` with ``with_loss``.

    Two passes: the first merges the partial sums (n, Σw, ratio totals), the second
    differentiates each row against them, so the output matches ``losscli.gradient``.
    """
    if reduction not in ("mean", "sum"):
        raise UsageError(f"grad reduces with mean or sum, not {reduction!r}")
    if output is not None:
        check_writable(output)
    source, header = _open(path, input_format, replay=True)
    objectives = objectives_for(loss, params or {}, from_logits)
    if len(objectives) != 1:
        raise UsageError(
            f"grad takes one loss, got {len(objectives)}",
            hint="run grad once per loss, or combine them: --loss '0.7*mse + 0.3*mae'",
        )
    selected = plan_losses(
        header,
        objectives,
        source=source.name,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=None,
    )
    sel = selected[0]
    check_usable(selected, reduction)
    if with_loss:
        check_usable(selected, "none")
    text = text_columns_for(header, selected)
    stats: dict[str, int] = {}
    sums = accumulate(source, header, selected, dropna=dropna, text_columns=text, stats=stats)[0]
    names = ["row", *(f"grad_{c}" for cols in sel.plan.inputs for c in cols)] + (
        ["loss"] if with_loss else []
    )
    sink = RowSink(output, names)
    header = read_header(source)
    try:
        for frame, (batch,) in row_frames(
            source, header, selected, dropna=dropna, text_columns=text, stats={}
        ):
            grads = _guard(sel, source, sel.objective.grad, batch, sums.overall, reduction)
            columns = [frame.rows]
            for g in grads:
                columns += [g] if g.ndim == 1 else [g[:, j] for j in range(g.shape[1])]
            if with_loss:
                columns.append(sel.objective.rows(batch))
            sink.write(columns)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    if stats.get("dropped"):
        note(
            f"dropped {stats['dropped']} of {stats['rows']} rows with empty, NaN or infinite cells (--dropna)"
        )
    return stats.get("rows", 0)


__all__ = ["evaluate_file", "write_gradients", "write_rows", "np"]
