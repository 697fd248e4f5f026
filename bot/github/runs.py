"""A repository's workflow runs and their jobs: read from the history store when it has them, else from GitHub.

What is fetched from GitHub is written back (`Store.record_attempt`), so each run attempt and its jobs are
read from GitHub at most once. A baseline is fetched within the store's single flight: of concurrent
comparisons on the same base (in this process or, on PostgreSQL, in any instance) one fetches, the others
then read the store.

The store is trusted to hold a branch's recent runs when it has as many as asked for (webhooks and
backfill fill it), when the repository's backfill of that branch has finished, or when this process
listed them from GitHub within the last hour (a young repository has fewer runs than asked for).
Jobs told by webhooks alone are complete as far as they go: GitHub sends webhooks in no particular order, and a
job's may not have arrived yet. A flow that finds a job missing asks for the listing (`with_jobs(listed=True)`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cachetools

from bot.comparison.model import RunRecord
from bot.github.endpoints import RepoAPI
from bot.store import (
    Repository,
    Store,
    StoredRun,
    WorkflowRun,
    WorkflowRunEvent,
    workflow_job_record,
    workflow_run_record,
)

LISTED_SECONDS = 3600.0  # how long a listing of a branch's runs from GitHub stands for "the store has them all"
LISTING_PAGE = 100  # GitHub's largest page


def stored_run(repository_id: int, run: RunRecord) -> WorkflowRun:
    """The store's record of a run attempt a flow holds."""
    return WorkflowRun(
        repository_id=repository_id,
        id=run.id,
        attempt=run.run_attempt,
        workflow_id=run.workflow_id or 0,
        workflow_name=run.workflow_name,
        workflow_path=run.workflow_path,
        event=run.event,
        status=run.status,
        conclusion=run.conclusion,
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        pull_requests=(),
        created_at=run.created_at,
        run_started_at=run.run_started_at,
        updated_at=run.updated_at,
        html_url=run.html_url,
    )


class RunHistory:
    """The runs of one repository, through its client `gh` and the store."""

    def __init__(
        self, gh: Any, repository: Repository, store: Store, listed: cachetools.TTLCache[tuple[Any, ...], bool]
    ) -> None:
        self.api = RepoAPI(gh, repository.full_name)
        self.repository = repository
        self.store = store
        self._listed = listed  # (repository id, workflow id, branch, events) listed from GitHub lately

    async def baseline(
        self, workflow_id: int, branch: str, *, events: Sequence[str], count: int, created_before: datetime | None
    ) -> list[RunRecord]:
        """The `count` newest completed runs of the workflow on `branch` created before `created_before`, oldest
        first, each with its jobs."""
        key = (self.repository.id, workflow_id, branch, tuple(sorted(events)))
        async with self.store.single_flight("baseline {} {} {} {}".format(*key)):
            stored = await self._stored_baseline(workflow_id, branch, events, count, created_before)
            if len(stored) < count and key not in self._listed and not await self._backfilled(branch):
                await self._list_runs(workflow_id, branch, events, count)
                self._listed[key] = True
                stored = await self._stored_baseline(workflow_id, branch, events, count, created_before)
            return [await self._with_jobs(run) for run in stored]

    async def _stored_baseline(
        self, workflow_id: int, branch: str, events: Sequence[str], count: int, created_before: datetime | None
    ) -> list[StoredRun]:
        return await self.store.baseline_runs(
            self.repository.id, workflow_id, [branch], events=events, count=count, created_before=created_before
        )

    async def _backfilled(self, branch: str) -> bool:
        progress = await self.store.backfill_progress(self.repository.id)
        return progress is not None and progress.finished_at is not None and progress.branch == branch

    async def _list_runs(self, workflow_id: int, branch: str, events: Sequence[str], count: int) -> None:
        """One page of the workflow's newest completed runs on `branch` into the store (their jobs when needed)."""
        page = await self.api.workflow_runs(
            workflow_id,
            branch=branch,
            status="completed",
            per_page=min(LISTING_PAGE, 2 * count),  # runs newer than the compared one are left out afterwards
            event=events[0] if len(events) == 1 else None,
        )
        runs = [workflow_run_record(run, self.repository.id, "workflow_runs[]") for run in page]
        await self.store.ingest(WorkflowRunEvent(None, self.repository, run) for run in runs if run.event in events)

    async def attempt(self, run_id: int, attempt: int) -> RunRecord:
        """One attempt of a run with its jobs."""
        for stored in await self.store.run_attempts(self.repository.id, run_id):
            if stored.run.run_attempt == attempt:
                return await self._with_jobs(stored)
        run = workflow_run_record(await self.api.run_attempt(run_id, attempt), self.repository.id, "workflow_run")
        return await self._fetch_jobs(run)

    async def with_jobs(self, run: RunRecord, *, listed: bool = False) -> RunRecord:
        """`run` with the jobs of its attempt; `listed`: as GitHub lists them (once), not as webhooks told so far."""
        for stored in await self.store.run_attempts(self.repository.id, run.id):
            if stored.run.run_attempt == run.run_attempt and (stored.jobs_listed if listed else stored.jobs_complete):
                return dataclasses.replace(run, jobs=stored.run.jobs)
        fetched = await self._fetch_jobs(stored_run(self.repository.id, run))
        return dataclasses.replace(run, jobs=fetched.jobs)

    async def _with_jobs(self, stored: StoredRun) -> RunRecord:
        if stored.jobs_complete:
            return stored.run
        return await self._fetch_jobs(stored_run(self.repository.id, stored.run))

    async def _fetch_jobs(self, run: WorkflowRun) -> RunRecord:
        """The attempt's jobs from GitHub, written back with the run; the run as the store now has it."""
        jobs = await self.api.attempt_jobs(run.id, run.attempt)
        records = [workflow_job_record(job, self.repository.id, "jobs[]") for job in jobs]
        await self.store.record_attempt(self.repository, run, records)
        for stored in await self.store.run_attempts(self.repository.id, run.id):
            if stored.run.run_attempt == run.attempt:
                return stored.run
        raise LookupError(f"run {run.id} attempt {run.attempt} is not in the store right after it was recorded")
