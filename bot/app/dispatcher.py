"""Background handling of accepted deliveries: a fixed pool of workers, per-PR/commit order, isolation, dedupe.

Accepting a delivery only appends it to a queue (no task per delivery: that is the ack path). Each
worker takes the next delivery; if another worker is already handling one with the same ordering key
(same pull request or commit), the delivery waits in that key's line and the worker moves on, so one
busy pull request never holds up the others. The worker that finishes a key's delivery handles the
rest of its line in order.

With a `Journal` (the App always has one), every delivery's end is recorded: done, failed, or to be tried
again later when GitHub was unavailable (`bot.app.journal`); deliveries claimed from the store come in
through `submit_claimed`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gidgethub import routing, sansio

from bot.app import metrics
from bot.app.intake import Delivery, LazyPayload, ordering_key
from bot.app.logs import current_delivery
from bot.github.client import GitHubUnavailable, Refused, calls_in_delivery, writes_in_delivery
from bot.github.events import MalformedEvent
from bot.store import JournalFull

if TYPE_CHECKING:
    from bot.app.journal import Journal

log = logging.getLogger(__name__)

#: Makes the arguments a handler receives after the event (the installation's client, the App's services).
HandlerArguments = Callable[[Delivery], tuple[Any, ...]]


#: The outcomes of a delivery's handling, from best to worst: a delivery is counted under the worst of its handlers'.
#: "unavailable": GitHub could not be reached (the client gave up retrying): the delivery is handled again later.
OUTCOMES = ("unhandled", "handled", "malformed", "refused", "failed", "unavailable")


def _worse(outcome: str, other: str) -> str:
    return max(outcome, other, key=OUTCOMES.index)


class RecentDeliveries:
    """Delivery ids seen in the last `window` seconds, at least, and up to twice that (two generations of ids).

    Adding is one set insertion: the older generation is dropped whole once the newer one is `window`
    seconds old or holds `maxsize` ids, so memory stays bounded at 2 × `maxsize` ids.
    """

    def __init__(self, window: float, maxsize: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._window, self._maxsize, self._clock = window, maxsize, clock
        self._newer: set[str] = set()
        self._older: set[str] = set()
        self._newer_since = clock()

    def remember(self, delivery_id: str) -> bool:
        """Remember the id; False if it was already remembered."""
        self._rotate()
        if delivery_id in self._newer or delivery_id in self._older:
            return False
        self._newer.add(delivery_id)
        return True

    def __contains__(self, delivery_id: str) -> bool:
        return delivery_id in self._newer or delivery_id in self._older

    def forget(self, delivery_id: str) -> None:
        self._newer.discard(delivery_id)
        self._older.discard(delivery_id)

    def _rotate(self) -> None:
        now = self._clock()
        if now - self._newer_since >= self._window or len(self._newer) >= self._maxsize:
            # Ids older than two windows are gone either way.
            self._older = self._newer if now - self._newer_since < 2 * self._window else set()
            self._newer, self._newer_since = set(), now


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
        journal: Journal | None = None,
    ) -> None:
        self._router = router
        self._journal = journal
        self.accepted = 0  # fresh deliveries accepted so far (the journal writes its batches between bursts)
        self._in_hand: dict[str, Delivery] = {}  # accepted or claimed, not finished: what a stop leaves unfinished
        self._handler_arguments = handler_arguments
        self._concurrency = concurrency
        self._recent = RecentDeliveries(dedupe_seconds)
        self._incoming: asyncio.Queue[Delivery] = asyncio.Queue()
        self._lines: dict[str, deque[Delivery]] = {}  # keys being handled, with the deliveries waiting behind
        self._workers: list[asyncio.Task[None]] = []
        self._max_pending = max_pending
        self.pending = 0
        self._idle_waiters: list[asyncio.Future[None]] = []  # join() and drain() callers, woken when pending is 0

    def start(self) -> None:
        self._workers = [asyncio.get_running_loop().create_task(self._work()) for _ in range(self._concurrency)]

    def submit(self, delivery: Delivery) -> str:
        """Queue for the workers, unless it is a redelivery or the queue is full. Says which: "accepted",
        "duplicate" or "full". The delivery id is remembered to drop redeliveries."""
        if self.pending >= self._max_pending:
            return "full"
        if not self._recent.remember(delivery.delivery_id):
            return "duplicate"
        self.accepted += 1
        if self._journal is not None and self._journal.shared:  # recorded first, then claimed by any instance
            try:
                self._journal.record(delivery)
            except JournalFull:
                self._recent.forget(delivery.delivery_id)
                return "full"
            return "accepted"
        self._queue(delivery)
        return "accepted"

    def submit_claimed(self, delivery: Delivery) -> None:
        """Queue a delivery the store handed out (to be tried again, resumed, or recorded first by any instance)."""
        self._recent.remember(delivery.delivery_id)
        self._queue(delivery)

    def _queue(self, delivery: Delivery) -> None:
        self.pending += 1
        self._in_hand[delivery.delivery_id] = delivery
        self._incoming.put_nowait(delivery)

    @property
    def capacity(self) -> int:
        """How many more claimed deliveries the workers should be given now."""
        return 2 * self._concurrency - self.pending

    def remember(self, delivery_ids: list[str]) -> None:
        """Drop redeliveries of these ids (the store holds them unfinished, and hands them out itself)."""
        for delivery_id in delivery_ids:
            self._recent.remember(delivery_id)

    def in_hand(self, delivery_id: str) -> bool:
        """Accepted lately (in the redelivery window) or being handled: what reconciliation leaves alone."""
        return delivery_id in self._recent or delivery_id in self._in_hand

    async def _work(self) -> None:
        while True:
            delivery = await self._incoming.get()
            key = ordering_key(delivery)
            if key is None:
                await self._handle(delivery)
                continue
            waiting = self._lines.get(key)
            if waiting is not None:  # another worker has this PR/commit: wait behind it
                waiting.append(delivery)
                continue
            self._lines[key] = waiting = deque()
            try:
                await self._handle(delivery)
                while waiting:
                    await self._handle(waiting.popleft())
            finally:
                del self._lines[key]

    async def _handle(self, delivery: Delivery) -> None:
        """Run every handler of the delivery, each isolated from the others' failures; then count it done.

        A malformed payload (`MalformedEvent`) and GitHub refusing a repository the App lost (`Refused`)
        are each one plain line: neither is the App's fault, and neither deserves a traceback. When GitHub
        was unavailable to a handler (the client gave up retrying), the journal keeps the delivery to be
        handled again later, all its handlers (they publish idempotently).
        """
        outcome, error, stopped = "handled", None, False
        try:
            if self._journal is not None and self._journal.must_wait(delivery):
                outcome = "waiting"  # its pull request or commit has deliveries waiting in the store: behind them
                return
            event = sansio.Event(LazyPayload(delivery), event=delivery.event, delivery_id=delivery.delivery_id)
            calls: dict[tuple[str, str, int], int] = {}
            calls_token, log_token = calls_in_delivery.set(calls), current_delivery.set(delivery)
            writes_token = writes_in_delivery.set([0])
            try:
                callbacks = self._router.fetch(event)
                if not callbacks:
                    log.debug("no handler for %s.%s", delivery.event, delivery.action)
                    outcome = "unhandled"
                arguments = self._handler_arguments(delivery) if callbacks else ()
                for callback in callbacks:
                    started = time.perf_counter()
                    result, problem = await self._run(callback, event, arguments, delivery)
                    if result != "handled":
                        outcome, error = _worse(outcome, result), error or problem
                    metrics.observe_handler(delivery.event, callback, time.perf_counter() - started)
                if callbacks and log.isEnabledFor(logging.INFO):
                    log.info(
                        "handled %s.%s with %d GitHub calls%s",
                        delivery.event,
                        delivery.action,
                        sum(calls.values()),
                        ", a handler failed" if outcome == "failed" else "",
                    )
            except MalformedEvent as problem:  # the router read a field of a payload that is not valid JSON
                log.warning("ignored: %s", problem)
                outcome = "malformed"
            finally:
                calls_in_delivery.reset(calls_token)
                writes_in_delivery.reset(writes_token)
                current_delivery.reset(log_token)
            if outcome in ("failed", "refused"):
                # Let a manual redelivery try again: nothing it would repeat has fully succeeded.
                self._recent.forget(delivery.delivery_id)
        except Exception as failure:  # outside the handlers (routing, their arguments): the worker must go on
            log.exception("delivery %s (%s) could not be handled", delivery.delivery_id, delivery.event)
            self._recent.forget(delivery.delivery_id)
            outcome, error = "failed", f"{type(failure).__name__}: {failure}"
        except asyncio.CancelledError:  # a stop: left unfinished (`drain` reports it)
            stopped = True
            raise
        finally:
            if not stopped:
                await self._finished(delivery, outcome, error)
            self.pending -= 1
            if not self.pending:
                for waiter in self._idle_waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                self._idle_waiters.clear()

    async def _finished(self, delivery: Delivery, outcome: str, error: str | None) -> None:
        metrics.count_delivery(delivery.event, outcome)
        try:
            if self._journal is not None and outcome != "waiting":
                if delivery.claim is None:
                    self._journal.ended(delivery, outcome, error)
                else:
                    await self._journal.handled(delivery, outcome, error)
        except Exception:  # the store is away: a claimed delivery's lease runs out, and it is claimed again
            log.exception("the end of delivery %s could not be recorded", delivery.delivery_id)
        self._in_hand.pop(delivery.delivery_id, None)

    @staticmethod
    async def _run(
        callback: Callable[..., Awaitable[None]], event: sansio.Event, arguments: tuple[Any, ...], delivery: Delivery
    ) -> tuple[str, str | None]:
        """Run one handler; its outcome ("handled", "malformed", "refused", "failed" or "unavailable") and what
        went wrong."""
        try:
            await callback(event, *arguments)
        except MalformedEvent as problem:
            log.warning("ignored: %s", problem)
            return "malformed", str(problem)
        except Refused as refusal:
            log.warning("GitHub refused %s: %d %s", refusal.request, refusal.status_code, refusal.reason)
            return "refused", f"GitHub refused {refusal.request}: {refusal.status_code}"
        except GitHubUnavailable as unavailable:
            log.warning(
                "GitHub was unavailable to delivery %s: %s; it will be tried again", delivery.delivery_id, unavailable
            )
            return "unavailable", f"GitHub unavailable: {unavailable}"
        except Exception as failure:
            name = f"{callback.__module__}.{callback.__qualname__}"
            log.exception(
                "handler %s failed on delivery %s (%s.%s, %s)",
                name,
                delivery.delivery_id,
                delivery.event,
                delivery.action,
                delivery.repository or "no repository",
            )
            metrics.HANDLER_ERRORS.labels(event=delivery.event, handler=name).inc()
            return "failed", f"{type(failure).__name__}: {failure}"
        return "handled", None

    async def join(self) -> None:
        """Wait until every accepted delivery has been handled."""
        if self.pending:
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            await waiter

    async def drain(self, grace_seconds: float) -> list[Delivery]:
        """Wait up to `grace_seconds` for accepted work to finish, then stop the workers. Returns the deliveries
        left unfinished (handlers stopped mid-way publish idempotently when they run again)."""
        try:
            await asyncio.wait_for(self.join(), grace_seconds)
        except TimeoutError:
            log.warning("shutdown: %d deliveries were not finished after %.0f s", self.pending, grace_seconds)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        return list(self._in_hand.values())
