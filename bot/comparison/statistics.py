"""Pure-Python statistics for CI durations: Student t, prediction p-values and bounds, Holm's procedure, Wilson."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
_SERIES_EPSILON = 1e-17
# Below this, 1 − (finite sum) has lost digits to cancellation; the tail series is summed instead.
_CANCELLATION_FLOOR = 1e-3


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mean_and_stdev(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1 denominator) of at least two values."""
    count = len(values)
    mean = sum(values) / count
    variance = sum((value - mean) ** 2 for value in values) / (count - 1)
    return mean, math.sqrt(variance)


def _two_sided_t_tail(t: float, degrees_of_freedom: int) -> float:
    """P(|T| ≥ |t|) for Student's t with an integer number of degrees of freedom ν.

    The finite sums of Abramowitz & Stegun 26.7.3–4 in θ = atan(|t|/√ν), c = cos²θ: for even ν,
    1 − sinθ·Σₖ₍₌₀…ₘ₋₁₎ aₖcᵏ with aₖ = aₖ₋₁(2k − 1)/(2k), m = ν/2; for odd ν, 1 − (2/π)(θ + sinθ cosθ·Σₖ₍₌₀…ₘ₋₁₎ bₖcᵏ)
    with bₖ = bₖ₋₁(2k)/(2k + 1), m = (ν − 1)/2. Carried on to infinity the sums are 1/sinθ and (π/2 − θ)/(sinθ cosθ),
    so the tail is also sinθ·Σₖ₍₌ₘ…∞₎ aₖcᵏ (resp. (2/π) sinθ cosθ·Σₖ₍₌ₘ…∞₎ bₖcᵏ): that series is summed where the
    tail is small, so that nothing cancels. Accurate to about 1e-9 relative for ν ≤ 100 and tails down to 1e-12.
    """
    nu = degrees_of_freedom
    t = abs(t)
    c = nu / (nu + t * t)
    sin = t / math.sqrt(nu + t * t)
    even = nu % 2 == 0
    m = nu // 2 if even else (nu - 1) // 2
    offset = 1 if even else 2  # aₖ₊₁/aₖ = c(2k + 1)/(2k + 2), bₖ₊₁/bₖ = c(2k + 2)/(2k + 3)
    head, term = 0.0, 1.0
    for k in range(m):
        head += term
        term *= c * (2 * k + offset) / (2 * k + offset + 1)
    if c > 0.5:
        if even:
            complement = 1.0 - sin * head
        else:
            complement = 1.0 - 2.0 / math.pi * (math.atan(t / math.sqrt(nu)) + sin * math.sqrt(c) * head)
        if complement > _CANCELLATION_FLOOR:
            return complement
    rest, k = 0.0, m  # `term` is now the m-th term
    while term > _SERIES_EPSILON * rest:
        rest += term
        term *= c * (2 * k + offset) / (2 * k + offset + 1)
        k += 1
    return sin * rest if even else 2.0 / math.pi * sin * math.sqrt(c) * rest


def student_t_upper_tail(t: float, degrees_of_freedom: int) -> float:
    """P(T ≥ t) for Student's t distribution with an integer number of degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    half = 0.5 * _two_sided_t_tail(t, degrees_of_freedom)
    return half if t >= 0 else 1.0 - half


def student_t_cdf(t: float, degrees_of_freedom: int) -> float:
    """P(T ≤ t) for Student's t distribution with an integer number of degrees of freedom."""
    return 1.0 - student_t_upper_tail(t, degrees_of_freedom)


