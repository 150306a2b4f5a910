"""The HTML of ``losscli report``'s pages: one style sheet, escaped cells, tables, the
embedded JSON document and the page around them. No script runs, no font or file is
fetched: the page opens offline and prints.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from losscli._version import __version__
from losscli.io.sink import finite_json

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1100px;padding:16px 24px;color:#1a1a1a;background:#fff;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0}
.meta td:first-child{font-weight:600}.note{color:#555;font-size:.9em}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.charts figure{margin:0}svg{max-width:100%;height:auto}
code{background:#f4f4f4;padding:0 3px;overflow-wrap:anywhere}
.wide{overflow-x:auto;max-width:100%}.meta td+td,h1,h2,h3,p,li{overflow-wrap:anywhere}
@media (max-width:600px){body{padding:8px 10px}}
.verdict{font-weight:600;padding:6px 10px;border-left:6px solid #888;background:#f6f6f6}
.verdict.failed{border-color:#C44E52}.verdict.passed{border-color:#55A868}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}}
"""


class Notes:
    """The notes of a run: called with each message, it keeps it for the page's "Evidence
    and notes" (``messages``) and passes it on to ``note`` (which prints it)."""

    def __init__(self, note: Callable[[str], None] | None = None) -> None:
        self.messages: list[str] = []
        self._note = note

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        if self._note is not None:
            self._note(message)


def fmt(value: Any) -> str:
    """A number as the page shows it: 6 significant digits (as the eval table)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return finite_json(value)
    return f"{value:.6g}"


def escape(text: Any) -> str:
    """Text as HTML, quotes included (for cells and attributes alike)."""
    return html.escape(str(text), quote=True)


def table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] = frozenset()
) -> str:
    """A table; the columns in ``numeric`` are right-aligned with tabular digits. It
    scrolls sideways within the page where the screen is narrower (a phone)."""
    out = ['<div class="wide"><table><thead><tr>']  # scrolls on its own on a narrow screen
    out += [*(f"<th>{escape(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for row in rows:
        cells = (
            f'<td class="num">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def group_columns_text(group: str | list[str] | None) -> str:
    """A document's group columns as the page's header says them: ``region, segment``."""
    if group is None:
        return "none"
    return group if isinstance(group, str) else ", ".join(group)


def options_text(options: Mapping[str, Any]) -> str:
    """The options given, as ``--name=value`` words (those left unset are left out)."""
    return " ".join(f"{k}={v}" for k, v in options.items() if v not in (None, (), []))


def meta_table(items: Sequence[tuple[str, Any]]) -> str:
    """The page's header facts (file, rows, options …), one per line."""
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in items)
    return f'<table class="meta"><tbody>{body}</tbody></table>'


def notes_list(notes: Sequence[str]) -> str:
    """The notes the run printed (task evidence, dropped rows …), or nothing."""
    if not notes:
        return ""
    items = "".join(f'<li class="note">{escape(n)}</li>' for n in notes)
    return f"<h3>Evidence and notes</h3><ul>{items}</ul>"


def json_for_script(doc: Any) -> str:
    """JSON safe inside ``<script>``: no ``</`` and no NaN literal (as ``--format json``)."""
    text = json.dumps(finite_json(doc), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def document(title: str, sections: Sequence[str], data: Any, what: str) -> str:
    """The whole page: the sections, then ``data`` (``what``, e.g. "the eval document")
    as one ``application/json`` block, ``id="losscli-data"``, for machines."""
    body = "\n".join(s for s in sections if s)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n"
        f'<script type="application/json" id="losscli-data">{json_for_script(data)}</script>\n'
        f'<p class="note">Made by losscli {escape(__version__)} '
        f"(<code>losscli report</code>); {escape(what)} is embedded as JSON "
        "(<code>#losscli-data</code>).</p>\n</body></html>\n"
    )
