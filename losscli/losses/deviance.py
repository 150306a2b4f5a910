r"""The Tweedie unit deviance and a mergeable "deviance about the mean" statistic.

D² for the Tweedie deviance needs the deviance of the null model that predicts the
weighted mean ȳ: D₀ = Σ wᵢ d(yᵢ, ȳ). ȳ is only known after the last row, yet D₀ can
still be streamed exactly. The Tweedie unit deviance is twice a Bregman divergence,

.. math::

    d(y, μ) = 2[φ(y) − φ(μ) − φ'(μ)(y − μ)],  φ(t) = t₊^{2−p} / ((1−p)(2−p))

(p = 1: φ = t log t − t; p = 2: φ = −log t; p = 0: φ = t²/2), and Bregman divergences
obey the law of total variance: for a part A of the rows with weight W_A and mean μ_A,

.. math::

    Σ_{i∈A} wᵢ d(yᵢ, μ) = Σ_{i∈A} wᵢ d(yᵢ, μ_A) + W_A d(μ_A, μ).

So each batch keeps (W, μ_B, D_B = Σ w d(y, μ_B)), computed row by row as scikit-learn
computes it, and two parts merge like Chan's parallel variance (p = 0 is exactly
Chan's formula): no catastrophic cancellation, memory independent of the rows.
"""

from __future__ import annotations

from typing import Any

from losscli._lazy import np


def tweedie_unit_deviance(y: np.ndarray, mu: np.ndarray, power: float) -> np.ndarray:
    """d_p(y, μ), scikit-learn's ``mean_tweedie_deviance`` per row; 0 where y = μ.

    p = 0: (y − μ)²; p = 1: 2(y log(y/μ) − y + μ); p = 2: 2(log(μ/y) + y/μ − 1);
    else 2(y₊^{2−p}/((1−p)(2−p)) − y μ^{1−p}/(1−p) + μ^{2−p}/(2−p)).

    For y, μ > 0 it is evaluated in r = (y − μ)/μ, e.g. p = 1: 2μ((1 + r) log1p(r) − r),
    else 2μ^{2−p}(expm1((2−p) log1p(r)) − (2−p) r)/((1−p)(2−p)), whose rounding error is
    relative to |y − μ| instead of to y: merging the means of large parts stays exact
    when they differ in the last digits. For p < 0 a non-positive μ (possible for a
    part's mean, never for a valid prediction) uses the Bregman form with φ = φ' = 0 below 0.
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    p = power
    if p == 0:
        return (y - mu) ** 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inside = (y > 0) & (mu > 0)
        b = np.where(inside, mu, 1.0)
        r = (np.where(inside, y, 1.0) - b) / b
        log1p = np.log1p(r)
        if p == 1:
            near = 2.0 * b * ((1.0 + r) * log1p - r)
            ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
            far = 2.0 * (ylogy - y + mu)
        elif p == 2:
            near = 2.0 * (r - log1p)
            far = 2.0 * (np.log(mu / y) + y / mu - 1.0)
        else:
            c = 2.0 - p
            near = 2.0 * b**c * (np.expm1(c * log1p) - c * r) / ((1.0 - p) * c)
            m = np.maximum(mu, 0.0)
            far = 2.0 * (
                np.maximum(y, 0.0) ** c / ((1.0 - p) * c)
                - y * m ** (1.0 - p) / (1.0 - p)
                + m**c / c
            )
            if p < 0:  # φ(μ) = φ'(μ) = 0 for μ ≤ 0
                far = np.where(mu > 0, far, 2.0 * np.maximum(y, 0.0) ** c / ((1.0 - p) * c))
        dev = np.where(inside, near, far)
    return np.where(y == mu, 0.0, dev)


class MeanDeviance:
    """Σw, the weighted mean μ and D = Σ w d_p(y, μ) of a set of rows; ``+`` merges.

    ``mean`` and ``dev`` are scalars or arrays (one entry per target column). A leaf
    of ``PartialSums``: adding 0 (an empty group's slot) leaves it unchanged.
    """

    __slots__ = ("weight", "mean", "dev", "power")

    def __init__(self, weight: float, mean: Any, dev: Any, power: float) -> None:
        self.weight = float(weight)
        self.mean = mean
        self.dev = dev
        self.power = power

    @classmethod
    def of(cls, y: np.ndarray, w: np.ndarray, power: float) -> MeanDeviance:
        """The statistic of rows ``y`` (shape (n,) or (n, m)) with weights ``w``."""
        total = float(np.sum(w))
        if total <= 0:
            zero = np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
            return cls(0.0, zero, zero, power)
        ww = w if y.ndim == 1 else w[:, None]
        mean = np.sum(ww * y, axis=0) / total
        dev = np.sum(ww * tweedie_unit_deviance(y, mean, power), axis=0)
        return cls(total, mean, dev, power)

    def __add__(self, other: Any) -> MeanDeviance:
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not isinstance(other, MeanDeviance):
            return NotImplemented
        if other.weight == 0:
            return self
        if self.weight == 0:
            return other
        total = self.weight + other.weight
        # μ = μ_a + (W_b/W)(μ_b − μ_a): the shift form keeps μ within [μ_a, μ_b]
        mean = self.mean + (other.weight / total) * (other.mean - self.mean)
        dev = (
            self.dev
            + other.dev
            + self.weight * tweedie_unit_deviance(self.mean, mean, self.power)
            + other.weight * tweedie_unit_deviance(other.mean, mean, self.power)
        )
        return MeanDeviance(total, mean, dev, self.power)

    def __radd__(self, other: Any) -> MeanDeviance:
        if isinstance(other, (int, float)) and other == 0:
            return self
        return NotImplemented

    @staticmethod
    def resampler(parts: np.ndarray) -> Any:
        """``draw(counts)``: the merge of ``parts`` (an object array of MeanDeviance, 0 for
        none) with part u taken counts[u] times, computed at once by the same identity:
        W = Σ c_u W_u, μ = Σ c_u W_u μ_u / W, D = Σ c_u (D_u + W_u d(μ_u, μ))."""
        index = [i for i, x in enumerate(parts) if isinstance(x, MeanDeviance) and x.weight > 0]
        kept = [parts[i] for i in index]
        power = kept[0].power if kept else 0.0
        weight = np.array([x.weight for x in kept])
        means = np.array([np.asarray(x.mean, dtype=np.float64) for x in kept])
        devs = np.array([np.asarray(x.dev, dtype=np.float64) for x in kept])
        shape = (-1,) + (1,) * (means.ndim - 1)

        def draw(counts: np.ndarray) -> MeanDeviance:
            c = np.asarray(counts, dtype=np.float64)[index]
            cw = c * weight
            total = float(np.sum(cw))
            if not kept or total <= 0:
                zero = np.zeros(means.shape[1:]) if means.ndim > 1 else 0.0
                return MeanDeviance(0.0, zero, zero, power)
            mean = np.sum(cw.reshape(shape) * means, axis=0) / total
            spread = tweedie_unit_deviance(means, mean, power)
            dev = np.sum(c.reshape(shape) * devs + cw.reshape(shape) * spread, axis=0)
            return MeanDeviance(total, mean, dev, power)

        return draw

    def __reduce__(self) -> tuple[Any, ...]:
        return (MeanDeviance, (self.weight, self.mean, self.dev, self.power))

    def __repr__(self) -> str:
        return f"MeanDeviance(weight={self.weight}, mean={self.mean}, dev={self.dev})"
