"""Calibration of the duration verdicts by deterministic simulation of CI noise, following the App's procedure.

Each trial draws a 20-run baseline of a 12-job workflow (jobs of 300–1,125 s run in parallel; the wall
time is the longest job plus a few seconds of queueing) and the pull request's run from one noise
generator, then does what the App does: compare with confirmation allowed; when the result awaits a
second sample, re-run what it names (the jobs in `confirm_jobs`, the whole run for `confirm_run`) and
decide on both samples. The generators are the phenomena of real CI timings:

* log-normal noise, σ = 0.10 of log-duration (the textbook case);
* heavy right tails: σ = 0.08 plus slow spikes (6 % of job runs, 1.3–3× as long);
* drift: the level takes a random walk (σ = 0.03 per run) under σ = 0.08 noise;
* common-mode slowness: each run's runner is σ = 0.10 faster or slower for all its jobs, plus σ = 0.06 per job;
* two modes: each job misses its cache in 15 % of runs and then takes 75 % longer (σ = 0.05 within a mode).

A re-run happens right after the first run: same level, fresh noise, a fresh runner. False alarms are
counted on the run's measures (wall time or total job time called slower) and on "some job called
slower" in unchanged pull requests; detection is one job made 30 % or 50 % slower in both samples.
The measured figures are in the README ("How slower and faster are decided"); `-s` prints them.
"""

from __future__ import annotations

import abc
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from bot.comparison import ComparisonOptions, JobRecord, RunComparison, RunRecord, Verdict, compare_run

BASELINE_RUNS = 20
JOBS = 12
TYPICAL_SECONDS = tuple(300.0 * (1 + 0.25 * index) for index in range(JOBS))
START = datetime(2026, 11, 1, tzinfo=UTC)
UNCHANGED_TRIALS = 200
DETECTION_TRIALS = 100
SEED = 20261130
CONFIRMING = ComparisonOptions(confirm=True)


def run_record(run_id: int, seconds: Sequence[float], *, attempt: int = 1, carried: Sequence[int] = ()) -> RunRecord:
    """A run of the 12 parallel jobs; `carried` jobs kept from attempt 1 (a partial re-run)."""
    created = START + timedelta(hours=min(run_id, 10_000))
    jobs = tuple(
        JobRecord(
            f"job {index}",
            "success",
            created,
            created,
            created + timedelta(seconds=duration),
            run_attempt=1 if index in carried else attempt,
        )
        for index, duration in enumerate(seconds)
    )
    ran = [duration for index, duration in enumerate(seconds) if index not in carried]
    wall = max(ran) + 10.0
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
        run_attempt=attempt,
        created_at=created,
        run_started_at=created,
        updated_at=created + timedelta(seconds=wall),
        html_url=None,
        jobs=jobs,
    )


class Noise(abc.ABC):
    """Log-deviations of each job's duration in a run at time `t` (one generator per trial)."""

    name = ""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    @abc.abstractmethod
    def draw(self, t: int) -> list[float]:
        """The log-deviation of each job in the run at time `t`."""


class LogNormal(Noise):
    name = "log-normal, σ = 0.10"

    def draw(self, t: int) -> list[float]:
        return [self.rng.gauss(0.0, 0.10) for _ in range(JOBS)]


class HeavyTail(Noise):
    name = "heavy tail: 6 % spikes of 1.3–3×"

    def draw(self, t: int) -> list[float]:
        spike = math.log(1.3), math.log(3.0)
        return [
            self.rng.gauss(0.0, 0.08) + (self.rng.uniform(*spike) if self.rng.random() < 0.06 else 0.0)
            for _ in range(JOBS)
        ]


class Drift(Noise):
    name = "drift: random walk of 0.03 a run"

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.levels: list[list[float]] = [[0.0] * JOBS]

    def draw(self, t: int) -> list[float]:
        while len(self.levels) <= t:
            self.levels.append([level + self.rng.gauss(0.0, 0.03) for level in self.levels[-1]])
        return [level + self.rng.gauss(0.0, 0.08) for level in self.levels[t]]


class CommonMode(Noise):
    name = "common mode: runner ±0.10 for all jobs"

    def draw(self, t: int) -> list[float]:
        runner = self.rng.gauss(0.0, 0.10)
        return [runner + self.rng.gauss(0.0, 0.06) for _ in range(JOBS)]


class TwoModes(Noise):
    name = "two modes: 15 % cache misses, +75 %"

    def draw(self, t: int) -> list[float]:
        miss = math.log(1.75)
        return [self.rng.gauss(0.0, 0.05) + (miss if self.rng.random() < 0.15 else 0.0) for _ in range(JOBS)]


GENERATORS: tuple[type[Noise], ...] = (LogNormal, HeavyTail, Drift, CommonMode, TwoModes)


@dataclass(frozen=True, slots=True)
class Trial:
    """The first comparison the App makes and its final one (after a re-run, when one was asked for)."""

    first: RunComparison
    final: RunComparison


