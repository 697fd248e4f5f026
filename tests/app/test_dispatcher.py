"""The dispatcher without HTTP: the redelivery window, routing by event and action, the workers, outcomes, metrics."""

from __future__ import annotations

import asyncio
import http
import json
import logging

import gidgethub
from gidgethub import routing

from bot.app import metrics
from bot.app.dispatcher import Dispatcher, RecentDeliveries
from bot.app.intake import Delivery
from bot.github import events
from bot.github.client import Refused


def delivery(event: str, delivery_id: str, **payload) -> Delivery:
    payload.setdefault("installation", {"id": 1})
    return Delivery(event, delivery_id, json.dumps(payload).encode())


def test_a_delivery_id_is_remembered_for_the_window_and_then_forgotten():
    now = [0.0]
    recent = RecentDeliveries(window=60, clock=lambda: now[0])
    assert recent.remember("a")
    for now[0] in (30.0, 59.0, 61.0, 100.0):  # one rotation happened at 61 s: "a" is in the older generation
        assert not recent.remember("a")
    now[0] = 125.0  # the second rotation drops it
    assert recent.remember("a")
    now[0] = 400.0  # after more than two windows with nothing in between, nothing is left
    assert recent.remember("a")


def test_the_redelivery_memory_is_bounded():
    recent = RecentDeliveries(window=3600, maxsize=10, clock=lambda: 0.0)
    for number in range(25):
        assert recent.remember(str(number))
    assert not recent.remember("24") and not recent.remember("15")
    assert recent.remember("0")  # memory holds at most two generations of 10 ids


def test_forgetting_lets_the_same_id_in_again():
    recent = RecentDeliveries(window=60)
    recent.remember("a")
    recent.forget("a")
    assert recent.remember("a")


async def test_routes_on_other_payload_keys_are_not_mixed_up_by_the_route_memory():
    seen: list[str] = []
    router = routing.Router()

    @router.register("push", ref="refs/heads/main")
    async def main_only(event, gh, services):
        seen.append(event.delivery_id)

    dispatcher = Dispatcher(router, lambda d: (None, None), concurrency=2, dedupe_seconds=60)
    dispatcher.start()
    for number, ref in enumerate(["refs/heads/main", "refs/heads/feature", "refs/heads/main"]):
        assert dispatcher.submit(delivery("push", f"d{number}", ref=ref, after=f"sha{number}")) == "accepted"
    await dispatcher.join()
    assert seen == ["d0", "d2"]
    await dispatcher.drain(1)


async def test_a_burst_is_handled_concurrently_by_the_pool_when_handlers_wait():
    running, most = 0, 0
    router = routing.Router()

    @router.register("workflow_run", action="completed")
    async def slow(event, gh, services):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    dispatcher = Dispatcher(router, lambda d: (None, None), concurrency=4, dedupe_seconds=60)
    dispatcher.start()
    for number in range(20):  # different commits: no ordering between them
        dispatcher.submit(
            delivery("workflow_run", f"d{number}", action="completed", workflow_run={"head_sha": f"s{number}"})
        )
    await asyncio.wait_for(dispatcher.join(), 5)
    assert most == 4 and dispatcher.pending == 0
    assert dispatcher.submit(delivery("workflow_run", "d3", action="completed")) == "duplicate"
    await dispatcher.drain(1)


def test_deliveries_are_counted_only_under_event_names_github_sends():
    counts = metrics._DeliveryCounts()
    for number in range(50):
        counts.add(f"made-up-{number}", "accepted")
    counts.add("workflow_run", "accepted")
    assert counts.counts == {("other", "accepted"): 50, ("workflow_run", "accepted"): 1}


def test_handler_durations_are_a_prometheus_histogram():
    durations = metrics._HandlerSeconds()

    async def handler() -> None: ...

    for seconds in (0.001, 0.01, 0.2, 500):
        durations.observe("push", handler, seconds)
    (family,) = durations.collect()
    samples = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert samples[("ci_orchestrator_handler_seconds_bucket", "0.01")] == 2  # upper bounds are inclusive
    assert samples[("ci_orchestrator_handler_seconds_bucket", "0.25")] == 3
    assert samples[("ci_orchestrator_handler_seconds_bucket", "+Inf")] == 4
    assert samples[("ci_orchestrator_handler_seconds_count", None)] == 4
    assert samples[("ci_orchestrator_handler_seconds_sum", None)] == 500.211


async def test_a_failure_outside_the_handlers_does_not_stop_the_worker(caplog):
    seen: list[str] = []
    router = routing.Router()

    @router.register("push")
    async def record(event, gh, services):
        seen.append(event.delivery_id)

    def arguments(d: Delivery) -> tuple:
        if d.delivery_id == "bad":
            raise RuntimeError("no client for this installation")
        return None, None

    dispatcher = Dispatcher(router, arguments, concurrency=1, dedupe_seconds=60)
    dispatcher.start()
    dispatcher.submit(delivery("push", "bad", after="a"))
    dispatcher.submit(delivery("push", "good", after="b"))
    await asyncio.wait_for(dispatcher.join(), 5)
    assert seen == ["good"]
    assert "delivery bad (push) could not be handled" in caplog.text
    assert dispatcher.submit(delivery("push", "bad", after="a")) == "accepted"  # a redelivery may try again
    await dispatcher.drain(1)


async def test_a_malformed_payload_and_a_refusal_by_github_are_one_plain_line_each(caplog):
    router = routing.Router()

    @router.register("push")
    async def read_ref(event, gh, services):
        events.push_event(event.data)

    @router.register("workflow_run")
    async def lose_access(event, gh, services):
        error = gidgethub.BadRequest(http.HTTPStatus.NOT_FOUND, "Not Found")
        raise Refused(error, "GET /repos/{owner}/{repo}/actions/runs/{run_id}")

    before = dict(metrics._deliveries.counts)
    dispatcher = Dispatcher(router, lambda d: (None, None), concurrency=2, dedupe_seconds=60)
    dispatcher.start()
    dispatcher.submit(delivery("push", "typed", ref=7, repository={"full_name": "o/r", "id": 1}))
    dispatcher.submit(Delivery("push", "unreadable", b'{"installation": {"id": 1}, "ref": 1e400}'))
    dispatcher.submit(delivery("workflow_run", "gone", action="completed"))
    await asyncio.wait_for(dispatcher.join(), 5)
    lines = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert lines == [
        "GitHub refused GET /repos/{owner}/{repo}/actions/runs/{run_id}: 404 Not Found",
        "ignored: push.ref is not a string",
        "ignored: the body is not valid JSON (number is infinity when parsed as double)",
    ]
    assert not [r for r in caplog.records if r.exc_info]
    counts = metrics._deliveries.counts
    assert counts[("push", "malformed")] - before.get(("push", "malformed"), 0) == 2
    assert counts[("workflow_run", "refused")] - before.get(("workflow_run", "refused"), 0) == 1
    assert dispatcher.submit(delivery("workflow_run", "gone", action="completed")) == "accepted"  # may be redelivered
    await dispatcher.drain(1)
