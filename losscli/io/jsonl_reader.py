"""JSON Lines → pyarrow record batches: the columns named by the first record."""

from __future__ import annotations

import io
from collections.abc import Collection, Iterator
from typing import Any

from losscli.errors import InputError, shown
from losscli.io.sources import (
    Header,
    Prefixed,
    Source,
    open_stream,
    take_stream,
    text_prefix,
)

JSONL_BLOCK = 1 << 20  # bytes parsed at a time


def _first_line(text: str) -> tuple[int, str]:
    """(number, text) of the first line that is not blank: JSON Lines ends a line at
    "\\n" alone (U+2028 and the like may stand inside its strings)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return number, line
    return 1, ""


def _first_record(head: bytes) -> dict:
    import json

    try:
        record = json.loads(_first_line(head.decode("utf-8-sig", errors="replace"))[1])
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def jsonl_header(source: Source) -> Header:
    import json

    head, stream = text_prefix(source)
    source.pending = (head, stream)
    text = head.decode("utf-8-sig", errors="replace")
    number, line = _first_line(text)
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise _not_json_lines(source, number, line, text)
    return Header(list(record), {k for k, v in record.items() if isinstance(v, str)})


_ONE_PER_LINE = (
    "write one record per line: pandas to_json(orient='records', lines=True), "
    "or jq -c '.[]' for an array"
)


def _not_json_lines(source: Source, number: int, line: str, text: str) -> InputError:
    """The first line is not a JSON object: say what the file looks like, and the fix."""
    import re

    start = line.lstrip()[:1]
    if start == "{" and re.search(r'"schema"\s*:\s*"losscli\.', text):
        return InputError(
            f"{source.name}: this is a losscli output document, not predictions",
            hint="give the predictions file (CSV, TSV, Parquet or JSON Lines) it was made from",
        )
    if start == "[":
        return InputError(
            f"{source.name}: line {number} opens a JSON array; JSON Lines holds one JSON "
            "object per line",
            hint=_ONE_PER_LINE,
        )
    if start == "{":
        return InputError(
            f"{source.name}: line {number} is not a whole JSON object: the file looks like "
            "one JSON document over several lines, and JSON Lines holds one object per line",
            hint=_ONE_PER_LINE,
        )
    return InputError(
        f"{source.name}: line {number} is not a JSON object, as each line of JSON Lines is",
        hint="name the file's format with --input-format (csv, tsv, parquet, jsonl, arrow) "
        "if it is not JSON Lines",
    )


def jsonl_batches(
    source: Source, columns: list[str], text_columns: set[str], as_read: Collection[str] = ()
) -> Iterator[Any]:
    """Record batches of ``columns``: text columns as strings, the others as float64, and
    the ``as_read`` ones (``--keep``) in the type of their value on line 1 (an integer id
    stays an int64, exact above 2**53)."""
    import pyarrow as pa
    import pyarrow.json as pj

    head, stream = take_stream(source)
    first = _first_record(head) if as_read or text_columns else {}

    def typed(c: str) -> Any:
        """The type of column c's value on line 1 (None: not a number or a boolean)."""
        value = first.get(c)
        if isinstance(value, bool):
            return pa.bool_()
        if isinstance(value, int):
            return pa.int64()
        if isinstance(value, float):
            return pa.float64()
        return None

    # A text column (a group, text labels) that holds numbers is read as numbers and then
    # made text, as a CSV's digits are: JSON's parser will not read 1 as a string.
    numbers_as_text = [c for c in columns if c in text_columns and typed(c) is not None]

    def kind(c: str) -> Any:
        if c in numbers_as_text:
            return typed(c)
        if c in text_columns:
            return pa.string()
        if c in as_read:
            if isinstance(first.get(c), str):
                return pa.string()
            return typed(c) or pa.float64()
        return pa.float64()

    schema = pa.schema([(c, kind(c)) for c in columns])
    try:
        reader = pj.open_json(
            io.BufferedReader(Prefixed(head, stream)),
            read_options=pj.ReadOptions(block_size=JSONL_BLOCK),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
        for batch in reader:
            yield _as_text(batch, numbers_as_text) if numbers_as_text else batch
    except pa.ArrowInvalid as exc:
        raise _explain_json_error(source, schema, str(exc).splitlines()[0]) from None


# What each column type of the reading schema takes, by Arrow type name
_TAKES = {
    "double": ((int, float), "a number"),
    "int64": ((int,), "an integer"),
    "bool": ((bool,), "true or false"),
    "string": ((str,), "text"),
}


def _explain_json_error(source: Source, schema: Any, message: str) -> InputError:
    """Turn Arrow's JSON error into one that names the line, row, column and value: the
    input is read again up to the first record that does not fit (not for streamed stdin,
    which is gone: then the column from Arrow's message)."""
    import re

    if not source.streamed:
        found = _first_misfit(source, schema)
        if found is not None:
            return found
    m = re.search(r"Column\(/(.*)\) changed from \w+ to (\w+)", message)
    if m and m.group(1) in schema.names:
        _, what = _TAKES.get(str(schema.field(m.group(1)).type), ((), "another kind of value"))
        return InputError(
            f"{source.name}: column {m.group(1)!r}: a JSON {m.group(2)} where {what} is due",
            hint="fix or remove the value; save stdin to a file to have the row reported",
        )
    return InputError(
        f"{source.name}: cannot parse JSON Lines: {shown(message, 200)}",
        hint="JSON Lines holds one JSON object per line; save stdin to a file to have the "
        "line reported",
    )


def _first_misfit(source: Source, schema: Any) -> InputError | None:
    """The error for the first line that is not JSON, or the first value of a column that
    its type does not take (None where every line fits). Rows are the objects, as Arrow
    reads them: blank lines hold none, and a line may hold more than one."""
    import json

    types = {f.name: _TAKES.get(str(f.type)) for f in schema}
    decoder = json.JSONDecoder()
    row, first_line = -1, 0
    with io.BufferedReader(Prefixed(b"", open_stream(source))) as stream:
        for number, raw in enumerate(stream, start=1):
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace")
            at = 0
            while True:
                while at < len(text) and text[at].isspace():
                    at += 1
                if at == len(text):
                    break
                try:
                    record, at = decoder.raw_decode(text, at)
                except ValueError:
                    return InputError(
                        f"{source.name}: line {number} is not valid JSON",
                        hint="JSON Lines holds one JSON object per line",
                    )
                row += 1
                first_line = first_line or number
                if not isinstance(record, dict):
                    return InputError(
                        f"{source.name}: line {number} is not a JSON object",
                        hint="JSON Lines holds one JSON object per line",
                    )
                misfit = _misfit(record, types)
                if misfit is not None:
                    column, value, what, double = misfit
                    kind = (
                        ""
                        if double
                        else f" (the column's kind is its value's on line {first_line})"
                    )
                    return InputError(
                        f"{source.name}: column {column!r}, row {row} (line {number}): "
                        f"{_json_value(value)} is not {what}{kind}",
                        hint="fix or remove the value (null counts as missing; see --dropna)",
                    )
    return None


def _misfit(record: dict, types: dict[str, Any]) -> tuple[str, Any, str, bool] | None:
    """(column, value, what it takes, a number column?) of the record's first value that
    its column's type does not take; None when all fit (null fits every column)."""
    for column, takes in types.items():
        value = record.get(column)
        if value is None or takes is None:
            continue
        kinds, what = takes
        if isinstance(value, kinds) and (bool in kinds) == isinstance(value, bool):
            continue
        return column, value, what, kinds == (int, float)
    return None


def _json_value(value: Any) -> str:
    """A JSON value for a message: text quoted (and escaped), others as JSON writes them."""
    import json

    if isinstance(value, str):
        return shown(value)
    text = json.dumps(value)  # ASCII only: nothing raw reaches the terminal
    return text if len(text) <= 60 else text[:60] + "…"


def _as_text(batch: Any, columns: list[str]) -> Any:
    """The batch with ``columns`` cast to text (1 → "1", true → "true")."""
    import pyarrow as pa

    arrays = [
        batch.column(i).cast(pa.string()) if name in columns else batch.column(i)
        for i, name in enumerate(batch.schema.names)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
