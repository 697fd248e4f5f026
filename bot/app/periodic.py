"""Work the App does on a schedule rather than on a delivery: each task runs every `every` seconds until stopped.

The check-run watchdog, which completes (neutral, with the reason) every check run the App left
`in_progress` for longer than `STALE_CHECK_RUN_SECONDS` (a confirming re-run that never came back, say), so
no check of the App stays pending and blocks a merge; the check of on-demand test sessions every few seconds
(timeouts, batched check-run edits, paused dispatching, push sessions waiting for a slot), whose state is in the
store, so whichever instance runs it finishes what another started; the CI health reports due on their schedule
(state in the store too); and retention, which deletes history older than `RETENTION_DAYS` from the store. A
task that fails is logged and runs again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.app.health_scheduler import HealthScheduler
from bot.app.services import Services
from bot.flows.test_on_demand import Place, sweep
from bot.github import events
from bot.ondemand.session import SuiteSession

log = logging.getLogger(__name__)

STALE_CHECK_RUN_SECONDS = 3 * 3600.0  # a confirming job re-run takes the job's time; GitHub stops jobs at 6 h
WATCHDOG_EVERY_SECONDS = 300.0
RETENTION_EVERY_SECONDS = 3600.0
TEST_SESSIONS_EVERY_SECONDS = 5.0
HEALTH_REPORTS_EVERY_SECONDS = 300.0


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every: float
    run: Callable[[], Awaitable[object]]


class Schedule:
    """Runs periodic tasks in the background of the App; `stop` cancels them."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._sleep = sleep
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, task: PeriodicTask) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._loop(task), name=task.name))

    async def _loop(self, task: PeriodicTask) -> None:
        while True:
            await self._sleep(task.every)
            try:
                await task.run()
            except Exception:  # the next round tries again
                log.exception("periodic task %s failed", task.name)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


async def apply_retention(services: Services) -> None:
    """Delete history older than the retention period, and finished deliveries older than a week."""
    result = await services.store.apply_retention(now=datetime.now(UTC), history_days=services.settings.retention_days)
    deleted = {table: count for table, count in result.deleted.items() if count}
    if deleted:
        log.info("retention: deleted %s", ", ".join(f"{count} {table}" for table, count in deleted.items()))


async def check_test_sessions(services: Services, now: datetime) -> list[str]:
    """One check of the on-demand test sessions that need attention; the ids of those it looked at."""
    store = services.store

    def place_of(session: SuiteSession) -> Place:
        if session.installation_id is None:
            raise ValueError(f"test session {session.id} names no installation")
        gh = services.github.for_installation(session.installation_id)
        repository = events.Repository(session.repository, session.repository_id, session.default_branch)
        provider = services.provider(gh, repository)
        return Place(
            provider,
            store.sessions,
            session.repository_id,
            session.installation_id,
            session.default_branch,
            services.testing,
        )

    batch_after = timedelta(seconds=services.testing.publish_every_seconds)
    return await sweep(store.sessions, place_of, now, batch_after=batch_after)


async def refresh_health_reports(services: Services, now: datetime) -> list[str]:
    """The CI health reports and organization roll-ups that are due (`bot.app.health_scheduler`); the scopes
    refreshed."""
    return await HealthScheduler(services.store, services.github, services.caches).tick(now)
