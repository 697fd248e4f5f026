"""The run's other jobs as a control for common-mode slowness (slow runner host, busy pool).

Jobs of one run are often slow together. For a job j in a run, the *speed factor* of the run is the
median, over the run's other jobs k that ran in the same attempt, of how far k's log-duration lies from
k's baseline median. How much of that factor job j shares is its *sensitivity* β_j, the least-squares
slope of j's own deviation on the factor over the baseline runs, kept within [0, 1]. The *offset*
β_j × factor is subtracted from j's log-duration before judging it: a run where every job is 20 %
slower is not "your job got slower", and jobs that move on their own (β ≈ 0) are left as they are.

A job re-run on its own has no siblings in its attempt: its sample gets no offset (it is judged as is).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

from bot.comparison.statistics import median

# A speed factor needs at least this many other jobs with a baseline in the same attempt.
CONTROL_MIN_JOBS = 3
# A job's sensitivity needs at least this many baseline runs with a speed factor.
CONTROL_MIN_RUNS = 5
# A job less sensitive than this moves on its own: it gets no control (the offset would only add noise).
CONTROL_MIN_SENSITIVITY = 0.1

# One run as the control sees it: job name → log-duration of the jobs that ran in the same attempt.
RunLogs = Mapping[str, float]


def baseline_levels(runs: Sequence[RunLogs], min_runs: int) -> dict[str, float]:
    """Median log-duration of each job seen in at least `min_runs` of the baseline runs."""
    values: dict[str, list[float]] = {}
    for run in runs:
        for name, value in run.items():
            values.setdefault(name, []).append(value)
    return {name: median(logs) for name, logs in values.items() if len(logs) >= min_runs}


def _median_without(ordered: Sequence[float], index: int) -> float:
    """Median of the sorted `ordered` without its element at `index`."""

    def kept(position: int) -> float:
        return ordered[position] if position < index else ordered[position + 1]

    count = len(ordered) - 1
    middle = count // 2
    return kept(middle) if count % 2 else (kept(middle - 1) + kept(middle)) / 2


def speed_factors(run: RunLogs, levels: Mapping[str, float]) -> dict[str, float]:
    """For each job of `run`, the median deviation of the run's other jobs from their levels (leave-one-out).

    Jobs of a run with fewer than CONTROL_MIN_JOBS other known jobs get no factor.
    """
    deviations = {name: value - levels[name] for name, value in run.items() if name in levels}
    if len(deviations) - 1 < CONTROL_MIN_JOBS:
        return {}
    ordered = sorted(deviations.values())
    whole = median(ordered)
    return {
        name: _median_without(ordered, bisect_left(ordered, deviations[name])) if name in deviations else whole
        for name in run  # a job without a level is not among the others
    }


def sensitivities(runs: Sequence[tuple[RunLogs, Mapping[str, float]]], levels: Mapping[str, float]) -> dict[str, float]:
    """β of each job: the slope of its deviation on its speed factor over the baseline, within [0, 1].

    `runs` pairs each baseline run's log-durations with its `speed_factors`.
    """
    products: dict[str, float] = {}
    squares: dict[str, float] = {}
    counts: dict[str, int] = {}
    for run, factors in runs:
        for name, factor in factors.items():
            if name not in levels:
                continue
            products[name] = products.get(name, 0.0) + (run[name] - levels[name]) * factor
            squares[name] = squares.get(name, 0.0) + factor * factor
            counts[name] = counts.get(name, 0) + 1
    return {
        name: min(1.0, max(0.0, products[name] / squares[name]))
        for name in products
        if counts[name] >= CONTROL_MIN_RUNS and squares[name] > 0.0
    }
