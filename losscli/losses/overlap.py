r"""Overlap losses for segmentation: Dice, IoU (Jaccard) and Tversky.

These are ratios of sums, never means of per-row values: each batch adds to the
per-class sums TP = Σ w y p, ΣY = Σ w y and ΣP = Σ w p, and J is computed once from
the merged sums (over each group's rows with --group). K classes: mean over classes.
An empty mask predicted empty scores J = 0 (the smoothing term s does it).
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError
from losscli.kernel.numerics import one_hot, sigmoid, sigmoid_backward, softmax, softmax_backward
from losscli.kernel.streaming import Batch, Kernel, Params, PartialSums
from losscli.kernel.validate import (
    integer_labels,
    require_probabilities,
    require_rows_sum_to_one,
    require_soft_labels,
)
from losscli.losses.params import (
    CLASS_AVERAGE,
    OVERLAP_ANY_VALUES,
    SMOOTH,
    SMOOTH_NUMERATOR,
    SMOOTH_SCALE,
    Param,
    non_negative,
    option,
    positive,
)
from losscli.losses.registry import Explain, register_loss

SEGMENTATION = ("segmentation", "imbalanced")


class _Overlap(Kernel):
    """Shared sums and gradient; subclasses give the ratio ``score(tp, sy, sp)``
    and its partial derivatives w.r.t. tp, sy, sp (J = 1 − mean_c score_c)."""

    ratio = True
    reductions = ("mean",)

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.target is None:
            raise InputError("an overlap loss needs a target mask or label column")
        y, x = batch.target, batch.preds[0]
        squeeze = x.ndim == 1
        logits = params["from_logits"]
        # Keras: the mask and prediction columns are used as they are (no range check)
        any_values = option(params, OVERLAP_ANY_VALUES) and y.shape == x.shape
        if squeeze:  # one foreground column
            if y.shape != x.shape:
                raise InputError(f"target has shape {y.shape} but prediction has {x.shape}")
            if not any_values:
                require_soft_labels(y, batch)
            y, x = y[:, None], x[:, None]
            activation = "sigmoid"
        elif y.ndim == 1:  # integer labels and K class columns
            y = one_hot(integer_labels(y, x.shape[1], batch), x.shape[1])
            activation = "softmax"
            if not logits:
                require_probabilities(x, batch)
                require_rows_sum_to_one(x, batch)
        elif y.shape == x.shape:  # K mask columns
            if not any_values:
                require_soft_labels(y, batch)
            activation = "sigmoid"
        else:
            raise InputError(f"target shape {y.shape} does not fit prediction shape {x.shape}")
        if not logits:
            if not any_values:
                require_probabilities(x, batch)
            p = x
        else:
            p = sigmoid(x) if activation == "sigmoid" else softmax(x)
        return batch.replace(
            target=y,
            preds=(p,),
            aux={"activation": activation if logits else None, "squeeze": squeeze},
        )

    def update(self, batch: Batch, params: Params) -> PartialSums:
        y, p = batch.target, batch.preds[0]
        w = batch.w()[:, None]
        return PartialSums(
            tp=np.sum(w * y * p, axis=0),
            sy=np.sum(w * y, axis=0),
            sp=np.sum(w * p, axis=0),
            n=len(batch),
        )

    def update_grouped(self, batch: Batch, params: Params, codes, size: int) -> PartialSums:
        y, p = batch.target, batch.preds[0]
        w = batch.w()[:, None]

        def per_group(values):
            return np.stack(
                [
                    np.bincount(codes, weights=values[:, j], minlength=size)
                    for j in range(values.shape[1])
                ],
                axis=1,
            )

        return PartialSums(
            tp=per_group(w * y * p),
            sy=per_group(w * y),
            sp=per_group(w * p),
            n=np.bincount(codes, minlength=size),
        )

    def _totals(self, sums, params):
        """TP, ΣY, ΣP per class; one pooled ratio over all classes with Keras's
        ``class_average="micro"`` (its axis=None)."""
        tp, sy, sp = sums["tp"], sums["sy"], sums["sp"]
        if option(params, CLASS_AVERAGE) == "micro":
            return tuple(np.sum(a, axis=-1, keepdims=True) for a in (tp, sy, sp))
        return tp, sy, sp

    def class_loss(self, score, params):
        """Each class's loss from its score (J is their mean over classes)."""
        return 1.0 - score

    def class_loss_grad(self, score, params):
        """∂ class_loss / ∂ score."""
        return -1.0

    def compute(self, sums, params, reduction):
        score = self.score(*self._totals(sums, params), params)
        return float(np.mean(self.class_loss(score, params)))

    def breakdown(self, targets: int, predictions: int) -> str:
        return "overlap"

    def class_sums(self, sums, c: int) -> PartialSums:
        """Class c's TP, ΣY, ΣP (the last axis is the class), so J_c = 1 − score_c."""
        return PartialSums(
            {k: v[..., c : c + 1] if k in ("tp", "sy", "sp") else v for k, v in sums.items()}
        )

    def grad(self, batch, sums, params, reduction):
        y, p = batch.target, batch.preds[0]
        totals = self._totals(sums, params)
        k = totals[0].shape[-1]
        d_tp, d_sy, d_sp = self.partials(*totals, params)
        outer = self.class_loss_grad(self.score(*totals, params), params)
        # ∂J/∂p_ic = (1/K) wᵢ ∂loss_c/∂score_c (∂score/∂TP · y_ic + ∂score/∂ΣP); ΣY does not
        # depend on p.
        g = (batch.w()[:, None] / k) * outer * (d_tp * y + d_sp)
        activation = batch.aux["activation"]
        if activation == "sigmoid":
            g = sigmoid_backward(g, p)
        elif activation == "softmax":
            g = softmax_backward(g, p)
        return (g[:, 0] if batch.aux["squeeze"] else g,)


