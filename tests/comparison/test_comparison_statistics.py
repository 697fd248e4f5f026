"""Known-value tests of the pure-Python statistics used by the baseline comparison."""

from __future__ import annotations

import math

import pytest

from bot.comparison.statistics import (
    EXACT_MANN_WHITNEY_MAX_PAIRS,
    hodges_lehmann_shift,
    mann_whitney_u,
    mean_and_stdev,
    median,
    prediction_bounds,
    regularized_incomplete_beta,
    student_t_cdf,
    student_t_quantile,
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


def test_student_t_quantile_is_symmetric_and_approaches_the_normal() -> None:
    assert student_t_quantile(0.05, 19) == pytest.approx(-student_t_quantile(0.95, 19))
    assert student_t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-4)
    with pytest.raises(ValueError):
        student_t_quantile(1.0, 5)


def test_student_t_cdf_known_values() -> None:
    assert student_t_cdf(0.0, 7) == pytest.approx(0.5)
    assert student_t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/π
    assert student_t_cdf(-2.0, 2) == pytest.approx(0.5 * (1 - 2 / math.sqrt(6)))  # closed form for 2 df


def test_regularized_incomplete_beta_known_values() -> None:
    assert regularized_incomplete_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)  # uniform
    assert regularized_incomplete_beta(0.5, 2.0, 3.0) == pytest.approx(0.6875)
    assert regularized_incomplete_beta(0.9, 0.5, 0.5) == pytest.approx(2 / math.pi * math.asin(math.sqrt(0.9)))


def test_median_mean_and_stdev() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    mean, stdev = mean_and_stdev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert mean == 5.0 and stdev == pytest.approx(2.138089935)


def test_prediction_bounds_use_t_with_n_minus_1_df_and_the_new_value_scale() -> None:
    sample = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, s = √2.5
    bounds = prediction_bounds(sample, alpha=0.05)
    half_width = 2.132 * math.sqrt(2.5) * math.sqrt(1 + 1 / 5)  # t(0.95, 4) = 2.132
    assert bounds.upper == pytest.approx(3 + half_width, abs=1e-3)
    assert bounds.lower == pytest.approx(3 - half_width, abs=1e-3)
    with pytest.raises(ValueError):
        prediction_bounds([1.0], alpha=0.05)


def test_mann_whitney_exact_values() -> None:
    complete_separation = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8])
    assert complete_separation.exact
    assert complete_separation.u == 15
    assert complete_separation.p_greater == pytest.approx(1 / math.comb(8, 3))
    assert complete_separation.p_less == 1.0
    # Samples [3, 5] against [1, 2, 4]: U = 2 + 3 = 5 of 6. The 10 orderings give U = 0…6 with
    # counts 1, 1, 2, 2, 2, 1, 1, so P(U ≥ 5) = 2/10 and P(U ≤ 5) = 9/10.
    partial = mann_whitney_u([1, 2, 4], [3, 5])
    assert partial.u == 5 and partial.p_greater == pytest.approx(0.2)
    assert partial.p_less == pytest.approx(0.9)


def test_mann_whitney_normal_approximation_with_ties() -> None:
    # U = 5 + 6.5 + 2 × 7.5 + 8 = 34.5 of 40; ties 2×2, 3×4, 2×5, 3×6 give Σ(t³ − t) = 60, so
    # var = 40/12 · (14 − 60/(13·12)) = 45.385 and z = (34.5 − 20 − 0.5)/√45.385 = 2.0781 → p = 0.01885.
    result = mann_whitney_u([1, 2, 2, 3, 4, 4, 5, 6], [4, 5, 6, 6, 7])
    assert not result.exact
    assert result.u == 34.5
    assert result.p_greater == pytest.approx(0.01885, abs=1e-4)


def test_mann_whitney_uses_the_normal_approximation_for_large_samples() -> None:
    baseline = [float(value) for value in range(100)]
    samples = [value + 0.5 for value in range(50, 60)]
    assert len(baseline) * len(samples) > EXACT_MANN_WHITNEY_MAX_PAIRS
    result = mann_whitney_u(baseline, samples)
    assert not result.exact
    assert 0.2 < result.p_greater < 0.8  # samples sit in the middle of the baseline


def test_hodges_lehmann_shift_is_the_median_pairwise_difference() -> None:
    assert hodges_lehmann_shift([1.0, 2.0, 3.0], [5.0, 6.0]) == 3.5
    assert hodges_lehmann_shift([10.0, 10.0, 10.0, 1000.0], [12.0]) == 2.0  # robust to the outlier


def test_wilson_interval_known_values() -> None:
    nine_of_ten = wilson_interval(9, 10)
    assert (nine_of_ten.low, nine_of_ten.high) == (pytest.approx(0.5958, abs=1e-4), pytest.approx(0.9821, abs=1e-4))
    all_of_twenty = wilson_interval(20, 20)
    assert all_of_twenty.high == 1.0 and all_of_twenty.low == pytest.approx(0.8389, abs=1e-4)
    assert wilson_interval(0, 0).rate == 0.0 and (wilson_interval(0, 0).low, wilson_interval(0, 0).high) == (0.0, 1.0)
