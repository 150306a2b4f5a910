r"""Similarity and ranking losses: contrastive, triplet, margin ranking, cosine embedding."""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ParamError
from losscli.kernel.streaming import Batch, Elementwise
from losscli.kernel.validate import plus_minus_one, require_binary, require_range
from losscli.losses.params import EPS_IN_DIFFERENCE, EPS_IN_ROOT, Param, non_negative, option
from losscli.losses.registry import Explain, register_loss

SIMILARITY = ("similarity",)


def _margin(default: float, check=non_negative, valid: str = ">= 0") -> Param:
    return Param("margin", default, check=check, valid=valid, help="margin m")


@register_loss(
    "contrastive",
    inputs="pair_distance",
    tasks=SIMILARITY,
    params=(_margin(1.0),),
    explain=Explain(
        formula="Lᵢ = ½[y d² + (1 − y) max(0, m − d)²], y = 1 for similar pairs",
        gradient="∂Lᵢ/∂d = y d − (1 − y) max(0, m − d)",
        use_when="siamese networks on pairs labelled similar / dissimilar",
        pitfalls="label polarity varies across code bases (here 1 = similar); distances must be ≥ 0",
        activation="a distance (e.g. Euclidean) between embeddings",
        differences="Hadsell et al. (2006) form. PML ContrastiveLoss is unsquared and unhalved on "
        "normalised embeddings; torch HingeEmbeddingLoss is unsquared with y ∈ {−1, 1}.",
    ),
)
class Contrastive(Elementwise):
    """Contrastive loss on pair distances."""

    def prepare(self, batch, params):
        if batch.target is None:
            raise InputError("contrastive needs a 0/1 similarity target")
        require_binary(batch.target, batch)
        require_range(batch.preds[0], batch, "distance", 0.0, what="is a negative distance")
        return batch

    def loss(self, batch, params):
        y, d = batch.target, batch.preds[0]
        return 0.5 * (y * d * d + (1.0 - y) * np.maximum(0.0, params["margin"] - d) ** 2)

    def dloss(self, batch, params):
        y, d = batch.target, batch.preds[0]
        return (y * d - (1.0 - y) * np.maximum(0.0, params["margin"] - d),)


def _at_least_one(v: float) -> bool:
    return v >= 1.0


P_NORM = Param("p", 2.0, check=_at_least_one, valid=">= 1", help="norm of the embedding distance")
SWAP = Param(
    "swap",
    False,
    kind="bool",
    valid="true or false",
    help="use min(d_an, d_pn) as the negative distance (torch's swap)",
)


def p_distance(u: np.ndarray, p: float) -> np.ndarray:
    """‖u‖_p per row (exact: no eps)."""
    if p == 2.0:
        return np.linalg.norm(u, axis=1)
    return np.sum(np.abs(u) ** p, axis=1) ** (1.0 / p)


def p_distance_grad(u: np.ndarray, d: np.ndarray, p: float) -> np.ndarray:
    """∂‖u‖_p/∂u = sign(u)·|u|^(p−1) / ‖u‖_p^(p−1); 0 where ‖u‖ = 0."""
    safe = np.where(d > 0, d, 1.0)[:, None]
    if p == 2.0:
        g = u / safe
    else:
        g = np.sign(u) * (np.abs(u) / safe) ** (p - 1.0)
    return np.where(d[:, None] > 0, g, 0.0)


