"""Weighted quantiles by the inverted CDF, the definitions scikit-learn uses.

With the rows sorted by value and C_j the cumulative weight of the first j + 1 of
them (W = C_{n−1}), the q-quantile for a target t = q·W is the value x_(j) at the
first j with C_j ≥ t (``inverted_cdf``). ``average=True`` is scikit-learn's
``averaged_inverted_cdf`` (its ``_weighted_percentile(..., average=True)``, the null
model of ``d2_pinball_score``): when t falls on C_j (within float64 eps) the result
is the mean of x_(j) and the next value with positive weight; with unit weights this
is the median for q = ½, as ``np.median``.
"""

from __future__ import annotations

from losscli._lazy import np


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float, *, average: bool) -> float:
    """The weighted ``q``-quantile of ``values`` (1-D) by the (averaged) inverted CDF."""
    order = np.argsort(values, kind="stable")
    x = values[order]
    w = weights[order]
    cdf = np.cumsum(w)
    target = (q * 100.0) / 100.0 * cdf[-1]  # sklearn's percentile_rank / 100 * W
    last = len(x) - 1
    j = min(int(np.searchsorted(cdf, target, side="left")), last)
    if not average or cdf[j] - target > np.finfo(np.float64).eps:
        return float(x[j])
    nxt = min(j + 1, last)
    if w[nxt] == 0:  # skip rows of zero weight: the next value that carries weight
        nxt = int(np.searchsorted(cdf, cdf[j], side="right"))
        nxt = j if nxt > last else nxt
    return float((x[j] + x[nxt]) / 2.0)


def mass_edges(values: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """The k/B quantiles (k = 1 … B − 1) by the inverted CDF, as
    ``np.quantile(values, k/B, weights=weights, method="inverted_cdf")``: the first
    sorted value whose normalised cumulative weight C_j/W reaches k/B.

    They are the inner edges of B bins holding about 1/B of the weight each. Edges
    are data values, so equal values are never split between bins (with ties some
    bins hold more, others nothing)."""
    order = np.argsort(values, kind="stable")
    x = values[order]
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    cdf[cdf == 0] = -1  # leading rows of zero weight are never a quantile
    j = np.minimum(np.searchsorted(cdf, np.arange(1, bins) / bins, side="left"), len(x) - 1)
    return x[j]
