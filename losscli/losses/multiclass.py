r"""Multi-class losses on K prediction columns: probabilities p or logits z.

Targets are integer labels 0..K−1 (one column) or K target columns (one-hot or
soft). Logits go through log-softmax (z − logsumexp z), so |z| up to 1e4 stays finite.
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ParamError
from losscli.kernel.numerics import (
    clip_probability,
    log_softmax,
    logsumexp,
    one_hot,
    softmax,
    softmax_backward,
)
from losscli.kernel.streaming import Batch, Elementwise, Params
from losscli.kernel.validate import (
    fail_where,
    integer_labels,
    require_probabilities,
    require_range,
    require_rows_sum_to_one,
)
from losscli.losses.params import (
    CATEGORICAL_HINGE,
    CLASS_WEIGHTS,
    DENOMINATOR,
    EPS,
    IGNORE_INDEX,
    KL_CLIP,
    KL_MEAN_OVER_CLASSES,
    KL_POINTWISE,
    KL_TARGETS_AS_GIVEN,
    LABEL_SMOOTHING,
    NEG_INF_LOGITS,
    RENORMALIZE,
    ROWS_AS_GIVEN,
    Param,
    non_negative,
    option,
)
from losscli.losses.registry import Explain, register_loss


def require_log_probabilities(x: np.ndarray, batch: Batch, hint: str) -> None:
    """Every value ≤ 0 and every row's logsumexp within 1e-3 of 0."""
    require_range(x, batch, "prediction", hi=1e-9, what="is a log-probability above 0", hint=hint)
    lse = logsumexp(x)[:, 0]
    require_range(
        lse,
        batch,
        "prediction",
        -1e-3,
        1e-3,
        what="log-probabilities do not normalise (logsumexp shown)",
        hint=hint,
    )


def class_weight_vector(params: Params, k: int, loss: str) -> np.ndarray:
    cw = params.get("class_weights")
    if cw is None:
        return np.ones(k)
    if len(cw) != k:
        raise ParamError(
            "class_weights", ",".join(map(str, cw)), f"{k} numbers, one per class", loss
        )
    return np.asarray(cw, dtype=float)


def prepare_multiclass(
    batch: Batch, params: Params, loss: str, *, soft: bool = True, dense: bool = True
) -> Batch:
    """Validate K prediction columns and turn the target into an (n, K) matrix.

    Integer labels become one-hot rows (``ignore_index`` rows masked out), or, with
    ``dense=False``, stay in ``aux["labels"]`` alone with the target None (see
    ``target_matrix``); K target columns are taken as they are (one-hot or soft).
    """
    if batch.target is None:
        raise InputError(f"{loss} needs a target")
    x = batch.preds[0]
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError(
            f"needs one prediction column per class (K >= 2), got {1 if x.ndim == 1 else x.shape[1]}",
            hint="for a single probability column use bce; name the class columns with --pred 'p_*'",
        )
    k = x.shape[1]
    y = batch.target
    mask = None
    labels = None
    if y.ndim == 1:
        ignore = params.get("ignore_index")
        labels = integer_labels(y, k, batch, ignore_index=ignore)
        t = one_hot(labels, k) if dense else None
        if ignore is not None:
            mask = y != ignore
    elif soft and y.shape == x.shape:
        if y.dtype.kind != "f":
            raise InputError(f"{loss} target columns must be numeric")
        require_range(y, batch, "target", 0.0, 1.0, what="is not a probability in [0, 1]")
        t = y
    else:
        raise InputError(f"{loss}: target shape {y.shape} does not fit {k} prediction columns")
    if not params.get("from_logits"):
        require_probabilities(x, batch)
        # Keras divides each row by its sum instead; scikit-learn uses the rows as they are
        if not option(params, RENORMALIZE) and not option(params, ROWS_AS_GIVEN):
            require_rows_sum_to_one(x, batch)
    aux = {"k": k, "from_labels": y.ndim == 1}
    if labels is not None:
        aux["labels"] = labels
    return batch.replace(target=t, mask=mask, aux=aux)


def target_matrix(batch: Batch) -> np.ndarray:
    """The (n, K) target of a prepared batch, made from its labels if it was left out."""
    if batch.target is not None:
        return batch.target
    return one_hot(batch.aux["labels"], batch.aux["k"])


