"""The seam between flows and a CI provider: what a flow may ask of GitHub (or, later, GitLab or Jenkins).

Flows see plain records (`RunRecord`, `PullRequestRef`, `Report`, config dataclasses), never a
provider's JSON; `bot.github.provider.GitHubProvider` implements this for GitHub, for the App (an
installation client) and for the command line (a token).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.comparison.model import RunRecord
from bot.config.schema import LoadedConfig
from bot.report import Report

CommentRenderer = Callable[[str | None, str | None], str]
"""Gets the marker and body of an existing comment (None, None when there is none); returns the new body."""


class UnreadableFile(ValueError):
    """A file exists but cannot be read as text (a directory, too large, not UTF-8); the message says why."""


class HistoryUnavailable(Exception):
    """The provider refused or has no run history for a workflow (new in this pull request, or not allowed)."""


@dataclass(frozen=True)
class PullRequestRef:
    """A pull request as flows need it."""

    number: int
    head_sha: str
    base_branch: str


@dataclass(frozen=True)
class ChangedFile:
    """A file a pull request changes: its path, status, and the new-side lines it adds.

    `lines` is `bot.review.diff.AllLines()` when the provider shows no patch (a new file too large
    for a diff, a binary file, or a rename without changes, which `changes == 0` tells apart).
    """

    path: str
    status: str  # added, modified, removed, renamed, copied, changed, unchanged
    lines: set[int]
    changes: int = 0
    previous_path: str | None = None


class CIProvider(Protocol):
    """What the compare, review and config flows read from and publish to a CI provider, for one repository."""

    repo: str

    async def config(self) -> LoadedConfig:
        """The configuration that applies to the repository (its own file over the organization's)."""
        ...

    async def file_text(self, path: str, ref: str) -> str | None:
        """A file's text at a commit; None when it does not exist; `UnreadableFile` when it is not text."""
        ...

    async def baseline_runs(
        self, workflow_id: int, branch: str, *, events: Sequence[str], count: int, created_before: datetime | None
    ) -> list[RunRecord]:
        """The newest completed runs of a workflow on a branch, oldest first, with their jobs.

        Raises `HistoryUnavailable` when the provider has none to show (unknown workflow, no access)."""
        ...

    async def run(self, run_id: int, attempt: int) -> RunRecord:
        """One attempt of a run with its jobs."""
        ...

    async def with_jobs(self, run: RunRecord, *, listed: bool = False) -> RunRecord:
        """`run` with the jobs (and steps) of its attempt; `listed`: from the CI's own listing of the attempt, not
        from what its webhooks have said so far (one job's may still be on its way)."""
        ...

    async def confirmations(self, number: int) -> set[tuple[str, int]]:
        """(head SHA, workflow id) of the confirming re-runs the App asked for on this pull request."""
        ...

    async def claim_confirmation(self, number: int, head_sha: str, workflow_id: int) -> bool:
        """A confirming re-run is being asked for this commit's workflow: it counts against the budget. False when
        one was claimed before (a redelivery, another instance): then it is not asked for again."""
        ...

    async def rerun_jobs(self, run: RunRecord, job_ids: Sequence[int]) -> bool:
        """Re-run these jobs of the run (a new attempt follows); False when the provider refused."""
        ...

    async def rerun_run(self, run: RunRecord) -> bool:
        """Re-run the whole run (a new attempt follows); False when the provider refused."""
        ...

    def forget_config(self) -> None:
        """The configuration may have changed: read it again when next needed."""
        ...

    async def pr_samples(self, number: int, workflow_id: int | None) -> list[RunRecord]:
        """Successful runs of earlier pushes of a pull request, kept as extra samples (the most recent few)."""
        ...

    async def keep_pr_sample(self, number: int, workflow_id: int | None, run: RunRecord) -> None:
        """Keep this run as one of the pull request's samples for later comparisons."""
        ...

    async def open_pull_requests_at(
        self, head_sha: str, *, head_owner: str | None = None, head_branch: str | None = None
    ) -> list[PullRequestRef]:
        """The open pull requests whose head is this commit (found by branch too, for forks, when given)."""
        ...

    async def pull_request(self, number: int) -> PullRequestRef:
        """One pull request."""
        ...

    async def publish_check_run(
        self, head_sha: str, name: str, report: Report, *, details_url: str | None = None, replace: bool = False
    ) -> None:
        """Create or update the check run `name` on a commit so that it shows `report`."""
        ...

    async def publish_comment(
        self, number: int, markers: Sequence[str], render: CommentRenderer, *, create: bool
    ) -> str:
        """Edit the first existing comment carrying one of `markers`, or post one with the last marker when `create`.

        `render(marker, body)` gets the marker and body of the existing comment (both None when there is
        none) and returns the new body. Returns "created", "updated", "unchanged" or "skipped".
        """
        ...

    async def running_workflows(self, head_sha: str) -> dict[int, str]:
        """The workflows (id → name) with a run on this commit that has not completed yet, as far as known."""
        ...

    async def changed_files(self, number: int) -> list[ChangedFile]:
        """The files a pull request changes, with the lines it changes in each."""
        ...

    async def workflow_files(self, ref: str) -> list[str]:
        """Paths of the workflow files at a commit (none when the folder does not exist)."""
        ...

    async def workflow_id(self, path: str) -> int | None:
        """The id of the workflow defined in `path`, or None when the provider knows no such workflow yet."""
        ...

    async def posted_suggestions(self, number: int) -> set[tuple[str, int, str]]:
        """(path, line, rule) of the review suggestions the App already posted on a pull request."""
        ...

    async def post_suggestions(self, number: int, head_sha: str, comments: Sequence[dict[str, object]]) -> None:
        """Post review comments with suggestion blocks on a pull request, as one review."""
        ...


class DispatchRefused(Exception):
    """The provider refused to start a run (the workflow or its inputs are not what it expects); says why."""


class DispatchPaused(Exception):
    """The provider asks to wait before more is dispatched (a rate limit): `seconds`."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


@dataclass(frozen=True)
class DispatchedRun:
    """A run the provider started: its id and page, when the provider says them (GitHub does since 2026)."""

    run_id: int | None
    html_url: str | None


@dataclass(frozen=True)
class PullRequestHead:
    """Where a pull request's head is: its commit and branch, and whether the branch is in a fork."""

    number: int
    head_sha: str
    head_branch: str
    from_fork: bool


class OnDemandProvider(Protocol):
    """What on-demand test sessions read from and do on a CI provider, for one repository."""

    repo: str

    async def file_text(self, path: str, ref: str) -> str | None:
        """A file's text at a ref; None when it does not exist."""
        ...

    async def workflow_files(self, ref: str) -> list[str]:
        """Paths of the workflow files at a ref."""
        ...

    async def permission(self, username: str) -> str:
        """The user's permission on the repository: admin, maintain, write, triage, read or none."""
        ...

    async def react(self, comment_id: int, content: str) -> None:
        """Add a reaction (eyes, rocket, confused) to a comment."""
        ...

    async def post_reply(self, number: int, body: str, marker: str) -> int:
        """Post a comment on a pull request (found again by `marker` if the answer is lost); its id."""
        ...

    async def edit_reply(self, comment_id: int, body: str) -> None:
        """Replace the body of the App's comment."""
        ...

    async def pull_request_head(self, number: int) -> PullRequestHead:
        """Where a pull request's head is."""
        ...

    async def dispatch(self, workflow: str, ref: str, inputs: dict[str, str]) -> DispatchedRun:
        """Start a run of `workflow` on `ref`; `DispatchRefused` or `DispatchPaused` when that is not possible now."""
        ...

    async def cancel_run(self, run_id: int) -> None:
        """Cancel a run (one that has not finished)."""
        ...

    async def start_check_run(
        self, head_sha: str, name: str, report: Report, *, external_id: str, actions: Sequence[dict[str, str]]
    ) -> tuple[int, str]:
        """Create a check run showing `report`; its id and page."""
        ...

    async def update_check_run(self, check_run_id: int, report: Report, *, actions: Sequence[dict[str, str]]) -> None:
        """Show `report` on the check run (its annotations are added, 50 a request)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Wait between dispatches."""
        ...
