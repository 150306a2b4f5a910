"""The file-level use cases: evaluate, and write per-row losses or gradients.

``evaluate`` returns the ``losscli.eval/1`` document (README "JSON output");
``write_rows`` writes per-row losses (``--reduction none``) and ``write_gradients``
per-row gradients (``losscli grad``). Each takes the input options whole
(``InputSpec``) and the loss parameters; the Python API's ``evaluate_file``,
``write_rows_file`` and ``write_gradients_file`` build them from keywords. The passes
run on the backend ``--engine`` names (``losscli.engine.backend``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from losscli._version import __version__
from losscli.app import thresholds as threshold_rules
from losscli.app.arrays import column_name, column_names, file_path, loss_text
from losscli.app.arrays import thresholds as threshold_items
from losscli.app.reading import checked_inference, dropped_note, kept_rows_note, prepare
from losscli.app.result_table import EvalDocument, set_params
from losscli.binding.libraries import normalize_library
from losscli.binding.objective import objectives_for
from losscli.engine.backend import backend_for
from losscli.engine.logits import quiet
from losscli.engine.passes import (
    Selected,
    bind_reduction,
    check_usable,
    group_by,
    group_rows,
    located,
    usable_selection,
    with_group_values,
)
from losscli.engine.top_rows import require_ranked, unranked_reason
from losscli.errors import InputError, UsageError
from losscli.io.input_options import InputSpec, decimal_value, delimiter_value
from losscli.io.sources import Source
from losscli.kernel.streaming import SUMMARIES

if TYPE_CHECKING:
    from losscli.io.sink import TableSink

Note = Callable[[str], None]
_quiet = quiet


def said_once(note: Note) -> Note:
    """``note`` that says each message once (two files, or a pass run again, give the
    same notes)."""
    said: set[str] = set()

    def once(message: str) -> None:
        if message not in said:
            said.add(message)
            note(message)

    return once


def with_keywords(
    params: Mapping[str, Any] | None, keywords: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The loss parameters of a file or frame function: ``params`` and the keywords that
    are not its own (``delta=0.5``), as ``evaluate`` takes them; one given both ways is
    refused."""
    if not keywords:
        return params
    both = sorted(set(keywords) & set(params or {}))
    if both:
        raise UsageError(f"{', '.join(both)} given both as a keyword and in params=")
    return {**(params or {}), **keywords}


