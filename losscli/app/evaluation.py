"""The file-level API: evaluate and differentiate losses on a CSV/Parquet/JSONL file.

``evaluate_file`` returns the ``losscli.eval/1`` document (README "JSON output"); ``write_rows``
writes per-row losses (``--reduction none``) and ``write_gradients`` per-row
gradients (``losscli grad``). The CLI calls these and only formats the results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from losscli._version import __version__
from losscli.app.arrays import column_name, column_names, file_path, loss_text
from losscli.app.arrays import thresholds as threshold_items
from losscli.binding.conventions import normalize_library
from losscli.binding.objective import conventions_of, objectives_for
from losscli.engine.passes import (
    Reading,
    Selected,
    accumulate,
    bind_reduction,
    check_usable,
    gradient_pass,
    group_rows,
    located,
    plan_losses,
    row_frames,
    text_columns_for,
)
from losscli.errors import InputError, UsageError, ZeroWeightError
from losscli.io.readers import Header, Source, buffer_stdin, detect_format, read_header
from losscli.io.sink import RowSink, check_writable, output_format
from losscli.kernel.streaming import ROW_STATISTICS
from losscli.losses.registry import all_losses, get_loss

if TYPE_CHECKING:
    from losscli.app.tasks import Inference

Note = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def parse_fail_above(
    items: Sequence[str], flag: str = "--fail-above"
) -> list[tuple[str | None, float]]:
    """``huber=0.3`` or ``0.3`` (every loss) → [(loss or None, threshold)]."""
    out = []
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            out.append((name.strip() or None, float(value)))
        except ValueError:
            example = "huber=0.3" if flag == "--fail-above" else "d2_tweedie=0.2"
            raise UsageError(f"{flag} {item!r}: expected [LOSS=]VALUE, e.g. {example}") from None
    return out


def _prepare(
    path: str,
    loss: str | None,
    *,
    target: Sequence[str],
    pred: Sequence[str],
    var: str | None,
    weight: str | None,
    group: str | None,
    params: Mapping[str, Any] | None,
    from_logits: bool,
    dropna: bool,
    input_format: str | None,
    targets: str | None,
    key: str | None,
    note: Note,
    replay: bool,
    convention: str | None = None,
    guess: bool = False,
    inferred: Inference | None = None,
    source: Source | None = None,
) -> tuple[Reading, Inference | None]:
    """Open the input(s), pick the losses (or infer the task) and resolve their columns.

    Without ``loss`` the task is inferred over the whole file and noted, or with
    ``guess`` from the first batch, unnoted: the caller checks the guess against the
    whole file (``_checked``). ``inferred`` is a task already inferred from ``source``.
    """
    if key and not targets:
        raise UsageError("--key joins a --targets file; give --targets FILE2 too")
    if source is None:
        source = detect_format(path, input_format)
        if replay or loss is None:
            buffer_stdin(source)
    header = read_header(source)
    target_source = target_header = None
    if targets is not None:
        target_source = detect_format(targets)
        target_header = read_header(target_source)
        for name, hdr in ((source.name, header), (target_source.name, target_header)):
            if key and key not in hdr.columns:
                from losscli.io.columns import close_columns

                close = close_columns(key, hdr.columns)
                raise InputError(
                    f"{name}: no --key column {key!r}",
                    hint=f"did you mean {' or '.join(close)}? the key column must be in both files"
                    if close
                    else "the key column must be in both files",
                )
    inference = inferred
    if loss is None:
        if targets is not None:
            raise UsageError("give --loss with --targets (the task is inferred from a single file)")
        if inference is None:
            from losscli.app.tasks import infer_task  # only without --loss

            inference = infer_task(source, header, list(target), list(pred), whole=not guess)
            source.pending = None  # the inference read from the start; start again
            header = read_header(source)
        loss = inference.losses
        if convention:
            loss = _defined_by(convention, loss, note)
        inference.evaluated = loss
        if not guess:
            note(inference.note())
    objectives = objectives_for(loss, params or {}, from_logits, convention)
    if var is not None and not any(obj.inputs == "gaussian" for _, obj in objectives):
        readers = [x.name for x in all_losses() if x.inputs == "gaussian"]
        raise UsageError(
            f"--var {var}: no selected loss reads a variance column",
            hint=f"--var is read by {', '.join(readers)}: drop --var, or select one of them",
        )
    for record in conventions_of(objectives):
        extra = f"; {record.note}" if record.note and from_logits is None else ""
        note(f"--convention {record.library}: {record.loss} as {record.function}{extra}")
    columns = header.columns
    if target_header is not None:
        # targets come from the targets file, predictions from the predictions file
        columns = [
            *target_header.columns,
            *(c for c in header.columns if c not in target_header.columns),
        ]
    merged = Header(
        columns,
        header.text_columns | (target_header.text_columns if target_header else set()),
        header.rows_hint,
    )
    selected = plan_losses(
        merged,
        objectives,
        source=source.name,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=group,
    )
    if target and not any(s.plan.target for s in selected):
        raise UsageError(
            f"--target {','.join(target)}: {', '.join(s.label for s in selected)} read no "
            "target column",
            hint="drop --target; the columns are given with --pred",
        )
    table = None
    if target_source is not None:
        wanted = list(dict.fromkeys(c for s in selected for c in s.plan.target))
        strays = [c for c in wanted if c not in target_header.columns]
        if strays:
            raise InputError(f"{target_source.name}: no target column {strays[0]!r}")
        from losscli.io.targets import TargetTable

        table = TargetTable.load(target_source, target_header, wanted, key)
    text = text_columns_for(merged, selected)
    return Reading(source, header, selected, text, dropna, table, key), inference


def _defined_by(convention: str, losses: str, note: Note) -> str:
    """The inferred task's default losses that the convention's library defines; the
    others are left out with a note (a loss asked for with --loss is an error instead)."""
    from losscli.binding.conventions import lookup

    kept, lacking = [], []
    for name in losses.split(","):
        try:
            lookup(name, convention)
            kept.append(name)
        except UsageError:
            lacking.append(name)
    if lacking and kept:
        from losscli.binding.conventions import TITLES

        library = normalize_library(convention)
        note(f"--convention {library}: {TITLES[library]} defines no {', '.join(lacking)}: left out")
    return ",".join(kept) or lacking[0]  # none defined: the first one's error


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
        "from_logits": bool(from_logits),
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
) -> dict[str, Any]:
    """Evaluate ``loss`` (a spec such as ``'mse,huber(delta=0.5)'``; None infers the task).

    Returns the ``losscli.eval/1`` document: input description, the library
    ``convention`` followed (or None), one result per (loss, group) with the overall
    row first, and the checks: ``fail_above`` gates lower-is-better losses and metrics,
    ``fail_below`` higher-is-better ones (D²). ``per_class`` adds each loss's class
    rows after each of its rows (``losscli.engine.perclass``); ``bootstrap`` (replicates, 0 for
    none) adds a percentile interval to every row. ``engine='dask'`` runs the passes as
    Dask tasks over a Parquet dataset's partitions (on the cluster at ``scheduler``, or
    on local threads).
    """
    path, loss = file_path(path, "evaluate_file"), loss_text(loss, "evaluate_file")
    target, pred = column_names(target, "target"), column_names(pred, "pred")
    weight, group = column_name(weight, "weight"), column_name(group, "group")
    var, key = column_name(var, "var"), column_name(key, "key")
    fail_above, fail_below = (
        threshold_items(fail_above, "fail_above"),
        threshold_items(fail_below, "fail_below"),
    )
    if reduction not in ("mean", "sum", *ROW_STATISTICS):
        raise UsageError(
            f"evaluate_file reduces with mean, sum, median, max or p95, not {reduction!r} "
            "(see write_rows)"
        )
    resampling = _resampling(bootstrap, confidence, seed)
    thresholds = [("fail_above", *t) for t in parse_fail_above(fail_above)]
    thresholds += [("fail_below", *t) for t in parse_fail_above(fail_below, "--fail-below")]
    distributed = _dask(engine, scheduler, path, targets)
    guess = loss is None and not distributed  # checked against the whole file as it is read
    held: list[str] = []  # notes that follow the inferred task's, once it is known
    options = dict(
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=group,
        params=params,
        from_logits=from_logits,
        dropna=dropna,
        input_format=input_format,
        targets=targets,
        key=key,
        replay=gradients,
        convention=convention,
    )
    reading, inference = _prepare(
        path, loss, note=held.append if guess else note, guess=guess, **options
    )

    def passes(reading: Reading) -> tuple[Any, dict[str, int], Any, list[Any], Any]:
        """The evaluation pass: every loss's sums (and class or bootstrap extras)."""
        selected = reading.selected
        check_usable(selected, reduction)
        bind_reduction(selected, reduction)
        stats: dict[str, int] = {}
        watch = None if distributed else _watch_logits(reading)
        if distributed:
            if per_class or resampling:
                raise UsageError(
                    "--per-class and --bootstrap run on the local engine",
                    hint="drop --engine dask, or those options",
                )
            from losscli.engine import dask_backend as dask_engine

            sums, stats, grads = dask_engine.evaluate(
                reading, scheduler, reduction, gradients, note
            )
            return sums, stats, None, [None] * len(selected), grads
        splits = (
            [_split(sel, reduction) for sel in selected] if per_class else [None] * len(selected)
        )
        if per_class or resampling:
            from losscli.engine import breakdown

            sums, extras = breakdown.accumulate(reading, stats, splits, resampling is not None)
        else:
            sums, extras = accumulate(reading, stats), None
        _logits_warning(reading, watch, note, from_logits)
        return sums, stats, extras, splits, None

    if guess:
        reading, inference, (sums, stats, extras, splits, grads) = _checked(
            reading, inference, passes, note, held, path, options
        )
    else:
        sums, stats, extras, splits, grads = passes(reading)
    task = inference.task if inference is not None else None
    source, selected = reading.source, reading.selected
    _dropped_note(stats, note)
    if gradients and not distributed:
        grads = gradient_pass(reading, sums, reduction)
    results = []
    for i, (sel, acc) in enumerate(zip(selected, sums)):
        params_out = sel.objective.user_params()
        rows = [(None, acc.overall, acc.n)] + group_rows(sel, acc)
        for stratum, (key, part, n) in enumerate(rows):
            try:
                value = sel.objective.compute(part, reduction)
            except ZeroWeightError as exc:
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
    doc: dict[str, Any] = {
        "schema": "losscli.eval/1",
        "version": __version__,
        "input": _describe_input(source, stats, selected, task, from_logits),
        "convention": normalize_library(convention) if convention else None,
        "results": results,
    }
    if per_class:
        doc["per_class"] = [s.describe(sel.label) for sel, s in zip(selected, splits)]
    if resampling is not None:
        doc["bootstrap"] = resampling.describe()
    if thresholds:
        doc["checks"] = _checks(thresholds, selected, results)
        doc["passed"] = all(c["passed"] for c in doc["checks"])
    else:
        doc["passed"] = True
    return doc


