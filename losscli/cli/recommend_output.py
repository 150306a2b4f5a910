"""``losscli recommend`` as text and Markdown (JSON is the record itself).

The text layout reads top-down: the task, the evidence found in the file, the
ranked losses (each with why, the evidence behind it, activation, parameters,
the command to try it and, with ``--evaluate``, its value), then the pitfalls.
"""

from __future__ import annotations

import textwrap
from typing import Any

from losscli.cli.output import markdown_cell, text_width

WIDTH = 88


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=text_width(WIDTH),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _value(rec: dict[str, Any]) -> str | None:
    if rec.get("error"):
        return f"not evaluated: {rec['error']}"
    if rec.get("value") is None:
        return None
    return f"{rec['value']:.6g}"


def _heading(doc: dict[str, Any]) -> str:
    source = f", inferred from {doc['input']['path']}" if doc.get("input") else ""
    return f"Task: {doc['task']} — {doc['title']}{source}"


def text_lines(doc: dict[str, Any]) -> list[str]:
    """The report as plain text lines (a fixed width, or a narrower terminal's)."""
    lines = [_heading(doc), f"  target:     {doc['target']}"]
    lines.append(f"  activation: {doc['activation']}")
    if doc["findings"]:
        lines += ["", "Evidence"]
        for finding in doc["findings"]:
            lines += _wrap(f"- {finding}", "  ")
    lines += ["", "Recommended losses"]
    for rec in doc["recommendations"]:
        lines.append(f"  {rec['rank']}. {rec['spec']}")
        lines += _wrap(f"why: {rec['why']}", "     ")
        for item in rec["evidence"]:
            lines += _wrap(f"because: {item}", "     ")
        if rec["activation"]:
            lines += _wrap(f"activation: {rec['activation']}", "     ")
        if rec["params"]:
            lines += _wrap(f"parameters: {rec['params']}", "     ")
        lines.append(f"     try: {rec['command']}")
        value = _value(rec)
        if value is not None:
            lines.append(f"     value: {value}")
    if doc["pitfalls"]:
        lines += ["", "Pitfalls"]
        for pitfall in doc["pitfalls"]:
            lines += _wrap(f"- {pitfall}", "  ")
    return lines


def markdown_lines(doc: dict[str, Any]) -> list[str]:
    """The report as GitHub-flavoured Markdown."""
    lines = [f"## {_heading(doc)}", ""]
    lines += [f"- **target:** {doc['target']}", f"- **activation:** {doc['activation']}"]
    if doc["findings"]:
        lines += ["", "### Evidence", ""]
        lines += [f"- {finding}" for finding in doc["findings"]]
    lines += ["", "### Recommended losses", ""]
    evaluated = any(_value(rec) is not None for rec in doc["recommendations"])
    header = ["rank", "loss", "why", "because", "try"] + (["value"] if evaluated else [])
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rec in doc["recommendations"]:
        cells = [
            str(rec["rank"]),
            f"`{rec['spec']}`",
            rec["why"],
            "; ".join(rec["evidence"]),
            f"`{rec['command']}`",
        ]
        if evaluated:
            cells.append(_value(rec) or "")
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    if doc["pitfalls"]:
        lines += ["", "### Pitfalls", ""]
        lines += [f"- {pitfall}" for pitfall in doc["pitfalls"]]
    return lines
