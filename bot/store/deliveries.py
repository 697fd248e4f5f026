"""The delivery journal: every accepted delivery, written in batches off the ack path, claimed with leases.

- `DeliveryJournal.record` only appends to a buffer (no I/O before the 202); one writer task inserts what
  has gathered in one statement as soon as the previous insert is done (group commit).
- `Deliveries.claim` hands out work to any number of processes: on PostgreSQL `SELECT … FOR UPDATE SKIP
  LOCKED` inside the claiming UPDATE, so no delivery is claimed twice; a claim is a lease, and a delivery
  whose lease ran out (its instance died) can be claimed again.
- Per-key order: only the earliest unfinished delivery of an ordering key (same pull request or commit)
  can be claimed; the next one of that key waits until it is done or has failed for good, whichever
  process holds it.
- A delivery that failed because GitHub was unavailable is retried with exponential backoff until its
  retry horizon (`RetryPolicy`), then given up ("failed").
- One instance alone (SQLite) may handle fresh deliveries from memory and record them afterwards, in their
  end state (`record_handled`); then only what is to be tried again goes through claims.
On SQLite the same API serves one process (its engine has one connection, so claims run one at a time).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import schema
from bot.store.database import cancel_safe, dialect_insert

log = logging.getLogger(__name__)

ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An accepted delivery as the intake saw it; `payload` is the raw body, so the delivery can be re-run."""

    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    ordering_key: str | None  # same pull request or commit: handled in order
    received_at: datetime
    payload: bytes


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this owner may handle until `lease_until` (renew the lease for longer work)."""

    entry: JournalEntry
    attempt: int  # 1 for the first claim
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """Where a delivery stands, without its payload (for logs, `status` and reconciliation)."""

    delivery_id: str
    event: str
    action: str | None
    repository: str | None
    state: str  # queued, running, done, failed
    attempts: int
    received_at: datetime
    next_attempt_at: datetime
    owner: str | None
    lease_until: datetime | None
    error: str | None
    ordering_key: str | None = None


@dataclass(frozen=True, slots=True)
class HandledDelivery:
    """A delivery one instance handled from memory before recording it (SQLite: the only instance), as it ends up:
    `done` or `failed`, or `queued` with its payload to be claimed later (to be tried again at `next_attempt_at`,
    waiting behind an earlier delivery of its key, or not handled before a stop)."""

    entry: JournalEntry  # the payload is only kept for `queued`
    state: str
    attempts: int
    next_attempt_at: datetime
    error: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """When a delivery that failed because GitHub was unavailable is tried again: after `first_delay`, growing by
    `factor` per attempt up to `max_delay` (±`jitter` of it), while within `horizon` of its receipt."""

    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=30)
    horizon: timedelta = timedelta(hours=6)
    jitter: float = 0.1

    def next_attempt(self, received_at: datetime, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        """When to try again after `attempts` failed attempts, or None when that would be past the horizon."""
        seconds = min(self.max_delay.total_seconds(), self.first_delay.total_seconds() * self.factor ** (attempts - 1))
        seconds *= 1 + self.jitter * (2 * rng.random() - 1)
        at = now + timedelta(seconds=seconds)
        return at if at <= received_at + self.horizon else None


class LeaseLost(Exception):
    """The delivery is no longer this owner's: its lease ran out and another instance claimed it (or it is done)."""


_d = schema.deliveries
_STATUS_COLUMNS = (
    _d.c.delivery_id,
    _d.c.event,
    _d.c.action,
    _d.c.repository,
    _d.c.state,
    _d.c.attempts,
    _d.c.received_at,
    _d.c.next_attempt_at,
    _d.c.owner,
    _d.c.lease_until,
    _d.c.error,
    _d.c.ordering_key,
)