_PROBABILITY_INPUTS = ("binary", "multiclass", "distribution", "overlap")


def _watch_logits(reading: Reading) -> Any:
    """A LogitsWatch over the prediction columns some selected loss reads as logits
    (``--from-logits``), added to the reading's observers; None when no loss does."""
    from losscli.binding.objective import BoundLoss

    groups: dict[tuple[tuple[str, ...], bool], list[str]] = {}
    for sel in reading.selected:
        terms = [sel.objective] if isinstance(sel.objective, BoundLoss) else None
        if terms is None:
            terms = [t for _, t in getattr(sel.objective, "terms", [])]
        # Probabilities are read as logits by the losses of probabilities only (poisson's
        # log-rates in [0, 1] are ordinary); K columns of a softmax sum to 1 per row.
        if sel.objective.inputs in _PROBABILITY_INPUTS and sel.plan.inputs:
            if any(t.params.get("from_logits") for t in terms):
                softmax = sel.objective.inputs != "binary"  # K binary columns: multilabel
                groups.setdefault((tuple(sel.plan.inputs[0]), softmax), []).append(sel.label)
    if not groups:
        return None
    from losscli.kernel.validate import LogitsWatch

    watch = LogitsWatch([(list(c), softmax, labels) for (c, softmax), labels in groups.items()])
    reading.observers.append(watch)
    return watch


