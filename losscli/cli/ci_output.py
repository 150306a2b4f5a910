"""What CI systems read: JUnit XML (``--format junit``) and GitHub Actions annotations.

Every gate of a run (an ``eval`` threshold, a ``compare`` result, a ``check`` row) is one
``Gate``: one ``<testcase>`` of the JUnit report and, when it failed under GitHub Actions,
one ``::error`` workflow command. Both read the same ``Gate``, so the report and the
annotation say the same thing.

The report is one ``<testsuite>`` per command run inside ``<testsuites>``, in the shape of
the Ant JUnit schema (the ``JUnit.xsd`` that Jenkins, GitLab, Azure DevOps and the GitHub
test-report actions read): ``properties``, then the test cases, then ``system-out`` and
``system-err``; the suite carries name, timestamp (UTC, no zone), hostname, tests, failures,
errors, skipped and time (seconds); each test case name, classname and time; a failed one
a ``<failure message="…" type="…">`` with the value, the limit and the interval.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from losscli import __version__
from losscli.app import thresholds
from losscli.app.compare import rule_text

#: ``type`` of a ``<failure>``: a value past its limit, or a candidate worse than its baseline
THRESHOLD, REGRESSION = "threshold", "regression"


@dataclass(frozen=True)
class Gate:
    """One gate's outcome: ``classname`` is the file (or check) it is about, ``name`` the
    loss, the group and the rule; ``message`` says why it failed (or why it was skipped),
    ``numbers`` are its values at full precision (the text of a ``<failure>``)."""

    classname: str
    name: str
    passed: bool
    message: str = ""
    kind: str = THRESHOLD
    skipped: bool = False
    numbers: tuple[tuple[str, float | None], ...] = ()

    def failure_text(self) -> str:
        """``value: 2.5595800184275355`` lines (``repr``, so they read back exactly)."""
        return "".join(f"{k}: {'-' if v is None else repr(v)}\n" for k, v in self.numbers)


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _label(loss: str, group: Any) -> str:
    return loss if group is None else f"{loss} [{group}]"


def _interval(row: Mapping[str, Any], confidence: float | None = None) -> str:
    """``; 95% interval [0.3427, 0.4711]``, or nothing when the row has no interval."""
    if row.get("ci_low") is None:
        return ""
    heading = "interval" if confidence is None else f"{confidence:.0%} interval"
    return f"; {heading} [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"


def eval_gates(doc: Mapping[str, Any]) -> list[Gate]:
    """The ``--fail-above``/``--fail-below`` checks of a ``losscli.eval/1`` document; each
    gates a loss's value over all rows (the interval is that value's, with ``--bootstrap``)."""
    overall = {
        r["loss"]: r for r in doc["results"] if r["group"] is None and r.get("class") is None
    }
    confidence = (doc.get("bootstrap") or {}).get("confidence")
    gates = []
    for check in doc.get("checks", []):
        kind = "fail_above" if "fail_above" in check else "fail_below"
        rule = thresholds.rule(kind, check[kind])
        message = (
            f"{check['loss']} = {_g(check['value'])}; limit {rule}"
            f"{_interval(overall.get(check['loss'], {}), confidence)}"
        )
        row = overall.get(check["loss"], {})
        numbers = (("value", check["value"]), ("limit", check[kind]))
        if row.get("ci_low") is not None:
            numbers += (("ci_low", row["ci_low"]), ("ci_high", row["ci_high"]))
        gates.append(
            Gate(
                doc["input"]["path"],
                f"{check['loss']} {rule}",
                check["passed"],
                message,
                numbers=numbers,
            )
        )
    return gates


def _change(loss: str, group: Any, baseline: float, candidate: float, reason: str) -> str:
    """``mse: 2.55958 -> 2.81253, +9.88%, worse and significant (95% interval […] …)``."""
    return f"{_label(loss, group)}: {_g(baseline)} -> {_g(candidate)}, {reason}"


def _change_numbers(row: Mapping[str, Any], candidate: str) -> tuple[tuple[str, Any], ...]:
    return (
        ("baseline", row["baseline"]),
        ("candidate", row[candidate]),
        ("difference", row["difference"]),
        ("ci_low", row["ci_low"]),
        ("ci_high", row["ci_high"]),
    )


def compare_gates(doc: Mapping[str, Any]) -> list[Gate]:
    """Each loss and group of a ``losscli.compare/1`` document, under its rule."""
    rule = rule_text(doc["rule"])
    return [
        Gate(
            doc["candidate"]["path"],
            f"{_label(r['loss'], r['group'])} {rule}",
            not r["regression"],
            _change(r["loss"], r["group"], r["baseline"], r["candidate"], r["reason"])
            + f"; rule {rule}",
            REGRESSION,
            numbers=_change_numbers(r, "candidate"),
        )
        for r in doc["results"]
    ]


def _check_row(check: Mapping[str, Any], row: Mapping[str, Any]) -> Gate:
    label = _label(row["loss"], row["group"])
    if row["rule"] is None:  # a loss of the check that no threshold names
        return Gate(check["name"], label, True, thresholds.NOT_GATED, skipped=True)
    name = f"{label} {row['rule']}"
    if check["kind"] == "compare":
        message = _change(row["loss"], row["group"], row["baseline"], row["value"], row["reason"])
        return Gate(
            check["name"],
            name,
            row["passed"],
            f"{message}; rule {row['rule']}",
            REGRESSION,
            numbers=_change_numbers(row, "value"),
        )
    return Gate(
        check["name"],
        name,
        row["passed"],
        f"{label} = {_g(row['value'])}; limit {row['rule']}",
        numbers=(("value", row["value"]), ("limit", row["limit"])),
    )


def check_gates(doc: Mapping[str, Any]) -> list[Gate]:
    """Each row of each check of a ``losscli.check/1`` document (a loss with no threshold
    is skipped)."""
    return [_check_row(check, row) for check in doc["checks"] for row in check["results"]]


def properties(command: str, doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The suite's properties: the version and the files the run read."""
    props = [("losscli.version", __version__)]
    if command == "eval":
        props.append(("file", doc["input"]["path"]))
    elif command == "compare":
        props += [("baseline", doc["baseline"]["path"]), ("candidate", doc["candidate"]["path"])]
    else:
        props.append(("config", doc["config"]))
        props += [(f"check: {c['name']}", c["subject"]) for c in doc["checks"]]
    return props


