"""The delivery journal on SQLite and PostgreSQL: batched recording, leased claims in per-key order, retries with
backoff, release at shutdown; on PostgreSQL two instances claiming at once, and a dead instance's work taken over."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import timedelta

import pytest
from store_events import START

from bot.store import (
    Deliveries,
    DeliveryJournal,
    HandledDelivery,
    JournalEntry,
    JournalFull,
    LeaseLost,
    RetryPolicy,
    Store,
)

LEASE = timedelta(minutes=2)
NO_JITTER = RetryPolicy(
    first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=10), horizon=timedelta(hours=1), jitter=0
)


def entry(number: int, key: str | None = None, *, seconds: float | None = None) -> JournalEntry:
    return JournalEntry(
        delivery_id=f"delivery-{number}",
        event="workflow_run",
        action="completed",
        installation_id=1,
        repository="octo-org/octo-repo",
        ordering_key=key,
        received_at=START + timedelta(seconds=number if seconds is None else seconds),
        payload=b'{"action": "completed", "n": %d}' % number,
    )


async def journal_store(database_url: str) -> Store:
    return await Store.open(database_url, retry=NO_JITTER)


@pytest.fixture
async def journaled(database_url: str):
    store = await journal_store(database_url)
    yield store
    await store.close()


async def test_the_journal_writes_in_batches_and_claims_hand_back_the_payload(journaled: Store):
    batches: list[int] = []

    class Counting(Deliveries):
        async def record(self, entries: Sequence[JournalEntry]) -> None:
            batches.append(len(entries))
            await super().record(entries)

    journal = DeliveryJournal(Counting(journaled.engine, NO_JITTER), max_batch=500)
    journal.start()
    written = [journal.record(entry(n)) for n in range(1200)]  # one turn of the loop: no write yet
    assert journal.backlog == 1200 and batches == []
    assert await asyncio.gather(*written) == [True] * 1200
    assert batches == [500, 500, 200] and journal.backlog == 0 and journal.written.is_set()
    assert await journal.close(timeout=5) == []

    claimed = await journaled.deliveries.claim("a", limit=2, lease=LEASE, now=START + timedelta(hours=1))
    assert [c.entry for c in claimed] == [entry(0), entry(1)]
    assert [c.attempt for c in claimed] == [1, 1]


async def test_a_redelivery_is_recorded_once_unless_it_had_failed_for_good(journaled: Store):
    deliveries, later = journaled.deliveries, START + timedelta(hours=1)
    await deliveries.record([entry(1), entry(1), entry(2)])
    await deliveries.record([entry(1)])
    claimed = await deliveries.claim("a", limit=10, lease=LEASE, now=later)
    assert [c.entry.delivery_id for c in claimed] == ["delivery-1", "delivery-2"]
    await deliveries.finish("delivery-1", "a", now=later)
    await deliveries.fail("delivery-2", "a", "a bug", retry=False, now=later)
    await deliveries.record([entry(1), entry(2)])  # GitHub's "Redeliver" on both
    claimed = await deliveries.claim("a", limit=10, lease=LEASE, now=later)
    assert [c.entry.delivery_id for c in claimed] == ["delivery-2"]


async def test_deliveries_of_one_key_are_claimed_one_at_a_time_in_order(journaled: Store):
    deliveries, now = journaled.deliveries, START + timedelta(hours=1)
    await deliveries.record([entry(3, "o/r#1"), entry(1, "o/r#1"), entry(2, "o/r#2"), entry(4), entry(5)])
    first = await deliveries.claim("a", limit=10, lease=LEASE, now=now)
    assert [c.entry.delivery_id for c in first] == ["delivery-1", "delivery-2", "delivery-4", "delivery-5"]
    assert await deliveries.claim("b", limit=10, lease=LEASE, now=now) == []  # delivery-3 waits behind delivery-1
    await deliveries.finish("delivery-1", "a", now=now)
    second = await deliveries.claim("b", limit=10, lease=LEASE, now=now)
    assert [c.entry.delivery_id for c in second] == ["delivery-3"]


async def test_an_expired_lease_is_taken_over_and_the_old_owner_loses_it(journaled: Store):
    deliveries = journaled.deliveries
    await deliveries.record([entry(1, "o/r#1"), entry(2, "o/r#1")])
    now = START + timedelta(hours=1)
    assert len(await deliveries.claim("a", limit=10, lease=LEASE, now=now)) == 1
    assert await deliveries.claim("b", limit=10, lease=LEASE, now=now + LEASE - timedelta(seconds=1)) == []
    assert await deliveries.renew("a", ["delivery-1"], lease=LEASE, now=now + timedelta(minutes=1)) == {"delivery-1"}
    assert await deliveries.claim("b", limit=10, lease=LEASE, now=now + LEASE + timedelta(seconds=1)) == []  # renewed
    taken = await deliveries.claim("b", limit=10, lease=LEASE, now=now + 2 * LEASE)
    assert [(c.entry.delivery_id, c.attempt) for c in taken] == [("delivery-1", 2)]
    with pytest.raises(LeaseLost):
        await deliveries.finish("delivery-1", "a", now=now + 2 * LEASE)
    assert await deliveries.renew("a", ["delivery-1"], lease=LEASE, now=now + 2 * LEASE) == set()
    await deliveries.finish("delivery-1", "b", now=now + 2 * LEASE)
    assert [c.entry.delivery_id for c in await deliveries.claim("a", limit=10, lease=LEASE, now=now + 2 * LEASE)] == [
        "delivery-2"
    ]


async def test_unavailable_github_is_retried_with_backoff_until_the_horizon(journaled: Store):
    deliveries = journaled.deliveries
    await deliveries.record([entry(0, "o/r#1"), entry(1, "o/r#1")])
    now = START
    delays = []
    while True:
        [claimed] = await deliveries.claim("a", limit=1, lease=LEASE, now=now)
        assert claimed.entry.delivery_id == "delivery-0"  # delivery-1 waits behind it all along
        retry_at = await deliveries.fail("delivery-0", "a", "GitHub answered 502", retry=True, now=now)
        if retry_at is None:
            break
        delays.append((retry_at - now).total_seconds())
        assert await deliveries.claim("a", limit=1, lease=LEASE, now=retry_at - timedelta(seconds=1)) == []
        now = retry_at
    assert delays == [30, 60, 120, 240, 480, 600, 600, 600, 600]  # then the next would pass the one-hour horizon
    statuses = await deliveries.statuses(["delivery-0", "delivery-1", "unknown"])
    assert statuses["delivery-0"].state == "failed" and statuses["delivery-0"].attempts == 10
    assert statuses["delivery-0"].error == "GitHub answered 502" and "unknown" not in statuses
    # Given up: the next delivery of the key goes ahead.
    [claimed] = await deliveries.claim("a", limit=1, lease=LEASE, now=now)
    assert claimed.entry.delivery_id == "delivery-1"


async def test_release_at_shutdown_leaves_work_for_the_next_instance(journaled: Store):
    deliveries, now = journaled.deliveries, START + timedelta(hours=1)
    await deliveries.record([entry(1), entry(2), entry(3)])
    await deliveries.claim("old", limit=2, lease=LEASE, now=now)
    unfinished = await deliveries.unfinished()
    assert [(s.delivery_id, s.state, s.owner) for s in unfinished] == [
        ("delivery-1", "running", "old"),
        ("delivery-2", "running", "old"),
        ("delivery-3", "queued", None),
    ]
    assert await deliveries.release("old") == ["delivery-1", "delivery-2"]
    resumed = await deliveries.claim("new", limit=10, lease=LEASE, now=now)  # at once, no lease to wait for
    assert [(c.entry.delivery_id, c.attempt) for c in resumed] == [
        ("delivery-1", 1),
        ("delivery-2", 1),
        ("delivery-3", 1),
    ]
    await deliveries.finish("delivery-1", "new", now=now)
    assert await deliveries.requeue("delivery-1", now=now)
    assert not await deliveries.requeue("delivery-2", now=now)  # still running
    assert [s.delivery_id for s in await deliveries.unfinished()] == ["delivery-1", "delivery-2", "delivery-3"]


class _Unreachable(Deliveries):
    async def record(self, entries: Sequence[JournalEntry]) -> None:
        raise ConnectionRefusedError("database down")


async def test_the_journal_keeps_retrying_and_reports_what_it_could_not_write(journaled: Store):
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    journal = DeliveryJournal(_Unreachable(journaled.engine, NO_JITTER), max_backlog=3, sleep=sleep)
    journal.start()
    written = [journal.record(entry(n)) for n in range(3)]
    with pytest.raises(JournalFull):
        journal.record(entry(4))
    while len(pauses) < 2:
        await asyncio.sleep(0)
    assert await journal.close(timeout=5) == ["delivery-0", "delivery-1", "delivery-2"]
    assert [future.result() for future in written] == [False, False, False]
    with pytest.raises(JournalFull):
        journal.record(entry(5))


async def test_two_instances_never_claim_a_delivery_twice_and_keep_each_key_in_order(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL; SQLite serves one process")
    first, second = await journal_store(database_url), await journal_store(database_url)
    rng = random.Random(12)
    keys = [f"o/r#{n}" for n in range(8)] + [None]
    entries = [entry(n, rng.choice(keys)) for n in range(300)]
    rng.shuffle(entries)
    await first.deliveries.record(entries[:150])
    await second.deliveries.record(entries[150:])
    now = START + timedelta(hours=1)
    claims: dict[str, str] = {}
    finished_per_key: dict[str, list[str]] = {}
    busy_keys: set[str] = set()

    async def instance(store: Store, name: str) -> None:
        idle = 0
        while idle < 20:
            claimed = await store.deliveries.claim(name, limit=rng.randint(1, 6), lease=LEASE, now=now)
            idle = 0 if claimed else idle + 1
            for delivery in claimed:
                assert delivery.entry.delivery_id not in claims, "claimed twice"
                claims[delivery.entry.delivery_id] = name
                key = delivery.entry.ordering_key
                if key is not None:
                    assert key not in busy_keys, f"two deliveries of {key} at once"
                    busy_keys.add(key)
            await asyncio.sleep(0)
            for delivery in claimed:
                key = delivery.entry.ordering_key
                if key is not None:  # noted before the database hears of it: the other may claim the next at once
                    busy_keys.discard(key)
                    finished_per_key.setdefault(key, []).append(delivery.entry.delivery_id)
                await store.deliveries.finish(delivery.entry.delivery_id, name, now=now)

    try:
        await asyncio.gather(instance(first, "first"), instance(second, "second"))
        assert sorted(claims) == sorted(e.delivery_id for e in entries)
        assert set(claims.values()) == {"first", "second"}
        for key, finished in finished_per_key.items():
            in_order = [e.delivery_id for e in sorted(entries, key=lambda e: e.received_at) if e.ordering_key == key]
            assert finished == in_order, key
        assert await first.deliveries.unfinished() == []
    finally:
        await first.close()
        await second.close()


async def test_a_dead_instance_s_deliveries_are_taken_over_after_its_lease(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL; SQLite serves one process")
    dying, survivor = await journal_store(database_url), await journal_store(database_url)
    try:
        await dying.deliveries.record([entry(n, f"o/r#{n % 2}") for n in range(4)])
        now = START + timedelta(hours=1)
        held = await dying.deliveries.claim("dying", limit=10, lease=LEASE, now=now)
        assert [c.entry.delivery_id for c in held] == ["delivery-0", "delivery-1"]
        await dying.close()  # killed: its connections are gone, its leases stay until they run out
        assert await survivor.deliveries.claim("survivor", limit=10, lease=LEASE, now=now + LEASE / 2) == []
        taken = await survivor.deliveries.claim("survivor", limit=10, lease=LEASE, now=now + LEASE * 2)
        assert [(c.entry.delivery_id, c.attempt) for c in taken] == [("delivery-0", 2), ("delivery-1", 2)]
    finally:
        await survivor.close()


async def test_deliveries_handled_from_memory_are_recorded_in_their_end_state(journaled: Store):
    deliveries, later = journaled.deliveries, START + timedelta(hours=1)
    await deliveries.record([entry(9)])  # in the store's hands already: left alone
    await deliveries.record_handled(
        [
            HandledDelivery(entry(1), "done", 1, START, finished_at=START),
            HandledDelivery(entry(2), "failed", 1, START, "a bug", finished_at=START),
            HandledDelivery(entry(3, "o/r#1"), "queued", 1, START + timedelta(minutes=5), "GitHub answered 502"),
            HandledDelivery(entry(9), "done", 1, START, finished_at=START),
        ]
    )
    states = await deliveries.statuses(["delivery-1", "delivery-2", "delivery-3", "delivery-9"])
    assert {i: (s.state, s.attempts, s.error) for i, s in states.items()} == {
        "delivery-1": ("done", 1, None),
        "delivery-2": ("failed", 1, "a bug"),
        "delivery-3": ("queued", 1, "GitHub answered 502"),
        "delivery-9": ("queued", 0, None),
    }
    assert states["delivery-3"].ordering_key == "o/r#1"
    soon = START + timedelta(minutes=1)
    assert [c.entry.delivery_id for c in await deliveries.claim("a", limit=5, lease=LEASE, now=soon)] == ["delivery-9"]
    await deliveries.finish("delivery-9", "a", now=soon)
    (retried,) = await deliveries.claim("a", limit=5, lease=LEASE, now=later)
    assert retried.entry == entry(3, "o/r#1") and retried.attempt == 2  # the payload was kept to try again
    # A delivery recorded done comes again (GitHub's "Redeliver") and now has to wait: queued once more.
    await deliveries.record_handled([HandledDelivery(entry(1), "queued", 1, later, "GitHub answered 503")])
    assert (await deliveries.statuses(["delivery-1"]))["delivery-1"].state == "queued"
