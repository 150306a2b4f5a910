"""``losscli report BASE CAND``: one self-contained HTML page comparing two models.

The numbers are those of ``losscli compare`` (``app.compare.compare``, the
``losscli.compare/1`` document, embedded whole): per loss and group the baseline and
candidate values, the paired difference d = candidate − baseline with its bootstrap
interval, and the verdict compare gives; then each loss's rows that got worse most
(``top``: the K largest ΔLᵢ = Lᵢ(candidate) − Lᵢ(baseline), ``engine.paired_rows``).
The page is made whatever the verdict: the gate is ``losscli compare`` (or ``check``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from losscli._version import __version__
from losscli.app import report_charts as charts
from losscli.app.compare import rule_text, summary, verdict
from losscli.app.evaluation import without_unset_params
from losscli.app.report_html import (
    Notes,
    document,
    escape,
    fmt,
    group_columns_text,
    meta_table,
    notes_list,
    options_text,
    table,
)
from losscli.engine.paired_rows import BASELINE
from losscli.errors import UsageError
from losscli.io.input_options import InputSpec

Note = Callable[[str], None]


def build(
    baseline: str,
    candidate: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    *,
    reduction: str = "mean",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    tolerance: float | None = None,
    rel_tolerance: float | None = None,
    require_significant: bool | None = None,
    top: int = 10,
    options: Mapping[str, Any] | None = None,
    note: Note | None = None,
) -> tuple[str, dict[str, Any]]:
    """The compare page of ``candidate`` against ``baseline``, and compare's document."""
    from losscli.app.compare import compare

    if "-" in (baseline, candidate):
        raise UsageError(
            "report BASE CAND reads each file twice (the comparison, then the rows that "
            "got worse): give files, not - (standard input)"
        )
    if inputs.engine != "local":
        raise UsageError("losscli report runs on the local engine", hint="drop --engine dask")
    if inputs.targets is not None:
        raise UsageError(
            "report BASE CAND scores each file against its own targets (as compare): drop --targets"
        )
    charts.require_matplotlib()
    keep = Notes(note)

    doc = compare(
        baseline,
        candidate,
        loss,
        inputs,
        params,
        reduction=reduction,
        bootstrap_replicates=bootstrap,
        confidence=confidence,
        seed=seed,
        tolerance=tolerance,
        rel_tolerance=rel_tolerance,
        require_significant=require_significant,
        note=keep,
        top=top,
    )
    return page(doc, keep.messages, options or {}), doc


def page(doc: dict[str, Any], notes: list[str], options: Mapping[str, Any]) -> str:
    """The HTML page of a ``losscli.compare/1`` document."""

    base, cand = doc["baseline"], doc["candidate"]
    rule = doc["rule"]
    meta = [
        ("baseline", f"{base['path']} ({_rows(base)})"),
        ("candidate", f"{cand['path']} ({_rows(cand)})"),
        ("rows paired", f"by the key column {doc['key']}" if doc["key"] else "by order"),
        ("group", group_columns_text(doc["group"])),
        ("reduction", doc["reduction"]),
        ("passes when", _rule_words(rule, doc["bootstrap"])),
        ("options", options_text(options)),
        ("losscli", __version__),
    ]
    passed = "passed" if doc["passed"] else "failed"
    sections = [
        f'<p class="verdict {passed}">{escape(summary(doc))}</p>',
        meta_table(meta),
        notes_list(notes),
        _results_section(doc),
        _differences_section(doc),
        _worse_section(doc),
    ]
    title = f"losscli report: {cand['path']} against {base['path']}"
    return document(title, sections, without_unset_params(doc), "the compare document")


def _rows(side: Mapping[str, Any]) -> str:
    dropped = f", {side['rows_dropped']} dropped" if side["rows_dropped"] else ""
    return f"{side['rows']} rows{dropped}"


def _rule_words(rule: Mapping[str, Any], resampling: Mapping[str, Any] | None) -> str:
    """compare's rule (``rule_text``), with what Δ and significant mean here."""
    text = f"{rule_text(rule)} (Δ: the worsening"
    if rule["require_significant"] and resampling:
        text += (
            f"; significant: its {resampling['confidence']:.0%} paired bootstrap interval "
            f"({resampling['replicates']} replicates, seed {resampling['seed']}) lies wholly "
            "on the worse side of 0"
        )
    return text + ")"


def _results_section(doc: dict[str, Any]) -> str:
    header = ["loss", "group", "n", "baseline", "candidate", "difference", "relative"]
    header += ["ci_low", "ci_high", "verdict", "why"]
    body = [
        [
            r["loss"],
            "(all)" if r["group"] is None else r["group"],
            r["n"],
            fmt(r["baseline"]),
            fmt(r["candidate"]),
            fmt(r["difference"]),
            "" if r["relative_difference"] is None else f"{r['relative_difference']:+.2%}",
            fmt(r["ci_low"]),
            fmt(r["ci_high"]),
            verdict(r),
            r["reason"],
        ]
        for r in doc["results"]
    ]
    return (
        '<section id="compare"><h2>Baseline and candidate</h2>'
        + table(header, body, numeric={2, 3, 4, 5, 6, 7, 8})
        + "</section>"
    )


def _differences_section(doc: dict[str, Any]) -> str:
    by_loss: dict[str, list[dict[str, Any]]] = {}
    for r in doc["results"]:
        by_loss.setdefault(r["loss"], []).append(r)
    figs = [
        f"<figure>{charts.differences(loss, rows, [verdict(r) for r in rows])}</figure>"
        for loss, rows in by_loss.items()
    ]
    return (
        '<section id="differences"><h2>Paired differences</h2><p class="note">'
        "d = candidate − baseline, whole file then each group; whiskers: the paired "
        "bootstrap interval; red: a regression, green: better.</p>"
        f'<div class="charts">{"".join(figs)}</div></section>'
    )


def _worse_section(doc: dict[str, Any]) -> str:
    blocks = doc.get("worse_rows")
    if not blocks:
        return ""
    cells = (
        f"cells of the candidate's file, <code>{BASELINE}COL</code> the baseline's prediction"
        + (
            "; rows paired by the key, each with its row number in both files"
            if doc["key"] is not None
            else ""
        )
    )
    out = [
        '<section id="worse"><h2>Rows that got worse most</h2><p class="note">'
        f"Each loss's rows with the largest ΔLᵢ = Lᵢ(candidate) − Lᵢ(baseline); {cells}.</p>"
    ]
    for block in blocks:
        if not block["rows"]:
            out.append(f"<h3>{escape(block['loss'])}</h3><p>No row's loss rose.</p>")
            continue
        cols = list(block["rows"][0]["columns"])
        keyed = doc["key"] is not None
        header = ["rank", "row", *(["baseline row"] if keyed else []), *cols]
        header += ["baseline Lᵢ", "candidate Lᵢ", "ΔLᵢ"]
        rows = [
            [
                r["rank"],
                r["row"],
                *([r["baseline_row"]] if keyed else []),
                *(fmt(r["columns"].get(c)) for c in cols),
                fmt(r["baseline"]),
                fmt(r["candidate"]),
                fmt(r["change"]),
            ]
            for r in block["rows"]
        ]
        last = len(header)
        out.append(f"<h3>{escape(block['loss'])}</h3>")
        out.append(
            table(header, rows, numeric={0, 1, 2 if keyed else 1, last - 3, last - 2, last - 1})
        )
    out.append("</section>")
    return "".join(out)