def smoothing(params: Params) -> tuple[float, float]:
    """(numerator, denominator) smoothing terms: s = smooth (× ``smooth_scale``, 2 for
    optax's dice_loss); Keras (``smooth_numerator=False``) has none in the numerator."""
    s = params["smooth"] * option(params, SMOOTH_SCALE)
    return (s if option(params, SMOOTH_NUMERATOR) else 0.0), s


@register_loss(
    "dice",
    options=(SMOOTH_NUMERATOR, CLASS_AVERAGE, SMOOTH_SCALE, OVERLAP_ANY_VALUES),
    aliases=("soft_dice",),
    inputs="overlap",
    tasks=SEGMENTATION,
    params=(SMOOTH,),
    logits=True,
    explain=Explain(
        formula="J = 1 − (2·Σyp + s)/(Σy + Σp + s), sums over all rows (per class, then mean over K classes)",
        gradient="∂J/∂pᵢ = −(1/K)·wᵢ·(2yᵢ·M − N)/M², N = 2Σyp + s, M = Σy + Σp + s",
        use_when="segmentation with a small foreground: overlap instead of per-pixel accuracy",
        pitfalls="a ratio of sums: the mean of per-image Dice differs (use --group image_id for per-image "
        "values); unstable when a class is nearly absent; a ratio of sums, so each row's gradient "
        "depends on every row and carries no 1/n factor",
        activation="sigmoid (binary masks) or softmax (class labels)",
        differences="Keras Dice has no smoothing in the numerator (an empty mask scores 1, not 0); optax "
        "dice_loss(smooth=1) effectively doubles s and works per sample; SMP DiceLoss zeroes absent "
        "classes and takes the intersection as (ΣP + ΣT − ‖P − T‖₁)/2.",
    ),
)
class Dice(_Overlap):
    """Soft Dice loss (1 − Dice coefficient) from global sums."""

    def score(self, tp, sy, sp, params):
        s_num, s = smoothing(params)
        return (2.0 * tp + s_num) / (sy + sp + s)

    def partials(self, tp, sy, sp, params):
        s_num, s = smoothing(params)
        n, m = 2.0 * tp + s_num, sy + sp + s
        return 2.0 / m, -n / m**2, -n / m**2


