r"""Regression losses on real targets y and predictions ŷ, e = ŷ − y.

With m paired target/prediction columns, Lᵢ is the mean of the m per-column
terms (scikit-learn's ``multioutput='uniform_average'``).
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ZeroWeightError
from losscli.kernel.streaming import Batch, Elementwise, Params
from losscli.kernel.validate import fail_where, require_range
from losscli.losses.params import (
    BETA_L1,
    DELTA,
    DENOMINATOR,
    EPS,
    ERROR_SCALE,
    LOG1P_FLOOR,
    MAPE_SCALE,
    POWER,
    QUANTILE,
    RMSE_PER_OUTPUT,
    VARIANCE_GRAD,
    Param,
    option,
    positive,
)
from losscli.losses.registry import Explain, register_loss

REGRESSION = ("regression",)
ROBUST = ("regression", "robust-regression")


def _width(a: np.ndarray) -> int:
    return 1 if a.ndim == 1 else a.shape[1]


class _Real(Elementwise):
    """Shared input handling: target and prediction of the same shape (n,) or (n, m)."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.target is None:
            raise InputError(f"{type(self).__name__} needs a target column")
        y, yhat = batch.target, batch.preds[0]
        if y.dtype.kind != "f":
            raise InputError("the target must be numeric for a regression loss")
        if y.shape != yhat.shape:
            raise InputError(
                f"{_width(y)} target column(s) but {_width(yhat)} prediction column(s)",
                hint="a regression loss pairs one prediction column with each target column",
            )
        return batch

    def columnwise(self, batch: Batch) -> bool:
        return True

    def breakdown(self, targets: int, predictions: int) -> str | None:
        return "column" if targets > 1 else None

    def error(self, batch: Batch) -> np.ndarray:
        return batch.preds[0] - batch.target


@register_loss(
    "mse",
    options=(DENOMINATOR, ERROR_SCALE),
    default_for={"regression": 1, "counts": 2},
    aliases=("l2", "mean_squared_error"),
    inputs="real",
    tasks=REGRESSION,
    explain=Explain(
        formula="Lᵢ = eᵢ², e = ŷ − y;  J = (1/n) Σ Lᵢ",
        gradient="∂J/∂ŷᵢ = 2eᵢ/n  (with weights: 2wᵢeᵢ/Σw)",
        use_when="errors are roughly Gaussian and large mistakes are much worse than small ones",
        pitfalls="dominated by outliers; scale-dependent; after a sigmoid for classification "
        "its gradient vanishes when the sigmoid saturates (use bce)",
        activation="linear (identity) output",
        differences="torch MSELoss, Keras MeanSquaredError, sklearn mean_squared_error and "
        "optax squared_error agree. optax l2_loss is ½e², not e²: --loss l2 --convention optax "
        "gives it (l2 is otherwise an alias of mse).",
        properties="convex, smooth, in the units of y squared",
    ),
)
class MeanSquaredError(_Real):
    """Mean squared error.

    The ``error_scale`` option c (set by ``--loss l2 --convention optax``, optax's l2_loss
    with c = ½): Lᵢ = c·eᵢ², ∂Lᵢ/∂ŷᵢ = 2c·eᵢ.
    """

    def loss(self, batch, params):
        return option(params, ERROR_SCALE) * self.error(batch) ** 2

    def dloss(self, batch, params):
        return (2.0 * option(params, ERROR_SCALE) * self.error(batch),)