def api_inputs(arguments: Mapping[str, Any]) -> InputSpec:
    """The InputSpec of a Python API call: its keywords named like the spec's fields."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(InputSpec)}
    return input_spec(**{k: v for k, v in arguments.items() if k in names})


def input_spec(
    *,
    target: Any = (),
    pred: Any = (),
    var: Any = None,
    weight: Any = None,
    group: Any = None,
    key: Any = None,
    targets: str | None = None,
    from_logits: bool | None = None,
    convention: str | None = None,
    dropna: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    pos_label: str | None = None,
    keep: Any = (),
    engine: str = "local",
    scheduler: str | None = None,
) -> InputSpec:
    """The input options of a Python API call, checked as the command line checks them
    (a str column list is one column, never its characters)."""
    return InputSpec(
        target=column_names(target, "target"),
        pred=column_names(pred, "pred"),
        var=column_name(var, "var"),
        weight=column_name(weight, "weight"),
        group=",".join(column_names(group, "group")) or None,  # several: one row per combination
        key=column_name(key, "key"),
        targets=targets,
        from_logits=from_logits,
        convention=convention,
        dropna=dropna,
        input_format=input_format,
        delimiter=delimiter_value(delimiter, "delimiter"),
        decimal=decimal_value(decimal, "decimal"),
        pos_label=pos_label,
        keep=column_names(keep, "keep"),
        engine=engine,
        scheduler=scheduler,
    )


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
        "group": group_by(plan.group),
        "from_logits": bool(from_logits),
    }


def evaluate(
    path: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    *,
    reduction: str = "mean",
    gradients: bool = False,
    fail_above: Sequence[str] = (),
    fail_below: Sequence[str] = (),
    per_class: bool | str = False,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    top: int = 0,
    note: Note = _quiet,
    row_stats: bool = False,
    source: Source | None = None,
    observers: Sequence[Any] = (),
    top_where_ranked: bool = False,
) -> EvalDocument:
    """Evaluate ``loss`` (a spec such as ``'mse,huber(delta=0.5)'``; None infers the task).

    Returns the ``losscli.eval/1`` document: input description, the library
    ``convention`` followed (or None), one result per (loss, group) with the overall
    row first, and the checks: ``fail_above`` gates lower-is-better losses and metrics,
    ``fail_below`` higher-is-better ones (D²). ``per_class`` adds each loss's class
    rows after each of its rows (``losscli.engine.perclass``; ``"where defined"``: of the
    losses that split, the others left whole, as ``losscli report`` asks); ``bootstrap`` (replicates,
    0 for none) adds a percentile interval to every row. ``top`` (K > 0) adds
    ``top_rows``: each loss's K rows with the largest Lᵢ, overall and per group
    (``losscli.engine.top_rows``), with the ``inputs.keep`` columns. ``row_stats`` (for
    ``losscli report``) adds ``row_stats``: per loss, the histograms, residual density or
    calibration of ``losscli.engine.report_stats``, gathered in the same pass.
    ``source``, an opened source (a table in memory, ``losscli.io.frames``), is read
    in place of ``path``, which then only names it.
    ``observers`` see every frame of the pass that gives the result (``Reading.observers``:
    ``add_frame``, and ``reset`` whenever a pass starts). ``top_where_ranked`` (as
    ``losscli report`` asks): when no loss has per-row values, no ``top_rows`` and a note
    saying why, in place of the usage error (which stays when ``inputs.keep`` names
    columns for those rows).
    """
    if reduction not in SUMMARIES:
        raise UsageError(
            f"evaluate_file reduces with mean, mean_with_sample_weight, sum, median, max or p95, not {reduction!r} "
            "(see write_rows)"
        )
    resampling = _resampling(bootstrap, confidence, seed)
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise UsageError(f"top is a number of rows (>= 1), not {top!r}")
    if inputs.keep and not top:
        raise UsageError("--keep copies columns into listed rows: add --top K")
    thresholds = [("fail_above", *t) for t in threshold_rules.parse(fail_above, "fail_above")]
    thresholds += [("fail_below", *t) for t in threshold_rules.parse(fail_below, "fail_below")]
    backend = backend_for(inputs.engine, inputs.scheduler, path, inputs.targets)
    guess = loss is None and backend.infers_while_reading  # checked as the file is read
    held: list[str] = []  # notes that follow the inferred task's, once it is known
    unranked: list[str] = []  # why no loss of the last pass ranks its rows (top_where_ranked)
    left_out: list[str] = []  # inferred losses the reduction leaves out (after the task's note)
    reading, inference = prepare(
        path,
        loss,
        inputs,
        params,
        note=held.append if guess else note,
        replay=gradients,
        guess=guess,
        source=source,
    )

    def passes(reading: Any) -> tuple[Any, list[Any] | None]:
        """The evaluation pass: every loss's sums (and class or bootstrap extras)."""
        selected = reading.selected
        for observer in observers:
            observer.reset()
            if observer not in reading.observers:
                reading.observers.append(observer)
        left_out.clear()
        usable_selection(selected, reduction, loss is None, left_out.append)
        bind_reduction(selected, reduction)
        unranked.clear()
        k = top
        if top and top_where_ranked and not inputs.keep:
            reasons = [unranked_reason(sel) for sel in selected]
            if all(reasons):
                unranked.extend(reasons)
                k = 0
        elif top:
            require_ranked(selected, drop="--keep" if top_where_ranked else "--top")
        splits = _splits(selected, reduction, per_class)
        evaluated = backend.evaluate(
            reading,
            reduction=reduction,
            gradients=gradients,
            splits=splits,
            resampling=resampling,
            note=note,
            from_logits=inputs.from_logits,
            top=k,
            report=row_stats,
        )
        return evaluated, splits

    if guess:
        reading, inference, (evaluated, splits) = checked_inference(
            reading, inference, passes, note, held, path, inputs, params, gradients
        )
    else:
        evaluated, splits = passes(reading)
    task = inference.task if inference is not None else None
    source, selected = reading.source, reading.selected
    for message in left_out:
        note(message)
    if unranked:
        note(f"no worst rows: {'; '.join(unranked)}")
    sums, stats, extras = evaluated.sums, evaluated.stats, evaluated.extras
    dropped_note(stats, note)
    kept_rows_note(selected, stats.get("rows", 0) - stats.get("dropped", 0), note)
    grads = backend.gradient_summaries(reading, evaluated, reduction) if gradients else None
    results = []
    for i, (sel, acc) in enumerate(zip(selected, sums)):
        params_out = sel.objective.user_params()
        rows = [(None, acc.overall, acc.n)] + group_rows(sel, acc)
        for stratum, (key, part, n) in enumerate(rows):
            try:
                value = sel.objective.compute(part, reduction)
            except InputError as exc:  # the weights sum to 0, or a metric is undefined
                raise located(exc, sel, source, key) from None
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
            if extras is None:
                results.append(result)
                continue
            from losscli.engine import breakdown

            results += breakdown.finish_rows(
                result,
                sel,
                extras[i],
                part=part,
                stratum=stratum,
                reduction=reduction,
                resampling=resampling,
                source=source,
            )
    with_group_values(results, selected[0].plan.group)
    doc = EvalDocument(
        {
            "schema": "losscli.eval/1",
            "version": __version__,
            "input": _describe_input(source, stats, selected, task, inputs.from_logits),
            "convention": normalize_library(inputs.convention) if inputs.convention else None,
            "results": results,
        }
    )
    if splits is not None:
        doc["per_class"] = [s.describe(sel.label) for sel, s in zip(selected, splits) if s]
    if resampling is not None:
        doc["bootstrap"] = resampling.describe()
    if evaluated.report is not None:
        doc["row_stats"] = [
            {"loss": sel.label, **r.describe()} for sel, r in zip(selected, evaluated.report)
        ]
    if evaluated.worst is not None:
        asked = "worst rows" if top_where_ranked else "--top"  # report's --top has a default
        doc["top_rows"] = _top_rows(selected, sums, evaluated.worst, note, asked)
        with_group_values(doc["top_rows"], selected[0].plan.group)
    if thresholds:
        doc["checks"] = threshold_rules.checks(thresholds, selected, results)
        doc["passed"] = all(c["passed"] for c in doc["checks"])
    else:
        doc["passed"] = True
    return doc


