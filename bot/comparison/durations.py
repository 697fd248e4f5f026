"""Decide whether durations got slower or faster: baseline noise, confirmation, weighted Holm, detectable change.

All statistics work on log-durations (seconds below 1 count as 1). One *measure* (the run's wall
time, one job, one step) has baseline values from the base branch and one or more samples from the
pull request. A *family* is a set of measures whose false alarms are counted together (the run's
measures, the jobs, the steps); `judge_family` decides every measure of a family at once, sharing the
family's α by typical duration. The history's spread is winsorised (spikes count, capped), and nothing
is called slower that the base branch did unchanged (a stretch of as many slow runs in a row).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.comparison.statistics import (
    NormalReference,
    holm_rejections,
    lag_one_autocorrelation,
    median,
)

# Durations are whole seconds on GitHub; shorter ones count as this many seconds on the log scale.
SHORTEST_LOGGED_SECONDS = 1.0
# The base branch's current level is the mean log-duration of its last RECENT_RUNS runs: an old baseline
# is a wrong baseline when the level drifts (the spread still comes from every baseline run, each around
# the level of its own part of the history).
RECENT_RUNS = 10
# Without a second sample, a lone sample's p-value counts this many times larger: one slow spike cannot
# be told from a slowdown, and real CI noise has heavy right tails.
SINGLE_SAMPLE_STRICTNESS = 10.0
# Two modes when the largest gap between sorted log-durations (at least two runs on each side) is at least
# this many pooled within-mode standard deviations. A normal sample of 20 splits 0.1 % of the time, a heavy-tailed
# one (t, 3 df) about 1 %; two modes six deviations apart with 15 % in the upper one split about 63 % of the time.
MODE_GAP = 3.0
# A sample within a mode's own two-sided prediction bounds at this level is explained by that mode.
EXPLAINED_ALPHA = 0.05
# A run's deviation from its level counts at most this many robust standard deviations in the spread,
# in a history of at least WINSOR_MIN_RUNS runs (a median absolute deviation of fewer is too rough to cap by:
# replayed with 10-run baselines, capping added false alarms; with 20, none).
WINSOR_LIMIT = 3.5
WINSOR_MIN_RUNS = 15
# Log-durations closer than this are the same duration (floating-point rounding).
_TIED = 1e-9
# Samples within this log-ratio (5 %) above a stretch of the base branch's runs are no slower than it: slow
# stretches (runner or pool trouble) recur at magnitudes a few percent apart.
SEEN_MARGIN = math.log(1.05)


def log_seconds(seconds: float) -> float:
    """ln(seconds), counting durations under SHORTEST_LOGGED_SECONDS as that long."""
    return math.log(seconds) if seconds > SHORTEST_LOGGED_SECONDS else 0.0


class Call(StrEnum):
    """What the evidence on one measure supports."""

    SLOWER = "slower"
    FASTER = "faster"
    NO_CHANGE = "no-change"
    NEEDS_CONFIRMATION = "needs-confirmation"


@dataclass(frozen=True, slots=True)
class DecisionRules:
    """The knobs of a decision; `ComparisonOptions` carries them from the App's configuration."""

    alpha: float
    threshold_percent: float
    threshold_seconds: float
    confirm: bool