def ce_terms(t, x, params: Params, loss: str, grad: bool = True):
    """Cross-entropy per row and its derivative w.r.t. p (or z); None for the derivative
    when ``grad`` is False.

    L = −Σ_c w_c t'_c log p_c,  t' = t(1 − ls) + ls/K.
    Logits: ∂L/∂z_c = p_c Σ_k w_k t'_k − w_c t'_c.  Probabilities: ∂L/∂p_c = −w_c t'_c / p_c.
    With the ``renormalize`` option (Keras) the rows are divided by their sum S first:
    L = −Σ_c w_c t'_c log clip(p_c/S), and with g_c = −w_c t'_c/q_c (0 where clipped),
    ∂L/∂p_j = (g_j − Σ_c g_c q_c)/S, q = p/S.
    """
    k = x.shape[1]
    ls = params.get("label_smoothing") or 0.0
    if ls:
        t = t * (1.0 - ls) + ls / k
    tw = t * class_weight_vector(params, k, loss)
    if params["from_logits"]:
        logp = log_softmax(x)
        if option(params, NEG_INF_LOGITS):  # optax's weighted_logsoftmax: 0·log 0 = 0
            value = 0.0 - np.sum(np.where(tw != 0, tw * np.where(tw != 0, logp, 0.0), 0.0), axis=1)
        else:
            value = -np.sum(tw * logp, axis=1)
        if not grad:
            return value, None
        return value, np.exp(logp) * np.sum(tw, axis=1, keepdims=True) - tw
    total = np.sum(x, axis=1, keepdims=True) if option(params, RENORMALIZE) else 1.0
    q = x / total
    p, inside = clip_probability(q, params["eps"])
    value = -np.sum(tw * np.log(p), axis=1)
    if not grad:
        return value, None
    g = np.where(inside, -tw / p, 0.0)
    if option(params, RENORMALIZE):
        g = (g - np.sum(g * q, axis=1, keepdims=True)) / total
    return value, g


def _label_ce(x, labels, params: Params):
    """−w_y log p_y from integer labels, reading one column per row: the value of
    ``ce_terms`` on one-hot targets (its other terms are 0·log p_c = 0), without
    the n×K products."""
    rows = np.arange(len(labels))
    if params["from_logits"]:
        logp = x[rows, labels] - logsumexp(x)[:, 0]
    else:
        eps = params["eps"]
        logp = np.log(np.clip(x[rows, labels], eps, 1.0 - eps))
    if params.get("class_weights") is None:
        return -logp
    return -class_weight_vector(params, x.shape[1], "cross_entropy")[labels] * logp


CE_PARAMS = (EPS, LABEL_SMOOTHING, CLASS_WEIGHTS, IGNORE_INDEX)


