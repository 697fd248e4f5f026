"""Change points on synthetic series with known changes (fixed seeds): where they are found, and where not."""

from __future__ import annotations

import math
import random

from bot.health.changepoints import find_changes, refine

OPTIONS = {"level": 0.01, "min_segment": 5, "threshold_percent": 10.0, "threshold_seconds": 30.0}


def series(rng: random.Random, levels: list[tuple[int, float]], sigma: float = 0.1) -> list[float]:
    """Log-normal durations: `count` runs around each (count, median) level in turn."""
    return [median * math.exp(rng.gauss(0, sigma)) for count, median in levels for _ in range(count)]


def test_a_step_up_is_found_at_its_run_with_its_size():
    values = series(random.Random(1), [(40, 300.0), (30, 420.0)])
    [change] = find_changes(values, **OPTIONS)
    assert change.index == 40
    assert 280 < change.before_median < 320 and 400 < change.after_median < 440
    assert change.p_value < 1e-6


def test_up_then_back_down_gives_two_changes():
    values = series(random.Random(2), [(40, 300.0), (25, 450.0), (40, 300.0)])
    assert [change.index for change in find_changes(values, **OPTIONS)] == [40, 65]


def test_noise_without_a_change_gives_none_over_many_seeds():
    found = sum(bool(find_changes(series(random.Random(seed), [(80, 600.0)], 0.15), **OPTIONS)) for seed in range(100))
    assert found <= 2  # level 0.01 per series


def test_a_significant_change_smaller_than_the_floor_is_not_reported():
    values = series(random.Random(3), [(200, 600.0), (200, 630.0)], 0.02)  # +5 %: significant, not worth reading
    assert find_changes(values, **OPTIONS) == []
    assert [c.index for c in find_changes(values, **{**OPTIONS, "threshold_percent": 2, "threshold_seconds": 10})] == [
        200
    ]


def test_a_few_slow_outliers_are_not_a_change():
    rng = random.Random(4)
    values = series(rng, [(100, 300.0)], 0.05)
    for index in (20, 50, 51, 77):
        values[index] *= 5  # a slow runner now and then: heavy right tail
    assert find_changes(values, **OPTIONS) == []


def test_a_change_needs_runs_after_it_before_it_can_be_told_from_chance():
    # Fewer than min_segment runs: never; a few more: not yet significant at 0.01 (Pettitt's bound is conservative
    # near the ends); about ten runs after a doubling: found.
    assert find_changes(series(random.Random(5), [(50, 300.0), (4, 600.0)]), **OPTIONS) == []
    assert find_changes(series(random.Random(5), [(50, 300.0), (6, 600.0)]), **OPTIONS) == []
    values = series(random.Random(5), [(50, 300.0), (10, 600.0)])
    assert [change.index for change in find_changes(values, **OPTIONS)] == [50]


def test_refine_puts_border_runs_on_the_side_whose_level_they_are_nearer():
    values = [400.0] * 30 + [440.0, 448.0, 424.0] + [680.0] * 20  # between the levels, nearer the lower one
    assert refine(values, 30, 5) == 33
    assert refine(values, 35, 5) == 33
