"""Writers for what the commands print: tables, JSON, Markdown, text and error lines.

Data goes to stdout written plainly (``json.dump``, ``print``), never through a Rich
console, which would wrap long lines and read ``[brackets]`` as markup. Only a table
shown on a terminal is drawn with Rich; piped or redirected, the same table is plain
aligned text. Errors are single lines on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def stdout_is_terminal() -> bool:
    """Whether stdout is an interactive terminal (tables are drawn only there)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def write_json(data: Any) -> None:
    """One JSON document on stdout; floats keep full precision (shortest round-trip repr)."""
    sys.stdout.write(json_text(data))


def json_text(data: Any) -> str:
    """``data`` as indented strict JSON, non-finite numbers written as ``finite_json`` says."""
    return json.dumps(finite_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def finite_json(data: Any) -> Any:
    """``data`` with each infinite or NaN float as the string ``"Infinity"``, ``"-Infinity"``
    or ``"NaN"`` (as protobuf's JSON mapping writes them).

    JSON has no such numbers, and Python's ``Infinity`` token is refused by jq and
    ``JSON.parse``. A string keeps which one it was (``null`` would not), and
    ``float()``, ``Number()`` and ``pandas.to_numeric`` read it back.
    """
    if isinstance(data, float):
        if data != data:
            return "NaN"
        if data in (float("inf"), float("-inf")):
            return "Infinity" if data > 0 else "-Infinity"
        return data
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


def write_lines(lines: Iterable[str]) -> None:
    """Lines of text on stdout, as they are."""
    for line in lines:
        sys.stdout.write(f"{line}\n")


def write_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    markdown: bool = False,
    title: str | None = None,
) -> None:
    """A table on stdout: Markdown if asked, Rich on a terminal, plain aligned text otherwise."""
    if markdown:
        write_lines(markdown_table(columns, rows))
    elif stdout_is_terminal():
        _print_rich_table(columns, rows, title)
    else:
        write_lines(plain_table(columns, rows))


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell and separated by two spaces; lines never wrap."""
    widths = [
        max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)
    ]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [columns, *rows]
    ]


def markdown_cell(text: str) -> str:
    """Text made safe for a Markdown table cell (a bare "|" would end the cell)."""
    return text.replace("|", "\\|")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def _print_rich_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None
) -> None:
    # Imported here: only an interactive table needs Rich.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Console honours NO_COLOR by itself; highlight=False keeps numbers and names uncoloured.
    console = Console(file=sys.stdout, highlight=False)
    table = Table(title=title, header_style="bold")
    for column in columns:
        # Fold long cells onto more lines rather than cutting them off with "…".
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text cells are never parsed as markup, so "[0, 1]" stays as written.
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def print_error(message: str, hint: str | None = None) -> None:
    """The ``error:`` line on stderr and, when there is one, a single ``hint:`` line."""
    print(f"error: {_one_line(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {_one_line(hint)}", file=sys.stderr)
