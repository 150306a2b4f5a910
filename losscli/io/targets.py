"""Targets kept in a second file (``--targets FILE2``), aligned by row order or ``--key``.

The targets file is read whole (its target and key columns only); the predictions
still stream. Row order needs equal row counts; a key join needs every key once
in each file, and says how many rows are unmatched or duplicated when not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from losscli._lazy import np
from losscli.errors import InputError
from losscli.io.batches import float_column, read_batches, text_column
from losscli.io.sources import Header, Source
from losscli.kernel.distinct import distinct


@dataclass
class TargetTable:
    """The target columns of a targets file, whole, and the alignment state."""

    source: Source
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    rows: int = 0
    key: str | None = None
    index: dict[str, int] = field(default_factory=dict)
    used: np.ndarray | None = None
    unmatched: int = 0
    first_unmatched: tuple[str, int] | None = None
    duplicated: int = 0
    consumed: int = 0

    @classmethod
    def load(
        cls, source: Source, header: Header, columns: Sequence[str], key: str | None
    ) -> TargetTable:
        table = cls(source, key=key)
        text = {c for c in columns if c in header.text_columns} | ({key} if key else set())
        wanted = list(dict.fromkeys([*columns, *([key] if key else [])]))
        numbers: dict[str, list] = {c: [] for c in wanted if c not in text}
        codes: dict[str, list] = {c: [] for c in text}
        cats: dict[str, dict[str, int]] = {c: {} for c in text}
        for rb in read_batches(source, header, wanted, text):
            for c in numbers:
                values, nulls = float_column(rb.column(c))
                if nulls is not None and nulls.any():
                    row = table.rows + int(np.argmax(nulls))
                    raise InputError(f"{source.name}: column {c!r}, row {row}: empty target cell")
                numbers[c].append(values.copy())
            for c in codes:
                local, names, _ = text_column(rb.column(c))
                remap = np.array(
                    [cats[c].setdefault(n, len(cats[c])) for n in names], dtype=np.int32
                )
                codes[c].append(remap[local] if len(names) else local)
            table.rows += rb.num_rows
        if table.rows == 0:
            raise InputError(f"{source.name}: the targets file has no rows")
        table.numbers = {c: np.concatenate(v) for c, v in numbers.items()}
        table.texts = {c: (np.concatenate(codes[c]), list(cats[c])) for c in codes}
        if key:
            table._index_keys()
        return table

    def _index_keys(self) -> None:
        codes, names = self.texts[self.key]
        counts = np.bincount(codes, minlength=len(names))
        dupes = int(np.sum(counts[counts > 1]))
        if dupes:
            first = names[int(np.argmax(counts > 1))]
            raise InputError(
                f"{self.source.name}: {dupes} rows share a --key value with another row (first {first!r})",
                hint="each key must appear once in the targets file",
            )
        rows = np.empty(len(names), dtype=np.int64)
        rows[codes] = np.arange(len(codes))
        self.index = {name: int(rows[i]) for i, name in enumerate(names)}
        self.used = np.zeros(self.rows, dtype=bool)

    def reset(self) -> None:
        """Start the alignment again for another pass."""
        self.consumed = self.unmatched = self.duplicated = 0
        self.first_unmatched = None
        if self.used is not None:
            self.used[:] = False

    def align(
        self, n: int, row_numbers: np.ndarray, keys: tuple[np.ndarray, list[str]] | None
    ) -> np.ndarray:
        """Target row positions for a prediction batch of ``n`` rows (−1 where unmatched)."""
        if self.key is None:
            start = self.consumed
            self.consumed += n
            return np.arange(start, start + n)
        codes, names = keys
        lookup = np.array([self.index.get(name, -1) for name in names], dtype=np.int64)
        positions = lookup[codes] if len(names) else np.full(n, -1)
        missing = positions < 0
        if missing.any():
            self.unmatched += int(missing.sum())
            if self.first_unmatched is None:
                i = int(np.argmax(missing))
                self.first_unmatched = (names[codes[i]], int(row_numbers[i]))
        found = positions[~missing]
        seen = self.used[found]
        self.duplicated += int(seen.sum()) + int(len(found) - len(distinct(found)))
        self.used[found] = True
        return positions

    def take(
        self, positions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, list[str]]]]:
        safe = np.clip(positions, 0, self.rows - 1)
        numbers = {c: v[safe] for c, v in self.numbers.items() if c != self.key}
        texts = {c: (v[safe], names) for c, (v, names) in self.texts.items() if c != self.key}
        return numbers, texts

    def finish(self, predictions: Source, prediction_rows: int) -> None:
        """Raise when the files did not line up."""
        if self.key is None:
            if prediction_rows != self.rows:
                raise InputError(
                    f"{self.source.name} has {self.rows} rows but {predictions.name} has {prediction_rows}",
                    hint="row-order alignment needs equal row counts; join on a column with --key COL",
                )
            return
        if self.unmatched:
            key, row = self.first_unmatched
            raise InputError(
                f"{predictions.name}: {self.unmatched} row(s) have no --key match in {self.source.name} "
                f"(first {self.key}={key!r} at row {row})",
                hint="every prediction row needs a target row with the same key",
            )
        if self.duplicated:
            raise InputError(
                f"{predictions.name}: {self.duplicated} row(s) repeat a --key value",
                hint="each key must appear once in the predictions file",
            )
        missing = int(self.rows - self.used.sum())
        if missing:
            raise InputError(
                f"{self.source.name}: {missing} target row(s) have no prediction in {predictions.name}",
                hint="both files must hold the same keys",
            )
