"""The decision on durations: the history's modes, confirmation, a spike against a slowdown, Holm, detectable change."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from scipy import stats

from bot.comparison.durations import (
    RECENT_RUNS,
    BaselineNoise,
    Call,
    DecisionRules,
    Measure,
    judge_family,
    log_seconds,
)

# Twenty runs around 600 s, ±3 % in a fixed pattern (σ of log-duration ≈ 0.024).
PATTERN = (0.97, 0.99, 1.0, 1.01, 1.03)
STEADY = [600.0 * factor for factor in PATTERN * 4]
# The same with a cache-miss mode: four runs, here and there, 75 % longer.
MISSES = [1050.0 + 5 * index if index in (3, 8, 13, 17) else value for index, value in enumerate(STEADY)]
RULES = DecisionRules(alpha=0.01, threshold_percent=10.0, threshold_seconds=30.0, confirm=True)
FINAL = DecisionRules(alpha=0.01, threshold_percent=10.0, threshold_seconds=30.0, confirm=False)
MIN_GAP = math.log(1.1)  # modes closer than the 10 % worth reading are one


def logs(seconds: list[float]) -> list[float]:
    return [log_seconds(value) for value in seconds]


def judge(samples: list[float], rules: DecisionRules = RULES, baseline: list[float] = STEADY, **measure) -> Call:
    return judge_family([Measure(baseline, samples, **measure)], rules)[0].call


def test_one_mode_is_the_level_of_the_recent_runs_with_the_spread_around_each_parts_own_level() -> None:
    drifting = logs([500.0 + 10.0 * index for index in range(20)])
    noise = BaselineNoise.of(drifting, MIN_GAP)
    ((mode,),) = (reading.modes for reading in noise.readings)
    assert not noise.multimodal
    older, recent = drifting[:-RECENT_RUNS], drifting[-RECENT_RUNS:]
    assert mode.mean == pytest.approx(sum(recent) / RECENT_RUNS)
    pooled = (stats.tvar(older) * (len(older) - 1) + stats.tvar(recent) * (len(recent) - 1)) / 18
    assert mode.stdev == pytest.approx(math.sqrt(pooled))
    assert (mode.count, mode.degrees_of_freedom) == (RECENT_RUNS, 18)
    assert mode.correlation > 0.5  # a steady climb within each part: neighbours move together


@pytest.mark.parametrize("shift_at", [10, 16])
def test_a_level_shift_on_the_base_branch_is_no_noise_and_no_mode(shift_at) -> None:
    """Runs at 600 s, then at 720 s (a change merged on main): the level is 720 s, the spread ±3 %."""
    shifted = logs([600.0 * factor if index < shift_at else 720.0 * factor for index, factor in enumerate(PATTERN * 4)])
    noise = BaselineNoise.of(shifted, MIN_GAP)
    as_modes, as_shift = noise.readings  # two groups apart in time: read both ways
    assert len(as_modes.modes) == 2
    (mode,) = as_shift.modes
    assert math.exp(mode.mean) == pytest.approx(720.0, rel=0.02) and mode.count == 20 - shift_at
    assert mode.stdev < 0.03 < stats.tstd(shifted)
    assert noise.p_slower(math.log(680.0), 1) > 0.5  # under the new level: not slower than the old one
    assert noise.p_slower(math.log(860.0), 1) < 1e-6


def test_a_slow_mode_seen_only_at_the_start_of_the_history_still_explains_a_slow_run() -> None:
    """Three slow runs, then seventeen normal ones: a level that moved down, or a slow mode? Either way,
    another run as slow as those three is no evidence of a slowdown."""
    history = logs([1050.0, 1060.0, 1040.0, *STEADY[3:]])
    assert BaselineNoise.of(history, MIN_GAP).p_slower(math.log(1055.0), 1) > 0.05


def test_a_history_that_falls_apart_has_two_modes_but_a_lone_spike_is_no_mode() -> None:
    noise = BaselineNoise.of(logs(MISSES), MIN_GAP)
    ((fast, slow),) = (reading.modes for reading in noise.readings)
    assert noise.multimodal
    assert math.exp(fast.mean) == pytest.approx(600.0, rel=0.01)
    assert math.exp(slow.mean) == pytest.approx(stats.gmean([1065.0, 1090.0, 1115.0, 1135.0]))
    assert fast.stdev == slow.stdev < 0.03 and fast.degrees_of_freedom == 18
    assert not BaselineNoise.of(logs([*STEADY[:19], 1800.0]), MIN_GAP).multimodal


def test_a_sample_is_compared_within_the_mode_that_explains_it() -> None:
    noise = BaselineNoise.of(logs(MISSES), MIN_GAP)
    assert noise.p_slower(math.log(1055.0), 1) > 0.05  # another cache miss: seen before
    assert noise.p_slower(math.log(850.0), 1) < 1e-6  # between the modes: slower than a hit, no miss
    assert noise.p_slower(math.log(1500.0), 1) < 1e-6  # slower than a miss
    assert noise.p_faster(math.log(620.0), 1) > 0.05


@pytest.mark.parametrize("history", [STEADY, MISSES], ids=["one mode", "two modes"])
@pytest.mark.parametrize("count", [1, 2])
def test_the_slower_bar_is_where_the_p_value_reaches_the_level(history, count) -> None:
    noise = BaselineNoise.of(logs(history), MIN_GAP)
    bar = noise.slower_bar(count, 0.001)
    assert noise.p_slower(bar, count) == pytest.approx(0.001, rel=1e-6)
    assert noise.p_slower(bar + 0.01, count) < 0.001 < noise.p_slower(bar - 0.01, count)


def test_one_slow_sample_asks_for_a_second_and_two_decide() -> None:
    assert judge([780.0]) is Call.NEEDS_CONFIRMATION  # +30 % against ±3 %: looks slower
    assert judge([780.0, 790.0]) is Call.SLOWER  # the re-run agrees
    assert judge([1800.0, 605.0]) is Call.NO_CHANGE  # a 3× spike, then a normal run: no verdict from one spike
    assert judge([640.0]) is Call.NO_CHANGE  # +7 %: under the 10 % that is worth reading
    assert judge([400.0]) is Call.FASTER  # faster never waits for a re-run (it costs nothing to be wrong later)


def test_without_confirmation_a_lone_sample_needs_ten_times_the_evidence() -> None:
    noisy = [600.0 * factor for factor in (0.8, 0.9, 1.0, 1.1, 1.2) * 4]  # σ of log-duration ≈ 0.14
    # 1.53× is past the family level α = 1 % but not past α / 10 for a lone sample.
    p_value = BaselineNoise.of(logs(noisy), MIN_GAP).p_slower(math.log(600.0 * 1.53), 1)
    assert 0.001 < p_value < 0.01
    assert judge([600.0 * 1.53], FINAL, noisy) is Call.NO_CHANGE
    assert judge([600.0 * 1.53], FINAL, noisy, lone_strictness=1.0) is Call.SLOWER  # backed by something else
    assert judge([600.0 * 1.53], FINAL, noisy, lone_strictness=math.inf) is Call.NO_CHANGE
    assert judge([600.0 * 2.2], FINAL, noisy) is Call.SLOWER


def test_holm_shares_the_level_within_the_family() -> None:
    """The same +12 % sample is slower alone and not among thirty measures (its p-value fits α, not α/30)."""
    # Never two runs in a row above 600 s: +12 % is more than the base branch did (see the next test).
    noisy = [600.0 * factor for factor in (0.94, 1.06, 0.97, 1.03, 1.0) * 4]
    slow = [672.0, 675.0]
    p_value = BaselineNoise.of(logs(noisy), MIN_GAP).p_slower(sum(logs(slow)) / 2, 2)
    assert 0.01 / 30 < p_value < 0.01
    assert judge(slow, FINAL, noisy) is Call.SLOWER
    family = [Measure(noisy, slow), *(Measure(noisy, [600.0, 601.0]) for _ in range(29))]
    assert judge_family(family, FINAL)[0].call is Call.NO_CHANGE


def test_a_long_job_gets_a_larger_share_of_the_familys_alpha_than_a_short_one() -> None:
    """α is shared in proportion to the minutes at stake: +12 % on a 60-minute job is called, on a 5-minute job not."""
    pattern = (0.94, 1.06, 0.97, 1.03, 1.0) * 4
    hour = [3600.0 * factor for factor in pattern]
    five_minutes = [300.0 * factor for factor in pattern]
    quiet = [Measure(five_minutes, [300.0, 301.0]) for _ in range(9)]
    slowed_long = judge_family([Measure(hour, [4032.0, 4050.0]), Measure(five_minutes, [300.0, 301.0]), *quiet], FINAL)
    slowed_short = judge_family([Measure(hour, [3600.0, 3601.0]), Measure(five_minutes, [336.0, 338.0]), *quiet], FINAL)
    assert slowed_long[0].call is Call.SLOWER and slowed_short[1].call is Call.NO_CHANGE
    assert slowed_long[0].smallest_detectable_percent < slowed_long[1].smallest_detectable_percent


def test_the_common_mode_offset_explains_a_run_where_everything_was_slow() -> None:
    offsets = [0.0] * 20
    assert judge([780.0], baseline_offsets=offsets, sample_offsets=[math.log(1.3)]) is Call.NO_CHANGE
    assert judge([780.0], baseline_offsets=offsets, sample_offsets=[None]) is Call.NEEDS_CONFIRMATION


def test_a_spike_in_the_history_widens_the_spread_like_a_bad_run_not_like_itself() -> None:
    def spread(seconds: list[float]) -> float:
        (reading,) = BaselineNoise.of(logs(seconds), MIN_GAP).readings
        (mode,) = reading.modes
        return mode.stdev

    noisy = [600.0 * factor for factor in (0.9, 0.95, 1.0, 1.05, 1.1) * 4]
    spiked = [*noisy[:10], 4800.0, *noisy[11:]]  # one 8× run
    plain = statistics.stdev(logs(spiked))
    assert spread(spiked) < plain / 2  # the spike counts as 3.5 robust deviations, not as ln 8 ≈ 2.1
    assert spread(spiked) > spread(noisy)  # but it still counts
    assert spread(noisy) == pytest.approx(statistics.stdev(logs(noisy)), rel=0.1)  # normal noise: nothing capped
    # Ten runs are too few for a robust spread to cap by: the spike counts in full.
    short = [*noisy[:5], 4800.0, *noisy[6:10]]
    assert spread(short) == pytest.approx(statistics.stdev(logs(short)))
    # Whole seconds that mostly tie (11 older runs of exactly 60 s) have no robust spread: nothing is capped then,
    # the spike counts in full (capping everything at 0 would make any difference a certain slowdown).
    tied = [60.0] * 20 + [480.0]
    assert spread(tied) > 0.3


def test_what_the_base_branch_did_unchanged_is_never_called_slower() -> None:
    """Two +10 % runs in a row on the base branch: a pull request's two samples as slow are no slowdown."""
    stretch = [*STEADY[:8], 660.0, 660.0, *STEADY[10:]]  # a slow runner pool for two runs
    apart = [*STEADY[:4], 660.0, *STEADY[5:14], 660.0, *STEADY[15:]]  # the same runs, never two in a row
    assert judge([675.0, 680.0], FINAL, stretch) is Call.NO_CHANGE  # within 5 % of the stretch
    assert judge([675.0, 680.0], FINAL, apart) is Call.SLOWER
    assert judge([700.0, 705.0], FINAL, stretch) is Call.SLOWER  # more than 5 % above it
    # One sample as slow as such a stretch asks for no re-run: a second one could not change the answer.
    assert judge([680.0], RULES, stretch) is Call.NO_CHANGE
    assert judge([680.0], RULES, apart) is Call.NEEDS_CONFIRMATION
    # A lone sample must be more than 5 % above the slowest single run, unless slower jobs back it.
    slowest = [*STEADY[:19], 900.0]
    assert judge([920.0], FINAL, slowest, lone_strictness=1.0) is Call.SLOWER
    assert judge([920.0], FINAL, slowest) is Call.NO_CHANGE
    assert judge([1000.0], FINAL, slowest) is Call.SLOWER
    (judgement,) = judge_family([Measure(stretch, [680.0])], RULES)
    smallest = judgement.smallest_detectable_percent
    assert smallest is not None and smallest > (660.0 * 1.05 / 600.0 - 1) * 100  # above the stretch, noise and all