@register_loss(
    "cross_entropy",
    options=(DENOMINATOR, RENORMALIZE, NEG_INF_LOGITS, ROWS_AS_GIVEN),
    default_for={"multiclass": 1, "multiclass-imbalanced": 1},
    aliases=(
        "cce",
        "categorical_crossentropy",
        "sparse_cce",
        "sparse_categorical_crossentropy",
        "softmax_cross_entropy",
        "safe_softmax_cross_entropy",
    ),
    inputs="multiclass",
    tasks=("multiclass", "sequence", "imbalanced", "segmentation"),
    params=CE_PARAMS,
    logits=True,
    explain=Explain(
        formula="Lᵢ = −Σ_c w_c t_c log p_c; label smoothing t ← t(1 − ls) + ls/K; p clipped to "
        "[eps, 1 − eps], or log p = z − logsumexp(z) with --from-logits",
        gradient="logits: ∂Lᵢ/∂z_c = p_c Σ_k w_k t_k − w_c t_c (= p_c − t_c unweighted); "
        "probabilities: ∂Lᵢ/∂p_c = −w_c t_c/p_c",
        use_when="single-label multi-class classification with a softmax output; language models",
        pitfalls="class weights here divide the mean by n (torch divides by Σ w_y); probabilities that do "
        "not sum to 1 are an error (pass --from-logits for scores); sensitive to label noise",
        activation="softmax (or logits with --from-logits)",
        differences="torch CrossEntropyLoss takes logits; with class weights its mean divides by Σ w_y over "
        "non-ignored rows, losscli (like Keras' default reduction) by n. Keras CategoricalCrossentropy "
        "renormalises rows silently and clips at 1e-7; sklearn log_loss clips at float64 eps and warns on "
        "rows not summing to 1. Label smoothing ls/K agrees across torch, Keras and optax. "
        "safe_softmax_cross_entropy (optax's name) is this loss on logits that may be −inf: "
        "a class with t = 0 and z = −inf adds 0 (0·log 0 = 0), one with t > 0 gives inf; a "
        "row of all −inf logits is refused (optax gives NaN).",
        properties="convex in z; the multinomial negative log-likelihood",
    ),
)
class CrossEntropy(Elementwise):
    """Categorical cross-entropy over K classes (labels or K target columns).

    The ``neg_inf_logits`` option (the name safe_softmax_cross_entropy, optax's function):
    logit columns may hold −inf; Lᵢ = −Σ_{c: t_c ≠ 0} w_c t_c log p_c, so a class with
    t_c = 0 and z_c = −inf adds 0 and one with t_c > 0 gives inf; the gradient is the same
    p_c Σ_k w_k t_k − w_c t_c (p_c = 0 at −inf). A row whose logits are all −inf has no p.
    """

    def prepare(self, batch, params):
        # The value from integer labels reads p_y alone (``_label_ce``): the n×K one-hot
        # rows are made only when something needs them (the gradient, label smoothing).
        dense = bool(params.get("label_smoothing") or option(params, RENORMALIZE))
        x = batch.preds[0]
        if option(params, NEG_INF_LOGITS) and params["from_logits"] and x.ndim == 2:
            fail_where(
                np.all(x == -np.inf, axis=1),
                x[:, 0],
                batch,
                "prediction",
                "is a row whose logits are all −inf (no softmax; optax's "
                "safe_softmax_cross_entropy gives NaN there)",
            )
        return prepare_multiclass(batch, params, "cross_entropy", dense=dense)

    def breakdown(self, targets, predictions):
        return "label"

    def row_class_weight(self, batch, params, labels_only=False):
        """Σ_c w_c t_c per row (w_y for integer labels); with ``labels_only``, target
        columns have none (PyTorch divides their mean by n)."""
        if params.get("class_weights") is None:
            return None
        if labels_only and not batch.aux.get("from_labels"):
            return None
        weights = class_weight_vector(params, batch.aux["k"], "cross_entropy")
        if batch.target is None:  # labels only: w_y
            return weights[batch.aux["labels"]]
        return batch.target @ weights

    def loss(self, batch, params):
        labels = batch.aux.get("labels")
        if (
            labels is not None
            and not params.get("label_smoothing")
            and not option(params, RENORMALIZE)
        ):
            return _label_ce(batch.preds[0], labels, params)
        return ce_terms(target_matrix(batch), batch.preds[0], params, "cross_entropy", grad=False)[
            0
        ]

    def dloss(self, batch, params):
        return (ce_terms(target_matrix(batch), batch.preds[0], params, "cross_entropy")[1],)


@register_loss(
    "perplexity",
    inputs="multiclass",
    tasks=("sequence",),
    params=CE_PARAMS,
    logits=True,
    explain=Explain(
        formula="J = exp( mean cross-entropy )  (a reduction-level transform; mean only)",
        gradient="∂J/∂z = J · ∂(mean CE)/∂z",
        use_when="language models: the effective branching factor per token",
        pitfalls="the exp of a mean, not the mean of per-row perplexities; group by sequence with --group",
        activation="softmax (or logits with --from-logits)",
        differences="torchmetrics Perplexity applies softmax then log (can underflow); here log-softmax is used.",
    ),
)
class Perplexity(CrossEntropy):
    """Perplexity: exp of the mean cross-entropy."""

    reductions = ("mean",)
    combines = "log J"

    def outer(self, mean):
        limit = float(np.log(np.finfo(np.float64).max))
        if mean > limit:  # e^mean is not a float64: say so instead of returning inf
            raise InputError(
                f"perplexity overflows: the mean cross-entropy {mean:.6g} exceeds {limit:.2f}",
                hint="report cross_entropy instead (perplexity = exp(cross_entropy))",
            )
        return float(np.exp(mean))

    def outer_grad(self, mean):
        return self.outer(mean)


