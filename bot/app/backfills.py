"""Backfills in the App's background: when an installation or repository is added, and at start-up for those a
stop interrupted. One task per installation works through its repositories one after another, within the
installation's budget (`BACKFILL_RATE_SHARE` of its hourly limit); with several instances, the store's single
flight lets one of them backfill a repository while the others wait and then find it done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.github.backfill import backfill_repository, installation_budget
from bot.github.client import GitHubUnavailable, Refused
from bot.github.endpoints import InstallationAPI
from bot.store import Repository, Store, repository_record

log = logging.getLogger(__name__)


class Backfills:
    """Queues repositories per installation and backfills them in the background."""

    def __init__(
        self,
        client: Callable[[int], Any],
        store: Store,
        *,
        share: float,
        days: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client  # installation id → its client
        self._store = store
        self._share, self._days, self._sleep = share, days, sleep
        self._waiting: dict[int, list[Repository | None]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def add(self, installation_id: int, repositories: list[Repository] | None) -> None:
        """Backfill these repositories of the installation (None: every one it can see, listed from GitHub)."""
        waiting = self._waiting.setdefault(installation_id, [])
        waiting.extend(repositories if repositories is not None else [None])
        task = self._tasks.get(installation_id)
        if task is None or task.done():
            self._tasks[installation_id] = asyncio.ensure_future(self._run(installation_id, waiting))

    async def resume(self) -> None:
        """Start again the backfills a stop interrupted (at start-up)."""
        unfinished = {
            progress.repository_id for progress in await self._store.all_backfills() if not progress.finished_at
        }
        for repository in await self._store.repositories():
            if repository.id in unfinished and repository.installation_id is not None:
                self.add(repository.installation_id, [repository])

    async def _run(self, installation_id: int, waiting: list[Repository | None]) -> None:
        gh = self._client(installation_id)
        try:
            budget = await installation_budget(gh, self._share, sleep=self._sleep)
            while waiting:
                repository = waiting.pop(0)
                if repository is None:
                    await budget.spend()
                    waiting += [repository_record(r, installation_id) async for r in InstallationAPI(gh).repositories()]
                    continue
                try:
                    async with self._store.single_flight(f"backfill {repository.id}"):
                        await backfill_repository(gh, repository, self._store, budget, days=self._days)
                except Refused as refusal:  # the repository is gone, or the App may not see it: the others go on
                    log.warning(
                        "backfill of %s: GitHub refused %s (%d)",
                        repository.full_name,
                        refusal.request,
                        refusal.status_code,
                    )
        except (
            Refused,
            GitHubUnavailable,
        ) as error:  # each backfill resumes from its last saved page at the next start
            log.warning("backfill of installation %s stopped: %s", installation_id, error)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("backfill of installation %s stopped", installation_id)

    async def stop(self) -> None:
        """Cancel the running backfills; each resumes from its last saved page at the next start."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def join(self) -> None:
        """Wait until every backfill asked for so far has finished (tests, the command line)."""
        while any(not task.done() for task in self._tasks.values()):
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