@register_loss(
    "triplet",
    options=(EPS_IN_DIFFERENCE, EPS_IN_ROOT),
    aliases=("triplet_margin",),
    inputs="triplet",
    tasks=SIMILARITY,
    params=(_margin(1.0), P_NORM, SWAP),
    explain=Explain(
        formula="Lᵢ = max(0, d_ap − d_an + m); embeddings: d = ‖a − b‖_p (exact, no eps; p = 2 by "
        "default); swap=true: d_an ← min(‖a − n‖_p, ‖p − n‖_p) (Balntas et al. 2016)",
        gradient="distances: ∂/∂d_ap = 1, ∂/∂d_an = −1 when active; embeddings: ∂/∂a = u − v, "
        "∂/∂p = −u, ∂/∂n = v with u = ∂‖a − p‖_p/∂a, v = ∂‖a − n‖_p/∂a, "
        "∂‖x‖_p/∂x = sign(x)|x|^(p−1)/‖x‖_p^(p−1) (0 where d = 0); with swap the negative term "
        "differentiates the smaller distance (half each on a tie, as torch.min)",
        use_when="metric learning from anchor / positive / negative triplets",
        pitfalls="easy triplets give 0 loss and no gradient; mine hard negatives",
        activation="embeddings (often L2-normalised)",
        differences="torch TripletMarginLoss(margin, p, swap) agrees with eps=0; its default eps = 1e-6 "
        "is added to every coordinate of a − p (d = eps·√D at a = p); optax adds eps inside the root; "
        "PML normalises embeddings and averages non-zero losses. p and swap need embedding columns.",
    ),
)
class Triplet(Elementwise):
    """Triplet margin loss on distances or on anchor/positive/negative embeddings."""

    def prepare(self, batch, params):
        if len(batch.preds) == 2:
            for i, role in enumerate(("d_ap", "d_an")):
                if batch.preds[i].ndim != 1:
                    raise InputError("triplet distances must be one column each")
                require_range(batch.preds[i], batch, role, 0.0, what="is a negative distance")
            for name, value, plain in (
                ("p", params.get("p"), 2.0),
                ("swap", params.get("swap"), False),
            ):
                if value not in (None, plain):
                    raise ParamError(
                        name,
                        value,
                        f"left at {plain} with distance columns (it needs embeddings)",
                        "triplet",
                    )
            return batch
        if len(batch.preds) == 3:
            a, p, n = batch.preds
            if a.ndim != 2 or a.shape != p.shape or a.shape != n.shape:
                raise InputError(
                    "triplet embeddings need anchor, positive and negative families of equal width"
                )
            return batch
        raise InputError("triplet needs two distance columns or three embedding families")

    def _differences(self, batch, params):
        """a − p and a − n; PyTorch's convention adds eps to every coordinate."""
        a, p, n = batch.preds
        eps = option(params, EPS_IN_DIFFERENCE)
        return a - p + eps, a - n + eps

    def _norm(self, diff, params):
        """‖δ‖_p per row, or √(‖δ‖² + eps) with optax's ``eps_in_root``."""
        eps = option(params, EPS_IN_ROOT)
        if eps:
            return np.sqrt(np.sum(diff * diff, axis=1) + eps)
        return p_distance(diff, params.get("p") or 2.0)

    def _swap_difference(self, batch, params):
        """p − n (plus PyTorch's eps per coordinate), for swap=true."""
        _, p, n = batch.preds
        return p - n + option(params, EPS_IN_DIFFERENCE)

    def _distances(self, batch, params):
        """d_ap and the negative distance d_an (min(d_an, d_pn) with swap)."""
        if len(batch.preds) == 2:
            return batch.preds
        dp, dn = self._differences(batch, params)
        dap, dan = self._norm(dp, params), self._norm(dn, params)
        if params.get("swap"):
            dan = np.minimum(dan, self._norm(self._swap_difference(batch, params), params))
        return dap, dan

    def loss(self, batch, params):
        dap, dan = self._distances(batch, params)
        return np.maximum(0.0, dap - dan + params["margin"])

    def dloss(self, batch, params):
        dap, dneg = self._distances(batch, params)
        active = (dap - dneg + params["margin"] > 0).astype(float)
        if len(batch.preds) == 2:
            return active, -active
        # ∂‖δ‖/∂δ; with eps in the root (p = 2) it is δ/d, d including the eps
        norm = 2.0 if option(params, EPS_IN_ROOT) else (params.get("p") or 2.0)
        dp, dn = self._differences(batch, params)
        u = p_distance_grad(dp, dap, norm)
        dan = self._norm(dn, params)
        v = p_distance_grad(dn, dan, norm)
        act = active[:, None]
        if not params.get("swap"):
            return act * (u - v), -act * u, act * v
        dpn = self._norm(self._swap_difference(batch, params), params)
        w = p_distance_grad(self._swap_difference(batch, params), dpn, norm)
        # torch.min: the gradient goes to the smaller distance, half to each on a tie
        c_an = np.where(dan < dpn, 1.0, np.where(dan == dpn, 0.5, 0.0))[:, None]
        c_pn = 1.0 - c_an
        return act * (u - c_an * v), -act * (u + c_pn * w), act * (c_an * v + c_pn * w)