class _RootOfMean:
    """The root of an elementwise loss's (weighted) mean: J = √M, ∂J/∂ŷᵢ = wᵢ ∂Lᵢ/∂ŷᵢ / (2 Σw J)
    (0 when M = 0); no per-row form, so ``mean`` is its only reduction.

    With the ``rmse_per_output`` option (scikit-learn's multioutput='uniform_average') m
    target columns give J = (1/m) Σ_c √M_c, M_c = Σ wᵢ L_ic / Σ w, from per-column sums
    ``wlc``; ∂J/∂ŷ_ic = wᵢ ∂L_ic/∂ŷ_ic / (2 m Σw √M_c) (0 where M_c = 0).
    """

    reductions = ("mean",)
    combines = "J²"

    def outer(self, mean):
        return float(np.sqrt(mean))

    def outer_grad(self, mean):
        return 0.0 if mean <= 0 else 0.5 / float(np.sqrt(mean))

    def _per_output(self, batch, params):
        return option(params, RMSE_PER_OUTPUT) and batch.target.ndim == 2

    def update(self, batch, params):
        sums = super().update(batch, params)
        if self._per_output(batch, params):
            sums["wlc"] = np.sum(batch.w()[:, None] * self.loss(batch, params), axis=0)
        return sums

    def update_grouped(self, batch, params, codes, size):
        sums = super().update_grouped(batch, params, codes, size)
        if self._per_output(batch, params):
            terms = batch.w()[:, None] * self.loss(batch, params)
            sums["wlc"] = np.stack(
                [
                    np.bincount(codes, weights=terms[:, j], minlength=size)
                    for j in range(terms.shape[1])
                ],
                axis=1,
            )
        return sums

    def _column_roots(self, sums):
        if not sums["w"] > 0:  # as for any mean: an input error, not NaN
            raise ZeroWeightError()
        return np.sqrt(np.asarray(sums["wlc"]) / sums["w"])

    def compute(self, sums, params, reduction):
        if "wlc" not in sums:
            return super().compute(sums, params, reduction)
        return float(np.mean(self._column_roots(sums)))

    def grad(self, batch, sums, params, reduction):
        if "wlc" not in sums:
            return super().grad(batch, sums, params, reduction)
        root = self._column_roots(sums)
        scale = np.where(
            root > 0, 0.5 / (root.size * sums["w"] * np.where(root > 0, root, 1.0)), 0.0
        )
        return (batch.w()[:, None] * self.dloss(batch, params)[0] * scale,)


@register_loss(
    "rmse",
    options=(RMSE_PER_OUTPUT,),
    default_for={"regression": 2},
    aliases=("root_mean_squared_error",),
    inputs="real",
    tasks=REGRESSION,
    explain=Explain(
        formula="J = √( (1/n) Σ eᵢ² )  (a reduction-level transform of MSE)",
        gradient="∂J/∂ŷᵢ = eᵢ / (n·J)  (0 when J = 0)",
        use_when="you want the error in the units of y",
        pitfalls="not a mean of per-row values: it has no per-row form (reduction mean only); "
        "the mean of per-batch RMSEs is not the RMSE",
        activation="linear (identity) output",
        differences="sklearn root_mean_squared_error and torchmetrics MeanSquaredError(squared=False) agree; "
        "torch and optax have no RMSE loss.",
    ),
)
class RootMeanSquaredError(_RootOfMean, MeanSquaredError):
    """Root mean squared error: J = √M, M the (weighted) mean of eᵢ²; ∂J/∂ŷᵢ = wᵢ eᵢ / (Σw J).

    With the ``rmse_per_output`` option (scikit-learn's multioutput='uniform_average')
    m target columns give J = (1/m) Σ_c √M_c, M_c = Σ wᵢ e²_ic / Σ w, from per-column
    sums ``wlc``; ∂J/∂ŷ_ic = wᵢ e_ic / (m Σw √M_c) (0 where M_c = 0).
    """