@register_loss(
    "nll",
    options=(DENOMINATOR,),
    aliases=("negative_log_likelihood",),
    inputs="log_probs",
    tasks=("multiclass", "sequence"),
    params=(CLASS_WEIGHTS, IGNORE_INDEX),
    explain=Explain(
        formula="Lᵢ = −w_y ℓ_y, ℓ = the K log-probability columns",
        gradient="∂Lᵢ/∂ℓ_c = −w_y if c = y, else 0",
        use_when="the model already outputs log-probabilities (log_softmax)",
        pitfalls="feeding probabilities or logits instead of log-probabilities gives a meaningless number "
        "(log-probabilities are checked to be ≤ 0 and to exponentiate to rows summing to 1)",
        activation="log_softmax",
        differences="torch NLLLoss with class weights divides by Σ w_y; losscli divides by n.",
    ),
)
class NegativeLogLikelihood(Elementwise):
    """Negative log-likelihood of the label's log-probability column."""

    def breakdown(self, targets, predictions):
        return "label"

    def prepare(self, batch, params):
        x = batch.preds[0]
        if x.ndim != 2 or x.shape[1] < 2:
            raise InputError(f"nll needs K >= 2 log-probability columns, got shape {x.shape}")
        y = _label_column(batch, "nll")
        hint = "nll takes log-probabilities; for probabilities or logits use cross_entropy"
        require_log_probabilities(x, batch, hint)
        ignore = params.get("ignore_index")
        k = x.shape[1]
        labels = integer_labels(y, k, batch, ignore_index=ignore)
        mask = None if ignore is None else y != ignore
        return batch.replace(target=y, mask=mask, aux={"labels": labels, "k": k})

    def row_class_weight(self, batch, params, labels_only=False):
        if params.get("class_weights") is None:
            return None
        return class_weight_vector(params, batch.aux["k"], "nll")[batch.aux["labels"]]

    def loss(self, batch, params):
        labels = batch.aux["labels"]
        w = class_weight_vector(params, batch.aux["k"], "nll")[labels]
        return -w * batch.preds[0][np.arange(len(labels)), labels]

    def dloss(self, batch, params):
        labels = batch.aux["labels"]
        w = class_weight_vector(params, batch.aux["k"], "nll")[labels]
        g = np.zeros_like(batch.preds[0])
        g[np.arange(len(labels)), labels] = -w
        return (g,)


LOG_INPUT = Param(
    "log_input",
    False,
    kind="bool",
    valid="true or false",
    help="predictions are log-probabilities, used as they are (torch kl_div's input)",
)


LOG_TARGET = Param(
    "log_target",
    False,
    kind="bool",
    valid="true or false",
    help="the target columns hold log-probabilities (torch's log_target=True)",
)


