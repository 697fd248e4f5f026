"""Which database, its engine, and the migrations applied at start-up (Alembic, run from inside the package).

`DATABASE_URL` unset: SQLite in a file under the data directory (WAL mode), for one process.
`postgresql+asyncpg://…` (or `postgres://…`, `postgresql://…`): PostgreSQL, for one or more processes.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_FILE_NAME = "ci-orchestrator.sqlite3"
#: A store for one command (the command line): what it reads from GitHub is read once, and gone afterwards.
IN_MEMORY = "sqlite+aiosqlite:///:memory:"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SCHEMES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


T = TypeVar("T")


def cancel_safe(cls: type[T]) -> type[T]:
    """Make every public coroutine method of `cls` run to its end even when its caller is cancelled (a stop cuts a
    handler short): a transaction cut short in the middle leaves SQLite's file locked (its thread still holds the
    write lock) until the busy timeout fails whoever comes next. The caller still sees `CancelledError` at once."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue
        setattr(cls, name, _shielded(method))
    return cls


def _shielded(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def run_to_the_end(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.ensure_future(method(*args, **kwargs))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    return run_to_the_end


def _retrieve(task: asyncio.Future[Any]) -> None:
    """The result of work whose caller is gone: its error is logged rather than lost."""
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).debug("store call whose caller was cancelled failed", exc_info=task.exception())


def dialect_insert(dialect: str, table: Any) -> Any:
    """`INSERT` for `table` in the dialect named `dialect`, with its `ON CONFLICT` clauses (PostgreSQL or SQLite)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def advisory_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, from a name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


_MIGRATION_LOCK = advisory_key("ci-orchestrator store migrations")


def database_url(configured: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL to use: `configured` (DATABASE_URL) with its driver made explicit, or SQLite under `data_dir`.

    A URL of another kind is a ValueError naming its scheme only (the URL may hold a password).
    """
    if not configured or not configured.strip():
        return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE_NAME).resolve()}"
    scheme, separator, rest = configured.strip().partition("://")
    driver = _SCHEMES.get(scheme.lower())
    if not separator or driver is None:
        raise ValueError(
            f"DATABASE_URL: unsupported scheme {scheme[:30]!r}; use postgresql+asyncpg://user:password@host/db "
            "or sqlite+aiosqlite:///path/to/file (or leave it unset for SQLite under the data directory)"
        )
    return f"{driver}://{rest}"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for `url` (see `database_url`). SQLite gets one connection: it has one writer anyway, and a
    single connection makes every transaction of the process run one at a time (no "database is locked")."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        else:  # in memory (the command line): one connection kept for the engine's life, which is the database
            engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that SQLAlchemy's BEGIN (below) is the one that counts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # Take the write lock at the start: a transaction that reads and then writes cannot fail half-way
    # because another process (a CLI next to the App) wrote in between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the store's migrations, built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`; on PostgreSQL one process at a time (several instances may start at once)."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        await connection.run_sync(upgrade)


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None for an empty one."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