@register_loss(
    "mae",
    options=(DENOMINATOR,),
    default_for={"regression": 3, "counts": 3},
    aliases=("l1", "mean_absolute_error"),
    inputs="real",
    tasks=ROBUST,
    explain=Explain(
        formula="Lᵢ = |eᵢ|",
        gradient="∂Lᵢ/∂ŷᵢ = sign(eᵢ)  (0 at e = 0, a valid subgradient)",
        use_when="errors are heavy-tailed; you want the conditional median",
        pitfalls="constant gradient magnitude: slow, noisy convergence near the optimum",
        activation="linear (identity) output",
        differences="torch L1Loss, Keras MeanAbsoluteError and sklearn mean_absolute_error agree.",
        properties="convex, robust to outliers, not differentiable at 0",
    ),
)
class MeanAbsoluteError(_Real):
    """Mean absolute error."""

    def loss(self, batch, params):
        return np.abs(self.error(batch))

    def dloss(self, batch, params):
        return (np.sign(self.error(batch)),)


@register_loss(
    "huber",
    options=(DENOMINATOR,),
    default_for={"regression": 4},
    inputs="real",
    tasks=ROBUST,
    params=(DELTA,),
    explain=Explain(
        formula="Lᵢ = ½e² if |e| ≤ δ, else δ(|e| − ½δ)",
        gradient="∂Lᵢ/∂ŷᵢ = e if |e| ≤ δ, else δ·sign(e)",
        use_when="mostly Gaussian errors with some outliers; δ near the scale of typical residuals "
        "(e.g. 1.345 × robust σ)",
        pitfalls="δ is in the units of y: rescaling y changes the loss; too small a δ behaves like MAE",
        activation="linear (identity) output",
        differences="torch HuberLoss(delta), Keras Huber(delta) and optax huber_loss agree. "
        "torch SmoothL1Loss(beta) is huber/β (see smooth_l1).",
        properties="convex, once differentiable, quadratic near 0 and linear in the tails",
    ),
)
class Huber(_Real):
    """Huber loss: quadratic within δ, linear beyond."""

    def loss(self, batch, params):
        a = np.abs(self.error(batch))
        d = params["delta"]
        return np.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))

    def dloss(self, batch, params):
        e = self.error(batch)
        d = params["delta"]
        return (np.where(np.abs(e) <= d, e, d * np.sign(e)),)


@register_loss(
    "smooth_l1",
    inputs="real",
    tasks=ROBUST,
    params=(BETA_L1,),
    explain=Explain(
        formula="Lᵢ = ½e²/β if |e| < β, else |e| − ½β   (= huber_δ=β / β)",
        gradient="∂Lᵢ/∂ŷᵢ = e/β if |e| < β, else sign(e)",
        use_when="as Huber, with a gradient bounded by 1 (box regression in detection)",
        pitfalls="β < δ-style confusion: smooth_l1(β) = huber(δ=β)/β, not huber(δ=β)",
        activation="linear (identity) output",
        differences="torch SmoothL1Loss(beta) agrees and also accepts β = 0 (plain L1); losscli requires β > 0.",
    ),
)
class SmoothL1(_Real):
    """Smooth L1 loss (Huber divided by β)."""

    def loss(self, batch, params):
        a = np.abs(self.error(batch))
        b = params["beta"]
        return np.where(a < b, 0.5 * a * a / b, a - 0.5 * b)

    def dloss(self, batch, params):
        e = self.error(batch)
        b = params["beta"]
        return (np.where(np.abs(e) < b, e / b, np.sign(e)),)


@register_loss(
    "log_cosh",
    options=(DENOMINATOR,),
    aliases=("logcosh",),
    inputs="real",
    tasks=ROBUST,
    explain=Explain(
        formula="Lᵢ = log cosh eᵢ = |e| + log1p(e^(−2|e|)) − log 2  (stable form)",
        gradient="∂Lᵢ/∂ŷᵢ = tanh(eᵢ)",
        use_when="a smooth, twice-differentiable alternative to Huber",
        pitfalls="the naive log(cosh(e)) overflows for |e| > ~710",
        activation="linear (identity) output",
        differences="Keras LogCosh and optax log_cosh agree; torchmetrics LogCoshError overflowed for large "
        "errors before its logaddexp fix.",
    ),
)
class LogCosh(_Real):
    """Log-cosh loss."""

    def loss(self, batch, params):
        a = np.abs(self.error(batch))
        return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)

    def dloss(self, batch, params):
        return (np.tanh(self.error(batch)),)