@register_loss(
    "kl_div",
    options=(DENOMINATOR, KL_MEAN_OVER_CLASSES, KL_CLIP, KL_POINTWISE, KL_TARGETS_AS_GIVEN),
    default_for={"distribution": 1},
    aliases=("kl", "kullback_leibler"),
    inputs="distribution",
    tasks=("distribution",),
    params=(EPS, LOG_INPUT, LOG_TARGET),
    logits=True,
    explain=Explain(
        formula="Lᵢ = Σ_c t_c (log t_c − log p_c), 0·log 0 = 0; J averages over rows (the true KL); "
        "log p = log_softmax(z) with --from-logits, the column itself with log_input=true; "
        "log_target=true: the target columns hold ℓ = log t, Lᵢ = Σ_c e^ℓ_c (ℓ_c − log p_c)",
        gradient="probabilities: ∂Lᵢ/∂p_c = −t_c/p_c;  logits: ∂Lᵢ/∂z_c = p_c Σ_k t_k − t_c;  "
        "log_input: ∂Lᵢ/∂(log p_c) = −t_c",
        use_when="matching a predicted distribution to a target distribution (distillation, VAEs)",
        pitfalls="asymmetric: KL(t‖p) ≠ KL(p‖t); the target columns must be a distribution (with "
        "log_target=true: log-probabilities ≤ 0 whose exponentials sum to 1; a zero probability needs a "
        "very negative number, since files cannot hold −inf)",
        activation="softmax (or logits with --from-logits; log_softmax with log_input=true)",
        differences="torch KLDivLoss takes log-probabilities and its default reduction 'mean' divides by "
        "n·K — not the KL; 'batchmean' (as here) is. Keras clips both arguments to [1e-7, 1]; optax "
        "kl_divergence takes log-predictions; torchmetrics KLDivergence(p, q) takes the data distribution first. "
        "log_target=true matches torch kl_div(log_target=True) and optax kl_divergence_with_log_targets.",
    ),
)
class KLDivergence(Elementwise):
    """Kullback–Leibler divergence KL(t ‖ p) per row.

    Options of a library convention: ``kl_mean_over_classes`` divides the mean by n·K
    (PyTorch's reduction 'mean'); ``kl_clip`` clips t and p to [eps, 1] and applies
    softmax to logits (Keras): Lᵢ = Σ_c t̂_c log(t̂_c/p̂_c), ∂Lᵢ/∂p_c = −t̂_c/p̂_c (0 below eps);
    one target and one prediction column are K = 1 (Keras's last axis of size 1), which
    the default refuses: one number per row is no distribution unless t = p = 1.
    ``kl_pointwise`` (PyTorch): the sum of t·(log t − x) as given, so targets need only be
    ≥ 0 (any log-target with log_target) and log_input takes any real x; rows are not
    checked to sum to 1. ``kl_targets_as_given`` takes target rows that do not sum to 1 as
    they are (optax), the same formula and gradient.
    """

    def prepare(self, batch, params):
        x = batch.preds[0]
        t = batch.target
        clipped = option(params, KL_CLIP)  # Keras clips both rows and computes: no sum check
        if clipped and t is not None and t.ndim == 1 and x.ndim == 1:
            # Keras computes a last axis of size 1 (one-class rows): K = 1, clipped as any K
            t, x = t[:, None], x[:, None]
            aux = {**batch.aux, "one_class": True}  # the gradient keeps the column's shape
            batch = batch.replace(target=t, preds=(x, *batch.preds[1:]), aux=aux)
        if t is None or t.ndim != 2 or x.ndim != 2 or t.shape != x.shape:
            raise InputError(
                "kl_div needs K target-distribution columns and K prediction columns",
                hint="for integer labels use cross_entropy"
                + (
                    "; one column per row is no distribution unless t = p = 1 (Keras computes "
                    "its last axis of size 1 under --convention keras)"
                    if t is not None and t.ndim == 1 and x.ndim == 1
                    else ""
                ),
            )
        pointwise = option(params, KL_POINTWISE)
        if params.get("log_target"):
            t = np.exp(t) if pointwise else log_target_distribution(t, batch)
            batch = batch.replace(target=t, aux={**batch.aux, "log_target": batch.target})
        if pointwise:
            require_range(t, batch, "target", 0.0, None, what="is negative")
        else:
            require_range(t, batch, "target", 0.0, 1.0, what="is not a probability in [0, 1]")
        if not (pointwise or clipped or option(params, KL_TARGETS_AS_GIVEN)):
            require_rows_sum_to_one(t, batch, role="target")
        if params.get("log_input"):
            if not pointwise:
                require_log_probabilities(
                    x, batch, "log_input=true reads log-probabilities; drop it for probabilities"
                )
        elif not params["from_logits"]:
            require_probabilities(x, batch)
            if not clipped:
                require_rows_sum_to_one(x, batch)
        return batch

    def denominator(self, batch, params):
        d = super().denominator(batch, params)
        return d * batch.target.shape[1] if option(params, KL_MEAN_OVER_CLASSES) else d

    def _keras(self, batch, params):
        p = softmax(batch.preds[0]) if params["from_logits"] else batch.preds[0]
        t = np.clip(batch.target, params["eps"], 1.0)
        return t, p, np.clip(p, params["eps"], 1.0)

    def loss(self, batch, params):
        t, x = batch.target, batch.preds[0]
        if option(params, KL_CLIP):
            t, _, p = self._keras(batch, params)
            return np.sum(t * np.log(t / p), axis=1)
        if params.get("log_input"):
            logq = x
        elif params["from_logits"]:
            logq = log_softmax(x)
        else:
            logq = np.log(clip_probability(x, params["eps"])[0])
        if "log_target" in batch.aux:  # t log t = e^ℓ ℓ, exact even where e^ℓ underflows
            tlogt = t * batch.aux["log_target"]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                tlogt = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
        return np.sum(tlogt - t * logq, axis=1)

    def dloss(self, batch, params):
        t, x = batch.target, batch.preds[0]
        if option(params, KL_CLIP):
            tc, p, pc = self._keras(batch, params)
            g = np.where((p >= params["eps"]) & (p <= 1.0), -tc / pc, 0.0)
            g = softmax_backward(g, p) if params["from_logits"] else g
            return (g[:, 0] if batch.aux.get("one_class") else g,)
        if params.get("log_input"):
            return (-t,)
        if params["from_logits"]:
            return (softmax(x) * np.sum(t, axis=1, keepdims=True) - t,)
        p, inside = clip_probability(x, params["eps"])
        return (np.where(inside, -t / p, 0.0),)


