"""The run's other jobs as a control for common-mode slowness: levels, leave-one-out speed factors, sensitivities."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from bot.comparison.run_speed import CONTROL_MIN_JOBS, baseline_levels, sensitivities, speed_factors


def test_levels_are_medians_of_jobs_seen_often_enough() -> None:
    runs = [{"a": 1.0, "b": 5.0}, {"a": 2.0}, {"a": 4.0, "b": 6.0}]
    assert baseline_levels(runs, min_runs=2) == {"a": 2.0, "b": 5.5}
    assert baseline_levels(runs, min_runs=3) == {"a": 2.0}


def test_the_speed_factor_of_a_job_is_the_median_deviation_of_the_others() -> None:
    levels = {name: 0.0 for name in "abcde"}
    run = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4, "e": 2.0, "new": 9.0}
    factors = speed_factors(run, levels)
    for name in "abcde":
        others = [value for other, value in run.items() if other not in (name, "new")]
        assert factors[name] == pytest.approx(statistics.median(others))
    assert factors["new"] == pytest.approx(0.3)  # a job without a level is not among the others
    assert factors["a"] == pytest.approx(0.35)  # one very slow job (e) moves the factor little
    assert speed_factors(dict(list(run.items())[:CONTROL_MIN_JOBS]), levels) == {}  # too few others


def test_sensitivity_is_how_much_a_job_shares_the_runs_speed() -> None:
    rng = random.Random(4)
    names = [f"job {index}" for index in range(6)]
    runs = []
    for _ in range(30):
        runner = rng.gauss(0.0, 0.1)
        run = {name: runner + rng.gauss(0.0, 0.02) for name in names}
        run["own pace"] = rng.gauss(0.0, 0.1)  # ignores the runner
        run["against"] = -runner  # faster when the others are slower
        runs.append(run)
    levels = baseline_levels(runs, min_runs=5)
    fitted = sensitivities([(run, speed_factors(run, levels)) for run in runs], levels)
    assert all(fitted[name] == pytest.approx(1.0, abs=0.1) for name in names)
    assert fitted["own pace"] < 0.3
    assert fitted["against"] == 0.0  # kept within [0, 1]
    assert not math.isnan(sum(fitted.values()))