def _logits_warning(reading: Reading, watch: Any, note: Note, flag: bool | None) -> None:
    """After the pass: warn when the columns read as logits look like probabilities.

    The CLI prints it as one ``warning:`` line, ``--quiet`` or not; the Python API
    (no ``note``) raises a UserWarning."""
    if watch is None:
        return
    reading.observers.remove(watch)
    message = watch.warning(reading.source.name, flag is True)
    if message is None:
        return
    if note is _quiet:
        import warnings

        warnings.warn(message, UserWarning, stacklevel=3)
    else:
        note(f"warning: {message}")


def _checked(
    reading: Reading,
    guess: Inference,
    passes: Callable[[Reading], Any],
    note: Note,
    held: Sequence[str],
    path: str,
    options: dict[str, Any],
) -> tuple[Reading, Inference, Any]:
    """Evaluate the task guessed from the first batch while gathering the target's
    evidence over the whole pass; where the whole file points to another task, that
    task is evaluated in a second pass. The note says what the whole file showed.

    Should the guessed losses refuse a later row, the task is inferred over the whole
    file (a pass over the target alone): another task is evaluated, the same one's
    error stands.
    """
    from losscli.app.tasks import evidence_for, infer_task

    source = reading.source
    target, pred = list(options["target"]), list(options["pred"])
    observed = evidence_for(source, reading.header, target, pred)
    reading.observers.append(observed)
    failure: InputError | None = None
    computed = None
    try:
        computed = passes(reading)
    except InputError as exc:
        failure = exc
    reading.observers.remove(observed)
    if failure is None and not observed.blind:
        whole = observed.decide()
    else:
        source.pending = None
        try:
            whole = infer_task(source, read_header(source), target, pred)
        except InputError:
            whole = guess
    if whole.losses == guess.losses:
        whole.evaluated = guess.evaluated
        note(whole.note())
        for line in held:
            note(line)
        if failure is not None:
            raise failure
        return reading, whole, computed
    whole.replaced = guess
    source.pending = None
    reading, _ = _prepare(path, None, note=note, inferred=whole, source=source, **options)
    return reading, whole, passes(reading)


