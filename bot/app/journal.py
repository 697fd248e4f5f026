"""What the App records of the deliveries it accepts, so that none is lost and none is handled twice.

One instance (SQLite, the default): the dispatcher handles fresh deliveries from memory at once, and each is
recorded afterwards in its end state, in batches (`Deliveries.record_handled`). While deliveries keep coming in
(a burst), those batches wait, up to `MAX_UNWRITTEN` deliveries or `MAX_UNWRITTEN_SECONDS`, so that the
database never slows the acks down. Only what has to wait goes through the store at once: a delivery whose
handling failed because GitHub was unavailable (tried again with backoff until `DELIVERY_RETRY_HOURS`), one
whose pull request or commit has such a delivery waiting (their order is kept), and those not finished when
the App stops. They come back through claims, as do, at start-up, those a crash left running.

Several instances (PostgreSQL): every accepted delivery is recorded first (`DeliveryJournal`: batched, after
the 202), and the instances claim deliveries from the store (`SELECT … FOR UPDATE SKIP LOCKED`, with leases),
which de-duplicates them and keeps each pull request's deliveries in order across instances, and hands the
deliveries of an instance that died to the others when their leases run out.

Either way, what was acknowledged but not recorded when a process died is found again by reconciling with
GitHub's own record of deliveries (`reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.intake import Delivery, ordering_key
from bot.github.client import GitHubUnavailable, Refused
from bot.github.endpoints import AppAPI
from bot.store import DeliveryJournal, HandledDelivery, JournalEntry, LeaseLost, Store

log = logging.getLogger(__name__)


async def _woken(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event`, at most `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can swallow a cancellation
    that arrives as the event is set, and a loop around it then never stops (a stop that never ends)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


LEASE = timedelta(seconds=30)  # renewed every poll while the delivery is handled; then another instance takes over
POLL_SECONDS = 1.0  # claims are also woken at once when something claimable is written
QUIET_SECONDS = 0.05  # no delivery accepted for this long: the burst is over, the batch is written
WRITE_BATCH = 500
MAX_UNWRITTEN = 200_000  # ~60 MB of small records (no payloads)
MAX_UNWRITTEN_SECONDS = 60.0
RECONCILE_SETTLE = timedelta(seconds=10)  # newer deliveries may still be in another instance's buffer
MAX_REDELIVERIES = 3  # attempts GitHub lists for a delivery beyond which reconciliation gives up on it
SINGLE_INSTANCE_OWNER = "the single instance"  # SQLite: at start-up, whatever it held was held by a process now gone


def now_utc() -> datetime:
    return datetime.now(UTC)


def instance_name() -> str:
    """Who holds a claim: unique per process, readable in `ci-orchestrator status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def journal_entry(delivery: Delivery, *, with_payload: bool) -> JournalEntry:
    received_at = (
        delivery.claim.entry.received_at if delivery.claim else datetime.fromtimestamp(delivery.received_at, UTC)
    )
    return JournalEntry(
        delivery.delivery_id,
        delivery.event,
        delivery.action,
        delivery.installation_id,
        delivery.repository or None,
        ordering_key(delivery),
        received_at,
        bytes(delivery.body) if with_payload else b"",
    )


class Journal:
    """Records deliveries, hands back those that must be handled again, and keeps their order per key."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = now_utc,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.deliveries = store.deliveries
        self.shared = store.engine.dialect.name == "postgresql"
        self.owner = instance_name() if self.shared else SINGLE_INSTANCE_OWNER
        self.clock, self._poll_seconds, self._lease = clock, poll_seconds, lease
        self._recorder = DeliveryJournal(store.deliveries) if self.shared else None
        self._unwritten: list[HandledDelivery | tuple[Delivery, datetime]] = []  # (delivery, when): done
        self._unwritten_since = 0.0
        self._urgent = False  # something claimable waits to be written
        self._write_wake = asyncio.Event()
        self._claim_wake = asyncio.Event()
        self._waiting_keys: Counter[str] = Counter()  # keys with deliveries waiting in the store (one instance)
        self._claimed: dict[str, Delivery] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()
        self._recorded: deque[str] = deque(maxlen=MAX_UNWRITTEN)  # several instances: what this one recorded lately

    # ---- start and stop ----------------------------------------------------------------------------------------

    async def start(
        self,
        submit_claimed: Callable[[Delivery], None],
        capacity: Callable[[], int],
        accepted: Callable[[], int],
    ) -> list[str]:
        """Start recording and claiming; `submit_claimed` hands a claimed delivery to the dispatcher, `capacity` says
        how many more it should be given, `accepted` counts fresh deliveries (bursts). Returns the ids of the
        unfinished deliveries the store holds (they will be claimed), for the dispatcher's de-duplication."""
        if not self.shared:
            released = await self.deliveries.release(self.owner)
            if released:
                log.info("%d deliveries a stopped App was handling are queued again: %s", len(released), released)
        unfinished = await self.deliveries.unfinished()
        for status in unfinished:
            if status.ordering_key is not None and not self.shared:
                self._waiting_keys[status.ordering_key] += 1
        if unfinished:
            log.info("%d unfinished deliveries in the store will be handled", len(unfinished))
        loop = asyncio.get_running_loop()
        if self._recorder is not None:
            self._recorder.start()
            self._tasks.append(loop.create_task(self._wake_claims_on_writes(self._recorder)))
        else:
            self._tasks.append(loop.create_task(self._write_loop(accepted)))
        self._tasks.append(loop.create_task(self._claim_loop(submit_claimed, capacity)))
        return [status.delivery_id for status in unfinished]

    async def close(self, unfinished: list[Delivery], timeout: float) -> list[str]:
        """At shutdown: stop claiming, give back what this instance holds, record the fresh deliveries not handled
        (with their payloads) and everything handled. Returns the ids of the deliveries left unfinished."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        now = self.clock()
        fresh = [delivery for delivery in unfinished if delivery.claim is None]
        left = {delivery.delivery_id for delivery in unfinished}
        lost: list[str] = []
        if self._recorder is not None:
            lost = await self._recorder.close(timeout)  # recorded on receipt: only a full database loses some
            # What this instance recorded and no instance has finished yet waits in the store as well.
            statuses = await self.deliveries.statuses(list(self._recorded))
            left |= {i for i, status in statuses.items() if status.state in ("queued", "running")}
        else:
            for delivery in fresh:
                self._add(HandledDelivery(journal_entry(delivery, with_payload=True), "queued", 0, now))
            try:
                await asyncio.wait_for(self._write(), timeout)
            except Exception:  # reconciliation finds them at the next start
                lost = sorted({_row(item).entry.delivery_id for item in self._unwritten})
                log.exception("shutdown: %d deliveries could not be recorded", len(lost))
        try:
            await self.deliveries.release(self.owner)
        except Exception:
            log.exception("shutdown: the deliveries this instance held could not be given back; their leases run out")
        if lost:
            log.warning("shutdown: not recorded (GitHub's record has them; reconciliation redelivers them): %s", lost)
        return sorted(left | set(lost))

    # ---- what the dispatcher tells --------------------------------------------------------------------------------

    def record(self, delivery: Delivery) -> None:
        """Several instances: record an accepted delivery before anything handles it (the ack path; no I/O).
        Raises `JournalFull` when the database has been unreachable for too long."""
        assert self._recorder is not None, "one instance handles fresh deliveries from memory"
        self._recorder.record(journal_entry(delivery, with_payload=True))
        self._recorded.append(delivery.delivery_id)

    def must_wait(self, delivery: Delivery) -> bool:
        """One instance: a fresh delivery of a pull request or commit that has deliveries waiting in the store joins
        the end of their line (it is recorded as queued, and claimed after them)."""
        key = ordering_key(delivery)
        if delivery.claim is not None or key is None or not self._waiting_keys[key]:
            return False
        self._queue(HandledDelivery(journal_entry(delivery, with_payload=True), "queued", 0, self.clock()), key)
        return True

    def ended(self, delivery: Delivery, outcome: str, error: str | None) -> None:
        """The dispatcher is done with a fresh delivery (one instance: no I/O here): "unavailable" (GitHub could not
        be reached: kept with its payload, to be tried again later), "failed" (for good), or done."""
        if outcome == "unavailable":
            entry = journal_entry(delivery, with_payload=True)
            now = self.clock()
            retry_at = self.deliveries.retry.next_attempt(entry.received_at, 1, now, self._rng)
            if retry_at is not None:
                self._queue(HandledDelivery(entry, "queued", 1, retry_at, error), entry.ordering_key)
                log.warning("delivery %s will be tried again at %s: %s", delivery.delivery_id, retry_at, error)
                return
        if outcome in ("failed", "unavailable"):
            now = self.clock()
            self._add(HandledDelivery(journal_entry(delivery, with_payload=False), "failed", 1, now, error, now))
            return
        # Done, the common case: only what the record needs is kept, turned into a row when written.
        delivery.drop_payload()
        self._add((delivery, self.clock()))

    async def handled(self, delivery: Delivery, outcome: str, error: str | None) -> None:
        """The dispatcher is done with a delivery the store handed out: done, failed for good, or "unavailable"
        (tried again later, while within the retry horizon)."""
        now = self.clock()
        key = ordering_key(delivery)
        self._claimed.pop(delivery.delivery_id, None)
        finished = True
        try:
            if outcome == "unavailable":
                retry_at = await self.deliveries.fail(
                    delivery.delivery_id, self.owner, error or "", retry=True, now=now
                )
                finished = retry_at is None
                if retry_at is not None:
                    log.warning("delivery %s will be tried again at %s: %s", delivery.delivery_id, retry_at, error)
            elif outcome == "failed":
                await self.deliveries.fail(delivery.delivery_id, self.owner, error or "", retry=False, now=now)
            else:
                await self.deliveries.finish(delivery.delivery_id, self.owner, now=now)
        except LeaseLost:
            log.warning(
                "delivery %s was taken over by another instance while this one handled it", delivery.delivery_id
            )
        if finished:
            if outcome == "unavailable":
                log.error(
                    "delivery %s is given up: GitHub stayed unavailable past the retry horizon", delivery.delivery_id
                )
            if key is not None and self._waiting_keys[key]:
                self._waiting_keys[key] -= 1
        self._claim_wake.set()  # the next delivery of its line can be claimed

    # ---- writing (one instance) -------------------------------------------------------------------------------

    def _queue(self, item: HandledDelivery, key: str | None) -> None:
        if key is not None and not self.shared:
            self._waiting_keys[key] += 1
        self._urgent = True
        self._add(item)
        self._write_wake.set()

    def _add(self, item: HandledDelivery | tuple[Delivery, datetime]) -> None:
        if not self._unwritten:
            self._unwritten_since = time.monotonic()
        self._unwritten.append(item)

    async def _write_loop(self, accepted: Callable[[], int]) -> None:
        seen = accepted()
        while True:
            await _woken(self._write_wake, QUIET_SECONDS)
            self._write_wake.clear()
            count = accepted()
            quiet, seen = count == seen, count
            if not self._unwritten:
                continue
            overdue = time.monotonic() - self._unwritten_since >= MAX_UNWRITTEN_SECONDS
            if self._urgent or quiet or overdue or len(self._unwritten) >= MAX_UNWRITTEN:
                try:
                    await self._write()
                except Exception:  # the database is away: kept, and tried again
                    log.exception("%d handled deliveries could not be recorded yet", len(self._unwritten))
                    await asyncio.sleep(self._poll_seconds)

    async def flush(self) -> None:
        """Write now whatever waits to be written (a stop, and tests that want the store to show everything)."""
        if self._recorder is not None:
            while self._recorder.backlog:
                await asyncio.sleep(0.01)
            return
        await self._write()

    async def _write(self) -> None:
        """Write what is waiting, a batch per statement (other work runs in between)."""
        self._urgent = False
        while self._unwritten:
            batch = self._unwritten[:WRITE_BATCH]
            await self.deliveries.record_handled([_row(item) for item in batch])
            del self._unwritten[: len(batch)]
            self._claim_wake.set()
        self._unwritten_since = time.monotonic()

    # ---- claiming -----------------------------------------------------------------------------------------------

    async def _wake_claims_on_writes(self, recorder: DeliveryJournal) -> None:
        while True:
            await recorder.written.wait()
            recorder.written.clear()
            self._claim_wake.set()

    async def _claim_loop(self, submit_claimed: Callable[[Delivery], None], capacity: Callable[[], int]) -> None:
        while True:
            await _woken(self._claim_wake, self._poll_seconds)
            self._claim_wake.clear()
            try:
                await self.claim(submit_claimed, capacity)
            except Exception:  # the database is away: the next poll tries again
                log.exception("deliveries could not be claimed")

    async def claim(self, submit_claimed: Callable[[Delivery], None], capacity: Callable[[], int]) -> int:
        """Renew the leases of the deliveries in hand, then claim what is due, up to the dispatcher's capacity."""
        now = self.clock()
        if self._claimed:
            held = await self.deliveries.renew(self.owner, list(self._claimed), lease=self._lease, now=now)
            for lost in set(self._claimed) - held:
                log.warning("the lease of delivery %s ran out and another instance claimed it", lost)
        free = capacity()
        if free <= 0:
            return 0
        claimed = await self.deliveries.claim(self.owner, limit=free, lease=self._lease, now=now)
        for item in claimed:
            delivery = Delivery(item.entry.event, item.entry.delivery_id, item.entry.payload)
            delivery.claim = item
            self._claimed[delivery.delivery_id] = delivery
            submit_claimed(delivery)
        return len(claimed)

    def wake(self) -> None:
        """Claim now rather than at the next poll (tests that move the clock)."""
        self._claim_wake.set()


def _row(item: HandledDelivery | tuple[Delivery, datetime]) -> HandledDelivery:
    if isinstance(item, HandledDelivery):
        return item
    delivery, finished = item
    return HandledDelivery(journal_entry(delivery, with_payload=False), "done", 1, finished, finished_at=finished)


@dataclass(frozen=True)
class Reconciliation:
    """What reconciling with GitHub's record of deliveries found."""

    listed: int  # deliveries (by GUID) GitHub sent since then
    redelivered: list[str]  # GUIDs asked for again: acknowledged or failed, but unknown to the store
    given_up: list[str]  # unknown to the store, but asked for too often already


async def reconcile(
    app: AppAPI,
    store: Store,
    in_hand: Callable[[str], bool],
    *,
    since: datetime,
    now: datetime,
    settle: timedelta,
) -> Reconciliation:
    """Ask GitHub to send again every delivery since `since` that the store does not know and no instance holds.

    GitHub lists its deliveries newest first, each attempt apart (a redelivery has the GUID of the first).
    A delivery the App refused as malformed (4xx) would be refused again, and one GitHub already sent
    `MAX_REDELIVERIES` times is left alone; pings are not recorded; the last `settle` is left to the
    instances that may still be recording it.
    """
    attempts: dict[str, list[dict[str, Any]]] = {}
    async for item in app.hook_deliveries():
        delivered = datetime.fromisoformat(str(item["delivered_at"]).replace("Z", "+00:00"))
        if delivered < since:
            break
        attempts.setdefault(str(item["guid"]), []).append(item | {"delivered": delivered})
    newest_allowed = now - settle
    candidates = [
        guid
        for guid, items in attempts.items()
        if items[0]["event"] != "ping" and max(i["delivered"] for i in items) <= newest_allowed and not in_hand(guid)
    ]
    known = await store.deliveries.statuses(candidates)
    redelivered, given_up = [], []
    for guid in candidates:
        if guid in known:
            continue
        latest = max(attempts[guid], key=lambda item: int(item["id"]))
        status = int(latest.get("status_code") or 0)
        if 400 <= status < 500 and status not in (408, 429):
            continue
        if len(attempts[guid]) >= MAX_REDELIVERIES:
            given_up.append(guid)
            continue
        await app.redeliver(int(latest["id"]))
        redelivered.append(guid)
    if redelivered or given_up:
        log.info(
            "reconciliation: %d deliveries since %s; redelivered %s%s",
            len(attempts),
            since.isoformat(timespec="seconds"),
            redelivered,
            f"; given up after {MAX_REDELIVERIES} attempts: {given_up}" if given_up else "",
        )
    return Reconciliation(len(attempts), redelivered, given_up)


async def run_reconciliations(
    journal: Journal,
    app: AppAPI,
    in_hand: Callable[[str], bool],
    *,
    horizon: timedelta,
    every: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Reconcile at start-up (back to the retry horizon), then every `every` seconds (since the last time), one
    instance at a time."""
    since = journal.clock() - horizon
    settle = RECONCILE_SETTLE if journal.shared else timedelta(0)
    while True:
        started = journal.clock()
        try:
            async with journal.store.single_flight("reconcile deliveries"):
                await reconcile(app, journal.store, in_hand, since=since, now=started, settle=settle)
            since = started - settle - timedelta(minutes=5)
        except (GitHubUnavailable, Refused) as error:  # the next round looks back further
            log.warning("reconciliation with GitHub's record of deliveries failed: %s", error)
        except Exception:
            log.exception("reconciliation with GitHub's record of deliveries failed")
        await sleep(every)
