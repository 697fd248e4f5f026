"""Background handling of accepted deliveries: a fixed pool of workers, per-PR/commit order, isolation, dedupe.

Accepting a delivery only appends it to a queue (no task per delivery: that is the ack path). Each
worker takes the next delivery; if another worker is already handling one with the same ordering key
(same pull request or commit), the delivery waits in that key's line and the worker moves on, so one
busy pull request never holds up the others. The worker that finishes a key's delivery handles the
rest of its line in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from gidgethub import routing, sansio

from bot import metrics
from bot.github import calls_in_delivery
from bot.intake import Delivery, LazyPayload, ordering_key
from bot.logs import delivery_context

log = logging.getLogger(__name__)

#: Makes the arguments a handler receives after the event (the installation's client, the App's services).
HandlerArguments = Callable[[Delivery], tuple[Any, ...]]


class RecentDeliveries:
    """Delivery ids seen in the last `window` seconds (at most `maxsize`), kept without GC-tracked objects."""

    def __init__(self, window: float, maxsize: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._window, self._maxsize, self._clock = window, maxsize, clock
        self._seen: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()

    def __contains__(self, delivery_id: str) -> bool:
        self._expire()
        return delivery_id in self._seen

    def add(self, delivery_id: str) -> None:
        now = self._clock()
        self._seen[delivery_id] = now
        self._order.append((now, delivery_id))
        self._expire()

    def forget(self, delivery_id: str) -> None:
        self._seen.pop(delivery_id, None)

    def _expire(self) -> None:
        horizon = self._clock() - self._window
        while self._order and (self._order[0][0] < horizon or len(self._order) > self._maxsize):
            added, delivery_id = self._order.popleft()
            if self._seen.get(delivery_id) == added:
                del self._seen[delivery_id]


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
        self._concurrency = concurrency
        self._recent = RecentDeliveries(dedupe_seconds)
        self._incoming: asyncio.Queue[Delivery] = asyncio.Queue()
        self._lines: dict[str, deque[Delivery]] = {}  # keys being handled, with the deliveries waiting behind
        self._workers: list[asyncio.Task[None]] = []
        self._max_pending = max_pending
        self.pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self._workers = [asyncio.get_running_loop().create_task(self._work()) for _ in range(self._concurrency)]

    def is_duplicate(self, delivery_id: str) -> bool:
        return delivery_id in self._recent

    def is_full(self) -> bool:
        return self.pending >= self._max_pending

    def submit(self, delivery: Delivery) -> None:
        """Queue for the workers; the delivery id is remembered to drop redeliveries."""
        self._recent.add(delivery.delivery_id)
        self.pending += 1
        self._idle.clear()
        self._incoming.put_nowait(delivery)

    async def _work(self) -> None:
        while True:
            delivery = await self._incoming.get()
            key = ordering_key(delivery)
            if key is None:
                await self._handle_and_count(delivery)
                continue
            line = self._lines.get(key)
            if line is not None:  # another worker has this PR/commit: wait behind it
                line.append(delivery)
                continue
            line = self._lines[key] = deque([delivery])
            try:
                while line:
                    await self._handle_and_count(line[0])
                    line.popleft()
            finally:
                del self._lines[key]

    async def _handle_and_count(self, delivery: Delivery) -> None:
        try:
            await self._handle(delivery)
        finally:
            self.pending -= 1
            if not self.pending:
                self._idle.set()

    async def _handle(self, delivery: Delivery) -> None:
        event = sansio.Event(LazyPayload(delivery), event=delivery.event, delivery_id=delivery.delivery_id)
        callbacks = self._router.fetch(event)
        if not callbacks:
            log.debug("no handler for %s.%s", delivery.event, delivery.action)
            metrics.count_delivery(delivery.event, "unhandled")
            return
        calls: Counter[tuple[str, str, int]] = Counter()
        token = calls_in_delivery.set(calls)
        failures = 0
        try:
            with delivery_context(delivery):
                arguments = self._handler_arguments(delivery)
                for callback in callbacks:
                    failures += not await self._run_one(callback, event, delivery, arguments)
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "handled %s.%s with %d GitHub calls%s", delivery.event, delivery.action, sum(calls.values()),
                        f", {failures} handler(s) failed" if failures else "",
                    )
        finally:
            calls_in_delivery.reset(token)
        if failures:
            # Let a manual redelivery try again: nothing it would repeat has fully succeeded.
            self._recent.forget(delivery.delivery_id)
        metrics.count_delivery(delivery.event, "failed" if failures else "handled")

    @staticmethod
    async def _run_one(
        callback: Callable[..., Awaitable[None]], event: sansio.Event, delivery: Delivery, arguments: tuple[Any, ...]
    ) -> bool:
        started = time.perf_counter()
        try:
            await callback(event, *arguments)
            return True
        except Exception:
            name = f"{callback.__module__}.{callback.__qualname__}"
            log.exception(
                "handler %s failed on delivery %s (%s.%s, %s)",
                name, delivery.delivery_id, delivery.event, delivery.action, delivery.repository or "no repository",
            )
            metrics.HANDLER_ERRORS.labels(event=event.event, handler=name).inc()
            return False
        finally:
            metrics.handler_seconds(event.event, callback).observe(time.perf_counter() - started)

    async def join(self) -> None:
        """Wait until every accepted delivery has been handled."""
        await self._idle.wait()

    async def drain(self, grace_seconds: float) -> bool:
        """Wait up to `grace_seconds` for accepted work to finish, then stop the workers. True when all finished."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except asyncio.TimeoutError:
            log.warning("shutdown: %d deliveries were not finished after %.0f s and were dropped", self.pending, grace_seconds)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        return self.pending == 0