def _matches(name: str, sel: Selected) -> bool:
    if name.replace(" ", "") == sel.label:
        return True
    from losscli.binding.objective import BoundLoss

    if not isinstance(sel.objective, BoundLoss):
        return False  # a composite is named by its spec
    try:
        return get_loss(name).name == sel.name
    except UsageError:
        return False


def better(sel: Selected) -> str | None:
    """Which way is better for a selected loss: "lower", "higher" or None (see ``Loss.better``).

    Composites combine losses only, so they are lower-is-better.
    """
    from losscli.binding.objective import BoundLoss

    return sel.objective.loss.better if isinstance(sel.objective, BoundLoss) else "lower"


# The threshold flag for each direction, and the direction each flag gates.
_FLAGS = {"fail_above": ("--fail-above", "lower"), "fail_below": ("--fail-below", "higher")}


def _gated(kind: str, name: str | None, limit: float, selected: Sequence[Selected]) -> list:
    """The selected losses a threshold applies to; a named one of the wrong direction is an error.

    An unnamed threshold applies to every selected loss of its direction.
    """
    flag, direction = _FLAGS[kind]
    if name is None:
        targets = [s for s in selected if better(s) == direction]
        if not targets:
            other = "--fail-below" if direction == "lower" else "--fail-above"
            raise UsageError(
                f"{flag} {limit:g}: no selected loss is {direction}-is-better",
                hint=f"{', '.join(s.label for s in selected)}: gate them with {other}",
            )
        return targets
    targets = [s for s in selected if _matches(name, s)]
    if not targets:
        raise UsageError(
            f"{flag} {name}={limit:g}: {name!r} is not one of the selected losses",
            hint=f"selected: {', '.join(s.label for s in selected)}",
        )
    for sel in targets:
        way = better(sel)
        if way is None:
            raise UsageError(
                f"{flag} {name}={limit:g}: {sel.label} describes the targets, not the model; "
                "neither higher nor lower is better, so it takes no threshold"
            )
        if way != direction:
            other = "--fail-below" if way == "higher" else "--fail-above"
            raise UsageError(
                f"{flag} {name}={limit:g}: {sel.label} is {way}-is-better",
                hint=f"gate it with {other} {name}={limit:g}",
            )
    return targets


