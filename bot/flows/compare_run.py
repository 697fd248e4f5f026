"""Compare a pull request's completed workflow run with its base branch, and publish the comment and check run.

fetch (provider: baseline runs, the run's jobs, earlier attempts and pushes) → `compare_run` (pure)
→ render (pure) → publish (provider: the PR comment, the check run on the head commit).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.comparison import ComparisonStatus, RunComparison, RunRecord, compare_run, render_check_run, render_comment
from bot.comparison.pr_comment import PULL_REQUEST_MARKER, compose, section_limit, with_section, workflow_marker
from bot.comparison.selection import is_baseline_run, is_compared_workflow, without_ignored_jobs, worth_a_comment
from bot.config.options import comparison_options
from bot.config.schema import ComparisonConfig
from bot.flows.provider import CIProvider, PullRequestRef, UnreadableFile
from bot.report import check_run_name

log = logging.getLogger(__name__)


def comparison_check_name(run: RunRecord) -> str:
    return check_run_name(f"CI comparison: {run.workflow_name or run.workflow_path}")


@dataclass(frozen=True)
class CompletedRun:
    """A run that just completed, and what its provider said about where it comes from."""

    run: RunRecord  # jobs are fetched by the flow
    default_branch: str
    from_this_repository: bool
    head_owner: str | None = None
    listed_pulls: Sequence[PullRequestRef] = ()


async def compare_completed_run(provider: CIProvider, completed: CompletedRun) -> list[RunComparison]:
    """Compare the run for each open pull request whose head it ran on.

    Returns the comparisons made (none for baseline runs, runs of no open pull request, or workflows
    the configuration leaves out).
    """
    run = completed.run
    config = (await provider.config()).config.comparison
    branches = {completed.default_branch, *config.baseline_branches}
    if is_baseline_run(
        run,
        from_this_repository=completed.from_this_repository,
        baseline_branches=branches,
        baseline_events=config.baseline_events,
    ):
        return []
    if run.event == "workflow_dispatch":  # dispatched with chosen inputs (test legs among them): not the PR's CI
        return []
    if not config.enabled or not is_compared_workflow(run.workflow_path, config.workflows):
        return []
    pulls = list(completed.listed_pulls) or await provider.open_pull_requests_at(
        run.head_sha, head_owner=completed.head_owner, head_branch=run.head_branch
    )
    if not pulls:
        log.debug("run %s belongs to no open pull request", run.id)
        return []
    current = without_ignored_jobs(await provider.with_jobs(run), config.ignore_jobs)
    earlier = [
        without_ignored_jobs(await provider.run(run.id, attempt), config.ignore_jobs)
        for attempt in range(1, run.run_attempt)
    ]
    return [await _compare_for_pull_request(provider, current, earlier, pull, config) for pull in pulls]


async def _compare_for_pull_request(
    provider: CIProvider, current: RunRecord, earlier: list[RunRecord], pull: PullRequestRef, config: ComparisonConfig
) -> RunComparison:
    baseline = await provider.baseline_runs(
        current.workflow_id or 0,
        pull.base_branch,
        events=config.baseline_events,
        count=config.baseline_runs,
        created_before=current.created_at,
    )
    baseline = [without_ignored_jobs(record, config.ignore_jobs) for record in baseline]
    if baseline and {job.name for job in baseline[-1].jobs} - {job.name for job in current.jobs}:
        # A job the base branch ran is missing: removed by the PR, or its webhook is still on its way. GitHub's
        # listing of the attempt says which (one call, only then).
        current = without_ignored_jobs(await provider.with_jobs(current, listed=True), config.ignore_jobs)
    remembered = [s for s in await provider.pr_samples(pull.number, current.workflow_id) if s.id != current.id]

    def compare(confirm: bool) -> RunComparison:
        return compare_run(
            current,
            baseline,
            comparison_options(config, pull.base_branch, confirm=confirm),
            pr_samples=[*remembered, *earlier, current],
            earlier_attempts=earlier,
        )

    cmp = compare(confirm=await may_confirm(provider, pull, current, config))
    if cmp.awaiting_confirmation and not await _rerun_to_confirm(provider, pull, current, cmp):
        cmp = compare(confirm=False)  # GitHub refused the re-run: one sample decides, at the stricter level
    if cmp.status is ComparisonStatus.COMPARED and current.conclusion == "success":
        await provider.keep_pr_sample(pull.number, current.workflow_id, current)

    if config.comment != "never":
        await _publish_comment(provider, pull, current, cmp, config)
    flagged = cmp.has_regression or bool(cmp.new_failures)
    workflow_text = await _workflow_text(provider, current) if flagged else None
    report = render_check_run(cmp, fail_on=config.fail_on, workflow_text=workflow_text)
    if cmp.awaiting_confirmation:  # pending until the confirming attempt (or the watchdog) completes it
        report = dataclasses.replace(report, conclusion=None)
    await provider.publish_check_run(
        current.head_sha, comparison_check_name(current), report, details_url=current.html_url
    )
    return cmp


async def may_confirm(provider: CIProvider, pull: PullRequestRef, run: RunRecord, config: ComparisonConfig) -> bool:
    """Whether a verdict may wait for a confirming re-run: the configuration allows it, this commit's workflow
    has not been re-run to confirm yet (one round each), and the pull request's budget is not spent."""
    if config.confirm != "rerun":
        return False
    done = await provider.confirmations(pull.number)
    return (run.head_sha, run.workflow_id or 0) not in done and len(done) < config.confirm_reruns


