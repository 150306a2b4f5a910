"""kernel.distinct: the array numpy.unique returns (sorted, NaNs as one, last)."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.kernel.distinct import distinct

NAN = float("nan")


@pytest.mark.parametrize(
    "values",
    [
        np.array([], dtype=float),
        np.array([3.0]),
        np.array([NAN]),
        np.array([2.0, 1.0, 2.0, 1.0, 0.5]),
        np.array([NAN, 1.0, NAN, -np.inf, np.inf, 1.0, NAN]),
        np.array([0.0, -0.0, 0.0]),
        np.array([[4, 1], [4, 7]], dtype=np.int64),
        np.array([3, 3, 3], dtype=np.int8),
        np.array([True, False, True]),
        np.array(["b", "a", "b", ""]),
        np.array([1.0, NAN, 2.0], dtype=np.float32),
        np.array([1 + 1j, NAN + 0j, 1 + 1j]),
        np.array([1 + 0j, complex(1, NAN), complex(2, NAN), complex(NAN, 0), 1 + 0j]),
        np.array(["2020-01-01", "NaT", "2019-05-01", "NaT"], dtype="datetime64[D]"),
        np.array([5, -1, "NaT", 5, "NaT"], dtype="timedelta64[s]"),
    ],
    ids=lambda v: f"{v.dtype}-{v.size}",
)
def test_distinct_is_numpys_unique(values: np.ndarray) -> None:
    got, expected = distinct(values), np.unique(values)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    if values.dtype.kind in "mM":  # NaT == NaT is false
        assert got.astype("int64").tolist() == expected.astype("int64").tolist()
    else:
        assert np.array_equal(got, expected, equal_nan=values.dtype.kind in "fc")


def test_distinct_of_many_random_values() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 300, 20_000).astype(float)
    values[rng.random(values.size) < 0.01] = NAN
    assert np.array_equal(distinct(values), np.unique(values), equal_nan=True)
    codes = rng.integers(-5, 5, 1000)
    assert distinct(codes).tolist() == sorted(set(codes.tolist()))
