"""``losscli report``: one self-contained HTML page about a predictions file.

The numbers come from the same evaluation as ``eval`` (``app.evaluation.evaluate`` with
``top=K``, ``bootstrap`` and ``row_stats``): the eval document, plus one extra per loss
in the same pass (``engine.report_stats.RowStats``: histogram of Lᵢ and of the per-row
gradient's squared norm, their concentration in the top 1% / 10% of rows, and the
residual density or the calibration). The recommendations are those of
``losscli recommend FILE`` (``app.recommend.for_file``).

The page needs no network: styles inline, charts as inline SVG (``app.report_charts``,
matplotlib, the ``report`` extra), no script but one ``application/json`` block with the
eval document (``id="losscli-data"``) for machines, no fonts beyond the reader's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from losscli._version import __version__
from losscli.app import report_charts as charts
from losscli.app.evaluation import WHERE_DEFINED, said_once, without_unset_params
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
from losscli.errors import InputError, LossCliError
from losscli.io.input_options import InputSpec
from losscli.kernel.validate import SOFT_TARGETS_HINT

Note = Callable[[str], None]
Advice = dict[str, Any] | str  # recommend's record, or why the page has none


def build(
    path: str,
    loss: str | None,
    inputs: InputSpec,
    params: Mapping[str, Any] | None = None,
    *,
    reduction: str = "mean",
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    top: int = 10,
    options: Mapping[str, Any] | None = None,
    note: Note | None = None,
) -> str:
    """The report page of ``path`` as one HTML string (written by the caller, whole)."""
    from losscli.app.evaluation import evaluate

    charts.require_matplotlib()
    keep = Notes(None if note is None else said_once(note))  # once, should the pass rerun

    advising = _Advising(path, inputs)

    def evaluated(per_class: str | bool) -> dict[str, Any]:
        return evaluate(
            path,
            loss,
            inputs,
            params,
            reduction=reduction,
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
            top=top,
            note=keep,
            row_stats=True,
            per_class=per_class,
            observers=advising.observers,
            top_where_ranked=True,  # rmse alone: no worst rows, and a note
        )

    with advising:
        try:
            doc = evaluated(WHERE_DEFINED)
        except InputError as exc:
            if exc.hint != SOFT_TARGETS_HINT or path == "-":
                raise  # stdin is read once: the error stands
            keep.messages.clear()  # the second pass gives them again
            doc = evaluated(False)
            keep("no per-class rows: soft targets (in (0, 1)) have no class")
        advice = advising.start(doc)  # its numpy work runs while the charts are drawn
        stats = doc.pop("row_stats")
        return page(doc, stats, advice, keep.messages, options or {})


class _Advising:
    """``recommend FILE``'s record for the page, or why there is none (stdin is read once).

    Its evidence is gathered from the evaluation pass's frames (``evidence.FrameTally``,
    an observer of the pass): the same numbers as recommend's own read of the file, with
    no second read. Where the frames are not that (targets in a second file, losses on
    other columns, rows dropped by ``--dropna``), recommend reads the file itself: from the
    start, alongside the pass, when that is known before it (the readers release the GIL),
    else after it, while the page's charts are drawn.
    """

    def __init__(self, path: str, inputs: InputSpec) -> None:
        self.path, self.inputs = path, inputs
        self.observers: list[Any] = []
        self.source = self.header = self.tally = None
        self.pool = self.later = None
        if path == "-":
            return
        if inputs.targets is None:
            try:
                from losscli.app.evidence import FrameTally
                from losscli.io.batches import read_header
                from losscli.io.sources import detect_format, drop_pending

                self.source = detect_format(path, inputs.input_format, inputs.dialect)
                self.header = read_header(self.source)
                drop_pending(self.source)
                self.tally = FrameTally(
                    self.source, self.header, list(inputs.target), list(inputs.pred)
                )
                self.observers.append(self.tally)
                return
            except LossCliError:  # a similarity layout, or no columns to infer a task from
                self.tally = None
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(1, thread_name_prefix="losscli-recommend")
        self.later = self.pool.submit(self._read)

    def __enter__(self) -> _Advising:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:  # on a failure, the record is not waited for
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def start(self, doc: dict[str, Any]) -> Callable[[], Advice]:
        """The record, once the pass that gave ``doc`` is done: made on a thread of its own
        (its medians and sums release the GIL while the page's charts are drawn), and
        returned by the function this returns (a failure is raised there)."""
        if self.path == "-":
            return lambda: "not available for standard input (recommend reads the file again)"
        if self.later is None:
            from concurrent.futures import ThreadPoolExecutor

            rows, dropped = doc["input"]["rows"], doc["input"]["rows_dropped"]
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="losscli-recommend")
            self.later = self.pool.submit(self._from_tally, rows, dropped)
        return self.later.result

    def _from_tally(self, rows: int, dropped: int) -> Advice:
        """The record from the pass's evidence (none when rows were dropped: recommend
        reads the file then)."""
        try:
            ev = None if dropped else self.tally.evidence(self.source, self.header, rows)
        except LossCliError:
            ev = None
        return self._read(ev)

    def _read(self, evidence: Any = None) -> Advice:
        from losscli.app.recommend import for_file

        try:
            return for_file(self.path, self.inputs, evidence=evidence)
        except LossCliError as exc:
            return f"recommend could not read this file: {exc}"


def _better(label: str) -> bool:
    """The loss is higher-is-better (D², …)."""
    from losscli.losses.registry import get_loss

    try:
        return get_loss(label.split("(")[0]).better == "higher"
    except Exception:
        return False


def page(
    doc: dict[str, Any],
    stats: list[dict[str, Any]],
    advice: Advice | Callable[[], Advice],
    notes: list[str],
    options: Mapping[str, Any],
) -> str:
    """The HTML page of an eval document and its report sums."""
    inp = doc["input"]
    rows = f"{inp['rows']}" + (f" ({inp['rows_dropped']} dropped)" if inp["rows_dropped"] else "")
    meta = [
        ("file", inp["path"]),
        ("rows", rows),
        ("target", ", ".join(inp["target"] or [])),
        ("predictions", ", ".join(inp["predictions"])),
        ("weight", inp["weight"] or "none"),
        ("group", group_columns_text(inp["group"])),
        ("task", inp["task"] or "given by --loss"),
        ("options", options_text(options)),
        ("losscli", __version__),
    ]
    sections = [
        meta_table(meta),
        notes_list(notes),
        _losses_section(doc),
        _groups_section(doc),
        _classes_section(doc),
        _distribution_section(stats),
        _task_section(stats, doc),
        _worst_section(doc),
        _advice_section(advice() if callable(advice) else advice),  # last: see build
    ]
    data = without_unset_params(doc)
    return document(f"losscli report: {inp['path']}", sections, data, "the eval document")


def _losses_section(doc: dict[str, Any]) -> str:
    rows = [r for r in doc["results"] if r.get("class") is None]
    interval = any("ci_low" in r for r in rows)
    header = ["loss", "group", "n", "value"] + (["ci_low", "ci_high"] if interval else [])
    body = []
    for r in rows:
        line = [
            r["loss"],
            r["group"] if r["group"] is not None else "(all)",
            r["n"],
            fmt(r["value"]),
        ]
        if interval:
            line += [fmt(r.get("ci_low")), fmt(r.get("ci_high"))]
        body.append(line)
    out = "<h2>Losses</h2>" + table(header, body, numeric={2, 3, 4, 5})
    if "bootstrap" in doc:
        b = doc["bootstrap"]
        said = (
            f"Intervals: {b['confidence'] * 100:g}% percentile bootstrap, {b['replicates']:,} "
            f"replicates (seed {b['seed']})"
        )
        out += f'<p class="note">{escape(said)}</p>'
    return '<section id="losses">' + out + "</section>"


def _classes_section(doc: dict[str, Any]) -> str:
    """Each loss's class rows (``eval --per-class``), for the losses that split by class."""
    rows = [r for r in doc["results"] if r.get("class") is not None]
    if not rows:
        return ""
    interval = any("ci_low" in r for r in rows)
    header = ["loss", "group", "class", "n", "value"] + (["ci_low", "ci_high"] if interval else [])
    body = []
    for r in rows:
        group = r["group"] if r["group"] is not None else "(all)"
        line = [r["loss"], group, r["class"], r["n"], fmt(r["value"])]
        if interval:
            line += [fmt(r.get("ci_low")), fmt(r.get("ci_high"))]
        body.append(line)
    rules = "".join(
        f"<li>{escape(s['loss'])} by {escape(s['by'])}: {escape(s['combine'])}</li>"
        for s in doc.get("per_class", [])
    )
    return (
        '<section id="classes"><h2>Per class</h2>'
        + table(header, body, numeric={3, 4, 5, 6})
        + f'<ul class="note">{rules}</ul></section>'
    )