def app_procedure(
    first_seconds: list[float], rerun_seconds: Callable[[], list[float]], baseline: list[RunRecord]
) -> Trial:
    """Compare; if a second sample is awaited, re-run what the result names and decide on both samples."""
    first = run_record(100_000, first_seconds)
    comparison = compare_run(first, baseline, CONFIRMING)
    if not comparison.awaiting_confirmation:
        return Trial(comparison, comparison)
    fresh = rerun_seconds()
    if comparison.confirm_run:
        second = run_record(100_000, fresh, attempt=2)
    else:
        rerun = {int(name.split()[-1]) for name in comparison.confirm_jobs}
        mixed = [fresh[index] if index in rerun else first_seconds[index] for index in range(JOBS)]
        second = run_record(100_000, mixed, attempt=2, carried=[index for index in range(JOBS) if index not in rerun])
    final = compare_run(second, baseline, replace(CONFIRMING, confirm=False), pr_samples=[first, second])
    return Trial(comparison, final)


def trial(noise: Noise, slower_job: int | None, change: float) -> Trial:
    def seconds(t: int) -> list[float]:
        return [
            typical * math.exp(deviation) for typical, deviation in zip(TYPICAL_SECONDS, noise.draw(t), strict=True)
        ]

    def pull_request() -> list[float]:
        durations = seconds(BASELINE_RUNS)
        if slower_job is not None:
            durations[slower_job] *= 1.0 + change
        return durations

    baseline = [run_record(t + 1, seconds(t)) for t in range(BASELINE_RUNS)]
    return app_procedure(pull_request(), pull_request, baseline)


@dataclass(frozen=True, slots=True)
class Rates:
    false_run: float  # unchanged PRs whose wall time or total job time was called slower
    false_job: float  # unchanged PRs with some job called slower
    rerun: float  # unchanged PRs where the App re-ran something
    detected: dict[float, float]  # one job this much slower (+0.3, +0.5): share called slower


@cache
def rates(generator: type[Noise]) -> Rates:
    rng = random.Random(f"{SEED}-{generator.__name__}")
    false_run = false_job = rerun = 0
    for _ in range(UNCHANGED_TRIALS):
        outcome = trial(generator(rng), None, 0.0)
        final = outcome.final
        false_run += Verdict.REGRESSION in (final.wall_time.verdict, final.total_job_time.verdict)
        false_job += any(job.duration.verdict is Verdict.REGRESSION for job in final.jobs)
        rerun += outcome.first.awaiting_confirmation
    detected = {}
    for change in (0.3, 0.5):
        hits = 0
        for index in range(DETECTION_TRIALS):
            job = index % JOBS
            hits += trial(generator(rng), job, change).final.jobs[job].duration.verdict is Verdict.REGRESSION
        detected[change] = hits / DETECTION_TRIALS
    measured = Rates(false_run / UNCHANGED_TRIALS, false_job / UNCHANGED_TRIALS, rerun / UNCHANGED_TRIALS, detected)
    print(
        f"\n{generator.name:<40} false alarms: run {measured.false_run:.1%}, some job {measured.false_job:.1%}; "
        f"re-runs in {measured.rerun:.0%} of unchanged PRs; "
        f"detected +30 % {detected[0.3]:.0%}, +50 % {detected[0.5]:.0%}"
    )
    return measured


def test_textbook_noise_drift_and_common_mode_keep_false_alarms_under_two_percent() -> None:
    for generator in (LogNormal, Drift, CommonMode):
        measured = rates(generator)
        assert measured.false_run <= 0.02, generator.name
        assert measured.false_job <= 0.02, generator.name


def test_heavy_tails_and_rare_modes_cost_some_false_alarms() -> None:
    """Two slow spikes in a row, or two cache misses a history of 20 runs barely shows, look like a slowdown.

    The README states these rates; this keeps them from growing unnoticed.
    """
    for generator in (HeavyTail, TwoModes):
        measured = rates(generator)
        assert measured.false_run <= 0.03, generator.name
        assert measured.false_job <= 0.08, generator.name


def test_a_fifty_percent_slower_job_is_found() -> None:
    assert rates(LogNormal).detected[0.5] >= 0.85
    assert rates(Drift).detected[0.5] >= 0.70
    assert rates(CommonMode).detected[0.5] >= 0.60
    assert rates(HeavyTail).detected[0.5] >= 0.40
    # +50 % lands next to the +75 % cache-miss mode, which explains it: only about half are told apart.
    assert rates(TwoModes).detected[0.5] >= 0.35
    for generator in (LogNormal, HeavyTail, Drift, CommonMode):
        assert rates(generator).detected[0.3] <= rates(generator).detected[0.5], generator.name


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda generator: generator.__name__)
def test_confirmation_reruns_stay_a_minority_of_pull_requests(generator: type[Noise]) -> None:
    assert rates(generator).rerun <= 0.6
