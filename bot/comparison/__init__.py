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
from bot.comparison.model import JobRecord, RunRecord, StepRecord, job_from_github, run_from_github
from bot.comparison.report import (
    CheckRunOutput,
    annotations_for,
    check_conclusion,
    escape_markdown,
    headline,
    render_check_run,
    render_comment,
)
from bot.comparison.workflow_lines import find_job_line

__all__ = [
    "BaselineRun",
    "CheckRunOutput",
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
    "escape_markdown",
    "find_job_line",
    "headline",
    "job_from_github",
    "median_step_durations",
    "render_check_run",
    "render_comment",
    "run_from_github",
]
