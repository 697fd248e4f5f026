"""Webhook intake over HTTP: every status code, official payloads, dedupe, isolation, ordering, shutdown."""

from __future__ import annotations

import asyncio
import json

import pytest
from gidgethub import routing
from helpers import FIXTURES, make_settings, official_payload, signed_headers

from bot.app.intake import MAX_BODY_BYTES
from bot.app.server import STATE, create_app

SUBSCRIBED_EVENTS = [
    "check_run",
    "installation",
    "installation_repositories",
    "issue_comment",
    "pull_request",
    "push",
    "workflow_dispatch",
    "workflow_job",
    "workflow_run",
]


def recording_router(seen: list, *, fail_first: bool = False, delay: float = 0.0) -> routing.Router:
    router = routing.Router()

    @router.register("workflow_run")
    async def first(event, gh, services):
        if delay:
            await asyncio.sleep(delay)
        if fail_first:
            raise RuntimeError("boom")
        seen.append(("first", event.delivery_id))

    @router.register("workflow_run")
    async def second(event, gh, services):
        seen.append(("second", event.delivery_id))

    return router


@pytest.fixture
async def make_client(aiohttp_client):
    async def make(router=None, **settings):
        app = create_app(make_settings(**settings), router or routing.Router())
        return await aiohttp_client(app)

    return make


def workflow_run_body(**changes) -> bytes:
    data = official_payload("workflow_run", "completed.payload.json")
    data.update(changes)
    return json.dumps(data).encode()


async def post(client, body: bytes, event: str = "workflow_run", **header_changes):
    headers = signed_headers(event, body)
    headers.update(header_changes)
    return await client.post("/webhooks", data=body, headers={k: v for k, v in headers.items() if v is not None})


async def test_accepted_delivery_gets_202_and_reaches_every_handler(make_client):
    seen: list = []
    client = await make_client(recording_router(seen))
    response = await post(client, workflow_run_body(), **{"X-GitHub-Delivery": "d-1"})
    assert response.status == 202
    await client.app[STATE].dispatcher.join()
    assert sorted(seen) == [("first", "d-1"), ("second", "d-1")]


@pytest.mark.parametrize("path", ["/webhooks", "/api/github/webhooks"])
async def test_both_webhook_paths_accept(make_client, path):
    client = await make_client()
    body = workflow_run_body()
    response = await client.post(path, data=body, headers=signed_headers("workflow_run", body))
    assert response.status == 202


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"X-Hub-Signature-256": None}, 401),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
        ({"X-Hub-Signature-256": "sha1=abc"}, 401),
        ({"X-GitHub-Event": None}, 400),
        ({"X-GitHub-Delivery": None}, 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
async def test_bad_headers_are_rejected(make_client, headers, status):
    client = await make_client()
    response = await post(client, workflow_run_body(), **headers)
    assert response.status == status
    body = await response.json()
    assert "error" in body and "Traceback" not in json.dumps(body)


async def test_signature_from_another_secret_is_401(make_client):
    client = await make_client()
    body = workflow_run_body()
    response = await client.post("/webhooks", data=body, headers=signed_headers("workflow_run", body, secret="other"))
    assert response.status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"",
        b"null",
        b'"text"',
        b'{"installation": {"id": 1}, "action": "\xff"}',
        b'{"installation": {"id": 1}, "a": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"installation": {"id": 1}, "action": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"installation": {"id": 1e400}}',
        b'{"installation": {"id": 123456789012345678901234567890}}',
        b'{"installation": {"id": -1}}',
    ],
)
async def test_malformed_body_is_400(make_client, body):
    client = await make_client()
    response = await post(client, body)
    assert response.status == 400


async def test_delivery_without_installation_is_400(make_client):
    client = await make_client()
    body = json.dumps(official_payload("workflow_run", "completed.payload.json", installation_id=None)).encode()
    response = await post(client, body)
    assert response.status == 400
    assert "installation" in (await response.json())["error"]


async def test_oversized_body_is_413_without_reading_it(make_client):
    client = await make_client()
    headers = signed_headers("workflow_run", b"{}")
    headers["Content-Length"] = str(MAX_BODY_BYTES + 1)

    async def endless():
        yield b"{" + b" " * 1024

    response = await client.post("/webhooks", data=endless(), headers=headers)
    assert response.status == 413


async def test_other_methods_are_405(make_client):
    client = await make_client()
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/webhooks")
        assert response.status == 405


async def test_ping_is_200(make_client):
    client = await make_client()
    body = json.dumps(official_payload("ping", "payload.json", installation_id=None)).encode()
    response = await post(client, body, event="ping")
    assert response.status == 200


@pytest.mark.parametrize("event", SUBSCRIBED_EVENTS)
async def test_every_official_example_of_subscribed_events_is_verified_and_accepted(make_client, event):
    client = await make_client()
    paths = sorted((FIXTURES / "github-webhooks" / event).glob("*.json"))
    assert paths
    for path in paths:
        body = json.dumps(official_payload(event, path.name)).encode()
        assert (await post(client, body, event=event)).status == 202, path.name
        tampered = body.replace(b'"', b"'", 1)
        assert (await client.post("/webhooks", data=tampered, headers=signed_headers(event, body))).status == 401


