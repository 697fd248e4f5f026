"""Background handling of accepted deliveries: bounded concurrency, per-PR/commit order, isolation, dedupe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import cachetools
from gidgethub import routing, sansio

from bot import metrics
from bot.github import calls_in_delivery
from bot.intake import Delivery, ordering_key
from bot.logs import delivery_context

log = logging.getLogger(__name__)

#: Makes the arguments a handler receives after the event (the installation's client, the App's services).
HandlerArguments = Callable[[Delivery], tuple[Any, ...]]


class _KeyedLock:
    """One FIFO lock per ordering key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        if key is None:
            await work()
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await work()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Dispatcher:
    """Runs each accepted delivery's handlers in the background, after the 202 has been sent."""

    def __init__(
        self,
        router: routing.Router,
        handler_arguments: HandlerArguments,
        *,
        concurrency: int,
        dedupe_seconds: float,
        max_pending: int = 10_000,
    ) -> None:
        self._router = router
        self._handler_arguments = handler_arguments
        self._slots = asyncio.Semaphore(concurrency)
        self._ordered = _KeyedLock()
        self._seen: cachetools.TTLCache[str, bool] = cachetools.TTLCache(maxsize=100_000, ttl=dedupe_seconds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._max_pending = max_pending
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def is_duplicate(self, delivery_id: str) -> bool:
        return delivery_id in self._seen

    def is_full(self) -> bool:
        return len(self._tasks) >= self._max_pending

    def submit(self, delivery: Delivery) -> None:
        """Start handling in the background; the delivery id is remembered to drop redeliveries."""
        self._seen[delivery.delivery_id] = True
        task = asyncio.get_running_loop().create_task(self._ordered(ordering_key(delivery), lambda: self._handle(delivery)))
        self._tasks.add(task)
        self._idle.clear()
        metrics.QUEUE_DEPTH.set(len(self._tasks))
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        metrics.QUEUE_DEPTH.set(len(self._tasks))
        if not self._tasks:
            self._idle.set()

    async def _handle(self, delivery: Delivery) -> None:
        event = sansio.Event(delivery.data, event=delivery.event, delivery_id=delivery.delivery_id)
        callbacks = self._router.fetch(event)
        if not callbacks:
            log.debug("no handler for %s.%s", delivery.event, delivery.action)
            metrics.DELIVERIES.labels(event=delivery.event, outcome="unhandled").inc()
            return
        async with self._slots:
            calls: Counter[tuple[str, str, int]] = Counter()
            token = calls_in_delivery.set(calls)
            failures = 0
            try:
                with delivery_context(delivery):
                    arguments = self._handler_arguments(delivery)
                    for callback in callbacks:
                        failures += not await self._run_one(callback, event, delivery, arguments)
                    log.info(
                        "handled %s.%s with %d GitHub calls%s", delivery.event, delivery.action, sum(calls.values()),
                        f", {failures} handler(s) failed" if failures else "",
                    )
            finally:
                calls_in_delivery.reset(token)
        if failures:
            # Let a manual redelivery try again: nothing it would repeat has fully succeeded.
            self._seen.pop(delivery.delivery_id, None)
        metrics.DELIVERIES.labels(event=delivery.event, outcome="failed" if failures else "handled").inc()

    @staticmethod
    async def _run_one(
        callback: Callable[..., Awaitable[None]], event: sansio.Event, delivery: Delivery, arguments: tuple[Any, ...]
    ) -> bool:
        name = f"{callback.__module__}.{callback.__qualname__}"
        started = time.perf_counter()
        try:
            await callback(event, *arguments)
            return True
        except Exception:
            log.exception(
                "handler %s failed on delivery %s (%s.%s, %s)",
                name, delivery.delivery_id, delivery.event, delivery.action, delivery.repository or "no repository",
            )
            metrics.HANDLER_ERRORS.labels(event=event.event, handler=name).inc()
            return False
        finally:
            metrics.HANDLER_SECONDS.labels(event=event.event, handler=name).observe(time.perf_counter() - started)

    async def join(self) -> None:
        """Wait until every accepted delivery has been handled."""
        await self._idle.wait()

    async def drain(self, grace_seconds: float) -> bool:
        """Wait up to `grace_seconds` for in-flight work; cancel what is left. True when all finished."""
        if not self._tasks:
            return True
        done, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shutdown: %d deliveries were still running after %.0f s and were cancelled", len(pending), grace_seconds)
            await asyncio.gather(*pending, return_exceptions=True)
        return not pending
