r"""Symmetric divergences between a target distribution and a predicted one.

Jensen–Shannon: the mean of the KL divergences of t and p from their midpoint
m = ½(t + p). In nats (natural log), so 0 ≤ JS ≤ log 2.
"""

from __future__ import annotations

import math

from losscli._lazy import np
from losscli.errors import InputError
from losscli.kernel.numerics import clip_probability, log_softmax, softmax_backward
from losscli.kernel.streaming import Batch, Elementwise, Params
from losscli.kernel.validate import require_probabilities, require_range, require_rows_sum_to_one
from losscli.losses.params import EPS
from losscli.losses.registry import Explain, register_loss

LOG2 = math.log(2.0)


def js_terms(t: np.ndarray, x: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """JS(t, p) per row and ∂/∂p_c = ½·log(p_c / m_c) (or its chain through softmax).

    Logs are taken in log space, log m = logaddexp(log t, log p) − log 2, so logits of
    any size give finite values and gradients (a p that underflows has p·log p = 0).
    """
    if params["from_logits"]:
        logp = log_softmax(x)
        p = np.exp(logp)
        inside = None
    else:
        p, inside = clip_probability(x, params["eps"])
        logp = np.log(p)
    with np.errstate(divide="ignore"):
        logt = np.log(t)  # −inf where t = 0; those terms are 0·(…) = 0
    logm = np.logaddexp(logt, logp) - LOG2
    with np.errstate(invalid="ignore"):  # 0·(−inf) where t = 0, replaced by 0
        t_part = np.where(t > 0, t * (logt - logm), 0.0)
    value = 0.5 * np.sum(t_part + p * (logp - logm), axis=1)
    grad_p = 0.5 * (logp - logm)
    if inside is None:
        return value, softmax_backward(grad_p, p)
    return value, np.where(inside, grad_p, 0.0)


@register_loss(
    "js_div",
    aliases=("jensen_shannon", "jensen_shannon_divergence", "jsd"),
    inputs="distribution",
    tasks=("distribution",),
    params=(EPS,),
    logits=True,
    explain=Explain(
        formula="Lᵢ = ½ Σ_c t_c log(t_c/m_c) + ½ Σ_c p_c log(p_c/m_c), m = ½(t + p), 0·log 0 = 0; "
        "natural log (nats), 0 ≤ Lᵢ ≤ log 2; p clipped to [eps, 1 − eps], or p = softmax(z)",
        gradient="probabilities: ∂Lᵢ/∂p_c = ½·log(p_c/m_c) (0 where p is clipped); "
        "logits: ∂Lᵢ/∂z_c = p_c(g_c − Σ_k p_k g_k), g = ½·log(p/m)",
        use_when="comparing distributions symmetrically and with a bounded value, also when one of "
        "them puts zero mass where the other does not (KL is then infinite)",
        pitfalls="the divergence, not the distance: scipy's jensenshannon returns its square root; "
        "in nats (divide by log 2 for bits); its gradient vanishes when p and t have disjoint support",
        activation="softmax (or logits with --from-logits)",
        differences="scipy.spatial.distance.jensenshannon(t, p) equals √Lᵢ (base e by default) and "
        "renormalises rows; torchmetrics jensen_shannon_divergence renormalises rows too; losscli "
        "requires rows that sum to 1 instead.",
        properties="symmetric in t and p, bounded by log 2, √JS is a metric",
    ),
)
class JensenShannon(Elementwise):
    """Jensen–Shannon divergence JS(t, p) per row (nats)."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        x, t = batch.preds[0], batch.target
        if t is None or t.ndim != 2 or x.ndim != 2 or t.shape != x.shape:
            raise InputError(
                "js_div needs K target-distribution columns and K prediction columns",
                hint="for integer labels use cross_entropy",
            )
        require_range(t, batch, "target", 0.0, 1.0, what="is not a probability in [0, 1]")
        require_rows_sum_to_one(t, batch, role="target")
        if not params["from_logits"]:
            require_probabilities(x, batch)
            require_rows_sum_to_one(x, batch)
        return batch

    def loss(self, batch, params):
        return js_terms(batch.target, batch.preds[0], params)[0]

    def dloss(self, batch, params):
        return (js_terms(batch.target, batch.preds[0], params)[1],)
