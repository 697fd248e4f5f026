"""Review of GitHub Actions workflow, action and App config files: findings, analyzers and reports."""

from bot.review.engine import review_files
from bot.review.model import (
    Finding,
    Fix,
    ReviewContext,
    ReviewOptions,
    ReviewResult,
    SharedAction,
    SourceFile,
)

__all__ = [
    "Finding",
    "Fix",
    "ReviewContext",
    "ReviewOptions",
    "ReviewResult",
    "SharedAction",
    "SourceFile",
    "review_files",
]
