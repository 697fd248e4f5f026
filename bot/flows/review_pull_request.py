"""Review the workflow, action and config files a pull request changes; publish one "workflow review" check run.

fetch (provider: changed files and their text at the head commit, the other workflows, the repository's
zizmor configuration and step timings from the base branch) → `review_files` (pure) → render (pure) →
publish (provider: the check run, and suggestion comments when the configuration asks for them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.comparison import median_step_durations
from bot.config.options import review_options
from bot.config.schema import RepoConfig
from bot.flows.provider import ChangedFile, CIProvider, HistoryUnavailable, PullRequestRef, UnreadableFile
from bot.review.engine import review_files
from bot.review.model import SourceFile, file_kind
from bot.review.report import render_check_run, suggestion_comments
from bot.review.security import ZIZMOR_CONFIG_PATHS

REVIEW_CHECK = "workflow review"
MAX_OTHER_WORKFLOWS = 50  # unchanged workflows read as context for duplicated steps


def is_reviewed(path: str) -> bool:
    """Workflows directly in `.github/workflows/`, any `action.yml`, and the App's config file."""
    return file_kind(path) != "other"


def lines_changed(changed: ChangedFile) -> set[int]:
    """The lines a pull request changed in a file; a file only moved between reviewed places changed none."""
    if changed.status == "renamed" and changed.changes == 0 and is_reviewed(changed.previous_path or ""):
        return set()
    return changed.lines


async def review_pull_request(provider: CIProvider, pull: PullRequestRef, *, rerun: bool = False) -> bool:
    """Review the pull request's changed workflow files and publish the check run; False when none changed.

    A `rerun` (the check's "Re-run" button) posts a new check run, as GitHub asks, so that annotations
    of the old one that no longer apply are not carried over.
    """
    changed = [f for f in await provider.changed_files(pull.number) if f.status != "removed" and is_reviewed(f.path)]
    if not changed:  # most pull requests: no config read, no contents call
        return False
    config = (await provider.config()).config
    if not config.review.enabled:
        return False
    files, unreadable = [], []
    for entry in changed:  # fork PRs too: their commits are readable from the base repository, and only read
        try:
            text = await provider.file_text(entry.path, pull.head_sha)
        except UnreadableFile as error:
            unreadable.append(f"{entry.path} was not reviewed: {error}")
            continue
        if text is not None:
            files.append(SourceFile(entry.path, text))
    timings = await _step_timings(provider, pull.base_branch, config, [source.path for source in files])
    others = await _other_workflows(provider, pull.head_sha, config, {source.path for source in files})
    others += await _zizmor_config(provider, pull.base_branch, config, files)
    # zizmor runs as a subprocess: off the event loop
    result = await asyncio.to_thread(
        review_files, files, review_options(config), step_timings=timings, other_files=others
    )
    result.errors.extend(unreadable)
    lines = {entry.path: lines_changed(entry) for entry in changed}
    report = render_check_run(
        result, changed=lines if config.review.only_changed_lines else None, fail_on=config.review.fail_on
    )
    await provider.publish_check_run(pull.head_sha, REVIEW_CHECK, report, replace=rerun)
    if config.review.suggestions:
        comments = suggestion_comments(result, lines, await provider.posted_suggestions(pull.number))
        if comments:
            await provider.post_suggestions(pull.number, pull.head_sha, comments)
    return True


async def _other_workflows(
    provider: CIProvider, head_sha: str, config: RepoConfig, reviewed: set[str]
) -> list[SourceFile]:
    """The repository's unchanged workflows at the head commit, for steps duplicated across workflows."""
    if "shared-actions" not in config.review.analyzers or all(file_kind(path) == "config" for path in reviewed):
        return []
    paths = sorted(path for path in await provider.workflow_files(head_sha) if path not in reviewed)
    others = []
    for path in paths[:MAX_OTHER_WORKFLOWS]:
        try:
            text = await provider.file_text(path, head_sha)
        except UnreadableFile:
            continue  # too large or not text: it only misses as context
        if text is not None:
            others.append(SourceFile(path, text))
    return others


async def _zizmor_config(
    provider: CIProvider, base: str, config: RepoConfig, files: Sequence[SourceFile]
) -> list[SourceFile]:
    """The repository's zizmor configuration, where zizmor looks for it (first found wins), on the base branch.

    The base branch's, as for the App's own configuration: a pull request cannot switch off the audit of its own
    changes (inline `# zizmor: ignore[...]` comments stay visible in its diff).
    """
    if "security" not in config.review.analyzers or all(source.kind not in ("workflow", "action") for source in files):
        return []
    for path in ZIZMOR_CONFIG_PATHS:
        try:
            text = await provider.file_text(path, base)
        except UnreadableFile:
            continue
        if text is not None:
            return [SourceFile(path, text)]
    return []


async def _step_timings(
    provider: CIProvider, base: str, config: RepoConfig, paths: Sequence[str]
) -> dict[tuple[str, str], float]:
    """Median seconds per (job, step) in the base branch's recent runs of the changed workflows, for the speed rules.

    The same runs the comparison uses (shared cache). A workflow new in this pull request has no history,
    and history the App may not read only leaves the timings out: the review goes on without them.
    """
    if "speed" not in config.review.analyzers:
        return {}
    timings: dict[tuple[str, str], float] = {}
    for path in paths:
        if file_kind(path) != "workflow":
            continue
        workflow_id = await provider.workflow_id(path)
        if workflow_id is None:
            continue
        comparison = config.comparison
        try:
            runs = await provider.baseline_runs(
                workflow_id,
                base,
                events=comparison.baseline_events,
                count=comparison.baseline_runs,
                created_before=None,
            )
        except HistoryUnavailable:
            continue
        timings.update(median_step_durations(runs))
    return timings


async def review_again(provider: CIProvider, head_sha: str, listed_numbers: Sequence[int]) -> None:
    """ "Re-run" on the review check of `head_sha`: review each open pull request still at that commit again.

    Fork pull requests are missing from a check run's `pull_requests`: they are found by the commit.
    """
    if listed_numbers:
        pulls = [await provider.pull_request(number) for number in listed_numbers]
    else:
        pulls = await provider.open_pull_requests_at(head_sha)
    for pull in pulls:
        if pull.head_sha == head_sha:
            await review_pull_request(provider, pull, rerun=True)