def _pm1_target(batch: Batch, loss: str) -> Batch:
    if batch.target is None:
        raise InputError(f"{loss} needs a ±1 target")
    return batch.replace(target=plus_minus_one(batch.target, batch))


@register_loss(
    "margin_ranking",
    inputs="ranking",
    tasks=SIMILARITY,
    params=(_margin(0.0, check=None, valid="a number"),),
    explain=Explain(
        formula="Lᵢ = max(0, −t(x1 − x2) + m), t = +1 when x1 should rank higher",
        gradient="∂Lᵢ/∂x1 = −t, ∂Lᵢ/∂x2 = t when active, else 0",
        use_when="pairwise ranking: which of two items should score higher",
        pitfalls="with m = 0 ties cost nothing; scale of scores matters for m > 0",
        activation="raw scores",
        differences="torch MarginRankingLoss agrees.",
    ),
)
class MarginRanking(Elementwise):
    """Margin ranking loss on score pairs."""

    def prepare(self, batch, params):
        if len(batch.preds) != 2:
            raise InputError("margin_ranking needs two score columns x1, x2")
        return _pm1_target(batch, "margin_ranking")

    def loss(self, batch, params):
        x1, x2 = batch.preds
        return np.maximum(0.0, -batch.target * (x1 - x2) + params["margin"])

    def dloss(self, batch, params):
        x1, x2 = batch.preds
        t = batch.target
        active = (-t * (x1 - x2) + params["margin"] > 0).astype(float)
        return -t * active, t * active


COSINE_EPS = 1e-12  # added to squared norms, as torch does, so zero vectors stay finite


def _unit_closed_pm(v: float) -> bool:
    return -1.0 <= v <= 1.0


@register_loss(
    "cosine_embedding",
    inputs="pair_embedding",
    tasks=SIMILARITY,
    params=(_margin(0.0, check=_unit_closed_pm, valid="in [-1, 1]"),),
    explain=Explain(
        formula="cos = x1·x2/√((‖x1‖² + ε)(‖x2‖² + ε)), ε = 1e-12;  Lᵢ = 1 − cos if t = 1, max(0, cos − m) if t = −1",
        gradient="∂cos/∂x1 = (x2 − (x1·x2) x1/(‖x1‖² + ε))/√(…);  ∂Lᵢ/∂cos = −1 (t = 1), 1 if cos > m (t = −1)",
        use_when="learning embeddings where direction, not length, carries meaning",
        pitfalls="ignores vector length; m around 0–0.5 for dissimilar pairs",
        activation="embeddings",
        differences="torch CosineEmbeddingLoss agrees (same ε); optax cosine_distance is 1 − cos only; "
        "Keras CosineSimilarity returns −cos.",
    ),
)
class CosineEmbedding(Elementwise):
    """Cosine embedding loss on two embedding families."""

    def prepare(self, batch, params):
        if (
            len(batch.preds) != 2
            or batch.preds[0].ndim != 2
            or batch.preds[0].shape != batch.preds[1].shape
        ):
            raise InputError("cosine_embedding needs two embedding families of equal width")
        return _pm1_target(batch, "cosine_embedding")

    def _cos(self, batch):
        x1, x2 = batch.preds
        a = np.sum(x1 * x1, axis=1) + COSINE_EPS
        b = np.sum(x2 * x2, axis=1) + COSINE_EPS
        dot = np.sum(x1 * x2, axis=1)
        return x1, x2, a, b, dot, dot / np.sqrt(a * b)

    def loss(self, batch, params):
        cos = self._cos(batch)[-1]
        return np.where(batch.target == 1, 1.0 - cos, np.maximum(0.0, cos - params["margin"]))

    def dloss(self, batch, params):
        x1, x2, a, b, dot, cos = self._cos(batch)
        t = batch.target
        dcos = np.where(t == 1, -1.0, np.where(cos - params["margin"] > 0, 1.0, 0.0))
        root = np.sqrt(a * b)[:, None]
        g1 = (x2 - (dot / a)[:, None] * x1) / root
        g2 = (x1 - (dot / b)[:, None] * x2) / root
        return dcos[:, None] * g1, dcos[:, None] * g2
