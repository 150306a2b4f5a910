"""A dataset named by a path: one file, a directory, a glob or an fsspec URL.

The files are listed once, in one order, so that both engines number the rows the
same way: a directory is searched recursively, a glob (``data/*.parquet``,
``data/**/part-*.csv``) is expanded, and each match that is a directory counts as a
directory. Only files of the dataset's format count (``.parquet``/``.pq`` for Parquet;
``data_files`` tells a local directory's format from its files' extensions); files
and folders whose names start with ``.`` or ``_`` (``_SUCCESS``, ``_temporary/``,
``.ipynb_checkpoints/``) are skipped, as Spark, Hive and pyarrow skip them. Files are
sorted by their path components (plain string order of each component: ``part-10``
comes before ``part-2``). A URL (``s3://bucket/preds/``, ``gs://…``, ``file:///…``) is
read through fsspec, which needs the filesystem's package (s3fs, gcsfs, adlfs, …).

Folders named ``key=value`` below the named path are Hive partitions (``hive_partitions``):
each file's rows get a column ``key`` holding ``value``, typed as pyarrow's Hive
partitioning infers it (int32 when every value of the key is a 32-bit integer, else
string; ``__HIVE_DEFAULT_PARTITION__`` and a file outside any ``key=`` folder are null).
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError

SUFFIXES = (".parquet", ".pq")
GLOB_CHARS = "*?["
# The extensions of the files a directory or glob of parts may hold, by format (a
# compressed text part adds .gz, .bz2, .zst or .zstd). Unlike a single file, .txt is
# not a part: a directory's notes must not be read as rows.
PART_SUFFIXES = {
    "parquet": (".parquet", ".pq"),
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "jsonl": (".jsonl", ".ndjson", ".json"),
    "arrow": (".arrow", ".feather", ".ipc"),
}
TEXT_COMPRESSION = (".gz", ".bz2", ".zst", ".zstd")


def is_url(path: str) -> bool:
    """True for ``protocol://…`` (read through fsspec)."""
    head, sep, _ = path.partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").isalnum() and len(head) > 1


def has_glob(path: str) -> bool:
    return any(c in path for c in GLOB_CHARS)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) of a URL; a missing package is an input error."""
    protocol = url.partition("://")[0]
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(
            f"{url}: reading a URL needs fsspec",
            hint=f"pip install fsspec, plus the package of {protocol}:// (s3fs, gcsfs, adlfs, …)",
        ) from None
    try:
        return url_to_fs(url)
    except ImportError as exc:  # fsspec knows the protocol, its package is missing
        raise InputError(
            f"{url}: reading {protocol}:// URLs needs a package that is not installed ({exc})",
            hint="install the filesystem's package, e.g. pip install s3fs",
        ) from None
    except ValueError as exc:
        raise InputError(f"{url}: {exc}") from None


def _skipped(relative: str) -> bool:
    return any(part[:1] in (".", "_") for part in relative.split("/") if part)


def _wanted(path: str, root: str) -> bool:
    """A Parquet file, not hidden below ``root`` (the listed directory, ending in /)."""
    relative = path[len(root) :] if path.startswith(root) else os.path.basename(path)
    return path.lower().endswith(SUFFIXES) and not _skipped(relative)


def part_format(path: str) -> str | None:
    """The format a part's extension names (``x.csv.gz`` is csv), or None."""
    name = path.lower()
    for ext in TEXT_COMPRESSION:
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        ext = ""
    for fmt, suffixes in PART_SUFFIXES.items():
        if name.endswith(suffixes):
            return None if ext and fmt in ("parquet", "arrow") else fmt
    return None


def _suffixes(fmt: str | None) -> tuple[str, ...]:
    """Every extension a part of ``fmt`` (None: of any format) may end with."""
    formats = list(PART_SUFFIXES) if fmt is None else [fmt]
    out: list[str] = []
    for f in formats:
        out += PART_SUFFIXES[f]
        if f not in ("parquet", "arrow"):
            out += [s + c for s in PART_SUFFIXES[f] for c in TEXT_COMPRESSION]
    return tuple(out)


def data_files(path: str, fmt: str | None = None) -> tuple[list[str], str]:
    """A local directory's or glob's files of one format, in row order, and that format:
    ``fmt`` (``--input-format``) or the one their extensions name. Files of two formats
    are an error naming one of each."""
    named = fmt or part_format(path)  # a glob such as data/*.csv names its format
    files = _local_files(path, _suffixes(named), f".{named}" if named else "data")
    if named is not None:
        return files, named
    kinds: dict[str, str] = {}
    for f in files:
        kinds.setdefault(part_format(f) or "", f)
    if len(kinds) > 1:
        (a, first), (b, second) = list(kinds.items())[:2]
        raise InputError(
            f"{path}: the parts are of more than one format ({first} is {a}, {second} is {b})",
            hint="name the files of one format with a glob, e.g. 'DIR/**/*.csv', "
            "or give --input-format",
        )
    return files, next(iter(kinds))


def _order(paths: list[str]) -> list[str]:
    return sorted(dict.fromkeys(paths), key=lambda p: p.split("/"))


def parquet_files(path: str) -> tuple[list[str], Any]:
    """The dataset's files in row order, and the fsspec filesystem (None for local paths)."""
    if is_url(path):
        return _remote_files(path)
    return _local_files(path), None


