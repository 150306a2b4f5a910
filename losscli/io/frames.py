"""Tables already in memory (the Python API's frames) as a source the engine reads.

``frame_source`` turns a pandas DataFrame, a pyarrow Table, RecordBatch or
RecordBatchReader, or any object with the Arrow PyCapsule stream interface
(``__arrow_c_stream__``: polars DataFrames, duckdb results) into a ``Source`` of
format ``table`` that holds one Arrow table; ``table_header`` and ``table_batches`` are
its reader, dispatched by ``io.batches`` as a file's are. Its name is the object's
type (``<DataFrame>``, ``<Table>``), in place of a file name in every message.

The columns are read as a Parquet file's: numbers (integers, floats, booleans,
decimals) as float64, text and categorical columns as labels or groups. A pandas
index is not a column, unless a level of it is named by a column option (``group``,
``target``…) that no column answers. polars is never imported: its frames hand
their columns over through the stream interface.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator
from typing import Any

from losscli.errors import InputError, shown
from losscli.io.sources import Header, Source, refuse_duplicate_columns

FORMAT = "table"  # Source.fmt of a table in memory (a Feather/IPC file is "arrow")


def frame_name(frame: Any) -> str:
    """How messages name an in-memory table: its type, ``<DataFrame>``, ``<Table>``…"""
    return f"<{type(frame).__name__}>"


def frame_source(frame: Any, function: str, named: Collection[str] = ()) -> Source:
    """The ``arrow`` source of ``frame``; ``named`` are the columns the call names (an
    index level of a pandas frame with one of these names is read as a column).

    Anything else than a table is a ``TypeError`` naming what ``function`` takes.
    """
    name = frame_name(frame)
    return Source(name, FORMAT, table=_normalized(_arrow_table(frame, function, named), name))


def _arrow_table(frame: Any, function: str, named: Collection[str]) -> Any:
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if isinstance(frame, pa.RecordBatchReader):
        return frame.read_all()
    pandas = sys.modules.get("pandas")  # a pandas frame means pandas is imported already
    if pandas is not None and isinstance(frame, pandas.DataFrame):
        return _from_pandas(frame, named)
    if hasattr(frame, "__arrow_c_stream__"):
        try:
            return pa.RecordBatchReader.from_stream(frame).read_all()
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InputError(f"{frame_name(frame)}: cannot read its Arrow stream: {exc}") from None
    raise TypeError(
        f"{function}() takes a pandas DataFrame, a pyarrow Table or RecordBatch, or a table "
        f"with the Arrow stream interface (__arrow_c_stream__: polars, duckdb), not "
        f"{type(frame).__name__}; for a file use evaluate_file, for arrays losscli.evaluate"
    )


def _from_pandas(frame: Any, named: Collection[str]) -> Any:
    """A pandas DataFrame's columns as an Arrow table, without its index unless a level of
    it is named by a column option and is no column; a column Arrow cannot hold (mixed
    Python objects) is an input error naming it."""
    import pyarrow as pa

    levels = [
        level
        for level in frame.index.names
        if level is not None and level in named and level not in frame.columns
    ]
    if levels:
        frame = frame.reset_index(level=levels)
    refuse_duplicate_columns([str(c) for c in frame.columns], frame_name(frame))
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0]
        for column in frame.columns:
            try:
                pa.Array.from_pandas(frame[column])
            except (pa.ArrowException, ValueError, TypeError) as column_exc:
                raise InputError(
                    f"{frame_name(frame)}: column {str(column)!r} cannot be read: "
                    f"{str(column_exc).splitlines()[0]}",
                    hint="give it one type, e.g. df[column].astype(float) or .astype(str)",
                ) from None
        raise InputError(f"{frame_name(frame)}: cannot be read as a table: {reason}") from None


def _normalized(table: Any, name: str) -> Any:
    """Text of any Arrow string type as ``string`` (as the readers and ``float_column``
    know it), categories of numbers as those numbers, and an all-null column as float64
    nulls (empty cells); a column name used twice is an input error."""
    import pyarrow as pa

    refuse_duplicate_columns(table.column_names, name)
    fields = []
    for f in table.schema:
        kind = f.type
        if pa.types.is_dictionary(kind) and not _is_text(kind.value_type):
            kind = kind.value_type
        if _is_text(kind):
            kind = pa.string()
        elif pa.types.is_null(kind):
            kind = pa.float64()
        fields.append(pa.field(f.name, kind))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind))
    )


def _is_number(kind: Any) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
    )


def table_header(source: Source) -> Header:
    """The table's columns; its text and categorical ones are text, its row count exact."""
    import pyarrow as pa

    table = source.table
    text = {f.name for f in table.schema if _is_text(f.type) or pa.types.is_dictionary(f.type)}
    return Header(list(table.column_names), text, table.num_rows)


def table_batches(
    source: Source, columns: list[str], text_columns: Collection[str], as_read: Collection[str] = ()
) -> Iterator[Any]:
    """Record batches of ``columns``: the ``text_columns`` and ``as_read`` ones (``--keep``)
    as they are, the others as numbers. Text read as numbers is parsed as a CSV cell is
    (a word is an error naming its row); a column of other values (dates, lists) where
    numbers are needed, or of nested values, is an input error."""
    import pyarrow as pa

    from losscli.io.parquet_reader import parquet_batch_rows

    table = source.table.select(columns)
    for i, f in enumerate(table.schema):
        if f.name in as_read or _is_number(f.type):
            continue
        text = _is_text(f.type) or pa.types.is_dictionary(f.type)
        if f.name in text_columns and (text or not pa.types.is_nested(f.type)):
            continue  # labels and groups (a date groups by its text)
        if not text:
            raise InputError(
                f"{source.name}: column {f.name!r} holds {f.type} values, not numbers or labels",
                hint="losses read numbers, and text or categorical labels and groups",
            )
        table = table.set_column(i, f.name, _parsed(source, f.name, table.column(i)))
    yield from table.to_batches(max_chunksize=parquet_batch_rows(len(columns)))


def _parsed(source: Source, column: str, values: Any) -> Any:
    """A text column read as numbers: each cell parsed as a CSV cell is (surrounding
    spaces dropped, the CSV reader's null spellings and empty cells missing); the first
    word that is no number is an error naming its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from losscli.io.csv_header import NULL_VALUES

    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    missing = pc.is_in(text, value_set=pa.array(NULL_VALUES))
    text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    try:
        return text.cast(pa.float64())
    except pa.ArrowInvalid:
        pass
    for row, cell in enumerate(text.to_pylist()):
        try:
            pa.array([cell], pa.string()).cast(pa.float64())
        except pa.ArrowInvalid:
            raise InputError(
                f"{source.name}: column {column!r}, row {row}: {shown(cell)} is not a number",
                hint="fix or remove the cell (empty cells count as missing; see --dropna)",
            ) from None
    raise InputError(f"{source.name}: column {column!r} holds text where numbers are needed")
