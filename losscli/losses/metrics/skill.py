r"""Skill scores: D², the fraction of a deviance explained (scikit-learn's ``d2_*`` scores).

.. math::

    D² = 1 − Σ wᵢ L(yᵢ, ŷᵢ) / Σ wᵢ L(yᵢ, ŷ₀)

where ŷ₀ is the best constant prediction (the null model) of the same rows: the
weighted mean of y for the Tweedie deviance, the weighted q-quantile of y for the
pinball loss, the weighted class shares for log loss and the Brier score. 1 is a
perfect model, 0 is no better than the null model, and D² can be arbitrarily
negative. Higher is better: these are metrics, gated with ``--fail-below``.

Streaming. The numerator is a sum over rows. The null model's deviance needs ŷ₀,
which is known only after the last row: for the Tweedie deviance it is kept as a
mergeable (Σw, ȳ, Σ w d(y, ȳ)) statistic (``losscli.losses.deviance``, exact and bounded);
for log loss and Brier it follows from the class totals Σ w t_c; the pinball null
model is a quantile of every target, so ``d2_pinball``/``d2_absolute_error`` keep
each row's targets and weight (``Collected``: 8 bytes per value).

Degenerate cases follow scikit-learn's ``force_finite``: a model with zero
deviance scores 1; a non-zero deviance over a null deviance of 0 (constant
targets, a single row) scores 0. With m target columns D² is computed per column
and averaged (``multioutput="uniform_average"``).
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ZeroWeightError
from losscli.kernel.grouped import group_sum, objects, ungrouped
from losscli.kernel.numerics import sigmoid, sigmoid_backward, softmax, softmax_backward
from losscli.kernel.quantiles import weighted_quantile
from losscli.kernel.streaming import Batch, Kernel, Params, PartialSums, collect_grouped
from losscli.kernel.validate import require_binary, require_probabilities
from losscli.losses.binary import bce_terms
from losscli.losses.deviance import MeanDeviance, tweedie_unit_deviance
from losscli.losses.multiclass import ce_terms, prepare_multiclass
from losscli.losses.params import EPS, NULL_ROW_BY_ROW, POWER, QUANTILE, option
from losscli.losses.registry import Explain, register_loss
from losscli.losses.regression import Quantile, Tweedie

FORCE_FINITE = (
    "a perfect model (zero deviance) scores 1; a non-zero deviance over a null deviance "
    "of 0 (constant targets, one row) scores 0, as scikit-learn's force_finite"
)
SCORE_ACTIVATION = "any: D² is computed on the predictions as they are"


class SkillScore(Kernel):
    """D² = 1 − (mean deviance of the model) / (mean deviance of the null model).

    Subclasses give ``terms`` (the per-row deviance and its derivative w.r.t. the
    prediction), ``null_update`` (the null model's statistics of a batch, per group)
    and ``null_deviance`` (the null model's mean deviance from merged statistics).
    ∂D²/∂ŷᵢ = −wᵢ ∂Lᵢ/∂ŷᵢ / (Σw · D₀), the null deviance D₀ not depending on ŷ.
    """

    ratio = True
    reductions = ("mean",)

    def terms(self, batch: Batch, params: Params) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def null_update(
        self, batch: Batch, params: Params, codes: np.ndarray, size: int
    ) -> dict[str, object]:
        raise NotImplementedError

    def null_deviance(self, sums, params: Params) -> np.ndarray:
        raise NotImplementedError

    def update_grouped(self, batch, params, codes, size):
        w = batch.w()
        value, _ = self.terms(batch, params)
        weighted = w * value if value.ndim == 1 else w[:, None] * value
        return PartialSums(
            model=group_sum(weighted, codes, size),
            w=group_sum(w, codes, size),
            **self.null_update(batch, params, codes, size),
        )

    def update(self, batch, params):
        return ungrouped(self.update_grouped, batch, params)

    def _deviances(self, sums, params) -> tuple[np.ndarray, np.ndarray]:
        """(model, null) mean deviances, one entry per target column."""
        total = float(sums["w"])
        if not total > 0:
            exc = ZeroWeightError()
            exc.hint = "give some rows a positive weight"
            raise exc
        model = np.atleast_1d(np.asarray(sums["model"], dtype=np.float64)) / total
        return model, np.atleast_1d(np.asarray(self.null_deviance(sums, params), np.float64))

    def compute(self, sums, params, reduction):
        model, null = self._deviances(sums, params)
        safe = np.where(null == 0, 1.0, null)
        scores = np.where(model == 0, 1.0, np.where(null == 0, 0.0, 1.0 - model / safe))
        return float(np.mean(scores))

    def grad(self, batch, sums, params, reduction):
        model, null = self._deviances(sums, params)
        _, d = self.terms(batch, params)
        m = len(null)
        active = (model != 0) & (null != 0)  # elsewhere D² is the constant 1 or 0
        coef = np.where(active, -1.0 / (m * float(sums["w"]) * np.where(null == 0, 1.0, null)), 0)
        w = batch.w()
        if m > 1:  # one score per target column, averaged
            return (d * w[:, None] * coef[None, :],)
        scale = w * coef[0]
        return (d * scale[:, None] if d.ndim == 2 else d * scale,)


def _scores_text(loss: str) -> dict[str, str]:
    return dict(
        use_when=f"you want a scale-free 'how much better than a constant' number for {loss}: "
        "comparable across targets and data sets, and a gate with --fail-below",
        activation=SCORE_ACTIVATION,
    )


@register_loss(
    "d2_tweedie",
    aliases=("d2_tweedie_score",),
    inputs="real",
    tasks=("regression", "counts"),
    params=(POWER,),
    kind="metric",
    better="higher",
    explain=Explain(
        formula="D² = 1 − Σ wᵢ d_p(yᵢ, ŷᵢ) / Σ wᵢ d_p(yᵢ, ȳ),  ȳ = Σ wy / Σ w, d_p the Tweedie unit "
        "deviance (see tweedie); power 0 is R²",
        gradient="∂D²/∂ŷᵢ = −wᵢ · 2ŷᵢ^(−p)(ŷᵢ − yᵢ) / (Σ w d_p(y, ȳ))",
        pitfalls="not a loss to minimise (higher is better); the null model is the mean of the rows "
        "scored, so each --group is scored against its own mean; " + FORCE_FINITE,
        differences="sklearn d2_tweedie_score agrees (1e-9) but defaults to power 0 (losscli: 1.5, as "
        "tweedie), takes one target column (losscli averages D² over several), and returns NaN or −inf "
        "for constant targets. The null deviance is streamed exactly by merging (Σw, ȳ, Σ w d(y, ȳ)) "
        "per batch, like Chan's variance.",
        properties="≤ 1; 0 for the constant mean prediction; with power 0 it is R² (sklearn r2_score)",
        **_scores_text("the Tweedie deviance"),
    ),
)
class D2Tweedie(SkillScore):
    """D² for the Tweedie deviance (deviance explained; power 0 is R²)."""

    deviance = Tweedie()

    def prepare(self, batch, params):
        return self.deviance.prepare(batch, params)

    def terms(self, batch, params):
        # the unit deviance evaluated in (y − ŷ)/ŷ: exactly 0 at ŷ = y, accurate near it
        value = tweedie_unit_deviance(batch.target, batch.preds[0], params["power"])
        return value, self.deviance.dloss(batch, params)[0]

    def null_update(self, batch, params, codes, size):
        p = params["power"]
        y, w = batch.target, batch.w()
        weight = group_sum(w, codes, size)
        ww = w if y.ndim == 1 else w[:, None]
        safe = np.where(weight > 0, weight, 1.0)
        mean = group_sum(ww * y, codes, size) / (safe if y.ndim == 1 else safe[:, None])
        with np.errstate(invalid="ignore"):  # a group of zero weight has no mean: 0·d = 0
            dev = np.where(ww > 0, ww * tweedie_unit_deviance(y, mean[codes], p), 0.0)
        dev = group_sum(dev, codes, size)
        return {"null": objects(lambda g: MeanDeviance(weight[g], mean[g], dev[g], p), size)}

    def null_deviance(self, sums, params):
        leaf = sums["null"]
        p = params["power"]
        mean = np.atleast_1d(leaf.mean)
        if p < 0 and np.any(mean <= 0):
            raise InputError(
                f"d2_tweedie with power {p:g} needs a positive mean target for its null model, "
                f"but the (weighted) mean is {float(mean[np.argmax(mean <= 0)]):.6g}",
                hint="a Tweedie power below 0 models positive means; use power 0 (R²) for this target",
            )
        null = np.atleast_1d(leaf.dev) / leaf.weight
        # Targets that differ from their mean by no more than its rounding are constant:
        # their null deviance is 0 (force_finite applies), not a speck of rounding error.
        rounding = tweedie_unit_deviance(mean * (1.0 + 8 * np.finfo(np.float64).eps), mean, p)
        return np.where(null <= rounding, 0.0, null)


@register_loss(
    "r2",
    aliases=("r2_score", "r_squared", "coefficient_of_determination"),
    inputs="real",
    tasks=("regression",),
    kind="metric",
    better="higher",
    explain=Explain(
        formula="R² = 1 − Σ wᵢ (yᵢ − ŷᵢ)² / Σ wᵢ (yᵢ − ȳ)²,  ȳ = Σ wy / Σ w: d2_tweedie at power 0 "
        "(the D² of the squared error)",
        gradient="∂R²/∂ŷᵢ = −2wᵢ(ŷᵢ − yᵢ) / Σ w (y − ȳ)²",
        pitfalls="not a loss to minimise (higher is better); the null model is the mean of the rows "
        "scored, so each --group is scored against its own mean; " + FORCE_FINITE,
        differences="sklearn r2_score agrees (1e-12), weights as its sample_weight, several target "
        "columns averaged as its multioutput='uniform_average'. The same kernel as "
        "d2_tweedie(power=0), under the name every library gives it.",
        properties="≤ 1; 0 for the constant mean prediction; equals the squared correlation only "
        "for a least-squares fit with an intercept",
        **_scores_text("the squared error"),
    ),
)
class R2(D2Tweedie):
    """R², the coefficient of determination (D² of the squared error; sklearn's r2_score)."""

    def _at_power(self, params: Params) -> dict:
        return {**params, "power": 0.0}

    def prepare(self, batch, params):
        return super().prepare(batch, self._at_power(params))

    def terms(self, batch, params):
        return super().terms(batch, self._at_power(params))

    def null_update(self, batch, params, codes, size):
        return super().null_update(batch, self._at_power(params), codes, size)

    def null_deviance(self, sums, params):
        return super().null_deviance(sums, self._at_power(params))


class _PinballScore(SkillScore):
    """D² for the pinball loss at quantile q; the null model is the weighted q-quantile of y."""

    deviance = Quantile()

    def quantile(self, params: Params) -> float:
        return params["quantile"]

    def prepare(self, batch, params):
        return self.deviance.prepare(batch, params)

    def terms(self, batch, params):
        q = {"quantile": self.quantile(params)}
        return self.deviance.loss(batch, q), self.deviance.dloss(batch, q)[0]

    def null_update(self, batch, params, codes, size):
        rows = np.column_stack([batch.target, batch.w()])
        return {"targets": collect_grouped(rows, codes, size)}

    def null_deviance(self, sums, params):
        rows = sums["targets"].array()
        y, w = rows[:, :-1], rows[:, -1]
        q = self.quantile(params)
        out = []
        for j in range(y.shape[1]):
            u = y[:, j] - weighted_quantile(y[:, j], w, q, average=True)
            out.append(np.sum(w * np.maximum(q * u, (q - 1.0) * u)) / np.sum(w))
        return np.asarray(out)


PINBALL_DIFFERENCES = (
    "sklearn {name} agrees (1e-9), including its null model: the weighted quantile by the "
    "averaged inverted CDF (sklearn's _weighted_percentile(average=True), the median of "
    "np.median for q = ½ and unit weights). The null model needs every target, so this score "
    "keeps each row's targets and weight in memory (8 bytes per value)."
)


@register_loss(
    "d2_pinball",
    aliases=("d2_pinball_score", "d2_quantile"),
    inputs="real",
    tasks=("quantile", "regression", "robust-regression"),
    params=(QUANTILE,),
    kind="metric",
    better="higher",
    explain=Explain(
        formula="D² = 1 − Σ wᵢ ρ_q(yᵢ − ŷᵢ) / Σ wᵢ ρ_q(yᵢ − y_q),  ρ_q(u) = max(q u, (q − 1) u), "
        "y_q the weighted q-quantile of y",
        gradient="∂D²/∂ŷᵢ = −wᵢ ∂ρ_q/∂ŷᵢ / (Σ w ρ_q(y − y_q)),  ∂ρ_q/∂ŷ = −q if y > ŷ, 1 − q if y < ŷ, 0 "
        "at y = ŷ",
        pitfalls="not a loss to minimise (higher is better); keeps the targets in memory; "
        + FORCE_FINITE,
        differences=PINBALL_DIFFERENCES.format(name="d2_pinball_score(alpha=q)")
        + " sklearn names q 'alpha'.",
        properties="≤ 1; 0 for the constant q-quantile prediction",
        **_scores_text("a quantile model (pinball loss)"),
    ),
)
class D2Pinball(_PinballScore):
    """D² for the pinball (quantile) loss."""


@register_loss(
    "d2_absolute_error",
    aliases=("d2_absolute_error_score", "d2_mae"),
    inputs="real",
    tasks=("regression", "robust-regression"),
    kind="metric",
    better="higher",
    explain=Explain(
        formula="D² = 1 − Σ wᵢ |yᵢ − ŷᵢ| / Σ wᵢ |yᵢ − ỹ|,  ỹ the weighted median of y "
        "(d2_pinball at q = ½)",
        gradient="∂D²/∂ŷᵢ = −wᵢ sign(ŷᵢ − yᵢ) / (Σ w |y − ỹ|)  (0 at ŷ = y)",
        pitfalls="not a loss to minimise (higher is better); keeps the targets in memory; "
        + FORCE_FINITE,
        differences=PINBALL_DIFFERENCES.format(name="d2_absolute_error_score"),
        properties="≤ 1; 0 for the constant median prediction",
        **_scores_text("the absolute error"),
    ),
)
class D2AbsoluteError(_PinballScore):
    """D² for the absolute error (the median as null model)."""

    def quantile(self, params):
        return 0.5


class _ClassScore(SkillScore):
    """Binary (one probability or logit column, 0/1 target) or multi-class (K columns,
    integer or string labels); the null model predicts the weighted class shares."""

    name = ""

    def prepare(self, batch, params):
        if batch.target is None:
            raise InputError(f"{self.name} needs a target column")
        y, x = batch.target, batch.preds[0]
        if x.ndim == 2 and y.ndim == 1:
            return prepare_multiclass(batch, params, self.name, soft=False)
        if x.ndim == 1 and y.ndim == 1:
            require_binary(y, batch)
            if not params["from_logits"]:
                require_probabilities(x, batch)
            return batch.replace(aux={"k": 1})
        raise InputError(
            f"{self.name} takes one label column with one probability column (binary) or with "
            f"K class columns; got {y.shape[1] if y.ndim == 2 else 1} target and "
            f"{x.shape[1] if x.ndim == 2 else 1} prediction column(s)",
            hint="multilabel targets are not supported: score each label column on its own",
        )

    def onehot(self, batch: Batch) -> np.ndarray:
        """Class indicators (n, K); a binary target y becomes the two classes (1 − y, y)."""
        if batch.aux.get("k") == 1:
            return np.column_stack([1.0 - batch.target, batch.target])
        return batch.target

    def null_update(self, batch, params, codes, size):
        return {"classes": group_sum(batch.w()[:, None] * self.onehot(batch), codes, size)}

    def shares(self, sums) -> np.ndarray:
        totals = np.asarray(sums["classes"], dtype=np.float64)
        return totals / float(sums["w"])


@register_loss(
    "d2_log_loss",
    aliases=("d2_log_loss_score", "d2_cross_entropy"),
    inputs="binary",
    tasks=("binary", "multiclass", "imbalanced"),
    params=(EPS,),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="D² = 1 − Σ wᵢ CE(tᵢ, pᵢ) / Σ wᵢ CE(tᵢ, p̄),  CE(t, p) = −Σ_c t_c log p_c (binary: "
        "−[y log p + (1 − y) log(1 − p)]), p̄_c = Σ w t_c / Σ w the class shares (so the null "
        "deviance is the entropy −Σ p̄_c log p̄_c); the model's p clipped to [eps, 1 − eps]",
        gradient="∂D²/∂x = −wᵢ ∂CEᵢ/∂x / (Σ w CE(t, p̄)) with ∂CE/∂p_c = −t_c/p_c, or p − t w.r.t. logits",
        pitfalls="not a loss to minimise (higher is better); a class absent from the rows scored "
        "contributes nothing to the null model; " + FORCE_FINITE,
        differences="sklearn d2_log_loss_score agrees (1e-9) with labels= listing every class (losscli "
        "takes the classes from the K prediction columns); sklearn clips p at float64 eps, losscli at "
        "eps = 1e-7 (as bce), and sklearn also clips the class shares, so for targets of a single "
        "class its null deviance is a rounding speck instead of 0. With --from-logits the logits go "
        "through log-sigmoid/log-softmax.",
        properties="≤ 1; 0 for the constant class-share prediction; McFadden's pseudo-R² for a "
        "model with an intercept",
        **_scores_text("a probabilistic classifier (log loss)"),
    ),
)
class D2LogLoss(_ClassScore):
    """D² for log loss (cross-entropy explained by the model over the class shares)."""

    name = "d2_log_loss"

    def terms(self, batch, params):
        if batch.aux.get("k") == 1:
            return bce_terms(batch.target, batch.preds[0], params, self.name)
        return ce_terms(batch.target, batch.preds[0], params, self.name)

    def null_deviance(self, sums, params):
        s = self.shares(sums)
        # −Σ p̄_c log p̄_c over the classes present (p̄_c > 0): 0 for a single class
        return -np.sum(np.where(s > 0, s * np.log(np.where(s > 0, s, 1.0)), 0.0))


@register_loss(
    "d2_brier",
    options=(NULL_ROW_BY_ROW,),
    aliases=("d2_brier_score", "brier_skill_score"),
    inputs="binary",
    tasks=("binary", "multiclass", "imbalanced"),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="D² = 1 − Σ wᵢ Σ_c (p_ic − t_ic)² / Σ wᵢ Σ_c (p̄_c − t_ic)² = 1 − BS / BS₀, p̄ the "
        "weighted class shares; binary: BS₀ = ȳ(1 − ȳ) (the Brier skill score)",
        gradient="∂D²/∂p_c = −wᵢ 2(p_c − t_c) / (Σ w Σ_c (p̄_c − t_c)²); logits through the sigmoid "
        "or softmax",
        pitfalls="not a loss to minimise (higher is better); the reference forecast is the class "
        "shares of the rows scored (each --group its own); " + FORCE_FINITE,
        differences="sklearn d2_brier_score agrees (1e-9); it is also called the Brier skill score "
        "(BSS) against climatology.",
        properties="≤ 1; 0 for the constant class-share forecast",
        **_scores_text("probability forecasts (Brier score)"),
    ),
)
class D2Brier(_ClassScore):
    """D² for the Brier score (the Brier skill score)."""

    name = "d2_brier"

    def terms(self, batch, params):
        x = batch.preds[0]
        logits = params["from_logits"]
        if batch.aux.get("k") == 1:
            # the two-class form Σ_c (p_c − t_c)² = 2(p − y)², so the null model is 1 − Σ p̄_c²
            p = sigmoid(x) if logits else x
            g = 4.0 * (p - batch.target)
            return 2.0 * (p - batch.target) ** 2, (sigmoid_backward(g, p) if logits else g)
        p = softmax(x) if logits else x
        g = 2.0 * (p - batch.target)
        return np.sum((p - batch.target) ** 2, axis=1), (softmax_backward(g, p) if logits else g)

    def null_update(self, batch, params, codes, size):
        sums = super().null_update(batch, params, codes, size)
        if option(params, NULL_ROW_BY_ROW):  # every row's target and weight, kept
            target = batch.target[:, None] if batch.target.ndim == 1 else batch.target
            rows = np.column_stack([target, batch.w()])
            sums["targets"] = collect_grouped(rows, codes, size)
        return sums

    def null_deviance(self, sums, params):
        """1 − Σ_c p̄_c²; with ``null_row_by_row`` (scikit-learn's d2_brier_score) the null
        model's Brier score of each kept row, Σ wᵢ Σ_c (p̄_c − t_ic)² / Σ w, summed as the
        model's is, so a model that predicts the class shares scores exactly 0."""
        if "targets" not in sums:
            s = self.shares(sums)
            return 1.0 - np.sum(s * s)
        rows = sums["targets"].array()
        t, w = rows[:, :-1], rows[:, -1]
        t = t[:, 0] if t.shape[1] == 1 else t
        shares = np.average(t, axis=0, weights=w)
        null = Batch(
            target=t,
            preds=(np.broadcast_to(shares, t.shape).copy(),),
            weights=w,
            aux={"k": 1} if t.ndim == 1 else {},
        )
        value, _ = self.terms(null, {**params, "from_logits": False})
        weighted = w * value
        return group_sum(weighted, np.zeros(len(w), dtype=np.intp), 1)[0] / float(sums["w"])
