"""What ``losscli losses`` and ``losscli explain`` show about registered losses.

Turns ``Loss`` declarations into table rows, JSON-ready records and text lines;
``losscli.cli.output`` writes them. Works for any registered loss, including plug-ins
without parameters or explain text.
"""

from __future__ import annotations

import textwrap
from typing import Any

from losscli.app.guidelines import activations_of, guides_mentioning, pitfalls_of
from losscli.cli.output import markdown_table, text_width
from losscli.losses.params import Param
from losscli.losses.registry import BUNDLES, INPUT_KINDS, Loss

LOSS_COLUMNS = ("name", "aliases", "tasks", "inputs", "params", "summary")
# Metrics (skill scores, calibration) are listed after the losses, with their direction.
METRIC_COLUMNS = ("name", "better", "aliases", "tasks", "inputs", "params", "summary")
# Columns whose cells may wrap between words on a narrow terminal (names and numbers never do).
TEXT_COLUMNS = ("aliases", "tasks", "params", "summary")
METRICS_TITLE = (
    "Metrics: classification, skill scores, calibration and similarity (reported, not minimised)"
)
METRICS_NOTE = (
    "--fail-above gates the lower-is-better ones, --fail-below the higher-is-better ones; "
    + "; ".join(f"{name} selects {', '.join(members)}" for name, members in BUNDLES.items())
)

# (heading, Explain field), in the order ``explain`` prints them.
EXPLAIN_SECTIONS = (
    ("Formula", "formula"),
    ("Gradient", "gradient"),
    ("Properties", "properties"),
    ("Use when", "use_when"),
    ("Pitfalls", "pitfalls"),
    ("Activation", "activation"),
    ("How libraries differ", "differences"),
)

# Plain text wraps at a fixed width so the output is the same on every terminal and in files
# (a terminal narrower than that gets lines as wide as it is).
TEXT_WIDTH = 88
EMPTY = "-"