def _checks(
    thresholds, selected: Sequence[Selected], results: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    checks = []
    overall = {r["loss"]: r for r in results if r["group"] is None and r.get("class") is None}
    for kind, name, limit in thresholds:
        for sel in _gated(kind, name, limit, selected):
            value = overall[sel.label]["value"]
            passed = value <= limit if kind == "fail_above" else value >= limit
            checks.append({"loss": sel.label, kind: limit, "value": value, "passed": bool(passed)})
    return checks


def _split(sel: Selected, reduction: str) -> Any:
    from losscli.engine.perclass import split_for

    plan = sel.plan
    return split_for(sel.label, sel.objective, plan.target, plan.inputs, plan.classes, reduction)


def _resampling(replicates: int, confidence: float, seed: int) -> Any:
    """The bootstrap settings, or None for no intervals; invalid ones are usage errors."""
    if replicates < 0:
        raise UsageError(f"--bootstrap {replicates}: give 0 (no intervals) or more replicates")
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"--confidence {confidence}: must be in (0, 1), e.g. 0.95")
    if seed < 0:
        raise UsageError(f"--seed {seed}: must be 0 or more")
    if not replicates:
        return None
    from losscli.engine.breakdown import Resampling

    return Resampling(replicates, confidence, seed)


def _dask(engine: str, scheduler: str | None, path: str, targets: str | None) -> bool:
    """True for ``--engine dask``, once it is known to be able to run; local otherwise."""
    if engine == "local":
        if scheduler is not None:
            raise UsageError("--scheduler needs --engine dask")
        return False
    if engine != "dask":
        raise UsageError(f"unknown engine {engine!r}: use local or dask")
    from losscli.engine import dask_backend as dask_engine

    dask_engine.require(path, scheduler=scheduler, targets=targets)
    return True


def _dropped_note(stats: Mapping[str, int], note: Note) -> None:
    if stats.get("dropped"):
        note(
            f"dropped {stats['dropped']} of {stats['rows']} rows with empty, NaN or infinite cells (--dropna)"
        )


