"""Benchmark: `workflow_job` events into the history store (SQLite and PostgreSQL), database size, delivery journal.

Events: GitHub's `workflow_job` `completed` example (8 steps, `tests/fixtures/github-webhooks/`) varied into
`--jobs` jobs of 10 per run; each job gives its three deliveries (`queued`, `in_progress`, `completed`), as an
organization sends them. Each event is a raw JSON body, read with `orjson.loads` + `workflow_job_event` and
written with `Store.ingest`, so the rates include reading the payload.

- Reference, same run: reading alone (`orjson.loads` + `workflow_job_event`), events/s.
- "one event per transaction, 16 writers": what the App's handlers do (16 deliveries handled at once).
- "batches of 100 events": one transaction per 100 events.
- Size per 100k jobs: the history tables after the batched run (SQLite: the file after a WAL checkpoint;
  PostgreSQL: `pg_total_relation_size` of the tables, indexes and TOAST included), scaled to 100,000 jobs.
- Delivery journal: `DeliveryJournal.record` of the intake benchmark's 19 KB `workflow_run` delivery, group
  commit, deliveries/s until all are written.

PostgreSQL: `--postgres-url` or TEST_POSTGRES_URL, else a server started with `.ci/postgres.sh start --durable`
(fsync on, as in production) and stopped at the end. SQLite runs as the App runs it: WAL, synchronous=NORMAL.

Run `python benchmarks/bench_store.py` from the repository root (about 4 minutes with the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store import DeliveryJournal, JournalEntry, Store, workflow_job_event  # noqa: E402
from bot.store.schema import metadata  # noqa: E402

WEBHOOKS = ROOT / "tests" / "fixtures" / "github-webhooks"
POSTGRES_SCRIPT = ROOT / ".ci" / "postgres.sh"
START = datetime(2026, 11, 1, tzinfo=UTC)
JOBS_PER_RUN = 10
WRITERS = 16
BATCH = 100
HISTORY_TABLES = ("installations", "repositories", "workflows", "runs", "run_pull_requests", "jobs", "steps")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def job_bodies(jobs: int) -> list[bytes]:
    """Three deliveries per job (queued, in_progress, completed), job by job, as raw JSON bodies."""
    template = json.loads((WEBHOOKS / "workflow_job" / "completed.success.with-organization.payload.json").read_text())
    template["installation"] = {"id": 1}
    bodies = []
    for number in range(jobs):
        created = START + timedelta(minutes=number)
        started, completed = created + timedelta(seconds=15), created + timedelta(seconds=15 + 60 + number % 120)
        for status in ("queued", "in_progress", "completed"):
            payload = copy.deepcopy(template)
            payload["action"] = status
            job = payload["workflow_job"]
            job.update(
                id=10_000_000 + number,
                run_id=5_000_000 + number // JOBS_PER_RUN,
                name=f"test ({number % JOBS_PER_RUN})",
                status=status,
                conclusion="success" if status == "completed" else None,
                created_at=_stamp(created),
                started_at=None if status == "queued" else _stamp(started),
                completed_at=_stamp(completed) if status == "completed" else None,
            )
            if status == "queued":
                job["steps"] = []
            for step in job["steps"]:
                step["started_at"] = _stamp(started + timedelta(seconds=step["number"]))
                if status == "in_progress" and step["number"] > 2:
                    step.update(status="queued", conclusion=None, started_at=None, completed_at=None)
                else:
                    step["completed_at"] = _stamp(started + timedelta(seconds=step["number"] + 1))
            bodies.append(orjson.dumps(payload))
    return bodies


def read_rate(bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for body in bodies:
        workflow_job_event(orjson.loads(body))
    return len(bodies) / (time.perf_counter() - started)


async def ingest_one_by_one(store: Store, bodies: list[bytes]) -> float:
    queue = iter(bodies)

    async def writer() -> None:
        for body in queue:
            await store.ingest([workflow_job_event(orjson.loads(body))])

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return len(bodies) / (time.perf_counter() - started)


async def ingest_in_batches(store: Store, bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for start in range(0, len(bodies), BATCH):
        await store.ingest(workflow_job_event(orjson.loads(body)) for body in bodies[start : start + BATCH])
    return len(bodies) / (time.perf_counter() - started)


async def journal_rate(store: Store, deliveries: int) -> float:
    body = (WEBHOOKS / "workflow_run" / "completed.payload.json").read_bytes()
    journal = DeliveryJournal(store.deliveries, max_backlog=deliveries)
    journal.start()
    started = time.perf_counter()
    written = [
        journal.record(
            JournalEntry(str(uuid.uuid4()), "workflow_run", "completed", 1, "octo-org/octo-repo", None, START, body)
        )
        for _ in range(deliveries)
    ]
    assert all(await asyncio.gather(*written))
    rate = deliveries / (time.perf_counter() - started)
    await journal.close(timeout=30)
    return rate


async def history_bytes(store: Store, sqlite_file: Path | None) -> int:
    if sqlite_file is not None:  # the store's connection is idle: fold the WAL into the file from another one
        with contextlib.closing(sqlite3.connect(sqlite_file)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sqlite_file.stat().st_size
    async with store.engine.connect() as connection:
        sizes = [
            (await connection.execute(text(f"SELECT pg_total_relation_size('{table}')"))).scalar_one()
            for table in HISTORY_TABLES
        ]
        return sum(sizes)


@asynccontextmanager
async def postgres_server(url: str | None) -> AsyncIterator[str | None]:
    """The server's URL: the given one, or one started for the benchmark (None when none can be started)."""
    if url:
        yield url
        return
    started = subprocess.run(["bash", str(POSTGRES_SCRIPT), "start", "--durable"], capture_output=True, text=True)
    if started.returncode != 0:
        print(f"PostgreSQL skipped: .ci/postgres.sh could not start a server:\n{started.stderr}")
        yield None
        return
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in started.stdout.splitlines()
        if line.startswith("export ")
    )
    try:
        yield exported["TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", exported["TEST_POSTGRES_DIR"]], capture_output=True)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(kind: str, server: str | None, directory: Path) -> AsyncIterator[tuple[str, Path | None]]:
    """A new empty database: (its URL, the SQLite file or None)."""
    name = f"bench_store_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        path = directory / f"{name}.sqlite3"
        yield f"sqlite+aiosqlite:///{path}", path
        return
    assert server is not None
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False), None
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def measure(kind: str, server: str | None, bodies: list[bytes], jobs: int, deliveries: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        steps: list[tuple[str, Callable[[Store], Any]]] = [
            ("one event per transaction, 16 writers", lambda store: ingest_one_by_one(store, bodies)),
            ("batches of 100 events", lambda store: ingest_in_batches(store, bodies)),
        ]
        for label, run in steps:
            async with fresh_database(kind, server, Path(directory)) as (url, sqlite_file):
                store = await Store.open(url, pool_size=WRITERS)
                try:
                    empty = await history_bytes(store, sqlite_file)
                    figures[label] = await run(store)
                    counts = await store.counts()
                    assert counts["jobs"] == jobs and counts["steps"] == jobs * 8, counts
                    figures["bytes per 100k jobs"] = (await history_bytes(store, sqlite_file) - empty) * 100_000 / jobs
                finally:
                    await store.close()
        async with fresh_database(kind, server, Path(directory)) as (url, _):
            store = await Store.open(url)
            try:
                figures["journal"] = await journal_rate(store, deliveries)
            finally:
                await store.close()
    return figures


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5_000, help="jobs to ingest (3 events each); default 5000")
    parser.add_argument("--deliveries", type=int, default=10_000, help="deliveries for the journal; default 10000")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    options = parser.parse_args()
    kinds = [kind.strip() for kind in options.databases.split(",") if kind.strip()]
    assert {table.name for table in metadata.sorted_tables} >= set(HISTORY_TABLES)

    bodies = job_bodies(options.jobs)
    reading = read_rate(bodies)
    print(f"{len(bodies)} workflow_job events ({options.jobs} jobs, {len(bodies[-1])} bytes per completed event)")
    print(f"reference: reading alone (orjson.loads + workflow_job_event): {reading:,.0f} events/s\n")

    results: dict[str, dict[str, Any]] = {}
    server_context = postgres_server(options.postgres_url) if "postgresql" in kinds else nullcontext(None)
    async with server_context as server:
        for kind in kinds:
            if kind == "postgresql" and server is None:
                continue
            print(f"measuring {kind} ...", flush=True)
            results[kind] = await measure(kind, server, bodies, options.jobs, options.deliveries)

    print()
    print(f"| {'database':<10} | {'measurement':<40} | {'figure':>16} | {'× reading alone':>15} |")
    print(f"|{'-' * 12}|{'-' * 42}|{'-' * 17}:|{'-' * 16}:|")
    for kind, figures in results.items():
        for label in ("one event per transaction, 16 writers", "batches of 100 events"):
            rate = figures[label]
            print(f"| {kind:<10} | {'ingest: ' + label:<40} | {rate:>10,.0f} ev/s | {rate / reading:>15.2f} |")
        size = figures["bytes per 100k jobs"] / 2**20
        print(f"| {kind:<10} | {'size of the history per 100k jobs':<40} | {size:>13,.0f} MiB | {'':>15} |")
        journal = figures["journal"]
        print(f"| {kind:<10} | {'journal: 19 KB deliveries recorded':<40} | {journal:>11,.0f} del/s | {'':>15} |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