@register_loss(
    "msle",
    options=(DENOMINATOR, LOG1P_FLOOR),
    positive=True,
    aliases=("mean_squared_logarithmic_error",),
    inputs="real",
    tasks=("regression", "counts"),
    explain=Explain(
        formula="Lᵢ = (log1p ŷ − log1p y)²,  y, ŷ ≥ 0",
        gradient="∂Lᵢ/∂ŷᵢ = 2(log1p ŷ − log1p y)/(1 + ŷ)",
        use_when="targets span orders of magnitude and relative errors matter",
        pitfalls="undefined below −1; losscli rejects negative values instead of clipping them",
        activation="linear or softplus output (non-negative)",
        differences="Keras clips negatives to 1e-7 silently; sklearn accepts values > −1; losscli errors on < 0.",
    ),
)
class MeanSquaredLogError(_Real):
    """Mean squared logarithmic error."""

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        if option(params, LOG1P_FLOOR) is not None:  # Keras clamps every value at the floor
            return batch
        hint = "msle needs non-negative values; use mse for signed targets"
        require_range(batch.target, batch, "target", 0.0, what="is negative", hint=hint)
        require_range(batch.preds[0], batch, "prediction", 0.0, what="is negative", hint=hint)
        return batch

    def _logs(self, batch, params):
        """log1p of ŷ and y; Keras's ``log1p_floor`` f uses log(max(x, f) + 1)."""
        floor = option(params, LOG1P_FLOOR)
        yhat, y = batch.preds[0], batch.target
        if floor is None:
            return np.log1p(yhat), np.log1p(y), np.ones_like(yhat)
        return np.log1p(np.maximum(yhat, floor)), np.log1p(np.maximum(y, floor)), yhat >= floor

    def loss(self, batch, params):
        a, b, _ = self._logs(batch, params)
        return (a - b) ** 2

    def dloss(self, batch, params):
        a, b, active = self._logs(batch, params)
        return (np.where(active, 2.0 * (a - b) / (1.0 + batch.preds[0]), 0.0),)


@register_loss(
    "rmsle",
    options=(RMSE_PER_OUTPUT,),
    positive=True,
    aliases=("root_mean_squared_log_error", "root_mean_squared_logarithmic_error"),
    inputs="real",
    tasks=("regression", "counts"),
    explain=Explain(
        formula="J = √( (1/n) Σ (log1p ŷᵢ − log1p yᵢ)² ),  y, ŷ ≥ 0  (the root of MSLE)",
        gradient="∂J/∂ŷᵢ = (log1p ŷᵢ − log1p yᵢ) / ((1 + ŷᵢ)·n·J)  (0 when J = 0)",
        use_when="relative errors matter and you want them on MSLE's log scale, not squared",
        pitfalls="not a mean of per-row values: it has no per-row form (reduction mean only); "
        "undefined below −1, and losscli rejects negative values as msle does",
        activation="linear or softplus output (non-negative)",
        differences="sklearn root_mean_squared_log_error agrees; with several target columns "
        "sklearn averages the per-column roots (multioutput='uniform_average', the sklearn "
        "convention). torch, Keras and optax have no RMSLE.",
    ),
)
class RootMeanSquaredLogError(_RootOfMean, MeanSquaredLogError):
    """Root mean squared logarithmic error.

    J = √M, M the (weighted) mean of Lᵢ = (log1p ŷᵢ − log1p yᵢ)²;
    ∂J/∂ŷᵢ = wᵢ ∂Lᵢ/∂ŷᵢ / (2 Σw √M), 0 when M = 0.

    With the ``rmse_per_output`` option (scikit-learn's multioutput='uniform_average')
    m target columns give J = (1/m) Σ_c √M_c, M_c = Σ wᵢ L_ic / Σ w, from per-column
    sums ``wlc``; ∂J/∂ŷ_ic = wᵢ ∂L_ic/∂ŷ_ic / (2 m Σw √M_c) (0 where M_c = 0).
    """


