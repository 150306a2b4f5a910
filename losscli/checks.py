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

Paths are relative to the configuration file. A configuration error (unknown key,
unknown loss, missing file) is exit 2 naming the file and the key; only a failed
check exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from losscli._version import __version__
from losscli.errors import LossCliError, UsageError

SCHEMA = "losscli.check/1"

COMMON_KEYS = {
    "name": str,
    "loss": str,
    "target": (str, list),
    "pred": (str, list),
    "weight": str,
    "group": str,
    "var": str,
    "from_logits": bool,
    "convention": str,
    "dropna": bool,
    "input_format": str,
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
THRESHOLDS = {"fail_above": "lower", "fail_below": "higher"}
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


def find_config(explicit: str | None) -> Config:
    """The given file, else ./losscli.toml, else ./pyproject.toml's [tool.losscli]."""
    if explicit is not None:
        path = Path(explicit)
        data = _load_toml(path)
        if path.name == "pyproject.toml" or "tool" in data:
            return _from_pyproject(path, data)
        return _from_losscli_toml(path, data)
    if Path("losscli.toml").is_file():
        return _from_losscli_toml(Path("losscli.toml"), _load_toml(Path("losscli.toml")))
    if Path("pyproject.toml").is_file():
        data = _load_toml(Path("pyproject.toml"))
        if "losscli" in data.get("tool", {}):
            return _from_pyproject(Path("pyproject.toml"), data)
    raise ConfigError(
        "no checks found: there is no losscli.toml here and no [tool.losscli] in pyproject.toml",
        hint="declare [[check]] tables in losscli.toml, or pass --config FILE",
    )


def _from_losscli_toml(path: Path, data: Mapping[str, Any]) -> Config:
    unknown = [k for k in data if k != "check"]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}", hint="declare checks as [[check]] tables"
        )
    return Config(path, _check_list(path, data.get("check"), "check"), "check")


def _from_pyproject(path: Path, data: Mapping[str, Any]) -> Config:
    section = data.get("tool", {}).get("losscli")
    if section is None:
        raise ConfigError(f"{path}: no [tool.losscli] section")
    unknown = [k for k in section if k != "check"]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key 'tool.losscli.{unknown[0]}'",
            hint="declare checks as [[tool.losscli.check]] tables",
        )
    return Config(
        path, _check_list(path, section.get("check"), "tool.losscli.check"), "tool.losscli.check"
    )


def _check_list(path: Path, checks: Any, prefix: str) -> list[dict[str, Any]]:
    if not checks:
        raise ConfigError(f"{path}: no checks: add a [[{prefix}]] table")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise ConfigError(f"{path}: {prefix!r} must be an array of tables ([[{prefix}]])")
    return checks


def _label(check: Mapping[str, Any], index: int) -> str:
    return str(check.get("name") or f"check {index + 1}")


def validate(config: Config) -> None:
    """Every check's keys, types, loss names and files, before anything runs."""
    from losscli.objective import objectives_for

    for i, check in enumerate(config.checks):
        where = f"{config.path}: {config.prefix}[{i}] ({_label(check, i)})"
        compare = "baseline" in check or "candidate" in check
        allowed = COMPARE_KEYS if compare else EVAL_KEYS
        for key, value in check.items():
            if key not in allowed:
                other = EVAL_KEYS if compare else COMPARE_KEYS
                why = (
                    f" (it belongs to a {'file' if compare else 'baseline/candidate'} check)"
                    if key in other
                    else ""
                )
                raise ConfigError(
                    f"{where}: unknown key {key!r}{why}",
                    hint=f"keys: {', '.join(sorted(allowed))}",
                )
            types = allowed[key] if isinstance(allowed[key], tuple) else (allowed[key],)
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ConfigError(f"{where}: key {key!r} has the wrong type ({value!r})")
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: key {key!r} must list column names as strings")
            if isinstance(value, float) and value != value:
                raise ConfigError(f"{where}: key {key!r} is NaN")
        _check_values(check, where)
        needed = ("baseline", "candidate", "loss") if compare else ("file", "loss")
        for key in needed:
            if key not in check:
                raise ConfigError(f"{where}: missing key {key!r}")
        try:
            objectives_for(
                check["loss"],
                check.get("params") or {},
                check.get("from_logits"),
                check.get("convention"),
            )
        except LossCliError as exc:
            raise ConfigError(f"{where}: key 'loss': {exc.message}", hint=exc.hint) from None
        for key in ("file", "baseline", "candidate"):
            if key in check and not _resolve(config, check[key]).exists():
                raise ConfigError(
                    f"{where}: key {key!r}: no such file {check[key]!r}",
                    hint=f"paths are relative to {config.path.parent or Path('.')}",
                )
        directions = _directions(check)
        for key, direction in THRESHOLDS.items():
            _check_thresholds(check.get(key), key, direction, directions, where)


def _directions(check: Mapping[str, Any]) -> dict[str, str | None]:
    """Each loss label of a check → which way is better ("lower", "higher" or None)."""
    from losscli.objective import BoundLoss, objectives_for

    return {
        label: obj.loss.better if isinstance(obj, BoundLoss) else "lower"
        for label, obj in objectives_for(check["loss"], check.get("params") or {})
    }


