"""Scoring a file for ``compare``: every loss's sums overall, per group and per resampling
unit, with the fingerprints (target checksums, key hashes) that prove two files hold the
same rows. Partitions' scores merge, so the Dask backend scores a dataset the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from losscli._lazy import np
from losscli.engine import bootstrap
from losscli.engine.passes import Frame, Reading, Selected, each_batch, group_slices
from losscli.io.sources import Source
from losscli.kernel.streaming import Batch, PartialSums


@dataclass
class Tally:
    """One loss on one file: overall and per-group sums, per-unit sums for the bootstrap."""

    overall: PartialSums = field(default_factory=PartialSums)
    n: int = 0
    units: bootstrap.UnitSums = field(default_factory=bootstrap.UnitSums)
    groups: dict[str, PartialSums] = field(default_factory=dict)
    group_n: dict[str, int] = field(default_factory=dict)
    group_units: dict[str, bootstrap.UnitSums] = field(default_factory=dict)

    def add(self, sel: Selected, batch: Batch, frame: Frame, rows: FrameScore) -> None:
        """Add one batch of ``sel``: overall, per group, and per unit when resampling."""
        rows.add_checksum(batch)
        obj, units, size = sel.objective, rows.units, bootstrap.UNITS
        self.overall = self.overall.merge(obj.update(batch))
        self.n += len(batch)
        if rows.resample:
            self.units.add(obj.update_grouped(batch, units, size), units)
        for name, idx in rows.slices:
            part = batch.take(idx)
            self.groups[name] = self.groups.get(name, PartialSums()).merge(obj.update(part))
            self.group_n[name] = self.group_n.get(name, 0) + len(idx)
            if rows.resample:
                sub = units[idx]
                self.group_units.setdefault(name, bootstrap.UnitSums()).add(
                    obj.update_grouped(part, sub, size), sub
                )

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


@dataclass
class Fingerprints:
    """What a pass over one file learns besides the losses' sums: the per-unit target
    checksum and the key hashes; ``frame`` makes each frame's ``FrameScore``."""

    key: str | None
    group: tuple[str, ...]  # the group columns (none: no groups)
    resample: bool
    checksum: Any = field(default_factory=lambda: np.zeros((bootstrap.UNITS, 2)))
    hashes: list[Any] = field(default_factory=list)

    def frame(self, frame: Frame) -> FrameScore:
        units = _unit_codes(frame, self.key)
        if self.key is not None:
            self.hashes.append(key_hashes(frame, self.key))
        slices = group_slices(frame, self.group) if self.group else []
        return FrameScore(self, units, slices, self.resample)


@dataclass
class FrameScore:
    """One frame as every loss's tally sees it: its resampling units and group slices."""

    fingerprints: Fingerprints
    units: Any
    slices: list[tuple[str, Any]]
    resample: bool
    target_done: bool = False

    def add_checksum(self, batch: Batch) -> None:
        """Add the frame's targets to the checksum, from the first loss that reads them."""
        if self.target_done or batch.target is None:
            return
        size, checksum = bootstrap.UNITS, self.fingerprints.checksum
        t = np.asarray(batch.target, dtype=np.float64)
        t = t.reshape(len(t), -1).sum(axis=1)
        checksum[:, 0] += np.bincount(self.units, weights=t, minlength=size)
        checksum[:, 1] += np.bincount(self.units, weights=t * t, minlength=size)
        self.target_done = True


def _unit_codes(frame: Any, key: str | None) -> np.ndarray:
    if key is None:
        return bootstrap.units_of_rows(frame.rows)
    codes, cats = frame.texts[key]
    return bootstrap.units_of_keys(np.asarray(cats, dtype=object))[codes]


def key_hashes(frame: Any, key: str) -> np.ndarray:
    codes, cats = frame.texts[key]
    return bootstrap.hash_keys(np.asarray(cats, dtype=object))[codes]


def score(reading: Reading, *, key: str | None, group: tuple[str, ...], resample: bool) -> Scored:
    """One pass over a file: every loss's sums overall, per group and per resampling unit."""
    tallies = [Tally() for _ in reading.selected]
    found = Fingerprints(key, group, resample)
    stats: dict[str, int] = {}
    each_batch(reading, stats, [(tally.add,) for tally in tallies], found.frame)
    keys = np.concatenate(found.hashes) if found.hashes else None
    rows, dropped = stats.get("rows", 0), stats.get("dropped", 0)
    return Scored(reading.source, rows, dropped, tallies, found.checksum, keys)
