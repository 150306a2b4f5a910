r"""Lovász losses (Berman, Rannen Triki & Blaschko, CVPR 2018): IoU surrogates from sorted errors.

The Jaccard loss Δ(M) = 1 − |P \ M| / |P ∪ M| of a set M of mispredicted rows (P the
positives) is submodular; its Lovász extension over per-row errors e ≥ 0 is

    Δ̄(e) = Σ_k e₍ₖ₎·(Δ(first k rows) − Δ(first k − 1 rows)),

the errors sorted in decreasing order — a convex, piecewise-linear surrogate of 1 − IoU.
With sample weights a row of weight w counts as w rows (weighted intersection and union),
so integer weights equal repeating rows.

J is computed over all rows (over each group's rows with ``--group``, e.g. per image),
never as a mean of per-row values, so every row's error and label are kept until the
end (``Collected``): memory grows with the rows (about 17 bytes a row for the hinge,
8·K + 9 for the softmax form). The gradient is the subgradient of the sorted form:
∂J/∂e₍ₖ₎ = Δₖ − Δₖ₋₁. Rows with the same error and label are interchangeable, so they
share their block's gradient (in proportion to their weights) — the average over the
orders a sort could give them, each a valid subgradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError, ZeroWeightError
from losscli.kernel.numerics import softmax, softmax_backward
from losscli.kernel.streaming import (
    Batch,
    Collected,
    Kernel,
    Params,
    PartialSums,
    collect_grouped,
    memo,
)
from losscli.kernel.validate import (
    integer_labels,
    plus_minus_one,
    require_probabilities,
    require_rows_sum_to_one,
)
from losscli.losses.registry import Explain, register_loss

SEGMENTATION = ("segmentation", "imbalanced")


def jaccard_steps(fg_sorted: np.ndarray, w_sorted: np.ndarray) -> np.ndarray:
    """Δₖ − Δₖ₋₁ along rows sorted by decreasing error (the reference ``lovasz_grad``,
    with each row counted w times): Δₖ = 1 − (ΣP − Σ_{≤k} w·fg)/(ΣP + Σ_{≤k} w·(1 − fg))."""
    positives = np.sum(w_sorted * fg_sorted)
    intersection = positives - np.cumsum(w_sorted * fg_sorted)
    union = positives + np.cumsum(w_sorted * (1.0 - fg_sorted))
    jaccard = 1.0 - np.divide(
        intersection, union, out=np.ones_like(union), where=union > 0
    )  # union 0: only zero-weight rows so far, Δ = 0
    steps = jaccard.copy()
    steps[1:] -= jaccard[:-1]
    return steps


def lovasz_extension(
    errors: np.ndarray, fg: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Δ̄(errors) for one class, and what its gradient lookup needs.

    Returns (value, order, steps): rows sorted by decreasing error (ties: background
    first), and ∂Δ̄/∂e of each sorted position.
    """
    order = np.lexsort((fg, -errors))
    steps = jaccard_steps(fg[order], w[order])
    return float(np.dot(errors[order], steps)), order, steps


class Shares:
    """∂J/∂eᵢ for any row, looked up by its (error, label): the block of equal rows shares."""

    def __init__(self, errors, fg, w, order, steps) -> None:
        self.tables = {}
        for label in (0.0, 1.0):
            at = order[fg[order] == label]
            position = np.flatnonzero(fg[order] == label)
            distinct, block = np.unique(errors[at], return_inverse=True)
            weight = np.bincount(block, weights=w[at], minlength=len(distinct)).astype(float)
            total = np.bincount(block, weights=steps[position], minlength=len(distinct))
            total = total.astype(float)
            per_weight = np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)
            self.tables[label] = (distinct, per_weight)

    def of(self, errors: np.ndarray, fg: np.ndarray, w: np.ndarray) -> np.ndarray:
        out = np.zeros(len(errors))
        for label, (distinct, per_weight) in self.tables.items():
            rows = fg == label
            if not rows.any():
                continue
            wanted = errors[rows]
            order = np.argsort(wanted, kind="stable")  # sorted needles: a cache-friendly search
            at = np.empty(len(wanted), dtype=np.intp)
            at[order] = np.searchsorted(distinct, wanted[order])
            ok = at < len(distinct)
            ok[ok] = distinct[at[ok]] == wanted[ok]
            if not np.all(ok):
                raise UsageError(
                    "a row's error is not among the errors the merged sums collected",
                    hint="differentiate the rows that were given to update() (the Lovász "
                    "gradient of a row depends on its place among all rows)",
                )
            out[rows] = w[rows] * per_weight[at]
        return out


