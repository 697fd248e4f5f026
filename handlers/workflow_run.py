"""Compare a pull request's completed workflow run with its base branch; refresh baselines on base-branch runs.

It also notes each pull request opened and each new head commit, so that their first comparison posts
its comment and check run without looking for earlier ones first (see `bot.github.publish`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import gidgethub
from gidgethub import routing, sansio

from bot.app.services import Services
from bot.comparison import (
    ComparisonOptions,
    RunComparison,
    RunRecord,
    annotations_for,
    compare_run,
    render_check_run,
    render_comment,
    run_from_github,
)
from bot.comparison.compare import ComparisonStatus, FailureVerdict, Verdict
from bot.comparison.model import parse_timestamp
from bot.config.schema import ComparisonConfig, UnreadableConfigFile, text_from_contents
from bot.github.publish import repo_vars
from bot.github.runs import BaselineStore

router = routing.Router()
log = logging.getLogger(__name__)

FRESH_EVENT = timedelta(minutes=10)  # newer than this, an opened/synchronize event cannot have been answered yet
PR_SAMPLES_KEPT = 4  # earlier pushes of a pull request remembered as extra samples
WORTH_A_COMMENT = frozenset({Verdict.REGRESSION, Verdict.IMPROVEMENT, FailureVerdict.NEW_FAILURE, FailureVerdict.FLAKY})


def comment_marker(workflow_id: int) -> str:
    return f"<!-- ci-orchestrator:comparison workflow={workflow_id} -->"


def check_run_name(workflow_name: str) -> str:
    return f"CI comparison: {workflow_name}"[:100]


def is_baseline_run(run: dict[str, Any], repository: dict[str, Any], config: ComparisonConfig) -> bool:
    """A run of this repository (not a fork) on the default or a configured baseline branch."""
    same_repo = (run.get("head_repository") or {}).get("full_name") == repository["full_name"]
    branches = {repository.get("default_branch"), *config.baseline_branches}
    return same_repo and run.get("head_branch") in branches and run.get("event") in config.baseline_events


def comparison_options(config: ComparisonConfig, base: str) -> ComparisonOptions:
    return ComparisonOptions(
        min_runs=config.min_runs,
        threshold_percent=config.threshold_percent,
        threshold_seconds=config.threshold_seconds,
        alpha=config.alpha,
        pass_rate_for_new_failure=config.new_failure_pass_rate,
        baseline_branch=base,
    )


def worth_a_comment(cmp: RunComparison) -> bool:
    verdicts = {cmp.wall_time.verdict, *(job.duration.verdict for job in cmp.jobs), *(job.failure for job in cmp.jobs)}
    return bool(verdicts & WORTH_A_COMMENT)


def without_ignored_jobs(run: RunRecord, patterns: tuple[str, ...]) -> RunRecord:
    if not patterns:
        return run
    return dataclasses.replace(
        run, jobs=tuple(job for job in run.jobs if not any(fnmatch.fnmatchcase(job.name, p) for p in patterns))
    )


async def pull_requests_of(gh, repository: dict[str, Any], run: dict[str, Any]) -> list[dict[str, Any]]:
    """The open PRs whose head is this run's commit.

    Fork runs carry none in the payload, so ask by head SHA, then by head branch.

    A run of a commit the PR has moved on from (matched by branch only) reports nowhere: it would
    overwrite the comparison of the newer commit.
    """
    repo, head_sha = repository["full_name"], run["head_sha"]
    if run.get("pull_requests"):  # may list PRs of other repositories with the same head branch
        return [
            pr
            for pr in run["pull_requests"]
            if pr["base"]["repo"]["id"] == repository["id"] and pr["head"]["sha"] == head_sha
        ]
    found = await gh.getitem("/repos/{owner}/{repo}/commits/{sha}/pulls", url_vars=repo_vars(repo, sha=head_sha))
    if not found and run.get("head_repository"):
        head = f"{run['head_repository']['owner']['login']}:{run['head_branch']}"
        found = await gh.getitem(
            "/repos/{owner}/{repo}/pulls{?head,state}", url_vars=repo_vars(repo, head=head, state="open")
        )
    return [pr for pr in found if pr.get("state", "open") == "open" and pr["head"]["sha"] == head_sha]


async def earlier_attempts_of(gh, store: BaselineStore, repo: str, run: dict[str, Any]) -> list[RunRecord]:
    """Earlier attempts of this run (same head SHA), oldest first: for flaky jobs and as extra samples."""
    attempts = []
    for attempt in range(1, (run.get("run_attempt") or 1)):
        earlier = await store.attempt(gh, repo, run["id"], attempt)
        attempts.append(run_from_github(earlier, await store.jobs(gh, repo, run["id"], attempt)))
    return attempts


async def workflow_text(gh, repo: str, path: str, ref: str) -> str | None:
    try:
        contents = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}", url_vars=repo_vars(repo, path=path, ref=ref)
        )
        return text_from_contents(contents)
    except (gidgethub.BadRequest, UnreadableConfigFile):
        return None  # annotations then point at line 1


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
async def note_new_head(event: sansio.Event, gh, services: Services) -> None:
    repo, pr = event.data["repository"]["full_name"], event.data["pull_request"]
    opened = event.data["action"] == "opened"
    happened = parse_timestamp(pr.get("created_at" if opened else "updated_at"))
    if happened is None or datetime.now(UTC) - happened > FRESH_EVENT:
        return  # a late redelivery: what the App posted since must be looked up, not assumed absent
    if opened:
        services.publisher.expect_new_pull_request(repo, pr["number"], pr["head"]["sha"])
    else:
        services.publisher.expect_new_head(repo, pr["head"]["sha"])


@router.register("workflow_run", action="completed")
async def compare_with_baseline(event: sansio.Event, gh, services: Services) -> None:
    run, repository = event.data["workflow_run"], event.data["repository"]
    repo = repository["full_name"]
    config = (await services.configs.get(gh, repo)).config.comparison
    if is_baseline_run(run, repository, config):
        services.baselines.invalidate(repo, run["head_branch"])
        return
    if not config.enabled or (
        config.workflows and not any(fnmatch.fnmatch(run["path"].rsplit("/", 1)[-1], p) for p in config.workflows)
    ):
        return
    pull_requests = await pull_requests_of(gh, repository, run)
    if not pull_requests:
        log.debug("run %s belongs to no open pull request", run["id"])
        return
    services.baselines.remember_attempt(repo, run)
    current = without_ignored_jobs(
        run_from_github(run, await services.baselines.jobs(gh, repo, run["id"], run.get("run_attempt") or 1)),
        config.ignore_jobs,
    )
    earlier = await earlier_attempts_of(gh, services.baselines, repo, run)
    for pr in pull_requests:
        await _report_on_pull_request(gh, services, repo, run, current, earlier, pr, config)


async def _report_on_pull_request(
    gh,
    services: Services,
    repo: str,
    run: dict[str, Any],
    current: RunRecord,
    earlier: list[RunRecord],
    pr: dict[str, Any],
    config: ComparisonConfig,
) -> None:
    base = pr["base"]["ref"]
    baseline = await services.baselines.runs(
        gh,
        repo,
        run["workflow_id"],
        base,
        events=config.baseline_events,
        count=config.baseline_runs,
        created_before=parse_timestamp(run.get("created_at")),
    )
    baseline = [without_ignored_jobs(record, config.ignore_jobs) for record in baseline]
    samples_key = (repo, pr["number"], run["workflow_id"])
    remembered = [sample for sample in services.pr_runs.get(samples_key, []) if sample.id != current.id]
    cmp = compare_run(
        current,
        baseline,
        comparison_options(config, base),
        pr_samples=[*remembered, *earlier, current],
        earlier_attempts=earlier,
    )
    if cmp.status is ComparisonStatus.COMPARED and current.conclusion == "success":
        services.pr_runs[samples_key] = [*remembered, current][-PR_SAMPLES_KEPT:]

    if config.comment != "never":
        outcome = await services.publisher.upsert_comment(
            gh,
            repo,
            pr["number"],
            comment_marker(run["workflow_id"]),
            render_comment(cmp, marker=comment_marker(run["workflow_id"])),
            create=config.comment == "always" or worth_a_comment(cmp),
        )
        log.info("comparison comment on #%s: %s", pr["number"], outcome)
    output = render_check_run(cmp, fail_on=config.fail_on)
    flagged = cmp.has_regression or bool(cmp.new_failures)
    text = await workflow_text(gh, repo, run["path"], run["head_sha"]) if flagged else None
    await services.publisher.upsert_check_run(
        gh,
        repo,
        run["head_sha"],
        check_run_name(current.workflow_name or run["path"]),
        conclusion=output.conclusion,
        output=output,
        annotations=annotations_for(cmp, run["path"], text) if flagged else (),
        details_url=run.get("html_url"),
    )
