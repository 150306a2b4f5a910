r"""Cross-entropy variants for noisy labels and long tails: Poly-1 and generalized CE.

Both read what cross_entropy reads (integer labels or K target columns, K probability
or logit columns) and depend on the target probability p_t = Σ_c t_c p_c (= p_y for
a label). Logits stay in log space, so |z| up to 1e4 gives finite values and gradients.
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.kernel.numerics import clip_probability, log_softmax, logsumexp
from losscli.kernel.streaming import Elementwise, Params
from losscli.losses.multiclass import prepare_multiclass
from losscli.losses.params import DENOMINATOR, EPS, IGNORE_INDEX, LABEL_SMOOTHING, Param
from losscli.losses.registry import Explain, register_loss

CLASSIFICATION = ("multiclass", "imbalanced")


def poly1_terms(t: np.ndarray, x: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Poly-1 per row and its derivative w.r.t. p (or z).

    L = −Σ_c t_c log p_c + ε·Σ_c t_c(1 − p_c)   (= CE + ε(1 − p_t) for a distribution t);
    logits: ∂L/∂z_c = p_c Σ_k t_k − t_c − ε·p_c(t_c − p_t);
    probabilities: ∂L/∂p_c = −t_c/p_c − ε·t_c.
    """
    k = x.shape[1]
    ls = params.get("label_smoothing") or 0.0
    if ls:
        t = t * (1.0 - ls) + ls / k
    epsilon = params["epsilon"]
    total = np.sum(t, axis=1, keepdims=True)
    if params["from_logits"]:
        logp = log_softmax(x)
        p = np.exp(logp)
        pt = np.sum(t * p, axis=1, keepdims=True)
        value = -np.sum(t * logp, axis=1) + epsilon * (total - pt)[:, 0]
        return value, p * total - t - epsilon * p * (t - pt)
    p, inside = clip_probability(x, params["eps"])
    pt = np.sum(t * p, axis=1, keepdims=True)
    value = -np.sum(t * np.log(p), axis=1) + epsilon * (total - pt)[:, 0]
    return value, np.where(inside, -t / p - epsilon * t, 0.0)


def _at_least_minus_one(v: float) -> bool:
    return v >= -1.0


POLY_EPSILON = Param(
    "epsilon",
    2.0,
    check=_at_least_minus_one,
    valid=">= -1",
    help="Poly-1 coefficient ε of (1 − p_t)",
)


@register_loss(
    "poly1_cross_entropy",
    aliases=("poly1", "poly_loss", "poly_cross_entropy"),
    inputs="multiclass",
    tasks=CLASSIFICATION,
    params=(POLY_EPSILON, EPS, LABEL_SMOOTHING, IGNORE_INDEX),
    logits=True,
    explain=Explain(
        formula="Lᵢ = −Σ_c t_c log p_c + ε·(1 − p_t), p_t = Σ_c t_c p_c (= p_y for a label); "
        "label smoothing t ← t(1 − ls) + ls/K in both terms",
        gradient="logits: ∂Lᵢ/∂z_c = p_c − t_c − ε·p_c(t_c − p_t);  probabilities: "
        "∂Lᵢ/∂p_c = −t_c/p_c − ε·t_c (0 where p is clipped)",
        use_when="a drop-in for cross-entropy whose first polynomial coefficient is tuned: ε > 0 "
        "pushes harder on confident-but-wrong examples (classification), ε < 0 eases off (detection)",
        pitfalls="ε = 0 is plain cross-entropy; ε < −1 makes the loss non-monotone in p_t (refused)",
        activation="softmax (or logits with --from-logits)",
        differences="Leng et al. (2022), PolyLoss, Poly-1. optax poly_loss_cross_entropy(epsilon=2.0) agrees "
        "(it adds ε·Σ_c t_c(1 − p_c), the same for targets summing to 1); its default ε = 2 is the default here.",
    ),
)
class Poly1CrossEntropy(Elementwise):
    """Poly-1 cross-entropy: CE + ε(1 − p_t)."""

    def prepare(self, batch, params):
        return prepare_multiclass(batch, params, "poly1_cross_entropy")

    def loss(self, batch, params):
        return poly1_terms(batch.target, batch.preds[0], params)[0]

    def dloss(self, batch, params):
        return (poly1_terms(batch.target, batch.preds[0], params)[1],)