def _groups_section(doc: dict[str, Any]) -> str:
    by_loss: dict[str, list[dict[str, Any]]] = {}
    for r in doc["results"]:
        if r["group"] is not None and r.get("class") is None:
            by_loss.setdefault(r["loss"], []).append(r)
    if not by_loss:
        return ""
    figs = [
        f"<figure>{charts.group_bars(loss, rows, _better(loss))}</figure>"
        for loss, rows in by_loss.items()
    ]
    return (
        '<section id="groups"><h2>By group</h2><p class="note">Worst group first; whiskers: '
        "the bootstrap interval (with --bootstrap N).</p>"
        f'<div class="charts">{"".join(figs)}</div></section>'
    )


def _distribution_section(stats: list[dict[str, Any]]) -> str:
    out = ['<section id="distribution"><h2>Per-row losses</h2>']
    out.append(
        '<p class="note">Shares of the total Σ Lᵢ and of Σ ‖∂Lᵢ/∂ŷᵢ‖² (what dominates '
        "training) held by the top 1% and 10% of rows, from the histogram's log bins (4 per "
        "decade): resolved to a bin, not exact.</p>"
    )
    rows, figs = [], []
    for s in stats:
        if not s["ranked"]:
            rows.append([s["loss"], "no per-row loss", "", "", ""])
            continue
        share = s["losses"]["top_share"]
        g = s["gradients"]["top_share"] if s["gradients"] else {}
        rows.append(
            [
                s["loss"],
                _pct(share.get("1%")),
                _pct(share.get("10%")),
                _pct(g.get("1%")) if g else "n/a (needs the merged sums)",
                _pct(g.get("10%")) if g else "",
            ]
        )
        figs.append(f"<figure>{charts.histogram(s['loss'], s['losses'], s['gradients'])}</figure>")
    header = ["loss", "loss: top 1%", "loss: top 10%", "‖grad‖²: top 1%", "‖grad‖²: top 10%"]
    out.append(table(header, rows, numeric={1, 2, 3, 4}))
    out.append(f'<div class="charts">{"".join(figs)}</div></section>')
    return "".join(out)


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}%"


