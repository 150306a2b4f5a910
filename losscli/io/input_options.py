"""How text inputs are read: the CSV delimiter and decimal mark, and the positive label.

The CLI's ``--delimiter``, ``--decimal`` and ``--pos-label`` (``losscli.cli.options``) set
them for the command being run, ``losscli check`` for each check from its keys; a
``Source`` copies the CSV settings when it is created, so the parallel range readers
of one file share them. Nothing heavy is imported here (``--help`` stays light).
"""

from __future__ import annotations

from dataclasses import dataclass

from losscli.errors import UsageError

#: the delimiters a header line is sniffed for, the first one winning a tie
DELIMITERS = (",", ";", "\t", "|")
_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass
class InputOptions:
    delimiter: str | None = None  # None: sniffed from the header line (TSV: tab)
    decimal: str = "."
    pos_label: str | None = None  # the positive class of a binary text or boolean target


current = InputOptions()


def reset() -> None:
    global current
    current = InputOptions()


def delimiter_value(value: str | None, flag: str = "--delimiter") -> str | None:
    """A delimiter as written (``;``, ``tab`` or ``\\t``, ``|``, ...): one character."""
    if value is None:
        return None
    value = _NAMES.get(value.lower(), value)
    if len(value) != 1 or value in '\r\n"':
        raise UsageError(
            f"{flag} {value!r}: a delimiter is one character",
            hint="e.g. ';', '|' or tab",
        )
    return value


def decimal_value(value: str | None, flag: str = "--decimal") -> str:
    if value is None:
        return "."
    if value not in (".", ","):
        raise UsageError(f"{flag} {value!r}: the decimal mark is '.' or ','")
    return value
