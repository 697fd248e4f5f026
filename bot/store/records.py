"""Plain typed records the store takes and gives: what GitHub told us, with no GitHub JSON shapes left in them.

Steps reuse the comparison's `StepRecord`; reading runs back gives the comparison's `RunRecord`.
Every timestamp is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.comparison.model import RunRecord, StepRecord

#: How far along a run or job is, by its `status`: a later stage always wins over an earlier one.
STATUS_RANKS = {
    "requested": 1,
    "pending": 1,
    "waiting": 1,
    "queued": 1,
    "in_progress": 2,
    "completed": 3,
}
_RANK_SCALE = 10**13  # above any epoch-millisecond timestamp until the year 2286


def progress(status: str | None, *moments: datetime | None) -> int:
    """A number that grows with every later observation of the same run or job: status stage first, then time.

    Stored with each row; an upsert only overwrites a row with an observation at least as far along, so
    the final row does not depend on the order in which events arrive.
    """
    known = [moment for moment in moments if moment is not None]
    millis = int(max(known).timestamp() * 1000) if known else 0
    return STATUS_RANKS.get(status or "", 0) * _RANK_SCALE + max(0, min(millis, _RANK_SCALE - 1))


def whole_seconds(start: datetime | None, end: datetime | None) -> int | None:
    """Whole seconds from `start` to `end` (GitHub's timestamps have whole seconds); None when unknown or negative."""
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds())


def step_progress(step: StepRecord) -> int:
    """`progress` of a step, which has no status of its own in the record: done, started or waiting."""
    if step.conclusion is not None or step.completed_at is not None:
        status = "completed"
    elif step.started_at is not None:
        status = "in_progress"
    else:
        status = "queued"
    return progress(status, step.started_at, step.completed_at)


@dataclass(frozen=True, slots=True)
class Installation:
    """An installation of the App on an account."""

    id: int
    account: str | None


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository the App is installed on; `id` is GitHub's and survives renames."""

    id: int
    full_name: str
    installation_id: int | None
    default_branch: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """One attempt of a workflow run."""

    repository_id: int
    id: int
    attempt: int
    workflow_id: int
    workflow_name: str
    workflow_path: str
    event: str | None
    status: str | None
    conclusion: str | None
    head_branch: str | None
    head_sha: str
    pull_requests: tuple[int, ...]
    created_at: datetime | None
    run_started_at: datetime | None
    updated_at: datetime | None
    html_url: str | None = None

    @property
    def progress(self) -> int:
        return progress(self.status, self.updated_at, self.run_started_at, self.created_at)


@dataclass(frozen=True, slots=True)
class WorkflowJob:
    """One job of one attempt of a run, with its steps; `id` is GitHub's job id (a re-run job gets a new one)."""

    repository_id: int
    id: int
    run_id: int
    run_attempt: int
    name: str
    workflow_name: str | None
    status: str | None
    conclusion: str | None
    head_sha: str | None
    head_branch: str | None
    labels: tuple[str, ...]
    runner_name: str | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    steps: tuple[StepRecord, ...] = ()
    html_url: str | None = None

    @property
    def progress(self) -> int:
        return progress(self.status, self.completed_at, self.started_at, self.created_at)


@dataclass(frozen=True, slots=True)
class WorkflowRunEvent:
    """What a `workflow_run` delivery says: the run attempt, its repository and installation."""

    installation: Installation | None
    repository: Repository
    run: WorkflowRun


@dataclass(frozen=True, slots=True)
class WorkflowJobEvent:
    """What a `workflow_job` delivery says: the job with its steps, its repository and installation."""

    installation: Installation | None
    repository: Repository
    job: WorkflowJob


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """How far the backfill of one repository's history has come; saved after each page so it resumes."""

    repository_id: int
    branch: str
    since: datetime  # the oldest run creation time wanted
    started_at: datetime
    updated_at: datetime
    cursor: str | None = None  # where the next page starts, in the backfill's own terms
    runs_fetched: int = 0
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run attempt read back from the store, with the jobs of that attempt.

    `jobs_listed`: the jobs were written from a complete API listing of the attempt. `jobs_complete`: listed, or
    the run is completed, every job the store holds for it is completed and at least one ran in this attempt
    (likely all of them, but webhooks arrive in any order and alone cannot prove that none is missing).
    """

    run: RunRecord
    jobs_complete: bool
    jobs_listed: bool = False
