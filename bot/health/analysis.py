"""Compute a repository's `HealthReport` from its `HealthData`: every rate with its interval, every "worse" tested."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.comparison.statistics import wilson_interval
from bot.health.changepoints import find_changes
from bot.health.minutes import minutes_estimates
from bot.health.model import (
    BrokenJob,
    ChangePoint,
    Direction,
    FlakyCommit,
    FlakyJob,
    HealthData,
    HealthOptions,
    HealthReport,
    JobFailure,
    JobOutcomes,
    JobPoint,
    JobTrend,
    Quantiles,
    QueueHealth,
    RunPoint,
    ShiftTest,
    SuccessRate,
    WeeklyQuantiles,
    WorkflowHealth,
)
from bot.health.statistics import counts_quantile, fisher_exact_less, mann_whitney, mann_whitney_counts, quantile

SUCCESS_CONCLUSIONS = frozenset({"success", "neutral"})
FAILURE_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
#: Left out of success rates (neither side): the run did not get to say whether the code works.
LEFT_OUT_CONCLUSIONS = frozenset({"cancelled", "skipped", "stale", "action_required"})
RATE_DROP_FLOOR = 0.05  # a success rate "dropped" only by at least 5 percentage points
BROKEN_RATE = 0.5  # broken: failing more often than not (the lower end of its 95 % interval above this)
WEEK = timedelta(days=7)


def quantiles(values: Iterable[float]) -> Quantiles:
    ordered = sorted(values)
    if not ordered:
        return Quantiles(0, None, None)
    return Quantiles(len(ordered), quantile(ordered, 0.5), quantile(ordered, 0.9))


def _enough(*sizes: int, minimum: int) -> bool:
    return all(size >= minimum for size in sizes)


def _floor_met(before: float, after: float, options: HealthOptions) -> bool:
    change = abs(after - before)
    return change >= options.threshold_seconds and before > 0 and change / before * 100 >= options.threshold_percent


def shift_test(before: Sequence[float], after: Sequence[float], level: float, options: HealthOptions) -> ShiftTest:
    """The window (`after`) against the previous window: one-sided Mann–Whitney each way at `level`, medians."""
    first, second = quantiles(before), quantiles(after)
    if first.p50 is None or second.p50 is None:
        return ShiftTest(first, second, None, None, None, level, False, None)
    change = second.p50 - first.p50
    percent = 100 * change / first.p50 if first.p50 > 0 else None
    enough = _enough(first.count, second.count, minimum=options.min_runs)
    if not enough:
        return ShiftTest(first, second, change, percent, None, level, False, None)
    test = mann_whitney(before, after)
    p_value = test.p_greater if change >= 0 else test.p_less
    direction = None
    if p_value < level and _floor_met(first.p50, second.p50, options):
        direction = Direction.SLOWER if change > 0 else Direction.FASTER
    return ShiftTest(first, second, change, percent, p_value, level, True, direction)


def _success_rate(runs: Sequence[RunPoint], data: HealthData, level: float, options: HealthOptions) -> SuccessRate:
    def counted(period_runs: Iterable[RunPoint]) -> tuple[int, int]:
        decided = [run for run in period_runs if run.conclusion in SUCCESS_CONCLUSIONS | FAILURE_CONCLUSIONS]
        return sum(run.conclusion in SUCCESS_CONCLUSIONS for run in decided), len(decided)

    current_runs = [run for run in runs if run.created_at in data.window]
    successes, trials = counted(current_runs)
    previous_successes, previous_trials = counted(run for run in runs if run.created_at in data.previous)
    current, previous = wilson_interval(successes, trials), wilson_interval(previous_successes, previous_trials)
    left_out = sum(run.conclusion in LEFT_OUT_CONCLUSIONS for run in current_runs)
    enough = _enough(trials, previous_trials, minimum=options.min_runs)
    if not enough:
        return SuccessRate(current, previous, left_out, None, level, False, False)
    p_value = fisher_exact_less(successes, trials, previous_successes, previous_trials)
    dropped = p_value < level and previous.rate - current.rate >= RATE_DROP_FLOOR
    return SuccessRate(current, previous, left_out, p_value, level, True, dropped)


def _weeks(data: HealthData) -> list[tuple[datetime, datetime]]:
    """7-day buckets ending at `now`, back to the start of the previous window, oldest first."""
    count = math.ceil((data.now - data.previous.start) / WEEK)
    return [(data.now - WEEK * (index + 1), data.now - WEEK * index) for index in reversed(range(count))]


def _weekly(points: Sequence[tuple[datetime, float]], weeks: Sequence[tuple[datetime, datetime]]) -> list[Quantiles]:
    per_week: list[list[float]] = [[] for _ in weeks]
    first = weeks[0][0]
    for moment, value in points:
        index = int((moment - first) / WEEK)
        if 0 <= index < len(weeks):
            per_week[index].append(value)
    return [quantiles(values) for values in per_week]


def _change_points(
    series: Sequence[tuple[datetime, float, RunPoint | JobPoint]],
    data: HealthData,
    level: float,
    options: HealthOptions,
) -> tuple[ChangePoint, ...]:
    """Change points of a series (oldest first) whose first changed run is in the window."""
    splits = find_changes(
        [value for _moment, value, _point in series],
        level=level,
        min_segment=options.min_segment,
        threshold_percent=options.threshold_percent,
        threshold_seconds=options.threshold_seconds,
    )
    found = []
    for split in splits:
        moment, _value, point = series[split.index]
        if moment not in data.window:
            continue
        previous_bound = max((other.index for other in splits if other.index < split.index), default=0)
        next_bound = min((other.index for other in splits if other.index > split.index), default=len(series))
        found.append(
            ChangePoint(
                workflow_name=point.workflow_name,
                job_name=point.job_name if isinstance(point, JobPoint) else None,
                head_sha=point.head_sha,
                run_id=point.run_id,
                created_at=moment,
                html_url=point.html_url,
                before_median=split.before_median,
                after_median=split.after_median,
                before_count=split.index - previous_bound,
                after_count=next_bound - split.index,
                p_value=split.p_value,
                level=level,
                direction=Direction.SLOWER if split.after_median > split.before_median else Direction.FASTER,
            )
        )
    return tuple(found)


def _successful_wall_times(runs: Iterable[RunPoint]) -> list[tuple[datetime, float, RunPoint]]:
    series = [
        (run.created_at, run.wall_seconds, run)
        for run in runs
        if run.conclusion == "success" and run.attempt == 1 and run.wall_seconds is not None and run.wall_seconds > 0
    ]
    return sorted(series, key=lambda item: (item[0], item[2].run_id))


def _broken(outcomes: JobOutcomes, streak: Sequence[JobFailure], options: HealthOptions) -> BrokenJob | None:
    """A job's verdict from its final outcomes in the window and its failures since its last success (oldest first)."""
    if not streak or streak[-1].run_id != outcomes.latest_run_id:
        return None  # its latest run passed (or it has no failure since its last success)
    failures = wilson_interval(outcomes.failures, outcomes.decided)
    if len(streak) >= options.broken_after:
        reason = f"its last {len(streak)} runs on the default branch failed, re-runs included"
    elif failures.low > BROKEN_RATE:
        reason = f"it failed {failures.successes} of its {failures.trials} runs on the default branch"
    else:
        return None
    first = streak[0]
    return BrokenJob(
        workflow_name=outcomes.workflow_name,
        job_name=outcomes.job_name,
        streak=len(streak),
        failures=failures,
        since_sha=first.head_sha,
        since_run_id=first.run_id,
        since_at=first.created_at,
        html_url=streak[-1].html_url,
        reason=reason,
    )