def _local_files(
    path: str, suffixes: tuple[str, ...] = SUFFIXES, kind: str = ".parquet"
) -> list[str]:
    p = Path(path)
    if p.is_file():
        return [path]
    if p.is_dir():
        files = _local_tree(path, suffixes)
        if not files:
            plain = [x for x in suffixes if not x.endswith(TEXT_COMPRESSION)]
            raise InputError(f"{path}: the directory has no {kind} files (*{', *'.join(plain)})")
        return files
    if not has_glob(path):
        raise InputError(f"{path}: no such file or directory")
    files = []
    for match in glob.glob(path, recursive=True):
        if os.path.isdir(match):
            files += _local_tree(match, suffixes)
        elif match.lower().endswith(suffixes):
            files.append(match)
    if not files:
        raise InputError(
            f"{path}: no {kind} files match", hint="check the pattern (quote it for the shell)"
        )
    return _order(files)


def _local_tree(directory: str, suffixes: tuple[str, ...] = SUFFIXES) -> list[str]:
    base = Path(directory)
    found = [
        str(f)
        for f in base.rglob("*")
        if f.name.lower().endswith(suffixes)
        and not _skipped(f.relative_to(base).as_posix())
        and f.is_file()
    ]
    return _order(found)


def _remote_files(url: str) -> tuple[list[str], Any]:
    fs, root = filesystem(url)
    try:
        if has_glob(root):
            matches = fs.glob(root)
        elif fs.isdir(root):
            matches = [root]
        elif fs.exists(root):
            return [root], fs
        else:
            raise InputError(f"{url}: no such file or directory")
        files = []
        for match in matches:
            if fs.isdir(match):
                prefix = match.rstrip("/") + "/"
                files += [f for f in fs.find(match) if _wanted(f, prefix)]
            elif match.lower().endswith(SUFFIXES):
                files.append(match)
    except OSError as exc:
        raise InputError(f"{url}: cannot list: {exc}") from None
    if not files:
        raise InputError(f"{url}: no .parquet files there")
    return _order(files), fs


def empty_file(path: str) -> bool:
    """A local file of 0 bytes (a part with no rows)."""
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def glob_root(path: str) -> str:
    """The folder a path's glob starts in (the path itself when it has no glob)."""
    if not has_glob(path):
        return path
    head = path[: min(path.index(c) for c in GLOB_CHARS if c in path)]
    return head.rpartition("/")[0]


@dataclass(frozen=True)
class Partitions:
    """The Hive partition columns of a dataset: ``columns`` (name, "int32" or "string")
    and each file's values (``values[file]``: name → value or None for a null; a key
    that no folder of the file names is left out, and null too)."""

    columns: tuple[tuple[str, str], ...]
    values: dict[str, dict[str, Any]]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def text_names(self) -> set[str]:
        return {name for name, kind in self.columns if kind == "string"}

    def arrays(self, path: str, rows: int, wanted: Any) -> dict[str, Any]:
        """The ``wanted`` partition columns of ``path``'s ``rows`` rows, one value repeated:
        int32, or text as a dictionary array (as the readers give text columns). Built
        from buffers: ``pa.scalar`` and ``pa.array`` would import pandas."""
        import pyarrow as pa

        out = {}
        for name, kind in self.columns:
            if name not in wanted:
                continue
            value = self.values[path].get(name)
            if value is None:
                out[name] = pa.nulls(rows, pa.int32() if kind == "int32" else pa.string())
                continue
            filled = np.full(rows, value if kind == "int32" else 0, dtype=np.int32)
            numbers = pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(filled)])
            if kind == "int32":
                out[name] = numbers
            else:
                text = str(value).encode()
                offsets = pa.py_buffer(np.array([0, len(text)], dtype=np.int32))
                word = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(text)])
                out[name] = pa.DictionaryArray.from_arrays(numbers, word)
        return out


def with_partition_columns(
    batch: Any, partitions: Partitions | None, path: str, columns: list[str]
) -> Any:
    """``batch``, read from ``path``, with its wanted partition columns, in ``columns`` order."""
    import pyarrow as pa

    if partitions is None:
        return batch
    added = partitions.arrays(path, batch.num_rows, columns)
    if not added:
        return batch
    arrays = [added[c] if c in added else batch.column(c) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, names=columns)


HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
INT32 = (-(1 << 31), (1 << 31) - 1)


def hive_partitions(path: str, files: list[str], root: str | None = None) -> Partitions | None:
    """The ``key=value`` folders between the named path (``root``: where its glob starts)
    and each file; None when there are none.

    Read as pyarrow's ``HivePartitioning`` reads them (``segment_encoding="uri"``: values
    are percent-decoded; ``__HIVE_DEFAULT_PARTITION__`` is null; a key is int32 when all
    its values are 32-bit integers, else string), which a test checks against
    ``pyarrow.dataset``. That module is not used here: importing it imports pandas.
    """
    from urllib.parse import unquote

    root = posixpath.normpath(glob_root(path if root is None else root))
    values: dict[str, dict[str, Any]] = {}
    seen: dict[str, list[str]] = {}
    for file in files:
        relative = posixpath.relpath(posixpath.normpath(file), root)
        if relative.startswith("../"):
            relative = file
        keys = values[file] = {}
        for folder in relative.split("/")[:-1]:
            key, sep, value = folder.partition("=")
            if not sep or not key:
                continue
            key, value = unquote(key), unquote(value)
            seen.setdefault(key, [])
            keys[key] = None if value == HIVE_NULL else value
            if keys[key] is not None:
                seen[key].append(value)
    if not seen:
        return None
    columns = []
    for key, found in seen.items():
        kind = "int32" if all(_int32(v) for v in found) else "string"
        columns.append((key, kind))
        if kind == "int32":
            for keys in values.values():
                if keys.get(key) is not None:
                    keys[key] = int(keys[key])
    return Partitions(tuple(columns), values)


def _int32(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[0-9]+", text)) and INT32[0] <= int(text) <= INT32[1]