def log_target_distribution(log_t: np.ndarray, batch: Batch) -> np.ndarray:
    """Probabilities e^ℓ from log-probability target columns ℓ (checked to be ≤ 0)."""
    require_range(
        log_t,
        batch,
        "target",
        hi=1e-9,
        what="is a log-probability above 0",
        hint="log_target=true reads log-probabilities; for probabilities leave it false",
    )
    return np.exp(log_t)


MARGIN_MULTI = Param("margin", 1.0, check=non_negative, valid=">= 0", help="margin")


class _ScoreMargin(Elementwise):
    """A margin loss on K raw score columns and one label per row (``aux["labels"]``)."""

    #: the loss's name, for the messages about its inputs
    loss_name = ""

    def breakdown(self, targets, predictions):
        return "label"

    def prepare(self, batch, params):
        x = batch.preds[0]
        if x.ndim != 2 or x.shape[1] < 2:
            raise InputError(f"{self.loss_name} needs K >= 2 score columns, got shape {x.shape}")
        y = _label_column(batch, self.loss_name)
        labels = integer_labels(y, x.shape[1], batch)
        return batch.replace(target=y, aux={"labels": labels})


def _label_column(batch: Batch, loss: str) -> np.ndarray:
    """The target as one label per row: a label column, or K one-hot columns read as labels."""
    from losscli.kernel.validate import one_hot_labels

    y, x = batch.target, batch.preds[0]
    if y is not None and y.ndim == 2 and y.shape == x.shape:
        return one_hot_labels(y, batch, loss)
    if y is None or y.ndim != 1:
        raise InputError(
            f"{loss} needs one integer label column, or one one-hot target column per class"
        )
    return y


@register_loss(
    "multi_hinge",
    options=(DENOMINATOR, CATEGORICAL_HINGE),
    aliases=("crammer_singer", "multiclass_hinge", "multiclass_perceptron"),
    inputs="multiclass",
    tasks=("multiclass",),
    params=(MARGIN_MULTI,),
    explain=Explain(
        formula="Lᵢ = max(0, margin + max_{c≠y} s_c − s_y)  (Crammer–Singer)",
        gradient="when active: +1 on the best wrong class (first on ties), −1 on s_y; else 0",
        use_when="multi-class classification with raw scores and a margin objective",
        pitfalls="only the strongest wrong class gets a gradient per row",
        activation="linear (raw scores)",
        differences="optax multiclass_hinge_loss and sklearn hinge_loss (multiclass) agree with margin 1; "
        "optax multiclass_perceptron_loss, max_c s_c − s_y, is margin 0: the name "
        "multiclass_perceptron sets it; "
        "Keras categorical_hinge includes the true class's 0 in its max (3.0 instead of 0 for scores [−3,−2,−5], y=1).",
    ),
)
class MultiHinge(_ScoreMargin):
    """Crammer–Singer multi-class hinge loss."""

    loss_name = "multi_hinge"

    def prepare(self, batch, params):
        y, x = batch.target, batch.preds[0]
        if not (
            option(params, CATEGORICAL_HINGE)
            and y is not None
            and y.ndim == 2
            and y.shape == x.shape
        ):
            return super().prepare(batch, params)
        # Keras's categorical_hinge takes t as it is: an all-zero row has no true class
        # (L = max(0, 1 + max_c s_c)); it is read as class 0 and flagged "empty".
        empty = np.all(y == 0, axis=1)
        filled = y.copy()
        filled[empty, 0] = 1.0
        batch = super().prepare(batch.replace(target=filled), params)
        return batch.replace(aux={**batch.aux, "empty": empty})

    def _parts(self, batch, params):
        s, y = batch.preds[0], batch.aux["labels"]
        rows = np.arange(len(y))
        others = s.copy()
        # Keras's categorical_hinge takes max_c (1 − t_c)·s_c: the true class counts as 0.
        others[rows, y] = 0.0 if option(params, CATEGORICAL_HINGE) else -np.inf
        empty = batch.aux.get("empty")
        true_score = s[rows, y]
        if empty is not None:  # all-zero target rows: every class is "other", s_y counts 0
            others[empty] = s[empty]
            true_score = np.where(empty, 0.0, true_score)
        j = np.argmax(others, axis=1)
        return rows, y, j, params["margin"] + others[rows, j] - true_score

    def loss(self, batch, params):
        return np.maximum(0.0, self._parts(batch, params)[3])

    def dloss(self, batch, params):
        rows, y, j, m = self._parts(batch, params)
        active = (m > 0).astype(float)
        empty = batch.aux.get("empty")
        empty = np.zeros(len(y), dtype=bool) if empty is None else empty
        g = np.zeros_like(batch.preds[0])
        g[rows, j] += active * ((j != y) | empty)  # j = y: the constant 0 won Keras's max
        g[rows, y] -= active * ~empty
        return (g,)


