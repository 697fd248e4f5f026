"""What unauthenticated clients can do to the intake: slow or idle connections, large bodies, malformed HTTP,
connections dropped mid-body, made-up event names. None of it may hold the App, grow its memory or its
metrics without bound, or write an ERROR or a traceback to its log."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import web
from gidgethub import routing
from helpers import make_settings, official_payload, signed_headers

from bot.app.server import CLOSE_SECONDS, STATE, create_app, make_runner, shut_down

KIB = 1024


def no_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records at ERROR or with a traceback (there must be none)."""
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= 40 or r.exc_info]


def request_head(body_length: int | None, event: str = "workflow_run", body: bytes = b"{}", **extra: str) -> bytes:
    headers = {"Host": "app", "Connection": "close", **signed_headers(event, body), **extra}
    if body_length is not None:
        headers["Content-Length"] = str(body_length)
    return ("POST /webhooks HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


class Raw:
    """A raw TCP client of the App, to do what a well-behaved HTTP client never does."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, timeout: float = 5.0) -> bytes:
        """Everything the App sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), timeout)

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def serve_app(aiohttp_server):
    async def start(router: routing.Router | None = None, **settings):
        server = await aiohttp_server(create_app(make_settings(**settings), router or routing.Router()))
        return server

    return start


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_its_connection_closed(serve_app, caplog):
    server = await serve_app(body_timeout_seconds=0.2)
    client = await Raw.connect(server.port)
    await client.send(request_head(1000) + b"{")
    answer = await client.answer()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert server.app[STATE].unverified.in_use == 0 and no_errors(caplog) == []


async def test_a_connection_that_sends_no_complete_request_head_is_closed(serve_app):
    server = await serve_app(idle_timeout_seconds=0.2)
    silent, slow = await Raw.connect(server.port), await Raw.connect(server.port)
    await slow.send(b"POST /webhooks HTTP/1.1\r\nHost: app\r\n")
    assert await silent.answer() == b"" and await slow.answer() == b""  # closed, with nothing to say


async def test_bodies_not_yet_verified_share_one_memory_budget(serve_app):
    server = await serve_app(unverified_body_bytes=100 * KIB, body_timeout_seconds=5)
    state = server.app[STATE]
    first = await Raw.connect(server.port)
    await first.send(request_head(80 * KIB) + b"{")
    while state.unverified.in_use == 0:  # the App has taken the first body's declared size
        await asyncio.sleep(0.01)
    assert state.unverified.in_use == 80 * KIB
    second = await Raw.connect(server.port)
    await second.send(request_head(80 * KIB) + b"{")
    refused = await second.answer()
    assert refused.startswith(b"HTTP/1.1 503 ") and b"\r\nRetry-After: 5\r\n" in refused
    await first.send(b" " * (80 * KIB - 2) + b"}")  # the rest arrives: verified (and refused: bad signature)
    assert (await first.answer()).startswith(b"HTTP/1.1 401 ")
    assert state.unverified.in_use == 0


async def test_a_chunked_body_is_counted_as_it_arrives(serve_app):
    server = await serve_app(unverified_body_bytes=100 * KIB, body_timeout_seconds=5)
    client = await Raw.connect(server.port)
    await client.send(request_head(None, **{"Transfer-Encoding": "chunked"}))
    chunk = b" " * (30 * KIB)
    for _ in range(4):
        await client.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    answer = await client.answer()
    assert answer.startswith(b"HTTP/1.1 503 ") and server.app[STATE].unverified.in_use == 0


async def test_a_client_that_leaves_mid_body_leaves_no_trace_but_a_count(serve_app, caplog):
    server = await serve_app()
    client = await Raw.connect(server.port)
    await client.send(request_head(50_000) + b'{"action": "completed"')
    await asyncio.sleep(0.05)
    client.close()
    state = server.app[STATE]
    while state.unverified.in_use:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert no_errors(caplog) == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to the HTTP port
        b"GET /healthz HTTP/1.1\r\nHost: app\r\n\r\nBREW\x01 / HTTP/1.1\r\n\r\n",  # a bad second request
        b"POST /webhooks HTTP/1.1\r\nHost: app\r\nContent-Length: ten\r\n\r\n",
        b"POST /webhooks HTTP/1.1\r\nHost: app\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
        b"POST /webhooks HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    ],
)
async def test_malformed_http_is_a_400_and_one_line_not_an_error(serve_app, caplog, request_bytes):
    caplog.set_level(logging.DEBUG)
    server = await serve_app()
    client = await Raw.connect(server.port)
    await client.send(request_bytes)
    assert b"HTTP/1.0 400 " in await client.answer()
    assert no_errors(caplog) == []


async def test_a_non_ascii_signature_is_401(serve_app):
    server = await serve_app()
    client = await Raw.connect(server.port)
    head = request_head(2).replace(b"X-Hub-Signature-256: sha256=", "X-Hub-Signature-256: sha256=é".encode())
    await client.send(head + b"{}")
    assert (await client.answer(timeout=5)).startswith(b"HTTP/1.1 401 ")


async def test_made_up_event_names_and_rejected_requests_add_no_metric_series(serve_app, aiohttp_client):
    server = await serve_app()
    client = await aiohttp_client(server)
    for number in range(30):
        headers = {**signed_headers("push", b"{}"), "X-GitHub-Event": f"made-up-{number}"}
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
        assert (await client.post("/webhooks", data=b"{}", headers=headers)).status == 401
    body = json.dumps(official_payload("push", "payload.json")).encode()
    headers = {**signed_headers("push", body), "X-GitHub-Event": "made-up-but-signed"}
    assert (await client.post("/webhooks", data=body, headers=headers)).status == 202
    text = await (await client.get("/metrics")).text()
    assert "made-up" not in text
    assert 'ci_orchestrator_rejected_requests_total{status="401"}' in text
    assert 'ci_orchestrator_deliveries_total{event="other",outcome="accepted"}' in text


async def test_shutdown_closes_slow_and_idle_clients_within_the_grace_period(caplog):
    runner = make_runner(create_app(make_settings(body_timeout_seconds=60, idle_timeout_seconds=60)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    slow_body, slow_head, idle = [await Raw.connect(port) for _ in range(3)]
    await slow_body.send(request_head(10_000) + b"{")
    await slow_head.send(b"POST /webhooks HTTP/1.1\r\n")
    while not runner.app[STATE].reading:
        await asyncio.sleep(0.01)
    grace = 0.5
    # Without the bounds, aiohttp waits 60 s for the slow body; the whole shutdown must take the grace and at most
    # CLOSE_SECONDS more (with a wide margin for this machine).
    await asyncio.wait_for(shut_down(runner, grace), timeout=grace + CLOSE_SECONDS + 5)
    assert (await slow_body.answer()).startswith(b"HTTP/1.1 503 ")
    assert await slow_head.answer() == b"" and await idle.answer() == b""
    assert no_errors(caplog) == []
