"""A CSV/TSV input's header and dialect, read from its first block.

The encoding its byte-order mark names, the delimiter (``--delimiter`` or sniffed
from the header line, checked against the decimal mark), the column names (quoted
names may hold line breaks), whether quoted fields hold line breaks (Arrow's
``newlines_in_values``), and which columns the first block shows as text or
True/False. Also the cell spellings every CSV read shares: ``NULL_VALUES``, ``BOOLEANS``.
"""

from __future__ import annotations

import csv
import io

from losscli.errors import InputError, UsageError, shown
from losscli.io import input_options
from losscli.io.sources import Header, Source, refuse_duplicate_columns, text_prefix

#: What pandas' read_csv reads as missing by default (its ``na_values``): Arrow's own
#: list less nothing, plus ``None`` and ``<NA>``. Such cells count as missing (see --dropna).
NULL_VALUES = [
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
    *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
]


#: the spellings of CSV booleans (pandas writes True/False); 0/1 stay numbers
BOOLEANS = {
    "true_values": ["True", "true", "TRUE"],
    "false_values": ["False", "false", "FALSE"],
}


#: byte-order marks read as the encoding they mark (UTF-32's before UTF-16's: it starts alike)
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def read_csv_header(source: Source) -> Header:
    """Column names (and which look like text) from the first block; its bytes and the
    open stream are kept on the source for the read that follows."""
    head, stream = text_prefix(source)
    source.pending = (head, stream)  # reused by read_batches: stdin can be read once
    head_text = _decode_head(source, head)
    first = head_text.splitlines()[0] if head_text else ""
    _check_dialect(source, first)
    columns = _header_names(source, head_text)
    if all(c.startswith("unnamed_") for c in columns):
        raise InputError(f"{source.name}: no header line with column names")
    refuse_duplicate_columns(columns, source.name)
    text, flags = _sniff_text_columns(source, head_text, columns)
    return Header(columns, text, bool_columns=flags)


def field_delimiter(source: Source) -> str:
    """The delimiter the source is parsed with: settled by its header, else the format's."""
    if source.delimiter is not None:
        return source.delimiter
    return "\t" if source.fmt == "tsv" else ","


def sniff_delimiter(line: str) -> str:
    """The delimiter of a CSV header line: of ``,`` ``;`` tab ``|``, the one that splits
    it into the most fields (quoted names may hold any of them); a comma on a tie."""
    fields = {d: len(next(csv.reader([line], delimiter=d), [])) for d in input_options.DELIMITERS}
    return max(input_options.DELIMITERS, key=lambda d: (fields[d], d == ","))


def _check_dialect(source: Source, first: str) -> None:
    """Settle the source's delimiter (sniffed unless given) and check it with the decimal mark."""
    given = source.delimiter is not None
    if not given:
        source.delimiter = "\t" if source.fmt == "tsv" else sniff_delimiter(first)
    if source.delimiter == source.decimal:
        raise UsageError(
            f"{source.name}: the delimiter {source.delimiter!r} is also the decimal mark",
            hint="decimal commas need another delimiter, such as ';'",
        )
    if given:
        names = next(csv.reader([first], delimiter=source.delimiter), [])
        others = [d for d in input_options.DELIMITERS if d != source.delimiter]
        seen = next((d for d in others if len(names) == 1 and d in names[0]), None)
        if seen is not None:
            raise InputError(
                f"{source.name}: the header line is one column {shown(names[0])} "
                f"when split at {source.delimiter!r}",
                hint=f"the file looks {seen!r}-separated: use --delimiter {_spelled(seen)} "
                "(or leave it out to have it sniffed)",
            )


def _spelled(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _decode_head(source: Source, head: bytes) -> str:
    """The first block as text, in the encoding its byte-order mark names (else UTF-8)."""
    import codecs

    source.encoding = next((enc for bom, enc in BOMS if head.startswith(bom)), "utf-8")
    codec = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    # Incremental: a character cut at the end of the block is left out, not replaced.
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(head)


def _header_names(source: Source, head_text: str) -> list[str]:
    """The header row's names, which may be quoted and hold line breaks (Excel's Alt+Enter).

    Sets ``source.newlines_in_values`` (Arrow's reader then tracks quotes across lines)
    when a quoted field of the first block holds a line break, and for streamed stdin.
    """
    import re

    rows = csv.reader(io.StringIO(head_text, newline=""), delimiter=field_delimiter(source))
    names = next(rows, [])
    header_end = rows.line_num  # physical lines the header row took
    # Streamed stdin cannot be read again, should a quoted line break turn up later.
    if header_end > 1 or source.streamed or _quoted_line_break(head_text):
        source.newlines_in_values = True
    # Names are read as written, less surrounding spaces and with a line break inside a
    # name read as one space; unnamed columns get a placeholder.
    names = [re.sub(r"\s*[\r\n]+\s*", " ", c.strip()) for c in names]
    return [c or f"unnamed_{i}" for i, c in enumerate(names)]


def _quoted_line_break(text: str) -> bool:
    """Whether a quoted field in ``text`` spans lines: a line with an odd count of quotes
    opens or closes one (a quote inside a quoted field is doubled, so counts stay even)."""
    if '"' not in text:
        return False
    lines = text.splitlines()[:-1]  # the last line may be cut short
    return any(line.count('"') % 2 for line in lines)


def _sniff_sample(source: Source, head_text: str) -> bytes:
    """Whole rows of the first block as UTF-8, for Arrow's type inference."""
    cut = head_text.rfind("\n")
    if source.newlines_in_values:  # back off to a line end outside any quoted field
        odd = head_text.count('"', 0, max(cut, 0)) % 2
        while cut > 0 and odd:
            before = head_text.rfind("\n", 0, cut)
            odd ^= head_text.count('"', max(before, 0), cut) % 2
            cut = before
    return (head_text if cut < 0 else head_text[: cut + 1]).encode("utf-8")


def _sniff_text_columns(
    source: Source, head_text: str, columns: list[str]
) -> tuple[set[str], set[str]]:
    """Columns whose cells in the first block are not all numbers, and those that are
    True/False (read as 1/0, as Parquet's booleans are)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(
            pa.BufferReader(_sniff_sample(source, head_text)),
            read_options=pcsv.ReadOptions(column_names=columns, skip_rows_after_names=1),
            parse_options=pcsv.ParseOptions(
                delimiter=field_delimiter(source), newlines_in_values=source.newlines_in_values
            ),
            convert_options=pcsv.ConvertOptions(
                strings_can_be_null=True,
                null_values=NULL_VALUES,
                decimal_point=source.decimal,
                **BOOLEANS,
            ),
        )
    except Exception:  # a ragged or odd first block: the real read reports it precisely
        return set(), set()
    text = {
        f.name
        for f in table.schema
        if not (
            pa.types.is_integer(f.type)
            or pa.types.is_floating(f.type)
            or pa.types.is_null(f.type)
            or pa.types.is_boolean(f.type)
        )
    }
    return text, {f.name for f in table.schema if pa.types.is_boolean(f.type)}