@register_loss(
    "multi_margin",
    aliases=("weston_watkins",),
    inputs="multiclass",
    tasks=("multiclass",),
    params=(MARGIN_MULTI,),
    explain=Explain(
        formula="Lᵢ = (1/K) Σ_{c≠y} max(0, margin − s_y + s_c)  (Weston–Watkins)",
        gradient="∂Lᵢ/∂s_c = 1/K for each active c ≠ y; ∂Lᵢ/∂s_y = −(number active)/K",
        use_when="multi-class classification with raw scores, every wrong class pushed below the margin",
        pitfalls="the 1/K factor makes values shrink as K grows",
        activation="linear (raw scores)",
        differences="torch MultiMarginLoss(p=1, margin) agrees.",
    ),
)
class MultiMargin(_ScoreMargin):
    """Weston–Watkins multi-class margin loss."""

    loss_name = "multi_margin"

    def _violations(self, batch, params):
        s, y = batch.preds[0], batch.aux["labels"]
        rows = np.arange(len(y))
        v = params["margin"] - s[rows, y][:, None] + s
        v[rows, y] = 0.0
        return rows, y, v

    def loss(self, batch, params):
        _, _, v = self._violations(batch, params)
        return np.sum(np.maximum(0.0, v), axis=1) / v.shape[1]

    def dloss(self, batch, params):
        rows, y, v = self._violations(batch, params)
        k = v.shape[1]
        g = (v > 0).astype(float) / k
        g[rows, y] = -np.sum(v > 0, axis=1) / k
        return (g,)


def sparsemax(z: np.ndarray) -> np.ndarray:
    """The Euclidean projection of each row onto the simplex: p = max(z − τ, 0), τ such that
    Σ p = 1 (Martins & Astudillo 2016; optax.projections.projection_simplex)."""
    zs = -np.sort(-z, axis=1)
    k = np.arange(1, z.shape[1] + 1)
    cums = np.cumsum(zs, axis=1)
    support = 1.0 + k * zs > cums  # true for the first k(z) sorted entries
    kz = np.sum(support, axis=1)
    tau = (cums[np.arange(len(z)), kz - 1] - 1.0) / kz
    return np.maximum(z - tau[:, None], 0.0)


