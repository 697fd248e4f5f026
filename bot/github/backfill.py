"""Backfill: a repository's recent default-branch runs, with their jobs, from GitHub into the history store.

Newest first, one page of completed runs at a time (`created` ranges, so no page limit applies): each
page's runs are recorded with their jobs (one call per run whose jobs the store lacks), then the progress
is saved, so a backfill stopped at any point (a restart, a crash, GitHub unavailable) resumes from its
last page. Calls are spent from a `RateBudget`, a share of the installation's hourly limit, so that
comparisons and reviews keep the rest. Progress goes to the log after each page, and to
`ci-orchestrator status` from the store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.github.endpoints import InstallationAPI, RepoAPI
from bot.store import BackfillProgress, Repository, Store, workflow_job_record, workflow_run_record

log = logging.getLogger(__name__)

PAGE = 100
JOBS_PER_PAGE = 100


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class RateBudget:
    """At most `calls_per_hour` calls on average: a bucket that holds a minute's worth and refills continuously."""

    def __init__(
        self,
        calls_per_hour: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = calls_per_hour / 3600.0
        self.capacity = max(1.0, calls_per_hour / 60.0)
        self._tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._checked = clock()
        self._lock = asyncio.Lock()  # the repositories of one installation share its budget

    async def spend(self, calls: int = 1) -> None:
        """Wait until `calls` calls fit in the budget, and take them."""
        async with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._checked) * self.per_second)
            self._checked = now
            self._tokens -= calls
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.per_second)


async def installation_budget(gh: Any, share: float, **timing: Any) -> RateBudget:
    """`share` of the installation's hourly limit (asking for the limit costs nothing)."""
    return RateBudget(share * await InstallationAPI(gh).hourly_limit(), **timing)


async def backfill_repository(
    gh: Any,
    repository: Repository,
    store: Store,
    budget: RateBudget,
    *,
    days: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackfillProgress:
    """Bring the store's history of `repository`'s default branch back `days` days, resuming where it stopped.

    A finished backfill that already reaches back that far is left as it is; one that does not starts again
    (runs the store holds are not fetched again)."""
    api = RepoAPI(gh, repository.full_name)
    since = clock() - timedelta(days=days)
    progress = await store.backfill_progress(repository.id)
    if progress is not None and progress.finished_at is not None and progress.since <= since:
        return progress
    if progress is None or progress.finished_at is not None:
        branch = repository.default_branch
        if branch is None:
            await budget.spend()
            branch = str((await api.repository())["default_branch"])
        started = clock()
        progress = BackfillProgress(repository.id, branch, since, started_at=started, updated_at=started)
        log.info("backfill %s: starting, runs on %s since %s", repository.full_name, branch, since.date())
    else:
        log.info("backfill %s: resuming after %d runs", repository.full_name, progress.runs_fetched)
    while progress.finished_at is None:
        progress = await _next_page(api, repository, store, budget, progress, clock)
        await store.save_backfill_progress(progress)
    log.info(
        "backfill %s: finished, %d runs on %s since %s",
        repository.full_name,
        progress.runs_fetched,
        progress.branch,
        progress.since.date(),
    )
    return progress


async def _next_page(
    api: RepoAPI,
    repository: Repository,
    store: Store,
    budget: RateBudget,
    progress: BackfillProgress,
    clock: Callable[[], datetime],
) -> BackfillProgress:
    """One page of runs, newest first, created from `since` up to the cursor (inclusive), with their jobs."""
    await budget.spend()
    page = await api.repository_runs(
        branch=progress.branch,
        status="completed",
        per_page=PAGE,
        created=f"{_stamp(progress.since)}..{progress.cursor or '*'}",
    )
    runs = [workflow_run_record(run, repository.id, "workflow_runs[]") for run in page]
    for run in runs:
        held = {stored.run.run_attempt: stored for stored in await store.run_attempts(repository.id, run.id)}
        if run.attempt in held and held[run.attempt].jobs_complete:
            continue  # from webhooks, an earlier page, or a backfill that stopped before saving this page
        await budget.spend()
        jobs = await api.attempt_jobs(run.id, run.attempt)
        if len(jobs) > JOBS_PER_PAGE:
            await budget.spend(len(jobs) // JOBS_PER_PAGE)
        records = [workflow_job_record(job, repository.id, "jobs[]") for job in jobs]
        await store.record_attempt(repository, run, records)
    cursor = _parse(progress.cursor) if progress.cursor else None
    # The previous page's oldest runs come again at the top of this one: not counted twice.
    new = [run for run in runs if cursor is None or (run.created_at is not None and run.created_at < cursor)]
    now = clock()
    progress = dataclasses.replace(progress, runs_fetched=progress.runs_fetched + len(new), updated_at=now)
    if len(runs) < PAGE:
        return dataclasses.replace(progress, finished_at=now)
    # The next page ends at this page's oldest run; a page whose runs were all created in the very second the
    # cursor names moves it a second back, so that it always moves.
    oldest = min(run.created_at or progress.since for run in runs)
    if cursor is not None and oldest >= cursor:
        oldest = cursor - timedelta(seconds=1)
    log.info("backfill %s: %d runs so far, back to %s", repository.full_name, progress.runs_fetched, _stamp(oldest))
    return dataclasses.replace(progress, cursor=_stamp(oldest))