@register_loss(
    "mape",
    options=(DENOMINATOR, MAPE_SCALE),
    positive=True,
    aliases=("mean_absolute_percentage_error",),
    inputs="real",
    tasks=REGRESSION,
    params=(EPS,),
    explain=Explain(
        formula="Lᵢ = 100·|e| / max(|y|, eps)   (percent)",
        gradient="∂Lᵢ/∂ŷᵢ = 100·sign(e) / max(|y|, eps)",
        use_when="relative error in percent is what the business reads, and y stays away from 0",
        pitfalls="explodes near y = 0 (a target within eps of 0 is refused unless eps is given "
        "or a --convention sets it); asymmetric (over-forecasts cost more than under-forecasts)",
        activation="linear (identity) output",
        differences="Keras MeanAbsolutePercentageError agrees (percent, eps 1e-7); sklearn and torchmetrics "
        "return a fraction (÷100) with eps = float64 machine eps / 1.17e-6.",
    ),
)
class MeanAbsolutePercentageError(_Real):
    """Mean absolute percentage error (in percent)."""

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        if "eps" not in params.get("chosen", ()):
            # A zero target makes the term 100·|e|/eps (1e9·|e|): refused, not averaged in.
            fail_where(
                np.abs(batch.target) < params["eps"],
                batch.target,
                batch,
                "target",
                f"is within eps={params['eps']:g} of 0, where mape divides by |y| "
                "(its term would be 100·|e|/eps)",
                hint="mape is undefined at y = 0: drop those rows, use mae, or choose the "
                "floor of |y| in your units, e.g. --loss 'mape(eps=1)'",
            )
        return batch

    def _scale(self, batch, params):
        # 100 for percent; scikit-learn's convention (``mape_scale`` 1) is a fraction.
        return option(params, MAPE_SCALE) / np.maximum(np.abs(batch.target), params["eps"])

    def loss(self, batch, params):
        return self._scale(batch, params) * np.abs(self.error(batch))

    def dloss(self, batch, params):
        return (self._scale(batch, params) * np.sign(self.error(batch)),)


@register_loss(
    "quantile",
    aliases=("pinball",),
    inputs="real",
    tasks=("quantile", "regression", "robust-regression"),
    params=(QUANTILE,),
    explain=Explain(
        formula="Lᵢ = max(q(y − ŷ), (q − 1)(y − ŷ))",
        gradient="∂Lᵢ/∂ŷᵢ = −q if y > ŷ, 1 − q if y < ŷ, 0 at y = ŷ",
        use_when="you predict a quantile (q = 0.9 for an upper bound, 0.5 for the median)",
        pitfalls="q = 0.5 gives MAE/2, not MAE",
        activation="linear (identity) output",
        differences="sklearn mean_pinball_loss(alpha=q) agrees (it names q 'alpha').",
    ),
)
class Quantile(_Real):
    """Quantile (pinball) loss."""

    def loss(self, batch, params):
        u = batch.target - batch.preds[0]
        q = params["quantile"]
        return np.maximum(q * u, (q - 1.0) * u)

    def dloss(self, batch, params):
        u = batch.target - batch.preds[0]
        q = params["quantile"]
        return (np.where(u > 0, -q, np.where(u < 0, 1.0 - q, 0.0)),)


def stirling(y: np.ndarray) -> np.ndarray:
    """y·log y − y + ½·log(2πy) for y > 1, else 0: torch's ``full`` approximation of log(y!)."""
    big = np.where(y > 1, y, 2.0)
    return np.where(y > 1, big * np.log(big) - big + 0.5 * np.log(2.0 * np.pi * big), 0.0)


FULL_POISSON = Param(
    "full",
    False,
    kind="bool",
    valid="true or false",
    help="add the Stirling term of log(y!) (torch's full=True)",
)


