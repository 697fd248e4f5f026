"""Single flight: one holder of a key at a time, in this process and, on PostgreSQL, across processes.

Within the process an asyncio lock per key. On PostgreSQL the holder also takes a session advisory lock on
one connection kept for the purpose (`pg_try_advisory_lock`, retried with a growing pause), so waiting never
ties up pooled connections, and a process that dies releases its locks with its connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.database import advisory_key

FIRST_PAUSE_SECONDS = 0.02
LONGEST_PAUSE_SECONDS = 0.5


class _KeyLock:
    __slots__ = ("holders", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holders = 0  # holding or waiting


class SingleFlight:
    """`async with single_flight.hold(key):` runs one holder of `key` at a time."""

    def __init__(self, engine: AsyncEngine, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._engine = engine
        self._across_processes = engine.dialect.name == "postgresql"
        self._keys: dict[str, _KeyLock] = {}
        self._connection: AsyncConnection | None = None
        self._connection_lock = asyncio.Lock()  # one statement at a time on the lock connection
        self._sleep = sleep
        self._background: set[asyncio.Future[bool]] = set()  # lock statements that outlive a cancelled caller

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = _KeyLock()
        entry.holders += 1
        try:
            async with entry.lock:
                if not self._across_processes:
                    yield
                    return
                number = advisory_key(f"single flight: {key}")
                await self._acquire(number)
                try:
                    yield
                finally:
                    await self._release(number)
        finally:
            entry.holders -= 1
            if not entry.holders:
                del self._keys[key]

    async def _acquire(self, number: int) -> None:
        pause = FIRST_PAUSE_SECONDS
        while True:
            # Shielded: a caller cancelled mid-statement leaves the connection usable; a lock taken for a caller
            # that is gone is given back.
            attempt = asyncio.ensure_future(self._execute("SELECT pg_try_advisory_lock(:key)", number))
            try:
                if await asyncio.shield(attempt):
                    return
            except asyncio.CancelledError:
                attempt.add_done_callback(lambda done: self._give_back_if_taken(done, number))
                raise
            await self._sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)

    def _give_back_if_taken(self, attempt: asyncio.Future[bool], number: int) -> None:
        if not attempt.cancelled() and attempt.exception() is None and attempt.result():
            self._release_in_background(number)

    def _release_in_background(self, number: int) -> asyncio.Future[bool]:
        task = asyncio.ensure_future(self._execute("SELECT pg_advisory_unlock(:key)", number))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _release(self, number: int) -> None:
        await asyncio.shield(self._release_in_background(number))

    async def _execute(self, statement: str, number: int) -> bool:
        async with self._connection_lock:
            if self._connection is None or self._connection.closed:
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                return bool((await self._connection.execute(text(statement), {"key": number})).scalar())
            except Exception:
                # A broken connection has lost its locks with it: start afresh next time.
                connection, self._connection = self._connection, None
                await connection.close()
                raise

    async def close(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)
        async with self._connection_lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
