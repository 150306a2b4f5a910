r"""Similarity and ranking losses: contrastive, triplet, margin ranking, cosine embedding, cosine
distance and similarity."""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ParamError, UsageError, ZeroWeightError
from losscli.kernel.streaming import Batch, Collected, Elementwise, Kernel, PartialSums, memo
from losscli.kernel.validate import fail_where, plus_minus_one, require_binary, require_range
from losscli.losses.params import (
    DENOMINATOR,
    EPS_IN_DIFFERENCE,
    EPS_IN_ROOT,
    Param,
    non_negative,
    option,
)
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


# --- cosine distance / similarity between a row's K prediction and K target columns ---------

COSINE_FLOOR = Param(
    "eps",
    0.0,
    check=non_negative,
    valid=">= 0",
    help="floor of the squared norms ‖ŷ‖², ‖y‖² (0: a zero vector is an error)",
)
COSINE_OFFSET = Param(
    "cosine_offset", 1.0, valid="a number", help="c in Lᵢ = c − cos (Keras: 0, so −cos)"
)


def _cosine_parts(batch: Batch, params) -> tuple[np.ndarray, ...]:
    """ŷ and y as (n, K), the floored squared norms a², b² and cos = ŷ·y/(a·b)."""
    p, y = batch.preds[0], batch.target
    if p.ndim == 1:
        p, y = p[:, None], y[:, None]
    eps = params.get("eps") or 0.0
    a2 = np.maximum(np.sum(p * p, axis=1), eps)
    b2 = np.maximum(np.sum(y * y, axis=1), eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.sum(p * y, axis=1) / np.sqrt(a2 * b2)
    return p, y, a2, b2, cos


def _dcos(batch: Batch, params) -> np.ndarray:
    """∂cos/∂ŷ = y/(a·b) − cos·ŷ/a² (the second term 0 where ‖ŷ‖² is at the eps floor)."""
    p, y, a2, b2, cos = _cosine_parts(batch, params)
    free = np.sum(p * p, axis=1) > (params.get("eps") or 0.0)
    g = y / np.sqrt(a2 * b2)[:, None] - np.where(free, cos / a2, 0.0)[:, None] * p
    return g[:, 0] if batch.preds[0].ndim == 1 else g


class _Cosine(Elementwise):
    """The cosine of the angle between a row's prediction vector ŷ and target vector y."""

    name = "cosine_distance"

    def prepare(self, batch, params):
        if batch.target is None:
            raise InputError(
                f"{self.name} needs target columns (the vector y) beside the prediction columns"
            )
        p, y = batch.preds[0], batch.target
        if len(batch.preds) != 1 or p.shape != y.shape:
            raise InputError(
                f"{self.name} needs as many target columns as prediction columns (K each: "
                "the target vector and the predicted vector of the row)"
            )
        if not params.get("eps"):  # strict: the cosine of a zero vector is undefined
            for role, values in (("prediction", p), ("target", y)):
                v = values if values.ndim == 2 else values[:, None]
                norm = np.sqrt(np.sum(v * v, axis=1))
                fail_where(
                    norm == 0,
                    norm,
                    batch,
                    role,
                    "is the norm of a zero vector, whose cosine is undefined",
                    hint=f"drop the row, or floor the squared norms: {self.name}(eps=1e-14) "
                    "(Keras's floor; --convention keras sets it)",
                )
        return batch


@register_loss(
    "cosine_distance",
    inputs="real",
    tasks=(*SIMILARITY, "regression"),
    params=(COSINE_FLOOR,),
    options=(DENOMINATOR, COSINE_OFFSET),
    explain=Explain(
        formula="Lᵢ = 1 − cosᵢ, cosᵢ = ŷᵢ·yᵢ / (‖ŷᵢ‖‖yᵢ‖) over the row's K prediction columns and "
        "K target columns; with eps > 0 each norm is √max(‖·‖², eps); eps = 0 (the default): a "
        "zero vector is an error naming the row",
        gradient="∂Lᵢ/∂ŷᵢ = −(yᵢ/(‖ŷᵢ‖‖yᵢ‖) − cosᵢ·ŷᵢ/‖ŷᵢ‖²) (with eps: the floored norms, and no "
        "second term where ‖ŷᵢ‖² ≤ eps); orthogonal to ŷᵢ, so the length of ŷ gets no gradient",
        use_when="a vector per row whose direction, not length, is the prediction: embeddings "
        "regressed onto target embeddings, normalised direction vectors",
        pitfalls="ignores the length of ŷ and y; in [0, 2], 0 for the same direction; one column "
        "(K = 1) only compares signs",
        activation="none (any real vectors; no need to normalise them)",
        differences="optax.losses.cosine_distance (1 − cos; epsilon floors the squared norms, 0 by "
        "default) agrees; Keras's loss CosineSimilarity is −cos (1 lower, the same gradient: "
        "--convention keras), with the squared norms floored at 1e-14; "
        "torch has no such loss (CosineEmbeddingLoss with t = 1 is 1 − cos on two embedding "
        "families: cosine_embedding). The similarity itself, higher is better: cosine_similarity.",
        properties="bounded in [0, 2]; invariant to scaling ŷ or y by a positive factor",
    ),
)
class CosineDistance(_Cosine):
    """Cosine distance 1 − cos between a row's prediction and target vectors."""

    def loss(self, batch, params):
        return option(params, COSINE_OFFSET) - _cosine_parts(batch, params)[-1]

    def dloss(self, batch, params):
        return (-_dcos(batch, params),)


# --- Circle loss (Sun et al. 2020; keras.losses.Circle): every pair of rows ------------------

#: circle compares every pair of rows of the file (or of each --group): n² pairs.
CIRCLE_MAX_ROWS = 20_000
#: pairs held at once while computing (a block of rows against all rows): 8 bytes each, ×~10
CIRCLE_BLOCK_PAIRS = 2_000_000
#: |‖x‖ − 1| allowed for an embedding row under the strict default
UNIT_NORM_TOLERANCE = 1e-3

CIRCLE_MASK = Param(
    "circle_mask",
    False,
    kind="bool",
    help="rows with Lᵢ = 0 leave the mean (Keras's mask on circle_loss > 0)",
)
CIRCLE_ANY_NORM = Param(
    "circle_any_norm", False, kind="bool", help="embeddings used as they are, any norm"
)


def _row_ids(batch: Batch) -> np.ndarray:
    return batch.rows if batch.rows is not None else batch.row0 + np.arange(len(batch))


def _logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """log Σ_j exp(v_ij) per row; −inf for a row of −inf (an empty set of pairs)."""
    top = np.max(values, axis=1)
    finite = np.isfinite(top)
    shift = np.where(finite, top, 0.0)
    with np.errstate(divide="ignore"):
        out = shift + np.log(np.sum(np.exp(values - shift[:, None]), axis=1))
    return np.where(finite, out, -np.inf)


def circle_block(start: int, y: np.ndarray, x: np.ndarray, params, grad: bool):
    """Lᵢ of the rows start..start+b (against all n rows) and, with ``grad``, cᵢⱼ = ∂Lᵢ/∂sᵢⱼ."""
    gamma, m = params["gamma"], params["margin"]
    b = min(max(1, CIRCLE_BLOCK_PAIRS // max(len(y), 1)), len(y) - start)
    rows = np.arange(start, start + b)
    s = x[rows] @ x.T
    d = np.maximum(1.0 - s, 0.0)
    same = y[rows, None] == y[None, :]
    pos = same.copy()
    if params["remove_diagonal"]:
        pos[np.arange(b), rows] = False
    neg = ~same
    a_pos = np.maximum(m + d, 0.0)
    a_neg = np.maximum(1.0 + m - d, 0.0)
    u = np.where(pos, -gamma * a_pos * (m - d), -np.inf)
    v = np.where(neg, gamma * a_neg * (1.0 - m - d), -np.inf)
    lp, ln = _logsumexp_rows(u), _logsumexp_rows(v)
    z = lp + ln
    loss = np.logaddexp(0.0, z)
    if not grad:
        return rows, loss, None
    live = np.isfinite(z)  # a row with no positive or no negative pair is 0, flat
    sig = np.where(live, 1.0 / (1.0 + np.exp(-np.where(live, z, 0.0))), 0.0)
    safe_lp = np.where(live, lp, 0.0)[:, None]
    safe_ln = np.where(live, ln, 0.0)[:, None]
    pi = np.where(pos & live[:, None], np.exp(np.where(pos, u, 0.0) - safe_lp), 0.0)
    nu = np.where(neg & live[:, None], np.exp(np.where(neg, v, 0.0) - safe_ln), 0.0)
    du = np.where(m + d > 0, 2.0 * gamma * d, 0.0)  # u = −γ(m + d)(m − d)
    dv = np.where(1.0 + m - d > 0, 2.0 * gamma * (d - 1.0), 0.0)  # v = γ(1 + m − d)(1 − m − d)
    c = -(sig[:, None] * (pi * du + nu * dv)) * (1.0 - s > 0)  # ∂d/∂s = −1 where d > 0
    return rows, loss, c


def circle_losses(y: np.ndarray, x: np.ndarray, params) -> np.ndarray:
    out = np.zeros(len(y))
    start = 0
    while start < len(y):
        rows, loss, _ = circle_block(start, y, x, params, grad=False)
        out[rows] = loss
        start = rows[-1] + 1
    return out


@register_loss(
    "circle",
    inputs="labelled_embedding",
    tasks=SIMILARITY,
    params=(
        Param("gamma", 80.0, check=lambda v: v > 0, valid="> 0", help="scale γ"),
        Param("margin", 0.4, check=non_negative, valid=">= 0", help="relaxation margin m"),
        Param(
            "remove_diagonal",
            True,
            kind="bool",
            valid="true or false",
            help="leave each row's pair with itself out of its positives",
        ),
    ),
    options=(DENOMINATOR, CIRCLE_MASK, CIRCLE_ANY_NORM),
    explain=Explain(
        formula="over every pair of rows: sᵢⱼ = xᵢ·xⱼ, dᵢⱼ = max(1 − sᵢⱼ, 0); positives P(i): "
        "yⱼ = yᵢ, j ≠ i; negatives N(i): yⱼ ≠ yᵢ; Lᵢ = softplus(log Σ_{P(i)} exp(−γ·max(m + d, 0)"
        "·(m − d)) + log Σ_{N(i)} exp(γ·max(1 + m − d, 0)·(1 − m − d))), 0 for a row without a "
        "positive or a negative; J = Σwᵢ Lᵢ/Σwᵢ (mean) or Σwᵢ Lᵢ (sum), over the whole file or "
        "each --group",
        gradient="∂J/∂X = (M + Mᵀ)X with Mᵢⱼ = wᵢ cᵢⱼ/Σw (/1 for sum), cᵢⱼ = ∂Lᵢ/∂sᵢⱼ = −σ(zᵢ)(πᵢⱼ·2γd + "
        "νᵢⱼ·2γ(d − 1)) where d > 0 (πᵢⱼ, νᵢⱼ the softmax weights of the positive and negative "
        "sums, zᵢ their sum of logs); the weights max(·, 0) are differentiated, not detached (as "
        "Keras's code)",
        use_when="metric learning with class labels: pull same-class embeddings together and "
        "push the others apart, each similarity weighted by how far it is from its optimum",
        pitfalls="an in-batch loss: its value depends on which rows are compared, so evaluate "
        "each training batch with --group BATCH_ID to see what training saw; every pair of rows "
        "is compared: O(n²·D) time and O(n·D) memory, at most 20,000 rows per file or group; "
        "embeddings must have unit norm (|‖x‖ − 1| ≤ 1e-3) under the default; --gamma also sets "
        "focal's γ when both are selected (give it inline: circle(gamma=80)); --reduction none "
        "and grad --with-loss read the file twice (each row's Lᵢ needs every other row)",
        activation="L2-normalised embeddings (Keras: a Dense layer without activation, then "
        "UnitNormalization)",
        differences="keras.losses.Circle (--convention keras): the mean divides by the rows with "
        "Lᵢ > 0 (its mask), and embeddings of any norm are taken as they are; the function form's "
        "ref_labels / ref_embeddings (a second table) has no counterpart.",
    ),
)
class Circle(Kernel):
    """Circle loss over every pair of rows: class labels and unit-norm embeddings."""

    ratio = True  # J is not a mean of independent per-row values
    reductions = ("mean", "sum", "none")
    rows_need_sums = True  # Lᵢ against every row: per-row output merges the sums first

    def prepare(self, batch, params):
        y, preds = batch.target, batch.preds
        if y is None or y.ndim != 1 or len(preds) != 1 or preds[0].ndim != 2:
            raise InputError(
                "circle needs one class-label column and an embedding's columns (two or more)",
                hint="e.g. --target label --pred 'emb_*'",
            )
        fail_where(y != np.round(y), y, batch, "target", "is not an integer class label")
        if not option(params, CIRCLE_ANY_NORM):
            x = preds[0]
            norm = np.sqrt(np.sum(x * x, axis=1))
            fail_where(
                np.abs(norm - 1.0) > UNIT_NORM_TOLERANCE,
                norm,
                batch,
                "prediction",
                "is the norm of an embedding that is not L2-normalised",
                hint="divide each embedding by its norm first (circle compares x·x'); "
                "--convention keras takes them as they are",
            )
        return batch

    def rows(self, batch, params, sums=None):
        """Lᵢ of the batch's rows, each against every row of the merged sums."""
        losses, ids, order = memo(sums, "circle-rows", lambda: self._losses(sums, params))
        return losses[order[_located(ids, batch)]]

    def _losses(self, sums, params):
        """Lᵢ of every collected row, and the sorted row ids to find a batch's rows."""
        y, x, _ = self._data(sums)
        ids = sums["ids"].array()
        order = np.argsort(ids, kind="stable")
        return circle_losses(y, x, params), ids[order], order

    def update(self, batch, params):
        sums = PartialSums(
            y=Collected(batch.target), x=Collected(batch.preds[0]), ids=Collected(_row_ids(batch))
        )
        if batch.weights is not None:
            sums["w"] = Collected(batch.weights)
        sums["n"] = len(batch)
        return sums

    def _data(self, sums):
        x = sums["x"].array()
        n = len(x)
        if n > CIRCLE_MAX_ROWS:
            raise InputError(
                f"circle compares every pair of rows: {n:,} rows are {n * n:,} pairs, above the "
                f"limit of {CIRCLE_MAX_ROWS:,} rows (O(n²) time) per file or group",
                hint="evaluate it per training batch, as it is trained: --group BATCH_COLUMN",
            )
        w = sums["w"].array() if "w" in sums else np.ones(n)
        return sums["y"].array(), x, w

    def _denominator(self, losses, w, params, reduction):
        """Σw (default mean), 1 (sum), or with Keras's mask the rows with Lᵢ > 0: their count
        (denominator=count) or weight; 0 for none (Keras's divide_no_nan gives 0)."""
        if reduction == "sum":
            return 1.0
        if option(params, CIRCLE_MASK):
            live = losses > 0
            return float(
                np.count_nonzero(live) if params.get("denominator") == "count" else np.sum(w[live])
            )
        total = float(np.sum(w))
        if not total > 0:
            raise ZeroWeightError()
        return total

    def _solve(self, sums, params, reduction):
        y, x, w = self._data(sums)
        losses = circle_losses(y, x, params)
        denominator = self._denominator(losses, w, params, reduction)
        value = float(np.sum(w * losses) / denominator) if denominator > 0 else 0.0
        return value, losses, denominator

    def compute(self, sums, params, reduction):
        if not len(sums.get("x", Collected())):
            raise ZeroWeightError()
        return memo(sums, f"circle-{reduction}", lambda: self._solve(sums, params, reduction))[0]

    def _gradient(self, sums, params, reduction):
        """∂J/∂X for every collected row, and the sorted row ids to find a batch's rows."""
        y, x, w = self._data(sums)
        _, _, denominator = memo(
            sums, f"circle-{reduction}", lambda: self._solve(sums, params, reduction)
        )
        g = np.zeros_like(x)
        if denominator > 0:
            start = 0
            while start < len(y):
                rows, _, c = circle_block(start, y, x, params, grad=True)
                m = (w[rows] / denominator)[:, None] * c
                g[rows] += m @ x
                g += m.T @ x[rows]
                start = rows[-1] + 1
        ids = sums["ids"].array()
        order = np.argsort(ids, kind="stable")
        return g, ids[order], order

    def grad(self, batch, sums, params, reduction):
        if reduction == "none":
            raise UsageError(
                "circle has no gradient of one row's Lᵢ alone: it depends on every other row",
                hint="differentiate J: reduction mean or sum",
            )
        g, ids, order = memo(
            sums, f"circle-grad-{reduction}", lambda: self._gradient(sums, params, reduction)
        )
        return (g[order[_located(ids, batch)]],)


def _located(ids: np.ndarray, batch: Batch) -> np.ndarray:
    """Where the batch's rows are among the sorted ``ids`` of the rows the sums collected."""
    wanted = _row_ids(batch)
    at = np.searchsorted(ids, wanted)
    ok = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == wanted)
    if not np.all(ok):
        raise UsageError(
            "a row is not among the rows the merged sums collected",
            hint="give the rows that were given to update() (a circle value depends on every "
            "other row)",
        )
    return at


# Registered last: a metric, listed after every loss.
@register_loss(
    "cosine_similarity",
    inputs="real",
    tasks=(*SIMILARITY, "regression"),
    params=(COSINE_FLOOR,),
    kind="metric",
    better="higher",
    explain=Explain(
        formula="cosᵢ = ŷᵢ·yᵢ / (‖ŷᵢ‖‖yᵢ‖) over the row's K prediction and K target columns, "
        "averaged over the rows (Σwᵢcosᵢ/Σwᵢ with --weight); with eps > 0 each norm is "
        "√max(‖·‖², eps); eps = 0 (the default): a zero vector is an error naming the row",
        gradient="∂cosᵢ/∂ŷᵢ = yᵢ/(‖ŷᵢ‖‖yᵢ‖) − cosᵢ·ŷᵢ/‖ŷᵢ‖² (with eps: the floored norms, and no "
        "second term where ‖ŷᵢ‖² ≤ eps)",
        use_when="reporting how well predicted vectors point along the targets (1: same "
        "direction, 0: orthogonal, −1: opposite)",
        pitfalls="a similarity, not a loss: higher is better (gate it with --fail-below); the "
        "loss to minimise is cosine_distance = 1 − cos",
        activation="none (any real vectors)",
        differences="optax.losses.cosine_similarity, keras.metrics.CosineSimilarity and "
        "torch.nn.functional.cosine_similarity are +cos (per row); keras.losses.CosineSimilarity, "
        "the loss, is −cos: --loss cosine_distance --convention keras.",
        properties="in [−1, 1]; invariant to scaling ŷ or y by a positive factor",
    ),
)
class CosineSimilarity(_Cosine):
    """Cosine similarity cos between a row's prediction and target vectors (higher is better)."""

    name = "cosine_similarity"

    def loss(self, batch, params):
        return _cosine_parts(batch, params)[-1]

    def dloss(self, batch, params):
        return (_dcos(batch, params),)