@lru_cache(maxsize=1024)
def student_t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """The t with P(T ≤ t) = probability, found by bisection on the CDF (accurate to ~1e-10)."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    if degrees_of_freedom <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {degrees_of_freedom}")
    if probability < 0.5:
        return -student_t_quantile(1.0 - probability, degrees_of_freedom)
    low, high = 0.0, 1.0
    while student_t_cdf(high, degrees_of_freedom) < probability:
        low, high = high, high * 2.0
    while high - low > 1e-10 * max(1.0, high):
        middle = (low + high) / 2.0
        if student_t_cdf(middle, degrees_of_freedom) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def prediction_scale(stdev: float, baseline_count: int, new_count: int, correlation: float = 0.0) -> float:
    """Scale of (mean of `new_count` new values − mean of `baseline_count` old ones): s·√((1 + (m − 1)ρ)/m + 1/n).

    `correlation` ρ is that between the new values (0: independent, the usual s·√(1/m + 1/n)).
    """
    return stdev * math.sqrt((1.0 + (new_count - 1) * correlation) / new_count + 1.0 / baseline_count)


def lag_one_autocorrelation(values: Sequence[float]) -> float:
    """Σ (xₜ − x̄)(xₜ₊₁ − x̄) / Σ (xₜ − x̄)²: how much consecutive values move together.

    0 for fewer than three values or no spread.
    """
    if len(values) < 3:
        return 0.0
    mean = sum(values) / len(values)
    deviations = [value - mean for value in values]
    total = sum(deviation * deviation for deviation in deviations)
    if total == 0.0:
        return 0.0
    return sum(a * b for a, b in itertools.pairwise(deviations)) / total


@dataclass(frozen=True, slots=True)
class NormalReference:
    """A normal sample summarised for prediction: the mean of `count` values, their spread and its degrees of freedom.

    `degrees_of_freedom` is count − 1 for one sample; less when the spread is pooled over groups.
    `correlation` is that expected between new values taken close together (0: independent).
    """

    mean: float
    stdev: float
    count: int
    degrees_of_freedom: int
    correlation: float = 0.0

    def p_values(self, new_mean: float, new_count: int) -> tuple[float, float]:
        """One-sided p-values (greater, less) of the mean of `new_count` new values from the same distribution.

        Student t with the reference's degrees of freedom and scale s·√(1/m + 1/n): the prediction interval
        for the mean of m new values. A zero spread makes any difference certain.
        """
        difference = new_mean - self.mean
        scale = prediction_scale(self.stdev, self.count, new_count, self.correlation)
        if scale == 0.0:
            if difference == 0.0:
                return 1.0, 1.0
            return (0.0, 1.0) if difference > 0 else (1.0, 0.0)
        t = difference / scale
        return student_t_upper_tail(t, self.degrees_of_freedom), student_t_upper_tail(-t, self.degrees_of_freedom)

    def bound(self, new_count: int, alpha: float) -> float:
        """How far from the mean the mean of `new_count` new values must be for a one-sided p ≤ `alpha`."""
        quantile = student_t_quantile(1.0 - alpha, self.degrees_of_freedom)
        return quantile * prediction_scale(self.stdev, self.count, new_count, self.correlation)


def holm_rejections(p_values: Sequence[float], alpha: float, weights: Sequence[float] | None = None) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected with family-wise error at most `alpha`.

    Equal weights: the k-th smallest p-value (k = 0, 1, …) is compared with α / (N − k); rejection stops at
    the first that fails. Same guarantee as Bonferroni (α / N for all), never fewer rejections. With
    `weights` (positive), Holm's weighted procedure: hypotheses in the order of pᵢ / wᵢ, each compared with
    α·wᵢ / (the weights of those not rejected yet); the same guarantee, with α shared in proportion to wᵢ.
    """
    weights = weights or [1.0] * len(p_values)
    order = sorted(range(len(p_values)), key=lambda index: p_values[index] / weights[index])
    remaining = sum(weights)
    rejected = [False] * len(p_values)
    for index in order:
        if p_values[index] > alpha * weights[index] / remaining:
            break
        rejected[index] = True
        remaining -= weights[index]
    return rejected


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """A proportion with its Wilson score interval."""

    successes: int
    trials: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> RateEstimate:
    """Wilson score interval for successes out of trials (0 trials gives the uninformative [0, 1])."""
    if trials == 0:
        return RateEstimate(successes=0, trials=0, low=0.0, high=1.0)
    z = _STANDARD_NORMAL.inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    proportion = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (proportion + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(proportion * (1 - proportion) / trials + z * z / (4 * trials * trials)) / denominator
    return RateEstimate(
        successes=successes, trials=trials, low=max(0.0, centre - margin), high=min(1.0, centre + margin)
    )
