"""The distinct values of an array, as ``numpy.unique`` gives them.

``numpy.unique(a)`` (no indices, no counts) first asks ``numpy.ma`` whether ``a`` is
masked, which imports ``numpy.ma``: about 10 ms, a tenth of a small file's whole
``eval``. Every plain "which values occur" in losscli goes through ``distinct`` instead.
"""

from __future__ import annotations

from typing import Any

from losscli._lazy import np


def distinct(values: Any) -> Any:
    """The sorted distinct values of ``values`` (flattened), NaNs (NaTs, complex values
    with a NaN part) as one, last: the array ``numpy.unique(values)`` returns for a plain
    array (a masked array's mask is not read). Sorted, then kept where each differs from
    the one before it."""
    s = np.sort(np.asarray(values).ravel())
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    if s.dtype.kind in "fcmM" and np.isnan(s[-1]):  # they sort last, each unequal to the next
        keep[int(np.searchsorted(np.isnan(s), True)) + 1 :] = False
    return s[keep]
