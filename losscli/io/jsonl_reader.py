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


def _first_record(head: bytes) -> dict:
    import json

    try:
        record = json.loads(head.decode("utf-8-sig", errors="replace").splitlines()[0])
    except (ValueError, IndexError):
        return {}
    return record if isinstance(record, dict) else {}


def jsonl_header(source: Source) -> Header:
    import json

    head, stream = text_prefix(source)
    source.pending = (head, stream)
    text = head.decode("utf-8-sig", errors="replace")
    line = text.splitlines()[0]
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise _not_json_lines(source, line, text)
    return Header(list(record), {k for k, v in record.items() if isinstance(v, str)})


_ONE_PER_LINE = (
    "write one record per line: pandas to_json(orient='records', lines=True), "
    "or jq -c '.[]' for an array"
)


def _not_json_lines(source: Source, line: str, text: str) -> InputError:
    """Line 1 is not a JSON object: say what the file looks like instead, and the fix."""
    start = line.lstrip()[:1]
    if '"losscli.' in text and start == "{":
        return InputError(
            f"{source.name}: this is a losscli output document, not predictions",
            hint="give the predictions file (CSV, TSV, Parquet or JSON Lines) it was made from",
        )
    if start == "[":
        return InputError(
            f"{source.name}: line 1 opens a JSON array; JSON Lines holds one JSON object per line",
            hint=_ONE_PER_LINE,
        )
    if start == "{":
        return InputError(
            f"{source.name}: line 1 is not a whole JSON object: the file looks like one JSON "
            "document over several lines, and JSON Lines holds one object per line",
            hint=_ONE_PER_LINE,
        )
    return InputError(
        f"{source.name}: line 1 is not a JSON object, as each line of JSON Lines is",
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

    if source.path != "-" or source.data is not None:
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
    its type does not take (None where every line fits)."""
    import json

    types = {f.name: _TAKES.get(str(f.type)) for f in schema}
    row = -1
    with io.BufferedReader(Prefixed(b"", open_stream(source))) as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue  # Arrow skips blank lines, which hold no row
            row += 1
            try:
                record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except ValueError:
                return InputError(
                    f"{source.name}: line {number} is not valid JSON",
                    hint="JSON Lines holds one JSON object per line",
                )
            if not isinstance(record, dict):
                return InputError(
                    f"{source.name}: line {number} is not a JSON object",
                    hint="JSON Lines holds one JSON object per line",
                )
            for column, takes in types.items():
                value = record.get(column)
                if value is None or takes is None:
                    continue
                kinds, what = takes
                if isinstance(value, kinds) and (bool not in kinds) == (
                    not isinstance(value, bool)
                ):
                    continue
                return InputError(
                    f"{source.name}: column {column!r}, row {row} (line {number}): "
                    f"{shown(json.dumps(value) if not isinstance(value, str) else value)} "
                    f"is not {what}",
                    hint="fix or remove the value (null counts as missing; see --dropna)",
                )
    return None


def _as_text(batch: Any, columns: list[str]) -> Any:
    """The batch with ``columns`` cast to text (1 → "1", true → "true")."""
    import pyarrow as pa

    arrays = [
        batch.column(i).cast(pa.string()) if name in columns else batch.column(i)
        for i, name in enumerate(batch.schema.names)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
