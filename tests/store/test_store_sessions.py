"""Test sessions in the store (SQLite and PostgreSQL): whole sessions and legs, run observations merged in any
order, commands claimed once, dispatch budgets, the scheduled check's due sessions, legs' history."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.ondemand.session import Expectation, Leg, RunObservation, SuiteSession

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def new_session(session_id: str = "s1", **changes) -> SuiteSession:
    values = dict(
        id=session_id,
        repository="octo-org/app",
        repository_id=7,
        installation_id=3,
        suite="python-matrix",
        workflow="ci.yml",
        ref="main",
        default_branch="main",
        head_sha="a" * 40,
        trigger="comment",
        requested_by="mona",
        created_at=T0,
        deadline=T0 + timedelta(minutes=30),
        expect=Expectation("success", 600.0),
        pull_request=5,
    )
    values.update(changes)
    return SuiteSession(**values)


LEGS = [Leg(1, (("python", "3.11"), ("os", "ubuntu")), token="t1"), Leg(2, (("python", "3.12"),), token="t2")]


async def test_sessions_and_legs_round_trip(store):
    sessions = store.sessions
    await sessions.create(new_session(), LEGS)
    session, legs = await sessions.get("s1")
    assert session == new_session() and legs == LEGS
    done = replace(LEGS[0], state="completed", run_id=99, conclusion="success", started_at=T0, completed_at=T0)
    await sessions.save(replace(session, check_run_id=42, dirty=True, published_at=T0), [done])
    session, legs = await sessions.get("s1")
    assert session.check_run_id == 42 and session.dirty and legs == [done, LEGS[1]]
    assert await sessions.by_check_run(42) == "s1" and await sessions.sessions_of_run(99) == ["s1"]
    assert await sessions.leg_with_token("t2") == ("s1", 2)
    assert [s.id for s in await sessions.of_pull_request(7, 5)] == ["s1"]
    assert await sessions.started_for(7, "a" * 40, "comment") == {"python-matrix"}
    assert await sessions.started_for(7, "a" * 40, "push") == set()
    assert await sessions.get("nope") is None


async def test_a_command_is_claimed_once_even_concurrently(store):
    claims = await asyncio.gather(*(store.sessions.claim_command(7, 1001, now=T0) for _ in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    assert await store.sessions.claim_command(8, 1001, now=T0)  # another repository's comment of that id


async def test_run_observations_merge_in_any_order(store):
    sessions = store.sessions
    completed = RunObservation("completed", "failure", completed_at=T0 + timedelta(minutes=4))
    job = RunObservation("in_progress", started_at=T0, failing_job="test", failing_step="pytest")
    await sessions.observe_run(7, 99, completed, now=T0)
    merged = await sessions.observe_run(7, 99, job, now=T0)
    assert merged == RunObservation("completed", "failure", 1, None, T0, T0 + timedelta(minutes=4), "test", "pytest")
    assert await sessions.run_observation(7, 99) == merged and await sessions.run_observation(7, 98) is None


async def test_budget_per_installation_and_window(store):
    take = store.sessions.take_budget
    hour = timedelta(hours=1)
    assert [await take(3, now=T0, limit=2, window=hour) for _ in range(2)] == [None, None]
    assert await take(3, now=T0 + timedelta(minutes=5), limit=2, window=hour) == T0 + hour
    assert await take(4, now=T0, limit=2, window=hour) is None
    assert await take(3, now=T0 + hour, limit=2, window=hour) is None


async def test_due_sessions_and_history(store):
    sessions = store.sessions
    await sessions.create(new_session("quiet"), [])
    await sessions.create(new_session("late", deadline=T0 - timedelta(minutes=1)), [])
    await sessions.create(new_session("dirty", dirty=True, published_at=T0 - timedelta(seconds=6)), [])
    await sessions.create(new_session("fresh", dirty=True, published_at=T0 - timedelta(seconds=1)), [])
    await sessions.create(new_session("paused", resume_at=T0), [])
    await sessions.create(new_session("done", state="completed", deadline=T0 - timedelta(hours=1)), [])
    due = await sessions.due(T0, batch_after=timedelta(seconds=5))
    assert sorted(due) == ["dirty", "late", "paused"]

    for index, minutes in enumerate((4, 6, 5)):
        leg = Leg(
            1, (("python", "3.11"),), "completed", 100 + index, None, "success", T0, T0 + timedelta(minutes=minutes)
        )
        await sessions.create(new_session(f"h{index}", created_at=T0 - timedelta(days=index + 1)), [leg])
    failed = Leg(1, (("python", "3.11"),), "completed", 200, None, "failure", T0, T0 + timedelta(minutes=1))
    await sessions.create(new_session("hf", created_at=T0 - timedelta(days=1)), [failed])
    history = await sessions.leg_history(7, "python-matrix", "main", before=T0)
    assert sorted(history["python=3.11"]) == [240.0, 300.0, 360.0]
    assert await sessions.delete_older_than(T0 - timedelta(hours=36)) == 2
    assert (await store.counts())["test_legs"] == 2  # the deleted sessions' legs went with them
