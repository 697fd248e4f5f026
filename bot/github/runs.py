"""The base branch's recent runs of a workflow, fetched once and kept until a new baseline run completes.

A burst of pull-request runs on the same base shares one fetch (single flight). A completed run
attempt never changes, so it and its jobs are kept by (repository, run id, attempt): a re-run's
earlier attempts, and baseline runs shared by many comparisons, are read from GitHub once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import cachetools

from bot.comparison.model import RunRecord, parse_timestamp
from bot.github.endpoints import RepoAPI
from bot.github.records import run_from_github

BASELINE_TTL_SECONDS = 3600.0  # a safety net: completed baseline runs invalidate the list before that
T = TypeVar("T")


async def _single_flight(
    pending: dict[Hashable, asyncio.Future[Any]], key: Hashable, fetch: Callable[[], Awaitable[T]]
) -> T:
    """Run `fetch` once for concurrent callers with the same key."""
    future = pending.get(key)
    if future is None:
        future = asyncio.ensure_future(fetch())
        pending[key] = future
        future.add_done_callback(lambda _: pending.pop(key, None))
    return await asyncio.shield(future)


class BaselineCache:
    """Baseline runs per (repository, workflow, branch, events); completed run attempts and their jobs."""

    def __init__(self, *, maxsize: int = 2048) -> None:
        self._lists: cachetools.TTLCache[tuple[str, int, str, tuple[str, ...]], list[dict[str, Any]]] = (
            cachetools.TTLCache(maxsize, BASELINE_TTL_SECONDS)
        )
        self._jobs: cachetools.LRUCache[tuple[str, int, int], list[dict[str, Any]]] = cachetools.LRUCache(maxsize * 20)
        self._attempts: cachetools.LRUCache[tuple[str, int, int], RunRecord] = cachetools.LRUCache(maxsize * 4)
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}

    def remember_attempt(self, repo: str, run: RunRecord) -> None:
        """Keep a completed run attempt as a `workflow_run` event showed it, for its later re-runs."""
        self._attempts[(repo, run.id, run.run_attempt)] = dataclasses.replace(run, jobs=())

    async def attempt(self, gh: Any, repo: str, run_id: int, attempt: int) -> RunRecord:
        """One completed attempt of a run, without its jobs."""
        key = (repo, run_id, attempt)
        cached = self._attempts.get(key)
        if cached is None:
            cached = self._attempts[key] = run_from_github(await RepoAPI(gh, repo).run_attempt(run_id, attempt), [])
        return cached

    def invalidate(self, repo: str, branch: str) -> None:
        """A run completed (or a push landed) on `branch`: the next comparison refetches its run lists."""
        for key in [key for key in self._lists if key[0] == repo and key[2] == branch]:
            self._lists.pop(key, None)

    def forget_repository(self, repo: str) -> None:
        """The App lost access to `repo`: drop its run lists, run attempts and jobs."""
        caches: tuple[cachetools.Cache[Any, Any], ...] = (self._lists, self._jobs, self._attempts)
        for cache in caches:
            for key in [key for key in cache if key[0] == repo]:
                cache.pop(key, None)

    async def runs(
        self,
        gh,
        repo: str,
        workflow_id: int,
        branch: str,
        *,
        events: Sequence[str],
        count: int,
        created_before: datetime | None,
    ) -> list[RunRecord]:
        """The `count` newest completed runs created before `created_before`, oldest first, with their jobs."""
        key = (repo, workflow_id, branch, tuple(sorted(events)))
        listed = self._lists.get(key)
        if listed is None:
            listed = await _single_flight(self._pending, key, lambda: self._list_runs(gh, key, count))
        chosen = [
            run
            for run in listed
            if created_before is None or (parse_timestamp(run.get("created_at")) or created_before) < created_before
        ][:count]
        jobs = await asyncio.gather(*(self.jobs(gh, repo, run["id"], run.get("run_attempt") or 1) for run in chosen))
        return [run_from_github(run, run_jobs) for run, run_jobs in reversed(list(zip(chosen, jobs, strict=False)))]

    async def _list_runs(self, gh, key: tuple[str, int, str, tuple[str, ...]], count: int) -> list[dict[str, Any]]:
        repo, workflow_id, branch, events = key
        # Ask for more than `count`: runs newer than the pull request's run are left out afterwards.
        page = await RepoAPI(gh, repo).workflow_runs(
            workflow_id,
            branch=branch,
            status="completed",
            per_page=min(100, 2 * count),
            event=events[0] if len(events) == 1 else None,
        )
        runs = [run for run in page if any(fnmatch.fnmatch(run.get("event", ""), event) for event in events)]
        self._lists[key] = runs
        return runs

    async def jobs(self, gh, repo: str, run_id: int, attempt: int) -> list[dict[str, Any]]:
        """The jobs (with steps) of one completed attempt of a run."""
        key = (repo, run_id, attempt)
        cached = self._jobs.get(key)
        if cached is not None:
            return cached

        async def fetch() -> list[dict[str, Any]]:
            jobs = await RepoAPI(gh, repo).attempt_jobs(key[1], key[2])
            self._jobs[key] = jobs
            return jobs

        return await _single_flight(self._pending, key, fetch)
