"""A Parquet dataset named by a path: one file, a directory, a glob or an fsspec URL.

The files are listed once, in one order, so that both engines number the rows the
same way: a directory is searched recursively, a glob (``data/*.parquet``,
``data/**/part-*.pq``) is expanded, and each match that is a directory counts as a
directory. Only ``.parquet``/``.pq`` files count; files and folders whose names start
with ``.`` or ``_`` (``_SUCCESS``, ``_temporary/``, ``.ipynb_checkpoints/``) are
skipped, as Spark, Hive and pyarrow skip them. Files are sorted by their path
components. A URL (``s3://bucket/preds/``, ``gs://…``, ``file:///…``) is read through
fsspec, which needs the filesystem's package (s3fs, gcsfs, adlfs, …).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from losscli.errors import InputError

SUFFIXES = (".parquet", ".pq")
GLOB_CHARS = "*?["


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


def _order(paths: list[str]) -> list[str]:
    return sorted(dict.fromkeys(paths), key=lambda p: p.split("/"))


def parquet_files(path: str) -> tuple[list[str], Any]:
    """The dataset's files in row order, and the fsspec filesystem (None for local paths)."""
    if is_url(path):
        return _remote_files(path)
    return _local_files(path), None


def _local_files(path: str) -> list[str]:
    p = Path(path)
    if p.is_file():
        return [path]
    if p.is_dir():
        files = _local_tree(path)
        if not files:
            raise InputError(f"{path}: the directory has no .parquet files")
        return files
    if not has_glob(path):
        raise InputError(f"{path}: no such file or directory")
    files = []
    for match in glob.glob(path, recursive=True):
        if os.path.isdir(match):
            files += _local_tree(match)
        elif match.lower().endswith(SUFFIXES):
            files.append(match)
    if not files:
        raise InputError(
            f"{path}: no .parquet files match", hint="check the pattern (quote it for the shell)"
        )
    return _order(files)


def _local_tree(directory: str) -> list[str]:
    base = Path(directory)
    found = [
        str(f)
        for f in base.rglob("*")
        if f.suffix.lower() in SUFFIXES
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