def _robust_marks(doc: dict[str, Any], res: dict[str, Any]) -> list[tuple[str, float]]:
    """Where the robust losses' shapes change among the residuals: ±δ (huber, pseudo-huber,
    smooth_l1's β) and the τ-quantile of the residuals (quantile/pinball: the value its
    minimiser shifts ŷ by), read off the residual margin of the grid (bin-resolved)."""
    marks: list[tuple[str, float]] = []
    seen = set()
    for r in doc["results"]:
        if r["group"] is not None or r["loss"] in seen:
            continue
        seen.add(r["loss"])
        params = r.get("params") or {}
        for key in ("delta", "beta"):
            d = params.get(key)
            if isinstance(d, (int, float)) and d > 0:
                marks += [(f"{r['loss']}: ±{key} = ±{d:g}", -d), ("", d)]
        tau = params.get("tau", params.get("quantile"))
        if isinstance(tau, (int, float)) and 0 < tau < 1:
            counts = [sum(col) for col in zip(*res["counts"])]
            total, run_ = sum(counts), 0
            lo, hi = res["resid_range"]
            for k, c in enumerate(counts):
                run_ += c
                if total and run_ >= tau * total:
                    x = lo + (k + 0.5) * (hi - lo) / len(counts)
                    marks.append((f"{r['loss']}: τ = {tau:g} quantile of y − ŷ ≈ {x:.3g}", x))
                    break
    return marks


