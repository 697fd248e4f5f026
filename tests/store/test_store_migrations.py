"""The store's schema comes from its migrations, on SQLite and PostgreSQL: from an empty database, from the previous
revision with data in it, again at every start-up, and from several instances starting at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from store_events import REPOSITORY_ID, START, WORKFLOW_ID, parse, small_history

from bot.store import JournalEntry, Posted, Store, database_url, schema
from bot.store.database import create_engine, migrate, schema_revision
from bot.store.records import whole_seconds
from bot.store.schema import metadata
from bot.store.store import _Batch


async def differences_from_schema(engine: AsyncEngine) -> list:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )


async def test_an_empty_database_is_migrated_to_the_schema(database_url: str):
    engine = create_engine(database_url)
    try:
        assert await schema_revision(engine) is None
        await migrate(engine)
        assert await schema_revision(engine) == "0006"
        assert await differences_from_schema(engine) == []
        await migrate(engine)  # every start-up migrates: nothing left to do
        assert await schema_revision(engine) == "0006"
    finally:
        await engine.dispose()


async def write_at_revision_3(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The small history as revision 0003 stored it: jobs without queue and run seconds, no daily totals."""

    async def no_totals(*_arguments: object) -> None:
        return None

    monkeypatch.setattr("bot.store.store.count_completed_jobs", no_totals)
    batch = _Batch()
    for payload in small_history():
        batch.add_event(parse(payload))
    for row in batch.jobs.values():
        del row["queue_seconds"], row["duration_seconds"]
    async with engine.begin() as connection:
        await batch.write(connection, None)


async def job_totals(store: Store) -> list[tuple]:
    async with store.engine.connect() as connection:
        rows = (await connection.execute(select(schema.job_totals))).all()
    return sorted(tuple(row) for row in rows)


async def test_a_database_at_the_previous_revision_keeps_its_history(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    engine = create_engine(database_url)
    await migrate(engine, "0003")
    await write_at_revision_3(engine, monkeypatch)
    await engine.dispose()
    monkeypatch.undo()

    store = await Store.open(database_url)
    try:
        baseline = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"])
        assert [(stored.run.id, stored.run.run_attempt) for stored in baseline] == [(100, 2), (101, 1)]
        assert await differences_from_schema(store.engine) == []
        await store.deliveries.record(
            [JournalEntry("d-1", "ping", None, None, None, None, START, b"{}")]
        )  # the new revision's table works
        assert [s.delivery_id for s in await store.deliveries.unfinished()] == ["d-1"]
        async with store.engine.connect() as connection:  # revision 0004 filled in the jobs' seconds
            jobs = (await connection.execute(select(schema.jobs))).all()
        assert jobs and all(job.completed_at is not None for job in jobs)
        for job in jobs:
            assert job.queue_seconds == whole_seconds(job.created_at, job.started_at)
            assert job.duration_seconds == whole_seconds(job.started_at, job.completed_at) is not None
        # ... and counted the stored jobs in the daily totals exactly as ingest counts new ones.
        fresh = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}")
        try:
            await fresh.ingest(parse(payload) for payload in small_history())
            assert await job_totals(store) == await job_totals(fresh) != []
        finally:
            await fresh.close()
    finally:
        await store.close()


async def test_posted_ids_of_revision_4_are_kept_without_what_they_show(database_url: str):
    engine = create_engine(database_url)
    await migrate(engine, "0004")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO posted (repository_id, kind, place, name, github_id, updated_at) "
                "VALUES (1, 'comment', '5', 'marker', 11, :now)"
            ),
            {"now": START.replace(tzinfo=None) if engine.dialect.name == "sqlite" else START},
        )
    await engine.dispose()

    store = await Store.open(database_url)
    try:
        assert await store.posted_comments(1, 5) == {"marker": Posted(11)}  # body unknown: read from GitHub
    finally:
        await store.close()


async def test_instances_starting_together_migrate_once(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL")
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(3)))
    try:
        assert {await schema_revision(store.engine) for store in stores} == {"0006"}
    finally:
        for store in stores:
            await store.close()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path):
    store = await Store.open(database_url(None, tmp_path / "data"))
    try:
        async with store.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await store.close()
    assert (tmp_path / "data" / "ci-orchestrator.sqlite3").is_file()


def test_database_url_from_the_environment(tmp_path: Path):
    assert database_url(None, tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/ci-orchestrator.sqlite3"
    assert database_url("  ", tmp_path).startswith("sqlite+aiosqlite:///")
    assert database_url("postgres://u:p@db/ci", tmp_path) == "postgresql+asyncpg://u:p@db/ci"
    assert database_url("postgresql://u:p@db/ci", tmp_path) == "postgresql+asyncpg://u:p@db/ci"
    assert database_url("postgresql+asyncpg://db/ci", tmp_path) == "postgresql+asyncpg://db/ci"
    assert database_url("sqlite:////var/lib/ci.db", tmp_path) == "sqlite+aiosqlite:////var/lib/ci.db"
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'") as raised:
        database_url("mysql://user:secret@db/ci", tmp_path)
    assert "secret" not in str(raised.value)
    with pytest.raises(ValueError, match="unsupported scheme"):
        database_url("just-a-path.db", tmp_path)
