"""Databases for the store's tests (a pytest plugin, loaded by conftest.py).

`database_url` runs a test once on SQLite (a file in the test's temporary directory) and once on PostgreSQL
(a fresh database per test). The PostgreSQL server is `TEST_POSTGRES_URL` when set (`.ci/postgres.sh run`
sets it), else one started here with `.ci/postgres.sh start --no-install` and stopped at the end. When no
server can be started the PostgreSQL cases are skipped, and the reason is printed at the end of the run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.store import Store

POSTGRES_SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"
_skipped_because: list[str] = []


def _start_server() -> tuple[str, str]:
    """Start a throwaway server; returns (URL, its directory) or raises RuntimeError with the reason."""
    try:
        started = subprocess.run(
            ["bash", str(POSTGRES_SCRIPT), "start", "--no-install"], capture_output=True, text=True, timeout=180
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"{POSTGRES_SCRIPT.name} could not run: {error}") from None
    if started.returncode != 0:
        last_lines = " | ".join(started.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{POSTGRES_SCRIPT.name} could not start a server: {last_lines}")
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in started.stdout.splitlines()
        if line.startswith("export ")
    )
    return exported["TEST_POSTGRES_URL"], exported["TEST_POSTGRES_DIR"]


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server the tests may create databases on."""
    unavailable = os.environ.get("TEST_POSTGRES_UNAVAILABLE")
    url = os.environ.get("TEST_POSTGRES_URL")
    started_in = None
    if not url and not unavailable:
        try:
            url, started_in = _start_server()
        except RuntimeError as error:
            unavailable = f"TEST_POSTGRES_URL is not set and {error}"
    if not url:
        reason = f"PostgreSQL store tests skipped: {unavailable}"
        if reason not in _skipped_because:
            _skipped_because.append(reason)
        pytest.skip(reason)
    yield url
    if started_in:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", started_in], capture_output=True, timeout=120)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    name = f"store_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store on each database."""
    opened = await Store.open(database_url)
    yield opened
    await opened.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in _skipped_because:
        terminalreporter.write_line(reason, yellow=True, bold=True)
