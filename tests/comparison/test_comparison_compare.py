"""Tests of the GitHub adapter and of the verdicts of `compare_run`; also builders for the other comparison tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.comparison import (
    ComparisonOptions,
    ComparisonStatus,
    FailureVerdict,
    JobRecord,
    Presence,
    RunRecord,
    StepRecord,
    Verdict,
    compare_durations,
    compare_run,
)

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
OFFICIAL_PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures/github-webhooks"
# A deterministic spread of about ±4 % around the nominal duration, repeating every five runs.
SPREAD = (0.96, 0.98, 1.0, 1.02, 1.04)
DEFAULT_STEPS = ("Set up job", "Run actions/checkout@v4", "Run tests")


def build_job(
    name: str,
    seconds: float,
    *,
    conclusion: str = "success",
    queue_seconds: float = 5.0,
    step_seconds: Mapping[str, float] | None = None,
    created_at: datetime = START,
    run_attempt: int = 1,
) -> JobRecord:
    """A job whose steps run back to back; by default three steps sharing `seconds` as 10 %/10 %/80 %."""
    started_at = created_at + timedelta(seconds=queue_seconds)
    if step_seconds is None:
        step_seconds = dict(zip(DEFAULT_STEPS, (seconds * 0.1, seconds * 0.1, seconds * 0.8), strict=False))
    steps, clock = [], started_at
    for number, (step_name, duration) in enumerate(step_seconds.items(), start=1):
        steps.append(StepRecord(step_name, number, conclusion, clock, clock + timedelta(seconds=duration)))
        clock += timedelta(seconds=duration)
    return JobRecord(
        name=name,
        conclusion=conclusion,
        created_at=created_at,
        started_at=started_at,
        completed_at=started_at + timedelta(seconds=seconds),
        steps=tuple(steps),
        run_attempt=run_attempt,
        html_url=f"https://github.com/o/r/actions/runs/1/job/{abs(hash(name)) % 1000}",
    )


def build_run(
    run_id: int,
    jobs: Sequence[JobRecord],
    *,
    wall_seconds: float | None = None,
    conclusion: str = "success",
    status: str = "completed",
    run_attempt: int = 1,
    head_sha: str | None = None,
) -> RunRecord:
    """A run created `run_id` hours after START; wall time defaults to the longest job plus 20 s."""
    created_at = START + timedelta(hours=run_id)
    if wall_seconds is None:
        wall_seconds = max((job.duration or 0.0 for job in jobs), default=0.0) + 20.0
    return RunRecord(
        id=run_id,
        workflow_id=7,
        workflow_name="CI",
        workflow_path=".github/workflows/ci.yml",
        head_sha=head_sha or f"{run_id:040x}",
        head_branch="main",
        event="push",
        status=status,
        conclusion=conclusion,
        run_attempt=run_attempt,
        created_at=created_at,
        run_started_at=created_at,
        updated_at=created_at + timedelta(seconds=wall_seconds),
        html_url=f"https://github.com/o/r/actions/runs/{run_id}",
        jobs=tuple(jobs),
    )


def build_baseline(
    job_seconds: Mapping[str, float], count: int = 20, *, failing: Mapping[str, int] | None = None
) -> list[RunRecord]:
    """`count` runs of the given jobs with a ±4 % spread; `failing[name]` of them fail in that job."""
    failing = failing or {}
    runs = []
    for index in range(count):
        factor = SPREAD[index % len(SPREAD)]
        jobs = [
            build_job(
                name,
                seconds * factor,
                conclusion="failure" if index < failing.get(name, 0) else "success",
                created_at=START + timedelta(hours=index),
            )
            for name, seconds in job_seconds.items()
        ]
        failed = any(job.conclusion == "failure" for job in jobs)
        runs.append(build_run(index + 1, jobs, conclusion="failure" if failed else "success"))
    return runs


BASE_JOBS = {"lint": 60.0, "test (ubuntu-latest, 3.11)": 400.0, "test (windows-latest, 3.11)": 600.0}
OPTIONS = ComparisonOptions()


def current_run(job_seconds: Mapping[str, float], **run_options: object) -> RunRecord:
    jobs = [build_job(name, seconds, created_at=START + timedelta(days=5)) for name, seconds in job_seconds.items()]
    return build_run(1000, jobs, **run_options)  # type: ignore[arg-type]


def by_name(comparison, name: str):
    return next(job for job in comparison.jobs if job.name == name)


def test_compare_durations_flags_a_large_significant_slowdown_and_ignores_small_ones() -> None:
    baseline = [300.0 * factor for factor in SPREAD * 4]
    slower = compare_durations(baseline, 450.0, OPTIONS)
    assert slower.verdict is Verdict.REGRESSION
    assert slower.change_seconds == pytest.approx(150.0) and slower.change_percent == pytest.approx(50.0)
    assert slower.method == "prediction-interval"
    # Significant against a ±4 % spread, but under the 10 % floor.
    assert compare_durations(baseline, 327.0, OPTIONS).verdict is Verdict.UNCHANGED
    # Over 10 % but under the 30 s floor.
    short = [20.0 * factor for factor in SPREAD * 4]
    assert compare_durations(short, 40.0, OPTIONS).verdict is Verdict.UNCHANGED
    assert compare_durations(baseline, 200.0, OPTIONS).verdict is Verdict.IMPROVEMENT


def test_compare_durations_needs_significance_as_well_as_size() -> None:
    noisy = [150.0, 450.0, 300.0, 200.0, 400.0, 250.0, 350.0, 180.0, 420.0, 300.0]
    result = compare_durations(noisy, 380.0, OPTIONS)  # +27 % and +80 s, but well within the noise
    assert result.change_percent is not None and result.change_percent > 10
    assert result.verdict is Verdict.UNCHANGED


def test_slower_job_makes_a_run_level_and_job_level_regression() -> None:
    current = current_run({**BASE_JOBS, "test (windows-latest, 3.11)": 900.0})
    comparison = compare_run(current, build_baseline(BASE_JOBS), OPTIONS)
    assert comparison.status is ComparisonStatus.COMPARED
    assert comparison.wall_time.verdict is Verdict.REGRESSION
    assert comparison.total_job_time.verdict is Verdict.REGRESSION
    windows = by_name(comparison, "test (windows-latest, 3.11)")
    assert windows.verdict == "regression"
    assert windows.duration.baseline_median == pytest.approx(600.0)
    assert windows.duration.baseline_count == 20
    # The other matrix leg is matched by its exact name and did not change.
    assert by_name(comparison, "test (ubuntu-latest, 3.11)").verdict == "unchanged"
    assert by_name(comparison, "lint").verdict == "unchanged"
    assert comparison.has_regression


def test_faster_and_unchanged_runs() -> None:
    faster = compare_run(
        current_run({**BASE_JOBS, "test (windows-latest, 3.11)": 300.0}), build_baseline(BASE_JOBS), OPTIONS
    )
    assert faster.wall_time.verdict is Verdict.IMPROVEMENT
    assert by_name(faster, "test (windows-latest, 3.11)").verdict == "improvement"
    unchanged = compare_run(current_run(BASE_JOBS), build_baseline(BASE_JOBS), OPTIONS)
    assert unchanged.wall_time.verdict is Verdict.UNCHANGED
    assert {job.verdict for job in unchanged.jobs} == {"unchanged"}
    assert not unchanged.has_regression


def test_not_enough_history_gives_numbers_without_a_verdict() -> None:
    current = current_run({**BASE_JOBS, "lint": 600.0})
    comparison = compare_run(current, build_baseline(BASE_JOBS, count=3), OPTIONS)
    assert comparison.wall_time.verdict is Verdict.NOT_ENOUGH_HISTORY
    lint = by_name(comparison, "lint")
    assert lint.verdict == "not-enough-history"
    assert lint.duration.baseline_count == 3
    assert lint.duration.change_seconds == pytest.approx(600.0 - 58.8)  # median of 57.6, 58.8, 60


def test_new_and_removed_jobs() -> None:
    current = current_run({"lint": 60.0, "test (ubuntu-latest, 3.11)": 400.0, "test (ubuntu-latest, 3.13)": 410.0})
    comparison = compare_run(current, build_baseline(BASE_JOBS), OPTIONS)
    added = by_name(comparison, "test (ubuntu-latest, 3.13)")
    assert added.presence is Presence.NEW and added.verdict == "new"
    assert added.duration.verdict is Verdict.NOT_ENOUGH_HISTORY
    removed = by_name(comparison, "test (windows-latest, 3.11)")
    assert removed.presence is Presence.REMOVED and removed.verdict == "removed"
    assert removed.duration.baseline_median == pytest.approx(600.0)
    assert [job.name for job in comparison.jobs][-1] == "test (windows-latest, 3.11)"


def test_new_failure_when_the_job_passes_on_base() -> None:
    jobs = [build_job(name, seconds) for name, seconds in BASE_JOBS.items() if name != "lint"]
    jobs.append(build_job("lint", 12.0, conclusion="failure"))
    current = build_run(1000, jobs, conclusion="failure")
    comparison = compare_run(current, build_baseline(BASE_JOBS, failing={"lint": 1}), OPTIONS)
    lint = by_name(comparison, "lint")
    assert lint.failure is FailureVerdict.NEW_FAILURE  # 19 of 20 passed: 95 % ≥ 90 %
    assert lint.baseline_pass_rate is not None and lint.baseline_pass_rate.trials == 20
    assert lint.baseline_pass_rate.low < 0.95 < lint.baseline_pass_rate.high
    assert lint.duration.verdict is Verdict.NOT_COMPARED  # a failed job's duration is shown, not judged
    assert lint.duration.current == 12.0 and lint.duration.change_seconds is None
    assert comparison.wall_time.verdict is Verdict.NOT_COMPARED
    assert comparison.new_failures == (lint,)


def test_already_failing_on_base_when_base_fails_often() -> None:
    jobs = [build_job("lint", 12.0, conclusion="failure")]
    comparison = compare_run(
        build_run(1000, jobs, conclusion="failure"), build_baseline({"lint": 60.0}, failing={"lint": 5}), OPTIONS
    )
    lint = by_name(comparison, "lint")
    assert lint.failure is FailureVerdict.ALREADY_FAILING_ON_BASE
    assert lint.baseline_pass_rate is not None and lint.baseline_pass_rate.rate == pytest.approx(0.75)
    assert comparison.new_failures == ()


def test_flaky_when_an_earlier_attempt_of_the_same_commit_failed() -> None:
    sha = "f" * 40
    earlier = build_run(1000, [build_job("lint", 12.0, conclusion="failure")], conclusion="failure", head_sha=sha)
    current = build_run(1000, [build_job("lint", 61.0, run_attempt=2)], run_attempt=2, head_sha=sha)
    comparison = compare_run(current, build_baseline({"lint": 60.0}), OPTIONS, earlier_attempts=[earlier])
    lint = by_name(comparison, "lint")
    assert lint.failure is FailureVerdict.FLAKY and lint.verdict == "flaky"
    assert lint.run_attempt == 2
    assert lint.duration.verdict is Verdict.UNCHANGED


def test_partial_rerun_keeps_each_jobs_attempt_and_does_not_judge_the_wall_time() -> None:
    jobs = [build_job("lint", 60.0, run_attempt=1), build_job("test (ubuntu-latest, 3.11)", 400.0, run_attempt=2)]
    # The second attempt ran only the test job: its wall time is far shorter than a whole run's.
    current = build_run(1000, jobs, run_attempt=2, wall_seconds=420.0)
    comparison = compare_run(current, build_baseline({"lint": 60.0, "test (ubuntu-latest, 3.11)": 400.0}), OPTIONS)
    assert [job.run_attempt for job in comparison.jobs] == [1, 2]
    assert comparison.partial_rerun
    assert comparison.wall_time.verdict is Verdict.NOT_COMPARED
    assert comparison.total_job_time.verdict is Verdict.UNCHANGED


def test_jobs_carried_over_by_a_rerun_are_one_sample_not_two() -> None:
    first_attempt = build_run(1000, [build_job("lint", 62.0), build_job("test", 390.0)], head_sha="c" * 40)
    current = build_run(
        1000,
        [build_job("lint", 62.0, run_attempt=1), build_job("test", 395.0, run_attempt=2)],
        run_attempt=2,
        head_sha="c" * 40,
    )
    comparison = compare_run(
        current, build_baseline({"lint": 60.0, "test": 300.0}), OPTIONS, pr_samples=[first_attempt]
    )
    assert by_name(comparison, "lint").duration.sample_count == 1  # the same execution, listed by both attempts
    assert by_name(comparison, "test").duration.sample_count == 2


@pytest.mark.parametrize(
    ("conclusion", "status", "expected"),
    [
        ("cancelled", "completed", ComparisonStatus.CANCELLED),
        ("skipped", "completed", ComparisonStatus.SKIPPED),
        (None, "in_progress", ComparisonStatus.INCOMPLETE),
    ],
)
def test_runs_that_did_not_run_to_the_end_compare_nothing(conclusion, status, expected) -> None:
    current = current_run(BASE_JOBS, conclusion=conclusion, status=status)
    comparison = compare_run(current, build_baseline(BASE_JOBS), OPTIONS)
    assert comparison.status is expected
    assert comparison.jobs == () and comparison.baseline_runs == ()
    assert comparison.wall_time.verdict is Verdict.NOT_COMPARED


def test_steps_are_flagged_only_when_significant_and_large() -> None:
    steps = {"Set up job": 5.0, "Install": 100.0, "Run tests": 300.0}
    baseline = [
        build_run(
            index + 1, [build_job("test", 405.0 * factor, step_seconds={k: v * factor for k, v in steps.items()})]
        )
        for index, factor in enumerate(SPREAD * 4)
    ]
    slower_steps = {"Set up job": 9.0, "Install": 180.0, "Run tests": 303.0}  # +80 %, +80 %, +1 %
    current = build_run(1000, [build_job("test", 492.0, step_seconds=slower_steps)])
    comparison = compare_run(current, baseline, OPTIONS)
    verdicts = {step.name: step.duration.verdict for step in by_name(comparison, "test").steps}
    # "Set up job" is significantly slower but only by 4 s, under the 30 s floor.
    assert verdicts == {"Set up job": Verdict.UNCHANGED, "Install": Verdict.REGRESSION, "Run tests": Verdict.UNCHANGED}


def test_repeated_step_names_are_matched_by_position() -> None:
    steps = {"checkout": 10.0, "build": 200.0}
    baseline = []
    for index, factor in enumerate(SPREAD * 2):
        job = build_job("test", 220.0 * factor, step_seconds={k: v * factor for k, v in steps.items()})
        baseline.append(build_run(index + 1, [replace(job, steps=(*job.steps, job.steps[0]))]))
    job = build_job("test", 220.0, step_seconds=steps)
    current = build_run(1000, [replace(job, steps=(*job.steps, job.steps[0]))])
    steps_compared = by_name(compare_run(current, baseline, OPTIONS), "test").steps
    assert [step.duration.baseline_count for step in steps_compared] == [10, 10, 10]


def test_several_pr_samples_are_judged_by_their_mean() -> None:
    baseline = build_baseline({"build": 300.0})
    samples = [build_run(2000 + attempt, [build_job("build", 390.0 + attempt)]) for attempt in range(2)]
    current = build_run(1000, [build_job("build", 395.0)])
    comparison = compare_run(current, baseline, OPTIONS, pr_samples=[*samples, current])
    build = by_name(comparison, "build").duration
    assert comparison.pr_sample_count == 3  # the current run is not counted twice
    assert build.method == "prediction-interval-of-mean" and build.sample_count == 3
    assert build.verdict is Verdict.REGRESSION
    geometric_mean = (390.0 * 391.0 * 395.0) ** (1 / 3)
    assert build.change_seconds == pytest.approx(geometric_mean - 300.0)
    assert build.change_percent == pytest.approx((geometric_mean / 300.0 - 1) * 100)


def test_failed_pr_samples_are_not_duration_samples() -> None:
    baseline = build_baseline({"build": 300.0})
    failed = build_run(2000, [build_job("build", 30.0, conclusion="failure")], conclusion="failure")
    comparison = compare_run(build_run(1000, [build_job("build", 301.0)]), baseline, OPTIONS, pr_samples=[failed])
    assert comparison.pr_sample_count == 1
    assert by_name(comparison, "build").duration.method == "prediction-interval"


def test_baseline_durations_come_only_from_successful_runs_and_jobs() -> None:
    baseline = build_baseline({"build": 300.0, "lint": 60.0}, failing={"lint": 4})
    comparison = compare_run(current_run({"build": 300.0, "lint": 60.0}), baseline, OPTIONS)
    assert comparison.wall_time.baseline_count == 16
    assert by_name(comparison, "lint").duration.baseline_count == 16
    assert by_name(comparison, "build").duration.baseline_count == 20  # successful jobs of failed runs count
    assert comparison.successful_baseline_count == 16 and len(comparison.baseline_runs) == 20


def test_queue_time_is_reported_apart_from_duration() -> None:
    jobs = [build_job("lint", 60.0, queue_seconds=900.0, created_at=START + timedelta(days=5))]
    comparison = compare_run(build_run(1000, jobs, wall_seconds=80.0), build_baseline({"lint": 60.0}), OPTIONS)
    lint = by_name(comparison, "lint")
    assert lint.queue_time == 900.0 and lint.baseline_queue_median == 5.0
    assert lint.verdict == "unchanged"


def test_options_reject_values_that_cannot_work() -> None:
    with pytest.raises(ValueError):
        ComparisonOptions(min_runs=1)
    with pytest.raises(ValueError):
        ComparisonOptions(alpha=0.7)


def test_median_step_durations_use_successful_jobs_and_steps_only() -> None:
    from bot.comparison import median_step_durations

    base = datetime(2026, 1, 1, tzinfo=UTC)

    def run(seconds: float, conclusion: str = "success") -> RunRecord:
        step = StepRecord("Run pip install", 1, conclusion, base, base + timedelta(seconds=seconds))
        job = JobRecord("test", conclusion, base, base, base + timedelta(seconds=seconds), (step,), 1, None)
        return RunRecord(
            1, 1, "CI", "ci.yml", "sha", "main", "push", "completed", conclusion, 1, base, base, base, None, (job,)
        )

    timings = median_step_durations([run(10), run(30), run(20), run(500, "failure")])
    assert timings == {("test", "Run pip install"): 20.0}


CONFIRMING = ComparisonOptions(confirm=True)
MATRIX = {f"test ({index})": 600.0 + 60.0 * index for index in range(6)}


def test_a_slow_job_awaits_a_rerun_and_a_normal_rerun_clears_it() -> None:
    baseline = build_baseline(MATRIX)
    first = current_run({**MATRIX, "test (2)": 2.5 * MATRIX["test (2)"]})
    checking = compare_run(first, baseline, CONFIRMING)
    assert checking.confirm_jobs == ("test (2)",) and not checking.confirm_run and checking.awaiting_confirmation
    assert by_name(checking, "test (2)").verdict == "needs-confirmation"
    assert not checking.has_regression
    assert checking.wall_time.verdict is Verdict.UNCHANGED  # the run's measures wait for the jobs
    # The re-run of that job alone (attempt 2; the others carried over) is normal: a spike, no verdict.
    rerun_jobs = [
        build_job(name, seconds * (1.0 if name == "test (2)" else 2.5 if name == "test (2)" else 1.0), run_attempt=1)
        if name != "test (2)"
        else build_job(name, seconds, run_attempt=2)
        for name, seconds in MATRIX.items()
    ]
    second = build_run(1000, rerun_jobs, run_attempt=2)
    final = compare_run(second, baseline, OPTIONS, pr_samples=[first, second])
    assert by_name(final, "test (2)").duration.sample_count == 2
    assert not final.awaiting_confirmation and not final.has_regression


def test_a_real_slowdown_is_called_slower_once_the_rerun_agrees() -> None:
    baseline = build_baseline(MATRIX)
    slow = {**MATRIX, "test (2)": 1.4 * MATRIX["test (2)"]}
    first = current_run(slow)
    assert compare_run(first, baseline, CONFIRMING).confirm_jobs == ("test (2)",)
    second = build_run(
        1000,
        [build_job(name, seconds, run_attempt=2 if name == "test (2)" else 1) for name, seconds in slow.items()],
        run_attempt=2,
    )
    final = compare_run(second, baseline, OPTIONS, pr_samples=[first, second])
    assert by_name(final, "test (2)").verdict == "regression"
    # The longest job got 40 % slower, so did the wall time: the job's extra seconds back the lone wall sample.
    assert final.wall_time.verdict is Verdict.REGRESSION and final.wall_time.sample_count == 1


def test_a_wall_time_no_job_accounts_for_is_queueing_not_a_slowdown() -> None:
    baseline = build_baseline(MATRIX)
    queued = current_run(MATRIX, wall_seconds=1.8 * (MATRIX["test (5)"] + 20.0))
    for options in (OPTIONS, CONFIRMING):
        comparison = compare_run(queued, baseline, options)
        assert comparison.wall_time.verdict is Verdict.UNCHANGED and not comparison.awaiting_confirmation


def test_a_run_on_a_slow_runner_names_no_job() -> None:
    """Every job 25 % slower in this run, each job moving with the others in the baseline: the runner, not the code."""
    baseline = []
    for index, runner in enumerate((0.92, 0.96, 1.0, 1.04, 1.08) * 4):
        jobs = [
            build_job(name, seconds * runner * (1.0 + 0.01 * ((index + position) % 3 - 1)))
            for position, (name, seconds) in enumerate(MATRIX.items())
        ]
        baseline.append(build_run(index + 1, jobs))
    slow_runner = current_run({name: seconds * 1.25 for name, seconds in MATRIX.items()})
    comparison = compare_run(slow_runner, baseline, CONFIRMING)
    assert comparison.confirm_jobs == () and not comparison.has_regression
    # Without the control each job is far outside its own history.
    alone = compare_run(
        build_run(1000, [build_job("test (0)", MATRIX["test (0)"] * 1.25)]),
        [build_run(run.id, run.jobs[:1]) for run in baseline],
        CONFIRMING,
    )
    assert alone.confirm_jobs == ("test (0)",)


def test_a_run_without_judged_jobs_asks_for_a_complete_rerun() -> None:
    baseline = [build_run(index + 1, [], wall_seconds=600.0 * factor) for index, factor in enumerate(SPREAD * 4)]
    slow = build_run(1000, [], wall_seconds=900.0)
    comparison = compare_run(slow, baseline, CONFIRMING)
    assert comparison.confirm_run and comparison.confirm_jobs == ()
    again = replace(build_run(1000, [], wall_seconds=910.0), run_attempt=2)
    final = compare_run(again, baseline, OPTIONS, pr_samples=[slow, again])
    assert final.wall_time.verdict is Verdict.REGRESSION and final.wall_time.sample_count == 2


def test_the_smallest_detectable_change_is_reported_per_job_and_for_the_run() -> None:
    comparison = compare_run(current_run(MATRIX), build_baseline(MATRIX), CONFIRMING)
    for job in comparison.jobs:
        assert job.duration.smallest_detectable_percent is not None
        assert 10.0 <= job.duration.smallest_detectable_percent < 30.0
    assert comparison.wall_time.smallest_detectable_percent is not None
    assert all(step.duration.smallest_detectable_percent is None for job in comparison.jobs for step in job.steps)


def test_pass_rates_leave_cancelled_and_skipped_runs_out_on_both_sides() -> None:
    baseline = build_baseline({"lint": 60.0, "test": 300.0}, failing={"test": 1})
    for index, conclusion in ((1, "cancelled"), (2, "skipped"), (3, "cancelled")):
        jobs = tuple(job if job.name != "test" else replace(job, conclusion=conclusion) for job in baseline[index].jobs)
        baseline[index] = replace(baseline[index], jobs=jobs, conclusion=conclusion)
    comparison = compare_run(current_run({"lint": 60.0, "test": 300.0}), baseline, OPTIONS)
    rate = next(job for job in comparison.jobs if job.name == "test").baseline_pass_rate
    assert rate is not None and (rate.successes, rate.trials) == (16, 17)  # 20 runs, 3 neither passed nor failed
