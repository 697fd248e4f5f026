"""The Python targets of bench_intake.py: the App's real intake with a no-op handler, and bare aiohttp handlers.

`bare` reads the body with `await request.read()` (the reference of the targets); `bare-buffered` takes
the already-buffered body with `read_nowait()` as the App does, a tighter floor shown for information.
Run as `python benchmarks/intake_servers.py {app,bare,bare-buffered} --port N [--profile FILE]`; the App reads
WEBHOOK_SECRET and PRIVATE_KEY (PEM text) from the environment. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from gidgethub import routing

from bot.app.server import WEBHOOK_PATHS, create_app
from bot.app.settings import Secret, Settings


def intake_app() -> web.Application:
    """The App as deployed, with one no-op `workflow_run.completed` handler like the Probot peer's:
    verify, parse, dedupe, queue, 202, then the handler runs in the background, and each delivery is recorded
    in the App's store (SQLite in a temporary directory, as `DATABASE_URL` unset gives)."""
    settings = Settings(
        app_id=1,
        private_key=Secret(os.environ["PRIVATE_KEY"]),
        webhook_secret=Secret(os.environ["WEBHOOK_SECRET"]),
        github_api_url="http://127.0.0.1:9",
        log_level="WARNING",
        data_dir=Path(tempfile.mkdtemp(prefix="bench-intake-store-")),
    )
    router = routing.Router()

    @router.register("workflow_run", action="completed")
    async def no_op(event, gh, services) -> None:
        return None

    return create_app(settings, router=router)


async def read_body_and_accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


async def take_buffered_body_and_accept(request: web.Request) -> web.Response:
    body = request.content.read_nowait()
    if not request.content.is_eof():
        body += await request.read()
    return web.Response(status=202)


def bare_app(handler=read_body_and_accept) -> web.Application:
    """The floor for any aiohttp intake on this machine: read the body, answer 202, nothing else."""
    app = web.Application()
    for path in WEBHOOK_PATHS:
        app.router.add_post(path, handler)
    return app


def record_gc_pauses() -> Callable[[], dict[str, object]]:
    """Time every garbage collection from now on; the returned function summarizes them by generation."""
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0.0]

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(on_collection)
    return lambda: {
        f"gen{generation}": {"count": len(times), "max_ms": max(times, default=0) * 1000, "total_ms": sum(times) * 1000}
        for generation, times in pauses.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["app", "bare", "bare-buffered"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--profile", metavar="FILE", help="write cProfile statistics to FILE when the server stops")
    args = parser.parse_args()
    if args.target == "app":
        app = intake_app()
    else:
        app = bare_app(take_buffered_body_and_accept if args.target == "bare-buffered" else read_body_and_accept)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    gc_pauses: list[Callable[[], dict[str, object]]] = []

    async def record_once_serving(_app: web.Application) -> None:  # not the collections of start-up
        gc_pauses.append(record_gc_pauses())

    app.on_startup.append(record_once_serving)
    try:
        web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
    finally:
        if gc_pauses:
            print("GC_PAUSES " + json.dumps(gc_pauses[0]()), flush=True)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