def gce_terms(t: np.ndarray, x: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Generalized cross-entropy per row and its derivative w.r.t. p (or z).

    L = (1 − p_t^q)/q, p_t = Σ_c t_c p_c;  ∂L/∂p_c = −p_t^(q−1)·t_c;
    logits: ∂L/∂z_c = −p_t^(q−1)·p_c(t_c − p_t) = p_t^q·p_c − t_c·p_t^(q−1)·p_c,
    each factor taken from log p_t = logsumexp(log t + log p), so nothing overflows.
    """
    q = params["q"]
    if params["from_logits"]:
        logp = log_softmax(x)
        with np.errstate(divide="ignore"):
            logt = np.log(t)
        log_pt = logsumexp(logt + logp)  # (n, 1)
        value = -np.expm1(q * log_pt[:, 0]) / q
        with np.errstate(over="ignore", invalid="ignore"):  # only where t = 0, replaced by 0
            first = np.where(t > 0, t * np.exp((q - 1.0) * log_pt + logp), 0.0)
        return value, np.exp(q * log_pt + logp) - first
    p, inside = clip_probability(x, params["eps"])
    pt = np.sum(t * p, axis=1, keepdims=True)
    value = (1.0 - pt[:, 0] ** q) / q
    return value, np.where(inside, -(pt ** (q - 1.0)) * t, 0.0)


def _gce_q(v: float) -> bool:
    return 0 < v <= 1


GCE_Q = Param("q", 0.7, check=_gce_q, valid="in (0, 1]", help="GCE exponent q (→0: CE, 1: MAE)")


@register_loss(
    "generalized_cross_entropy",
    aliases=("gce", "generalised_cross_entropy", "categorical_generalized_cross_entropy"),
    inputs="multiclass",
    tasks=CLASSIFICATION,
    params=(GCE_Q, EPS, IGNORE_INDEX),
    options=(DENOMINATOR,),
    logits=True,
    explain=Explain(
        formula="Lᵢ = (1 − p_t^q)/q, p_t = Σ_c t_c p_c (= p_y for a label); q → 0 is cross-entropy, "
        "q = 1 is 1 − p_y (MAE on the probabilities, up to a factor 2)",
        gradient="probabilities: ∂Lᵢ/∂p_c = −p_t^(q−1)·t_c (0 where p is clipped);  logits: "
        "∂Lᵢ/∂z_c = −p_t^(q−1)·p_c(t_c − p_t)",
        use_when="training labels are noisy: with q near 0.7 confidently contradicted labels lose "
        "weight (p_t^q down-weights their gradient) while clean ones train as under cross-entropy",
        pitfalls="bounded by 1/q, so it fits slower than cross-entropy on clean data; q must be in (0, 1]",
        activation="softmax (or logits with --from-logits)",
        differences="Zhang & Sabuncu (2018), the L_q loss (their truncated variant is not included); "
        "q = 0.7 is the paper's setting. Keras CategoricalGeneralizedCrossEntropy agrees for integer "
        "labels and probabilities (it does not clip p; here p is clipped at eps except under "
        "--convention keras) with a default q = 0.5.",
        properties="bounded (0 ≤ Lᵢ ≤ 1/q), not convex in z",
    ),
)
class GeneralizedCrossEntropy(Elementwise):
    """Generalized cross-entropy (Zhang & Sabuncu's L_q loss)."""

    def prepare(self, batch, params):
        return prepare_multiclass(batch, params, "generalized_cross_entropy")

    def loss(self, batch, params):
        return gce_terms(batch.target, batch.preds[0], params)[0]

    def dloss(self, batch, params):
        return (gce_terms(batch.target, batch.preds[0], params)[1],)