@register_loss(
    "multiclass_sparsemax",
    options=(DENOMINATOR,),
    aliases=("multiclass_sparsemax_loss", "sparsemax_multiclass"),
    inputs="multiclass",
    tasks=("multiclass",),
    explain=Explain(
        formula="Lᵢ = ⟨p, s − s_y⟩ + ½(1 − ‖p‖²), p = sparsemax(s) (the projection of the "
        "scores onto the simplex): the Fenchel–Young loss of the Gini entropy; 0 when p = onehot(y)",
        gradient="∂Lᵢ/∂s = sparsemax(s) − onehot(y)",
        use_when="multi-class classification with raw scores when you want sparse probabilities "
        "(exact zeros) and zero loss once the true class wins by a margin of 1",
        pitfalls="the scores are not logits: sparsemax, not softmax, maps them to probabilities; "
        "zero loss (and gradient) once s_y exceeds every other score by 1",
        activation="linear (raw scores); sparsemax(s) is the predicted distribution",
        differences="optax multiclass_sparsemax_loss (integer labels) agrees; one-hot target "
        "columns are read as labels here.",
        properties="convex, continuously differentiable in s",
    ),
)
class MulticlassSparsemax(_ScoreMargin):
    """Multi-class sparsemax loss over K score columns."""

    loss_name = "multiclass_sparsemax"

    def _parts(self, batch):
        s, y = batch.preds[0], batch.aux["labels"]
        rows = np.arange(len(y))
        return s, sparsemax(s), rows, y

    def loss(self, batch, params):
        s, p, rows, y = self._parts(batch)
        return np.sum(p * (s - s[rows, y][:, None]), axis=1) + 0.5 * (1.0 - np.sum(p * p, axis=1))

    def dloss(self, batch, params):
        _, p, rows, y = self._parts(batch)
        g = p.copy()
        g[rows, y] -= 1.0
        return (g,)


@register_loss(
    "generalized_kl_div",
    options=(DENOMINATOR,),
    aliases=("generalized_kl_divergence", "generalized_kl", "convex_kl_divergence"),
    inputs="distribution",
    tasks=("distribution",),
    params=(EPS, LOG_INPUT),
    explain=Explain(
        formula="Lᵢ = Σ_c [t_c (log t_c − log p_c) − t_c + p_c], 0·log 0 = 0: the KL divergence "
        "of non-negative measures that need not sum to 1 (the Bregman divergence of x log x − x); "
        "p clipped below at eps, or log p the column itself with log_input=true",
        gradient="∂Lᵢ/∂p_c = 1 − t_c/p_c (0 where p is clipped);  log_input: "
        "∂Lᵢ/∂(log p_c) = p_c − t_c",
        use_when="matching unnormalised non-negative predictions (intensities, counts, NMF "
        "factors) to targets; equals kl_div when both rows sum to 1",
        pitfalls="not scale-free: rows are not normalised; predictions of 0 where t > 0 cost "
        "−t·log eps (log_input=true takes log p as given)",
        activation="softplus or exp (log_input=true takes the log-output as it is)",
        differences="optax generalized_kl_divergence takes log-predictions (log_input=true under "
        "--convention optax); torch has no such loss (PoissonNLLLoss differs by the t log t − t "
        "terms).",
        properties="convex in p, ≥ 0, 0 only at p = t",
    ),
)
class GeneralizedKL(Elementwise):
    """Generalized KL divergence Σ t(log t − log p) − t + p of non-negative measures."""

    def prepare(self, batch, params):
        x, t = batch.preds[0], batch.target
        if t is None or t.ndim != 2 or x.ndim != 2 or t.shape != x.shape:
            raise InputError(
                "generalized_kl_div needs K target columns and K prediction columns",
                hint="for integer labels use cross_entropy",
            )
        require_range(t, batch, "target", 0.0, None, what="is negative")
        if not params.get("log_input"):
            require_range(
                x,
                batch,
                "prediction",
                0.0,
                None,
                what="is negative",
                hint="log_input=true reads log-predictions",
            )
        return batch

    def _logp(self, x, params):
        if params.get("log_input"):
            return x, np.exp(x), None
        inside = x >= params["eps"]
        p = np.maximum(x, params["eps"])
        return np.log(p), p, inside

    def loss(self, batch, params):
        t = batch.target
        logp, p, _ = self._logp(batch.preds[0], params)
        with np.errstate(divide="ignore", invalid="ignore"):
            tlogt = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
        return np.sum(tlogt - t * logp - t + p, axis=1)

    def dloss(self, batch, params):
        t = batch.target
        _, p, inside = self._logp(batch.preds[0], params)
        if inside is None:
            return (p - t,)
        return (np.where(inside, 1.0 - t / p, 0.0),)
