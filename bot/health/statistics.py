"""Statistics of the health report, in pure Python: quantiles (also from histograms), Mann–Whitney on grouped
data, Fisher's exact test, and Pettitt's change-point test.

Durations and queue times are compared with rank tests (heavy right tails and several modes are normal in CI
timings); rates with Fisher's exact test and Wilson intervals (`bot.comparison.statistics.wilson_interval`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()


def quantile(ordered: Sequence[float], probability: float) -> float:
    """The `probability` quantile of sorted values, linear between order statistics (Hyndman & Fan type 7)."""
    if not ordered:
        raise ValueError("quantile of no values")
    position = probability * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def counts_quantile(counts: Mapping[float, int], probability: float) -> float | None:
    """`quantile` of the sample that `counts` (value → how many times) stands for, without expanding it."""
    total = sum(counts.values())
    if total == 0:
        return None
    position = probability * (total - 1)
    low_rank, fraction = math.floor(position), position - math.floor(position)
    values = sorted(value for value, count in counts.items() if count)
    seen, low = 0, values[-1]
    for index, value in enumerate(values):
        seen += counts[value]
        if seen > low_rank:
            low = value
            high = value if seen > low_rank + 1 or index + 1 == len(values) else values[index + 1]
            return low + (high - low) * fraction
    return float(low)


@dataclass(frozen=True, slots=True)
class RankTest:
    """Mann–Whitney U of `after` against `before`; `p_greater` is small when `after` tends to be larger."""

    u: float
    p_greater: float
    p_less: float


def mann_whitney_counts(before: Mapping[float, int], after: Mapping[float, int]) -> RankTest:
    """Mann–Whitney U from grouped samples (value → count), with midranks for ties, tie-corrected normal
    approximation and continuity correction. Exact for any sizes in the statistic, O(k log k) in distinct values:
    fit for histograms and long series alike."""
    before_size, after_size = sum(before.values()), sum(after.values())
    if before_size == 0 or after_size == 0:
        raise ValueError("both samples must be non-empty")
    rank_sum_after = 0.0
    tie_term = 0.0
    next_rank = 1
    for value in sorted(set(before) | set(after)):
        tied = before.get(value, 0) + after.get(value, 0)
        if not tied:
            continue
        midrank = next_rank + (tied - 1) / 2.0
        rank_sum_after += midrank * after.get(value, 0)
        tie_term += tied**3 - tied
        next_rank += tied
    u = rank_sum_after - after_size * (after_size + 1) / 2.0
    pooled = before_size + after_size
    variance = before_size * after_size / 12.0 * ((pooled + 1) - tie_term / (pooled * (pooled - 1)))
    if variance <= 0:
        return RankTest(u=u, p_greater=1.0, p_less=1.0)
    spread = math.sqrt(variance)
    expected = before_size * after_size / 2.0
    return RankTest(
        u=u,
        p_greater=1.0 - _STANDARD_NORMAL.cdf((u - expected - 0.5) / spread),
        p_less=_STANDARD_NORMAL.cdf((u - expected + 0.5) / spread),
    )


def mann_whitney(before: Sequence[float], after: Sequence[float]) -> RankTest:
    """`mann_whitney_counts` of two plain samples."""
    return mann_whitney_counts(Counter(before), Counter(after))


def _log_hypergeometric(k: int, successes: int, failures: int, drawn: int) -> float:
    """log P(X = k) for X ~ Hypergeometric(population successes, failures, draws)."""

    def log_comb(n: int, r: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)

    return log_comb(successes, k) + log_comb(failures, drawn - k) - log_comb(successes + failures, drawn)


def fisher_exact_less(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
    """One-sided Fisher exact p-value that group A's success probability is lower than group B's.

    P(X ≤ successes_a) with X the successes of A given the margins (hypergeometric)."""
    if trials_a == 0 or trials_b == 0:
        return 1.0
    successes = successes_a + successes_b
    failures = trials_a + trials_b - successes
    low = max(0, trials_a - failures)
    terms = [_log_hypergeometric(k, successes, failures, trials_a) for k in range(low, successes_a + 1)]
    if not terms:
        return 0.0
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(term - top) for term in terms))


@dataclass(frozen=True, slots=True)
class PettittResult:
    """Pettitt's test on a series: the most likely change (the first index after it) and the p-value of any change.

    `statistic` is U at the change: positive when the values after it tend to be larger.
    """

    index: int
    statistic: float
    p_value: float


def midranks(values: Sequence[float]) -> list[float]:
    """Ranks 1…n of the values in their order, ties sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def pettitt(values: Sequence[float], min_segment: int = 1) -> PettittResult | None:
    """Pettitt's (1979) rank test for one change in location: U_t = Σ_{i≤t<j} sgn(x_j − x_i) for every split t
    leaving at least `min_segment` values on each side; K = max |U_t|; p ≈ 2·exp(−6K²/(n³ + n²)), capped at 1.

    The p-value is Pettitt's approximation for the maximum over all splits, so limiting the splits makes it
    conservative. None when no split leaves `min_segment` values on both sides.
    """
    count = len(values)
    if count < 2 * max(min_segment, 1):
        return None
    ranks = midranks(values)
    best_index, best = 0, 0.0
    rank_sum = 0.0
    for split in range(1, count):
        rank_sum += ranks[split - 1]
        if split < min_segment or count - split < min_segment:
            continue
        statistic = split * (count + 1) - 2.0 * rank_sum
        if best_index == 0 or abs(statistic) > abs(best):
            best_index, best = split, statistic
    p_value = min(1.0, 2.0 * math.exp(-6.0 * best * best / (count**3 + count**2)))
    return PettittResult(index=best_index, statistic=best, p_value=p_value)