def _task_section(stats: list[dict[str, Any]], doc: dict[str, Any]) -> str:
    first = stats[0] if stats else None
    if first is None:
        return ""
    res = first["residuals"]
    if res is not None:
        shapes = charts.residual_shapes(res, _robust_marks(doc, res))
        return (
            '<section id="residuals"><h2>Residuals</h2><div class="charts">'
            f"<figure>{charts.residual_density(res)}</figure>"
            f"<figure>{shapes}</figure></div></section>"
        )
    cal = first["calibration"]
    if cal is None:
        return ""
    if cal["kind"] == "margin":
        return (
            '<section id="calibration"><h2>Decisions</h2>'
            '<p class="note">Raw scores with ±1 targets: the confusion matrix at s > 0. A '
            "margin score is not a probability, so there is no reliability diagram.</p>"
            f'<div class="charts"><figure>{charts.confusion(cal, first["classes"])}</figure>'
            "</div></section>"
        )
    classes = first["classes"] or (["0", "1"] if cal["kind"] == "binary" else None)
    ece = (
        '<p class="note">ECE = Σₖ (Wₖ/W)·|ȳₖ − p̄ₖ| over 15 equal-width bins: '
        f"{escape(fmt(cal['ece']))}</p>"
    )
    return (
        f'<section id="calibration"><h2>Calibration</h2>{ece}{_soft_note(cal["soft_targets"])}'
        f'<div class="charts"><figure>{charts.reliability(cal)}</figure>'
        f"<figure>{charts.confusion(cal, classes)}</figure></div></section>"
    )


def _soft_note(soft: int) -> str:
    if not soft:
        return ""
    rows = f"{soft:,} row" + ("s have" if soft != 1 else " has")
    return (
        f'<p class="note">{rows} a soft target in (0, 1): in the reliability bins (their '
        "mean target), not in the confusion matrix, which counts the 0 and 1 labels.</p>"
    )


def _worst_section(doc: dict[str, Any]) -> str:
    tops = doc.get("top_rows") or []
    if not tops:
        return ""
    out = ['<section id="worst"><h2>Worst rows</h2>']
    for block in tops:
        if not block["rows"]:
            continue
        name = block["loss"] + (f", group {block['group']}" if block["group"] is not None else "")
        cols = list(block["rows"][0]["columns"])
        header = ["rank", "row", *cols, block["loss"]]
        rows = [
            [r["rank"], r["row"], *(fmt(r["columns"].get(c)) for c in cols), fmt(r["value"])]
            for r in block["rows"]
        ]
        out.append(f"<h3>{escape(name)}</h3>")
        out.append(table(header, rows, numeric={0, 1, len(header) - 1}))
    out.append("</section>")
    return "".join(out)


def _advice_section(advice: Advice) -> str:
    out = ['<section id="recommend"><h2>Recommendations (<code>losscli recommend</code>)</h2>']
    if isinstance(advice, str):
        out.append(f'<p class="note">{escape(advice)}</p></section>')
        return "".join(out)
    if advice.get("findings"):
        out.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in advice["findings"]) + "</ul>")
    rows = [
        [r["rank"], r["spec"], r["why"], "; ".join(r.get("evidence", [])), r["command"]]
        for r in advice.get("recommendations", [])
    ]
    out.append(table(["rank", "loss", "why", "because", "try"], rows, numeric={0}))
    if advice.get("pitfalls"):
        out.append("<h3>Pitfalls</h3><ul>")
        out += [f"<li>{escape(p)}</li>" for p in advice["pitfalls"]]
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)