def _flaky(data: HealthData, options: HealthOptions, broken: set[tuple[str, str]]) -> list[FlakyJob]:
    commits_run = {(row.workflow_name, row.job_name): row.commits for row in data.job_executions}
    by_job: dict[tuple[str, str], list[FlakyCommit]] = defaultdict(list)
    for commit in data.flaky_commits:
        by_job[(commit.workflow_name, commit.job_name)].append(commit)
    recovered_before = data.now - timedelta(days=options.flaky_recovery_days)
    listed = []
    for key, commits in by_job.items():
        last_seen = max(commit.last_seen for commit in commits)
        if key in broken or last_seen < recovered_before:
            continue
        in_window = [commit for commit in commits if commit.last_seen in data.window]
        ran_on = max(commits_run.get(key, 0), len(in_window))
        listed.append(
            FlakyJob(
                workflow_name=key[0],
                job_name=key[1],
                flaky_commits=len(in_window),
                commits=ran_on,
                rate=wilson_interval(len(in_window), ran_on),
                last_seen=last_seen,
                failed_runs=sum(commit.failures for commit in commits),
                wasted_seconds=sum(commit.failed_seconds for commit in commits),
            )
        )
    return sorted(listed, key=lambda job: (-job.wasted_seconds, -job.flaky_commits, job.workflow_name, job.job_name))


def _counted(counts: Counter[float]) -> Quantiles:
    return Quantiles(sum(counts.values()), counts_quantile(counts, 0.5), counts_quantile(counts, 0.9))