# Characters XML 1.0 cannot hold even escaped (a group value read from a file may have them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def junit(
    command: str,
    gates: Sequence[Gate],
    props: Sequence[tuple[str, str]],
    seconds: float,
    now: datetime | None = None,
) -> str:
    """The JUnit XML report of one run: a ``<testsuite>`` named ``losscli COMMAND`` whose
    ``time`` is the run's wall time; the gates share one pass over the data, so each test
    case's time is 0."""
    now = now or datetime.now(timezone.utc)
    failures = sum(not g.passed for g in gates)
    skipped = sum(g.skipped for g in gates)
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"losscli {command}",
            "package": "losscli",
            "id": "0",
            "timestamp": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": socket.gethostname() or "localhost",
            "tests": str(len(gates)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "time": f"{max(seconds, 0.0):.3f}",
        },
    )
    listed = ET.SubElement(suite, "properties")
    for name, value in props:
        ET.SubElement(listed, "property", {"name": _xml(name), "value": _xml(value)})
    for gate in gates:
        case = ET.SubElement(
            suite,
            "testcase",
            {"name": _xml(gate.name), "classname": _xml(gate.classname), "time": "0"},
        )
        if gate.skipped:
            ET.SubElement(case, "skipped", {"message": _xml(gate.message)})
        elif not gate.passed:
            failure = ET.SubElement(
                case, "failure", {"message": _xml(gate.message), "type": gate.kind}
            )
            failure.text = _xml(gate.failure_text())
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- GitHub Actions workflow commands --------------------------------------------------


def _escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and ``:`` and ``,`` too."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(command: str, gates: Sequence[Gate]) -> list[str]:
    """``::error title=…::message`` for each failed gate."""
    return [
        f"::error title={_escape_property(f'losscli {command}: {g.classname}')}::"
        f"{_escape_data(g.message)}"
        for g in gates
        if not g.passed
    ]
