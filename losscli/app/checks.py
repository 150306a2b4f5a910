"""``losscli check``: run the model checks declared in ``losscli.toml`` or ``pyproject.toml``.

A check is a table in the ``check`` array (``[[check]]`` in ``losscli.toml``,
``[[tool.losscli.check]]`` in ``pyproject.toml``). It either scores one file
against thresholds, or compares a baseline with a candidate::

    [[check]]
    name = "huber stays low"
    file = "preds.csv"
    loss = "huber(delta=0.5),mse"
    group = "segment"                   # thresholds then apply to every group too
    fail_above = { huber = 0.5 }        # or one number for every loss
    # fail_below = { d2_tweedie = 0.3 } # higher-is-better metrics (D², resolution)

    [[check]]
    name = "no regression"
    baseline = "base.csv"
    candidate = "new.csv"
    loss = "mse"
    max_regression = 0.01               # absolute; max_rel_regression = 0.02 for relative
    # require_significant = false       # fail on any worsening beyond the tolerance

A worsening beyond the tolerance fails a compare check only when it is significant
(its paired bootstrap interval lies wholly on the worse side), as in ``losscli
compare``. A file check needs a rule (``fail_above`` or ``fail_below``).

Paths are relative to the configuration file. A configuration error (unknown key,
unknown loss, missing file, a check without a rule) is exit 2 naming the file, the
check (counted from 1, as ``[[check]] #2``) and the TOML key; only a failed check
exits 1.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from losscli._version import __version__
from losscli.app import thresholds
from losscli.errors import LossCliError, UsageError
from losscli.io.input_options import InputSpec, decimal_value, delimiter_value
from losscli.kernel.streaming import SUMMARIES

SCHEMA = "losscli.check/1"

COMMON_KEYS = {
    "name": str,
    "loss": str,
    "target": (str, list),
    "pred": (str, list),
    "weight": str,
    "group": (str, list),
    "var": str,
    "from_logits": bool,
    "convention": str,
    "dropna": bool,
    "input_format": str,
    "delimiter": str,
    "decimal": str,
    "pos_label": (str, int, bool),
    "params": dict,
    "reduction": str,
    "per_group": bool,
}
EVAL_KEYS = {
    **COMMON_KEYS,
    "file": str,
    "fail_above": (int, float, dict),
    "fail_below": (int, float, dict),
}
# Threshold key → the direction of the losses it gates (see ``Loss.better``).
# the threshold keys and the direction each gates (losscli.app.thresholds)
THRESHOLDS = {kind: direction for kind, (_, direction) in thresholds.KINDS.items()}
COMPARE_KEYS = {
    **COMMON_KEYS,
    "baseline": str,
    "candidate": str,
    "key": str,
    "max_regression": (int, float),
    "max_rel_regression": (int, float),
    "require_significant": bool,
    "bootstrap": int,
    "confidence": float,
    "seed": int,
}


class ConfigError(UsageError):
    """A mistake in the configuration file (exit 2)."""


@dataclass
class Config:
    path: Path
    checks: list[dict[str, Any]]
    prefix: str  # where the checks live: "check" or "tool.losscli.check"
    defaults: Any = None  # the command line's [defaults] table, as read (app.defaults)


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def discover() -> tuple[Path, dict[str, Any], bool] | None:
    """The configuration file of the current directory: ./losscli.toml, else
    ./pyproject.toml when it has a [tool.losscli] table, as (path, its TOML, whether it
    is a pyproject.toml); None when there is neither."""
    if Path("losscli.toml").is_file():
        return Path("losscli.toml"), _load_toml(Path("losscli.toml")), False
    if Path("pyproject.toml").is_file():
        data = _load_toml(Path("pyproject.toml"))
        if "losscli" in data.get("tool", {}):
            return Path("pyproject.toml"), data, True
    return None


def find_config(explicit: str | None) -> Config:
    """The given file, else ./losscli.toml, else ./pyproject.toml's [tool.losscli]."""
    if explicit is not None:
        path = Path(explicit)
        data = _load_toml(path)
        if path.name == "pyproject.toml" or ("tool" in data and "check" not in data):
            return _from_pyproject(path, data)
        return _from_losscli_toml(path, data)
    found = discover()
    if found is not None:
        path, data, in_pyproject = found
        return (_from_pyproject if in_pyproject else _from_losscli_toml)(path, data)
    raise ConfigError(
        "no checks found: there is no losscli.toml here and no [tool.losscli] in pyproject.toml",
        hint="declare [[check]] tables in losscli.toml, or pass --config FILE",
    )


