"""The pure-Python statistics of the baseline comparison, against printed tables and SciPy (a test-only cross-check)."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from bot.comparison.statistics import (
    NormalReference,
    holm_rejections,
    lag_one_autocorrelation,
    mean_and_stdev,
    median,
    prediction_scale,
    student_t_cdf,
    student_t_quantile,
    student_t_upper_tail,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("probability", "degrees_of_freedom", "table_value"),
    [
        (0.95, 19, 1.729),
        (0.975, 4, 2.776),
        (0.95, 1, 6.314),
        (0.995, 1, 63.657),
        (0.99, 10, 2.764),
        (0.975, 30, 2.042),
        (0.95, 120, 1.658),
        (0.9, 5, 1.476),
    ],
)
def test_student_t_quantile_matches_the_printed_table(probability, degrees_of_freedom, table_value) -> None:
    assert student_t_quantile(probability, degrees_of_freedom) == pytest.approx(table_value, abs=5e-4)


@pytest.mark.parametrize("degrees_of_freedom", [1, 2, 3, 4, 7, 18, 19, 38, 49, 99])
@pytest.mark.parametrize("probability", [0.6, 0.9, 0.975, 0.999, 0.99999, 0.0005])
def test_student_t_quantile_matches_scipy(probability, degrees_of_freedom) -> None:
    assert student_t_quantile(probability, degrees_of_freedom) == pytest.approx(
        stats.t.ppf(probability, degrees_of_freedom), rel=1e-8
    )


@pytest.mark.parametrize("degrees_of_freedom", [*range(1, 41), 49, 50, 99, 100])
def test_student_t_tails_match_scipy_far_into_the_tail(degrees_of_freedom) -> None:
    """The closed-form sums (both parities of ν) and their complement series, down to tails of 1e-12."""
    for t in (-6.0, -2.0, -0.3, 0.0, 1e-6, 0.4, 1.0, 1.7, 2.5, 3.3, 4.0, 6.0, 9.0, 15.0, 40.0):
        expected = stats.t.sf(t, degrees_of_freedom)
        if expected < 1e-12:
            continue
        assert student_t_upper_tail(t, degrees_of_freedom) == pytest.approx(expected, rel=1e-9)
        assert student_t_cdf(t, degrees_of_freedom) == pytest.approx(stats.t.cdf(t, degrees_of_freedom), rel=1e-9)
    assert student_t_upper_tail(math.inf, 5) == 0.0 and student_t_upper_tail(-math.inf, 5) == 1.0


def test_student_t_quantile_rejects_impossible_probabilities() -> None:
    with pytest.raises(ValueError):
        student_t_quantile(1.0, 5)
    with pytest.raises(ValueError):
        student_t_quantile(0.5, 0)


def test_median_mean_and_stdev() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    mean, stdev = mean_and_stdev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert mean == 5.0 and stdev == pytest.approx(2.138089935)


def test_prediction_p_values_are_a_t_test_of_the_new_mean() -> None:
    """(x̄_new − x̄) / (s·√(1/m + 1/n)) is t with n − 1 df under the null: the textbook prediction interval."""
    reference = NormalReference(mean=3.0, stdev=math.sqrt(2.5), count=5, degrees_of_freedom=4)
    for new_mean, new_count in ((6.5, 1), (5.0, 2), (1.0, 3)):
        t = (new_mean - 3.0) / (math.sqrt(2.5) * math.sqrt(1 / new_count + 1 / 5))
        greater, less = reference.p_values(new_mean, new_count)
        assert greater == pytest.approx(stats.t.sf(t, 4), rel=1e-9)
        assert less == pytest.approx(stats.t.cdf(t, 4), rel=1e-9)
    # The bound is the value whose one-sided p-value is α.
    bound = reference.bound(1, 0.05)
    assert bound == pytest.approx(stats.t.ppf(0.95, 4) * math.sqrt(2.5) * math.sqrt(1.2), rel=1e-9)
    assert reference.p_values(3.0 + bound, 1)[0] == pytest.approx(0.05, rel=1e-7)


def test_a_zero_spread_makes_any_difference_certain() -> None:
    flat = NormalReference(mean=2.0, stdev=0.0, count=10, degrees_of_freedom=9)
    assert flat.p_values(2.5, 1) == (0.0, 1.0)
    assert flat.p_values(1.5, 1) == (1.0, 0.0)
    assert flat.p_values(2.0, 1) == (1.0, 1.0)


def test_the_mean_of_correlated_samples_has_a_wider_scale() -> None:
    """Var(mean of m values with pairwise correlation ρ) = σ²(1 + (m − 1)ρ)/m."""
    assert prediction_scale(1.0, 20, 2) == pytest.approx(math.sqrt(1 / 2 + 1 / 20))
    assert prediction_scale(1.0, 20, 2, correlation=0.5) == pytest.approx(math.sqrt(1.5 / 2 + 1 / 20))
    assert prediction_scale(1.0, 20, 1, correlation=0.9) == pytest.approx(math.sqrt(1 + 1 / 20))  # one value
    # Simulated: the mean of two AR(1) neighbours (ρ = 0.6) spreads as the formula says.
    rng = random.Random(3)
    means = []
    for _ in range(20_000):
        first = rng.gauss(0.0, 1.0)
        second = 0.6 * first + math.sqrt(1 - 0.36) * rng.gauss(0.0, 1.0)
        means.append((first + second) / 2)
    assert mean_and_stdev(means)[1] == pytest.approx(math.sqrt(1.6 / 2), rel=0.02)


def test_lag_one_autocorrelation() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # deviations −2…2: Σ dₜdₜ₊₁ = 2 − 0 + 0 + 2 = 4, Σ d² = 10
    assert lag_one_autocorrelation(values) == pytest.approx(0.4)
    assert lag_one_autocorrelation([1.0, -1.0] * 10) == pytest.approx(-0.95)
    assert lag_one_autocorrelation([2.0, 2.0, 2.0]) == 0.0 and lag_one_autocorrelation([1.0, 2.0]) == 0.0
    rng = random.Random(5)
    series = [0.0]
    for _ in range(5_000):
        series.append(0.7 * series[-1] + rng.gauss(0.0, 1.0))
    assert lag_one_autocorrelation(series) == pytest.approx(0.7, abs=0.03)


def test_holm_rejects_step_down_and_never_less_than_bonferroni() -> None:
    # Holm's textbook example: α = 0.05, p = 0.01, 0.04, 0.03, 0.005 → thresholds 0.0125, 0.0167, 0.025, 0.05.
    assert holm_rejections([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]
    assert holm_rejections([0.01, 0.04, 0.02, 0.005], 0.05) == [True, True, True, True]
    assert holm_rejections([0.2, 0.3], 0.05) == [False, False]
    assert holm_rejections([], 0.05) == []
    rng = random.Random(9)
    for _ in range(500):
        p_values = [rng.random() ** 3 for _ in range(rng.randint(1, 12))]
        bonferroni = [p <= 0.05 / len(p_values) for p in p_values]
        holm = holm_rejections(p_values, 0.05)
        assert all(h or not b for h, b in zip(holm, bonferroni, strict=True))


def test_weighted_holm_shares_alpha_by_weight_and_keeps_the_family_wise_level() -> None:
    # Equal weights are Holm's procedure; weights 9 : 1 give the first 90 % of α at the first step.
    assert holm_rejections([0.008, 0.006], 0.01) == [False, False]  # 0.006 > 0.01 / 2
    assert holm_rejections([0.008, 0.006], 0.01, [9.0, 1.0]) == [True, True]  # 0.008 ≤ 0.009, then 0.006 ≤ 0.01
    assert holm_rejections([0.002, 0.008], 0.01, [9.0, 1.0]) == [True, True]
    assert holm_rejections([0.0015, 0.5], 0.01, [1.0, 9.0]) == [False, False]  # 0.0015 > 0.001
    assert holm_rejections([0.01, 0.04, 0.03, 0.005], 0.05, [1.0] * 4) == [True, False, False, True]
    # Under the null (uniform p-values) some hypothesis is rejected at most about α of the time.
    rng = random.Random(11)
    weights = [0.2, 0.5, 1.0, 2.0, 4.0, 0.3]
    families = 20_000
    rejected = sum(any(holm_rejections([rng.random() for _ in weights], 0.05, weights)) for _ in range(families))
    assert rejected / families == pytest.approx(0.05, abs=0.006)


def test_wilson_interval_known_values() -> None:
    nine_of_ten = wilson_interval(9, 10)
    assert (nine_of_ten.low, nine_of_ten.high) == (pytest.approx(0.5958, abs=1e-4), pytest.approx(0.9821, abs=1e-4))
    all_of_twenty = wilson_interval(20, 20)
    assert all_of_twenty.high == 1.0 and all_of_twenty.low == pytest.approx(0.8389, abs=1e-4)
    assert wilson_interval(0, 0).rate == 0.0 and (wilson_interval(0, 0).low, wilson_interval(0, 0).high) == (0.0, 1.0)