@register_loss(
    "iou",
    aliases=("jaccard", "soft_iou"),
    inputs="overlap",
    tasks=SEGMENTATION,
    params=(SMOOTH,),
    logits=True,
    explain=Explain(
        formula="J = 1 − (Σyp + s)/(Σy + Σp − Σyp + s)",
        gradient="∂J/∂pᵢ = −(1/K)·wᵢ·(yᵢ·M − N·(1 − yᵢ))/M², N = Σyp + s, M = Σy + Σp − Σyp + s",
        use_when="segmentation judged by intersection over union",
        pitfalls="as Dice: a ratio of sums over the rows evaluated together",
        activation="sigmoid or softmax",
        differences="SMP JaccardLoss is Tversky(1, 1); Keras, sklearn and torchmetrics IoU work on hard labels.",
    ),
)
class IoU(_Overlap):
    """Soft IoU (Jaccard) loss from global sums."""

    def score(self, tp, sy, sp, params):
        s = params["smooth"]
        return (tp + s) / (sy + sp - tp + s)

    def partials(self, tp, sy, sp, params):
        s = params["smooth"]
        n, m = tp + s, sy + sp - tp + s
        return 1.0 / m + n / m**2, -n / m**2, -n / m**2


ALPHA_T = Param("alpha", 0.5, check=non_negative, valid=">= 0", help="weight of false positives α")
BETA_T = Param("beta", 0.5, check=non_negative, valid=">= 0", help="weight of false negatives β")


@register_loss(
    "tversky",
    options=(SMOOTH_NUMERATOR, CLASS_AVERAGE, OVERLAP_ANY_VALUES),
    inputs="overlap",
    tasks=SEGMENTATION,
    params=(ALPHA_T, BETA_T, SMOOTH),
    logits=True,
    explain=Explain(
        formula="J = 1 − (TP + s)/(TP + α·FP + β·FN + s), TP = Σyp, FP = Σ(1−y)p, FN = Σy(1−p)",
        gradient="∂J/∂pᵢ = −(1/K)·wᵢ·(yᵢ·M − N·(yᵢ + α(1 − yᵢ) − β yᵢ))/M², N = TP + s, M = TP + αFP + βFN + s",
        use_when="segmentation where missing foreground costs more than false alarms (β > α)",
        pitfalls="α = β = 0.5 is Dice; α = β = 1 is IoU",
        activation="sigmoid or softmax",
        differences="Keras Tversky and optax dice_loss(alpha, beta) weight FP by α and FN by β as here; "
        "SMP TverskyLoss raises the loss to γ (focal Tversky).",
    ),
)
class Tversky(_Overlap):
    """Tversky loss (asymmetric Dice) from global sums."""

    def score(self, tp, sy, sp, params):
        a, b = params["alpha"], params["beta"]
        s_num, s = smoothing(params)
        return (tp + s_num) / (tp + a * (sp - tp) + b * (sy - tp) + s)

    def partials(self, tp, sy, sp, params):
        a, b = params["alpha"], params["beta"]
        s_num, s = smoothing(params)
        n = tp + s_num
        m = tp + a * (sp - tp) + b * (sy - tp) + s
        d_tp = 1.0 / m - n * (1.0 - a - b) / m**2
        return d_tp, -n * b / m**2, -n * a / m**2


GAMMA_FT = Param(
    "gamma",
    0.75,
    check=positive,
    valid="> 0",
    help="focal Tversky exponent γ: J = mean_c (1 − TI_c)^γ",
)


@register_loss(
    "focal_tversky",
    inputs="overlap",
    tasks=SEGMENTATION,
    params=(
        Param("alpha", 0.3, check=non_negative, valid=">= 0", help="weight of false positives α"),
        Param("beta", 0.7, check=non_negative, valid=">= 0", help="weight of false negatives β"),
        GAMMA_FT,
        SMOOTH,
    ),
    logits=True,
    explain=Explain(
        formula="J = mean_c (1 − TI_c)^γ, TI = (TP + s)/(TP + α·FP + β·FN + s) (the Tversky index, "
        "α on false positives, β on false negatives)",
        gradient="∂J/∂pᵢ = −(γ/K)·(1 − TI)^(γ−1)·∂TI/∂pᵢ, ∂TI/∂pᵢ = wᵢ(yᵢ·M − N·(yᵢ + α(1 − yᵢ) − β yᵢ))/M² "
        "(as tversky); 0 for a class with TI = 1",
        use_when="small structures (lesions): γ < 1 keeps a strong gradient on classes that are "
        "already mostly right but not perfect, β > α penalises missed foreground",
        pitfalls="the exponent is γ here; Abraham & Khan write (1 − TI)^(1/γ) with γ = 4/3, i.e. "
        "γ = 0.75 here (the default); with α = β = 0.5 and γ = 1 it is Dice",
        activation="sigmoid or softmax",
        differences="Abraham & Khan (2019) weight false negatives by their α = 0.7 and false positives by "
        "β = 0.3 — α and β are swapped here, as in tversky, Keras and optax (defaults α = 0.3, β = 0.7 are "
        "the paper's); they sum over classes, losscli averages. SMP TverskyLoss(gamma) also raises to γ "
        "(default 1).",
    ),
)
class FocalTversky(Tversky):
    """Focal Tversky loss: the Tversky loss of each class raised to γ."""

    def class_loss(self, score, params):
        return np.maximum(1.0 - score, 0.0) ** params["gamma"]

    def class_loss_grad(self, score, params):
        base = np.maximum(1.0 - score, 0.0)
        gamma = params["gamma"]
        with np.errstate(divide="ignore"):
            slope = np.where(base > 0, gamma * base ** (gamma - 1.0), 0.0)
        return -slope


