r"""Robust reductions: J = the median, the maximum or the 95th percentile of the Lᵢ.

``--reduction median|max|p95`` summarises the per-row losses Lᵢ of any loss that has
them (every loss with ``--reduction none``) by a quantile instead of a mean:

    J = s₍ₗₒ₎ + f·(s₍ₕᵢ₎ − s₍ₗₒ₎),  h = (n − 1)·q, lo = ⌊h⌋, hi = ⌈h⌉, f = h − lo,

s the Lᵢ sorted ascending and q = 0.5 (median), 0.95 (p95) or 1 (max). This is the
linear interpolation of ``numpy.quantile``'s default method and of ``torch.quantile``.

The gradient is what autograd gives for ``torch.quantile``/``torch.amax`` of the Lᵢ:
∂J/∂Lᵢ = 1 − f for the row at s₍ₗₒ₎ and f for the row at s₍ₕᵢ₎, 0 for every other
row, times ∂Lᵢ/∂ŷᵢ. Rows whose Lᵢ tie share the weight of their value evenly
(torch.amax does that for the maximum; for a quantile it is the average of the
gradients over the orders of the tied rows, each of which autograd could return).

Sample weights are refused: a weighted quantile has several conventions (inverted
CDF, interpolated) and none reduces to the unweighted one above, so the number would
not mean what the name says. Rows that ``ignore_index`` skips leave the statistic.
Every Lᵢ is kept until the end (``Collected``): memory grows by 8 bytes per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losscli._lazy import np
from losscli.errors import InputError, UsageError
from losscli.kernel.streaming import (
    ROW_STATISTICS,
    Batch,
    Collected,
    Kernel,
    Params,
    PartialSums,
    collect_grouped,
    memo,
)

QUANTILE_OF = {"median": 0.5, "p95": 0.95, "max": 1.0}
assert set(QUANTILE_OF) == set(ROW_STATISTICS)


def weights_refused(reduction: str) -> UsageError:
    return UsageError(
        f"--reduction {reduction} takes no sample weights (--weight)",
        hint="a weighted quantile has no single convention; drop --weight, or reduce with mean or sum",
    )


def interpolation(n: int, q: float) -> tuple[int, int, float]:
    """(lo, hi, f) of the linearly interpolated q-quantile of n sorted values."""
    h = (n - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    return lo, hi, float(h - lo)


def quantile(values: np.ndarray, q: float) -> float:
    """s₍ₗₒ₎ + f·(s₍ₕᵢ₎ − s₍ₗₒ₎): numpy.quantile(values, q) with method='linear'."""
    lo, hi, f = interpolation(len(values), q)
    s = np.partition(values, (lo, hi))
    return float(s[lo] + f * (s[hi] - s[lo]))


def quantile_weights(values: np.ndarray, q: float) -> dict[float, float]:
    """{v: ∂J/∂Lᵢ for a row whose Lᵢ = v} for the (at most two) values the quantile
    interpolates; every other row gets 0. Rows tied at v share its weight evenly."""
    lo, hi, f = interpolation(len(values), q)
    s = np.partition(values, (lo, hi))
    shares: dict[float, float] = {}
    for position, share in ((lo, 1.0 - f), (hi, f)):
        if share:
            v = float(s[position])
            shares[v] = shares.get(v, 0.0) + share
    return {v: share / np.count_nonzero(values == v) for v, share in shares.items()}


class RowStatistic(Kernel):
    """A loss with per-row values, reduced by the median, the maximum or p95 of its Lᵢ."""

    def __init__(self, inner: Kernel, reduction: str) -> None:
        self.inner = inner
        self.reduction = reduction
        self.q = QUANTILE_OF[reduction]
        self.reductions = (reduction,)

    def prepare(self, batch: Batch, params: Params) -> Batch:
        if batch.weights is not None:
            raise weights_refused(self.reduction)
        return self.inner.prepare(batch, params)

    def _kept(self, batch: Batch, params: Params) -> tuple[np.ndarray, np.ndarray | None]:
        """The Lᵢ of the rows that count, and which rows those are (None: all)."""
        values = self.inner.rows(batch, params)
        valid = getattr(self.inner, "valid", None)
        mask = valid(batch, params) if valid is not None else batch.mask
        return (values, None) if mask is None else (values[mask], mask)

    def update(self, batch: Batch, params: Params) -> PartialSums:
        values, _ = self._kept(batch, params)
        return PartialSums(values=Collected(values), n=len(values))

    def update_grouped(
        self, batch: Batch, params: Params, codes: np.ndarray, size: int
    ) -> PartialSums:
        values, mask = self._kept(batch, params)
        codes = codes if mask is None else codes[mask]
        return PartialSums(
            values=collect_grouped(values, codes, size),
            n=np.bincount(codes, minlength=size).astype(np.int64),
        )

    def _values(self, sums: Mapping[str, Any]) -> np.ndarray:
        values = sums["values"].array()
        if not len(values):
            raise InputError(
                f"no rows count towards the {self.reduction}: every row is ignored (ignore_index)"
            )
        return values

    def compute(self, sums: Mapping[str, Any], params: Params, reduction: str) -> float:
        values = self._values(sums)
        return memo(sums, f"quantile{self.q}", lambda: quantile(values, self.q))

    def rows(self, batch: Batch, params: Params) -> np.ndarray:
        return self.inner.rows(batch, params)

    def grad(
        self, batch: Batch, sums: Mapping[str, Any], params: Params, reduction: str
    ) -> tuple[np.ndarray, ...]:
        """∂J/∂input = (∂J/∂Lᵢ)·(∂Lᵢ/∂input); ∂Lᵢ/∂input is the kernel's ``none`` gradient."""
        shares = memo(
            sums, f"weights{self.q}", lambda: quantile_weights(self._values(sums), self.q)
        )
        values, mask = self._kept(batch, params)
        per_row = np.zeros(len(values))
        for v, share in shares.items():
            per_row[values == v] = share
        if mask is not None:
            full = np.zeros(len(batch))
            full[mask] = per_row
            per_row = full
        out = []
        for g in self.inner.grad(batch, PartialSums(), params, "none"):
            out.append(g * (per_row[:, None] if g.ndim == 2 else per_row))
        return tuple(out)
