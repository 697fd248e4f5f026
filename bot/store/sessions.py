"""On-demand test sessions in the store, so that any instance can go on with what another started.

A session and its legs are read and written whole (`save`); what webhooks say about a dispatched run is kept
per run (`observe_run`), whether or not a leg knows its run yet, and merged in any order; a comment command is
claimed once (`claim_command`); dispatches are counted against a budget per installation (`take_budget`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ondemand.session import Expectation, Leg, RunObservation, SuiteSession
from bot.store import schema
from bot.store.database import dialect_insert
from bot.store.locks import SingleFlight

_SESSION_FIELDS = [f.name for f in fields(SuiteSession) if f.name != "expect"]
_LEG_FIELDS = [f.name for f in fields(Leg) if f.name not in ("number", "inputs")]
_OBSERVATION_TIMES = ("started_at", "completed_at")


def _session_row(session: SuiteSession) -> dict[str, Any]:
    row = {name: getattr(session, name) for name in _SESSION_FIELDS}
    row["expect"] = asdict(session.expect)
    return row


def _session(row: Any) -> SuiteSession:
    values = {name: getattr(row, name) for name in _SESSION_FIELDS}
    return SuiteSession(expect=Expectation(**row.expect), **values)


def _leg_row(session_id: str, leg: Leg) -> dict[str, Any]:
    row = {name: getattr(leg, name) for name in _LEG_FIELDS}
    row.update(session_id=session_id, number=leg.number, inputs=[list(pair) for pair in leg.inputs])
    return row


def _leg(row: Any) -> Leg:
    values = {name: getattr(row, name) for name in _LEG_FIELDS}
    return Leg(number=row.number, inputs=tuple((str(n), str(v)) for n, v in row.inputs), **values)


def _observation_json(observation: RunObservation) -> dict[str, Any]:
    data = asdict(observation)
    for name in _OBSERVATION_TIMES:
        data[name] = data[name].isoformat() if data[name] is not None else None
    return data


def _observation(data: dict[str, Any]) -> RunObservation:
    values = dict(data)
    for name in _OBSERVATION_TIMES:
        values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
    return RunObservation(**values)


class SessionStore:
    """Test sessions, their legs and runs, claimed commands and dispatch budgets."""

    def __init__(self, engine: AsyncEngine, single_flight: SingleFlight) -> None:
        self.engine = engine
        self._single_flight = single_flight

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Work on `key` (a session, a repository's push sessions) one holder at a time, in every process."""
        return self._single_flight.hold(f"test sessions: {key}")

    async def claim_command(self, repository_id: int, comment_id: int, *, now: datetime) -> bool:
        """True for the first claim of a comment's command; False when it was claimed before (a redelivery, an
        edit, another instance)."""
        table = schema.test_commands
        async with self.engine.begin() as connection:
            statement = dialect_insert(connection.dialect.name, table).on_conflict_do_nothing(
                index_elements=["repository_id", "comment_id"]
            )
            result = await connection.execute(
                statement, {"repository_id": repository_id, "comment_id": comment_id, "received_at": now}
            )
        return bool(result.rowcount)

    async def create(self, session: SuiteSession, legs: Sequence[Leg]) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(schema.test_sessions.insert(), [_session_row(session)])
            if legs:
                await connection.execute(schema.test_legs.insert(), [_leg_row(session.id, leg) for leg in legs])

    async def save(self, session: SuiteSession, legs: Sequence[Leg] = ()) -> None:
        """Write the session and the given legs back (legs not given stay as they are)."""
        sessions, leg_table = schema.test_sessions, schema.test_legs
        async with self.engine.begin() as connection:
            row = _session_row(session)
            await connection.execute(update(sessions).where(sessions.c.id == session.id).values(row))
            for leg in legs:
                await connection.execute(
                    update(leg_table)
                    .where(leg_table.c.session_id == session.id, leg_table.c.number == leg.number)
                    .values(_leg_row(session.id, leg))
                )

    async def get(self, session_id: str) -> tuple[SuiteSession, list[Leg]] | None:
        sessions, legs = schema.test_sessions, schema.test_legs
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(sessions).where(sessions.c.id == session_id))).first()
            if row is None:
                return None
            leg_rows = (
                await connection.execute(select(legs).where(legs.c.session_id == session_id).order_by(legs.c.number))
            ).all()
        return _session(row), [_leg(leg) for leg in leg_rows]

    async def of_pull_request(self, repository_id: int, number: int) -> list[SuiteSession]:
        """The sessions started on a pull request, newest first."""
        sessions = schema.test_sessions
        query = (
            select(sessions)
            .where(sessions.c.repository_id == repository_id, sessions.c.pull_request == number)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        async with self.engine.connect() as connection:
            return [_session(row) for row in (await connection.execute(query)).all()]

    async def started_for(self, repository_id: int, head_sha: str, trigger: str) -> set[str]:
        """The suites that already have a session of this trigger on this commit (a redelivered push starts none)."""
        sessions = schema.test_sessions
        query = select(sessions.c.suite).where(
            sessions.c.repository_id == repository_id, sessions.c.head_sha == head_sha, sessions.c.trigger == trigger
        )
        async with self.engine.connect() as connection:
            return {row.suite for row in (await connection.execute(query)).all()}

    async def by_check_run(self, check_run_id: int) -> str | None:
        sessions = schema.test_sessions
        async with self.engine.connect() as connection:
            return (
                await connection.execute(select(sessions.c.id).where(sessions.c.check_run_id == check_run_id))
            ).scalar()

    async def push_sessions(self, repository_id: int) -> list[SuiteSession]:
        """The repository's push-triggered sessions that are waiting or running, oldest first."""
        sessions = schema.test_sessions
        query = (
            select(sessions)
            .where(
                sessions.c.repository_id == repository_id,
                sessions.c.trigger == "push",
                sessions.c.state != "completed",
            )
            .order_by(sessions.c.created_at, sessions.c.id)
        )
        async with self.engine.connect() as connection:
            return [_session(row) for row in (await connection.execute(query)).all()]

    async def due(self, now: datetime, *, batch_after: timedelta) -> list[str]:
        """Sessions the scheduled check must look at: past their deadline, with an unpublished change older than
        `batch_after`, whose dispatching may resume, or waiting for a free slot."""
        sessions = schema.test_sessions
        query = select(sessions.c.id).where(
            sessions.c.state != "completed",
            or_(
                sessions.c.deadline <= now,
                sessions.c.state == "waiting",
                and_(sessions.c.resume_at.is_not(None), sessions.c.resume_at <= now),
                and_(
                    sessions.c.dirty.is_(True),
                    or_(sessions.c.published_at.is_(None), sessions.c.published_at <= now - batch_after),
                ),
            ),
        )
        async with self.engine.connect() as connection:
            return [row.id for row in (await connection.execute(query.order_by(sessions.c.created_at))).all()]

    async def observe_run(
        self, repository_id: int, run_id: int, observation: RunObservation, *, now: datetime
    ) -> RunObservation:
        """Merge what a delivery says about a run with what earlier ones said; the merged observation."""
        runs = schema.test_runs
        async with self.engine.begin() as connection:
            kept = (
                await connection.execute(
                    select(runs.c.observation).where(runs.c.repository_id == repository_id, runs.c.run_id == run_id)
                )
            ).scalar()
            merged = observation if kept is None else _observation(kept).merged(observation)
            row = {
                "repository_id": repository_id,
                "run_id": run_id,
                "observation": _observation_json(merged),
                "updated_at": now,
            }
            statement = dialect_insert(connection.dialect.name, runs)
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["repository_id", "run_id"],
                    set_={"observation": statement.excluded.observation, "updated_at": statement.excluded.updated_at},
                ),
                row,
            )
        return merged

    async def run_observation(self, repository_id: int, run_id: int) -> RunObservation | None:
        runs = schema.test_runs
        async with self.engine.connect() as connection:
            kept = (
                await connection.execute(
                    select(runs.c.observation).where(runs.c.repository_id == repository_id, runs.c.run_id == run_id)
                )
            ).scalar()
        return None if kept is None else _observation(kept)

    async def sessions_of_run(self, run_id: int) -> list[str]:
        legs = schema.test_legs
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(legs.c.session_id).where(legs.c.run_id == run_id))).all()
        return sorted({row.session_id for row in rows})

    async def leg_with_token(self, token: str) -> tuple[str, int] | None:
        """(session id, leg number) of the leg whose dispatch carried `token`."""
        legs = schema.test_legs
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(legs.c.session_id, legs.c.number).where(legs.c.token == token))
            ).first()
        return None if row is None else (row.session_id, row.number)

    async def take_budget(
        self, installation_id: int, *, now: datetime, limit: int, window: timedelta
    ) -> datetime | None:
        """Count one dispatch against the installation's budget: None when it fits, else when the budget frees up."""
        budgets = schema.test_budgets
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(select(budgets).where(budgets.c.installation_id == installation_id))
            ).first()
            if row is None or row.window_start + window <= now:
                statement = dialect_insert(connection.dialect.name, budgets)
                values = {"installation_id": installation_id, "window_start": now, "used": 1}
                await connection.execute(
                    statement.on_conflict_do_update(index_elements=["installation_id"], set_=values), values
                )
                return None
            if row.used >= limit:
                return row.window_start + window
            await connection.execute(
                update(budgets).where(budgets.c.installation_id == installation_id).values(used=budgets.c.used + 1)
            )
        return None

    async def leg_history(
        self, repository_id: int, suite: str, ref: str, *, before: datetime, per_leg: int = 10
    ) -> dict[str, list[float]]:
        """Durations (seconds) of the legs of earlier sessions of a suite on `ref` that met their expectation, the
        `per_leg` newest of each leg (keyed by `Leg.key`)."""
        sessions, legs = schema.test_sessions, schema.test_legs
        query = (
            select(legs, sessions.c.expect)
            .join(sessions, sessions.c.id == legs.c.session_id)
            .where(
                sessions.c.repository_id == repository_id,
                sessions.c.suite == suite,
                sessions.c.ref == ref,
                sessions.c.created_at < before,
                legs.c.state == "completed",
                legs.c.started_at.is_not(None),
                legs.c.completed_at.is_not(None),
            )
            .order_by(sessions.c.created_at.desc())
            .limit(per_leg * 100)
        )
        history: dict[str, list[float]] = defaultdict(list)
        async with self.engine.connect() as connection:
            for row in (await connection.execute(query)).all():
                leg = _leg(row)
                if leg.conclusion == row.expect.get("conclusion", "success") and len(history[leg.key]) < per_leg:
                    history[leg.key].append(leg.duration.total_seconds() if leg.duration else 0.0)
        return dict(history)

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: sessions created before `cutoff` (with their legs), their runs' observations, old commands."""
        sessions = schema.test_sessions
        async with self.engine.begin() as connection:
            # Their legs go with them (ON DELETE CASCADE).
            deleted = (await connection.execute(delete(sessions).where(sessions.c.created_at < cutoff))).rowcount
            await connection.execute(delete(schema.test_runs).where(schema.test_runs.c.updated_at < cutoff))
            await connection.execute(delete(schema.test_commands).where(schema.test_commands.c.received_at < cutoff))
        return int(deleted)
