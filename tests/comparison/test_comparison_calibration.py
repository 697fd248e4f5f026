"""Calibration of the duration verdicts by deterministic simulation of hosted-runner noise.

Each trial draws a 20-run baseline and the pull request's sample(s) from a log-normal distribution
(σ = 0.10 of log-duration around 300 s), the PR shifted by a true change, and runs `compare_run` on
one-job runs. The run's two measures (wall time and total job time) share α = 5 %: each is a one-sided
prediction interval at 2.5 % with one sample, so a run with no real change is called slower at most
5 % of the time (2.5 % per measure by construction); 1,000 trials measure it to about ±1 % (95 %).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.comparison import ComparisonOptions, JobRecord, RunRecord, Verdict, compare_run
from bot.comparison.statistics import wilson_interval

TRIALS = 1_000
BASELINE_RUNS = 20
TYPICAL_SECONDS = 300.0
LOG_SIGMA = 0.10
SEED = 20261124
START = datetime(2026, 11, 1, tzinfo=UTC)
OPTIONS = ComparisonOptions()


def one_job_run(run_id: int, seconds: float) -> RunRecord:
    created_at = START + timedelta(hours=run_id)
    job = JobRecord("test", "success", created_at, created_at, created_at + timedelta(seconds=seconds))
    return RunRecord(
        id=run_id,
        workflow_id=1,
        workflow_name="CI",
        workflow_path="ci.yml",
        head_sha="a" * 40,
        head_branch="main",
        event="push",
        status="completed",
        conclusion="success",
        run_attempt=1,
        created_at=created_at,
        run_started_at=created_at,
        updated_at=created_at + timedelta(seconds=seconds),
        html_url=None,
        jobs=(job,),
    )


def verdict_rates(rng: random.Random, true_change: float, pr_sample_count: int) -> dict[Verdict | str, float]:
    """Share of trials per wall-time verdict when the PR is `true_change` (0.2 = +20 %) slower, and under
    "either" the share in which wall time or total job time was called slower (the run-level claim)."""
    counts: dict[Verdict | str, int] = dict.fromkeys([*Verdict, "either"], 0)
    for _ in range(TRIALS):
        baseline = [
            one_job_run(index, TYPICAL_SECONDS * math.exp(rng.gauss(0.0, LOG_SIGMA))) for index in range(BASELINE_RUNS)
        ]
        samples = [
            one_job_run(1000 + attempt, TYPICAL_SECONDS * (1 + true_change) * math.exp(rng.gauss(0.0, LOG_SIGMA)))
            for attempt in range(pr_sample_count)
        ]
        comparison = compare_run(samples[-1], baseline, OPTIONS, pr_samples=samples[:-1])
        counts[comparison.wall_time.verdict] += 1
        counts["either"] += Verdict.REGRESSION in (comparison.wall_time.verdict, comparison.total_job_time.verdict)
    return {verdict: count / TRIALS for verdict, count in counts.items()}


def test_false_alarms_on_pure_noise_stay_at_alpha() -> None:
    rates = verdict_rates(random.Random(SEED), true_change=0.0, pr_sample_count=1)
    false_alarms = round(rates[Verdict.REGRESSION] * TRIALS)
    print(
        f"\npure noise, 1 PR sample: {rates[Verdict.REGRESSION]:.1%} flagged slower, "
        f"{rates[Verdict.IMPROVEMENT]:.1%} flagged faster, {rates['either']:.1%} called slower by either measure"
    )
    assert rates["either"] <= OPTIONS.alpha
    assert rates[Verdict.IMPROVEMENT] <= OPTIONS.alpha
    # Each measure is tested at α/2 by construction: the observed rate must be consistent with that.
    assert wilson_interval(false_alarms, TRIALS).low <= OPTIONS.alpha / 2


def test_false_alarms_with_three_samples_stay_at_alpha() -> None:
    rates = verdict_rates(random.Random(SEED + 3), true_change=0.0, pr_sample_count=3)
    print(f"\npure noise, 3 PR samples: {rates[Verdict.REGRESSION]:.1%} flagged slower")
    assert rates[Verdict.REGRESSION] <= OPTIONS.alpha  # the exact Mann–Whitney test is conservative


def test_detects_fifty_percent_slower_with_one_sample() -> None:
    rates = verdict_rates(random.Random(SEED + 1), true_change=0.5, pr_sample_count=1)
    print(f"\n+50 %, 1 PR sample: {rates[Verdict.REGRESSION]:.1%} flagged slower")
    assert rates[Verdict.REGRESSION] >= 0.90


def test_detection_rates_grow_with_the_change_and_with_more_samples() -> None:
    rng = random.Random(SEED + 2)
    table = {
        samples: [verdict_rates(rng, change, samples)[Verdict.REGRESSION] for change in (0.2, 0.3, 0.4)]
        for samples in (1, 3)
    }
    print("\ndetection rate   +20 %   +30 %   +40 %")
    for samples, rates in table.items():
        print(f"{samples} PR sample(s)  " + "  ".join(f"{rate:6.1%}" for rate in rates))
    for rates in table.values():
        assert rates[0] <= rates[1] <= rates[2]
    single, several = table[1], table[3]
    assert 0.35 <= single[0] <= 0.70  # STATISTICS.md: ≈ 52 % at +20 % with one sample
    assert single[2] >= 0.85  # ≈ 94 % at +40 %
    assert all(many >= one for one, many in zip(single, several, strict=False))


def test_a_run_of_thirty_noisy_jobs_rarely_gets_a_false_slower_job() -> None:
    """Without sharing α among jobs, 1 − 0.95³⁰ ≈ 79 % of unchanged runs would name some job slower."""
    rng = random.Random(SEED + 4)
    trials, job_count = 300, 30

    def many_job_run(run_id: int, shift: float) -> RunRecord:
        created_at = START + timedelta(hours=run_id)
        jobs = tuple(
            JobRecord(
                f"test ({index})",
                "success",
                created_at,
                created_at,
                created_at + timedelta(seconds=TYPICAL_SECONDS * shift * math.exp(rng.gauss(0.0, LOG_SIGMA))),
            )
            for index in range(job_count)
        )
        return replace(one_job_run(run_id, TYPICAL_SECONDS), jobs=jobs)

    flagged = 0
    for _ in range(trials):
        baseline = [many_job_run(index, 1.0) for index in range(BASELINE_RUNS)]
        comparison = compare_run(many_job_run(1000, 1.0), baseline, OPTIONS)
        flagged += any(job.duration.verdict is Verdict.REGRESSION for job in comparison.jobs)
    print(f"\npure noise, 30 jobs: {flagged / trials:.1%} of runs name a job slower")
    assert flagged / trials <= 0.08
    # and a real +60 % slowdown of one job is still found
    baseline = [many_job_run(index, 1.0) for index in range(BASELINE_RUNS)]
    slow = many_job_run(1000, 1.0)
    slow = replace(
        slow,
        jobs=(
            replace(slow.jobs[0], completed_at=slow.jobs[0].started_at + timedelta(seconds=TYPICAL_SECONDS * 1.6)),
            *slow.jobs[1:],
        ),
    )
    assert compare_run(slow, baseline, OPTIONS).jobs[0].duration.verdict is Verdict.REGRESSION
