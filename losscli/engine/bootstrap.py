"""A streaming bootstrap over rows: percentile intervals from partial sums.

Rows are dealt into ``UNITS`` resampling units by their row number (row i → unit
i mod UNITS; with ``--key``, by a hash of the key, so both files of a pair agree).
One pass keeps each unit's partial sums, so memory is UNITS × (size of the sums)
whatever the file size. A replicate draws U units with replacement among the U
units that hold rows (``rng.integers(0, U, size=(B, U))`` with
``numpy.random.default_rng(seed)``), adds their sums and computes J from them,
so ratio losses (rmse, Dice, weighted means) are resampled exactly as they are
computed. With at most UNITS rows every unit is one row and this is the
classic row bootstrap; beyond, units are random-like clusters of rows, whose
resampling has the same variance for independent rows.

For a comparison, baseline and candidate share the units and the draws: the
interval of the difference is paired.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.errors import LossCliError, UsageError
from losscli.kernel.streaming import PartialSums, map_leaves

UNITS = 4096
#: replicates drawn and computed at a time: memory of REPLICATE_BLOCK × UNITS counts,
#: whatever --bootstrap is (the draws are those of one (replicates, units) draw)
REPLICATE_BLOCK = 256
#: the most replicates --bootstrap takes (each is a computation of J: a million take
#: tens of seconds per loss)
MAX_REPLICATES = 1_000_000


def check_settings(replicates: Any, confidence: Any, seed: Any) -> None:
    """The bootstrap's options, refused as usage errors (eval, compare, report, the API)."""
    whole = isinstance(replicates, int) and not isinstance(replicates, bool)
    if not whole or not 0 <= replicates <= MAX_REPLICATES:
        raise UsageError(
            f"--bootstrap {replicates!r}: give 0 (no intervals) or a number of replicates "
            f"up to {MAX_REPLICATES:,} (1000 is usual)"
        )
    if not isinstance(confidence, int | float) or not 0.0 < confidence < 1.0:
        raise UsageError(f"--confidence {confidence!r}: must be in (0, 1), e.g. 0.95")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"--seed {seed!r}: must be a whole number, 0 or more")
    if seed < 0:
        raise UsageError(f"--seed {seed}: must be 0 or more")


def units_of_rows(rows: np.ndarray) -> np.ndarray:
    """The resampling unit of each input row number."""
    return (rows % UNITS).astype(np.intp)


def units_of_keys(keys: np.ndarray) -> np.ndarray:
    """The resampling unit of each key (the same key gives the same unit in every file)."""
    return (hash_keys(keys) % np.uint64(UNITS)).astype(np.intp)


def hash_keys(keys: np.ndarray) -> np.ndarray:
    """A deterministic 64-bit hash per key (numbers by value, text by its UTF-8 bytes)."""
    if keys.dtype.kind in "fiub":
        values = np.asarray(keys, dtype=np.float64)
        values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 are one key
        return _splitmix64(values.view(np.uint64))
    import zlib

    out = np.fromiter(
        (zlib.crc32(str(k).encode()) | (zlib.adler32(str(k).encode()) << 32) for k in keys),
        dtype=np.uint64,
        count=len(keys),
    )
    return _splitmix64(out)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass
class UnitSums:
    """Per-unit partial sums of one objective over the rows seen so far."""

    sums: PartialSums = field(default_factory=PartialSums)
    rows: Any = None  # rows per unit

    def add(self, grouped: PartialSums, units: np.ndarray) -> None:
        self.sums = self.sums.merge(grouped)
        counts = np.bincount(units, minlength=UNITS)
        self.rows = counts if self.rows is None else self.rows + counts

    def merge(self, other: UnitSums) -> UnitSums:
        """The per-unit sums of both row sets (of two partitions)."""
        if other.rows is None:
            return self
        if self.rows is None:
            return other
        return UnitSums(self.sums.merge(other.sums), self.rows + other.rows)

    def occupied(self) -> np.ndarray:
        """The units that hold rows, in unit order."""
        return np.flatnonzero(self.rows) if self.rows is not None else np.empty(0, np.intp)


