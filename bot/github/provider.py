"""`GitHubProvider`: the flows' `CIProvider` for GitHub, over one client (an App installation or a token)."""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cachetools
import gidgethub

from bot.comparison.model import RunRecord
from bot.config.schema import LoadedConfig
from bot.flows.health import IssueRef
from bot.flows.provider import (
    ChangedFile,
    CommentRenderer,
    DispatchedRun,
    DispatchPaused,
    DispatchRefused,
    HistoryUnavailable,
    PullRequestHead,
    PullRequestRef,
)
from bot.github.client import GitHubUnavailable, RateLimited, WriteOutcomeUnknown, wait_for_rate_limits
from bot.github.contents import ConfigCache, read_contents, read_text
from bot.github.endpoints import RepoAPI
from bot.github.issues import FoundIssue, create_marked_issue, ensure_label, find_marked_issue
from bot.github.publish import CREATE_ATTEMPTS, PostedComment, Publisher, _output, _pause
from bot.github.runs import LISTED_SECONDS, RunHistory
from bot.report import ANNOTATIONS_PER_REQUEST, Report
from bot.review.diff import changed_lines
from bot.review.model import file_kind
from bot.review.report import posted_key
from bot.store import Repository, Store

log = logging.getLogger(__name__)
WORKFLOWS_DIR = ".github/workflows"
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
FRESH_EVENT = timedelta(minutes=10)  # newer than this, an opened/synchronize event cannot have been answered yet
HEALTH_LABEL_COLOUR = "d93f0b"
HEALTH_LABEL_DESCRIPTION = "CI health report kept by CI Orchestrator"


@dataclass
class GitHubCaches:
    """What the App keeps between deliveries (and the command line for one command): the history store, configs,
    files read at a commit, and the publisher."""

    store: Store
    app_id: int | None = None
    configs: ConfigCache = field(default_factory=ConfigCache)
    #: Files by (repository, path, commit SHA): what a commit holds never changes.
    files: cachetools.LRUCache[tuple[str, str, str], str | None] = field(
        default_factory=lambda: cachetools.LRUCache(2048)
    )
    #: Run lists read from GitHub lately (see `bot.github.runs`).
    listed: cachetools.TTLCache[tuple[Any, ...], bool] = field(
        default_factory=lambda: cachetools.TTLCache(20_000, LISTED_SECONDS)
    )
    publisher: Publisher = field(init=False)

    def __post_init__(self) -> None:
        self.publisher = Publisher(self.app_id or 0, self.store)


def pull_request_ref(pull: dict[str, Any]) -> PullRequestRef:
    """A `PullRequestRef` from GitHub's pull-request JSON."""
    return PullRequestRef(
        number=int(pull["number"]), head_sha=str(pull["head"]["sha"]), base_branch=pull["base"]["ref"]
    )


def changed_file(entry: dict[str, Any]) -> ChangedFile:
    """A `ChangedFile` from one item of a pull request's file list (`diff-entry`)."""
    return ChangedFile(
        path=str(entry["filename"]),
        status=str(entry.get("status") or "modified"),
        lines=changed_lines(entry.get("patch")),
        changes=int(entry.get("changes") or 0),
        previous_path=entry.get("previous_filename"),
    )