def _from_losscli_toml(path: Path, data: Mapping[str, Any]) -> Config:
    unknown = [k for k in data if k not in ("check", "defaults")]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}",
            hint="declare checks as [[check]] tables, the command line's defaults as [defaults]",
        )
    checks = _check_list(path, data.get("check"), "check")
    return Config(path, checks, "check", data.get("defaults"))


def _from_pyproject(path: Path, data: Mapping[str, Any]) -> Config:
    section = data.get("tool", {}).get("losscli")
    if section is None:
        raise ConfigError(f"{path}: no [tool.losscli] section")
    unknown = [k for k in section if k not in ("check", "defaults")]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key 'tool.losscli.{unknown[0]}'",
            hint="declare checks as [[tool.losscli.check]] tables, the command line's defaults "
            "as [tool.losscli.defaults]",
        )
    checks = _check_list(path, section.get("check"), "tool.losscli.check")
    return Config(path, checks, "tool.losscli.check", section.get("defaults"))


def _check_list(path: Path, checks: Any, prefix: str) -> list[dict[str, Any]]:
    if not checks:
        raise ConfigError(f"{path}: no checks: add a [[{prefix}]] table")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise ConfigError(f"{path}: {prefix!r} must be an array of tables ([[{prefix}]])")
    return checks


def _label(check: Mapping[str, Any], index: int) -> str:
    return str(check.get("name") or f"check {index + 1}")


def _where(config: Config, index: int, check: Mapping[str, Any]) -> str:
    """Where a check is, counted from 1 as its default name is: "f.toml: [[check]] #2 (name)"."""
    name = check.get("name")
    named = f" ({name})" if isinstance(name, str) and name.strip() else ""
    return f"{config.path}: [[{config.prefix}]] #{index + 1}{named}"


_TYPE_NAMES = {
    str: "a string",
    list: "a list of column names",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    dict: "a table",
}


def _expected(types: tuple[type, ...]) -> str:
    if types == (int, float):
        return "a number"
    if types == (int, float, dict):
        return "a number, or a table of numbers by loss ({ mse = 0.5 })"
    if types == (str, list):
        return "a column name or a list of column names"
    return " or ".join(_TYPE_NAMES[t] for t in types)


