"""Baseline comparison of a workflow run with the base branch's history: model, statistics, verdicts, report."""

from bot.comparison.compare import (
    BaselineRun,
    ComparisonOptions,
    ComparisonStatus,
    DurationComparison,
    FailureVerdict,
    JobComparison,
    Presence,
    RunComparison,
    StepComparison,
    Verdict,
    compare_durations,
    compare_run,
    median_step_durations,
)
from bot.comparison.model import JobRecord, RunRecord, StepRecord
from bot.comparison.report import (
    annotations_for,
    check_conclusion,
    headline,
    render_check_run,
    render_comment,
)

__all__ = [
    "BaselineRun",
    "ComparisonOptions",
    "ComparisonStatus",
    "DurationComparison",
    "FailureVerdict",
    "JobComparison",
    "JobRecord",
    "Presence",
    "RunComparison",
    "RunRecord",
    "StepComparison",
    "StepRecord",
    "Verdict",
    "annotations_for",
    "check_conclusion",
    "compare_durations",
    "compare_run",
    "headline",
    "median_step_durations",
    "render_check_run",
    "render_comment",
]