class GitHubProvider:
    """The flows' view of one GitHub repository."""

    def __init__(self, gh: Any, repository: Repository, caches: GitHubCaches) -> None:
        self.gh = gh
        self.repository = repository
        self.repo = repository.full_name
        self.api = RepoAPI(gh, repository.full_name)
        self.caches = caches
        self.store = caches.store
        self.history = RunHistory(gh, repository, caches.store, caches.listed)

    async def config(self) -> LoadedConfig:
        return await self.caches.configs.get(self.gh, self.repo)

    async def file_text(self, path: str, ref: str) -> str | None:
        if not COMMIT_SHA.fullmatch(ref):
            return await read_text(self.api, path, ref)
        key = (self.repo, path, ref)
        if key not in self.caches.files:
            self.caches.files[key] = await read_text(self.api, path, ref)
        return self.caches.files[key]

    async def baseline_runs(
        self, workflow_id: int, branch: str, *, events: Sequence[str], count: int, created_before: datetime | None
    ) -> list[RunRecord]:
        try:
            return await self.history.baseline(
                workflow_id, branch, events=events, count=count, created_before=created_before
            )
        except gidgethub.BadRequest as error:
            if error.status_code in (403, 404):
                message = f"GitHub answered {error.status_code} for the runs of workflow {workflow_id}"
                raise HistoryUnavailable(message) from error
            raise

    async def run(self, run_id: int, attempt: int) -> RunRecord:
        return await self.history.attempt(run_id, attempt)

    async def with_jobs(self, run: RunRecord, *, listed: bool = False) -> RunRecord:
        return await self.history.with_jobs(run, listed=listed)

    async def pr_samples(self, number: int, workflow_id: int | None) -> list[RunRecord]:
        return [stored.run for stored in await self.store.pr_samples(self.repository.id, number, workflow_id or 0)]

    async def keep_pr_sample(self, number: int, workflow_id: int | None, run: RunRecord) -> None:
        await self.store.add_pr_sample(
            self.repository.id, number, workflow_id or 0, run.id, run.run_attempt, now=datetime.now(UTC)
        )

    async def confirmations(self, number: int) -> set[tuple[str, int]]:
        return await self.store.confirmations(self.repository.id, number)

    async def claim_confirmation(self, number: int, head_sha: str, workflow_id: int) -> bool:
        return await self.store.claim_confirmation(
            self.repository.id, number, head_sha, workflow_id, now=datetime.now(UTC)
        )

    async def rerun_jobs(self, run: RunRecord, job_ids: Sequence[int]) -> bool:
        """One job: just it (and the jobs that need it). Several: the whole run, as GitHub re-runs one job at a time
        and refuses another while the first is running."""
        if len(job_ids) != 1:
            return await self.rerun_run(run)
        return await self._rerun(run, lambda: self.api.rerun_job(job_ids[0]))

    async def rerun_run(self, run: RunRecord) -> bool:
        return await self._rerun(run, lambda: self.api.rerun_run(run.id))

    async def _rerun(self, run: RunRecord, ask: Callable[[], Awaitable[None]]) -> bool:
        try:
            await ask()
        except WriteOutcomeUnknown:  # performed or not: a new attempt (or a run no longer completed) says it was
            now = await self.api.run(run.id)
            return int(now.get("run_attempt") or 1) > run.run_attempt or now.get("status") != "completed"
        except gidgethub.BadRequest as error:  # no `actions: write`, too old to re-run, or already re-running
            log.info("GitHub refused to re-run run %s in %s (%s): deciding on one sample", run.id, self.repo, error)
            return False
        return True

    def forget_config(self) -> None:
        self.caches.configs.invalidate(self.repo)

    async def open_pull_requests_at(
        self, head_sha: str, *, head_owner: str | None = None, head_branch: str | None = None
    ) -> list[PullRequestRef]:
        """The open PRs whose head is this commit: asked by head SHA, then by head branch (fork runs).

        A PR that has moved on from this commit (matched by branch only) is not one of them: a report
        on it would overwrite that of the newer commit.
        """
        found = await self.api.pulls_for_commit(head_sha)
        if not found and head_owner and head_branch:
            found = await self.api.open_pulls_from(f"{head_owner}:{head_branch}")
        open_here = [pr for pr in found if pr.get("state", "open") == "open" and pr["head"]["sha"] == head_sha]
        return [pull_request_ref(pr) for pr in open_here]

    def note_pull_request_event(self, action: str, pull: PullRequestRef, happened_at: datetime | None) -> None:
        """A pull request just opened has no comments of the App, and a new head no check runs: none are looked up.

        Only for events newer than `FRESH_EVENT`: a late redelivery may come after the App posted.
        """
        if happened_at is None or datetime.now(UTC) - happened_at > FRESH_EVENT:
            return
        if action == "opened":
            self.caches.publisher.expect_new_pull_request(self.repository, pull.number, pull.head_sha)
        elif action == "synchronize":
            self.caches.publisher.expect_new_head(self.repository, pull.head_sha)

    async def pull_request(self, number: int) -> PullRequestRef:
        return pull_request_ref(await self.api.pull(number))

    async def publish_check_run(
        self, head_sha: str, name: str, report: Report, *, details_url: str | None = None, replace: bool = False
    ) -> None:
        await self.caches.publisher.upsert_check_run(
            self.gh, self.repository, head_sha, name, report, details_url=details_url, replace=replace
        )

    async def publish_comment(
        self, number: int, markers: Sequence[str], render: CommentRenderer, *, create: bool
    ) -> str:
        def render_posted(existing: PostedComment | None) -> str:
            return render(existing.marker, existing.body) if existing is not None else render(None, None)

        return await self.caches.publisher.upsert_comment(
            self.gh, self.repository, number, markers, render_posted, create=create
        )

    async def running_workflows(self, head_sha: str) -> dict[int, str]:
        return await self.store.running_workflows(self.repository.id, head_sha)

    async def changed_files(self, number: int) -> list[ChangedFile]:
        return [changed_file(entry) async for entry in self.api.pull_files(number)]

    async def workflow_files(self, ref: str) -> list[str]:
        listing = await read_contents(self.api, WORKFLOWS_DIR, ref)
        if not isinstance(listing, list):
            return []
        return [
            str(item["path"])
            for item in listing
            if item.get("type") == "file" and file_kind(str(item.get("path"))) == "workflow"
        ]

    async def workflow_id(self, path: str) -> int | None:
        """The workflow's id; None when GitHub does not know it yet (new in this PR: 404) or may not show it (403)."""
        try:
            workflow = await self.api.workflow(posixpath.basename(path))
        except gidgethub.BadRequest:
            return None
        return int(workflow["id"])

    async def posted_suggestions(self, number: int) -> set[tuple[str, int, str]]:
        return {key async for comment in self.api.review_comments(number) if (key := posted_key(comment)) is not None}

    async def post_suggestions(self, number: int, head_sha: str, comments: Sequence[dict[str, object]]) -> None:
        body = "Mechanical fixes for the workflow review findings."
        await self.api.create_review(
            number, {"commit_id": head_sha, "event": "COMMENT", "body": body, "comments": list(comments)}
        )

    # On-demand test sessions

    async def permission(self, username: str) -> str:
        answer = await self.api.collaborator_permission(username)
        role = answer.get("role_name")
        if role in ("admin", "maintain", "write", "triage", "read", "none"):
            return str(role)
        return str(answer.get("permission") or "none")  # a custom role: its base permission

    async def react(self, comment_id: int, content: str) -> None:
        await self.api.add_reaction(comment_id, content)

    async def post_reply(self, number: int, body: str, marker: str) -> int:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return int((await self.api.create_issue_comment(number, body))["id"])
            except WriteOutcomeUnknown:
                found = (await Publisher._find_comments(self.api, number, [marker])).get(marker)
                if found is not None:
                    return found.id
                await _pause(self.gh, attempt)
        raise GitHubUnavailable(f"the reply on #{number} could not be posted in {CREATE_ATTEMPTS} attempts")

    async def edit_reply(self, comment_id: int, body: str) -> None:
        await self.api.update_issue_comment(comment_id, body)

    async def pull_request_head(self, number: int) -> PullRequestHead:
        pull = await self.api.pull(number)
        head_repo = (pull.get("head") or {}).get("repo") or {}
        return PullRequestHead(
            number=number,
            head_sha=str(pull["head"]["sha"]),
            head_branch=str(pull["head"]["ref"]),
            from_fork=head_repo.get("full_name") != self.repo,
        )

    async def dispatch(self, workflow: str, ref: str, inputs: dict[str, str]) -> DispatchedRun:
        """Dispatch without waiting in the client for a rate limit: the session pauses and resumes instead."""
        waiting = wait_for_rate_limits.set(False)
        try:
            answer = await self.api.dispatch_workflow(workflow, ref, inputs)
        except RateLimited as limited:
            raise DispatchPaused(limited.seconds, str(limited)) from limited
        except gidgethub.BadRequest as error:
            if error.status_code in (404, 422):
                raise DispatchRefused(str(error) or f"GitHub answered {error.status_code}") from error
            raise
        finally:
            wait_for_rate_limits.reset(waiting)
        if answer is None:
            return DispatchedRun(None, None)
        return DispatchedRun(int(answer["workflow_run_id"]), str(answer.get("html_url") or "") or None)

    async def cancel_run(self, run_id: int) -> None:
        try:
            await self.api.cancel_run(run_id)
        except gidgethub.BadRequest as error:
            if error.status_code != 409:  # 409: the run has finished already
                raise

    async def start_check_run(
        self, head_sha: str, name: str, report: Report, *, external_id: str, actions: Sequence[dict[str, str]]
    ) -> tuple[int, str]:
        payload = self._check_payload(report, actions, report.annotations[:ANNOTATIONS_PER_REQUEST])
        payload.update(name=name, head_sha=head_sha, external_id=external_id)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = await self.api.create_check_run(payload)
                break
            except WriteOutcomeUnknown:
                found = [
                    run
                    for run in await self.api.check_runs_for_ref(head_sha, name, self.caches.app_id or 0)
                    if run.get("external_id") == external_id
                ]
                if found:
                    created = found[0]
                    break
                await _pause(self.gh, attempt)
        else:
            raise GitHubUnavailable(f"the check run {name!r} could not be created in {CREATE_ATTEMPTS} attempts")
        check_run_id = int(created["id"])
        await self._more_annotations(check_run_id, report, ANNOTATIONS_PER_REQUEST)
        return check_run_id, str(created.get("html_url") or "")

    async def update_check_run(self, check_run_id: int, report: Report, *, actions: Sequence[dict[str, str]]) -> None:
        payload = self._check_payload(report, actions, report.annotations[:ANNOTATIONS_PER_REQUEST])
        await self.api.update_check_run(check_run_id, payload)
        await self._more_annotations(check_run_id, report, ANNOTATIONS_PER_REQUEST)

    @staticmethod
    def _check_payload(report: Report, actions: Sequence[dict[str, str]], annotations: Sequence[Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"output": _output(report, annotations), "actions": list(actions)}
        if report.conclusion is None:
            payload["status"] = "in_progress"
        else:
            payload.update(status="completed", conclusion=report.conclusion)
        return payload

    async def _more_annotations(self, check_run_id: int, report: Report, sent: int) -> None:
        for start in range(sent, len(report.annotations), ANNOTATIONS_PER_REQUEST):
            batch = report.annotations[start : start + ANNOTATIONS_PER_REQUEST]
            await self.api.update_check_run(check_run_id, {"output": _output(report, batch)})

    async def pause(self, seconds: float) -> None:
        pause = getattr(self.gh, "pause", None)
        if pause is not None:
            await pause(seconds)

    # The issues the App keeps (CI health)

    async def find_issue(self, label: str, marker: str) -> IssueRef | None:
        found = await find_marked_issue(self.api, label, marker)
        return None if found is None else _issue_ref(found)

    async def create_issue(self, title: str, body: str, label: str, marker: str) -> IssueRef:
        await ensure_label(self.api, label, HEALTH_LABEL_COLOUR, HEALTH_LABEL_DESCRIPTION)
        return _issue_ref(await create_marked_issue(self.api, title, body, label, marker))

    async def update_issue(self, number: int, *, body: str | None = None, reopen: bool = False) -> None:
        fields: dict[str, Any] = {}
        if body is not None:
            fields["body"] = body
        if reopen:
            fields["state"] = "open"
        if fields:
            await self.api.update_issue(number, fields)

    async def post_issue_comment(self, number: int, marker: str, body: str) -> None:
        await self.caches.publisher.upsert_comment(
            self.gh, self.repository, number, [marker], lambda _existing: body, create=True
        )


def _issue_ref(found: FoundIssue) -> IssueRef:
    return IssueRef(found.number, found.state, found.body, found.html_url)
