"""Shell completion of option values: losses, tasks, input formats and column names.

The callbacks in ``options.py`` import this module only when a shell asks for
completions, so ``losscli --help`` never loads it. Column names come from the header
of the file already on the command line, read as cheaply as possible (the first line
of a text file, the footer of a Parquet file). A completion never raises: a missing,
unreadable or odd file completes to nothing, and the shell falls back to file names.
"""

from __future__ import annotations

import bz2
import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# What separates the losses of a SPEC at the top level: 'mse,huber', '0.7*mse + 0.3*mae'.
_SPEC_SEPARATORS = ",+* \t"

Completion = tuple[str, str]  # (value, help shown by zsh and fish)


def loss_completions(incomplete: str) -> list[Completion]:
    """Loss names and aliases for the last loss of a SPEC, or parameter names inside '(…)'.

    ``mse,h`` completes to ``mse,huber``, ``mse,hinge``, …; ``huber(d`` to ``huber(delta=``.
    """
    from losscli.losses import registry

    prefix, fragment, open_loss = _split_spec(incomplete)
    losses = registry.all_losses()
    if open_loss is not None:
        if "=" in fragment:
            return []
        loss = next((x for x in losses if open_loss in (x.name, *x.aliases)), None)
        params = loss.params if loss is not None else ()
        if loss is None and open_loss in registry.BUNDLES:  # the parameters of its metrics
            members = [registry.get_loss(m) for m in registry.BUNDLES[open_loss]]
            params = tuple({p.name: p for m in members for p in m.params}.values())
        return [
            (f"{prefix}{p.name}=", p.help) for p in params if p.name.startswith(fragment.lower())
        ]
    names = [(loss.name, loss.summary) for loss in losses]
    names += [(alias, f"alias of {loss.name}") for loss in losses for alias in loss.aliases]
    names += [(name, ", ".join(members)) for name, members in registry.BUNDLES.items()]
    return [(prefix + name, text) for name, text in names if name.startswith(fragment.lower())]


def _split_spec(text: str) -> tuple[str, str, str | None]:
    """(everything before the word being typed, that word, the loss whose '(' is open)."""
    depth = 0
    start = 0  # where the word being typed begins
    open_at = -1  # index of the '(' that is still open
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
            if depth == 1:
                open_at, start = i, i + 1
        elif char == ")":
            depth = max(depth - 1, 0)
            if depth == 0:
                start = i + 1
        elif depth == 0 and char in _SPEC_SEPARATORS:
            start = i + 1
        elif depth == 1 and char == ",":
            start = i + 1
    if depth == 0:
        return text[:start], text[start:], None
    head = text[:open_at]
    cut = max(head.rfind(sep) for sep in _SPEC_SEPARATORS)
    return text[:start], text[start:], head[cut + 1 :].strip().lower().replace("-", "_")


def task_completions(incomplete: str) -> list[Completion]:
    """The task names, then the other spellings ``--task`` accepts."""
    from losscli.losses import registry

    tasks = [(task, "task") for task in registry.TASKS]
    tasks += [(spelling, f"same as {task}") for spelling, task in registry.TASK_SPELLINGS.items()]
    return [(name, text) for name, text in tasks if name.startswith(incomplete.lower())]


def convention_completions(incomplete: str) -> list[Completion]:
    """The libraries ``--convention`` reproduces."""
    from losscli.binding.libraries import LIBRARIES, TITLES

    return [(lib, TITLES[lib]) for lib in LIBRARIES if lib.startswith(incomplete.lower())]


def input_format_completions(incomplete: str) -> list[Completion]:
    from losscli.io.sources import FORMATS

    return [(fmt, "input format") for fmt in FORMATS if fmt.startswith(incomplete.lower())]


def column_completions(ctx: Any, incomplete: str, *, multiple: bool = False) -> list[Completion]:
    """Column names of the first input file on the command line that start with ``incomplete``.

    With ``multiple`` (``--target``/``--pred`` take comma lists) the word after the last
    comma is completed and the columns already listed are left out.
    """
    files = _input_files(ctx)
    if not files:
        return []
    columns = header_columns(files[0], _param(ctx, "input_format"))
    return _complete_words(columns, incomplete, multiple=multiple, what=f"column of {files[0]}")