def _toml_type(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return {str: "a string", list: "an array", dict: "a table"}.get(type(value), "a date or time")


# The CLI flags that messages and hints name, as the TOML keys of a check: an error met
# while running a check names the key to set in the configuration file, not the flag.
_FLAG_KEYS = {
    "--pred": "pred",
    "--target": "target",
    "--weight": "weight",
    "--group": "group",
    "--var": "var",
    "--key": "key",
    "--loss": "loss",
    "--convention": "convention",
    "--input-format": "input_format",
    "--reduction": "reduction",
    "--dropna": "dropna",
    "--from-logits": "from_logits",
    "--bootstrap": "bootstrap",
    "--confidence": "confidence",
    "--seed": "seed",
    "--tolerance": "max_regression",
    "--rel-tolerance": "max_rel_regression",
    "--require-significant": "require_significant",
    "--fail-above": "fail_above",
    "--fail-below": "fail_below",
    "--decimal": "decimal",
    "--delimiter": "delimiter",
    "--pos-label": "pos_label",
}
_BOOL_FLAGS = {"--dropna", "--from-logits", "--require-significant"}
# lower-case values
_WORD_FLAGS = {
    "--reduction",
    "--convention",
    "--input-format",
    "--loss",
    "--pos-label",
    "--delimiter",
}
_NUMBER_FLAGS = {"--bootstrap", "--confidence", "--seed", "--tolerance", "--rel-tolerance"}
_FLAG = re.compile(
    r"(?<![\w-])(--[a-z][a-z-]*)"
    r"(?: ('[^']*'|[A-Z][A-Z0-9_]*\b|-?[0-9][0-9.e+-]*|[a-z][a-z0-9_]*(?=$|[ ,;:)])))?"
)


def toml_terms(text: str | None) -> str | None:
    """A message or hint with CLI flags said as configuration keys.

    ``--pred COL`` → ``pred = "COL"``, ``--pred 'p_*'`` → ``pred = "p_*"``, ``--dropna`` →
    ``dropna = true``, a bare ``--pred`` → ``key 'pred'``; other flags stay.
    """
    if text is None:
        return None

    def swap(match: re.Match) -> str:
        flag, value = match.group(1), match.group(2)
        key = _FLAG_KEYS.get(flag)
        if key is None:
            return match.group(0)
        if flag in _BOOL_FLAGS:
            return f"{key} = true" + (f" {value}" if value else "")
        if value is None or (value[0].islower() and flag not in _WORD_FLAGS):
            return f"key {key!r}" + (f" {value}" if value else "")
        if flag not in _NUMBER_FLAGS and (value[0] == "'" or value[0].isalpha()):
            return f"{key} = {json.dumps(value.strip(chr(39)))}"
        return f"{key} = {value}"

    return _FLAG.sub(swap, text)


def validate(config: Config) -> None:
    """Every check's keys, types, loss names, files and rule, before anything runs."""
    from losscli.binding.objective import objectives_for

    names: dict[str, int] = {}
    for i, check in enumerate(config.checks):
        where = _where(config, i, check)
        compare = "baseline" in check or "candidate" in check
        allowed = COMPARE_KEYS if compare else EVAL_KEYS
        kind = "compare check (baseline, candidate)" if compare else "file check"
        for key, value in check.items():
            if key not in allowed:
                other = EVAL_KEYS if compare else COMPARE_KEYS
                if key in other:
                    why = f" (it belongs to a {'file' if compare else 'baseline/candidate'} check)"
                else:
                    close = difflib.get_close_matches(key, list(allowed), n=1)
                    why = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{where}: unknown key {key!r}{why}",
                    hint=f"the keys of a {kind}: {', '.join(sorted(allowed))}",
                )
            check_type(where, key, value, allowed[key])
        _check_values(check, where)
        needed = ("baseline", "candidate", "loss") if compare else ("file", "loss")
        for key in needed:
            if key not in check:
                raise ConfigError(f"{where}: missing key {key!r}")
        name = _label(check, i)
        if name in names:
            raise ConfigError(
                f"{where}: {'[[' + config.prefix + ']]'} #{names[name] + 1} has the same name "
                f"{name!r}",
                hint="give every check its own name: the summary and the JSON name checks by it",
            )
        names[name] = i
        try:
            objectives_for(
                check["loss"],
                check.get("params") or {},
                check.get("from_logits"),
                check.get("convention"),
            )
        except LossCliError as exc:
            raise ConfigError(
                f"{where}: key 'loss': {toml_terms(exc.message)}", hint=toml_terms(exc.hint)
            ) from None
        for key in ("file", "baseline", "candidate"):
            if key in check and not _resolve(config, check[key]).exists():
                raise ConfigError(
                    f"{where}: key {key!r}: no such file {check[key]!r}",
                    hint=f"paths are relative to {config.path.parent or Path('.')}",
                )
        directions = _directions(check)
        for key, direction in THRESHOLDS.items():
            _check_thresholds(check.get(key), key, direction, directions, where)
        if not compare and not any(key in check for key in THRESHOLDS):
            lower = next((k for k, d in directions.items() if d == "lower"), None)
            example = (
                f"fail_above = {{ {_bare(lower)} = VALUE }}"
                if lower
                else f"fail_below = {{ {_bare(next(iter(directions)))} = VALUE }}"
            )
            raise ConfigError(
                f"{where}: the check has no rule, so it could never fail",
                hint=f"add {example} (fail_above gates losses, fail_below "
                "higher-is-better metrics such as D²)",
            )


