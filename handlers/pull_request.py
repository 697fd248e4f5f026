"""Review the workflow, action and config files a pull request changes; post one "workflow review" check run."""

from __future__ import annotations

import asyncio
import posixpath
from typing import Any

import gidgethub
from gidgethub import routing, sansio

from bot.app.services import Services
from bot.cli.review import options_from_config
from bot.comparison import median_step_durations
from bot.config.schema import CONFIG_PATH, RepoConfig, UnreadableConfigFile, text_from_contents
from bot.github.publish import repo_vars
from bot.review.diff import changed_lines
from bot.review.engine import review_files
from bot.review.model import SourceFile, file_kind
from bot.review.report import posted_key, render_check_run, suggestion_comments

router = routing.Router()

REVIEW_CHECK = "workflow review"
WORKFLOWS_DIR = ".github/workflows"
MAX_OTHER_WORKFLOWS = 50  # unchanged workflows read as context for duplicated steps
ACTION_FILE_NAMES = ("action.yml", "action.yaml")


def is_reviewed(path: str) -> bool:
    """Workflows directly in `.github/workflows/` (GitHub ignores subfolders), any `action.yml`, the App's config."""
    folder, name = posixpath.split(path)
    return (
        path == CONFIG_PATH
        or name in ACTION_FILE_NAMES
        or (folder == WORKFLOWS_DIR and name.endswith((".yml", ".yaml")))
    )


def lines_changed(entry: dict[str, Any]) -> set[int]:
    """The lines a pull request changed in one file of its file list.

    A file only moved from one reviewed place to another (a rename without changes has no patch)
    changed no line; a file without a patch otherwise (new under a reviewed name, or too large) changed all.
    """
    if entry["status"] == "renamed" and entry.get("changes") == 0 and is_reviewed(entry.get("previous_filename") or ""):
        return set()
    return changed_lines(entry.get("patch"))


async def review_pull_request(gh, services: Services, repo: str, pr: dict[str, Any], *, rerun: bool = False) -> None:
    """Read the changed workflow files at the head commit, run the analyzers, publish the check run.

    A `rerun` (the check's "Re-run" button) posts a new check run, as GitHub asks, so that annotations
    of the old one that no longer apply are not carried over."""
    number, head_sha = pr["number"], pr["head"]["sha"]
    changed = [
        entry
        async for entry in gh.getiter(
            "/repos/{owner}/{repo}/pulls/{number}/files{?per_page}",
            url_vars=repo_vars(repo, number=str(number), per_page="100"),
        )
        if entry["status"] != "removed" and is_reviewed(entry["filename"])
    ]
    if not changed:  # most pull requests: no config read, no contents call
        return
    config = (await services.configs.get(gh, repo)).config
    if not config.review.enabled:
        return
    files, unreadable = [], []
    for entry in changed:  # fork PRs too: their commits are readable from the base repository, and only read
        contents = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}",
            url_vars=repo_vars(repo, path=entry["filename"], ref=head_sha),
        )
        try:
            files.append(SourceFile(entry["filename"], text_from_contents(contents)))
        except UnreadableConfigFile as error:
            unreadable.append(f"`{entry['filename']}` was not reviewed: {error}")
    timings = await step_timings(gh, services, repo, pr["base"]["ref"], config, [source.path for source in files])
    others = await other_workflows(gh, repo, head_sha, config, {source.path for source in files})
    # zizmor runs as a subprocess: off the event loop
    result = await asyncio.to_thread(
        review_files, files, options_from_config(config), step_timings=timings, other_files=others
    )
    result.errors.extend(unreadable)
    lines = {entry["filename"]: lines_changed(entry) for entry in changed}
    output = render_check_run(
        result, changed=lines if config.review.only_changed_lines else None, fail_on=config.review.fail_on
    )
    await services.publisher.upsert_check_run(
        gh,
        repo,
        head_sha,
        REVIEW_CHECK,
        conclusion=output.conclusion,
        output=output,
        annotations=output.annotations,
        replace=rerun,
    )
    if config.review.suggestions:
        await _post_suggestions(gh, repo, number, head_sha, result, lines)


async def other_workflows(gh, repo: str, head_sha: str, config: RepoConfig, reviewed: set[str]) -> list[SourceFile]:
    """The repository's unchanged workflows at the head commit, for steps duplicated across workflows."""
    if "shared-actions" not in config.review.analyzers or all(file_kind(path) == "config" for path in reviewed):
        return []
    try:
        listing = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}", url_vars=repo_vars(repo, path=WORKFLOWS_DIR, ref=head_sha)
        )
    except gidgethub.BadRequest as error:
        if error.status_code == 404:  # no workflows folder at that commit
            return []
        raise
    paths = [
        item["path"]
        for item in listing
        if item.get("type") == "file" and is_reviewed(item["path"]) and item["path"] not in reviewed
    ]
    others = []
    for path in sorted(paths)[:MAX_OTHER_WORKFLOWS]:
        contents = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}", url_vars=repo_vars(repo, path=path, ref=head_sha)
        )
        try:
            others.append(SourceFile(path, text_from_contents(contents)))
        except UnreadableConfigFile:
            continue  # too large or not text: it only misses as context
    return others


async def step_timings(
    gh, services: Services, repo: str, base: str, config: RepoConfig, paths: list[str]
) -> dict[tuple[str, str], float]:
    """Median seconds per (job, step) in the base branch's recent runs of the changed workflows, for the speed rules.

    The same runs the comparison uses (shared cache). A workflow new in this pull request has no history
    (404), and history the App may not read (403) only leaves the timings out: the review goes on without them.
    """
    if "speed" not in config.review.analyzers:
        return {}
    timings: dict[tuple[str, str], float] = {}
    for path in paths:
        if file_kind(path) != "workflow":
            continue
        try:
            workflow = await gh.getitem(
                "/repos/{owner}/{repo}/actions/workflows/{workflow_id}",
                url_vars=repo_vars(repo, workflow_id=posixpath.basename(path)),
            )
            runs = await services.baselines.runs(
                gh,
                repo,
                workflow["id"],
                base,
                events=config.comparison.baseline_events,
                count=config.comparison.baseline_runs,
                created_before=None,
            )
        except gidgethub.BadRequest:
            continue
        timings.update(median_step_durations(runs))
    return timings


async def _post_suggestions(gh, repo: str, number: int, head_sha: str, result, lines) -> None:
    posted = {
        key
        async for comment in gh.getiter(
            "/repos/{owner}/{repo}/pulls/{number}/comments{?per_page}",
            url_vars=repo_vars(repo, number=str(number), per_page="100"),
        )
        if (key := posted_key(comment)) is not None
    }
    comments = suggestion_comments(result, lines, posted)
    if comments:
        await gh.post(
            "/repos/{owner}/{repo}/pulls/{number}/reviews",
            url_vars=repo_vars(repo, number=str(number)),
            data={
                "commit_id": head_sha,
                "event": "COMMENT",
                "body": "Mechanical fixes for the workflow review findings.",
                "comments": comments,
            },
        )


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
async def review_workflow_changes(event: sansio.Event, gh, services: Services) -> None:
    await review_pull_request(gh, services, event.data["repository"]["full_name"], event.data["pull_request"])
