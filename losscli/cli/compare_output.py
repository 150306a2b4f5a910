"""``losscli compare`` results as a table, Markdown, CSV or JSON (``losscli.compare/1``).

Every rendering is a pure function of the document, with stable ordering and no
timestamps, so the same inputs give byte-identical output and CI artifacts diff
cleanly. JSON and CSV keep full precision; the table and Markdown round.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from losscli.app.compare import summary, verdict
from losscli.app.evaluation import without_unset_params
from losscli.app.result_table import params_json
from losscli.cli import output
from losscli.cli.eval_output import _params_text
from losscli.cli.output import markdown_table, plain_table

COLUMNS = [
    "loss",
    "params",
    "group",
    "n",
    "baseline",
    "candidate",
    "diff",
    "rel diff",
    "interval",
    "verdict",
]

# Columns whose cells may wrap between words on a narrow terminal; numbers and the
# verdict never wrap.
TEXT_COLUMNS = ("params", "group")


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _rel(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2%}"


def _interval(result: Mapping[str, Any]) -> str:
    if result["ci_low"] is None:
        return "-"
    return f"[{result['ci_low']:+.4g}, {result['ci_high']:+.4g}]"


def rows(doc: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            r["loss"],
            _params_text(r["params"], r["loss"]),
            "(all)" if r["group"] is None else str(r["group"]),
            str(r["n"]),
            _g(r["baseline"]),
            _g(r["candidate"]),
            f"{r['difference']:+.6g}",
            _rel(r["relative_difference"]),
            _interval(r),
            verdict(r),
        ]
        for r in doc["results"]
    ]


def columns(doc: Mapping[str, Any]) -> list[str]:
    cols = list(COLUMNS)
    if doc["bootstrap"]:
        cols[cols.index("interval")] = f"{doc['bootstrap']['confidence']:.0%} interval"
    return cols


def plain(doc: Mapping[str, Any]) -> str:
    return "\n".join([*plain_table(columns(doc), rows(doc)), "", summary(doc)]) + "\n"


def markdown(doc: Mapping[str, Any]) -> str:
    title = "❌ regression" if not doc["passed"] else "✅ no regression"
    lines = [
        f"### losscli compare: {title}",
        "",
        f"Baseline `{doc['baseline']['path']}`, candidate `{doc['candidate']['path']}`"
        + (
            f"; {doc['bootstrap']['replicates']} bootstrap replicates, seed "
            f"{doc['bootstrap']['seed']}"
            if doc["bootstrap"]
            else ""
        )
        + ".",
        "",
        *markdown_table(columns(doc), rows(doc)),
        "",
        summary(doc),
    ]
    return "\n".join(lines) + "\n"


def csv_text(doc: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = [
        "loss",
        "params",
        "group",
        "n",
        "baseline",
        "candidate",
        "difference",
        "relative_difference",
        "ci_low",
        "ci_high",
        "regression",
        "significant",
        "reason",
    ]
    writer.writerow(header)
    for r in doc["results"]:
        params = params_json(r["params"])
        writer.writerow(
            [
                r["loss"],
                params,
                "" if r["group"] is None else r["group"],
                r["n"],
                repr(r["baseline"]),
                repr(r["candidate"]),
                repr(r["difference"]),
                "" if r["relative_difference"] is None else repr(r["relative_difference"]),
                "" if r["ci_low"] is None else repr(r["ci_low"]),
                "" if r["ci_high"] is None else repr(r["ci_high"]),
                "true" if r["regression"] else "false",
                "" if r["significant"] is None else str(r["significant"]).lower(),
                r["reason"],
            ]
        )
    return buf.getvalue()


def json_text(doc: Mapping[str, Any]) -> str:
    return output.json_text(without_unset_params(doc))


def render(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json_text(doc)
    if fmt == "csv":
        return csv_text(doc)
    if fmt == "markdown":
        return markdown(doc)
    return plain(doc)