async def test_redelivery_with_same_guid_is_acknowledged_not_processed(make_client):
    seen: list = []
    client = await make_client(recording_router(seen))
    body = workflow_run_body()
    for _ in range(3):
        response = await post(client, body, **{"X-GitHub-Delivery": "same-guid"})
        assert response.status == 202
    await client.app[STATE].dispatcher.join()
    assert sorted(seen) == [("first", "same-guid"), ("second", "same-guid")]


async def test_failing_handler_does_not_stop_the_others_nor_the_worker(make_client, caplog):
    seen: list = []
    client = await make_client(recording_router(seen, fail_first=True))
    await post(client, workflow_run_body(), **{"X-GitHub-Delivery": "a"})
    await post(client, workflow_run_body(), **{"X-GitHub-Delivery": "b"})
    await client.app[STATE].dispatcher.join()
    assert sorted(seen) == [("second", "a"), ("second", "b")]
    failures = sorted(r.getMessage() for r in caplog.records if r.exc_info)
    assert len(failures) == 2
    assert "failed on delivery a (workflow_run.completed, octo-org/octo-repo)" in failures[0]
    metrics = await (await client.get("/metrics")).text()
    assert 'ci_orchestrator_handler_errors_total{event="workflow_run"' in metrics


async def test_failed_delivery_can_be_redelivered(make_client):
    seen: list = []
    client = await make_client(recording_router(seen, fail_first=True))
    body = workflow_run_body()
    await post(client, body, **{"X-GitHub-Delivery": "retry-me"})
    await client.app[STATE].dispatcher.join()
    await post(client, body, **{"X-GitHub-Delivery": "retry-me"})
    await client.app[STATE].dispatcher.join()
    assert seen == [("second", "retry-me"), ("second", "retry-me")]


async def test_same_pull_request_is_handled_in_order_others_in_parallel(make_client):
    events: list[tuple[str, str]] = []
    router = routing.Router()

    @router.register("pull_request")
    async def slow(event, gh, services):
        number = event.data["pull_request"]["number"]
        events.append(("start", f"{number}:{event.delivery_id}"))
        await asyncio.sleep(0.05 if event.delivery_id.endswith("1") else 0.0)
        events.append(("end", f"{number}:{event.delivery_id}"))

    client = await make_client(router)

    def pr_body(number: int) -> bytes:
        data = official_payload("pull_request", "opened.payload.json")
        data["pull_request"]["number"] = number
        return json.dumps(data).encode()

    for delivery in ("a1", "a2", "a3"):
        await post(client, pr_body(7), event="pull_request", **{"X-GitHub-Delivery": delivery})
    await post(client, pr_body(8), event="pull_request", **{"X-GitHub-Delivery": "b1"})
    await client.app[STATE].dispatcher.join()
    same_pr = [what for what in events if what[1].startswith("7:")]
    assert same_pr == [
        ("start", "7:a1"),
        ("end", "7:a1"),
        ("start", "7:a2"),
        ("end", "7:a2"),
        ("start", "7:a3"),
        ("end", "7:a3"),
    ]
    # PR 8 did not wait for PR 7's slow first delivery.
    assert events.index(("start", "8:b1")) < events.index(("end", "7:a1"))


async def test_unhandled_events_get_202(make_client):
    client = await make_client()
    body = json.dumps(official_payload("workflow_job", "queued.payload.json")).encode()
    assert (await post(client, body, event="workflow_job")).status == 202


async def test_health_readiness_and_metrics(make_client):
    client = await make_client()
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    await post(client, workflow_run_body())
    text = await (await client.get("/metrics")).text()
    assert 'ci_orchestrator_deliveries_total{event="workflow_run",outcome="accepted"}' in text
    assert "ci_orchestrator_queue_depth" in text


async def test_graceful_shutdown_finishes_in_flight_work_and_refuses_new(make_client):
    seen: list = []
    client = await make_client(recording_router(seen, delay=0.2))
    await post(client, workflow_run_body(), **{"X-GitHub-Delivery": "in-flight"})
    state = client.app[STATE]
    stopping = asyncio.create_task(state.stop(grace_seconds=5))
    await asyncio.sleep(0.01)
    assert (await post(client, workflow_run_body())).status == 503
    assert (await client.get("/readyz")).status == 503
    await stopping
    assert ("first", "in-flight") in seen and ("second", "in-flight") in seen


async def test_shutdown_grace_period_cancels_work_that_runs_too_long(make_client):
    seen: list = []
    client = await make_client(recording_router(seen, delay=30))
    await post(client, workflow_run_body())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(client.app[STATE].stop(grace_seconds=0.1), timeout=5)
    assert not [who for who, _ in seen if who == "first"]


async def test_oversized_chunked_body_is_413_once_past_the_limit(make_client):
    client = await make_client()
    headers = signed_headers("workflow_run", b"{}")
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(40):
            sent += 1
            yield b" " * (1024 * 1024)

    response = await client.post("/webhooks", data=chunks(), headers=headers)
    assert response.status == 413
    assert sent < 40  # the App stopped reading soon after 25 MiB


async def test_a_body_that_arrives_in_pieces_is_read_whole_and_verified(make_client):
    seen: list = []
    client = await make_client(recording_router(seen))
    body = workflow_run_body()

    async def slowly():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]
            await asyncio.sleep(0.01)  # so that the App has read only part of it when the handler starts

    response = await client.post("/webhooks", data=slowly(), headers=signed_headers("workflow_run", body))
    assert response.status == 202
    await client.app[STATE].dispatcher.join()
    assert len(seen) == 2
