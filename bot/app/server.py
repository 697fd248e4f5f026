"""The aiohttp web server: webhook intake (verify, dedupe, 202), health, readiness, metrics, graceful shutdown.

Anyone can connect, so what a connection may take is bounded: a request head must arrive within the
idle timeout, a body within the body timeout, and bodies not yet verified share one memory budget.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import StreamReader, web
from gidgethub import routing

from bot.app import metrics
from bot.app.dispatcher import Dispatcher
from bot.app.intake import MAX_BODY_BYTES, Delivery, Rejected, UnverifiedBytes, body_signer, read_delivery
from bot.app.journal import Journal, now_utc, run_reconciliations
from bot.app.logs import CLIENT_FAULTS, ConnectionLog
from bot.app.periodic import (
    HEALTH_REPORTS_EVERY_SECONDS,
    RETENTION_EVERY_SECONDS,
    STALE_CHECK_RUN_SECONDS,
    TEST_SESSIONS_EVERY_SECONDS,
    WATCHDOG_EVERY_SECONDS,
    PeriodicTask,
    Schedule,
    apply_retention,
    check_test_sessions,
    refresh_health_reports,
)
from bot.app.services import Services
from bot.app.settings import Settings, retry_policy
from bot.github.client import GitHubApp, InstallationClient
from bot.github.endpoints import AppAPI
from bot.store import Store

log = logging.getLogger(__name__)

WEBHOOK_PATHS = ("/webhooks", "/api/github/webhooks")  # ours, and Probot's default
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
RECONCILE_EVERY_SECONDS = 900.0
JOURNAL_CLOSE_SECONDS = 10.0  # to record what is left, after the grace period
STAGE_STOP_SECONDS = 5.0  # for each part of the App's background work to stop once cancelled


class AppState:
    """What the running server holds: the HTTP session, services, dispatcher, and whether it is draining."""

    def __init__(
        self,
        settings: Settings,
        router: routing.Router,
        github_options: dict[str, Any],
        journal_clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.settings = settings
        self.router = router
        self.github_options = github_options
        self.journal_clock = journal_clock
        self.journal: Journal | None = None
        self.reconciliations: asyncio.Task[None] | None = None
        #: After a stop: whether every accepted delivery was finished (else the rest waits in the store).
        self.finished_all = True
        self.signer = body_signer(settings.webhook_secret.reveal().encode())
        self.unverified = UnverifiedBytes(settings.unverified_body_bytes)
        #: The deadlines of bodies being read: shutdown expires them, so no slow client holds it up.
        self.reading: set[asyncio.Timeout] = set()
        self.ready = False
        self.draining = False
        self.session: aiohttp.ClientSession | None = None
        self.services: Services | None = None
        self.dispatcher: Dispatcher | None = None
        self.store: Store | None = None
        self.schedule = Schedule()

    async def start(self) -> None:
        self.store = store = await Store.open(self.settings.store_url(), retry=retry_policy(self.settings))
        self.session = aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)
        github = GitHubApp(self.session, self.settings, **self.github_options)
        services = Services(settings=self.settings, github=github, store=store)
        self.services = services

        def handler_arguments(delivery: Delivery) -> tuple[InstallationClient | None, Services]:
            installation = delivery.installation_id
            return (github.for_installation(installation) if installation is not None else None), services

        lease = timedelta(seconds=self.settings.delivery_lease_seconds)
        self.journal = journal = Journal(store, clock=self.journal_clock, lease=lease)
        self.dispatcher = dispatcher = Dispatcher(
            self.router,
            handler_arguments,
            concurrency=self.settings.max_concurrent_deliveries,
            dedupe_seconds=self.settings.delivery_dedupe_seconds,
            journal=journal,
        )
        dispatcher.start()
        dispatcher.remember(
            await journal.start(dispatcher.submit_claimed, lambda: dispatcher.capacity, lambda: dispatcher.accepted)
        )
        self.reconciliations = asyncio.get_running_loop().create_task(
            run_reconciliations(
                journal,
                AppAPI(github.app_client),
                dispatcher.in_hand,
                horizon=timedelta(hours=self.settings.delivery_retry_hours),
                every=RECONCILE_EVERY_SECONDS,
            )
        )
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
        self.schedule.start(PeriodicTask("retention", RETENTION_EVERY_SECONDS, lambda: apply_retention(services)))
        await services.backfills.resume()
        metrics.measure_queue_depth(lambda: dispatcher.pending)
        self.ready = True

    async def stop(self, grace_seconds: float) -> None:
        """Refuse new deliveries and stop reading bodies, let in-flight work finish for up to `grace_seconds`,
        close the session."""
        if self.draining:
            return
        self.draining = True
        self.ready = False
        now = asyncio.get_running_loop().time()
        for deadline in self.reading:
            deadline.reschedule(now)
        await _stopped("the periodic work", self.schedule.stop())
        if self.reconciliations is not None:
            self.reconciliations.cancel()
            await _stopped("the reconciliation", asyncio.gather(self.reconciliations, return_exceptions=True))
        if self.services is not None:
            await _stopped("the backfills", self.services.backfills.stop())
        if self.dispatcher is not None and self.journal is not None:
            unfinished = await self.dispatcher.drain(grace_seconds)
            left = await self.journal.close(unfinished, timeout=JOURNAL_CLOSE_SECONDS)
            if left:
                log.warning(
                    "shutdown: %d deliveries left unfinished in the store, for the next start: %s", len(left), left
                )
            self.finished_all = not left
        if self.session is not None:
            await self.session.close()
        if self.store is not None:
            await self.store.close()


async def _stopped(what: str, stopping: Awaitable[object]) -> None:
    """Wait for `what` to stop for at most `STAGE_STOP_SECONDS`: whatever does not end in time is named in the log
    and left behind, so that the deliveries are still recorded and the process still ends."""
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait([task], timeout=STAGE_STOP_SECONDS)
    if not done:
        running = sorted(repr(t.get_coro()) for t in asyncio.all_tasks() if t is not asyncio.current_task())
        log.warning("shutdown: %s did not stop within %.0f s; going on (tasks: %s)", what, STAGE_STOP_SECONDS, running)


STATE = web.AppKey("state", AppState)

#: How long a client may keep sending a body the App has refused (so that it sees the answer, not a reset).
LINGER_SECONDS = 1.0
#: How long connections get to finish their answer once shutdown has drained the work.
CLOSE_SECONDS = 1.0

_SHUTTING_DOWN = Rejected(503, "shutting down, deliver again later")
_TOO_LARGE = Rejected(413, "body larger than 25 MiB")
_BUSY = Rejected(503, "too many request bodies being received, deliver again later")
_TOO_SLOW = Rejected(408, "the body did not arrive in time")
_GONE = Rejected(400, "the client closed the connection before the body was complete")
_ACCEPTED = b'{"status": "accepted"}'
_DUPLICATE = b'{"status": "duplicate, already accepted"}'
_PONG = b'{"msg": "pong"}'


def _json(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def _reject(rejected: Rejected, retry_after: float) -> web.Response:
    """The answer to a refused request, counted by status only: nothing it claims is trusted yet."""
    metrics.count_rejected(rejected.status)
    response = web.json_response({"error": rejected.reason}, status=rejected.status)
    if rejected.status == 503:
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    if rejected.status in (408, 413, 503):
        response.force_close()  # the body may still be coming: do not wait for it on this connection
    return response


async def receive_webhook(request: web.Request) -> web.Response:
    state = request.app[STATE]
    retry_after = state.settings.body_timeout_seconds
    if state.draining or state.dispatcher is None:
        return _reject(_SHUTTING_DOWN, retry_after)
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        return _reject(_TOO_LARGE, retry_after)
    # Take what has already arrived without waiting: usually the whole body, which arrived with the
    # headers (measured ~8 % more deliveries/s than iterating), and bounded by aiohttp's read buffer.
    # Each part is signed as it comes, while it is still in the CPU's cache.
    content, signer = request.content, state.signer.copy()
    first = content.read_nowait()
    signer.update(first)
    body: bytes | bytearray = first
    if not content.is_eof():
        rest = await _read_rest(state, content, declared, first, signer)
        if isinstance(rest, Rejected):
            return _reject(rest, retry_after)
        body = rest
    result = read_delivery(request.headers, body, signer.hexdigest())
    if isinstance(result, Rejected):
        return _reject(result, retry_after)
    return _accept(state.dispatcher, result, retry_after)


async def _read_rest(
    state: AppState, content: StreamReader, declared: int | None, first: bytes, signer: hmac.HMAC
) -> bytearray | Rejected:
    """Read the rest of a body that is still arriving, within the unverified-bytes budget and the body timeout.

    A body of known length reserves all of it before reading on (and is read into one buffer of that
    size); one sent in chunks reserves what has arrived, chunk by chunk.
    """
    budget = state.unverified
    reserved = declared if declared is not None else len(first)
    if not budget.reserve(reserved):
        return _BUSY
    deadline = asyncio.timeout(state.settings.body_timeout_seconds)
    state.reading.add(deadline)
    try:
        async with deadline:
            if declared is not None:
                body = bytearray(declared)
                size = len(first)
                body[:size] = first
                async for chunk in content.iter_any():
                    body[size : size + len(chunk)] = chunk  # same length: copied in place
                    size += len(chunk)
                    signer.update(chunk)
                return body
            body = bytearray(first)
            async for chunk in content.iter_any():
                if len(body) + len(chunk) > MAX_BODY_BYTES:
                    return _TOO_LARGE
                if not budget.reserve(len(chunk)):
                    return _BUSY
                reserved += len(chunk)
                body += chunk
                signer.update(chunk)
            return body
    except TimeoutError:
        return _SHUTTING_DOWN if state.draining else _TOO_SLOW
    except CLIENT_FAULTS:
        return _GONE
    finally:
        budget.release(reserved)
        state.reading.discard(deadline)


def _accept(dispatcher: Dispatcher, delivery: Delivery, retry_after: float) -> web.Response:
    if delivery.event == "ping":
        metrics.count_delivery("ping", "pong")
        return _json(_PONG, 200)
    outcome = dispatcher.submit(delivery)
    if outcome == "full":
        return _reject(Rejected(503, "too many deliveries waiting, deliver again later"), retry_after)
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


def create_app(
    settings: Settings,
    router: routing.Router | None = None,
    *,
    journal_clock: Callable[[], datetime] = now_utc,
    **github_options: Any,
) -> web.Application:
    """The web application. `github_options` (sleep, clock, rng) and `journal_clock` (when deliveries are tried
    again) let tests fake time."""
    if router is None:
        from handlers import router as all_handlers

        router = all_handlers
    connection_limits = {
        "keepalive_timeout": settings.idle_timeout_seconds,  # aiohttp counts it from the connection's start too
        "lingering_time": LINGER_SECONDS,
        "logger": ConnectionLog(),
    }
    app = web.Application(client_max_size=MAX_BODY_BYTES, handler_args=connection_limits)
    state = AppState(settings, router, github_options, journal_clock)
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


def make_runner(app: web.Application) -> web.AppRunner:
    """The runner `serve` uses: no access log, no signal handling of its own, and at most `CLOSE_SECONDS` for
    connections to finish once the work has drained."""
    return web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=CLOSE_SECONDS)


async def shut_down(runner: web.AppRunner, grace_seconds: float) -> bool:
    """Refuse new deliveries and stop reading bodies, let in-flight work finish for up to `grace_seconds`, then
    close every connection, slow and idle ones included: done within the grace period plus `CLOSE_SECONDS`.
    True when every accepted delivery was finished; False when some were left in the store for the next start."""
    await runner.app[STATE].stop(grace_seconds)
    await runner.cleanup()
    return runner.app[STATE].finished_all


async def serve(settings: Settings) -> bool:
    """Run until SIGTERM/SIGINT, then drain for the grace period and stop. True when every accepted delivery was
    finished; False when some were left in the store (the next instance to start handles them)."""
    runner = make_runner(create_app(settings))
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
    return await shut_down(runner, settings.shutdown_grace_seconds)
