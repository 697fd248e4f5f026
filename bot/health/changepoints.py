"""Change points in a duration series: binary segmentation with Pettitt's rank test.

Method. The series (one value per run, oldest first) is searched for the split that best separates lower from
higher values by Pettitt's statistic U_t = Σ_{i≤t<j} sgn(x_j − x_i), the Mann–Whitney statistic of the values
after t against those before it (Pettitt, A. N. (1979), "A non-parametric approach to the change-point problem",
Journal of the Royal Statistical Society C 28(2), 126–135). A split is kept when the approximate p-value of the
largest |U_t|, 2·exp(−6K²/(n³ + n²)), is below the level; the two segments it leaves are then searched the same
way (binary segmentation: Scott & Knott (1974), Vostrikova (1981)), until no segment has a significant split.
Every split leaves at least `min_segment` runs on each side: a change needs that many runs after it to count as
durable, and that many before it to say what it changed from. Pettitt's arg max says *that* the segment changed;
where exactly is then refined by least absolute deviations from the two sides' medians (`refine`), which puts a
run at the border on the side whose level it is nearer.

A significant split is reported as a change point only when the medians on its two sides (within the segment it
split) differ by at least `threshold_percent` and `threshold_seconds`: with hundreds of runs a 2 % shift is
significant, and not worth anyone's time.

Why this method. It has the recursive structure of E-Divisive means (Matteson & James (2014), JASA 109(505),
334–345), used by MongoDB's CI (Daly et al. (2020), ICPE) and Apache Otava (formerly DataStax's Hunter,
Fleming et al. (2023), ICPE), and differs in the test: E-Divisive compares whole distributions by energy
distance and needs a permutation test at every step (O(n²) per permutation, hundreds of permutations); a
slowdown is a change in location, which a rank statistic finds in O(n log n) with a closed-form p-value. Ranks
make it insensitive to the heavy one-sided tails of CI timings (a few very slow runs do not make a change point)
and to the scale (log or not). `benchmarks/bench_health.py` measures its detection rate and false positives.

Limits. The test assumes independent runs; real series drift (lag-1 autocorrelation 0.4–0.7 on real CI data),
and a slow drift can show as a change point at the commit where it crossed the middle. The effect floor and the
level shared over every series of a report keep such calls few; a change found is a place to look, with its
run and commit linked, not a proof of which commit caused it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from bot.health.statistics import pettitt


@dataclass(frozen=True, slots=True)
class Split:
    """A change found in a series: the values from `index` on (up to the next change) differ from those before it
    (back to the previous change); medians of those two segments, and the p-value of the split's test."""

    index: int
    before_median: float
    after_median: float
    p_value: float


def refine(values: Sequence[float], index: int, min_segment: int) -> int:
    """The split that fits two levels best in absolute deviations: each value is charged its distance to the median
    of the side it falls on (the medians of the sides `index` makes), and the split with the least total is kept
    (at least `min_segment` values on each side; ties go to the split nearest `index`). Pettitt's arg max drifts
    when values next to a change happen to lie between the two levels; this puts them on the side they are nearer.
    """
    before, after = median(values[:index]), median(values[index:])
    # cost(t) − cost(min_segment) = Σ_{min_segment ≤ i < t} (|x_i − before| − |x_i − after|)
    costs = {min_segment: 0.0}
    cost = 0.0
    for split in range(min_segment + 1, len(values) - min_segment + 1):
        value = values[split - 1]
        cost += abs(value - before) - abs(value - after)
        costs[split] = cost
    return min(costs, key=lambda split: (costs[split], abs(split - index)))


def _significant_splits(values: Sequence[float], level: float, min_segment: int) -> dict[int, float]:
    """Binary segmentation: index → p-value of every split whose Pettitt test is below `level`."""
    found: dict[int, float] = {}
    segments = [(0, len(values))]
    while segments:
        start, end = segments.pop()
        segment = values[start:end]
        result = pettitt(segment, min_segment)
        if result is None or result.p_value >= level:
            continue
        split = start + refine(segment, result.index, min_segment)
        found[split] = result.p_value
        segments += [(start, split), (split, end)]
    return found


def _worth_reading(before: float, after: float, threshold_percent: float, threshold_seconds: float) -> bool:
    change = abs(after - before)
    return change >= threshold_seconds and before > 0 and change / before * 100.0 >= threshold_percent


def find_changes(
    values: Sequence[float],
    *,
    level: float,
    min_segment: int,
    threshold_percent: float,
    threshold_seconds: float,
) -> list[Split]:
    """The change points of a series (positive durations, oldest first), in series order.

    Significant splits whose neighbouring segments differ by less than the floor are dropped one at a time, the
    smallest change first, and the segments around it merged, until every change left is worth reading.
    """
    splits = _significant_splits(values, level, min_segment)
    while True:
        ordered = sorted(splits)
        bounds = [0, *ordered, len(values)]
        levels = [median(values[low:high]) for low, high in itertools.pairwise(bounds)]
        changes = [
            Split(index, levels[position], levels[position + 1], splits[index])
            for position, index in enumerate(ordered)
        ]
        too_small = [
            split
            for split in changes
            if not _worth_reading(split.before_median, split.after_median, threshold_percent, threshold_seconds)
        ]
        if not too_small:
            return changes
        smallest = min(too_small, key=lambda split: abs(split.after_median - split.before_median))
        del splits[smallest.index]
