"""The aiohttp web server: webhook intake (verify, dedupe, 202), health, readiness, metrics, graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from gidgethub import routing

from bot.app import metrics
from bot.app.dispatcher import Dispatcher
from bot.app.intake import MAX_BODY_BYTES, Delivery, Rejected, body_signer, read_delivery
from bot.app.periodic import (
    HEALTH_REPORTS_EVERY_SECONDS,
    STALE_CHECK_RUN_SECONDS,
    TEST_SESSIONS_EVERY_SECONDS,
    WATCHDOG_EVERY_SECONDS,
    PeriodicTask,
    Schedule,
    check_test_sessions,
    refresh_health_reports,
)
from bot.app.services import Services
from bot.app.settings import Settings
from bot.github.client import GitHubApp, InstallationClient

log = logging.getLogger(__name__)

WEBHOOK_PATHS = ("/webhooks", "/api/github/webhooks")  # ours, and Probot's default
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


class AppState:
    """What the running server holds: the HTTP session, services, dispatcher, and whether it is draining."""

    def __init__(self, settings: Settings, router: routing.Router, github_options: dict[str, Any]) -> None:
        self.settings = settings
        self.router = router
        self.github_options = github_options
        self.signer = body_signer(settings.webhook_secret.reveal().encode())
        self.ready = False
        self.draining = False
        self.session: aiohttp.ClientSession | None = None
        self.services: Services | None = None
        self.dispatcher: Dispatcher | None = None
        self.schedule = Schedule()

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)
        github = GitHubApp(self.session, self.settings, **self.github_options)
        services = Services(settings=self.settings, github=github)
        self.services = services

        def handler_arguments(delivery: Delivery) -> tuple[InstallationClient | None, Services]:
            installation = delivery.installation_id
            return (github.for_installation(installation) if installation is not None else None), services

        self.dispatcher = dispatcher = Dispatcher(
            self.router,
            handler_arguments,
            concurrency=self.settings.max_concurrent_deliveries,
            dedupe_seconds=self.settings.delivery_dedupe_seconds,
        )
        dispatcher.start()
        self.schedule.start(
            PeriodicTask(
                "check-run watchdog",
                WATCHDOG_EVERY_SECONDS,
                lambda: services.caches.publisher.complete_stale(STALE_CHECK_RUN_SECONDS),
            )
        )
        self.schedule.start(
            PeriodicTask(
                "test sessions", TEST_SESSIONS_EVERY_SECONDS, lambda: check_test_sessions(services, datetime.now(UTC))
            )
        )
        self.schedule.start(
            PeriodicTask(
                "health reports",
                HEALTH_REPORTS_EVERY_SECONDS,
                lambda: refresh_health_reports(services, datetime.now(UTC)),
            )
        )
        metrics.measure_queue_depth(lambda: dispatcher.pending)
        # What exists now lives as long as the App: keep it out of the collector's way, and collect
        # less often, so full collections do not stall acks (measured: p99 25 ms → 5 ms under load).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        self.ready = True

    async def stop(self, grace_seconds: float) -> None:
        """Refuse new deliveries, let in-flight work finish for up to `grace_seconds`, close the session."""
        if self.draining:
            return
        self.draining = True
        self.ready = False
        await self.schedule.stop()
        if self.dispatcher is not None:
            await self.dispatcher.drain(grace_seconds)
        if self.session is not None:
            await self.session.close()


STATE = web.AppKey("state", AppState)


_TOO_LARGE = Rejected(413, "body larger than 25 MiB")
_ACCEPTED = b'{"status": "accepted"}'
_DUPLICATE = b'{"status": "duplicate, already accepted"}'
_PONG = b'{"msg": "pong"}'


def _json(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def _reject(delivery_event: str, rejected: Rejected) -> web.Response:
    metrics.count_delivery(delivery_event or "unknown", f"rejected_{rejected.status}")
    return web.json_response({"error": rejected.reason}, status=rejected.status)


async def receive_webhook(request: web.Request) -> web.Response:
    state = request.app[STATE]
    event_name = request.headers.get("X-GitHub-Event", "")
    if state.draining or state.dispatcher is None:
        return _reject(event_name, Rejected(503, "shutting down, deliver again later"))
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _reject(event_name, _TOO_LARGE)
    # Take what has already arrived without waiting (usually the whole body, which arrived with the
    # headers: measured ~8 % more deliveries/s than iterating), then the rest chunk by chunk. Each part
    # is signed as it comes, while it is still in the CPU's cache.
    content, signer = request.content, state.signer.copy()
    body = content.read_nowait()
    signer.update(body)
    if not content.is_eof():
        chunks, size = [body], len(body)
        async for chunk in content.iter_any():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return _reject(event_name, _TOO_LARGE)
            signer.update(chunk)
            chunks.append(chunk)
        body = b"".join(chunks)
    elif len(body) > MAX_BODY_BYTES:  # sent chunked, and all buffered already
        return _reject(event_name, _TOO_LARGE)
    result = read_delivery(request.headers, body, signer.hexdigest())
    if isinstance(result, Rejected):
        return _reject(event_name, result)
    return _accept(state.dispatcher, result)


def _accept(dispatcher: Dispatcher, delivery: Delivery) -> web.Response:
    if delivery.event == "ping":
        metrics.count_delivery("ping", "pong")
        return _json(_PONG, 200)
    outcome = dispatcher.submit(delivery)
    if outcome == "full":
        return _reject(delivery.event, Rejected(503, "too many deliveries waiting, deliver again later"))
    metrics.count_delivery(delivery.event, outcome)
    return _json(_ACCEPTED, 202) if outcome == "accepted" else _json(_DUPLICATE, 202)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app[STATE].ready
    return web.json_response({"ready": ready}, status=200 if ready else 503)


async def metrics_page(_request: web.Request) -> web.Response:
    body, content_type = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def create_app(settings: Settings, router: routing.Router | None = None, **github_options: Any) -> web.Application:
    """The web application. `github_options` (sleep, clock, rng) let tests fake time."""
    if router is None:
        from handlers import router as all_handlers

        router = all_handlers
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    state = AppState(settings, router, github_options)
    app[STATE] = state
    for path in WEBHOOK_PATHS:
        app.router.add_post(path, receive_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)

    async def on_startup(_app: web.Application) -> None:
        await state.start()

    async def on_shutdown(_app: web.Application) -> None:
        await state.stop(settings.shutdown_grace_seconds)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then drain for the grace period and exit."""
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("listening on %s:%d, GitHub API at %s", settings.host, settings.port, settings.github_api_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: finishing in-flight deliveries for up to %.0f s", settings.shutdown_grace_seconds)
    await app[STATE].stop(settings.shutdown_grace_seconds)
    await runner.cleanup()
