"""Per-group sums for kernels whose statistics are sums over rows (bincount by group code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from losscli._lazy import np
from losscli.kernel.streaming import Batch, PartialSums, take_group


def group_sum(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Σ of ``values`` (shape (n,) or (n, m)) per group code: shape (size,) or (size, m)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    return np.stack(
        [np.bincount(codes, weights=values[:, j], minlength=size) for j in range(values.shape[1])],
        axis=1,
    ).reshape(size, *values.shape[1:])


def objects(make: Callable[[int], Any], size: int) -> np.ndarray:
    """An object array of ``make(g)`` for g = 0 … size − 1 (one statistic per group)."""
    out = np.empty(size, dtype=object)
    for g in range(size):
        out[g] = make(g)
    return out


def ungrouped(
    update_grouped: Callable[[Batch, Any, np.ndarray, int], PartialSums], batch: Batch, params: Any
) -> PartialSums:
    """``update`` as the one group of a grouped update."""
    codes = np.zeros(len(batch), dtype=np.intp)
    return take_group(update_grouped(batch, params, codes, 1), 0)
