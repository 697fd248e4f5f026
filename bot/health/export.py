"""The health report as JSON (schema: docs/health-report.schema.json, described in docs/health-report.md) and the
short summary of it that the organization roll-up ranks repositories by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.comparison.statistics import RateEstimate
from bot.health.model import ChangePoint, Direction, HealthReport, Quantiles, ShiftTest

SCHEMA_VERSION = 1


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rate(estimate: RateEstimate) -> dict[str, Any]:
    return {
        "successes": estimate.successes,
        "trials": estimate.trials,
        "rate": estimate.rate if estimate.trials else None,
        "low": estimate.low,
        "high": estimate.high,
    }


def _quantiles(quantiles: Quantiles) -> dict[str, Any]:
    return {"count": quantiles.count, "p50": quantiles.p50, "p90": quantiles.p90}


def _shift(shift: ShiftTest) -> dict[str, Any]:
    return {
        "before": _quantiles(shift.before),
        "after": _quantiles(shift.after),
        "change_seconds": shift.change_seconds,
        "change_percent": shift.change_percent,
        "p_value": shift.p_value,
        "level": shift.level,
        "enough_data": shift.enough,
        "verdict": shift.direction.value if shift.direction else None,
    }


def _change_point(point: ChangePoint) -> dict[str, Any]:
    return {
        "workflow": point.workflow_name,
        "job": point.job_name,
        "head_sha": point.head_sha,
        "run_id": point.run_id,
        "created_at": _time(point.created_at),
        "html_url": point.html_url,
        "before_median_seconds": point.before_median,
        "after_median_seconds": point.after_median,
        "change_seconds": point.change_seconds,
        "change_percent": point.change_percent,
        "runs_before": point.before_count,
        "runs_after": point.after_count,
        "p_value": point.p_value,
        "level": point.level,
        "confidence": point.confidence,
        "direction": point.direction.value,
    }


def report_json(report: HealthReport) -> dict[str, Any]:
    """The whole report as plain JSON values (times in UTC, durations in seconds, rates as fractions)."""
    options = report.options
    return {
        "schema_version": SCHEMA_VERSION,
        "repository": report.repository,
        "default_branch": report.default_branch,
        "generated_at": _time(report.now),
        "window": {"start": _time(report.window.start), "end": _time(report.window.end)},
        "previous_window": {"start": _time(report.previous.start), "end": _time(report.previous.end)},
        "options": {
            "window_days": options.window_days,
            "alpha": options.alpha,
            "min_runs": options.min_runs,
            "min_segment": options.min_segment,
            "threshold_percent": options.threshold_percent,
            "threshold_seconds": options.threshold_seconds,
            "flaky_recovery_days": options.flaky_recovery_days,
            "broken_after": options.broken_after,
            "queue_p90_seconds": options.queue_p90_seconds,
            "jobs": options.jobs,
        },
        "series_searched": report.series_tested,
        "workflows": [
            {
                "id": workflow.workflow_id,
                "name": workflow.name,
                "path": workflow.path,
                "success_rate": {
                    "current": _rate(workflow.success.current),
                    "previous": _rate(workflow.success.previous),
                    "left_out_cancelled_or_skipped": workflow.success.left_out,
                    "p_value": workflow.success.p_value,
                    "level": workflow.success.level,
                    "enough_data": workflow.success.enough,
                    "dropped": workflow.success.dropped,
                },
                "wall_time": _shift(workflow.wall_time),
                "weekly": [
                    {"start": _time(week.start), "end": _time(week.end), **_quantiles(week.quantiles)}
                    for week in workflow.weekly
                ],
            }
            for workflow in report.workflows
        ],
        "change_points": [_change_point(point) for point in report.change_points],
        "jobs": [
            {
                "workflow": job.workflow_name,
                "job": job.job_name,
                "runner_seconds": job.total_seconds,
                "duration": _shift(job.shift),
                "weekly_p50": list(job.weekly_p50),
            }
            for job in report.jobs
        ],
        "flaky_jobs": [
            {
                "workflow": job.workflow_name,
                "job": job.job_name,
                "flaky_commits": job.flaky_commits,
                "commits": job.commits,
                "rate": _rate(job.rate),
                "last_seen": _time(job.last_seen),
                "failed_runs": job.failed_runs,
                "wasted_seconds": job.wasted_seconds,
            }
            for job in report.flaky
        ],
        "broken_jobs": [
            {
                "workflow": job.workflow_name,
                "job": job.job_name,
                "streak": job.streak,
                "failures": _rate(job.failures),
                "since_sha": job.since_sha,
                "since_run_id": job.since_run_id,
                "since": _time(job.since_at),
                "html_url": job.html_url,
                "reason": job.reason,
            }
            for job in report.broken
        ],
        "queue": [
            {
                "labels": label.labels,
                "current": _quantiles(label.current),
                "previous": _quantiles(label.previous),
                "p_value": label.p_value,
                "level": label.level,
                "longer": label.longer,
                "short_of_runners": label.starved,
            }
            for label in report.queue
        ],
        "minutes": [
            {
                "workflow": estimate.workflow_name,
                "runner_os": estimate.runner_os,
                "multiplier": estimate.multiplier,
                "jobs": estimate.jobs,
                "runner_minutes": estimate.runner_minutes,
                "billable_minutes_estimate": estimate.billable_minutes,
                "rerun_billable_minutes_estimate": estimate.rerun_billable_minutes,
            }
            for estimate in report.minutes
        ],
        "problems": report.problems(),
        "notes": list(report.notes),
    }


def summary(report: HealthReport) -> dict[str, Any]:
    """What the organization roll-up needs of a repository's report (kept in the store as JSON)."""
    passed = sum(workflow.success.current.successes for workflow in report.workflows)
    decided = sum(workflow.success.current.trials for workflow in report.workflows)
    p90s = [workflow.wall_time.after.p90 for workflow in report.workflows if workflow.wall_time.after.p90 is not None]
    slower = [point for point in report.change_points if point.direction is Direction.SLOWER]
    biggest = max(slower, key=lambda point: point.change_percent, default=None)
    return {
        "repository": report.repository,
        "generated_at": _time(report.now),
        "runs": decided,
        "failures": decided - passed,
        "flaky_jobs": len(report.flaky),
        "broken_jobs": len(report.broken),
        "slowest_p90_seconds": max(p90s, default=None),
        "regressions": len(slower),
        "biggest_regression_percent": None if biggest is None else biggest.change_percent,
        "billable_minutes_estimate": sum(estimate.billable_minutes for estimate in report.minutes),
        "problems": report.problems(),
    }