@cancel_safe
class Deliveries:
    """The journal's table: record, claim, renew, finish, fail, release and list deliveries."""

    def __init__(self, engine: AsyncEngine, retry: RetryPolicy, *, rng: random.Random | None = None) -> None:
        self._engine = engine
        self.retry = retry
        self._rng = rng or random.Random()

    async def record(self, entries: Sequence[JournalEntry]) -> None:
        """Insert accepted deliveries. A delivery id already recorded is left alone (a redelivery), unless it had
        failed for good: then it is queued again (GitHub's "Redeliver" after a failure means "try again")."""
        if not entries:
            return
        rows = {
            entry.delivery_id: {
                "delivery_id": entry.delivery_id,
                "event": entry.event,
                "action": entry.action,
                "installation_id": entry.installation_id,
                "repository": entry.repository,
                "ordering_key": entry.ordering_key,
                "received_at": entry.received_at,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": entry.received_at,
                "payload": entry.payload,
            }
            for entry in entries
        }
        async with self._engine.begin() as connection:
            insert = dialect_insert(connection.dialect.name, _d)
            statement = insert.on_conflict_do_update(
                index_elements=[_d.c.delivery_id],
                set_={
                    "state": "queued",
                    "attempts": 0,
                    "next_attempt_at": insert.excluded.received_at,
                    "owner": None,
                    "lease_until": None,
                    "error": None,
                    "finished_at": None,
                },
                where=_d.c.state == "failed",
            )
            await connection.execute(statement, list(rows.values()))

    async def record_handled(self, handled: Sequence[HandledDelivery]) -> None:
        """Record deliveries handled from memory, in their end state. A delivery id the store holds unfinished is
        left alone (it is the store's to hand out); one it holds finished takes the new state (a redelivery)."""
        if not handled:
            return
        rows = {
            item.entry.delivery_id: {
                "delivery_id": item.entry.delivery_id,
                "event": item.entry.event,
                "action": item.entry.action,
                "installation_id": item.entry.installation_id,
                "repository": item.entry.repository,
                "ordering_key": item.entry.ordering_key,
                "received_at": item.entry.received_at,
                "state": item.state,
                "attempts": item.attempts,
                "next_attempt_at": item.next_attempt_at,
                "error": None if item.error is None else item.error[:ERROR_CHARS],
                "finished_at": item.finished_at,
                "payload": item.entry.payload if item.state == "queued" else b"",
            }
            for item in handled
        }
        async with self._engine.begin() as connection:
            insert = dialect_insert(connection.dialect.name, _d)
            changed = ("state", "attempts", "next_attempt_at", "error", "finished_at", "payload")
            statement = insert.on_conflict_do_update(
                index_elements=[_d.c.delivery_id],
                set_={**{name: insert.excluded[name] for name in changed}, "owner": None, "lease_until": None},
                where=and_(*(_d.c.state != state for state in schema.UNFINISHED_STATES)),  # no IN: executemany
            )
            await connection.execute(statement, list(rows.values()))

    async def claim(self, owner: str, *, limit: int, lease: timedelta, now: datetime) -> list[ClaimedDelivery]:
        """Up to `limit` deliveries that are due (queued and due, or running with an expired lease) and first in
        their ordering key's line, oldest first, leased to `owner` until `now + lease`."""
        earlier = _d.alias("earlier")
        earlier_unfinished = exists().where(
            earlier.c.ordering_key == _d.c.ordering_key,
            earlier.c.state.in_(schema.UNFINISHED_STATES),
            or_(
                earlier.c.received_at < _d.c.received_at,
                and_(earlier.c.received_at == _d.c.received_at, earlier.c.seq < _d.c.seq),
            ),
        )
        due = or_(
            and_(_d.c.state == "queued", _d.c.next_attempt_at <= now),
            and_(_d.c.state == "running", _d.c.lease_until < now),
        )
        chosen = (
            select(_d.c.seq)
            .where(due, ~earlier_unfinished)
            .order_by(_d.c.received_at, _d.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
            # A CTE is evaluated once: as `seq IN (subquery)`, PostgreSQL may run the subquery again and claim
            # more than `limit` deliveries.
            .cte("chosen")
        )
        lease_until = now + lease
        statement = (
            update(_d)
            .where(_d.c.seq == chosen.c.seq, due)
            .values(state="running", owner=owner, lease_until=lease_until, attempts=_d.c.attempts + 1)
            .returning(
                _d.c.delivery_id,
                _d.c.event,
                _d.c.action,
                _d.c.installation_id,
                _d.c.repository,
                _d.c.ordering_key,
                _d.c.received_at,
                _d.c.payload,
                _d.c.attempts,
            )
        )
        async with self._engine.begin() as connection:
            rows = (await connection.execute(statement)).all()
        claimed = [
            ClaimedDelivery(
                JournalEntry(
                    row.delivery_id,
                    row.event,
                    row.action,
                    row.installation_id,
                    row.repository,
                    row.ordering_key,
                    row.received_at,
                    row.payload,
                ),
                row.attempts,
                lease_until,
            )
            for row in rows
        ]
        claimed.sort(key=lambda delivery: delivery.entry.received_at)
        return claimed

    async def renew(self, owner: str, delivery_ids: Sequence[str], *, lease: timedelta, now: datetime) -> set[str]:
        """Extend the leases `owner` still holds to `now + lease`; returns the ids it still holds."""
        if not delivery_ids:
            return set()
        statement = (
            update(_d)
            .where(_d.c.delivery_id.in_(list(delivery_ids)), _d.c.owner == owner, _d.c.state == "running")
            .values(lease_until=now + lease)
            .returning(_d.c.delivery_id)
        )
        async with self._engine.begin() as connection:
            return set((await connection.execute(statement)).scalars())

    async def finish(self, delivery_id: str, owner: str, *, now: datetime) -> None:
        """The delivery was handled. Raises LeaseLost when `owner` no longer holds it."""
        statement = (
            update(_d)
            .where(_d.c.delivery_id == delivery_id, _d.c.owner == owner, _d.c.state == "running")
            .values(state="done", finished_at=now, lease_until=None, error=None)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(statement)).rowcount != 1:
                raise LeaseLost(delivery_id)

    async def fail(self, delivery_id: str, owner: str, error: str, *, retry: bool, now: datetime) -> datetime | None:
        """Handling failed with `error`. With `retry` (GitHub was unavailable) the delivery is queued again with
        backoff while within the retry horizon; otherwise, or past it, it has failed for good. Returns the time
        of the next attempt, None when given up. Raises LeaseLost when `owner` no longer holds it."""
        held = and_(_d.c.delivery_id == delivery_id, _d.c.owner == owner, _d.c.state == "running")
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(select(_d.c.received_at, _d.c.attempts).where(held).with_for_update())
            ).first()
            if row is None:
                raise LeaseLost(delivery_id)
            next_attempt = self.retry.next_attempt(row.received_at, row.attempts, now, self._rng) if retry else None
            if next_attempt is None:
                values = {"state": "failed", "finished_at": now}
            else:
                values = {"state": "queued", "next_attempt_at": next_attempt, "owner": None}
            await connection.execute(
                update(_d).where(held).values(lease_until=None, error=error[:ERROR_CHARS], **values)
            )
        return next_attempt

    async def release(self, owner: str) -> list[str]:
        """Give back every delivery `owner` holds, unfinished and not counted as an attempt (at shutdown), so the
        next instance resumes them at once. Returns their ids."""
        statement = (
            update(_d)
            .where(_d.c.owner == owner, _d.c.state == "running")
            .values(
                state="queued",
                owner=None,
                lease_until=None,
                attempts=case((_d.c.attempts > 0, _d.c.attempts - 1), else_=0),
            )
            .returning(_d.c.delivery_id)
        )
        async with self._engine.begin() as connection:
            return sorted((await connection.execute(statement)).scalars())

    async def requeue(self, delivery_id: str, *, now: datetime) -> bool:
        """Run a finished delivery again from its stored payload (e.g. reconciliation found it unfinished on GitHub's
        side). False when the store does not have it or it is not finished."""
        statement = (
            update(_d)
            .where(_d.c.delivery_id == delivery_id, _d.c.state.not_in(schema.UNFINISHED_STATES))
            .values(state="queued", attempts=0, next_attempt_at=now, owner=None, error=None, finished_at=None)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def unfinished(self) -> list[DeliveryStatus]:
        """Deliveries queued or running, oldest first: for the shutdown log and the start-up resume."""
        query = (
            select(*_STATUS_COLUMNS)
            .where(_d.c.state.in_(schema.UNFINISHED_STATES))
            .order_by(_d.c.received_at, _d.c.seq)
        )
        async with self._engine.connect() as connection:
            return [DeliveryStatus(*row) for row in (await connection.execute(query)).all()]

    async def counts(self) -> dict[str, int]:
        """Deliveries per state (queued, running, done, failed)."""
        query = select(_d.c.state, func.count()).group_by(_d.c.state)
        async with self._engine.connect() as connection:
            return {state: count for state, count in (await connection.execute(query)).all()}

    async def statuses(self, delivery_ids: Sequence[str]) -> dict[str, DeliveryStatus]:
        """What the store knows of these deliveries (reconciliation with GitHub's delivery list)."""
        found: dict[str, DeliveryStatus] = {}
        ids = list(dict.fromkeys(delivery_ids))
        async with self._engine.connect() as connection:
            for start in range(0, len(ids), 500):
                query = select(*_STATUS_COLUMNS).where(_d.c.delivery_id.in_(ids[start : start + 500]))
                for row in (await connection.execute(query)).all():
                    found[row.delivery_id] = DeliveryStatus(*row)
        return found


class JournalFull(Exception):
    """The journal's buffer is full (the database has been unreachable for a while): answer 503."""


class DeliveryJournal:
    """Records accepted deliveries in the background, in batches; `record` does no I/O.

    Start it with `start()` inside the event loop, stop it with `close()`, which writes what is left.
    """

    def __init__(
        self,
        deliveries: Deliveries,
        *,
        max_batch: int = 500,
        max_backlog: int = 10_000,
        retry_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._deliveries = deliveries
        self._max_batch = max_batch
        self._max_backlog = max_backlog
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._waiting: list[tuple[JournalEntry, asyncio.Future[bool]]] = []
        self._writing: list[tuple[JournalEntry, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: Set after each write: a dispatcher can wait on it to claim what was just recorded.
        self.written = asyncio.Event()

    @property
    def backlog(self) -> int:
        """Deliveries accepted and not yet written."""
        return len(self._waiting) + len(self._writing)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def record(self, entry: JournalEntry) -> asyncio.Future[bool]:
        """Queue `entry` for the next write. The future is True once it is in the database, False if the journal
        closed before it could be written; awaiting it is optional. Raises JournalFull when the backlog is full."""
        if self._closing:
            raise JournalFull("the journal is closing")
        if self.backlog >= self._max_backlog:
            raise JournalFull(f"{self.backlog} deliveries are waiting to be recorded")
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, written))
        self._wake.set()
        return written

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            self._writing = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                await self._deliveries.record([entry for entry, _ in self._writing])
            except Exception:
                log.exception("could not record %d deliveries; trying again", len(self._writing))
                self._waiting[:0] = self._writing
                self._writing = []
                if self._closing:
                    return
                await self._sleep(self._retry_seconds)
                continue
            for _, written in self._writing:
                if not written.done():
                    written.set_result(True)
            self._writing = []
            self.written.set()

    async def close(self, timeout: float) -> list[str]:
        """Write what is waiting (one try per batch, within `timeout` seconds) and stop. Returns the ids of the
        deliveries that are not known to be written, for the shutdown log."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        left = self._writing + self._waiting
        for _, written in left:
            if not written.done():
                written.set_result(False)
        self._writing, self._waiting = [], []
        return [entry.delivery_id for entry, _ in left]