@register_loss(
    "poisson",
    options=(DENOMINATOR,),
    positive=True,
    default_for={"counts": 1},
    aliases=("poisson_nll",),
    inputs="real",
    tasks=("counts",),
    params=(EPS, FULL_POISSON),
    logits=True,
    explain=Explain(
        formula="Lᵢ = ŷ − y·log(ŷ + eps)  (rate ŷ > 0);  with --from-logits, z = log-rate: Lᵢ = e^z − y·z; "
        "full=true adds the Stirling approximation of log(y!): y·log y − y + ½·log(2πy) for y > 1 (0 for y ≤ 1)",
        gradient="∂Lᵢ/∂ŷᵢ = 1 − y/(ŷ + eps);  logits: ∂Lᵢ/∂zᵢ = e^z − y  (the full term does not depend on ŷ)",
        use_when="count targets (events, clicks) modelled by a Poisson rate",
        pitfalls="the rate must be positive (exp or softplus output); without full=true this is the NLL "
        "without the log(y!) term, so it can be negative; a log-rate above ~709 overflows",
        activation="exp (log-rate, use --from-logits) or softplus",
        differences="torch PoissonNLLLoss defaults to log_input=True (a log-rate, as --from-logits) with eps "
        "1e-8; its full=True adds the same Stirling term, masked to 0 for y ≤ 1, as full=true here; "
        "Keras Poisson is ŷ − y·log(ŷ + 1e-7) (as here); sklearn mean_poisson_deviance is "
        "2(y·log(y/ŷ) − y + ŷ), a different number (see poisson_deviance).",
    ),
)
class Poisson(_Real):
    """Poisson negative log-likelihood (log y! only with full=true, by Stirling's formula)."""

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        require_range(
            batch.target,
            batch,
            "target",
            0.0,
            what="is a negative count",
            hint="poisson needs counts y >= 0",
        )
        if params["from_logits"]:
            limit = np.log(np.finfo(np.float64).max)
            require_range(
                batch.preds[0],
                batch,
                "prediction",
                hi=limit,
                what=f"is a log-rate above {limit:.2f}, whose rate overflows",
                hint="check that the column holds log-rates (or drop --from-logits)",
            )
        else:
            require_range(
                batch.preds[0],
                batch,
                "prediction",
                0.0,
                lo_open=True,
                what="is not a positive rate",
                hint="poisson needs rates > 0; for log-rates pass --from-logits",
            )
        return batch

    def loss(self, batch, params):
        y, yhat = batch.target, batch.preds[0]
        if params["from_logits"]:
            value = np.exp(yhat) - y * yhat
        else:
            value = yhat - y * np.log(yhat + params["eps"])
        return value + stirling(y) if params.get("full") else value

    def dloss(self, batch, params):
        y, yhat = batch.target, batch.preds[0]
        if params["from_logits"]:
            return (np.exp(yhat) - y,)
        return (1.0 - y / (yhat + params["eps"]),)


GAUSSIAN_EPS = Param("eps", 1e-6, check=positive, valid="> 0", help="variance floor")
FULL_GAUSSIAN = Param(
    "full",
    False,
    kind="bool",
    valid="true or false",
    help="add the constant ½·log 2π (torch's full=True)",
)


