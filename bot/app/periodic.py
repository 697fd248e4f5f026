"""Work the App does on a schedule rather than on a delivery: each task runs every `every` seconds until stopped.

Today: the check-run watchdog, which completes (neutral, with the reason) every check run the App left
`in_progress` for longer than `STALE_CHECK_RUN_SECONDS` (a confirming re-run that never came back, say), so
no check of the App stays pending and blocks a merge. A task that fails is logged and runs again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

STALE_CHECK_RUN_SECONDS = 3 * 3600.0  # a confirming job re-run takes the job's time; GitHub stops jobs at 6 h
WATCHDOG_EVERY_SECONDS = 300.0


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