def _queue(data: HealthData, options: HealthOptions) -> list[QueueHealth]:
    counts: dict[tuple[str, bool], Counter[float]] = defaultdict(Counter)
    for row in data.queue:
        counts[(row.labels, row.current)][float(row.seconds)] += row.jobs
    labels = sorted({label for label, _current in counts})
    level = options.alpha / max(len(labels), 1)
    found = []
    for label in labels:
        current, previous = counts[(label, True)], counts[(label, False)]
        now, before = _counted(current), _counted(previous)
        p_value = None
        longer = False
        if (
            now.p90 is not None
            and before.p90 is not None
            and _enough(now.count, before.count, minimum=options.min_runs)
        ):
            p_value = mann_whitney_counts(previous, current).p_greater
            longer = (
                p_value < level
                and now.p90 - before.p90 >= options.threshold_seconds
                and (before.p90 <= 0 or (now.p90 - before.p90) / before.p90 * 100 >= options.threshold_percent)
            )
        slow = now.count >= options.min_runs and now.p90 is not None and now.p90 >= options.queue_p90_seconds
        found.append(QueueHealth(label, now, before, p_value, level, longer, slow or longer))
    return sorted(found, key=lambda health: (not health.starved, -(health.current.p90 or 0.0), health.labels))


def build_report(data: HealthData, options: HealthOptions) -> HealthReport:
    """The health report of one repository over `data.window`, against `data.previous`."""
    weeks = _weeks(data)
    runs_of: dict[int, list[RunPoint]] = defaultdict(list)
    for run in data.runs:
        runs_of[run.workflow_id].append(run)
    points_of: dict[tuple[str, str], list[JobPoint]] = defaultdict(list)
    for point in data.job_points:
        points_of[(point.workflow_name, point.job_name)].append(point)

    searched = sum(len(_successful_wall_times(runs)) >= 2 * options.min_segment for runs in runs_of.values())
    searched += sum(len(points) >= 2 * options.min_segment for points in points_of.values())
    change_level = options.alpha / max(searched, 1)
    shift_level = options.alpha / max(len(runs_of) + len(points_of), 1)
    rate_level = options.alpha / max(len(runs_of), 1)

    workflows = []
    for workflow_runs in runs_of.values():
        latest = max(workflow_runs, key=lambda run: run.created_at)
        series = _successful_wall_times(workflow_runs)
        weekly = _weekly([(moment, value) for moment, value, _run in series], weeks)
        workflows.append(
            WorkflowHealth(
                workflow_id=latest.workflow_id,
                name=latest.workflow_name,
                path=latest.workflow_path,
                success=_success_rate(workflow_runs, data, rate_level, options),
                wall_time=shift_test(
                    [value for moment, value, _run in series if moment in data.previous],
                    [value for moment, value, _run in series if moment in data.window],
                    shift_level,
                    options,
                ),
                weekly=tuple(WeeklyQuantiles(start, end, q) for (start, end), q in zip(weeks, weekly, strict=True)),
                change_points=_change_points(series, data, change_level, options),
            )
        )
    workflows.sort(key=lambda workflow: (workflow.name, workflow.path))

    jobs = []
    for (workflow_name, job_name), points in points_of.items():
        ordered = sorted(points, key=lambda point: (point.created_at, point.run_id))
        job_series = [(point.created_at, point.seconds, point) for point in ordered]
        jobs.append(
            JobTrend(
                workflow_name=workflow_name,
                job_name=job_name,
                total_seconds=sum(point.seconds for point in ordered if point.created_at in data.window),
                shift=shift_test(
                    [point.seconds for point in ordered if point.created_at in data.previous],
                    [point.seconds for point in ordered if point.created_at in data.window],
                    shift_level,
                    options,
                ),
                weekly_p50=tuple(q.p50 for q in _weekly([(p.created_at, p.seconds) for p in ordered], weeks)),
                change_points=_change_points(job_series, data, change_level, options),
            )
        )
    jobs.sort(key=lambda job: (-job.total_seconds, job.workflow_name, job.job_name))

    streaks: dict[tuple[str, str], list[JobFailure]] = defaultdict(list)
    for failure in sorted(data.failing_streaks, key=lambda failure: failure.run_id):
        streaks[(failure.workflow_name, failure.job_name)].append(failure)
    broken = []
    for outcomes in data.job_outcomes:
        verdict = _broken(outcomes, streaks[(outcomes.workflow_name, outcomes.job_name)], options)
        if verdict is not None:
            broken.append(verdict)
    broken.sort(key=lambda job: (-job.streak, job.workflow_name, job.job_name))

    notes = []
    if not data.runs:
        notes.append(f"No completed runs on {data.default_branch} in the last {2 * options.window_days} days.")
    return HealthReport(
        repository=data.repository,
        default_branch=data.default_branch,
        now=data.now,
        window=data.window,
        previous=data.previous,
        options=options,
        series_tested=searched,
        workflows=tuple(workflows),
        jobs=tuple(jobs),
        flaky=tuple(_flaky(data, options, {(job.workflow_name, job.job_name) for job in broken})),
        broken=tuple(broken),
        queue=tuple(_queue(data, options)),
        minutes=tuple(minutes_estimates(data.minutes)),
        notes=tuple(notes),
    )