@register_loss(
    "gaussian_nll",
    options=(VARIANCE_GRAD,),
    inputs="gaussian",
    tasks=("regression", "distribution"),
    params=(GAUSSIAN_EPS, FULL_GAUSSIAN),
    explain=Explain(
        formula="Lᵢ = ½(log v′ + e²/v′),  v′ = max(v, eps), e = ŷ − y;  full=true adds ½·log 2π "
        "(the exact Gaussian negative log-likelihood)",
        gradient="∂Lᵢ/∂ŷᵢ = e/v′;  ∂Lᵢ/∂vᵢ = ½(1/v − e²/v²) for v ≥ eps, 0 below eps",
        use_when="the model predicts a mean and a variance (heteroscedastic regression)",
        pitfalls="without the constant ½log 2π unless full=true (needed to compare NLLs across "
        "distributions); a variance collapsing towards 0 makes the loss unbounded below; the variance "
        "column must be non-negative",
        activation="linear for the mean, softplus or exp for the variance",
        differences="torch GaussianNLLLoss(full, eps=1e-6) agrees in value (full=True adds the same "
        "½·log 2π); it clamps the variance under no_grad so its gradient below eps is not zeroed "
        "(losscli returns 0 there).",
    ),
)
class GaussianNLL(Elementwise):
    """Gaussian negative log-likelihood with a predicted variance."""

    def prepare(self, batch, params):
        if batch.target is None or len(batch.preds) != 2:
            raise InputError("gaussian_nll needs a target, a mean and a variance (--var COL)")
        mean, var = batch.preds
        if mean.shape != batch.target.shape or var.shape != mean.shape:
            raise InputError("gaussian_nll: target, mean and variance must have the same shape")
        require_range(
            var,
            batch,
            "variance",
            0.0,
            what="is negative",
            hint="the variance column must be >= 0 (is it a log-variance or a std?)",
        )
        return batch

    def columnwise(self, batch):
        return True

    def breakdown(self, targets, predictions):
        return "column" if targets > 1 else None

    def loss(self, batch, params):
        mean, var = batch.preds
        v = np.maximum(var, params["eps"])
        value = 0.5 * (np.log(v) + (mean - batch.target) ** 2 / v)
        return value + 0.5 * np.log(2.0 * np.pi) if params.get("full") else value

    def dloss(self, batch, params):
        mean, var = batch.preds
        v = np.maximum(var, params["eps"])
        e = mean - batch.target
        dvar = 0.5 * (1.0 / v - e * e / (v * v))
        # PyTorch clamps under no_grad, so its gradient passes the clamp ("through_clamp").
        if option(params, VARIANCE_GRAD) != "through_clamp":
            dvar = np.where(var >= params["eps"], dvar, 0.0)
        return e / v, dvar


@register_loss(
    "tweedie",
    positive=True,
    aliases=("tweedie_deviance",),
    inputs="real",
    tasks=("counts", "regression"),
    params=(POWER,),
    explain=Explain(
        formula="unit deviance d_p(y, ŷ): p=0: (y−ŷ)²; p=1: 2(y log(y/ŷ) − y + ŷ); p=2: 2(log(ŷ/y) + y/ŷ − 1); "
        "else 2(max(y,0)^(2−p)/((1−p)(2−p)) − y ŷ^(1−p)/(1−p) + ŷ^(2−p)/(2−p))",
        gradient="∂Lᵢ/∂ŷᵢ = 2 ŷ^(−p) (ŷ − y)",
        use_when="non-negative targets with many exact zeros and a long tail (insurance claims, "
        "sales): 1 < p < 2 is compound Poisson–gamma",
        pitfalls="domain depends on p: 1 ≤ p < 2 needs y ≥ 0, ŷ > 0; p ≥ 2 needs y > 0; p in (0, 1) does not exist",
        activation="exp (log link) or softplus",
        differences="sklearn mean_tweedie_deviance(power) agrees; its default power is 0 (MSE), losscli's 1.5.",
    ),
)
class Tweedie(_Real):
    """Tweedie unit deviance (scikit-learn's mean_tweedie_deviance)."""

    def who(self, p: float) -> str:
        return f"tweedie with power {p}"

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        p = params["power"]
        y, yhat = batch.target, batch.preds[0]
        if p < 0 or p >= 1:
            require_range(
                yhat,
                batch,
                "prediction",
                0.0,
                lo_open=True,
                what="is not positive",
                hint=f"{self.who(p)} needs predictions > 0",
            )
        if 1 <= p < 2:
            require_range(
                y,
                batch,
                "target",
                0.0,
                what="is negative",
                hint=f"{self.who(p)} needs targets >= 0",
            )
        elif p >= 2:
            require_range(
                y,
                batch,
                "target",
                0.0,
                lo_open=True,
                what="is not positive",
                hint=f"{self.who(p)} needs targets > 0",
            )
        return batch

    def loss(self, batch, params):
        p = params["power"]
        y, yhat = batch.target, batch.preds[0]
        if p == 0:
            return (y - yhat) ** 2
        if p == 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / yhat), 0.0)
            return 2.0 * (ylogy - y + yhat)
        if p == 2:
            return 2.0 * (np.log(yhat / y) + y / yhat - 1.0)
        return 2.0 * (
            np.maximum(y, 0.0) ** (2.0 - p) / ((1.0 - p) * (2.0 - p))
            - y * yhat ** (1.0 - p) / (1.0 - p)
            + yhat ** (2.0 - p) / (2.0 - p)
        )

    def dloss(self, batch, params):
        p = params["power"]
        y, yhat = batch.target, batch.preds[0]
        return (2.0 * yhat ** (-p) * (yhat - y),)