def _row_ids(reading: Reading, frame: Any) -> Any:
    """The first output column: input row numbers, or the ``--key`` column's values."""
    return frame.texts[reading.key] if reading.key else frame.rows


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
) -> int:
    """Per-row losses Lᵢ (``--reduction none``): ``row`` (or the key), then one column per loss;
    with ``weight``, also the weight and each loss's wᵢLᵢ (``row_names``).

    ``fmt`` is ``csv`` or ``json`` (JSON Lines: one object per row); None takes it from
    ``output``'s extension (``.csv``, ``.jsonl``, ``.parquet``), CSV on stdout. With
    ``engine='dask'``, ``output`` is a directory that receives one Parquet file per
    partition. Returns the number of input rows.
    """
    path, loss = file_path(path, "write_rows"), loss_text(loss, "write_rows")
    target, pred = column_names(target, "target"), column_names(pred, "pred")
    weight, var, key = (
        column_name(weight, "weight"),
        column_name(var, "var"),
        column_name(key, "key"),
    )
    distributed = _dask(engine, scheduler, path, targets)
    target_dir = _output_dataset(output, fmt) if distributed else None
    kind = None if distributed else row_format(output, fmt, "--reduction none")
    if output is not None and not distributed:
        check_writable(output)
    reading, _ = _prepare(
        path,
        loss,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=None,
        params=params,
        from_logits=from_logits,
        dropna=dropna,
        input_format=input_format,
        targets=targets,
        key=key,
        note=note,
        replay=False,
        convention=convention,
    )
    check_usable(reading.selected, "none")
    if distributed:
        from losscli.engine import dask_backend as dask_engine

        stats = dask_engine.write_rows(reading, target_dir, scheduler, note)
        _dropped_note(stats, note)
        return stats.get("rows", 0)
    stats: dict[str, int] = {}
    watch = _watch_logits(reading)
    with RowSink(output, row_names(reading), kind) as sink:
        for frame, batches in row_frames(reading, stats):
            sink.write(row_columns(reading, frame, batches))
    _logits_warning(reading, watch, note, from_logits)
    _dropped_note(stats, note)
    return stats.get("rows", 0)


def row_format(output: str | None, fmt: str | None, what: str) -> str:
    """The format of per-row output: ``--format`` (csv or json) agreeing with ``-o``'s name.

    Per-row output is CSV, JSON Lines (``--format json``, ``.jsonl``) or Parquet (``-o
    FILE.parquet``); the table and Markdown formats are for summaries, so they are refused
    here rather than ignored.
    """
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


def _output_dataset(output: str | None, fmt: str | None = None) -> Any:
    from losscli.engine import dask_backend as dask_engine

    if fmt not in (None, "parquet"):
        raise UsageError(
            f"--format {fmt}: --engine dask writes per-row output as a Parquet dataset",
            hint="drop --format; -o DIR receives one part-NNNNN.parquet file per partition",
        )

    if output is None:
        raise UsageError(
            "--engine dask writes per-row output as a Parquet dataset: give -o DIR",
            hint="one part-NNNNN.parquet file is written per partition",
        )
    return dask_engine.DatasetOutput(output)


def row_names(reading: Reading) -> list[str]:
    """The columns of ``--reduction none`` output: ``row`` (or the key), one per loss; with
    ``--weight``, the ``weight`` after the row and ``weighted_<loss>`` (wᵢLᵢ) after each loss."""
    weighted = reading.selected[0].plan.weight is not None
    names = [reading.key or "row", *(["weight"] if weighted else [])]
    for sel in reading.selected:
        names += [sel.label, *([f"weighted_{sel.label}"] if weighted else [])]
    return names


def row_columns(reading: Reading, frame: Any, batches: Sequence[Any]) -> list[Any]:
    """One frame's ``--reduction none`` output columns: the row ids (and weights), then each
    loss's Lᵢ (and wᵢLᵢ)."""
    weights = batches[0].weights if reading.selected[0].plan.weight is not None else None
    columns = [_row_ids(reading, frame), *([weights] if weights is not None else [])]
    for sel, batch in zip(reading.selected, batches):
        losses = _guard(sel, reading.source, sel.objective.rows, batch)
        columns += [losses, *([weights * losses] if weights is not None else [])]
    return columns