@pytest.mark.parametrize(("sigma", "runner"), [(0.1, 0.0), (0.2, 0.0), (0.05, 0.15)])
def test_a_slowdown_of_the_smallest_detectable_size_is_called_about_half_of_the_time(
    sigma: float, runner: float
) -> None:
    """The App's procedure on samples with the history's noise: one sample, net of its runner's speed (the run's
    other jobs tell it), and when it looks slower a confirming re-run of the job alone (no other jobs: no control)."""
    rng = random.Random(f"smallest-{sigma}-{runner}")
    called = []
    for _ in range(400):  # a history each time: the figure is estimated from it, the samples' noise is the truth's
        speeds = [rng.gauss(0.0, runner) for _ in range(20)]
        baseline = [600.0 * math.exp(speed + rng.gauss(0.0, sigma)) for speed in speeds]
        offsets = speeds if runner else None
        speed = rng.gauss(0.0, runner)
        (first,) = judge_family([Measure(baseline, [600.0], offsets, [0.0] if runner else None)], RULES)
        assert first.smallest_detectable_percent is not None
        slower = 600.0 * (1 + first.smallest_detectable_percent / 100)
        samples = [
            slower * math.exp(speed + rng.gauss(0.0, sigma)),
            slower * math.exp(rng.gauss(0.0, math.hypot(sigma, runner))),
        ]
        first_offset = [speed] if runner else None
        call = judge(samples[:1], RULES, baseline, baseline_offsets=offsets, sample_offsets=first_offset)
        confirmed = judge(
            samples, FINAL, baseline, baseline_offsets=offsets, sample_offsets=[speed, None] if runner else None
        )
        called.append(call is Call.NEEDS_CONFIRMATION and confirmed is Call.SLOWER)
    assert 0.35 <= sum(called) / len(called) <= 0.65


def test_the_smallest_detectable_change_is_where_calls_begin() -> None:
    (judgement,) = judge_family([Measure(STEADY, [600.0])], RULES)
    smallest = judgement.smallest_detectable_percent
    assert smallest is not None and 10.0 <= smallest < 20.0
    above = 600.0 * (1 + smallest / 100) * 1.001
    below = 600.0 * (1 + smallest / 100) * 0.999
    assert judge([above, above]) is Call.SLOWER and judge([below, below]) is Call.NO_CHANGE
    # Fewer than the threshold seconds can never be called: a 100 s job cannot show less than +30 %.
    short = [100.0 * factor for factor in PATTERN * 4]
    assert judge_family([Measure(short, [100.0])], RULES)[0].smallest_detectable_percent == pytest.approx(30.0)