def _check_thresholds(
    limits: Any, key: str, direction: str, directions: Mapping[str, str | None], where: str
) -> None:
    """A threshold must name losses of the check whose direction it gates."""
    if limits is None:
        return
    other = {"fail_above": "fail_below", "fail_below": "fail_above"}[key]
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
        named = [label for label in directions if _limit({name: 0.0}, label) is not None]
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
    from losscli.io import FORMATS

    if check.get("reduction", "mean") not in ("mean", "sum", "median", "max", "p95"):
        raise ConfigError(
            f'{where}: key \'reduction\' must be "mean", "sum", "median", "max" or "p95"'
        )
    if check.get("bootstrap", 0) < 0:
        raise ConfigError(f"{where}: key 'bootstrap' must be 0 (none) or more replicates")
    if not 0.0 < check.get("confidence", 0.95) < 1.0:
        raise ConfigError(f"{where}: key 'confidence' must be in (0, 1), e.g. 0.95")
    for key in ("max_regression", "max_rel_regression"):
        if check.get(key, 0) < 0:
            raise ConfigError(f"{where}: key {key!r} must be >= 0")
    fmt = check.get("input_format")
    if fmt is not None and fmt.lower() not in (*FORMATS, "pq", "json", "ndjson"):
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


def _common(check: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "target": _list(check.get("target")),
        "pred": _list(check.get("pred")),
        "weight": check.get("weight"),
        "group": check.get("group"),
        "var": check.get("var"),
        "from_logits": check.get("from_logits"),
        "convention": check.get("convention"),
        "dropna": check.get("dropna", False),
        "input_format": check.get("input_format"),
        "params": check.get("params") or {},
    }


def _run_eval(config: Config, check: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
    from losscli.files import evaluate_file

    path = _resolve(config, check["file"])
    doc = evaluate_file(
        str(path), check["loss"], reduction=check.get("reduction", "mean"), **_common(check)
    )
    directions = _directions(check)
    per_group = check.get("per_group", True)
    rows = []
    for r in doc["results"]:
        if r["group"] is not None and not per_group:
            continue
        limit, rule, passed = None, None, True
        for key, direction in THRESHOLDS.items():
            found = _limit(check.get(key), r["loss"])
            if found is not None and directions.get(r["loss"]) == direction:
                limit = found
                rule = f"<= {limit:g}" if key == "fail_above" else f">= {limit:g}"
                passed = r["value"] <= limit if key == "fail_above" else r["value"] >= limit
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
            }
        )
    return rows, str(path)


def _limit(limits: Any, label: str) -> float | None:
    """The threshold for a loss label: a number for every loss, or by name or alias."""
    if limits is None:
        return None
    if isinstance(limits, (int, float)):
        return float(limits)
    if label in limits:
        return float(limits[label])
    canonical = _canonical(label)
    for name, value in limits.items():
        if canonical is not None and _canonical(name) == canonical:
            return float(value)
    return None


def _canonical(label: str) -> str | None:
    from losscli.registry import get_loss

    try:
        return get_loss(label.split("(")[0].strip()).name
    except LossCliError:
        return None


def _run_compare(config: Config, check: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
    from losscli.compare import compare_files

    base, cand = _resolve(config, check["baseline"]), _resolve(config, check["candidate"])
    doc = compare_files(
        str(base),
        str(cand),
        check["loss"],
        key=check.get("key"),
        reduction=check.get("reduction", "mean"),
        bootstrap_replicates=check.get("bootstrap", 1000),
        confidence=check.get("confidence", 0.95),
        seed=check.get("seed", 0),
        tolerance=check.get("max_regression"),
        rel_tolerance=check.get("max_rel_regression"),
        require_significant=check.get("require_significant", False),
        **_common(check),
    )
    per_group = check.get("per_group", True)
    rows = []
    for r in doc["results"]:
        if r["group"] is not None and not per_group:
            continue
        rule = doc["rule"]
        parts = []
        if rule["tolerance"] is not None:
            parts.append(f"Δ <= {rule['tolerance']:g}")
        if rule["rel_tolerance"] is not None:
            parts.append(f"Δ <= {rule['rel_tolerance']:g}·|baseline|")
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
                "rule": " or ".join(parts) or "Δ <= 0",
                "passed": not r["regression"],
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
            exc.message = f"{config.path}: {config.prefix}[{i}] ({name}): {exc.message}"
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


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def summary_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for check in doc["checks"]:
        for r in check["results"]:
            rows.append(
                [
                    check["name"],
                    r["loss"],
                    "(all)" if r["group"] is None else str(r["group"]),
                    _g(r["value"]),
                    _g(r.get("baseline")),
                    r["rule"] or "-",
                    "passed" if r["passed"] else "FAILED",
                ]
            )
    return rows


SUMMARY_COLUMNS = ["check", "loss", "group", "value", "baseline", "rule", "result"]


def summary_line(doc: Mapping[str, Any]) -> str:
    failed = [c["name"] for c in doc["checks"] if not c["passed"]]
    total = len(doc["checks"])
    if not failed:
        return f"{total} of {total} checks passed"
    return f"{len(failed)} of {total} checks failed: {', '.join(failed)}"


def render(doc: Mapping[str, Any], fmt: str) -> str:
    from losscli.output import json_text, markdown_table, plain_table

    if fmt == "json":
        return json_text(doc)
    rows = summary_rows(doc)
    if fmt == "markdown":
        icon = "✅" if doc["passed"] else "❌"
        rows = [[*r[:-1], "✅ passed" if r[-1] == "passed" else "❌ failed"] for r in rows]
        lines = [
            f"### {icon} losscli check: {summary_line(doc)}",
            "",
            *markdown_table(SUMMARY_COLUMNS, rows),
        ]
        return "\n".join(lines) + "\n"
    return "\n".join([*plain_table(SUMMARY_COLUMNS, rows), "", summary_line(doc)]) + "\n"