def _guard(sel: Selected, source: Source, fn: Callable[..., Any], *args: Any) -> Any:
    """Call a kernel; a value error gets the file and column in front."""
    from losscli.engine.passes import located

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
) -> int:
    """Per-row ∂J/∂ŷ: ``row`` (or the key), ``grad_<prediction column>`` per column, and
    ``loss`` with ``with_loss``; ``fmt`` as for ``write_rows`` (csv, json or None).

    Two passes: the first merges the partial sums (n, Σw, ratio totals), the second
    differentiates each row against them, so the output matches ``losscli.gradient``.
    With ``engine='dask'``, ``output`` is a directory that receives one Parquet file
    per partition. Returns the number of input rows.
    """
    path, loss = file_path(path, "write_gradients"), loss_text(loss, "write_gradients")
    target, pred = column_names(target, "target"), column_names(pred, "pred")
    weight, var, key = (
        column_name(weight, "weight"),
        column_name(var, "var"),
        column_name(key, "key"),
    )
    if reduction not in ("mean", "sum", *ROW_STATISTICS):
        raise UsageError(f"grad reduces with mean, sum, median, max or p95, not {reduction!r}")
    distributed = _dask(engine, scheduler, path, targets)
    target_dir = _output_dataset(output, fmt) if distributed else None
    kind = None if distributed else row_format(output, fmt, "grad")
    if output is not None and not distributed:
        check_writable(output)
    if len(objectives_for(loss, params or {}, from_logits, convention)) != 1:
        raise UsageError(
            f"grad takes one loss, got {loss!r}",
            hint="run grad once per loss, or combine them: --loss '0.7*mse + 0.3*mae'",
        )
    reading, _ = _prepare(
        path,
        loss,
        target=target,
        pred=pred,
        var=var,
        weight=weight,
        group=None,
        params=params,
        from_logits=from_logits,
        dropna=dropna,
        input_format=input_format,
        targets=targets,
        key=key,
        note=note,
        replay=True,
        convention=convention,
    )
    check_usable(reading.selected, reduction)
    if with_loss:
        check_usable(reading.selected, "none")
    bind_reduction(reading.selected, reduction)
    if distributed:
        from losscli.engine import dask_backend as dask_engine

        stats = dask_engine.write_gradients(
            reading, target_dir, scheduler, reduction, with_loss, note
        )
        _dropped_note(stats, note)
        return stats.get("rows", 0)
    stats: dict[str, int] = {}
    watch = _watch_logits(reading)
    sums = accumulate(reading, stats)[0]
    _logits_warning(reading, watch, note, from_logits)
    with RowSink(output, gradient_names(reading, with_loss), kind) as sink:
        for frame, (batch,) in row_frames(reading.reopen(), {}):
            sink.write(gradient_columns(reading, frame, batch, sums, reduction, with_loss))
    _dropped_note(stats, note)
    return stats.get("rows", 0)


def gradient_names(reading: Reading, with_loss: bool) -> list[str]:
    """The columns of ``grad`` output: ``row`` (or the key), ``grad_<column>``…, ``loss``."""
    sel = reading.selected[0]
    names = [reading.key or "row", *(f"grad_{c}" for cols in sel.plan.inputs for c in cols)]
    return names + (["loss"] if with_loss else [])


def gradient_columns(
    reading: Reading, frame: Any, batch: Any, sums: Any, reduction: str, with_loss: bool
) -> list[Any]:
    """One frame's ``grad`` output columns, each row differentiated against the merged sums."""
    sel = reading.selected[0]
    grads = _guard(sel, reading.source, sel.objective.grad, batch, sums.overall, reduction)
    columns = [_row_ids(reading, frame)]
    for g in grads:
        columns += [g] if g.ndim == 1 else [g[:, j] for j in range(g.shape[1])]
    if with_loss:
        columns.append(sel.objective.rows(batch))
    return columns
