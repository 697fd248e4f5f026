"""Each metric of the health report on small hand-made histories: rates with intervals, verdicts only from enough
data, flaky with its recovery period, broken against flaky, queue times, minutes."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from bot.health import (
    FlakyCommit,
    HealthData,
    HealthOptions,
    JobExecutions,
    JobFailure,
    JobOutcomes,
    JobPoint,
    MinutesRow,
    Period,
    QueueTimes,
    RunPoint,
    build_report,
)
from bot.health.minutes import runner_os

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
OPTIONS = HealthOptions()
WINDOW = Period(NOW - timedelta(days=30), NOW)
PREVIOUS = Period(NOW - timedelta(days=60), NOW - timedelta(days=30))


def data(**parts) -> HealthData:
    return HealthData("octo-org/app", "main", NOW, WINDOW, PREVIOUS, **parts)


def run(index: int, *, days_ago: float, conclusion: str = "success", wall: float = 600.0, attempt: int = 1):
    return RunPoint(
        1, "CI", ".github/workflows/ci.yml", 1000 + index, attempt, f"{index:040x}", conclusion,
        NOW - timedelta(days=days_ago), wall, f"https://github.com/octo-org/app/actions/runs/{1000 + index}",
    )  # fmt: skip


def runs_over(days: tuple[float, float], count: int, start: int, **options) -> list[RunPoint]:
    newest, oldest = days
    step = (oldest - newest) / count
    return [run(start + i, days_ago=oldest - step * (i + 0.5), **options) for i in range(count)]


def test_success_rates_leave_cancelled_and_skipped_out_and_a_drop_needs_a_test_and_five_points():
    runs = runs_over((30, 60), 40, 0)  # previous window: 40 of 40 passed
    runs += runs_over((0, 30), 30, 100) + runs_over((0, 30), 10, 200, conclusion="failure")
    runs += runs_over((0, 30), 6, 300, conclusion="cancelled") + runs_over((0, 30), 2, 400, conclusion="skipped")
    [workflow] = build_report(data(runs=tuple(runs)), OPTIONS).workflows
    success = workflow.success
    assert (success.current.successes, success.current.trials, success.left_out) == (30, 40, 8)
    assert (success.previous.successes, success.previous.trials) == (40, 40)
    assert 0.59 < success.current.low < 0.61 and 0.85 < success.current.high < 0.87  # Wilson 95 %
    assert success.enough and success.dropped and success.p_value is not None and success.p_value < 0.01


def test_no_verdict_from_fewer_than_min_runs():
    runs = runs_over((30, 60), 9, 0) + runs_over((0, 30), 9, 100, conclusion="failure", wall=3000.0)
    [workflow] = build_report(data(runs=tuple(runs)), OPTIONS).workflows
    assert not workflow.success.enough and not workflow.success.dropped and workflow.success.p_value is None
    assert not workflow.wall_time.enough and workflow.wall_time.direction is None


def test_wall_time_slower_than_the_previous_window_and_a_change_point_in_the_window():
    rng = random.Random(7)
    runs = [run(i, days_ago=59 - i * 0.5, wall=600 * math.exp(rng.gauss(0, 0.05))) for i in range(80)]
    runs += [run(100 + i, days_ago=19 - i * 0.5, wall=900 * math.exp(rng.gauss(0, 0.05))) for i in range(36)]
    report = build_report(data(runs=tuple(runs)), OPTIONS)
    [workflow] = report.workflows
    assert workflow.wall_time.direction is not None and workflow.wall_time.direction.value == "slower"
    [point] = workflow.change_points
    assert point.run_id == 1100 and point.job_name is None and point.direction.value == "slower"
    assert 45 < point.change_percent < 55 and point.confidence > 0.999
    assert point.level == OPTIONS.alpha / report.series_tested
    assert report.alerts() == {point.key: f"CI / wall time: +{point.change_percent:.0f} % from {point.head_sha[:7]}"}


def test_a_change_point_before_the_window_is_not_reported_again():
    runs = [run(i, days_ago=59 - i * 0.5, wall=600.0 + (i % 3)) for i in range(40)]
    runs += [run(100 + i, days_ago=39 - i * 0.5, wall=900.0 + (i % 3)) for i in range(70)]
    [workflow] = build_report(data(runs=tuple(runs)), OPTIONS).workflows
    assert workflow.change_points == ()


def test_job_series_get_trends_and_change_points():
    points = [
        JobPoint("CI", "build", 2000 + i, f"{i:040x}", NOW - timedelta(days=59 - i * 0.5), 400.0 + 200 * (i >= 70))
        for i in range(118)
    ]
    report = build_report(data(job_points=tuple(points)), OPTIONS)
    [job] = report.jobs
    assert job.shift.direction is not None and job.shift.direction.value == "slower"
    assert [point.run_id for point in job.change_points] == [2070]
    assert len(job.weekly_p50) == 9 and job.weekly_p50[0] == 400.0 and job.weekly_p50[-1] == 600.0


def test_flaky_jobs_are_ranked_by_time_lost_and_leave_the_list_after_the_recovery_period():
    commits = [
        FlakyCommit("CI", "test", "a" * 40, 1, 1, 300.0, NOW - timedelta(days=2)),
        FlakyCommit("CI", "test", "b" * 40, 2, 1, 600.0, NOW - timedelta(days=20)),
        FlakyCommit("CI", "e2e", "c" * 40, 1, 1, 1200.0, NOW - timedelta(days=13)),
        FlakyCommit("CI", "old", "d" * 40, 1, 1, 9000.0, NOW - timedelta(days=15)),  # recovered: 14 days
    ]
    executions = (JobExecutions("CI", "test", 50), JobExecutions("CI", "e2e", 50), JobExecutions("CI", "old", 50))
    flaky = build_report(data(flaky_commits=tuple(commits), job_executions=executions), OPTIONS).flaky
    assert [(job.job_name, job.flaky_commits, job.failed_runs, job.wasted_seconds) for job in flaky] == [
        ("e2e", 1, 1, 1200.0),
        ("test", 2, 3, 900.0),
    ]
    assert (flaky[1].rate.successes, flaky[1].rate.trials) == (2, 50)


def test_broken_needs_the_latest_run_failed_and_a_streak_or_mostly_failures():
    def failures(job: str, run_ids: range) -> list[JobFailure]:
        return [JobFailure("CI", job, i, f"{i:040x}", NOW - timedelta(days=1), None) for i in run_ids]

    outcomes = (
        JobOutcomes("CI", "lint", 100, 3, 96, 99),  # the last 3 runs failed: broken
        JobOutcomes("CI", "docs", 100, 2, 97, 99),  # only 2 in a row: not broken
        JobOutcomes("CI", "flaky", 100, 30, 98, 98),  # last run passed: not broken
        JobOutcomes("CI", "mostly", 20, 16, 95, 99),  # 16 of 20 failed: broken though only one in a row now
    )
    streaks = failures("lint", range(97, 100)) + failures("docs", range(98, 100)) + failures("mostly", range(99, 100))
    report = build_report(data(job_outcomes=outcomes, failing_streaks=tuple(streaks)), OPTIONS)
    assert [(job.job_name, job.streak, job.since_run_id) for job in report.broken] == [
        ("lint", 3, 97),
        ("mostly", 1, 99),
    ]
    assert "16 of its 20 runs" in report.broken[1].reason


def test_a_broken_job_is_not_also_listed_as_flaky():
    outcomes = (JobOutcomes("CI", "lint", 10, 3, 6, 9),)
    streak = tuple(JobFailure("CI", "lint", i, f"{i:040x}", NOW, None) for i in (7, 8, 9))
    flaky = (FlakyCommit("CI", "lint", "a" * 40, 1, 1, 60.0, NOW - timedelta(days=1)),)
    report = build_report(data(job_outcomes=outcomes, failing_streaks=streak, flaky_commits=flaky), OPTIONS)
    assert [job.job_name for job in report.broken] == ["lint"] and report.flaky == ()


def test_queue_time_per_label_short_of_runners_by_its_p90_or_by_getting_longer():
    def waited(labels: str, current: bool, seconds: int, jobs: int) -> QueueTimes:
        return QueueTimes(labels, current, seconds, jobs)

    queue = (
        waited("ubuntu-latest", False, 5, 100), waited("ubuntu-latest", True, 5, 100),
        waited("self-hosted, gpu", False, 10, 50), waited("self-hosted, gpu", True, 600, 50),
        waited("macos-14", False, 400, 50), waited("macos-14", True, 400, 50),
        waited("windows-latest", True, 900, 5),  # too few jobs for a verdict
    )  # fmt: skip
    report = {label.labels: label for label in build_report(data(queue=queue), OPTIONS).queue}
    assert not report["ubuntu-latest"].starved
    assert report["self-hosted, gpu"].longer and report["self-hosted, gpu"].starved
    assert not report["macos-14"].longer and report["macos-14"].starved  # long, but as long as before
    assert not report["windows-latest"].starved and report["windows-latest"].p_value is None


def test_minutes_use_the_multiplier_of_the_runner_and_count_re_runs_apart():
    rows = (
        MinutesRow("CI", "ubuntu-latest", False, 10, 3000.0, 55),
        MinutesRow("CI", "ubuntu-latest", True, 2, 600.0, 11),
        MinutesRow("CI", "macos-14", False, 1, 61.0, 2),
        MinutesRow("CI", "windows-2022", False, 1, 60.0, 1),
        MinutesRow("CI", "self-hosted, linux", False, 3, 900.0, 15),
        MinutesRow("CI", "my-big-runner", False, 1, 120.0, 2),
    )
    estimates = {e.runner_os: e for e in build_report(data(minutes=rows), OPTIONS).minutes}
    assert (estimates["Linux"].billable_minutes, estimates["Linux"].rerun_billable_minutes) == (66, 11)
    assert estimates["macOS"].billable_minutes == 20 and estimates["Windows"].billable_minutes == 2
    assert estimates["self-hosted"].billable_minutes == 0 and estimates["unknown"].billable_minutes == 2
    assert [runner_os(labels) for labels in ("ubuntu-24.04", "linux", "macos-latest", "windows-latest")] == [
        "Linux",
        "Linux",
        "macOS",
        "Windows",
    ]