def draws(occupied: int, replicates: int, seed: int | None) -> Iterator[np.ndarray]:
    """Resampling counts, how often each unit is drawn, in blocks of at most
    ``REPLICATE_BLOCK`` replicates (shape (block, occupied)), from one generator: the
    same numbers as ``draw``'s one array."""
    rng = np.random.default_rng(seed)
    for start in range(0, replicates, REPLICATE_BLOCK):
        block = min(REPLICATE_BLOCK, replicates - start)
        idx = rng.integers(0, occupied, size=(block, occupied))
        offsets = (np.arange(block) * occupied)[:, None]
        flat = np.bincount((idx + offsets).ravel(), minlength=block * occupied)
        yield flat.reshape(block, occupied)


def draw(occupied: int, replicates: int, seed: int | None) -> np.ndarray:
    """Resampling counts, shape (replicates, occupied): how often each unit is drawn."""
    blocks = list(draws(occupied, replicates, seed))
    return np.concatenate(blocks) if blocks else np.zeros((0, occupied), np.intp)


def replicates_of(
    compute: Callable[[Mapping[str, Any]], float],
    unit_sums: Sequence[PartialSums],
    occupied: np.ndarray,
    replicates: int,
    seed: int | None,
) -> list[np.ndarray]:
    """J of every replicate for each of ``unit_sums`` (a file's, or a pair's two, which
    share the draws), computed block by block (``draws``)."""
    out: list[list[np.ndarray]] = [[] for _ in unit_sums]
    for counts in draws(len(occupied), replicates, seed):
        for values, sums in zip(out, unit_sums):
            values.append(replicate_values(compute, sums, occupied, counts))
    return [np.concatenate(v) if v else np.empty(0) for v in out]


class _Drawn:
    """A collected leaf (the values a metric keeps, e.g. roc_auc's scores) resampled one
    replicate at a time, when that replicate is computed: the replicates' copies are never
    all held at once (that would be replicates × rows)."""

    def __init__(self, leaf: np.ndarray, counts: np.ndarray) -> None:
        self.leaf, self.counts = leaf, counts
        kinds = {type(x) for x in leaf if not isinstance(x, int)}
        resampler = getattr(kinds.pop(), "resampler", None) if len(kinds) == 1 else None
        self.draw = resampler(leaf) if resampler is not None else None

    def __call__(self, b: int) -> Any:
        """Replicate b's leaf: each drawn unit's values, repeated as often as it is drawn
        (at once when the leaf type has a resampler; else summed from 0, which every leaf
        absorbs)."""
        row = self.counts[b]
        if self.draw is not None:
            return self.draw(row)
        return sum((self.leaf[u] for u in np.repeat(np.arange(len(row)), row)), 0)


def replicate_values(
    compute: Callable[[Mapping[str, Any]], float],
    unit_sums: PartialSums,
    occupied: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """J of every replicate: the drawn units' sums added, then computed as usual."""
    weights = counts.astype(np.float64)

    def resample(leaf: np.ndarray) -> Any:
        leaf = np.asarray(leaf)[occupied]
        if leaf.dtype == object:  # Collected values or another mergeable statistic
            return _Drawn(leaf, counts)
        flat = leaf.reshape(leaf.shape[0], -1).astype(np.float64)
        return (weights @ flat).reshape(weights.shape[0], *leaf.shape[1:])

    stacked = map_leaves(unit_sums, resample)
    values = np.empty(counts.shape[0])
    for b in range(counts.shape[0]):
        replicate = map_leaves(
            stacked, lambda leaf, b=b: leaf(b) if isinstance(leaf, _Drawn) else leaf[b]
        )
        try:
            values[b] = compute(replicate)
        except LossCliError:  # e.g. a replicate whose weights sum to 0
            values[b] = np.nan
    return values


def interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile interval: the (1−c)/2 and (1+c)/2 quantiles of the replicates."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return float("nan"), float("nan")
    lo, hi = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)