def key_completions(ctx: Any, incomplete: str) -> list[Completion]:
    """Columns present in every input file on the line (a join key must be in both)."""
    files = _input_files(ctx, include_options=True)
    if not files:
        return []
    input_format = _param(ctx, "input_format")
    columns = header_columns(files[0], input_format)
    for other in files[1:]:
        present = set(header_columns(other))
        if present:  # an unreadable second file narrows nothing
            columns = [c for c in columns if c in present]
    return _complete_words(columns, incomplete, multiple=False, what="column in every file")


def _complete_words(
    columns: Iterable[str], incomplete: str, *, multiple: bool, what: str
) -> list[Completion]:
    prefix, word = "", incomplete
    if multiple and "," in incomplete:
        cut = incomplete.rfind(",") + 1
        prefix, word = incomplete[:cut], incomplete[cut:]
    listed = set(prefix.split(","))
    return [
        (prefix + column, what)
        for column in columns
        if column.startswith(word) and column not in listed
    ]


def _param(ctx: Any, name: str) -> Any:
    params = getattr(ctx, "params", None) or {}
    return params.get(name)


def _input_files(ctx: Any, *, include_options: bool = False) -> list[str]:
    """Existing paths given as arguments (FILE, or BASELINE CANDIDATE), then ``--targets``."""
    command = getattr(ctx, "command", None)
    params = getattr(ctx, "params", None) or {}
    given: list[Any] = []
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            value = params.get(param.name)
            given += value if isinstance(value, (list, tuple)) else [value]
    # While the option being completed still lacks its value, Click stops parsing before
    # it assigns the arguments: 'eval FILE --pred <TAB>' leaves FILE in ctx.args.
    given += list(getattr(ctx, "args", None) or ())
    if include_options:
        given.append(params.get("targets"))
    found: list[str] = []
    for value in given:
        if isinstance(value, str) and value not in found and _is_input_path(value):
            found.append(value)
    return found


def _is_input_path(value: str) -> bool:
    try:
        return value != "-" and not value.startswith("-") and Path(value).exists()
    except (OSError, ValueError):  # a name too long, or with a NUL
        return False


def header_columns(path: str, input_format: str | None = None) -> list[str]:
    """The column names of a CSV/TSV/JSONL/Parquet/Arrow file or dataset, or [] when they
    cannot be read."""
    try:
        return _header_columns(path, input_format)
    except Exception:  # completion must never fail: no columns is the answer
        return []


def _header_columns(path: str, input_format: str | None) -> list[str]:
    from losscli.io.batches import read_header
    from losscli.io.sources import detect_format

    source = detect_format(path, input_format)
    if source.fmt in ("parquet", "arrow") or source.is_parts:  # with Hive partition columns
        return read_header(source).columns
    line = _first_line(source)
    if source.fmt == "jsonl":
        record = json.loads(line)
        return [str(k) for k in record] if isinstance(record, dict) else []
    import csv

    delimiter = "\t" if source.fmt == "tsv" else ","
    row = next(csv.reader([line], delimiter=delimiter), [])
    return [name.strip() for name in row if name.strip()]


def _first_line(source: Any, limit: int = 1 << 16) -> str:
    """The first line of a (possibly compressed) text file, read no further than needed."""
    if source.compression == "gzip":
        stream: Any = gzip.open(source.path, "rb")
    elif source.compression == "bz2":
        stream = bz2.open(source.path, "rb")
    elif source.compression is None:
        stream = open(source.path, "rb")
    else:  # zstd: only pyarrow reads it here
        import pyarrow as pa

        stream = pa.input_stream(source.path, compression=source.compression)
    with stream:
        head = bytes(stream.readline(limit))
    return head.decode("utf-8-sig", errors="replace").rstrip("\r\n")
