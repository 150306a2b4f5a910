"""Eval results as table rows, Markdown, CSV or JSON (the ``losscli.eval/1`` document)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from losscli.cli.output import cell_text, json_text, markdown_cell, markdown_table, plain_table


def _number(value: float) -> str:
    """Rounded for reading (table and Markdown only; JSON and CSV keep full precision)."""
    return f"{value:.6g}"


def _defaults(loss: str) -> dict[str, Any]:
    """Defaults of a single loss named by ``loss`` (``huber`` or ``huber(delta=0.5)``)."""
    from losscli.errors import UsageError
    from losscli.losses.registry import get_loss, is_name

    name = loss.split("(")[0]
    if not is_name(name):  # a composite (its params are shown in full), told without
        return {}  # loading every family as an unknown name would
    try:
        return {p.name: p.default for p in get_loss(name).params}
    except UsageError:  # a bundle's name
        return {}


def _same(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _params_text(params: Mapping[str, Any], loss: str) -> str:
    """Parameters that differ from their defaults and are not already in the label."""
    defaults = _defaults(loss)
    shown = [
        f"{k}={_param_value(v)}"
        for k, v in params.items()
        if v is not None
        and f"{k}=" not in loss
        and (k not in defaults or _same(defaults[k]) != _same(v))
    ]
    return ", ".join(shown) or "-"


def _param_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def json_document(doc: Mapping[str, Any]) -> str:
    """The JSON document with full-precision floats (``null`` params omitted)."""
    from losscli.app.evaluation import without_unset_params

    return json_text(without_unset_params(doc))


def _interval_heading(doc: Mapping[str, Any]) -> str:
    return f"{doc['bootstrap']['confidence'] * 100:g}% interval"


# Columns whose cells may wrap between words on a narrow terminal; numbers never wrap.
TEXT_COLUMNS = ("params", "group", "class")


def columns(doc: Mapping[str, Any]) -> list[str]:
    cols = ["loss", "params", "group", "n", "value"]
    if "per_class" in doc:
        cols.insert(3, "class")
    if "bootstrap" in doc:
        cols.append(_interval_heading(doc))
    if any("gradient" in r for r in doc["results"]):
        cols += ["grad mean", "grad max abs", "grad L2"]
    return cols


def _interval(r: Mapping[str, Any]) -> str:
    if r.get("ci_low") is None:
        return "-"
    return f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"


def rows(doc: Mapping[str, Any]) -> list[list[str]]:
    out = []
    has_grad = any("gradient" in r for r in doc["results"])
    for r in doc["results"]:
        row = [
            r["loss"],
            _params_text(r["params"], r["loss"]),
            "(all)" if r["group"] is None else str(r["group"]),
            str(r["n"]),
            _number(r["value"]),
        ]
        if "per_class" in doc:
            row.insert(3, "(all)" if r.get("class") is None else str(r["class"]))
        if "bootstrap" in doc:
            row.append(_interval(r))
        if "gradient" in r:
            g = r["gradient"]
            row += [_number(g["mean"]), _number(g["abs_max"]), _number(g["l2_norm"])]
        elif has_grad:  # a class row: gradients summarise the whole loss
            row += ["-", "-", "-"]
        out.append(row)
    return out


# ---- --top: the worst rows ---------------------------------------------------------


def _cell(value: Any) -> str:
    """A listed row's cell: a number rounded as the table's, else its text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return _number(value)
    return str(value)  # the tables escape control characters (output.cell_text)


def worst_tables(doc: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) of each loss's (and group's) worst rows, for the tables."""
    out = []
    for entry in doc.get("top_rows", []):
        names = list(dict.fromkeys(c for r in entry["rows"] for c in r["columns"]))
        shown = _input_names(names, ("rank", "row", entry["loss"]))
        title = f"worst rows: {entry['loss']}"
        if entry["group"] is not None:
            title += f", group {cell_text(str(entry['group']))}"  # a value read from input
        cells = [
            [str(r["rank"]), str(r["row"]), *(_cell(r["columns"].get(c)) for c in names)]
            + [_number(r["value"])]
            for r in entry["rows"]
        ]
        out.append((title, ["rank", "row", *shown, entry["loss"]], cells))
    return out


def _input_names(names: list[str], taken: tuple[str, ...]) -> list[str]:
    """The input columns' headings: ``input.NAME`` where NAME is a heading of the listing."""
    return [f"input.{n}" if n in taken else n for n in names]


