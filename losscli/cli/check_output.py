"""What ``losscli check`` prints: the summary table (plain, Markdown) or the JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losscli.cli.output import json_text, markdown_table, plain_table


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def summary_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for check in doc["checks"]:
        for r in check["results"]:
            rows.append(
                [
                    check["name"],
                    r["loss"],
                    "(all)" if r["group"] is None else str(r["group"]),
                    _g(r["value"]),
                    _g(r.get("baseline")),
                    r["rule"] or "-",
                    _result(r),
                ]
            )
    return rows


def _result(row: Mapping[str, Any]) -> str:
    """passed, FAILED, "passed (within noise)" for a worsening that is not significant, or
    "not gated" for a loss no threshold names (reported beside the gated ones)."""
    if not row["passed"]:
        return "FAILED"
    if row["rule"] is None:
        return "not gated"
    return "passed (within noise)" if ", within noise" in (row.get("reason") or "") else "passed"


SUMMARY_COLUMNS = ["check", "loss", "group", "value", "baseline", "rule", "result"]
# Columns whose cells may wrap between words on a narrow terminal; values and results never do.
SUMMARY_TEXT_COLUMNS = ("check", "group", "rule")


def summary_line(doc: Mapping[str, Any]) -> str:
    failed = [c["name"] for c in doc["checks"] if not c["passed"]]
    total = len(doc["checks"])
    if not failed:
        return f"{total} of {total} checks passed"
    return f"{len(failed)} of {total} checks failed: {', '.join(failed)}"


def render(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json_text(doc)
    rows = summary_rows(doc)
    if fmt == "markdown":
        icon = "✅" if doc["passed"] else "❌"
        marks = {"FAILED": "❌ failed", "not gated": "➖ not gated"}
        rows = [[*r[:-1], marks.get(r[-1], f"✅ {r[-1]}")] for r in rows]
        lines = [
            f"### {icon} losscli check: {summary_line(doc)}",
            "",
            *markdown_table(SUMMARY_COLUMNS, rows),
        ]
        return "\n".join(lines) + "\n"
    return "\n".join([*plain_table(SUMMARY_COLUMNS, rows), "", summary_line(doc)]) + "\n"
