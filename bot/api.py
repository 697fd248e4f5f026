"""The stable Python API: compare runs, render reports, review workflow files, load and check configuration.

Everything here takes and returns plain data; nothing reaches the network except the flows, which
do so through the `CIProvider` they are given. Names listed in `__all__` keep their meaning across
minor versions; everything else in `bot` is internal.

    from bot.api import RunRecord, ComparisonOptions, compare_run, render_comment
    comparison = compare_run(current, baseline, ComparisonOptions(baseline_branch="main"))
    print(render_comment(comparison, marker=""))
"""

from bot.comparison.compare import (
    ComparisonOptions,
    ComparisonStatus,
    FailureVerdict,
    RunComparison,
    Verdict,
    compare_run,
)
from bot.comparison.model import JobRecord, RunRecord, StepRecord
from bot.comparison.report import render_check_run as render_comparison_check_run
from bot.comparison.report import render_comment
from bot.config.loading import check_config_text, merge_config_files
from bot.config.options import comparison_options, review_options
from bot.config.schema import DEFAULT_CONFIG, ConfigProblem, LoadedConfig, RepoConfig
from bot.flows.check_config import check_config
from bot.flows.compare_run import CompletedRun, compare_completed_run
from bot.flows.provider import ChangedFile, CIProvider, PullRequestRef
from bot.flows.review_pull_request import review_pull_request
from bot.report import Annotation, Report, escape_markdown
from bot.review.engine import review_files
from bot.review.model import Finding, Fix, ReviewOptions, ReviewResult, SourceFile
from bot.review.report import format_json, format_text
from bot.review.report import render_check_run as render_review_check_run
from bot.review.sarif import format_sarif

__all__ = [
    "DEFAULT_CONFIG",
    "Annotation",
    "CIProvider",
    "ChangedFile",
    "ComparisonOptions",
    "ComparisonStatus",
    "CompletedRun",
    "ConfigProblem",
    "FailureVerdict",
    "Finding",
    "Fix",
    "JobRecord",
    "LoadedConfig",
    "PullRequestRef",
    "RepoConfig",
    "Report",
    "ReviewOptions",
    "ReviewResult",
    "RunComparison",
    "RunRecord",
    "SourceFile",
    "StepRecord",
    "Verdict",
    "check_config",
    "check_config_text",
    "compare_completed_run",
    "compare_run",
    "comparison_options",
    "escape_markdown",
    "format_json",
    "format_sarif",
    "format_text",
    "merge_config_files",
    "render_comment",
    "render_comparison_check_run",
    "render_review_check_run",
    "review_files",
    "review_options",
    "review_pull_request",
]
