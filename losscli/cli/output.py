"""Writers for what the commands print: tables, JSON, Markdown, text and error lines.

Data goes to stdout written plainly (``json.dump``, ``print``), never through a Rich
console, which would wrap long lines and read ``[brackets]`` as markup. Only a table
shown on a terminal is drawn with Rich; piped or redirected, the same table is plain
aligned text. Errors are single lines on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from losscli.errors import printable
from losscli.io.sink import finite_json


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


def write_lines(lines: Iterable[str]) -> None:
    """Lines of text on stdout, as they are."""
    for line in lines:
        sys.stdout.write(f"{line}\n")


def text_width(preferred: int) -> int:
    """The width prose is wrapped to: ``preferred``, or a narrower terminal's width, so that
    the terminal itself never breaks a word or number across lines."""
    if not stdout_is_terminal():
        return preferred
    import shutil

    return max(20, min(preferred, shutil.get_terminal_size((preferred, 24)).columns))


def fit_to_terminal(lines: Iterable[str], *, whole: tuple[str, ...] = ()) -> list[str]:
    """Lines wider than a terminal on stdout wrapped between words to its width, each
    continuation indented two more than its line; lines starting (after the indent) with
    one of ``whole`` are kept whole (a command to copy). Piped, lines are unchanged."""
    lines = list(lines)
    if not stdout_is_terminal():
        return lines
    import textwrap

    width = text_width(10**6)
    out: list[str] = []
    for line in lines:
        body = line.lstrip()
        if len(line) <= width or body.startswith(whole):
            out.append(line)
            continue
        indent = line[: len(line) - len(body)]
        out += textwrap.wrap(
            body,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return out


def write_notes(lines: Iterable[str]) -> None:
    """Sentences after a table: on a terminal each is wrapped between words to its width
    (continuation lines indented), piped or redirected each stays one line."""
    write_lines(fit_to_terminal(lines))


def write_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    markdown: bool = False,
    title: str | None = None,
    text_columns: Collection[str] = (),
) -> None:
    """A table on stdout: Markdown if asked, Rich on a terminal, plain aligned text otherwise.

    On a terminal no cell is ever broken inside a word: only the cells of ``text_columns``
    may wrap, and only between words; every other cell (numbers, intervals, verdicts) is
    kept whole. A terminal too narrow for that gets one record per row instead, and one
    too narrow even for that gets the plain lines, which run long.
    """
    if markdown:
        write_lines(markdown_table(columns, rows))
    elif stdout_is_terminal():  # the plain and Markdown tables escape their own cells
        rows = [[cell_text(cell) for cell in row] for row in rows]
        _print_rich_table(columns, rows, title, text_columns)
    else:
        write_lines(plain_table(columns, rows))


def cell_text(text: str) -> str:
    """A table cell on one line: line breaks, escape sequences and other control
    characters written as escapes (``\\n``, ``\\x1b``), so that no text read from an
    input (a group value, a kept column) breaks a table or reaches the terminal raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell and separated by two spaces; lines never wrap.
    Widths are display cells (東京 takes four), so wide characters keep the columns
    aligned."""
    from rich.cells import cell_len

    rows = [[cell_text(cell) for cell in row] for row in rows]
    widths = [
        max([cell_len(column), *(cell_len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    return [
        "  ".join(
            cell + " " * (width - cell_len(cell)) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in [columns, *rows]
    ]


def markdown_cell(text: str) -> str:
    """Text made safe for a Markdown table cell (a bare "|" would end the cell, a line
    break the row)."""
    return cell_text(text).replace("|", "\\|")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def _narrowest(cells: Sequence[str], header: str, wraps: bool) -> int:
    """The narrowest a column can be without breaking a word (headers wrap between words;
    a cell of a column that does not wrap is one unbreakable piece)."""
    from rich.cells import cell_len

    pieces = [word for cell in cells for word in cell.split()] if wraps else list(cells)
    return max([1, *(cell_len(word) for word in [*header.split(), *pieces])])


def _column_widths(mins: list[int], maxs: list[int], room: int) -> list[int] | None:
    """Widths that fit ``room``: the widest columns give way first, none below its
    minimum; None when even the minimums do not fit."""
    if sum(mins) > room:
        return None
    widths = list(maxs)
    while sum(widths) > room:
        shrinkable = [i for i, (w, m) in enumerate(zip(widths, mins, strict=True)) if w > m]
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
    return widths


def _print_rich_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None,
    text_columns: Collection[str],
) -> None:
    # Imported here: only an interactive table needs Rich.
    from rich.cells import cell_len
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    # Console honours NO_COLOR by itself; highlight=False keeps numbers and names uncoloured.
    console = Console(file=sys.stdout, highlight=False)
    by_column = [[row[i] for row in rows] for i in range(len(columns))]
    mins = [
        _narrowest(cells, column, column in text_columns)
        for column, cells in zip(columns, by_column, strict=True)
    ]
    maxs = [
        max([cell_len(column), *map(cell_len, cells)])
        for column, cells in zip(columns, by_column, strict=True)
    ]

    def table(widths: Sequence[int]) -> Table:
        # Fixed widths: Rich wraps text cells between words and never shrinks a column
        # below what its longest word (or whole number) needs.
        out = Table(title=title, header_style="bold")
        for column, width in zip(columns, widths, strict=True):
            out.add_column(column, width=width, overflow="fold")
        for row in rows:
            # Text cells are never parsed as markup, so "[0, 1]" stays as written.
            out.add_row(*(Text(cell) for cell in row))
        return out

    # What borders and padding take, as Rich measures it (on a page wide enough for all).
    unbounded = console.options.update_width(sum(maxs) + 4 * len(columns) + 4)
    overhead = Measurement.get(console, unbounded, table(mins)).maximum - sum(mins)
    widths = _column_widths(mins, maxs, console.width - overhead)
    if widths is not None:
        console.print(table(widths))
    else:
        _print_records(console, columns, rows, title, text_columns)


def _print_records(
    console: Any,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None,
    text_columns: Collection[str],
) -> None:
    """One block per row, a field per line (``loss  mse``): the layout for a terminal
    narrower than the table. Narrower still, each value goes under its name, indented;
    plain lines, running long, when even that would break a word."""
    from rich.cells import cell_len
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    label = max(cell_len(column) for column in columns)
    beside = console.width - label - 2
    widest = max(
        _narrowest([row[i] for row in rows], "", column in text_columns)
        for i, column in enumerate(columns)
    )
    if widest > console.width - 2:
        write_lines([*([title] if title else []), *plain_table(columns, rows)])
        return
    if title:
        write_lines([title, ""])
    for n, row in enumerate(rows):
        if n:
            write_lines([""])
        if widest > beside:
            for column, cell in zip(columns, row, strict=True):
                console.print(Text(column, style="bold"))
                console.print(Padding(Text(cell, overflow="fold"), (0, 0, 0, 2), expand=False))
            continue
        grid = Table.grid(padding=(0, 2))
        grid.add_column(width=label, style="bold", no_wrap=True)
        grid.add_column(max_width=beside, overflow="fold")
        for column, cell in zip(columns, row, strict=True):
            grid.add_row(Text(column), Text(cell))
        console.print(grid)


def _one_line(text: str) -> str:
    # Non-printable characters (from a binary input quoted in a message) are escaped.
    return printable(" ".join(part.strip() for part in text.splitlines() if part.strip()))


def print_error(message: str, hint: str | None = None) -> None:
    """The ``error:`` line on stderr and, when there is one, a single ``hint:`` line."""
    print(f"error: {_one_line(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {_one_line(hint)}", file=sys.stderr)