def _sum_of_squares(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((value - mean) ** 2 for value in values)


def _split(logs: Sequence[float], min_gap: float) -> tuple[int, float] | None:
    """Where the sorted `logs` fall apart into a faster and a slower group, and the pooled spread; None if they don't.

    The split is at the largest gap between neighbours, kept when the gap is at least MODE_GAP pooled
    within-group standard deviations and at least `min_gap` (modes closer than the smallest change worth
    reading are one mode), and each side has at least two runs (a lone spike is no mode).
    """
    count = len(logs)
    if count < 4:
        return None
    gaps = [later - earlier for earlier, later in itertools.pairwise(logs[1:-1])]  # between logs[i] and logs[i + 1]
    index = max(range(len(gaps)), key=gaps.__getitem__) + 2  # the first run of the slower group
    gap = gaps[index - 2]
    if gap < min_gap or gap <= 0:  # most histories: nothing more to work out
        return None
    pooled = math.sqrt((_sum_of_squares(logs[:index]) + _sum_of_squares(logs[index:])) / (count - 2))
    return (index, pooled) if gap >= MODE_GAP * pooled else None


def _recent_level(logs: Sequence[float], cut: int) -> NormalReference:
    """One mode: the level of the runs from `cut` on, and the spread of every run around its own level.

    The history is cut into the older runs and the recent ones; each run deviates from the mean of its
    part. A level shift between the parts (a change on the base branch) is then no noise, while spikes
    anywhere are. The lag-1 autocorrelation is that of the same deviations.
    """
    count = len(logs)
    recent = logs[cut:]
    older = logs[:cut]
    if len(older) < 2:
        mean = _mean(logs)
        deviations = [value - mean for value in logs]
        return NormalReference(
            mean, _spread(deviations, count - 1), count, count - 1, max(0.0, lag_one_autocorrelation(logs))
        )
    older_mean, recent_mean = _mean(older), _mean(recent)
    deviations = [value - older_mean for value in older] + [value - recent_mean for value in recent]
    correlation = max(0.0, lag_one_autocorrelation(deviations))
    return NormalReference(recent_mean, _spread(deviations, count - 2), len(recent), count - 2, correlation)


def _spread(deviations: Sequence[float], degrees_of_freedom: int) -> float:
    """The standard deviation of `deviations` (from their level), each counted at most WINSOR_LIMIT robust ones.

    The robust standard deviation is 1.4826 × the median absolute deviation (σ for normal noise). One 8×
    spike in the history then widens the spread like a +3.5 σ run, not like itself: spikes are the
    confirming re-run's and the slow stretches' business, and the spread stays that of the runs' usual noise.
    Fewer than WINSOR_MIN_RUNS deviations are counted as they are.
    """
    robust = 1.4826 * median([abs(deviation) for deviation in deviations])
    # Durations in whole seconds can tie (their logs then differ by rounding only): no limit then.
    limit = WINSOR_LIMIT * robust if robust > _TIED and len(deviations) >= WINSOR_MIN_RUNS else math.inf
    return math.sqrt(sum(min(abs(deviation), limit) ** 2 for deviation in deviations) / degrees_of_freedom)


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read a history: its modes, fastest first (one mode for most histories).

    With two modes (cache hit and miss, skipped work) a sample is compared within the mode that explains
    it: against the slowest mode that explains it or lies below it (see `p_slower`).
    """

    modes: tuple[NormalReference, ...]

    def _explains(self, mode: NormalReference, value: float, count: int) -> bool:
        """`value` (the mean of `count` samples) is within `mode`'s own two-sided bounds at EXPLAINED_ALPHA."""
        greater, less = mode.p_values(value, count)
        return min(greater, less) > EXPLAINED_ALPHA / 2

    def _slower_reference(self, value: float, count: int) -> NormalReference:
        reference = self.modes[0]
        for mode in self.modes[1:]:
            if mode.mean <= value or self._explains(mode, value, count):
                reference = mode
        return reference

    def p_slower(self, value: float, count: int) -> float:
        """One-sided p-value that `value` (the mean log of `count` samples) is slower than this history."""
        return self._slower_reference(value, count).p_values(value, count)[0]

    def p_faster(self, value: float, count: int) -> float:
        """The mirror of `p_slower`: against the fastest mode that explains `value` or lies above it."""
        reference = self.modes[-1]
        for mode in reversed(self.modes[:-1]):
            if mode.mean >= value or self._explains(mode, value, count):
                reference = mode
        return reference.p_values(value, count)[1]

    def slower_bar(self, count: int, alpha: float) -> float:
        """The smallest mean log of `count` samples with `p_slower` ≤ `alpha`."""
        for mode in self.modes:
            bar = mode.mean + mode.bound(count, alpha)
            if self._slower_reference(bar, count) is mode:
                return bar
        return bar  # the slowest mode's

    def centre_above(self, value: float, count: int, chance: float) -> float:
        """Where the mean log of `count` new samples must be centred to land above `value` with probability `chance`.

        The samples' own noise is that of the mode `value` is judged against.
        """
        if chance == 0.5:
            return value
        return value + self._slower_reference(value, count).bound(count, 1.0 - chance)


@dataclass(frozen=True, slots=True)
class BaselineNoise:
    """What the base branch's history says about one measure, on the log scale.

    Most histories have one reading with one mode (see `_recent_level`; spikes widen the spread: the
    tails are real). A history that falls apart into two groups of at least two runs each (see `_split`)
    has two modes when the groups interleave in time. When one group holds the oldest runs and the
    other the newest, it reads both as two modes and as the base branch's level having moved (the later
    group's level, see `_recent_level`), and a sample must look slower under both readings. Every mode
    carries a lag-1 autocorrelation: samples taken close together move together.
    """

    readings: tuple[Reading, ...]

    @classmethod
    def of(cls, logs: Sequence[float], min_gap: float) -> BaselineNoise:
        """The history from its log-durations, oldest first; modes at least `min_gap` apart (see `_split`)."""
        ordered = sorted(logs)
        count = len(ordered)
        split = _split(ordered, min_gap)
        if split is None:
            return cls((Reading((_recent_level(logs, max(0, count - RECENT_RUNS)),)),))
        index, pooled = split
        correlation = max(0.0, lag_one_autocorrelation(logs))
        modes = Reading(
            tuple(
                NormalReference(_mean(group), pooled, len(group), count - 2, correlation)
                for group in (ordered[:index], ordered[index:])
            )
        )
        slow = [value >= ordered[index] for value in logs]
        if sum(1 for earlier, later in itertools.pairwise(slow) if earlier != later) > 1:
            return cls((modes,))
        return cls((modes, Reading((_recent_level(logs, slow.index(slow[-1])),))))

    @property
    def multimodal(self) -> bool:
        return any(len(reading.modes) > 1 for reading in self.readings)

    def p_slower(self, value: float, count: int) -> float:
        """One-sided p-value that `value` (the mean log of `count` samples) is slower than the history."""
        return max(reading.p_slower(value, count) for reading in self.readings)

    def p_faster(self, value: float, count: int) -> float:
        """One-sided p-value that `value` is faster than the history."""
        return max(reading.p_faster(value, count) for reading in self.readings)

    def slower_bar(self, count: int, alpha: float, chance: float = 0.5) -> float:
        """Where the mean log of `count` samples must be centred to have `p_slower` ≤ `alpha` with probability `chance`.

        With the default chance of one half: the smallest mean log with `p_slower` ≤ `alpha`.
        """
        return max(reading.centre_above(reading.slower_bar(count, alpha), count, chance) for reading in self.readings)

    def centre_above(self, value: float, count: int, chance: float) -> float:
        """Where the mean log of `count` new samples must be centred to land above `value` with probability `chance`."""
        return max(reading.centre_above(value, count, chance) for reading in self.readings)


@dataclass(frozen=True, slots=True)
class Measure:
    """One measure to judge: its baseline durations and the pull request's samples (seconds).

    With a control for common-mode slowness (see `run_speed`), `baseline_offsets` holds the log-offset of
    each baseline value and `sample_offsets` that of each sample, None for a sample without one.
    """

    baseline: Sequence[float]
    samples: Sequence[float]
    baseline_offsets: Sequence[float] | None = None
    sample_offsets: Sequence[float | None] | None = None
    # How many times stronger than the family's level a lone sample's evidence must be to call it slower:
    # 1 when something else backs it (the run's wall time, by slower jobs that explain it), infinite when
    # it may only be called slower backed.
    lone_strictness: float | None = None  # None: SINGLE_SAMPLE_STRICTNESS
    # The same as the procedure can reach it, for the smallest detectable change (None: `lone_strictness`).
    reachable_lone_strictness: float | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """The decision on one measure, with the numbers behind it."""

    call: Call
    baseline_median: float
    change_seconds: float
    change_percent: float | None
    smallest_detectable_percent: float | None


class _Evidence:
    """A measure's samples against its history: raw, and with the common-mode control where there is one.

    The size of the change is worked out at once; the histories only when asked for (most steps of a run
    change too little to be judged, and never need them).
    """

    __slots__ = (
        "_frame",
        "_judged",
        "_raw",
        "change_percent",
        "change_seconds",
        "measure",
        "median_seconds",
        "min_gap",
        "sample_logs",
    )

    def __init__(self, measure: Measure, rules: DecisionRules) -> None:
        self.measure = measure
        self.min_gap = math.log1p(rules.threshold_percent / 100.0)
        self.sample_logs = tuple(log_seconds(value) for value in measure.samples)
        self.median_seconds = median(measure.baseline)
        self.change_seconds, self.change_percent = change_of(self.median_seconds, measure.samples)
        self._judged: tuple[tuple[tuple[float, BaselineNoise], ...], tuple[float, BaselineNoise]] | None = None
        # The log-durations the samples' mean is judged in (net of the control, or raw): baseline, samples.
        self._frame: tuple[list[float], list[float]] = ([], [])
        self._raw: tuple[list[float], BaselineNoise] | None = None

    def raw_history(self) -> tuple[list[float], BaselineNoise]:
        """The baseline's log-durations as they are, and the history they make (a sample without control's)."""
        if self._raw is None:
            logs = [log_seconds(value) for value in self.measure.baseline]
            self._raw = (logs, BaselineNoise.of(logs, self.min_gap))
        return self._raw

    @property
    def sample_count(self) -> int:
        return len(self.sample_logs)

    def _histories(self) -> tuple[tuple[tuple[float, BaselineNoise], ...], tuple[float, BaselineNoise]]:
        """Each sample with the history it is judged by alone; the samples' mean with the family test's.

        A sample with a common-mode offset is judged net of it, against the history net of its own
        offsets; one without (a job re-run alone) against the raw history. The mean uses the control only
        when every sample has it. Each history is worked out only when some sample needs it.
        """
        if self._judged is None:
            measure = self.measure
            offsets = measure.sample_offsets or [None] * len(self.sample_logs)
            controlled_logs: list[float] = []
            controlled = None
            if measure.baseline_offsets is not None and any(offset is not None for offset in offsets):
                raw_logs = [log_seconds(value) for value in measure.baseline]
                controlled_logs = [
                    value - offset for value, offset in zip(raw_logs, measure.baseline_offsets, strict=True)
                ]
                controlled = BaselineNoise.of(controlled_logs, self.min_gap)
            if controlled is not None and all(offset is not None for offset in offsets):
                each = tuple(
                    (value - (offset or 0.0), controlled)
                    for value, offset in zip(self.sample_logs, offsets, strict=True)
                )
                self._frame = (controlled_logs, [value for value, _ in each])
                mean = (_mean(self._frame[1]), controlled)
            else:
                baseline_logs, raw = self.raw_history()
                self._frame = (baseline_logs, list(self.sample_logs))
                each = tuple(
                    (value - offset, controlled) if offset is not None and controlled is not None else (value, raw)
                    for value, offset in zip(self.sample_logs, offsets, strict=True)
                )
                mean = (_mean(self.sample_logs), raw)
            self._judged = (each, mean)
        return self._judged

    def slowest_stretch(self, width: int) -> float:
        """The base branch's slowest stretch of `width` runs in a row in the samples' frame (see `slowest_stretch`)."""
        self._histories()
        baseline, _ = self._frame
        return slowest_stretch(baseline, width)

    def seen_on_base_branch(self, width: int) -> bool:
        """The base branch, unchanged, had `width` runs in a row each about as slow as the samples' fastest.

        "About": within SEEN_MARGIN. CI spikes come in stretches (a slow runner pool, a busy host), and no
        test on the history's spread tells two spikes in a row from a slowdown when the base branch
        itself had such a stretch: the App does not call slower what the base branch did unchanged.
        """
        self._histories()
        _, samples = self._frame
        return min(samples) <= self.slowest_stretch(width) + SEEN_MARGIN

    @property
    def each(self) -> tuple[tuple[float, BaselineNoise], ...]:
        return self._histories()[0]

    @property
    def mean_history(self) -> BaselineNoise:
        """The history the samples' mean is judged by."""
        return self._histories()[1][1]

    @property
    def p_slower(self) -> float:
        value, noise = self._histories()[1]
        return noise.p_slower(value, self.sample_count)

    @property
    def p_faster(self) -> float:
        value, noise = self._histories()[1]
        return noise.p_faster(value, self.sample_count)


def slowest_stretch(logs: Sequence[float], width: int) -> float:
    """The slowest stretch of `width` consecutive values of `logs`, as its fastest value (-inf when too short)."""
    return max((min(logs[start : start + width]) for start in range(len(logs) - width + 1)), default=-math.inf)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def change_of(baseline_median: float, samples: Sequence[float]) -> tuple[float, float | None]:
    """The change (seconds, percent) from the baseline median to the samples: the one, or their geometric mean."""
    typical = samples[0] if len(samples) == 1 else math.exp(_mean([log_seconds(value) for value in samples]))
    change = typical - baseline_median
    return change, change / baseline_median * 100.0 if baseline_median else None


def worth_reading(change_seconds: float, change_percent: float | None, rules: DecisionRules) -> bool:
    """The change is at least `threshold_percent` and `threshold_seconds`: smaller ones are never called."""
    return abs(change_seconds) >= rules.threshold_seconds and (
        change_percent is None or abs(change_percent) >= rules.threshold_percent
    )


def _large(evidence: _Evidence, rules: DecisionRules) -> bool:
    return worth_reading(evidence.change_seconds, evidence.change_percent, rules)


def _most_samples_past(evidence: _Evidence, alpha: float, *, slower: bool) -> bool:
    """More than half of the samples (so both of two) each look slower (faster) at one-sided level `alpha`.

    One slow spike among the samples cannot make a verdict on its own.
    """
    past = sum(
        1
        for value, noise in evidence.each
        if (noise.p_slower(value, 1) if slower else noise.p_faster(value, 1)) <= alpha
    )
    return past > evidence.sample_count // 2


def _backed(evidence: _Evidence) -> bool:
    """A lone sample called slower on what backs it (`Measure.lone_strictness` 1), not on its own samples."""
    return evidence.sample_count == 1 and evidence.measure.lone_strictness == 1.0


def _family_p_value(p_value: float, sample_count: int, strictness: float) -> float:
    """The p-value as the family test uses it: one sample alone must be `strictness` times stronger."""
    return p_value if sample_count > 1 else min(1.0, p_value * strictness)  # inf × 0 never: p > 0 here


def _each_sample_chance(sample_count: int) -> float:
    """The chance each of `sample_count` independent samples must have so that more than half pass, half of the time."""
    needed = sample_count // 2 + 1
    low, high = 0.0, 1.0
    for _ in range(40):
        chance = (low + high) / 2
        passing = sum(
            math.comb(sample_count, k) * chance**k * (1 - chance) ** (sample_count - k)
            for k in range(needed, sample_count + 1)
        )
        low, high = (chance, high) if passing < 0.5 else (low, chance)
    return high


def _smallest_detectable_percent(evidence: _Evidence, share: float, rules: DecisionRules) -> float:
    """The smallest slowdown (%) these rules would call slower about half of the time.

    Each sample is that much slower than the history, plus its own noise; the procedure counts: with
    confirmation allowed, one sample leads to a second, and more than half of the samples must each look
    slower (for two: each one with a chance of √½) and be slower than the base branch's slowest stretch.
    The measure's Bonferroni level α·share is the most it can need under Holm. Figured on the history the first
    sample is judged by (with the control where it has one), and relative to the baseline median.
    """
    if not evidence.median_seconds:
        return math.inf
    _, noise = evidence.each[0]
    sample_count = max(evidence.sample_count, 2) if rules.confirm else evidence.sample_count
    level = rules.alpha * share
    each = _each_sample_chance(sample_count)
    if sample_count > evidence.sample_count:
        # The confirming sample is usually a job re-run alone: judged, with the mean, without the control (when
        # several jobs look slower the whole run is re-run and keeps it: the figure is then a little cautious).
        baseline_logs, later = evidence.raw_history()
        mean_noise, stretch = later, slowest_stretch(baseline_logs, sample_count)
    else:
        later, mean_noise, stretch = noise, evidence.mean_history, evidence.slowest_stretch(sample_count)
    seen = later.centre_above(stretch + SEEN_MARGIN, 1, each)
    if sample_count == 1:
        measure = evidence.measure
        strictness = measure.reachable_lone_strictness or measure.lone_strictness or SINGLE_SAMPLE_STRICTNESS
        if math.isinf(strictness):
            return math.inf
        if strictness == 1.0:  # backed by other measures, not judged on its own samples
            seen = -math.inf
        level /= strictness
    needed = max(mean_noise.slower_bar(sample_count, level), seen)
    if sample_count > 1:
        sample_level = _sample_level(rules, share)
        needed = max(needed, noise.slower_bar(1, sample_level, each), later.slower_bar(1, sample_level, each))
    ratio = math.exp(needed - math.log(evidence.median_seconds))
    floor = max(rules.threshold_percent / 100.0, rules.threshold_seconds / evidence.median_seconds)
    return max(ratio - 1.0, floor) * 100.0


def _sample_level(rules: DecisionRules, share: float) -> float:
    """The one-sided level at which each sample of a measure must look slower on its own: √(α·share).

    Two independent samples both pass it with probability α·share, the measure's Bonferroni level.
    It is also the level at which one sample asks for a second.
    """
    return math.sqrt(rules.alpha * share)


def _alpha_weights(evidence: Sequence[_Evidence], family_size: int) -> list[float]:
    """Each measure's weight in its family's α, in proportion to its baseline median: the minutes at stake.

    A slowdown of a 60-minute job costs twelve times what the same slowdown of a 5-minute job does, so the
    long job gets twelve times the share of the family's false alarms (Holm's weighted procedure keeps the
    family's guarantee). Weights have a mean of 1; measures left out of the judging (`family_size` counts
    them) weigh 1 each.
    """
    seconds = [max(item.median_seconds, SHORTEST_LOGGED_SECONDS) for item in evidence]
    mean = sum(seconds) / len(seconds)
    return [value / mean for value in seconds] + [1.0] * (family_size - len(evidence))


def judge_family(
    measures: Sequence[Measure],
    rules: DecisionRules,
    *,
    detectable: bool = True,
    family_size: int | None = None,
    by_duration: bool = True,
) -> list[Judgement]:
    """Decide every measure of one family; false "slower" calls in the family stay at about `rules.alpha`.

    Per measure and direction: the mean log-duration of the samples against the history (a prediction
    p-value for the mean of m new values, see `BaselineNoise`), Holm's procedure over the family with α
    shared in proportion to the measures' typical durations (see `_alpha_weights`; equally with
    `by_duration=False`, for measures of different kinds such as a wall time and a sum of jobs), a change
    of at least the thresholds, and more than half of the samples looking slower (faster) on their own.
    A lone sample's evidence counts `Measure.lone_strictness` times less. Nothing
    is called slower that the base branch itself did unchanged: as many runs in a row as there are
    samples, each about as slow (see `_Evidence.seen_on_base_branch`). With `rules.confirm`, a lone
    sample that looks slower is not called slower but NEEDS_CONFIRMATION, unless the base branch had two
    runs in a row as slow as it (a second sample could not change the answer).
    `detectable=False` leaves out the smallest detectable change (steps, where nobody reads it).
    `family_size` counts measures of the family left out of `measures` because their change is not worth
    reading (see `worth_reading`): they can never be called, and count as tests with p = 1.
    """
    if not measures:
        return []
    family_size = family_size or len(measures)
    left_out = [1.0] * (family_size - len(measures))
    evidence = [_Evidence(measure, rules) for measure in measures]
    weights = _alpha_weights(evidence, family_size) if by_duration else [1.0] * family_size
    shares = [weight / family_size for weight in weights]  # the weights' sum is the family's size
    large = [_large(item, rules) for item in evidence]
    # A change too small to matter is never called: its p-value is not worked out, and counts as 1 (this
    # only makes Holm's procedure stricter for the others).
    count = len(measures)
    slower = holm_rejections(
        [
            _family_p_value(item.p_slower, item.sample_count, item.measure.lone_strictness or SINGLE_SAMPLE_STRICTNESS)
            if big and item.change_seconds > 0
            else 1.0
            for item, big in zip(evidence, large, strict=True)
        ]
        + left_out,
        rules.alpha,
        weights,
    )[:count]
    faster = holm_rejections(
        [
            _family_p_value(item.p_faster, item.sample_count, SINGLE_SAMPLE_STRICTNESS)
            if big and item.change_seconds < 0
            else 1.0
            for item, big in zip(evidence, large, strict=True)
        ]
        + left_out,
        rules.alpha,
        weights,
    )[:count]
    judgements = []
    for item, big, holm_slower, holm_faster, share in zip(evidence, large, slower, faster, shares[:count], strict=True):
        sample_level = _sample_level(rules, share)
        call = Call.NO_CHANGE
        if big and item.change_seconds > 0 and _most_samples_past(item, sample_level, slower=True):
            if item.sample_count == 1 and rules.confirm:
                # No re-run when even a second sample as slow as this one would match the base branch's stretches.
                if not item.seen_on_base_branch(2):
                    call = Call.NEEDS_CONFIRMATION
            elif holm_slower and (_backed(item) or not item.seen_on_base_branch(item.sample_count)):
                call = Call.SLOWER
        elif holm_faster and _most_samples_past(item, sample_level, slower=False):
            call = Call.FASTER
        judgements.append(
            Judgement(
                call=call,
                baseline_median=item.median_seconds,
                change_seconds=item.change_seconds,
                change_percent=item.change_percent,
                smallest_detectable_percent=(_smallest_detectable_percent(item, share, rules) if detectable else None),
            )
        )
    return judgements
