"""The warning for probabilities read as logits: a watch over the columns that some
selected loss reads as logits (``--from-logits``, or a convention's default), fed by the
pass like any observer of the batches, and one ``warning:`` line after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from losscli.engine.passes import Reading

Note = Callable[[str], None]


def quiet(_: str) -> None:
    """The note of the Python API: notes are dropped, warnings raised as UserWarning."""


@contextmanager
def watching_logits(reading: Reading, note: Note, flag: bool | None) -> Iterator[None]:
    """Watch the pass run inside the ``with``; after it, warn when every prediction read
    as logits or as margin scores lies in [0, 1] (and K columns sum to 1): they look like
    probabilities."""
    watch = _watch(reading)
    try:
        yield
    except BaseException:
        if watch is not None:
            reading.observers.remove(watch)
        raise
    _warn(reading, watch, note, flag)


_PROBABILITY_INPUTS = ("binary", "multiclass", "distribution", "overlap")


def _watch(reading: Reading) -> Any:
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
                read = "softmax" if sel.objective.inputs != "binary" else "sigmoid"
                groups.setdefault((tuple(sel.plan.inputs[0]), read), []).append(sel.label)
        # The margin losses read raw scores t·s (hinge wants t·s ≥ 1): probabilities in
        # [0, 1] never give class −1 a margin.
        if sel.objective.inputs == "margin" and sel.plan.inputs:
            groups.setdefault((tuple(sel.plan.inputs[0]), "margin"), []).append(sel.label)
    if not groups:
        return None
    from losscli.kernel.validate import LogitsWatch

    watch = LogitsWatch([(list(c), read, labels) for (c, read), labels in groups.items()])
    reading.observers.append(watch)
    return watch


def _warn(reading: Reading, watch: Any, note: Note, flag: bool | None) -> None:
    """After the pass: warn when the columns read as logits look like probabilities.

    The CLI prints it as one ``warning:`` line, ``--quiet`` or not; the Python API
    (no ``note``) raises a UserWarning."""
    if watch is None:
        return
    reading.observers.remove(watch)
    message = watch.warning(reading.source.name, flag is True)
    if message is None:
        return
    if note is quiet:
        import warnings

        warnings.warn(message, UserWarning, stacklevel=3)
    else:
        note(f"warning: {message}")