def format_value(value: Any) -> str:
    """A parameter value as a user types it: ``1.0``, ``1e-07``, ``0.5,2.0``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(format_value(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def json_value(value: Any) -> Any:
    """A parameter value as JSON data (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def param_default(param: Param) -> str:
    """The default as shown in tables and text; a required parameter has none."""
    if param.required and param.default is None:
        return "required"
    return format_value(param.default)


def param_record(param: Param) -> dict[str, Any]:
    """One parameter for JSON output."""
    return {"name": param.name, "default": json_value(param.default), "valid": param.valid}


def loss_record(loss: Loss) -> dict[str, Any]:
    """One loss for ``losses --format json``."""
    return {
        "name": loss.name,
        "aliases": list(loss.aliases),
        "tasks": list(loss.tasks),
        "inputs": loss.inputs,
        "params": [param_record(p) for p in loss.params],
        "logits": loss.logits,
        "summary": loss.summary,
        "kind": loss.kind,
        "better": loss.better,
    }


def better_text(loss: Loss) -> str:
    """``higher``, ``lower``, or ``neither`` for a value that does not rank models."""
    return loss.better or "neither"


def loss_row(loss: Loss) -> tuple[str, ...]:
    """One loss as a table row, in the order of ``LOSS_COLUMNS`` (``METRIC_COLUMNS`` for a
    metric, which adds which way is better)."""
    params = ", ".join(f"{p.name}={param_default(p)}" for p in loss.params)
    row = (
        loss.name,
        ", ".join(loss.aliases) or EMPTY,
        ", ".join(loss.tasks),
        loss.inputs,
        params or EMPTY,
        loss.summary,
    )
    return row if loss.kind == "loss" else (row[0], better_text(loss), *row[1:])


def loss_sections(losses: list[Loss]) -> list[tuple[str | None, tuple[str, ...], list]]:
    """(title, columns, rows) per table of ``losses``: the losses, then the metrics."""
    plain = [loss_row(x) for x in losses if x.kind == "loss"]
    metrics = [loss_row(x) for x in losses if x.kind != "loss"]
    out: list[tuple[str | None, tuple[str, ...], list]] = [(None, LOSS_COLUMNS, plain)]
    if metrics:
        out.append((METRICS_TITLE, METRIC_COLUMNS, metrics))
    return out


def guideline_record(loss: Loss) -> dict[str, Any]:
    """The guideline-table rows that mention the loss: tasks, activation, pitfalls."""
    return {
        "tasks": [
            {"task": g.task, "rank": rank, "why": pick.why, "guideline": pick.seed or None}
            for g, rank, pick in guides_mentioning(loss.name)
        ],
        "activation": [
            {"activation": a.activation, "why": a.why} for a in activations_of(loss.name)
        ],
        "pitfalls": [p.text for p in pitfalls_of(loss.name)],
    }


def _guideline_lines(loss: Loss) -> list[str]:
    record = guideline_record(loss)
    lines: list[str] = []
    if record["tasks"]:
        lines += ["", "Recommended for (guideline table)"]
        for row in record["tasks"]:
            lines += _wrapped(f"{row['task']} (#{row['rank']}): {row['why']}", hang="  ")
    if record["activation"]:
        lines += ["", "Activation (guideline table)"]
        lines += [f"  {a['activation']}: {a['why']}" for a in record["activation"]]
    if record["pitfalls"]:
        lines += ["", "Pitfalls (guideline table)"]
        for text in record["pitfalls"]:
            lines += _wrapped(f"- {text}", hang="  ")
    return lines


CONVENTION_HEADING = "How each library defines it (--convention LIB)"
CONVENTION_COLUMNS = (
    "library",
    "function",
    "differs from losscli's default",
    "source",
    "defined at",
)
SAME = "nothing: the same definition as losscli's default"


def convention_records(loss: Loss) -> list[dict[str, Any]]:
    """One entry per library of ``--convention``: its function and how it differs,
    with the source and ``url``, the permalink to the line of the library's code that
    defines the function (``definitions``: each function the record names, at the pinned
    version); ``defined`` is False for a library that has no such loss."""
    from losscli.binding.conventions import LIBRARIES, TITLES, alias_records, for_loss

    by_library = {r.library: r for r in for_loss(loss.name)}
    out = [
        _record_entry(library, TITLES[library], by_library.get(library)) for library in LIBRARIES
    ]
    # names that select another function of a library (l2 under optax: optax.losses.l2_loss)
    out += [
        _record_entry(r.library, TITLES[r.library], r, alias)
        for alias, r in alias_records(loss.name)
    ]
    return out


def _record_entry(library: str, title: str, r: Any, alias: str | None = None) -> dict[str, Any]:
    """One library's entry of ``explain``: None for a library that has no such loss."""
    return {
        "library": library,
        "title": title,
        "defined": r is not None,
        "as": alias,
        "function": r.function if r else None,
        "differs": (r.differs or SAME) if r else None,
        "params": {k: json_value(v) for k, v in r.params.items()} if r else {},
        "source": r.source if r else None,
        "url": (r.url or None) if r else None,
        "definitions": [
            {"name": d.name, "path": d.path, "line": d.line, "version": d.pin.label, "url": d.url}
            for d in (r.defined if r else ())
        ],
    }


def _convention_lines(loss: Loss) -> list[str]:
    lines = ["", CONVENTION_HEADING]
    for entry in convention_records(loss):
        name = f"{entry['library']}:"
        if entry["as"]:
            name = f"{entry['library']} (--loss {entry['as']}):"
        if not entry["defined"]:
            lines.append(f"  {name} not defined (--convention {entry['library']} is an error)")
            continue
        lines += _wrapped(f"{name} {entry['function']}", hang="    ")
        lines += _wrapped(f"differs: {entry['differs']}", indent="    ", hang="  ")
        if entry["params"]:
            sets = ", ".join(f"{k}={format_value(v)}" for k, v in entry["params"].items())
            lines += _wrapped(f"sets: {sets}", indent="    ", hang="  ")
        lines += _wrapped(f"source: {entry['source']}", indent="    ", hang="  ")
        for d in entry["definitions"]:
            # The link on a line of its own, never wrapped, so a terminal can open it whole.
            lines += _wrapped(f"defined: {d['name']}, {d['version']}", indent="    ", hang="  ")
            lines.append(f"      {d['url']}")
    return lines


def _convention_markdown(loss: Loss) -> list[str]:
    rows = [
        (
            f"{e['library']}" + (f" (--loss {e['as']})" if e["as"] else ""),
            f"`{e['function']}`" if e["defined"] else "not defined",
            e["differs"] or "-",
            e["source"] or "-",
            ", ".join(f"[{d['name']}]({d['url']})" for d in e["definitions"]) or "-",
        )
        for e in convention_records(loss)
    ]
    return ["", f"## {CONVENTION_HEADING}", "", *markdown_table(CONVENTION_COLUMNS, rows)]


def explain_record(loss: Loss) -> dict[str, Any]:
    """Everything ``explain`` shows, for ``explain --format json``.

    The explain fields are always present (null when the loss has no explanation),
    so scripts can rely on the keys.
    """
    record = {
        "name": loss.name,
        "aliases": list(loss.aliases),
        "summary": loss.summary,
        "tasks": list(loss.tasks),
        "inputs": loss.inputs,
        "input_description": INPUT_KINDS.get(loss.inputs, loss.inputs),
        "params": [{**param_record(p), "help": p.help} for p in loss.params],
        "logits": loss.logits,
        "source": loss.source,
        "kind": loss.kind,
        "better": loss.better,
    }
    for _, field in EXPLAIN_SECTIONS:
        record[field] = getattr(loss.explain, field) if loss.explain else None
    record["conventions"] = convention_records(loss)
    record["guidelines"] = guideline_record(loss)
    return record


def _wrapped(text: str, indent: str = "  ", hang: str = "") -> list[str]:
    # Formulas must not be split inside a term such as "1 − y", so only break on spaces.
    return textwrap.wrap(
        text,
        width=text_width(TEXT_WIDTH),
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _param_lines(params: tuple[Param, ...]) -> list[str]:
    if not params:
        return ["  none"]
    cells = [(f"{p.name} = {param_default(p)}", f"must be {p.valid}", p.help) for p in params]
    first = max(len(c[0]) for c in cells)
    second = max(len(c[1]) for c in cells)
    lines = [f"  {a:<{first}}  {b:<{second}}  {c}".rstrip() for a, b, c in cells]
    if max(len(line) for line in lines) <= text_width(TEXT_WIDTH):
        return lines
    # Too wide for a narrow terminal: each parameter, then its rule and meaning below it.
    out = []
    for a, b, c in cells:
        out += [f"  {a}", *_wrapped(f"{b}; {c}" if c else b, indent="      ")]
    return out


def _kind_text(loss: Loss) -> str:
    if loss.better is None:
        return "metric; describes the targets, neither higher nor lower is better"
    flag = "--fail-below" if loss.better == "higher" else "--fail-above"
    return f"metric, {loss.better} is better (gate it with {flag})"


def explain_lines(loss: Loss) -> list[str]:
    """``explain`` as plain text: identity, inputs, parameters, then one section per topic."""
    lines = [f"{loss.name} — {loss.summary}" if loss.summary else loss.name, ""]
    facts = [
        ("aliases", ", ".join(loss.aliases) or "none"),
        ("tasks", ", ".join(loss.tasks)),
        ("inputs", INPUT_KINDS.get(loss.inputs, loss.inputs)),
        ("logits", "accepted with --from-logits" if loss.logits else "no"),
    ]
    if loss.kind != "loss":
        facts.append(("kind", _kind_text(loss)))
    if loss.source != "losscli":
        facts.append(("from", loss.source))
    width = max(len(key) for key, _ in facts)
    lines += [f"  {key:<{width}}  {value}" for key, value in facts]
    lines += ["", "Parameters", *_param_lines(loss.params)]
    if loss.explain is None:
        lines += ["", "No explanation is registered for this loss."]
        return lines + _convention_lines(loss) + _guideline_lines(loss)
    for heading, field in EXPLAIN_SECTIONS:
        text = getattr(loss.explain, field)
        if text:
            lines += ["", heading, *_wrapped(text)]
    return lines + _convention_lines(loss) + _guideline_lines(loss)


def explain_markdown(loss: Loss) -> list[str]:
    """``explain`` as Markdown, for READMEs and PR comments."""
    lines = [f"# {loss.name}", ""]
    if loss.summary:
        lines += [loss.summary, ""]
    lines += [
        f"- **aliases:** {', '.join(loss.aliases) or 'none'}",
        f"- **tasks:** {', '.join(loss.tasks)}",
        f"- **inputs:** {INPUT_KINDS.get(loss.inputs, loss.inputs)}",
        f"- **logits:** {'accepted with `--from-logits`' if loss.logits else 'no'}",
        *([f"- **kind:** {_kind_text(loss)}"] if loss.kind != "loss" else []),
        "",
        "## Parameters",
        "",
    ]
    if loss.params:
        rows = [(p.name, param_default(p), p.valid, p.help) for p in loss.params]
        lines += markdown_table(("name", "default", "valid", "meaning"), rows)
    else:
        lines.append("none")
    if loss.explain is None:
        return [
            *lines,
            "",
            "No explanation is registered for this loss.",
            *_convention_markdown(loss),
        ]
    for heading, field in EXPLAIN_SECTIONS:
        text = getattr(loss.explain, field)
        if text:
            # Formulas read best as code: "|e|" and "*" would otherwise be Markdown syntax.
            body = f"`{text}`" if field in ("formula", "gradient") else text
            lines += ["", f"## {heading}", "", body]
    lines += _convention_markdown(loss)
    record = guideline_record(loss)
    if record["tasks"]:
        lines += ["", "## Recommended for (guideline table)", ""]
        lines += [f"- {r['task']} (#{r['rank']}): {r['why']}" for r in record["tasks"]]
    if record["activation"]:
        lines += ["", "## Activation (guideline table)", ""]
        lines += [f"- {a['activation']}: {a['why']}" for a in record["activation"]]
    if record["pitfalls"]:
        lines += ["", "## Pitfalls (guideline table)", ""]
        lines += [f"- {text}" for text in record["pitfalls"]]
    return lines
