"""The App's configuration as data: every setting with its default, and the allowed values.

`.github/ci-orchestrator.yml` in a repository (or in the organization's `.github` repository)
changes these defaults key by key; `bot.config.validation` checks a file against them and
`bot.config.loading` merges the files. docs/configuration.md documents every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.review.model import DEFAULT_ANALYZERS

CONFIG_PATH = ".github/ci-orchestrator.yml"
ORG_CONFIG_REPO = ".github"
# `event` values a workflow run can have: the workflow trigger events, plus `dynamic`
# (runs GitHub starts itself, e.g. Dependabot updates and code scanning default setup).
WORKFLOW_RUN_EVENTS = frozenset(
    {
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "create",
        "delete",
        "deployment",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "dynamic",
        "fork",
        "gollum",
        "issue_comment",
        "issues",
        "label",
        "merge_group",
        "milestone",
        "page_build",
        "project",
        "project_card",
        "project_column",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_target",
        "push",
        "registry_package",
        "release",
        "repository_dispatch",
        "schedule",
        "status",
        "watch",
        "workflow_dispatch",
        "workflow_run",
    }
)
COMMENT_MODES = ("on-change", "always", "never")
COMMENT_PER = ("pull-request", "workflow")  # one comment per pull request (sections), or one per workflow
CONFIRM_MODES = ("rerun", "never")  # re-run a job that looks slower in one sample before calling it slower, or not
HEALTH_SCHEDULES = ("weekly", "daily", "off")
# A user (@login) or a team (@org/team-slug) to mention: GitHub's login and team slug characters only.
MENTION = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9][A-Za-z0-9_.-]{0,99})?")
STEP_PATTERN_KEYS = ("uses", "run")
SHARED_ACTION_KEYS = ("uses", "replaces", "with", "description")
ACTION_REFERENCE = re.compile(r"\./\S+|[\w.-]+/[\w.-]+(/[^@\s]+)?@[^@\s]+")


@dataclass(frozen=True)
class ComparisonConfig:
    """How pull-request workflow runs are compared with the base branch's recent runs."""

    enabled: bool = True
    baseline_branches: tuple[str, ...] = ()
    baseline_runs: int = 20
    baseline_events: tuple[str, ...] = ("push",)
    min_runs: int = 5
    threshold_percent: float = 10
    threshold_seconds: float = 30
    alpha: float = 0.01
    new_failure_pass_rate: float = 0.9
    confirm: str = "rerun"
    confirm_reruns: int = 3
    comment: str = "on-change"
    comment_per: str = "pull-request"
    fail_on: str = "never"
    workflows: tuple[str, ...] = ()
    ignore_jobs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewConfig:
    """How workflow changes in pull requests are reviewed."""

    enabled: bool = True
    analyzers: tuple[str, ...] = DEFAULT_ANALYZERS
    ignore: tuple[str, ...] = ()
    only_changed_lines: bool = True
    fail_on: str = "error"
    suggestions: bool = False
    security_strict: bool = False


@dataclass(frozen=True)
class HealthConfig:
    """The "CI health" report: when it is refreshed, over which window, how it decides, whom it alerts."""

    enabled: bool = True
    schedule: str = "weekly"
    window_days: int = 30
    events: tuple[str, ...] = ("push",)
    label: str = "ci-health"
    notify: str = ""
    alpha: float = 0.05
    min_runs: int = 10
    min_segment: int = 5
    threshold_percent: float = 10
    threshold_seconds: float = 30
    flaky_recovery_days: int = 14
    broken_after: int = 3
    queue_p90_seconds: float = 300
    jobs: int = 20


@dataclass(frozen=True)
class SharedActionConfig:
    """One of the organization's shared actions (or reusable workflows) and the steps it replaces."""

    uses: str
    replaces: tuple[dict, ...]
    with_: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class RepoConfig:
    """The whole configuration of one repository."""

    comparison: ComparisonConfig = ComparisonConfig()
    review: ReviewConfig = ReviewConfig()
    health: HealthConfig = HealthConfig()
    shared_actions: tuple[SharedActionConfig, ...] = ()


DEFAULT_CONFIG = RepoConfig()


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, in plain words, with where it is (1-based)."""

    line: int
    column: int
    key: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}, line {self.line}" if self.source else f"line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ConfigLayer:
    """The valid settings one config file makes, by dotted key, and where each one was written.

    `settings` maps e.g. "comparison.min_runs" to 10 and "shared_actions" to a tuple of
    `SharedActionConfig`; `positions` maps the same keys to (line, column).
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class LoadedConfig:
    """The configuration that applies to a repository, what is wrong in its files, and which files exist."""

    config: RepoConfig
    problems: list[ConfigProblem]
    sources: list[str]
