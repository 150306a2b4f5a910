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
# Free text (only kernel options use it: the name of a library function).
TEXT = "text"


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
    #: the library convention under which alone the loss takes this parameter (None: always);
    #: elsewhere a value other than the default is an error and a shared option skips it
    convention: str | None = None

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
            if self.kind == TEXT:
                return raw
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
            elif self.kind == TEXT:
                if not isinstance(value, str):
                    raise TypeError
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
#: Keras's focal losses take label_smoothing; losscli's focal does not define it.
FOCAL_LABEL_SMOOTHING = Param(
    "label_smoothing",
    0.0,
    check=unit_left_closed,
    valid="in [0, 1)",
    help="label smoothing (Keras's focal losses: --convention keras only)",
    convention="keras",
)
IGNORE_INDEX = Param(
    "ignore_index", None, kind=INT, valid="an integer label", help="label whose rows are skipped"
)
POWER = Param("power", 1.5, check=tweedie_power, valid="<= 0 or >= 1", help="Tweedie power p")


# Kernel options: set by the binding layer (a library convention, or an alias that fixes a
# form), never by users. A loss declares those its kernel reads in ``Loss.options``; they
# are not parameters, so ``losses``, ``explain`` and ``--param`` do not show them.
# What each one means: ``losscli.binding.conventions``.
DENOMINATOR = Param(
    "denominator",
    None,
    kind=CHOICE,
    choices=("count", "class", "label_class"),
    valid="count, class or label_class",
    help="the mean's divisor Σdᵢ",
)
BCE_CLIP = Param(
    "bce_clip",
    None,
    kind=CHOICE,
    choices=("log100", "float32"),
    valid="log100 or float32",
    help="log p clamped at −100, or p clipped to float32 [eps, 1 − eps]",
)
ERROR_SCALE = Param(
    "error_scale", 1.0, check=positive, valid="> 0", help="Lᵢ = scale·e² (optax l2_loss: ½)"
)
NEG_INF_LOGITS = Param(
    "neg_inf_logits",
    False,
    kind=BOOL,
    help="logits of −inf accepted, 0·log 0 = 0 (optax safe_softmax_cross_entropy)",
)
RMSE_PER_OUTPUT = Param("rmse_per_output", False, kind=BOOL, help="mean of per-column RMSEs")
NULL_ROW_BY_ROW = Param(
    "null_row_by_row",
    False,
    kind=BOOL,
    help="the null model scored row by row over the kept targets (scikit-learn)",
)
MAPE_SCALE = Param(
    "mape_scale", 100.0, check=positive, valid="> 0", help="100: percent, 1: fraction"
)
LOG1P_FLOOR = Param("log1p_floor", None, check=positive, valid="> 0", help="log(max(x, floor) + 1)")
KL_MEAN_OVER_CLASSES = Param("kl_mean_over_classes", False, kind=BOOL, help="divide by n·K")
KL_CLIP = Param("kl_clip", False, kind=BOOL, help="both distributions clipped to [eps, 1]")
KL_POINTWISE = Param(
    "kl_pointwise", False, kind=BOOL, help="t·(log t − x) per element, rows not checked"
)
KL_TARGETS_AS_GIVEN = Param(
    "kl_targets_as_given",
    False,
    kind=BOOL,
    help="target rows used as they are, not required to sum to 1 (optax)",
)
FOCAL_FORM = Param(
    "focal_form", None, kind=CHOICE, choices=("keras",), valid="keras", help="Keras's focal losses"
)
FOCAL_CATEGORICAL_ALPHA = Param(
    "focal_categorical_alpha", 1.0, check=non_negative, valid=">= 0", help="K-class focal factor"
)
FOCAL_LAYOUT = Param(
    "focal_layout",
    None,
    kind=CHOICE,
    choices=("categorical", "sigmoid"),
    valid="categorical or sigmoid",
    help="the form an alias of focal fixes",
)
SIGMOID_ONLY = Param(
    "sigmoid_only", None, kind=TEXT, valid="a function name", help="no K-class form in: FUNCTION"
)
RENORMALIZE = Param("renormalize", False, kind=BOOL, help="probability rows divided by their sum")
BRIER_CLASSES = Param(
    "brier_classes",
    False,
    kind=BOOL,
    help="one label column with K probability columns: Σ_c (p_c − t_c)², halved for K = 2",
)
ROWS_AS_GIVEN = Param(
    "rows_as_given",
    False,
    kind=BOOL,
    help="probability rows used as they are, not required to sum to 1 (scikit-learn)",
)
CATEGORICAL_HINGE = Param("categorical_hinge", False, kind=BOOL, help="max includes the true class")
SMOOTH_NUMERATOR = Param("smooth_numerator", True, kind=BOOL, help="smoothing in the numerator")
OVERLAP_ANY_VALUES = Param(
    "overlap_any_values", False, kind=BOOL, help="mask and prediction columns used as they are"
)
CLASS_AVERAGE = Param(
    "class_average",
    None,
    kind=CHOICE,
    choices=("micro",),
    valid="micro",
    help="classes pooled into one ratio",
)
SMOOTH_SCALE = Param("smooth_scale", 1.0, check=positive, valid="> 0", help="smoothing multiplier")
EPS_IN_DIFFERENCE = Param(
    "eps_in_difference", 0.0, check=non_negative, valid=">= 0", help="‖a − p + ε‖"
)
EPS_IN_ROOT = Param("eps_in_root", 0.0, check=non_negative, valid=">= 0", help="√(‖a − p‖² + ε)")
VARIANCE_GRAD = Param(
    "variance_grad",
    None,
    kind=CHOICE,
    choices=("through_clamp",),
    valid="through_clamp",
    help="variance gradient at max(v, eps)",
)


def option(params: Mapping[str, Any], declared: Param) -> Any:
    """A kernel option's value as bound, or its declared default (what a kernel reads)."""
    return params.get(declared.name, declared.default)


def resolve_options(
    declared: tuple[Param, ...], given: Mapping[str, Any], loss: str
) -> dict[str, Any]:
    """Validate the kernel options the binding sets (only those given; kernels know the
    defaults). An option ``loss`` does not declare is a bug in the caller, not a user
    error: ValueError, so a misspelt option in a convention record fails loudly."""
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        accepted = ", ".join(by_name) or "none"
        raise ValueError(
            f"{loss}: kernel option(s) {', '.join(unknown)} not declared (it declares: {accepted})"
        )
    return {name: by_name[name].validate(value, loss) for name, value in given.items()}


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