class _Lovasz(Kernel):
    """Collects every row's errors and labels; J and ∂J from the sorted errors."""

    ratio = True
    reductions = ("mean",)

    def collect(self, batch: Batch, params: Params) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def update(self, batch: Batch, params: Params) -> PartialSums:
        parts = self.collect(batch, params)
        sums = PartialSums({k: Collected(v) for k, v in parts.items()})
        sums["n"] = len(batch)
        return sums

    def update_grouped(self, batch, params, codes, size):
        parts = self.collect(batch, params)
        sums = PartialSums({k: collect_grouped(v, codes, size) for k, v in parts.items()})
        sums["n"] = np.bincount(codes, minlength=size).astype(np.int64)
        return sums


def _weights(sums: Mapping[str, Any], n: int) -> np.ndarray:
    w = sums["w"].array() if "w" in sums else np.ones(n)
    if n and not np.sum(w) > 0:
        raise ZeroWeightError()
    return w


@register_loss(
    "lovasz_hinge",
    inputs="margin",
    tasks=("segmentation", "binary", "imbalanced"),
    explain=Explain(
        formula="eᵢ = 1 − tᵢsᵢ (t = ±1, 0/1 targets: 0 → −1);  J = Σ_k max(e₍ₖ₎, 0)·(Δₖ − Δₖ₋₁), errors "
        "sorted decreasingly, Δₖ = 1 − IoU of the first k rows taken as mispredicted (the Lovász "
        "extension of the Jaccard loss); over all rows, or per --group (e.g. per image); with "
        "--weight a row counts w times (weighted intersection and union)",
        gradient="∂J/∂sᵢ = −tᵢ·(Δₖ − Δₖ₋₁) at the row's sorted position k when eᵢ > 0, else 0 "
        "(a subgradient; rows with equal error and label share their block's value)",
        use_when="binary segmentation trained for IoU directly, usually fine-tuning after BCE",
        pitfalls="not a mean over rows: per-image values need --group image_id (the reference's "
        "per_image=True averages those); every row's error is held in memory (O(rows)); "
        "scores are raw logits, not probabilities",
        activation="linear (raw score / logit); no sigmoid",
        differences="Berman et al. (2018), lovasz_hinge(per_image=False) of the authors' code agrees "
        "(the same sort and lovasz_grad); SMP LovaszLoss(mode='binary') is per_image=False by default.",
        properties="convex in the scores, piecewise linear, a tight surrogate of 1 − IoU",
    ),
)
class LovaszHinge(_Lovasz):
    """Lovász hinge: the Lovász extension of the Jaccard loss over hinge errors."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.target is None:
            raise InputError("lovasz_hinge needs a 0/1 (or ±1) mask target")
        s = batch.preds[0]
        if s.ndim != 1 or batch.target.shape != s.shape:
            raise InputError(
                "lovasz_hinge needs one target column and one score column",
                hint="for class labels and one score column per class use lovasz_softmax",
            )
        return batch.replace(target=plus_minus_one(batch.target, batch))

    def collect(self, batch, params):
        t, s = batch.target, batch.preds[0]
        parts = {"e": 1.0 - t * s, "fg": (t > 0).astype(np.int8)}
        if batch.weights is not None:
            parts["w"] = batch.weights
        return parts

    def _solve(self, sums):
        e = sums["e"].array()
        fg = sums["fg"].array().astype(np.float64)
        w = _weights(sums, len(e))
        hinge = np.maximum(e, 0.0)
        value, order, steps = lovasz_extension(hinge, fg, w)
        return value, (hinge, fg, w, order, steps)

    def compute(self, sums, params, reduction):
        return memo(sums, "lovasz", lambda: self._solve(sums))[0]

    def grad(self, batch, sums, params, reduction):
        shares = memo(
            sums, "shares", lambda: Shares(*memo(sums, "lovasz", lambda: self._solve(sums))[1])
        )
        t, s = batch.target, batch.preds[0]
        e = 1.0 - t * s
        g_e = shares.of(np.maximum(e, 0.0), (t > 0).astype(np.float64), batch.w())
        return (np.where(e > 0, -t * g_e, 0.0),)


@register_loss(
    "lovasz_softmax",
    inputs="multiclass",
    tasks=SEGMENTATION + ("multiclass",),
    logits=True,
    explain=Explain(
        formula="per class c: e_ic = |[yᵢ = c] − p_ic|, Jc = Σ_k e₍ₖ₎·(Δₖ − Δₖ₋₁) over errors sorted "
        "decreasingly; J = mean of Jc over the classes present in the targets ('present' classes); "
        "with --weight a row counts w times",
        gradient="∂J/∂p_ic = (1/C)·(Δₖ − Δₖ₋₁)·sign(p_ic − [yᵢ = c]) at the row's sorted position k in "
        "class c (C present classes; classes absent from the targets get 0); logits: through softmax",
        use_when="multi-class segmentation evaluated by mean IoU; fine-tuning after cross-entropy",
        pitfalls="J depends on which classes are present in the evaluated rows (per --group: per image); "
        "every row's K errors are held in memory (O(rows·K))",
        activation="softmax (or logits with --from-logits)",
        differences="Berman et al. (2018), lovasz_softmax(classes='present', per_image=False) of the "
        "authors' code agrees; SMP LovaszLoss(mode='multiclass') is the same.",
        properties="convex in the probabilities, piecewise linear",
    ),
)
class LovaszSoftmax(_Lovasz):
    """Lovász-softmax: the mean over present classes of the Lovász extension of 1 − IoU_c."""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        x, y = batch.preds[0], batch.target
        if y is not None and y.ndim == 2 and y.shape == x.shape and x.shape[1] >= 2:
            from losscli.kernel.validate import one_hot_labels

            y = one_hot_labels(y, batch, "lovasz_softmax")
            batch = batch.replace(target=y)
        if y is None or y.ndim != 1 or x.ndim != 2 or x.shape[1] < 2:
            raise InputError(
                "lovasz_softmax needs one class-label column and one column per class (K >= 2)",
                hint="for a binary mask and a score column use lovasz_hinge",
            )
        labels = integer_labels(y, x.shape[1], batch)
        if params["from_logits"]:
            p = softmax(x)
        else:
            require_probabilities(x, batch)
            require_rows_sum_to_one(x, batch)
            p = x
        return batch.replace(preds=(p,), aux={"labels": labels, "logits": params["from_logits"]})

    def _errors(self, batch):
        p, labels = batch.preds[0], batch.aux["labels"]
        fg = labels[:, None] == np.arange(p.shape[1])
        return np.abs(fg - p), fg

    def collect(self, batch, params):
        errors, _ = self._errors(batch)
        parts = {"e": errors, "label": batch.aux["labels"].astype(np.int32)}
        if batch.weights is not None:
            parts["w"] = batch.weights
        return parts

    def _solve(self, sums):
        errors = sums["e"].array()
        labels = sums["label"].array()
        w = _weights(sums, len(labels))
        out = []
        for c in range(errors.shape[1]):
            fg = (labels == c).astype(np.float64)
            if not np.sum(w * fg) > 0:  # absent class: skipped ('present')
                continue
            value, order, steps = lovasz_extension(errors[:, c], fg, w)
            out.append((c, value, (errors[:, c], fg, w, order, steps)))
        return out

    def compute(self, sums, params, reduction):
        classes = memo(sums, "lovasz", lambda: self._solve(sums))
        return float(np.mean([value for _, value, _ in classes]))

    def grad(self, batch, sums, params, reduction):
        classes = memo(
            sums,
            "shares",
            lambda: [
                (c, v, Shares(*data))
                for c, v, data in memo(sums, "lovasz", lambda: self._solve(sums))
            ],
        )
        errors, fg = self._errors(batch)
        p = batch.preds[0]
        g = np.zeros_like(p)
        for c, _, shares in classes:
            g_e = shares.of(errors[:, c], fg[:, c].astype(np.float64), batch.w())
            g[:, c] = g_e * np.sign(p[:, c] - fg[:, c]) / len(classes)
        return (softmax_backward(g, p) if batch.aux["logits"] else g,)