def without_unset_params(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as ``--format json`` writes it: each result's params without the
    ones left unset (``None``)."""
    out = dict(doc)
    out["results"] = [{**r, "params": set_params(r["params"])} for r in doc["results"]]
    return out


def _top_rows(
    selected: Sequence[Any],
    sums: Sequence[Any],
    worst: Sequence[Any],
    note: Note,
    asked: str = "--top",
) -> list[dict[str, Any]]:
    """The ``top_rows`` of the eval document: per loss, the whole file then each group
    (``asked``: what the note of a loss left out names)."""

    out = []
    for sel, acc, rows in zip(selected, sums, worst):
        if not rows.ranked:
            note(f"{asked}: {unranked_reason(sel)}; its rows are not ranked")
            continue
        for key in [None, *(k for k, _, _ in group_rows(sel, acc))]:
            out.append({"loss": sel.label, "group": key, "rows": rows.rows(key)})
    return out


def evaluate_file(
    path: str,
    loss: str | None = None,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | Sequence[str] | None = None,
    reduction: str = "mean",
    gradients: bool = False,
    from_logits: bool | None = None,
    dropna: bool = False,
    input_format: str | None = None,
    fail_above: Sequence[str] = (),
    targets: str | None = None,
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
    convention: str | None = None,
    note: Note = _quiet,
    per_class: bool = False,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    engine: str = "local",
    scheduler: str | None = None,
    fail_below: Sequence[str] = (),
    delimiter: str | None = None,
    decimal: str | None = None,
    pos_label: str | None = None,
    top: int = 0,
    keep: Sequence[str] = (),
    **loss_params: Any,
) -> EvalDocument:
    """``evaluate`` with the input options as keywords (the Python API); loss parameters
    as keywords too (``delta=0.5``), or in ``params``.

    ``engine='dask'`` runs the passes as Dask tasks over a Parquet dataset's partitions
    (on the cluster at ``scheduler``, or on local threads). ``delimiter``, ``decimal``
    and ``pos_label`` read CSV text as ``--delimiter``, ``--decimal`` and ``--pos-label``;
    ``top`` and ``keep`` list the worst rows as ``--top`` and ``--keep``. The document
    is a dict; its ``to_pandas()`` is the table of ``eval --format csv``.
    """
    path, loss = file_path(path, "evaluate_file"), loss_text(loss, "evaluate_file")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    return evaluate(
        path,
        loss,
        inputs,
        params,
        reduction=reduction,
        gradients=gradients,
        fail_above=threshold_items(fail_above, "fail_above"),
        fail_below=threshold_items(fail_below, "fail_below"),
        per_class=per_class,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        top=top,
        note=note,
    )


def _split(sel: Selected, reduction: str) -> Any:
    from losscli.engine.perclass import split_for

    plan = sel.plan
    return split_for(sel.label, sel.objective, plan.target, plan.inputs, plan.classes, reduction)


WHERE_DEFINED = "where defined"


def _splits(selected: Sequence[Selected], reduction: str, per_class: bool | str) -> Any:
    """Each loss's class split (``per_class``: True for every loss, a loss without one an
    error; ``"where defined"`` for the losses that split; else None for no class rows)."""
    if not per_class:
        return None
    if per_class is True:
        return [_split(sel, reduction) for sel in selected]
    if per_class != WHERE_DEFINED:
        raise UsageError(f"per_class is True, False or {WHERE_DEFINED!r}, not {per_class!r}")
    out = []
    for sel in selected:
        try:
            out.append(_split(sel, reduction))
        except UsageError:
            out.append(None)
    return out if any(out) else None


def _resampling(replicates: int, confidence: float, seed: int) -> Any:
    """The bootstrap settings, or None for no intervals; invalid ones are usage errors."""
    from losscli.engine.bootstrap import check_settings

    check_settings(replicates, confidence, seed)
    if not replicates:
        return None
    from losscli.engine.breakdown import Resampling

    return Resampling(replicates, confidence, seed)


def rows_of(
    path: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    output: str | TableSink | None = None,
    *,
    fmt: str | None = None,
    note: Note = _quiet,
    source: Source | None = None,
) -> int:
    """Per-row losses Lᵢ (``--reduction none``): ``row`` (or the key), then one column per
    loss; with a weight column, also the weight and each loss's wᵢLᵢ.

    ``fmt`` is ``csv`` or ``json`` (JSON Lines: one object per row); None takes it from
    ``output``'s extension (``.csv``, ``.jsonl``, ``.parquet``), CSV on stdout. On the
    Dask backend ``output`` is a directory that receives one Parquet file per partition;
    a ``TableSink`` keeps the rows in memory. ``source`` as for ``evaluate``. Returns the
    number of input rows.
    """
    if inputs.group is not None:
        raise UsageError("per-row output has one row per input row; it takes no group column")
    backend = backend_for(inputs.engine, inputs.scheduler, path, inputs.targets)
    target = backend.row_output(output, fmt, "--reduction none")
    reading, _ = prepare(path, loss, inputs, params, note=note, replay=False, source=source)
    usable_selection(reading.selected, "none", loss is None, note)
    stats = backend.write_rows(reading, target, note, inputs.from_logits)
    dropped_note(stats, note)
    return stats.get("rows", 0)


def gradients_of(
    path: str,
    loss: str,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    output: str | TableSink | None = None,
    *,
    reduction: str = "mean",
    with_loss: bool = False,
    fmt: str | None = None,
    note: Note = _quiet,
    source: Source | None = None,
) -> int:
    """Per-row ∂J/∂ŷ: ``row`` (or the key), ``grad_<prediction column>`` per column, and
    ``loss`` with ``with_loss``; ``fmt`` as for ``rows_of`` (csv, json or None).

    Two passes: the first merges the partial sums (n, Σw, ratio totals), the second
    differentiates each row against them, so the output matches ``losscli.gradient``.
    ``output`` and ``source`` as for ``rows_of``. Returns the number of input rows.
    """
    if reduction not in SUMMARIES:
        raise UsageError(
            f"grad reduces with mean, mean_with_sample_weight, sum, median, max or p95, not {reduction!r}"
        )
    if inputs.group is not None:
        raise UsageError("per-row output has one row per input row; it takes no group column")
    backend = backend_for(inputs.engine, inputs.scheduler, path, inputs.targets)
    target = backend.row_output(output, fmt, "grad")
    if len(objectives_for(loss, params or {}, inputs.from_logits, inputs.convention)) != 1:
        raise UsageError(
            f"grad takes one loss, got {loss!r}",
            hint="run grad once per loss, or combine them: --loss '0.7*mse + 0.3*mae'",
        )
    reading, _ = prepare(path, loss, inputs, params, note=note, replay=True, source=source)
    check_usable(reading.selected, reduction)
    if with_loss:
        try:
            check_usable(reading.selected, "none")
        except UsageError as exc:
            raise UsageError(
                f"--with-loss writes each row's loss Lᵢ: {unranked_reason(reading.selected[0])}",
                hint="drop --with-loss, or write the gradient of a loss with per-row values",
            ) from exc
    bind_reduction(reading.selected, reduction)
    stats = backend.write_gradients(reading, target, reduction, with_loss, note, inputs.from_logits)
    dropped_note(stats, note)
    return stats.get("rows", 0)


def write_rows(
    path: str,
    loss: str | None,
    output: str | None = None,
    *,
    target: Sequence[str] = (),
    pred: Sequence[str] = (),
    var: str | None = None,
    weight: str | None = None,
    from_logits: bool | None = None,
    dropna: bool = False,
    input_format: str | None = None,
    targets: str | None = None,
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
    convention: str | None = None,
    note: Note = _quiet,
    engine: str = "local",
    scheduler: str | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    pos_label: str | None = None,
    keep: Sequence[str] = (),
    **loss_params: Any,
) -> int:
    """``rows_of`` with the input options as keywords (the Python API)."""
    path, loss = file_path(path, "write_rows"), loss_text(loss, "write_rows")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    return rows_of(path, loss, inputs, params, output, fmt=fmt, note=note)


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
    from_logits: bool | None = None,
    with_loss: bool = False,
    dropna: bool = False,
    input_format: str | None = None,
    targets: str | None = None,
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
    convention: str | None = None,
    note: Note = _quiet,
    engine: str = "local",
    scheduler: str | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    pos_label: str | None = None,
    keep: Sequence[str] = (),
    **loss_params: Any,
) -> int:
    """``gradients_of`` with the input options as keywords (the Python API)."""
    path, loss = file_path(path, "write_gradients"), loss_text(loss, "write_gradients")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    return gradients_of(
        path,
        loss,
        inputs,
        params,
        output,
        reduction=reduction,
        with_loss=with_loss,
        fmt=fmt,
        note=note,
    )