def check_type(where: str, key: str, value: Any, allowed: type | tuple[type, ...]) -> None:
    """A key's value has one of the ``allowed`` TOML types and is not empty (or NaN)."""
    types = allowed if isinstance(allowed, tuple) else (allowed,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ConfigError(
            f"{where}: key {key!r} has the wrong type: {_toml_type(value)} "
            f"({value!r}), it takes {_expected(types)}"
        )
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key {key!r} must list column names as strings")
    if isinstance(value, float) and value != value:
        raise ConfigError(f"{where}: key {key!r} is NaN")
    if (isinstance(value, str) and not value.strip()) or value in ([], {}):
        raise ConfigError(
            f"{where}: key {key!r} is empty", hint="give it a value, or leave the key out"
        )
    if isinstance(value, list) and not all(v.strip() for v in value):
        raise ConfigError(f"{where}: key {key!r} lists an empty column name")


def _bare(label: str) -> str:
    """A loss label as a TOML key of fail_above: bare if it can be, else quoted."""
    name = label.split("(")[0].strip()
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(label)


def _directions(check: Mapping[str, Any]) -> dict[str, str | None]:
    """Each loss label of a check → which way is better ("lower", "higher" or None)."""
    from losscli.binding.objective import objectives_for

    return {
        label: thresholds.better(obj)
        for label, obj in objectives_for(check["loss"], check.get("params") or {})
    }


def _check_thresholds(
    limits: Any, key: str, direction: str, directions: Mapping[str, str | None], where: str
) -> None:
    """A threshold must name losses of the check whose direction it gates."""
    if limits is None:
        return
    other = thresholds.other_kind(key)
    if not isinstance(limits, dict):
        if direction not in directions.values():
            flip = "higher" if direction == "lower" else "lower"
            raise ConfigError(
                f"{where}: key {key!r} gates {direction}-is-better losses, and the check has none",
                hint=f"its losses: {', '.join(directions)}; {other} gates {flip}-is-better ones",
            )
        return
    for name, value in limits.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key}.{name} must be a number")
        named = [
            label for label in directions if thresholds.limit_for({name: 0.0}, label) is not None
        ]
        if not named:
            raise ConfigError(
                f"{where}: key '{key}.{name}' names no loss of this check",
                hint=f"the check's losses: {', '.join(directions)}",
            )
        for label in named:
            if directions[label] != direction:
                way = directions[label]
                raise ConfigError(
                    f"{where}: key '{key}.{name}': {label} is "
                    + (
                        "neither higher- nor lower-is-better" if way is None else f"{way}-is-better"
                    ),
                    hint="it takes no threshold" if way is None else f"use {other}.{name}",
                )


def _check_values(check: Mapping[str, Any], where: str) -> None:
    """Values of the right type that are still invalid, named by their key."""
    from losscli.io.sources import FORMATS, known_format

    if check.get("reduction", "mean") not in SUMMARIES:
        raise ConfigError(
            f"{where}: key 'reduction' must be "
            + ", ".join(f'"{r}"' for r in SUMMARIES[:-1])
            + f' or "{SUMMARIES[-1]}"'
        )
    if check.get("bootstrap", 0) < 0:
        raise ConfigError(f"{where}: key 'bootstrap' must be 0 (none) or more replicates")
    if not 0.0 < check.get("confidence", 0.95) < 1.0:
        raise ConfigError(f"{where}: key 'confidence' must be in (0, 1), e.g. 0.95")
    if check.get("seed", 0) < 0:
        raise ConfigError(f"{where}: key 'seed' must be 0 or more")
    if "per_group" in check and "group" not in check:
        raise ConfigError(
            f"{where}: key 'per_group' needs key 'group': without it there are no group rows",
            hint='add group = "COL", or leave out per_group',
        )
    if check.get("bootstrap") == 0 and ("confidence" in check or "seed" in check):
        key = "confidence" if "confidence" in check else "seed"
        raise ConfigError(
            f"{where}: key {key!r} shapes the bootstrap interval, and 'bootstrap' is 0",
            hint=f"leave out {key}, or give bootstrap = 1000 (the default)",
        )
    if check.get("require_significant") is True and check.get("bootstrap") == 0:
        raise ConfigError(
            f"{where}: key 'require_significant' needs an interval, and 'bootstrap' is 0",
            hint="give bootstrap = 1000 (the default), or require_significant = false",
        )
    for key in ("max_regression", "max_rel_regression"):
        if check.get(key, 0) < 0:
            raise ConfigError(f"{where}: key {key!r} must be >= 0")
    fmt = check.get("input_format")
    if fmt is not None and not known_format(fmt):
        raise ConfigError(
            f"{where}: key 'input_format' is {fmt!r}", hint=f"formats: {', '.join(FORMATS)}"
        )
    for key in THRESHOLDS:
        limits = check.get(key)
        values = (
            limits.values() if isinstance(limits, dict) else [limits] if limits is not None else []
        )
        if any(isinstance(v, float) and v != v for v in values):
            raise ConfigError(f"{where}: key {key!r} holds NaN")


