"""How text inputs are read: the CSV delimiter and decimal mark, and the positive label.

``InputSpec`` holds every input option of a command, built once from the command line
(``losscli.cli.options.with_input_options``), from a check's keys (``losscli check``)
or from the Python API's keywords, and passed down whole. ``detect_format`` gives a
``Source`` the CSV settings of its ``dialect``. Nothing heavy is imported here
(``--help`` stays light).
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


@dataclass(frozen=True)
class InputSpec:
    """How to read one predictions file: every input option of eval, grad and compare.

    Built once from the command line (``losscli.cli.options``), from a ``losscli.toml``
    check (``losscli.app.checks``) or from the Python API's keywords, and passed down
    whole; the loss parameters travel beside it. Column lists are tuples of names.
    """

    target: tuple[str, ...] = ()
    pred: tuple[str, ...] = ()
    var: str | None = None  # the variance column (gaussian_nll)
    weight: str | None = None
    group: str | None = None
    key: str | None = None  # joins --targets FILE2 (eval, grad), pairs rows (compare)
    targets: str | None = None  # a second file holding the targets
    from_logits: bool | None = None  # None: the loss's (or the convention's) default
    convention: str | None = None
    dropna: bool = False
    input_format: str | None = None  # csv, tsv, parquet or jsonl; None: by extension
    delimiter: str | None = None  # None: sniffed from the header line (TSV: tab)
    decimal: str = "."
    pos_label: str | None = None  # the positive class of a binary text or boolean target
    keep: tuple[str, ...] = ()  # columns copied into per-row output (--keep)
    engine: str = "local"
    scheduler: str | None = None
    # the options filled from losscli.toml's [defaults] (a loss that does not read one of
    # them leaves it unused rather than refused: the command line could not take it back)
    defaulted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """An empty column name (``--weight ''``, an unset shell variable) is refused: the
        option would otherwise be dropped, or fail later as something else."""
        named = {"target": self.target, "pred": self.pred, "keep": self.keep}
        named |= {"var": self.var, "weight": self.weight, "group": self.group, "key": self.key}
        for name, value in named.items():
            values = value if isinstance(value, tuple) else () if value is None else (value,)
            if any(part == "" for v in values for part in v.split(",")):
                raise UsageError(
                    f"--{name} {','.join(values)!r}: an empty column name in the list"
                    if values != ("",)
                    else f"--{name} is empty: it names no column",
                    hint=f"name a column (a comma list for several), or leave --{name} out",
                )

        targets = {p for v in self.target for p in v.split(",")}
        both = sorted(targets & {p for v in self.pred for p in v.split(",")})
        if both:
            raise UsageError(
                f"--target and --pred both name {', '.join(map(repr, both))}: a column "
                "compared with itself has no loss",
                hint="give the prediction column to --pred and the target column to --target",
            )

    @property
    def dialect(self) -> InputOptions:
        """How the text of a CSV file is read (delimiter, decimal mark, positive label)."""
        return InputOptions(self.delimiter, self.decimal, self.pos_label)
