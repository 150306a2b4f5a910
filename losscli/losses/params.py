"""Loss parameters: declaration, parsing from text, and validation with the valid range."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from losscli.errors import ParamError

# A parameter's kind decides how text such as "0.5", "1,5" or "none" is read.
FLOAT, INT, FLOATS, BOOL = "float", "int", "floats", "bool"
# One word out of a fixed set (``choices``), e.g. binning=width|mass.
CHOICE = "choice"


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a loss: its default, its kind and its valid range.

    ``check`` returns True for a valid value; ``valid`` says the range in words
    (it is what the error message prints). ``default=None`` means "unset".
    """

    name: str
    default: Any
    kind: str = FLOAT
    check: Callable[[Any], bool] | None = None
    valid: str = "a number"
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> Any:
        """Read a value from command-line text (``0.5``, ``1,5``, ``none``, ``true``)."""
        raw = text.strip()
        if raw.lower() in ("none", "null", ""):
            return None
        try:
            if self.kind == FLOAT:
                return float(raw)
            if self.kind == INT:
                value = float(raw)
                if not value.is_integer():
                    raise ValueError
                return int(value)
            if self.kind == FLOATS:
                return tuple(float(part) for part in raw.strip("[]()").split(",") if part.strip())
            if self.kind == CHOICE:
                if raw.lower() not in self.choices:
                    raise ValueError
                return raw.lower()
            if self.kind == BOOL:
                if raw.lower() in ("1", "true", "yes", "on"):
                    return True
                if raw.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
        except ValueError:
            raise ParamError(self.name, text, self.valid) from None
        raise AssertionError(f"unknown parameter kind {self.kind}")

    def validate(self, value: Any, loss: str | None = None) -> Any:
        """Return the value normalised to its kind, or raise ParamError."""
        if value is None:
            if self.required:
                raise ParamError(self.name, None, f"given ({self.valid})", loss)
            return None
        if isinstance(value, str):
            value = self.parse(value)
            if value is None:
                return self.validate(value, loss)
        try:
            if self.kind == FLOAT:
                if isinstance(value, bool):
                    raise TypeError
                value = float(value)
                ok = math.isfinite(value)
            elif self.kind == INT:
                if isinstance(value, bool) or float(value) != int(value):
                    raise TypeError
                value = int(value)
                ok = True
            elif self.kind == FLOATS:
                value = tuple(float(v) for v in value)
                ok = len(value) > 0 and all(math.isfinite(v) for v in value)
            elif self.kind == CHOICE:
                if not isinstance(value, str) or value.lower() not in self.choices:
                    raise TypeError
                value = value.lower()
                ok = True
            else:
                if not isinstance(value, bool):
                    raise TypeError
                ok = True
        except (TypeError, ValueError, OverflowError):
            raise ParamError(self.name, value, self.valid, loss) from None
        if not ok or (self.check is not None and not self.check(value)):
            raise ParamError(self.name, value, self.valid, loss)
        return value


def positive(v: float) -> bool:
    return v > 0


def non_negative(v: float) -> bool:
    return v >= 0


def unit_closed(v: float) -> bool:
    return 0 <= v <= 1


def unit_open(v: float) -> bool:
    return 0 < v < 1


def unit_left_closed(v: float) -> bool:
    return 0 <= v < 1


def all_non_negative(v: tuple[float, ...]) -> bool:
    return all(x >= 0 for x in v) and any(x > 0 for x in v)


def tweedie_power(v: float) -> bool:
    return v <= 0 or v >= 1


# The shared parameters: the same name means the same thing in every loss that takes it.
EPS = Param("eps", 1e-7, check=positive, valid="> 0", help="probability clipping floor")
DELTA = Param("delta", 1.0, check=positive, valid="> 0", help="Huber threshold δ")
BETA_L1 = Param("beta", 1.0, check=positive, valid="> 0", help="smooth-L1 threshold β")
QUANTILE = Param("quantile", 0.5, check=unit_open, valid="in (0, 1)", help="quantile q")
GAMMA = Param("gamma", 2.0, check=non_negative, valid=">= 0", help="focusing exponent γ")
ALPHA_FOCAL = Param(
    "alpha", None, check=unit_closed, valid="in [0, 1]", help="positive-class weight α (unset: 1)"
)
MARGIN = Param("margin", 1.0, check=non_negative, valid=">= 0", help="margin m")
SMOOTH = Param("smooth", 1e-6, check=non_negative, valid=">= 0", help="smoothing term s")
POS_WEIGHT = Param("pos_weight", 1.0, check=positive, valid="> 0", help="weight of positive terms")
CLASS_WEIGHTS = Param(
    "class_weights",
    None,
    kind=FLOATS,
    check=all_non_negative,
    valid="non-negative numbers, not all 0, one per class",
    help="per-class weights w0,w1,…",
)
LABEL_SMOOTHING = Param(
    "label_smoothing", 0.0, check=unit_left_closed, valid="in [0, 1)", help="label smoothing"
)
IGNORE_INDEX = Param(
    "ignore_index", None, kind=INT, valid="an integer label", help="label whose rows are skipped"
)
POWER = Param("power", 1.5, check=tweedie_power, valid="<= 0 or >= 1", help="Tweedie power p")


def resolve(declared: tuple[Param, ...], given: Mapping[str, Any], loss: str) -> dict[str, Any]:
    """Merge given values over defaults and validate each; unknown names are an error."""
    by_name = {p.name: p for p in declared}
    unknown = [name for name in given if name not in by_name]
    if unknown:
        accepted = ", ".join(by_name) or "no parameters"
        raise ParamError(
            unknown[0], given[unknown[0]], f"one of the parameters {loss} takes ({accepted})", loss
        )
    out = {}
    for p in declared:
        out[p.name] = p.validate(given.get(p.name, p.default), loss)
    return out
