"""The health report's statistics against exact or brute-force references."""

from __future__ import annotations

import math
import random
from collections import Counter
from itertools import combinations

import pytest
from scipy.stats import mannwhitneyu

from bot.health.statistics import (
    counts_quantile,
    fisher_exact_less,
    mann_whitney,
    midranks,
    pettitt,
    quantile,
)


def test_quantiles_interpolate_between_order_statistics_and_counts_give_the_same():
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([10.0], 0.9) == 10.0
    rng = random.Random(3)
    for _ in range(500):
        values = sorted(rng.randint(0, 9) for _ in range(rng.randint(1, 20)))
        for probability in (0.0, 0.1, 0.5, 0.9, 1.0):
            assert counts_quantile(Counter(values), probability) == pytest.approx(quantile(values, probability))
    assert counts_quantile(Counter(), 0.5) is None


def test_mann_whitney_matches_the_pairwise_count_and_scipy():
    rng = random.Random(5)
    for _ in range(200):
        before = [rng.randint(0, 30) for _ in range(rng.randint(3, 25))]
        after = [rng.randint(0, 30) for _ in range(rng.randint(3, 25))]
        pairs = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in after for b in before)
        test = mann_whitney(before, after)
        assert test.u == pytest.approx(pairs)
        # The normal approximation with tie correction and continuity correction, as scipy computes it.
        greater = mannwhitneyu(after, before, alternative="greater", method="asymptotic", use_continuity=True)
        less = mannwhitneyu(after, before, alternative="less", method="asymptotic", use_continuity=True)
        assert test.p_greater == pytest.approx(greater.pvalue)
        assert test.p_less == pytest.approx(less.pvalue)


def test_fisher_exact_matches_the_hypergeometric_sum_by_brute_force():
    def brute(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
        # Every way of choosing which trials of the pooled sample are group A's: P(A has ≤ successes_a).
        pooled = [1] * (successes_a + successes_b) + [0] * (trials_a + trials_b - successes_a - successes_b)
        ways = list(combinations(range(len(pooled)), trials_a))
        return sum(sum(pooled[i] for i in way) <= successes_a for way in ways) / len(ways)

    for case in [(3, 8, 7, 8), (5, 6, 2, 6), (0, 4, 4, 4), (6, 9, 6, 9)]:
        assert fisher_exact_less(*case) == pytest.approx(brute(*case))
    assert fisher_exact_less(0, 0, 5, 5) == 1.0


def test_midranks_share_ties():
    assert midranks([5.0, 1.0, 5.0, 3.0]) == [3.5, 1.0, 3.5, 2.0]


def test_pettitt_finds_a_clean_step_and_its_p_value_follows_the_formula():
    values = [10.0] * 20 + [20.0] * 20
    result = pettitt(values)
    assert result is not None and result.index == 20 and result.statistic > 0
    n = len(values)
    assert result.p_value == pytest.approx(min(1.0, 2 * math.exp(-6 * result.statistic**2 / (n**3 + n**2))))
    assert result.p_value < 1e-6
    down = pettitt(list(reversed(values)))
    assert down is not None and down.index == 20 and down.statistic < 0


def test_pettitt_keeps_min_segment_values_on_each_side():
    values = [1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0]
    assert pettitt(values, min_segment=1).index == 1  # type: ignore[union-attr]
    assert pettitt(values, min_segment=3).index == 3  # type: ignore[union-attr]
    assert pettitt(values, min_segment=6) is None


def test_pettitt_calls_a_change_in_noise_at_about_its_level():
    rng = random.Random(17)
    trials = 400
    false_alarms = sum(
        pettitt([rng.lognormvariate(0, 0.3) for _ in range(60)]).p_value < 0.05  # type: ignore[union-attr]
        for _ in range(trials)
    )
    assert false_alarms / trials <= 0.06  # Pettitt's approximation is conservative