def _resolve(config: Config, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or path == "-" else config.path.parent / p


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def input_spec(check: Mapping[str, Any]) -> InputSpec:
    """A check's input options (its keys, as the flags of eval and compare name them)."""
    label = check.get("pos_label")
    if isinstance(label, bool):
        label = str(label)  # TOML true/false: the labels True/False
    return InputSpec(
        target=_list(check.get("target")),
        pred=_list(check.get("pred")),
        weight=check.get("weight"),
        group=",".join(_list(check.get("group"))) or None,
        var=check.get("var"),
        key=check.get("key"),
        from_logits=check.get("from_logits"),
        convention=check.get("convention"),
        dropna=check.get("dropna", False),
        input_format=check.get("input_format"),
        delimiter=delimiter_value(check.get("delimiter"), "key 'delimiter'"),
        decimal=decimal_value(check.get("decimal"), "key 'decimal'"),
        pos_label=None if label is None else str(label),
    )


def _run_eval(config: Config, check: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
    from losscli.app.evaluation import evaluate

    path = _resolve(config, check["file"])
    doc = evaluate(
        str(path),
        check["loss"],
        input_spec(check),
        check.get("params") or {},
        reduction=check.get("reduction", "mean"),
    )
    directions = _directions(check)
    per_group = check.get("per_group", True)
    rows = []
    for r in doc["results"]:
        if r["group"] is not None and not per_group:
            continue
        limit, rule, passed = None, None, True
        for key, direction in THRESHOLDS.items():
            found = thresholds.limit_for(check.get(key), r["loss"])
            if found is not None and directions.get(r["loss"]) == direction:
                limit = found
                rule = thresholds.rule(key, limit)
                passed = thresholds.passes(key, r["value"], limit)
        rows.append(
            {
                "loss": r["loss"],
                "group": r["group"],
                "value": r["value"],
                "baseline": None,
                "difference": None,
                "ci_low": None,
                "ci_high": None,
                "limit": limit,
                "rule": rule,
                "passed": bool(passed),
                "reason": None if rule is not None else thresholds.NOT_GATED,
            }
        )
    return rows, str(path)


def _run_compare(config: Config, check: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
    from losscli.app.compare import compare, rule_text

    base, cand = _resolve(config, check["baseline"]), _resolve(config, check["candidate"])
    doc = compare(
        str(base),
        str(cand),
        check["loss"],
        input_spec(check),
        check.get("params") or {},
        reduction=check.get("reduction", "mean"),
        bootstrap_replicates=check.get("bootstrap", 1000),
        confidence=check.get("confidence", 0.95),
        seed=check.get("seed", 0),
        tolerance=check.get("max_regression"),
        rel_tolerance=check.get("max_rel_regression"),
        require_significant=check.get("require_significant"),
    )
    per_group = check.get("per_group", True)
    text = rule_text(doc["rule"])
    rows = []
    for r in doc["results"]:
        if r["group"] is not None and not per_group:
            continue
        rows.append(
            {
                "loss": r["loss"],
                "group": r["group"],
                "value": r["candidate"],
                "baseline": r["baseline"],
                "difference": r["difference"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "limit": None,
                "rule": text,
                "passed": not r["regression"],
                "reason": r["reason"],
            }
        )
    return rows, f"{base} → {cand}"


def run_checks(config: Config, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Validate the configuration, run every check, and return the ``losscli.check/1`` document."""
    validate(config)
    out = []
    for i, check in enumerate(config.checks):
        name = _label(check, i)
        compare = "baseline" in check
        try:
            rows, subject = (_run_compare if compare else _run_eval)(config, check)
        except LossCliError as exc:
            exc.message = f"{_where(config, i, check)}: {toml_terms(exc.message)}"
            exc.hint = toml_terms(exc.hint)
            raise
        out.append(
            {
                "name": name,
                "kind": "compare" if compare else "eval",
                "subject": subject,
                "results": rows,
                "passed": all(r["passed"] for r in rows),
            }
        )
    return {
        "schema": SCHEMA,
        "version": __version__,
        "config": str(config.path),
        "checks": out,
        "passed": all(c["passed"] for c in out),
    }