async def _rerun_to_confirm(provider: CIProvider, pull: PullRequestRef, run: RunRecord, cmp: RunComparison) -> bool:
    """Re-run the jobs that look slower (or the whole run when only its measures do); False when GitHub refused, or
    when this commit's workflow was claimed for a re-run before (a handling cut short: decide now, not wait)."""
    job_ids = [job.id for job in run.jobs if job.name in cmp.confirm_jobs and job.id is not None]
    if not job_ids and not cmp.confirm_run:
        return False
    if not await provider.claim_confirmation(pull.number, run.head_sha, run.workflow_id or 0):
        return False
    rerun = await provider.rerun_jobs(run, job_ids) if job_ids else await provider.rerun_run(run)
    if rerun:
        checked = ", ".join(cmp.confirm_jobs) or "the whole run"
        log.info("re-running %s of run %s to confirm a slowdown on #%s", checked, run.id, pull.number)
    return rerun


async def _publish_comment(
    provider: CIProvider, pull: PullRequestRef, run: RunRecord, cmp: RunComparison, config: ComparisonConfig
) -> None:
    """One comment per pull request with this workflow's section (or one per workflow, where configured or posted)."""
    per_workflow = workflow_marker(run.workflow_id)
    markers = [per_workflow] if config.comment_per == "workflow" else [per_workflow, PULL_REQUEST_MARKER]
    running = await provider.running_workflows(run.head_sha)
    waiting = {wid: name for wid, name in running.items() if wid != run.workflow_id}

    def render(marker: str | None, body: str | None) -> str:
        if marker == per_workflow or markers == [per_workflow]:
            return render_comment(cmp, marker=per_workflow)
        count = len(with_section(body, run.workflow_id or 0, "", waiting))
        section = render_comment(cmp, marker="", limit=section_limit(count)).strip()
        return compose(with_section(body, run.workflow_id or 0, section, waiting))

    create = config.comment == "always" or worth_a_comment(cmp)
    outcome = await provider.publish_comment(pull.number, markers, render, create=create)
    log.info("comparison comment on #%s: %s", pull.number, outcome)


async def _workflow_text(provider: CIProvider, run: RunRecord) -> str | None:
    """The workflow file at the run's commit, to put annotations at the jobs' lines (line 1 without it)."""
    try:
        return await provider.file_text(run.workflow_path, run.head_sha)
    except UnreadableFile:
        return None
