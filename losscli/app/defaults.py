"""A project's defaults for the command line: ``[defaults]`` in ``losscli.toml``.

The table (``[tool.losscli.defaults]`` in ``pyproject.toml``) sits in the file ``losscli
check`` reads, found the same way (``checks.discover``: the current directory's
``losscli.toml``, else its ``pyproject.toml``), and gives the options a project would
otherwise repeat on every ``eval``, ``grad``, ``compare`` and ``report``::

    [defaults]
    pred = "yhat"                  # --pred yhat (a list: pred = ["p_0", "p_1"])
    target = "label"
    weight = "w"
    group = "region"               # several: group = ["region", "segment"]
    key = "id"                     # compare's row pairing; --key with --targets FILE2
    loss = "huber(delta=0.5),mse"
    convention = "torch"
    from_logits = true

A value is used only when its option is not on the command line (the command line
wins). An unknown key, a value of the wrong type or an invalid delimiter, decimal mark
or input format is an error naming the file and the key. ``losscli check`` checks the
table too, though its checks name their own columns.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscli.app.checks import COMMON_KEYS, Config, ConfigError, check_type, discover
from losscli.io.input_options import decimal_value, delimiter_value

#: each key of the defaults table → the TOML types it takes; the keys are the options'
#: names (--input-format is input_format)
KEYS: dict[str, type | tuple[type, ...]] = {
    **{k: COMMON_KEYS[k] for k in ("loss", "target", "pred", "weight", "group", "var")},
    "key": str,
    **{
        k: COMMON_KEYS[k]
        for k in ("from_logits", "convention", "input_format", "delimiter", "decimal", "pos_label")
    },
}


@dataclass(frozen=True)
class Defaults:
    """The defaults table of the configuration file (``path``), as option values."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)


def load() -> Defaults:
    """The current directory's defaults, checked; no values when there is no table. A
    pyproject.toml that is not valid TOML holds none (it is another tool's file too;
    ``losscli check`` reports it), while a broken losscli.toml is an error."""
    if not Path("losscli.toml").is_file() and not _mentions_losscli(Path("pyproject.toml")):
        return Defaults()  # most projects' pyproject.toml: not parsed on every command
    try:
        found = discover()
    except ConfigError:
        if Path("losscli.toml").is_file():
            raise
        return Defaults()
    if found is None:
        return Defaults()
    path, data, in_pyproject = found
    table = data.get("tool", {}).get("losscli", {}) if in_pyproject else data
    return _table(path, table.get("defaults"), in_pyproject)


def _mentions_losscli(path: Path) -> bool:
    """Whether the file exists and its text holds the word (a [tool.losscli] table must)."""
    try:
        return b"losscli" in path.read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # discover reports what is wrong with it


def check_config(config: Config) -> None:
    """The defaults table of the file ``losscli check`` reads, checked as ``load`` checks
    it, so that a pipeline's check reports a mistake there before a command line meets it."""
    _table(config.path, config.defaults, config.prefix.startswith("tool."))


def _table(path: Path, values: Any, in_pyproject: bool) -> Defaults:
    name = "tool.losscli.defaults" if in_pyproject else "defaults"
    if values is None:
        return Defaults(path)
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: {name!r} must be a table ([{name}])")
    return Defaults(path, _checked(values, f"{path}: [{name}]"))


def _checked(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The table's values as the command line gives them: column lists as lists of names,
    a positive label as text."""
    from losscli.io.sources import FORMATS, known_format

    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key.replace("-", "_"), list(KEYS), n=1)
            raise ConfigError(
                f"{where}: unknown key {key!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint=f"the keys of the defaults: {', '.join(KEYS)}",
            )
        check_type(where, key, value, KEYS[key])
        if key in ("target", "pred"):
            value = [value] if isinstance(value, str) else list(value)
        elif key == "group":
            value = ",".join([value] if isinstance(value, str) else value)
        elif key == "pos_label":
            value = str(value)  # TOML true/false: the labels True/False
        elif key == "delimiter":
            delimiter_value(value, f"{where}: key 'delimiter'")
        elif key == "decimal":
            decimal_value(value, f"{where}: key 'decimal'")
        elif key == "input_format" and not known_format(value):
            raise ConfigError(
                f"{where}: key 'input_format' is {value!r}", hint=f"formats: {', '.join(FORMATS)}"
            )
        out[key] = value
    return out