class _FixedPowerDeviance(Tweedie):
    """The Tweedie deviance at one power, under the name scikit-learn gives it."""

    name = ""
    power = 0.0

    def who(self, p: float) -> str:
        return self.name

    def _at_power(self, params: Params) -> dict:
        return {**params, "power": self.power}

    def prepare(self, batch, params):
        return super().prepare(batch, self._at_power(params))

    def loss(self, batch, params):
        return super().loss(batch, self._at_power(params))

    def dloss(self, batch, params):
        return super().dloss(batch, self._at_power(params))


@register_loss(
    "poisson_deviance",
    positive=True,
    aliases=("mean_poisson_deviance",),
    inputs="real",
    tasks=("counts", "regression"),
    explain=Explain(
        formula="Lᵢ = 2(y·log(y/ŷ) − y + ŷ), y·log(y/ŷ) = 0 at y = 0  (the Tweedie deviance at power 1)",
        gradient="∂Lᵢ/∂ŷᵢ = 2(1 − y/ŷ)",
        use_when="count targets scored as scikit-learn scores them: 0 for a perfect fit, comparable "
        "across models of the same data",
        pitfalls="not the Poisson NLL (poisson): the deviance is 2·(NLL − NLL of the saturated model), "
        "so its gradient is twice poisson's and its minimum is 0; needs y ≥ 0 and ŷ > 0",
        activation="exp (log link) or softplus",
        differences="sklearn mean_poisson_deviance and torchmetrics TweedieDevianceScore(power=1) agree; "
        "torch PoissonNLLLoss and Keras Poisson are the NLL (see poisson).",
    ),
)
class PoissonDeviance(_FixedPowerDeviance):
    """Poisson deviance (scikit-learn's mean_poisson_deviance)."""

    name = "poisson_deviance"
    power = 1.0


@register_loss(
    "gamma_deviance",
    positive=True,
    aliases=("mean_gamma_deviance",),
    inputs="real",
    tasks=("regression",),
    explain=Explain(
        formula="Lᵢ = 2(log(ŷ/y) + y/ŷ − 1)  (the Tweedie deviance at power 2)",
        gradient="∂Lᵢ/∂ŷᵢ = 2(ŷ − y)/ŷ²",
        use_when="positive, right-skewed targets whose spread grows with the mean (durations, costs, "
        "claim sizes): relative errors matter, the scale does not",
        pitfalls="needs y > 0 and ŷ > 0 (a zero target is an error); invariant to rescaling y and ŷ "
        "together",
        activation="exp (log link) or softplus",
        differences="sklearn mean_gamma_deviance and torchmetrics TweedieDevianceScore(power=2) agree.",
    ),
)
class GammaDeviance(_FixedPowerDeviance):
    """Gamma deviance (scikit-learn's mean_gamma_deviance)."""

    name = "gamma_deviance"
    power = 2.0
