"""Scoring a file for ``compare``: every loss's sums overall, per group and per resampling
unit, with the fingerprints (target checksums, key hashes) that prove two files hold the
same rows. Partitions' scores merge, so the Dask backend scores a dataset the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.engine import bootstrap
from losscli.engine.passes import Reading, _group_slices, build_batch, frames, located
from losscli.errors import InputError
from losscli.io.sources import Source
from losscli.kernel.streaming import PartialSums


@dataclass
class Tally:
    """One loss on one file: overall and per-group sums, per-unit sums for the bootstrap."""

    overall: PartialSums = field(default_factory=PartialSums)
    n: int = 0
    units: bootstrap.UnitSums = field(default_factory=bootstrap.UnitSums)
    groups: dict[str, PartialSums] = field(default_factory=dict)
    group_n: dict[str, int] = field(default_factory=dict)
    group_units: dict[str, bootstrap.UnitSums] = field(default_factory=dict)

    def merge(self, other: Tally) -> Tally:
        """The tally of both row sets (of two partitions), groups matched by name."""
        out = Tally(
            self.overall.merge(other.overall), self.n + other.n, self.units.merge(other.units)
        )
        for name in [*self.groups, *(g for g in other.groups if g not in self.groups)]:
            out.groups[name] = self.groups.get(name, PartialSums()).merge(
                other.groups.get(name, PartialSums())
            )
            out.group_n[name] = self.group_n.get(name, 0) + other.group_n.get(name, 0)
        for name in [*self.group_units, *other.group_units]:
            if name not in out.group_units:
                mine = self.group_units.get(name, bootstrap.UnitSums())
                out.group_units[name] = mine.merge(
                    other.group_units.get(name, bootstrap.UnitSums())
                )
        return out


@dataclass
class Scored:
    """One file after its pass: the tallies of every loss, and row fingerprints."""

    source: Source
    rows: int
    dropped: int
    tallies: list[Tally]
    checksum: Any  # per-unit Σ target and Σ target², to prove the targets are the same
    keys: Any = None  # 64-bit key hashes (with --key), to count unmatched and duplicate keys

    @property
    def path(self) -> str:
        return self.source.name

    def merge(self, other: Scored) -> Scored:
        """One file's score from the scores of its partitions (``other`` after ``self``)."""
        keys = [k for k in (self.keys, other.keys) if k is not None]
        return Scored(
            self.source,
            self.rows + other.rows,
            self.dropped + other.dropped,
            [a.merge(b) for a, b in zip(self.tallies, other.tallies)],
            self.checksum + other.checksum,
            np.concatenate(keys) if keys else None,
        )


def _unit_codes(frame: Any, key: str | None) -> np.ndarray:
    if key is None:
        return bootstrap.units_of_rows(frame.rows)
    codes, cats = frame.texts[key]
    return bootstrap.units_of_keys(np.asarray(cats, dtype=object))[codes]


def _key_hashes(frame: Any, key: str) -> np.ndarray:
    codes, cats = frame.texts[key]
    return bootstrap.hash_keys(np.asarray(cats, dtype=object))[codes]


def score(reading: Reading, *, key: str | None, group: str | None, resample: bool) -> Scored:
    """One pass over a file: every loss's sums overall, per group and per resampling unit."""
    source, selected = reading.source, reading.selected
    tallies = [Tally() for _ in selected]
    stats: dict[str, int] = {}
    checksum = np.zeros((bootstrap.UNITS, 2))
    hashes = []
    size = bootstrap.UNITS
    for frame in frames(reading, stats):
        units = _unit_codes(frame, key)
        if key is not None:
            hashes.append(_key_hashes(frame, key))
        target_done = False
        slices = _group_slices(frame, group) if group else []
        for sel, tally in zip(selected, tallies):
            batch = build_batch(frame, sel, source.name)
            if not target_done and batch.target is not None:
                t = np.asarray(batch.target, dtype=np.float64)
                t = t.reshape(len(t), -1).sum(axis=1)
                checksum[:, 0] += np.bincount(units, weights=t, minlength=size)
                checksum[:, 1] += np.bincount(units, weights=t * t, minlength=size)
                target_done = True
            try:
                tally.overall = tally.overall.merge(sel.objective.update(batch))
                tally.n += len(batch)
                if resample:
                    tally.units.add(sel.objective.update_grouped(batch, units, size), units)
                for name, idx in slices:
                    part = batch.take(idx)
                    tally.groups[name] = tally.groups.get(name, PartialSums()).merge(
                        sel.objective.update(part)
                    )
                    tally.group_n[name] = tally.group_n.get(name, 0) + len(idx)
                    if resample:
                        sub = units[idx]
                        tally.group_units.setdefault(name, bootstrap.UnitSums()).add(
                            sel.objective.update_grouped(part, sub, size), sub
                        )
            except InputError as exc:
                raise located(exc, sel, source) from None
    keys = np.concatenate(hashes) if hashes else None
    return Scored(source, stats.get("rows", 0), stats.get("dropped", 0), tallies, checksum, keys)