def worst_csv(doc: Mapping[str, Any]) -> str:
    """``--format csv`` with ``--top``: the worst rows as one table (the columns of every
    loss; a cell a loss does not read is empty); full-precision numbers."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    entries = doc["top_rows"]
    names = list(dict.fromkeys(c for e in entries for r in e["rows"] for c in r["columns"]))
    fixed = ("loss", "group", "rank", "row", "value")
    writer.writerow([*fixed[:4], *_input_names(names, fixed), "value"])
    for e in entries:
        for r in e["rows"]:
            cells = [r["columns"].get(c) for c in names]
            writer.writerow(
                [e["loss"], "" if e["group"] is None else e["group"], r["rank"], r["row"]]
                + ["" if v is None else repr(v) if isinstance(v, float) else v for v in cells]
                + [repr(r["value"])]
            )
    return buf.getvalue()


def note_lines(doc: Mapping[str, Any]) -> list[str]:
    """How class rows recombine and how intervals were drawn (after the table)."""
    lines = [f"{p['loss']} by {p['by']}: {p['combine']}" for p in doc.get("per_class", [])]
    b = doc.get("bootstrap")
    if b:
        lines.append(
            f"{_interval_heading(doc)}: percentile bootstrap over rows, "
            f"{b['replicates']} replicates, seed {b['seed']}"
        )
    return lines


def _bound(check: Mapping[str, Any], ascii_sign: bool = True) -> str:
    """``<= 0.3`` for a --fail-above check, ``>= 0.3`` for a --fail-below one."""
    if "fail_below" in check:
        return f"{'>=' if ascii_sign else '≥'} {check['fail_below']:g}"
    return f"{'<=' if ascii_sign else '≤'} {check['fail_above']:g}"


def failed_summary(doc: Mapping[str, Any]) -> str:
    """``huber, mse above threshold; d2_tweedie below threshold`` for the failed checks."""
    failed = [c for c in doc.get("checks", []) if not c["passed"]]
    parts = []
    for key, word in (("fail_above", "above"), ("fail_below", "below")):
        names = list(dict.fromkeys(c["loss"] for c in failed if key in c))
        if names:
            parts.append(f"{', '.join(names)} {word} threshold")
    return "; ".join(parts)


def check_lines(doc: Mapping[str, Any]) -> list[str]:
    lines = []
    for c in doc.get("checks", []):
        verdict = "passed" if c["passed"] else "FAILED"
        lines.append(f"check {c['loss']} {_bound(c)}: {verdict} (value {_number(c['value'])})")
    return lines


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def markdown_title(doc: Mapping[str, Any]) -> list[str]:
    """The heading (which file, and whether its checks passed) and what was read, as
    ``compare`` and ``check`` head their Markdown."""
    source = doc["input"]
    path = "standard input" if source["path"] == "-" else f"`{source['path']}`"
    checks = doc.get("checks", [])
    verdict = ""
    if checks:
        verdict = ": ✅ checks passed" if doc["passed"] else ": ❌ check failed"
    read = [f"{source['rows']} rows read"]
    if source.get("rows_dropped"):
        read.append(f"{source['rows_dropped']} dropped")
    if source.get("target"):
        read.append(f"target {_names(source['target'])}")
    if source.get("predictions"):
        read.append(f"predictions {_names(source['predictions'])}")
    if source.get("weight"):
        read.append(f"weight `{source['weight']}`")
    if doc.get("convention"):
        read.append(f"--convention {doc['convention']}")
    return [f"### losscli eval {path}{verdict}", "", ", ".join(read) + ".", ""]


def markdown(doc: Mapping[str, Any]) -> str:
    lines = markdown_title(doc) + markdown_table(columns(doc), rows(doc))
    for title, cols, cells in worst_tables(doc):
        lines += ["", f"#### {markdown_cell(title)}", "", *markdown_table(cols, cells)]
    notes = note_lines(doc)
    if notes:
        lines += ["", *(f"- {markdown_cell(n)}" for n in notes)]
    checks = doc.get("checks", [])
    if checks:
        lines += ["", "| check | threshold | value | result |", "|---|---|---|---|"]
        for c in checks:
            result = "✅ passed" if c["passed"] else "❌ failed"
            lines.append(f"| {c['loss']} | {_bound(c, False)} | {_number(c['value'])} | {result} |")
    return "\n".join(lines) + "\n"


def plain(doc: Mapping[str, Any]) -> str:
    lines = plain_table(columns(doc), rows(doc))
    for title, cols, cells in worst_tables(doc):
        lines += ["", title, *plain_table(cols, cells)]
    lines += check_lines(doc) + note_lines(doc)
    return "\n".join(lines) + "\n"


def csv_text(doc: Mapping[str, Any]) -> str:
    """The result table (``app.result_table``): full-precision floats, None as empty."""
    from losscli.app.result_table import result_table

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header, rows = result_table(doc)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def render(doc: Mapping[str, Any], fmt: str) -> str:
    """Text for ``--format`` (``table`` is the plain form; the CLI draws Rich on a terminal)."""
    if fmt == "json":
        return json_document(doc)
    if fmt == "csv":
        return worst_csv(doc) if "top_rows" in doc else csv_text(doc)
    if fmt == "markdown":
        return markdown(doc)
    return plain(doc)


def table_cells(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    return columns(doc), rows(doc), check_lines(doc) + note_lines(doc)
