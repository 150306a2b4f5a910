r"""Binary and multilabel classification losses on 0/1 targets.

Predictions are probabilities p (clipped to [eps, 1 − eps]) or, with
``from_logits``, logits z evaluated in log space (log σ(z) = −logaddexp(0, −z)),
so |z| up to 1e4 stays finite. With m label columns Lᵢ is the mean over labels.
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ParamError
from losscli.kernel.numerics import clip_probability, log_sigmoid, sigmoid, sigmoid_backward
from losscli.kernel.streaming import Batch, Elementwise, Params
from losscli.kernel.validate import (
    plus_minus_one,
    require_binary,
    require_probabilities,
    require_soft_labels,
)
from losscli.losses.params import (
    ALPHA_FOCAL,
    BCE_CLIP,
    BRIER_CLASSES,
    CLASS_WEIGHTS,
    DENOMINATOR,
    EPS,
    FOCAL_CATEGORICAL_ALPHA,
    FOCAL_FORM,
    FOCAL_LABEL_SMOOTHING,
    FOCAL_LAYOUT,
    GAMMA,
    LABEL_SMOOTHING,
    POS_WEIGHT,
    ROWS_AS_GIVEN,
    SIGMOID_ONLY,
    Param,
    all_non_negative,
    option,
)
from losscli.losses.registry import Explain, register_loss

BINARY = ("binary", "multilabel", "imbalanced")


def binary_class_weights(params: Params, loss: str) -> tuple[float, float]:
    """(w0, w1) from ``class_weights``; (1, 1) when unset."""
    cw = params.get("class_weights")
    if cw is None:
        return 1.0, 1.0
    if len(cw) != 2:
        raise ParamError(
            "class_weights", ",".join(map(str, cw)), "2 numbers w0,w1 for a binary loss", loss
        )
    return cw[0], cw[1]


class _Binary(Elementwise):
    """Target and prediction of the same shape: (n,) or (n, m) for m labels."""

    soft_targets = False

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.target is None:
            raise InputError("a binary loss needs a target column")
        y, x = batch.target, batch.preds[0]
        if y.shape != x.shape:
            width = [1 if a.ndim == 1 else a.shape[1] for a in (y, x)]
            raise InputError(
                f"{width[0]} target column(s) but {width[1]} prediction column(s)",
                hint="binary and multilabel losses pair one prediction column with each label column",
            )
        if y.dtype.kind != "f":
            raise InputError("binary targets must be 0/1 numbers")
        (require_soft_labels if self.soft_targets else require_binary)(y, batch)
        if not params.get("from_logits"):
            require_probabilities(x, batch)
        return batch

    def columnwise(self, batch: Batch) -> bool:
        return True

    def breakdown(self, targets: int, predictions: int) -> str | None:
        # one 0/1 column: by true class 0/1; m label columns: per label
        return "column" if targets > 1 else "label"

    def row_class_weight(self, batch, params, labels_only=False):
        """c = w₁y + w₀(1 − y) per row (the mean over label columns), from class_weights."""
        if params.get("class_weights") is None:
            return None
        w0, w1 = binary_class_weights(params, "bce")
        c = w1 * batch.target + w0 * (1.0 - batch.target)
        return c if c.ndim == 1 else c.mean(axis=1)


# PyTorch's BCELoss: each log is clamped at −100, and its backward divides by
# max(p(1 − p), EPSILON) with ``constexpr float EPSILON = 1e-12`` (aten/src/ATen/native/
# Loss.cpp): 1e-12 rounded to a C float, which is what float64 tensors see.
TORCH_LOG_FLOOR = -100.0
TORCH_BCE_EPSILON = 9.999999960041972e-13


def bce_terms(y, x, params: Params, loss: str = "bce", grad: bool = True):
    """Per-element BCE and its derivative w.r.t. p (or z with from_logits); no
    derivative (None) when ``grad`` is False, as a value-only pass needs.

    L = −[w₁·pw·y log p + w₀(1 − y) log(1 − p)],  y ← y(1 − ls) + ls/2.
    With ``bce_clip="float32"`` (Keras) the clip bounds are eps and 1 − eps rounded to float32
    (1e-7 → 1.0000000117e-7, 1 − 1e-7 → 1 − 1.19e-7), as Keras's float32 tensors see them.
    With the ``bce_clip="log100"`` option (PyTorch's BCELoss) p is not clipped:
    L = −[a·max(log p, −100) + b·max(log(1 − p), −100)], a = w₁·pw·y, b = w₀(1 − y),
    and the derivative is PyTorch's (p(a + b) − a)/max(p(1 − p), 1e-12), which is
    −a/p + b/(1 − p) wherever p(1 − p) ≥ 1e-12.
    """
    ls = params.get("label_smoothing") or 0.0
    if ls:
        y = y * (1.0 - ls) + 0.5 * ls
    w0, w1 = binary_class_weights(params, loss)
    a = w1 * params.get("pos_weight", 1.0) * y
    b = w0 * (1.0 - y)
    if params["from_logits"]:
        value = -(a * log_sigmoid(x) + b * log_sigmoid(-x))
        if not grad:
            return value, None
        return value, -a * sigmoid(-x) + b * sigmoid(x)
    if option(params, BCE_CLIP) == "log100":
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(x), TORCH_LOG_FLOOR)
            log_q = np.maximum(np.log(1.0 - x), TORCH_LOG_FLOOR)
        value = -(a * log_p + b * log_q)
        if not grad:
            return value, None
        return value, (x * (a + b) - a) / np.maximum(x * (1.0 - x), TORCH_BCE_EPSILON)
    if option(params, BCE_CLIP) == "float32":  # Keras: clip(p, eps, 1 − eps) on float32 tensors
        lo, hi = float(np.float32(params["eps"])), float(np.float32(1.0 - params["eps"]))
        inside = (x >= lo) & (x <= hi)
        p = np.clip(x, lo, hi)
    else:
        p, inside = clip_probability(x, params["eps"])
    value = -(a * np.log(p) + b * np.log1p(-p))
    if not grad:
        return value, None
    return value, np.where(inside, -a / p + b / (1.0 - p), 0.0)


_BCE_EXPLAIN = Explain(
    formula="Lᵢ = −[w₁·pw·y log p + w₀(1 − y) log(1 − p)], p clipped to [eps, 1 − eps]; "
    "label smoothing y ← y(1 − ls) + ls/2; m label columns: mean over labels",
    gradient="∂Lᵢ/∂p = −w₁·pw·y/p + w₀(1 − y)/(1 − p) (0 where p is clipped); "
    "logits: ∂Lᵢ/∂z = −w₁·pw·y·σ(−z) + w₀(1 − y)·σ(z)",
    use_when="binary or multilabel classification with a sigmoid output",
    pitfalls="probabilities of exactly 0 or 1 give log(0): they are clipped at eps; passing logits "
    "without --from-logits is caught (values outside [0, 1]); MSE after a sigmoid trains slowly",
    activation="sigmoid (or logits with --from-logits)",
    differences="torch BCELoss caps each term at 100 (log clamped at −100) instead of clipping p; "
    "Keras clips p to [1e-7, 1 − 1e-7] in float32 (the top is 1 − 1.19e-7; --convention keras); sklearn log_loss clips at float64 eps (≈36.04 at p=0). "
    "Label smoothing toward ½ follows Keras. torch pos_weight is per class; here it is one number.",
    properties="convex in z; the negative log-likelihood of a Bernoulli model",
)


@register_loss(
    "bce",
    options=(DENOMINATOR, BCE_CLIP),
    default_for={"binary": 1, "imbalanced": 1, "multilabel": 1},
    aliases=("binary_crossentropy", "binary_cross_entropy", "log_loss", "multilabel_bce"),
    inputs="binary",
    tasks=BINARY,
    params=(EPS, POS_WEIGHT, CLASS_WEIGHTS, LABEL_SMOOTHING),
    logits=True,
    explain=_BCE_EXPLAIN,
)
class BinaryCrossEntropy(_Binary):
    """Binary cross-entropy (log loss), one or several label columns."""

    soft_targets = True

    def loss(self, batch, params):
        return bce_terms(batch.target, batch.preds[0], params, grad=False)[0]

    def dloss(self, batch, params):
        return (bce_terms(batch.target, batch.preds[0], params)[1],)


@register_loss(
    "weighted_bce",
    options=(DENOMINATOR, BCE_CLIP),
    inputs="binary",
    tasks=("binary", "imbalanced", "multilabel"),
    params=(
        EPS,
        POS_WEIGHT,
        Param(
            "class_weights",
            None,
            kind="floats",
            check=all_non_negative,
            valid="two non-negative numbers w0,w1",
            help="weights of class 0 and class 1 (required)",
            required=True,
        ),
        LABEL_SMOOTHING,
    ),
    logits=True,
    explain=Explain(
        formula="Lᵢ = −[w₁ y log p + w₀(1 − y) log(1 − p)];  J = (1/n) Σ Lᵢ (divides by n, not Σw)",
        gradient=_BCE_EXPLAIN.gradient,
        use_when="imbalanced binary data: up-weight the rare class, e.g. w = n/(2·n_c)",
        pitfalls="class weights change the scale of the loss; compare weighted values only with the same weights",
        activation="sigmoid (or logits with --from-logits)",
        differences="torch BCELoss(weight=) takes per-element weights and divides by n, as here; "
        "torch's class-weighted CrossEntropyLoss divides by Σw_y instead; Keras fit(class_weight=) divides by n.",
    ),
)
class WeightedBinaryCrossEntropy(BinaryCrossEntropy):
    """Class-weighted binary cross-entropy (class_weights required)."""

    def loss(self, batch, params):
        return bce_terms(batch.target, batch.preds[0], params, "weighted_bce", grad=False)[0]

    def dloss(self, batch, params):
        return (bce_terms(batch.target, batch.preds[0], params, "weighted_bce")[1],)


@register_loss(
    "brier",
    options=(BRIER_CLASSES, ROWS_AS_GIVEN),
    default_for={"binary": 2, "imbalanced": 3},
    aliases=("brier_score",),
    inputs="binary",
    tasks=("binary", "imbalanced", "multilabel"),
    logits=True,
    explain=Explain(
        formula="Lᵢ = (p − y)²  (p = σ(z) with --from-logits)",
        gradient="∂Lᵢ/∂p = 2(p − y);  logits: 2(p − y)·p(1 − p)",
        use_when="you want a bounded, proper score of probability quality (calibration + sharpness)",
        pitfalls="insensitive to rare-class errors on very imbalanced data; not a training loss for logits",
        activation="sigmoid",
        differences="sklearn brier_score_loss agrees for binary targets; with K class columns sklearn "
        "sums over the classes (halved for K = 2), as --convention sklearn does.",
    ),
)
class Brier(_Binary):
    """Brier score: squared error of a probability.

    With the ``brier_classes`` option (scikit-learn's brier_score_loss) one label column
    with K probability columns gives Lᵢ = s Σ_c (p_ic − t_ic)², t the one-hot label and
    s = ½ for K = 2, 1 for K ≥ 3 (``scale_by_half='auto'``); ∂Lᵢ/∂p_ic = 2s(p_ic − t_ic).
    With ``rows_as_given`` too, rows that do not sum to 1 are used as they are.
    """

    def prepare(self, batch, params):
        y, x = batch.target, batch.preds[0]
        if option(params, BRIER_CLASSES) and y is not None and y.ndim == 1 and x.ndim == 2:
            if params.get("from_logits"):
                raise InputError(
                    "brier over K class columns takes probabilities",
                    hint="drop --from-logits (scikit-learn's brier_score_loss has no logits)",
                )
            from losscli.losses.multiclass import prepare_multiclass

            return prepare_multiclass(batch, params, "brier", soft=False)
        return super().prepare(batch, params)

    def columnwise(self, batch):
        return "k" not in batch.aux  # K class columns make one term per row

    def _p(self, batch, params):
        x = batch.preds[0]
        return sigmoid(x) if params["from_logits"] else x

    def _half(self, batch) -> float:
        return 0.5 if batch.aux["k"] == 2 else 1.0

    def loss(self, batch, params):
        if "k" in batch.aux:
            return self._half(batch) * np.sum((batch.preds[0] - batch.target) ** 2, axis=1)
        return (self._p(batch, params) - batch.target) ** 2

    def dloss(self, batch, params):
        if "k" in batch.aux:
            return (2.0 * self._half(batch) * (batch.preds[0] - batch.target),)
        p = self._p(batch, params)
        g = 2.0 * (p - batch.target)
        return (sigmoid_backward(g, p) if params["from_logits"] else g,)


def _power(base: np.ndarray, exponent: float) -> np.ndarray:
    """base^exponent for base ≥ 0, with 0^e = 0 for e > 0 (no inf for e < 0: the factor it
    multiplies is 0 there, so 0 is the one-sided value
    losscli takes at a kink)."""
    if exponent == 0:
        return np.ones_like(base)
    with np.errstate(divide="ignore"):
        return np.where(base > 0, np.abs(base) ** exponent, 0.0)


def keras_binary_focal_terms(y, x, params: Params, at: np.ndarray, s: np.ndarray):
    """Keras's binary focal loss and its derivative w.r.t. p (or z).

    p = σ(z) for logits; bce = −[y log p̂ + (1 − y) log(1 − p̂)] with p̂ = clip(p, eps,
    1 − eps); L = α_t (1 − p_t)^γ · bce with p_t from the unclipped p. So
    ∂L/∂p = α_t[−γ s (1 − p_t)^(γ−1) bce + (1 − p_t)^γ ∂bce/∂p], ∂bce/∂p = 0 where
    p is clipped; logits: ∂L/∂z = ∂L/∂p · p(1 − p).
    """
    gamma = params["gamma"]
    p = sigmoid(x) if params["from_logits"] else x
    pc, inside = clip_probability(p, params["eps"])
    bce = -(y * np.log(pc) + (1.0 - y) * np.log1p(-pc))
    dbce = np.where(inside, -y / pc + (1.0 - y) / (1.0 - pc), 0.0)
    qt = np.where(y == 1, 1.0 - p, p)  # 1 − p_t, unclipped
    value = at * _power(qt, gamma) * bce
    grad = at * (-gamma * s * _power(qt, gamma - 1.0) * bce + _power(qt, gamma) * dbce)
    return value, sigmoid_backward(grad, p) if params["from_logits"] else grad


def _keras_smoothed_binary_focal(y, x, params: Params, cw: np.ndarray):
    """Keras's binary focal loss with label_smoothing ε: the target ỹ = y(1 − ε) + ε/2 is
    used everywhere y was (bce, p_t and the class-balancing α).

    bce = −[ỹ log p̂ + (1 − ỹ) log(1 − p̂)], p̂ = clip(p, eps, 1 − eps); 1 − p_t =
    ỹ(1 − p) + (1 − ỹ)p from the unclipped p; α_t = ỹα + (1 − ỹ)(1 − α) with alpha set
    (times the class weight of y). L = α_t (1 − p_t)^γ bce, so ∂L/∂p = α_t[γ(1 − p_t)^(γ−1)
    (1 − 2ỹ) bce + (1 − p_t)^γ ∂bce/∂p], ∂bce/∂p = −ỹ/p̂ + (1 − ỹ)/(1 − p̂) (0 where p is
    clipped); logits: ∂L/∂z = ∂L/∂p · p(1 − p).
    """
    gamma, alpha, ls = params["gamma"], params["alpha"], params["label_smoothing"]
    p = sigmoid(x) if params["from_logits"] else x
    ys = y * (1.0 - ls) + 0.5 * ls
    # Keras's apply_class_balancing weight (alpha set), from the smoothed target
    at = cw if alpha is None else cw * (ys * alpha + (1.0 - ys) * (1.0 - alpha))
    pc, inside = clip_probability(p, params["eps"])
    bce = -(ys * np.log(pc) + (1.0 - ys) * np.log1p(-pc))
    dbce = np.where(inside, -ys / pc + (1.0 - ys) / (1.0 - pc), 0.0)
    qt = ys * (1.0 - p) + (1.0 - ys) * p  # 1 − p_t, unclipped
    value = at * _power(qt, gamma) * bce
    grad = at * (
        gamma * (1.0 - 2.0 * ys) * _power(qt, gamma - 1.0) * bce + _power(qt, gamma) * dbce
    )
    return value, sigmoid_backward(grad, p) if params["from_logits"] else grad


def binary_focal_terms(y, x, params: Params):
    """Per-element binary focal loss and its derivative w.r.t. p (or z).

    L = −α_t (1 − p_t)^γ log p_t,  p_t = p if y = 1 else 1 − p.
    ∂L/∂p_t = α_t [γ(1 − p_t)^(γ−1) log p_t − (1 − p_t)^γ / p_t];  ∂p_t/∂p = ±1.
    Logits (p_t = σ(s z), s = ±1): ∂L/∂z = −α_t s (1 − p_t)^γ [(1 − p_t) − γ p_t log p_t].
    """
    gamma, alpha = params["gamma"], params["alpha"]
    w0, w1 = binary_class_weights(params, "focal")
    cw = np.where(y == 1, w1, w0)
    if option(params, FOCAL_FORM) == "keras" and params.get("label_smoothing"):
        return _keras_smoothed_binary_focal(y, x, params, cw)
    at = np.ones_like(y) if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    at = at * cw
    s = np.where(y == 1, 1.0, -1.0)
    if option(params, FOCAL_FORM) == "keras":
        return keras_binary_focal_terms(y, x, params, at, s)
    if params["from_logits"]:
        log_pt = log_sigmoid(s * x)
        log_qt = log_sigmoid(-s * x)  # log(1 − p_t), stable
        pt, qt = np.exp(log_pt), np.exp(log_qt)
        mod = np.exp(gamma * log_qt)
        value = -at * mod * log_pt
        return value, -at * s * mod * (qt - gamma * pt * log_pt)
    p, inside = clip_probability(x, params["eps"])
    pt = np.where(y == 1, p, 1.0 - p)
    qt = 1.0 - pt
    log_pt = np.log(pt)
    value = -at * qt**gamma * log_pt
    dpt = at * (gamma * qt ** (gamma - 1.0) * log_pt - qt**gamma / pt)
    return value, np.where(inside, s * dpt, 0.0)


def _label_weights(labels, params: Params, k: int) -> np.ndarray:
    """w_y per row from class_weights (ones when unset)."""
    cw = params.get("class_weights")
    if cw is not None and len(cw) != k:
        raise ParamError(
            "class_weights", ",".join(map(str, cw)), f"{k} numbers, one per class", "focal"
        )
    return np.ones(len(labels)) if cw is None else np.asarray(cw)[labels]


def keras_categorical_focal_terms(labels, x, params: Params, k: int, alpha: float):
    """Keras's categorical focal loss on p_y and its derivative w.r.t. p (or z).

    q = p/Σp (p = softmax(z) for logits), q̂ = clip(q, eps, 1 − eps);
    L = −α w_y (1 − q̂_y)^γ log q̂_y. With g = ∂L/∂q̂_y = α w_y[γ(1 − q̂)^(γ−1) log q̂ −
    (1 − q̂)^γ/q̂] (0 where clipped): ∂L/∂p_j = (g δ_jy − g q_y)/Σp, then through softmax.
    """
    from losscli.kernel.numerics import softmax, softmax_backward

    gamma = params["gamma"]
    w = alpha * _label_weights(labels, params, k)
    rows = np.arange(len(labels))
    p = softmax(x) if params["from_logits"] else x
    if params.get("label_smoothing"):
        return _keras_smoothed_categorical_focal(labels, p, params, w)
    total = np.sum(p, axis=1)
    q = p[rows, labels] / total
    qc, inside = clip_probability(q, params["eps"])
    log_q = np.log(qc)
    value = -w * _power(1.0 - qc, gamma) * log_q
    g = np.where(
        inside,
        w * (gamma * _power(1.0 - qc, gamma - 1.0) * log_q - _power(1.0 - qc, gamma) / qc),
        0.0,
    )
    grad = -(g * q / total)[:, None] * np.ones_like(p)
    grad[rows, labels] += g / total
    return value, softmax_backward(grad, p) if params["from_logits"] else grad


def _keras_smoothed_categorical_focal(labels, p, params: Params, w: np.ndarray):
    """Keras's categorical focal loss with label_smoothing ε: every class c has the target
    t̃_c = (1 − ε)δ_cy + ε/K, smoothed before the focal factor, which is each class's own.

    q = p/Σp, q̂ = clip(q, eps, 1 − eps); L = −α w_y Σ_c t̃_c (1 − q̂_c)^γ log q̂_c. With
    g_c = ∂L/∂q̂_c = α w_y t̃_c[γ(1 − q̂_c)^(γ−1) log q̂_c − (1 − q̂_c)^γ/q̂_c] (0 where
    clipped): ∂L/∂p_j = (g_j − Σ_c g_c q_c)/Σp, then through softmax for logits.
    """
    from losscli.kernel.numerics import softmax_backward

    gamma, ls = params["gamma"], params["label_smoothing"]
    n, k = p.shape
    t = np.full((n, k), ls / k)
    t[np.arange(n), labels] += 1.0 - ls
    total = np.sum(p, axis=1, keepdims=True)
    q = p / total
    qc, inside = clip_probability(q, params["eps"])
    log_q = np.log(qc)
    wt = w[:, None] * t
    value = -np.sum(wt * _power(1.0 - qc, gamma) * log_q, axis=1)
    g = np.where(
        inside,
        wt * (gamma * _power(1.0 - qc, gamma - 1.0) * log_q - _power(1.0 - qc, gamma) / qc),
        0.0,
    )
    grad = (g - np.sum(g * q, axis=1, keepdims=True)) / total
    return value, softmax_backward(grad, p) if params["from_logits"] else grad


def softmax_focal_terms(labels, x, params: Params, k: int):
    """Per-row softmax focal loss on p_y and its derivative w.r.t. p (or z).

    L = −w_y (1 − p_y)^γ log p_y.  With ℓ = log p_y:
    ∂L/∂ℓ = −w_y [(1 − p_y)^γ − γ p_y ℓ (1 − p_y)^(γ−1)];
    probabilities: ∂L/∂p_y = ∂L/∂ℓ / p_y; logits: ∂L/∂z_c = ∂L/∂ℓ (δ_cy − p_c).
    """
    from losscli.kernel.numerics import log_softmax, logsumexp, softmax

    gamma = params["gamma"]
    w = _label_weights(labels, params, k)
    rows = np.arange(len(labels))
    if params["from_logits"]:
        logp = log_softmax(x)
        inside = np.ones(len(labels), dtype=bool)
    else:
        p, inside_all = clip_probability(x, params["eps"])
        logp = np.log(p)
        inside = inside_all[rows, labels]
    ell = logp[rows, labels]
    py = np.exp(ell)
    others = logp.copy()
    others[rows, labels] = -np.inf
    log_q = logsumexp(others)[:, 0] if params["from_logits"] else np.log1p(-py)
    with np.errstate(over="ignore", invalid="ignore"):
        q_pow = np.exp((gamma - 1.0) * log_q)
        second = np.where(np.isneginf(log_q), 0.0, gamma * py * ell * q_pow)
    dl_dell = -w * (np.exp(gamma * log_q) - second)
    value = -w * np.exp(gamma * log_q) * ell
    if params["from_logits"]:
        probs = softmax(x)
        onehot = np.zeros_like(x)
        onehot[rows, labels] = 1.0
        return value, dl_dell[:, None] * (onehot - probs)
    g = np.zeros_like(x)
    g[rows, labels] = np.where(inside, dl_dell / py, 0.0)
    return value, g


@register_loss(
    "focal",
    options=(DENOMINATOR, FOCAL_FORM, FOCAL_CATEGORICAL_ALPHA, SIGMOID_ONLY, FOCAL_LAYOUT),
    default_for={"imbalanced": 2, "multiclass-imbalanced": 2},
    aliases=("binary_focal", "sigmoid_focal", "categorical_focal"),
    inputs="binary",
    tasks=("binary", "imbalanced", "multiclass", "multilabel", "segmentation"),
    params=(GAMMA, ALPHA_FOCAL, CLASS_WEIGHTS, EPS, FOCAL_LABEL_SMOOTHING),
    logits=True,
    explain=Explain(
        formula="binary: Lᵢ = −α_t (1 − p_t)^γ log p_t, p_t = p if y = 1 else 1 − p, α_t = α if y = 1 else "
        "1 − α (1 when alpha is unset); K ≥ 2 columns with integer labels: Lᵢ = −w_y (1 − p_y)^γ log p_y",
        gradient="binary: ∂Lᵢ/∂p = ±α_t[γ(1 − p_t)^(γ−1) log p_t − (1 − p_t)^γ/p_t] (+ for y = 1); "
        "logits: ∂Lᵢ/∂z = −α_t s (1 − p_t)^γ [(1 − p_t) − γ p_t log p_t], s = ±1; "
        "softmax form: ∂Lᵢ/∂z_c = −w_y[(1 − p_y)^γ − γ p_y log p_y (1 − p_y)^(γ−1)](δ_cy − p_c)",
        use_when="heavy class imbalance or many easy negatives (detection, rare events): γ = 2 down-weights "
        "well-classified examples",
        pitfalls="γ = 0 and no α is plain BCE; α and class weights change the loss scale; "
        "with α ≤ 1 focal never exceeds BCE and vanishes much faster as p_t → 1, so do not "
        "compare its values with BCE's",
        activation="sigmoid (binary, multilabel) or softmax (multiclass)",
        differences="torchvision sigmoid_focal_loss uses α = 0.25 by default (always on); Keras "
        "BinaryFocalCrossentropy applies α = 0.25 only with apply_class_balancing=True; Keras "
        "CategoricalFocalCrossentropy multiplies by α = 0.25 always; optax uses no α; "
        "SMP FocalLoss in multiclass mode is one-vs-rest sigmoid focal. Here α is unset by default. "
        "label_smoothing is Keras's (BinaryFocalCrossentropy, CategoricalFocalCrossentropy): "
        "taken under --convention keras only.",
    ),
)
class Focal(_Binary):
    """Focal loss: binary/multilabel (sigmoid) or multiclass (softmax on p_y)."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        from losscli.kernel.validate import integer_labels, require_rows_sum_to_one

        if batch.target is None:
            raise InputError("focal needs a target column")
        y, x = batch.target, batch.preds[0]
        layout = option(params, FOCAL_LAYOUT)
        if x.ndim == 2 and y.shape == x.shape and layout != "sigmoid":
            y = self._one_hot_as_labels(y, x, batch, params, layout)
            if y.ndim == 1:
                batch = batch.replace(target=y)
        if x.ndim == 2 and y.ndim == 1 and layout == "sigmoid":
            raise InputError(
                f"sigmoid focal on {x.shape[1]} class columns with one label column: it reads "
                "one 0/1 target column per prediction column",
                hint="for K classes use categorical_focal (softmax focal on p_y); for multilabel "
                "targets give one 0/1 column per class (--target 'y_*')",
            )
        if x.ndim == 2 and y.ndim == 1:
            k = x.shape[1]
            only = option(params, SIGMOID_ONLY)
            if only:
                raise InputError(
                    f"focal on {k} class columns with integer labels: --convention follows {only}, "
                    "which is binary (sigmoid) only",
                    hint="keras defines a K-class focal (keras.losses.CategoricalFocalCrossentropy): "
                    "--convention keras, or drop --convention for losscli's softmax focal",
                )
            if params["alpha"] is not None and option(params, FOCAL_FORM) != "keras":
                raise ParamError(
                    "alpha",
                    params["alpha"],
                    "unset for multiclass focal (use class_weights)",
                    "focal",
                )
            labels = integer_labels(y, k, batch)
            if not params["from_logits"]:
                require_probabilities(x, batch)
                if option(params, FOCAL_FORM) != "keras":  # Keras divides each row by its sum
                    require_rows_sum_to_one(x, batch)
            return batch.replace(aux={"labels": labels, "k": k})
        return super().prepare(batch, params)

    @staticmethod
    def _one_hot_as_labels(y, x, batch: Batch, params: Params, layout: str | None):
        """K target columns: class labels for categorical focal (one-hot rows, else an
        error); for focal by its own name, rows that are all one-hot against softmax
        rows (probabilities summing to 1, or logits) are refused as ambiguous."""
        from losscli.kernel.validate import is_one_hot, one_hot_labels

        if layout == "categorical":
            return one_hot_labels(
                y,
                batch,
                "categorical_focal",
                hint="categorical_focal reads one class per row; for multilabel (0/1 per column) "
                "targets use sigmoid_focal",
            )
        if y.shape[1] < 2 or not is_one_hot(y).all():
            return y
        if not params["from_logits"] and not np.all(np.abs(x.sum(axis=1) - 1.0) <= 1e-3):
            return y  # sigmoid outputs: a multilabel file whose rows have one label each
        raise InputError(
            f"{y.shape[1]} one-hot target columns: one class per row reads as "
            "categorical focal (softmax, Keras's CategoricalFocalCrossentropy), per-column 0/1 "
            "labels as sigmoid focal (BinaryFocalCrossentropy); the two differ",
            hint="name the one meant: --loss categorical_focal (one-hot rows as class labels) "
            "or --loss sigmoid_focal (each column a binary label)",
        )

    def columnwise(self, batch):
        return "labels" not in batch.aux

    def row_class_weight(self, batch, params, labels_only=False):
        if "labels" in batch.aux and params.get("class_weights") is not None:
            return _label_weights(batch.aux["labels"], params, batch.aux["k"])
        return super().row_class_weight(batch, params, labels_only)

    def _terms(self, batch, params):
        if "labels" in batch.aux and option(params, FOCAL_FORM) == "keras":
            alpha = params["alpha"]
            alpha = option(params, FOCAL_CATEGORICAL_ALPHA) if alpha is None else alpha
            return keras_categorical_focal_terms(
                batch.aux["labels"], batch.preds[0], params, batch.aux["k"], alpha
            )
        if "labels" in batch.aux:
            return softmax_focal_terms(batch.aux["labels"], batch.preds[0], params, batch.aux["k"])
        return binary_focal_terms(batch.target, batch.preds[0], params)

    def loss(self, batch, params):
        return self._terms(batch, params)[0]

    def dloss(self, batch, params):
        return (self._terms(batch, params)[1],)


class _Margin(Elementwise):
    """±1 targets (0/1 mapped 0 → −1) and raw scores of the same shape."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.target is None:
            raise InputError("a margin loss needs a target column")
        if batch.target.shape != batch.preds[0].shape:
            raise InputError(
                f"target has shape {batch.target.shape} but scores have {batch.preds[0].shape}"
            )
        if batch.target.dtype.kind != "f":
            raise InputError("margin targets must be -1/+1 or 0/1 numbers")
        return batch.replace(target=plus_minus_one(batch.target, batch))

    def columnwise(self, batch):
        return True


HINGE_TEXT = dict(
    use_when="binary classification with raw scores (SVM-style margin)",
    activation="linear (raw score); no sigmoid",
)


@register_loss(
    "hinge",
    options=(DENOMINATOR,),
    inputs="margin",
    tasks=("binary",),
    default_for={"binary-margin": 1},
    explain=Explain(
        formula="Lᵢ = max(0, 1 − t s),  t ∈ {−1, +1} (0/1 targets: 0 → −1)",
        gradient="∂Lᵢ/∂s = −t if t s < 1, else 0 (0 at the kink)",
        pitfalls="on probabilities instead of scores the margin is never reached; targets other than "
        "{0, 1} or {−1, +1} are an error",
        differences="Keras Hinge maps {0,1} → {−1,1} as here; sklearn hinge_loss agrees (greater label = +1); "
        "optax hinge_loss needs ±1; torchmetrics BinaryHingeLoss applies a sigmoid to scores outside [0, 1].",
        **HINGE_TEXT,
    ),
)
class Hinge(_Margin):
    """Hinge loss for ±1 targets."""

    def loss(self, batch, params):
        return np.maximum(0.0, 1.0 - batch.target * batch.preds[0])

    def dloss(self, batch, params):
        t = batch.target
        return (np.where(1.0 - t * batch.preds[0] > 0, -t, 0.0),)


@register_loss(
    "squared_hinge",
    options=(DENOMINATOR,),
    inputs="margin",
    tasks=("binary",),
    default_for={"binary-margin": 2},
    explain=Explain(
        formula="Lᵢ = max(0, 1 − t s)²",
        gradient="∂Lᵢ/∂s = −2t·max(0, 1 − t s)",
        pitfalls="more sensitive to badly misclassified points than hinge",
        differences="Keras SquaredHinge agrees; torchmetrics BinaryHingeLoss(squared=True) applies a sigmoid first.",
        **HINGE_TEXT,
    ),
)
class SquaredHinge(_Margin):
    """Squared hinge loss."""

    def loss(self, batch, params):
        return np.maximum(0.0, 1.0 - batch.target * batch.preds[0]) ** 2

    def dloss(self, batch, params):
        t = batch.target
        return (-2.0 * t * np.maximum(0.0, 1.0 - t * batch.preds[0]),)


@register_loss(
    "perceptron",
    options=(DENOMINATOR,),
    aliases=("perceptron_loss",),
    inputs="margin",
    tasks=("binary",),
    explain=Explain(
        formula="Lᵢ = max(0, −t s),  t ∈ {−1, +1} (0/1 targets: 0 → −1): hinge with margin 0",
        gradient="∂Lᵢ/∂s = −t if t s < 0, else 0 (0 at the kink s = 0)",
        pitfalls="0 for every correctly signed score however small: it does not ask for a margin; "
        "scaling the scores scales the loss",
        differences="optax perceptron_loss needs ±1 targets (0/1 are mapped here, as 2y − 1); "
        "optax multiclass_perceptron_loss, max_c s_c − s_y, is multi_hinge(margin=0).",
        **HINGE_TEXT,
    ),
)
class Perceptron(_Margin):
    """Perceptron loss for ±1 targets: max(0, −t·s)."""

    def loss(self, batch, params):
        return np.maximum(0.0, -batch.target * batch.preds[0])

    def dloss(self, batch, params):
        t = batch.target
        return (np.where(-t * batch.preds[0] > 0, -t, 0.0),)


def sparse_plus(x: np.ndarray) -> np.ndarray:
    """0 for x ≤ −1, (x + 1)²/4 for −1 < x < 1, x for x ≥ 1 (jax.nn.sparse_plus)."""
    return np.where(x <= -1.0, 0.0, np.where(x >= 1.0, x, (x + 1.0) ** 2 / 4.0))


def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """clip((x + 1)/2, 0, 1), the derivative of ``sparse_plus`` (jax.nn.sparse_sigmoid)."""
    return np.clip(0.5 * (x + 1.0), 0.0, 1.0)


@register_loss(
    "sparsemax",
    options=(DENOMINATOR,),
    aliases=("sparsemax_loss", "binary_sparsemax_loss"),
    inputs="margin",
    tasks=("binary",),
    explain=Explain(
        formula="Lᵢ = sparse_plus(−t s), t ∈ {−1, +1} (0/1 targets: 0 → −1); sparse_plus(x) = 0 "
        "for x ≤ −1, (x + 1)²/4 for |x| < 1, x for x ≥ 1 (the binary sparsemax / Fenchel–Young "
        "loss of the Gini entropy)",
        gradient="∂Lᵢ/∂s = −t·sparse_sigmoid(−t s) = sparse_sigmoid(s) − y, y = (t + 1)/2, "
        "sparse_sigmoid(x) = clip((x + 1)/2, 0, 1)",
        use_when="binary classification with raw scores when you want exact 0/1 probabilities "
        "(sparse_sigmoid) and zero loss once a score is past the margin",
        pitfalls="zero loss and zero gradient once t·s ≥ 1, like a smoothed hinge; linear, "
        "not logarithmic, for badly wrong scores",
        activation="linear (raw score); sparse_sigmoid(s) is the predicted probability",
        differences="optax sparsemax_loss (labels 0/1) agrees; 0/1 and ±1 targets read the same here.",
        properties="convex, continuously differentiable",
    ),
)
class Sparsemax(_Margin):
    """Binary sparsemax loss sparse_plus(−t·s)."""

    def loss(self, batch, params):
        return sparse_plus(-batch.target * batch.preds[0])

    def dloss(self, batch, params):
        t = batch.target
        return (-t * sparse_sigmoid(-t * batch.preds[0]),)