def class_weights_from_sizes(sy: np.ndarray) -> np.ndarray:
    """Sudre's w_c = 1/(ΣY_c)², normalised to sum to 1; an empty class gets the largest
    weight of the others (MONAI's rule), all classes empty: equal weights."""
    with np.errstate(divide="ignore"):
        raw = 1.0 / (sy * sy)
    finite = np.isfinite(raw)
    fill = np.max(raw[finite]) if finite.any() else 1.0
    raw = np.where(finite, raw, fill)
    return raw / np.sum(raw)


@register_loss(
    "generalized_dice",
    aliases=("generalised_dice", "gdl"),
    inputs="overlap",
    tasks=SEGMENTATION,
    params=(SMOOTH,),
    logits=True,
    explain=Explain(
        formula="J = 1 − (2·Σ_c w_c·TP_c + s)/(Σ_c w_c·(ΣY_c + ΣP_c) + s), TP_c = Σᵢ y_ic p_ic, "
        "w_c ∝ 1/(ΣY_c)² normalised to Σ_c w_c = 1; a single probability column is two classes "
        "(background 1 − p, foreground p)",
        gradient="∂J/∂p_ic = −wᵢ·w_c·(2y_ic·M − N)/M², N = 2Σ w·TP + s, M = Σ w·(ΣY + ΣP) + s "
        "(the weights depend on the targets only)",
        use_when="multi-class segmentation with very unequal class sizes: each class counts about "
        "equally, whatever its number of pixels",
        pitfalls="a ratio of sums (per file, or per --group); a class absent from the targets takes "
        "the largest weight of the others (its false positives still count)",
        activation="softmax (class labels) or sigmoid",
        differences="Sudre et al. (2017). The weights are normalised so that s stays small relative to "
        "the sums (with s = 0 the value is Sudre's exactly); MONAI GeneralizedDiceLoss uses the raw "
        "1/(ΣY)² with smooth_nr = smooth_dr = 1e-5, which can outweigh the sums of large masks, "
        "and works per image unless batch=True; torchmetrics GeneralizedDiceScore scores hard labels.",
    ),
)
class GeneralizedDice(_Overlap):
    """Generalized Dice loss (Sudre et al.): class-weighted Dice from global sums."""

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        if not batch.aux["squeeze"]:
            return batch
        y, p = batch.target, batch.preds[0]
        return batch.replace(target=np.hstack([1.0 - y, y]), preds=(np.hstack([1.0 - p, p]),))

    def _parts(self, sums, params):
        w = class_weights_from_sizes(np.asarray(sums["sy"], dtype=np.float64))
        s = params["smooth"]
        n = 2.0 * np.sum(w * sums["tp"]) + s
        m = np.sum(w * (sums["sy"] + sums["sp"])) + s
        return w, n, m

    def compute(self, sums, params, reduction):
        _, n, m = self._parts(sums, params)
        return float(1.0 - n / m)

    def grad(self, batch, sums, params, reduction):
        y, p = batch.target, batch.preds[0]
        w, n, m = self._parts(sums, params)
        g = -batch.w()[:, None] * w * (2.0 * y * m - n) / m**2
        activation = batch.aux["activation"]
        if batch.aux["squeeze"]:  # two classes made of one column: ∂/∂p = g_fg − g_bg
            g = (g[:, 1] - g[:, 0])[:, None]
            p = p[:, 1:]
        if activation == "sigmoid":
            g = sigmoid_backward(g, p)
        elif activation == "softmax":
            g = softmax_backward(g, p)
        return (g[:, 0] if batch.aux["squeeze"] else g,)
