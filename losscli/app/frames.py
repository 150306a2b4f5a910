"""DataFrames in, DataFrames out: the file use cases over a table in memory.

``evaluate_frame``, ``rows_frame`` and ``gradient_frame`` take a pandas DataFrame, a
pyarrow Table or RecordBatch, or any table with the Arrow stream interface (polars,
duckdb), open it as a source (``losscli.io.frames``) and run ``evaluate``, ``rows_of``
and ``gradients_of`` on it, as ``eval``, ``eval --reduction none`` and ``grad`` run on
a file: the same rules, errors (the "file" is ``<DataFrame>``, ``<Table>``…) and
numbers. Each returns a pandas DataFrame with the columns the command's CSV has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from losscli.app.arrays import loss_text
from losscli.app.evaluation import api_inputs, evaluate, gradients_of, rows_of, with_keywords
from losscli.engine.logits import quiet
from losscli.errors import UsageError
from losscli.io.frames import frame_source
from losscli.io.input_options import InputSpec
from losscli.io.sources import Source

Note = Callable[[str], None]


def _open(frame: Any, function: str, inputs: InputSpec) -> Source:
    """The frame as a source; the columns the call names may be levels of a pandas index."""
    named = {c for item in (*inputs.target, *inputs.pred, *inputs.keep) for c in item.split(",")}
    named |= {c for c in (inputs.var, inputs.weight) if c}
    named |= set(inputs.group.split(",")) if inputs.group else set()  # --group a,b
    return frame_source(frame, function, named)


def evaluate_frame(
    frame: Any,
    loss: Any = None,
    *,
    target: Sequence[str] | str = (),
    pred: Sequence[str] | str = (),
    var: str | None = None,
    weight: str | None = None,
    group: str | None = None,
    per_class: bool = False,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    convention: str | None = None,
    from_logits: bool | None = None,
    reduction: str = "mean",
    gradients: bool = False,
    dropna: bool = False,
    pos_label: str | None = None,
    params: Mapping[str, Any] | None = None,
    note: Note = quiet,
    **loss_params: Any,
) -> Any:
    """Evaluate ``loss`` (None infers the task) on a table in memory; returns the result
    table of ``eval --format csv`` as a pandas DataFrame: one row per loss and group
    (the whole table first, ``group`` None), with ``class`` rows for ``per_class``,
    ``ci_low``/``ci_high`` for ``bootstrap`` replicates and the gradient summaries for
    ``gradients``. ``value`` is J = Σ wᵢ·Lᵢ / Σ wᵢ for ``reduction="mean"``; the other
    reductions as ``--reduction``; per-row losses (``"none"``) are ``rows_frame``'s.

    Example: ``losscli.evaluate_frame(df, "mse,huber", target="y", pred="yhat", group="region")``.
    """
    if reduction == "none":
        raise UsageError(
            "evaluate_frame reduces the rows to one value per loss; per-row losses are "
            "rows_frame's",
            hint="losscli.rows_frame(df, loss, target=..., pred=...)",
        )
    loss = loss_text(loss, "evaluate_frame")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    source = _open(frame, "evaluate_frame", inputs)
    doc = evaluate(
        source.name,
        loss,
        inputs,
        params,
        reduction=reduction,
        gradients=gradients,
        per_class=per_class,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        note=note,
        source=source,
    )
    return doc.to_pandas()


def rows_frame(
    frame: Any,
    loss: Any = None,
    *,
    target: Sequence[str] | str = (),
    pred: Sequence[str] | str = (),
    var: str | None = None,
    weight: str | None = None,
    convention: str | None = None,
    from_logits: bool | None = None,
    dropna: bool = False,
    pos_label: str | None = None,
    keep: Sequence[str] | str = (),
    params: Mapping[str, Any] | None = None,
    note: Note = quiet,
    **loss_params: Any,
) -> Any:
    """Per-row losses Lᵢ on a table in memory, as ``eval --reduction none`` writes them:
    ``row`` (the input row number), the ``keep`` columns, then one column per loss; with
    ``weight``, also ``weight`` and each loss's ``weighted_<loss>`` (wᵢ·Lᵢ). A pandas
    DataFrame, one row per input row (fewer with ``dropna``)."""
    from losscli.io.sink import TableSink

    loss = loss_text(loss, "rows_frame")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    source = _open(frame, "rows_frame", inputs)
    sink = TableSink()
    rows_of(source.name, loss, inputs, params, sink, note=note, source=source)
    return sink.table.to_pandas()


def gradient_frame(
    frame: Any,
    loss: Any,
    *,
    target: Sequence[str] | str = (),
    pred: Sequence[str] | str = (),
    var: str | None = None,
    weight: str | None = None,
    reduction: str = "mean",
    convention: str | None = None,
    from_logits: bool | None = None,
    with_loss: bool = False,
    dropna: bool = False,
    pos_label: str | None = None,
    keep: Sequence[str] | str = (),
    params: Mapping[str, Any] | None = None,
    note: Note = quiet,
    **loss_params: Any,
) -> Any:
    """Per-row gradients ∂J/∂ŷᵢ of one loss on a table in memory, as ``grad`` writes them:
    ``row``, the ``keep`` columns, ``grad_<prediction column>`` per prediction column
    (∂J/∂zᵢ with ``from_logits``), and ``loss`` (Lᵢ) with ``with_loss``. J is reduced by
    ``reduction`` (mean: J = Σ wᵢ·Lᵢ / Σ wᵢ), so the values equal ``losscli.gradient``'s."""
    from losscli.io.sink import TableSink

    loss = loss_text(loss, "gradient_frame")
    inputs = api_inputs(locals())
    params = with_keywords(params, loss_params)
    source = _open(frame, "gradient_frame", inputs)
    sink = TableSink()
    gradients_of(
        source.name,
        loss,
        inputs,
        params,
        sink,
        reduction=reduction,
        with_loss=with_loss,
        note=note,
        source=source,
    )
    return sink.table.to_pandas()
