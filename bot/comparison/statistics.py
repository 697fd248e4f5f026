"""Pure-Python statistics for CI durations: Student t, prediction bounds, Mann–Whitney U, Hodges–Lehmann, Wilson."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
_CONTINUED_FRACTION_EPSILON = 3e-14
_CONTINUED_FRACTION_MAX_TERMS = 500
_TINY = 1e-300
# Exact Mann–Whitney distribution when there are no ties and m·n is at most this; normal approximation above.
EXACT_MANN_WHITNEY_MAX_PAIRS = 400


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
    mean = math.fsum(values) / count
    variance = math.fsum([(value - mean) ** 2 for value in values]) / (count - 1)
    return mean, math.sqrt(variance)


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    a_plus_b, a_plus_one, a_minus_one = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - a_plus_b * x / a_plus_one
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _CONTINUED_FRACTION_MAX_TERMS):
        two_m = 2 * m
        for numerator in (
            m * (b - m) * x / ((a_minus_one + two_m) * (a + two_m)),
            -(a + m) * (a_plus_b + m) * x / ((a + two_m) * (a_plus_one + two_m)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            factor = d * c
            result *= factor
        if abs(factor - 1.0) < _CONTINUED_FRACTION_EPSILON:
            break
    return result


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for 0 ≤ x ≤ 1 and a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1.0 - x, b, a) / b


def student_t_cdf(t: float, degrees_of_freedom: float) -> float:
    """P(T ≤ t) for Student's t distribution."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * regularized_incomplete_beta(
        degrees_of_freedom / (degrees_of_freedom + t * t), degrees_of_freedom / 2.0, 0.5
    )
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=1024)
def student_t_quantile(probability: float, degrees_of_freedom: float) -> float:
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


@dataclass(frozen=True, slots=True)
class PredictionBounds:
    """One-sided prediction bounds for one new value, in the same (log) units as the sample."""

    lower: float
    upper: float


def prediction_bounds(sample: Sequence[float], alpha: float) -> PredictionBounds:
    """Bounds a new value from the sample's distribution exceeds with probability `alpha` on each side.

    Student t with n − 1 degrees of freedom and scale s·√(1 + 1/n); needs at least two values.
    """
    count = len(sample)
    if count < 2:
        raise ValueError("a prediction interval needs at least two values")
    mean, stdev = mean_and_stdev(sample)
    half_width = student_t_quantile(1.0 - alpha, count - 1) * stdev * math.sqrt(1.0 + 1.0 / count)
    return PredictionBounds(lower=mean - half_width, upper=mean + half_width)


@dataclass(frozen=True, slots=True)
class MannWhitneyResult:
    """Mann–Whitney U of `samples` against `baseline` and its one-sided p-values."""

    u: float
    p_greater: float
    p_less: float
    exact: bool


@lru_cache(maxsize=4096)
def _u_counts(first_size: int, second_size: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings give each U = 0 … m·n (no ties)."""
    if first_size == 0 or second_size == 0:
        return (1,)
    # Orderings whose largest value is from the first sample add `second_size` to U.
    with_first_largest = _u_counts(first_size - 1, second_size)
    with_second_largest = _u_counts(first_size, second_size - 1)
    counts = [0] * (first_size * second_size + 1)
    for u, count in enumerate(with_first_largest):
        counts[u + second_size] += count
    for u, count in enumerate(with_second_largest):
        counts[u] += count
    return tuple(counts)


def mann_whitney_u(baseline: Sequence[float], samples: Sequence[float]) -> MannWhitneyResult:
    """Two-sample Mann–Whitney U test; `p_greater` is small when `samples` tend to be larger.

    U counts the pairs (baseline value, sample value) where the sample is larger, ties counting ½.
    Exact null distribution when there are no ties and m·n ≤ EXACT_MANN_WHITNEY_MAX_PAIRS; otherwise
    the normal approximation with tie correction and continuity correction.
    """
    baseline_size, sample_size = len(baseline), len(samples)
    if baseline_size == 0 or sample_size == 0:
        raise ValueError("both samples must be non-empty")
    u = 0.0
    for value in samples:
        for reference in baseline:
            if value > reference:
                u += 1.0
            elif value == reference:
                u += 0.5
    pooled = sorted([*baseline, *samples])
    tie_sizes = [run for run in _tie_run_lengths(pooled) if run > 1]
    pairs = baseline_size * sample_size
    if not tie_sizes and pairs <= EXACT_MANN_WHITNEY_MAX_PAIRS:
        counts = _u_counts(sample_size, baseline_size)
        total = math.comb(baseline_size + sample_size, sample_size)
        observed = int(u)
        return MannWhitneyResult(
            u=u,
            p_greater=sum(counts[observed:]) / total,
            p_less=sum(counts[: observed + 1]) / total,
            exact=True,
        )
    pooled_size = baseline_size + sample_size
    tie_term = sum(size**3 - size for size in tie_sizes) / (pooled_size * (pooled_size - 1))
    variance = pairs / 12.0 * ((pooled_size + 1) - tie_term)
    expected = pairs / 2.0
    if variance <= 0:
        return MannWhitneyResult(u=u, p_greater=1.0, p_less=1.0, exact=False)
    spread = math.sqrt(variance)
    return MannWhitneyResult(
        u=u,
        p_greater=1.0 - _STANDARD_NORMAL.cdf((u - expected - 0.5) / spread),
        p_less=_STANDARD_NORMAL.cdf((u - expected + 0.5) / spread),
        exact=False,
    )


def _tie_run_lengths(ordered: Sequence[float]) -> list[int]:
    runs: list[int] = []
    previous: float | None = None
    for value in ordered:
        if runs and value == previous:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = value
    return runs


def hodges_lehmann_shift(baseline: Sequence[float], samples: Sequence[float]) -> float:
    """Median of all pairwise differences (sample − baseline value): the robust size of the shift."""
    return median([value - reference for value in samples for reference in baseline])


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
