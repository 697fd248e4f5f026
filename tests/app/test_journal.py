"""The App's delivery journal without HTTP: what reconciliation asks GitHub to send again, and what it leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.app.journal import MAX_REDELIVERIES, _woken, reconcile
from bot.store import JournalEntry, Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class GitHubsRecord:
    """`GET /app/hook/deliveries` (newest first) and `POST …/{id}/attempts`, as `AppAPI` calls them."""

    def __init__(self, items: list[dict]) -> None:
        self.items = sorted(items, key=lambda item: item["id"], reverse=True)
        self.redelivered: list[int] = []

    async def hook_deliveries(self):
        for item in self.items:
            yield item

    async def redeliver(self, hook_delivery_id: int) -> None:
        self.redelivered.append(hook_delivery_id)


def attempt(number: int, guid: str, status: int, *, minutes_ago: float, event: str = "workflow_run") -> dict:
    delivered = NOW - timedelta(minutes=minutes_ago)
    return {
        "id": number,
        "guid": guid,
        "delivered_at": delivered.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redelivery": False,
        "status_code": status,
        "event": event,
    }


async def test_reconciliation_redelivers_what_the_store_does_not_know_and_leaves_the_rest(store: Store):
    await store.deliveries.record([JournalEntry("known", "push", None, 1, "o/r", None, NOW, b"{}")])
    record = GitHubsRecord(
        [
            attempt(1, "too-old", 202, minutes_ago=400),
            attempt(2, "known", 202, minutes_ago=30),  # in the store
            attempt(3, "acknowledged-then-lost", 202, minutes_ago=20),  # the App died before recording it
            attempt(4, "app-was-down", 0, minutes_ago=19),
            attempt(5, "refused-as-malformed", 400, minutes_ago=18),
            attempt(6, "answered-503", 503, minutes_ago=17),
            attempt(7, "a-ping", 200, minutes_ago=16, event="ping"),
            attempt(8, "in-hand", 202, minutes_ago=15),  # accepted lately: the dispatcher has it
            *(attempt(9 + n, "tried-too-often", 503, minutes_ago=14 - n) for n in range(MAX_REDELIVERIES)),
            attempt(20, "too-new", 202, minutes_ago=0.05),  # may still be on its way into another instance's store
        ]
    )
    found = await reconcile(
        record,  # type: ignore[arg-type]
        store,
        lambda guid: guid == "in-hand",
        since=NOW - timedelta(hours=6),
        now=NOW,
        settle=timedelta(seconds=10),
    )
    assert found.redelivered == ["answered-503", "app-was-down", "acknowledged-then-lost"]  # newest first
    assert record.redelivered == [6, 4, 3]
    assert found.given_up == ["tried-too-often"]


async def test_a_loop_woken_as_it_is_cancelled_stops():
    """The journal's loops wait for a wake-up with a time limit; a stop that cancels one just as it is woken must
    end it (`asyncio.wait_for` on Python 3.11 loses that cancellation, and the App's stop then never ends)."""
    wake = asyncio.Event()

    async def loop() -> None:
        while True:
            await _woken(wake, 10)
            wake.clear()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # waiting for the wake-up
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done and task.cancelled()
