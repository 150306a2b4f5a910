"""Opening a predictions file for a pass: the losses picked (or the task inferred),
their columns resolved, the targets file joined; and the inferred task checked
against the whole file as the first pass reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from losscli.binding.libraries import normalize_library, sklearn_positive
from losscli.binding.objective import conventions_of, objectives_for
from losscli.engine.passes import LABEL_INPUTS, Reading, Selected, plan_losses, text_columns_for
from losscli.errors import InputError, UsageError
from losscli.io.batches import read_header
from losscli.io.input_options import InputSpec
from losscli.io.sources import Header, Source, buffer_stdin, detect_format
from losscli.kernel.distinct import distinct
from losscli.losses.registry import all_losses

if TYPE_CHECKING:
    from losscli.app.tasks import Inference

Note = Callable[[str], None]


def prepare(
    path: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None,
    *,
    note: Note,
    replay: bool,
    guess: bool = False,
    inferred: Inference | None = None,
    source: Source | None = None,
    pair_by_key: bool = False,
) -> tuple[Reading, Inference | None]:
    """Open the input(s), pick the losses (or infer the task) and resolve their columns.

    Without ``loss`` the task is inferred over the whole file and noted, or with
    ``guess`` from the first batch, unnoted: the caller checks the guess against the
    whole file (``checked_inference``). ``inferred`` is a task already inferred from
    ``source``. ``pair_by_key``: ``inputs.key`` pairs the rows of two files (compare),
    read as text, instead of joining a targets file.
    """
    target, pred, var = inputs.target, inputs.pred, inputs.var
    key, targets = inputs.key, inputs.targets
    from_logits, convention = inputs.from_logits, inputs.convention
    if key and not targets and not pair_by_key:
        raise UsageError("--key joins a --targets file; give --targets FILE2 too")
    if source is None:
        source = detect_format(path, inputs.input_format, inputs.dialect)
        if replay or loss is None:
            buffer_stdin(source)
    header = read_header(source)
    keep = _check_keep(inputs.keep, header, source.name)
    target_source = target_header = None
    if targets is not None:
        target_source = detect_format(targets, None, inputs.dialect)
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

            inference = infer_task(
                source,
                header,
                list(target),
                list(pred),
                whole=not guess,
                pos_label=inputs.pos_label,
            )
            source.pending = None  # the inference read from the start; start again
            header = read_header(source)
        loss = inference.losses
        if convention:
            loss = _defined_by(convention, loss, note, inference.task)
        inference.evaluated = loss
        if not guess:
            note(inference.note())
    objectives = objectives_for(loss, params or {}, from_logits, convention)
    if var is not None and not any(obj.inputs == "gaussian" for _, obj in objectives):
        if "var" in inputs.defaulted:  # a project default for the losses that read one
            var = None
        else:
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
        weight=inputs.weight,
        group=inputs.group,
        pos_label=inputs.pos_label,
    )
    if "pos_label" in inputs.defaulted:  # a project default, for the binary labels only
        for sel in selected:
            if (
                not sel.plan.target
                or sel.plan.classes
                or getattr(sel.objective, "inputs", None) not in LABEL_INPUTS
            ):
                sel.pos_label = None
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
    _positive_labels(source, header, selected, table)
    text = text_columns_for(merged, selected)
    if pair_by_key:
        if key not in header.columns:
            raise InputError(
                f"{source.name}: no --key column {key!r}",
                hint=f"columns: {', '.join(header.columns)}",
            )
        text = {*text, key}
    reading = Reading(source, header, selected, text, inputs.dropna, table, key, keep=keep)
    return reading, inference


def _check_keep(keep: Sequence[str], header: Header, name: str) -> tuple[str, ...]:
    """The ``--keep`` columns, each in the predictions file and named once; ``a,b`` names
    two columns (as --target and --pred take them) unless a column is called that."""
    from losscli.io.columns import close_columns

    names: list[str] = []
    for item in keep:
        parts = [item] if item in header.columns else [p.strip() for p in item.split(",")]
        for column in parts:
            if column in names:
                raise UsageError(f"--keep {column} is given twice")
            if column not in header.columns:
                close = close_columns(column, header.columns)
                raise InputError(
                    f"{name}: no --keep column {column!r}",
                    hint=f"did you mean {' or '.join(close)}?"
                    if close
                    else f"columns: {', '.join(header.columns)}",
                )
            names.append(column)
    return tuple(names)


def _positive_labels(source: Source, header: Header, selected: Sequence[Any], table: Any) -> None:
    """Without --pos-label, a convention record with ``pos_label="greater"`` (scikit-learn's
    brier_score_loss) takes the library's positive class of a numeric target that is not 0/1.
    That needs the whole column's labels before any loss sees a row: the first batch decides
    when it holds both 0 and 1 (nothing to map); otherwise a pass over the target column
    alone reads them all (stdin is kept for the evaluation pass)."""
    wanted = [
        s
        for s in selected
        if s.pos_label is None
        and len(s.plan.target) == 1
        and not s.plan.classes
        and s.plan.target[0] not in header.text_columns
        and any(r.pos_label == "greater" for r in conventions_of([(s.label, s.objective)]))
    ]
    for column in dict.fromkeys(s.plan.target[0] for s in wanted):
        if table is not None and column in table.numbers:
            labels = _distinct(table.numbers[column])
        elif column in header.text_columns or (table is not None and column in table.texts):
            continue
        else:
            labels = _column_labels(source, header, column)
        positive = None if labels is None else sklearn_positive(labels)
        for sel in wanted:
            if positive is not None and sel.plan.target[0] == column:
                sel.pos_label = repr(positive)


def _distinct(values: Any, limit: int = 2) -> set[float] | None:
    """The distinct finite values, or None beyond ``limit``."""
    from losscli._lazy import np

    labels = set(distinct(values[np.isfinite(values)]).tolist())
    return labels if len(labels) <= limit else None


def _column_labels(source: Source, header: Header, column: str) -> set[float] | None:
    """The labels of a numeric target column (None beyond two, or when the first batch
    shows both 0 and 1), the input rewound for the evaluation pass."""
    import sys

    from losscli.io.batches import float_column, read_batches

    if source.streamed:
        # keep stdin for the evaluation pass: the header's first bytes and the rest
        head, stream = source.pending or (b"", sys.stdin.buffer)
        source.pending = None
        source.data = bytes(head) + stream.read()
    labels: set[float] = set()
    try:
        for i, batch in enumerate(read_batches(source, header, [column], set())):
            seen = _distinct(float_column(batch.column(column))[0])
            if seen is None or len(labels | seen) > 2:
                return None  # not binary: the loss's own check refuses the target
            labels |= seen
            if i == 0 and labels == {0.0, 1.0}:
                return None  # 0/1 already: nothing to map, no second look
    finally:
        source.pending = None  # the evaluation pass starts from the first row again
    return labels


def _defined_by(convention: str, losses: str, note: Note, task: str) -> str:
    """The inferred task's default losses that the convention's library defines; the
    others are left out with a note (a loss asked for with --loss is an error instead),
    and none defined is an error that says the losses were inferred."""
    from losscli.binding.conventions import lookup
    from losscli.binding.libraries import TITLES

    kept, lacking = [], []
    for name in losses.split(","):
        try:
            lookup(name, convention)
            kept.append(name)
        except UsageError:
            lacking.append(name)
    library = normalize_library(convention)
    if not kept:
        raise UsageError(
            f"--convention {library}: {TITLES[library]} defines none of the losses inferred "
            f"for this {task} task ({', '.join(lacking)})",
            hint=f"choose losses with --loss, or drop --convention for losscli's own; "
            f"'losscli explain {lacking[0]}' compares the libraries",
        )
    if lacking:
        note(f"--convention {library}: {TITLES[library]} defines no {', '.join(lacking)}: left out")
    return ",".join(kept)


def checked_inference(
    reading: Reading,
    guess: Inference,
    passes: Callable[[Reading], Any],
    note: Note,
    held: Sequence[str],
    path: str,
    inputs: InputSpec,
    params: Mapping[str, Any] | None,
    replay: bool,
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
    target, pred = list(inputs.target), list(inputs.pred)
    observed = evidence_for(source, reading.header, target, pred, inputs.pos_label)
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
            whole = infer_task(
                source, read_header(source), target, pred, pos_label=inputs.pos_label
            )
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
    reading, _ = prepare(
        path, None, inputs, params, note=note, replay=replay, inferred=whole, source=source
    )
    return reading, whole, passes(reading)


def dropped_note(stats: Mapping[str, int], note: Note) -> None:
    if stats.get("dropped"):
        note(
            f"dropped {stats['dropped']} of {stats['rows']} rows with empty, NaN or infinite cells (--dropna)"
        )


def kept_rows_note(selected: Sequence[Selected], rows: int, note: Note) -> None:
    """For each metric that keeps every row's scores to rank them (roc_auc), the memory it
    took here and would take for 5M rows (its kernel's ``kept_bytes`` per row)."""
    for sel in selected:
        kernel = getattr(getattr(sel.objective, "loss", None), "kernel", None)
        per_row = getattr(kernel, "kept_bytes", None)
        if per_row is None:
            continue
        from rich.filesize import decimal  # here: most evaluations keep no rows

        size = per_row(sum(len(cols) for cols in sel.plan.inputs), sel.plan.weight is not None)
        note(
            f"{sel.name} keeps every row's score to rank them exactly: {rows} rows × {size} "
            f"bytes = {decimal(rows * size)} (5M rows: {decimal(5_000_000 * size)})"
        )
