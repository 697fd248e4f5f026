"""The store's health queries on SQLite and PostgreSQL: the same inputs on both, computed by the database from a
synthetic history with known incidents; the schedule claimed by one instance at a time; alerts once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.health import HealthOptions, build_report
from bot.store import Installation, Repository, Store, WorkflowJobEvent, schema
from bot.testing.history import Incidents, SyntheticHistory, SyntheticJob

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
REPOSITORY = Repository(42, "octo-org/app", 7, "main")
JOBS = (
    SyntheticJob("lint", 60),
    SyntheticJob("build", 420),
    SyntheticJob("test", 300),
    SyntheticJob("gpu", 200, ("self-hosted", "gpu")),
    SyntheticJob("mac", 100, ("macos-14",)),
)
HISTORY = SyntheticHistory(
    REPOSITORY,
    Installation(7, "octo-org"),
    NOW,
    days=60,
    runs_per_day=3,
    pr_runs_per_day=2,
    jobs=JOBS,
    incidents=Incidents(
        slow_job="build",
        slow_from_day=45,
        flaky_job="test",
        flaky_probability=0.2,
        broken_job="lint",
        broken_from_day=56,
        starved_label="gpu",
        starved_from_day=40,
    ),
)


async def filled(store: Store) -> Store:
    await store.ingest(HISTORY.events())
    return store


async def test_the_inputs_come_from_the_database_with_every_incident(store: Store):
    await filled(store)
    data = await store.health.health_data(42, "octo-org/app", "main", now=NOW, options=HealthOptions())

    # Default-branch push runs of both windows, at their latest attempt; no pull-request run.
    assert len(data.runs) == 180 and {run.head_sha for run in data.runs} <= {HISTORY.sha(i) for i in range(180)}
    assert all(run.attempt == 2 for run in data.runs if run.conclusion == "failure")
    # The busiest jobs' successful executions on main, in whole seconds.
    assert {point.job_name for point in data.job_points} == {"lint", "build", "test", "gpu", "mac"}
    assert all(point.seconds == int(point.seconds) for point in data.job_points)
    # Flaky: commits where `test` failed and then passed; any branch.
    assert {commit.job_name for commit in data.flaky_commits} == {"test"}
    assert all(commit.failures == commit.successes == 1 for commit in data.flaky_commits)
    assert any(commit.head_sha not in {HISTORY.sha(i) for i in range(180)} for commit in data.flaky_commits)
    # Broken: `lint` fails from day 56, re-runs included; its streak starts at that run.
    [lint] = [outcome for outcome in data.job_outcomes if outcome.job_name == "lint"]
    streak = sorted(failure.run_id for failure in data.failing_streaks if failure.job_name == "lint")
    assert lint.latest_run_id == streak[-1] and len(streak) == 180 - HISTORY.first_run_on_day(56)
    assert [f.head_sha for f in data.failing_streaks if f.run_id == streak[0]] == [
        HISTORY.sha(HISTORY.first_run_on_day(56))
    ]
    # Queue times per label set and window; minutes per workflow, label set and re-run.
    labels = {row.labels for row in data.queue}
    assert labels == {"ubuntu-latest", "self-hosted, gpu", "macos-14"}
    assert max(row.seconds for row in data.queue if row.labels == "self-hosted, gpu" and row.current) > 300
    assert {(row.labels, row.rerun) for row in data.minutes} >= {("ubuntu-latest", True), ("macos-14", False)}
    assert all(row.billed_minutes >= row.seconds / 60 for row in data.minutes)

    report = build_report(data, HealthOptions())
    build_changes = [point for job in report.jobs if job.job_name == "build" for point in job.change_points]
    assert [point.head_sha for point in build_changes] == [HISTORY.sha(HISTORY.first_run_on_day(45))]
    assert [job.job_name for job in report.broken] == ["lint"] and [job.job_name for job in report.flaky] == ["test"]
    assert [label.labels for label in report.queue if label.starved] == ["self-hosted, gpu"]


async def test_a_window_without_history_gives_empty_inputs(store: Store):
    await filled(store)
    later = NOW + timedelta(days=200)
    data = await store.health.health_data(42, "octo-org/app", "main", now=later, options=HealthOptions())
    assert (data.runs, data.job_points, data.flaky_commits, data.queue, data.minutes) == ((), (), (), (), ())
    assert build_report(data, HealthOptions()).problems() == {}


async def test_each_due_scope_is_claimed_by_one_instance_and_comes_back_when_due_or_released(store: Store):
    health = store.health
    await health.schedule(["repository:1", "repository:2", "organization:octo-org"], due_at=NOW)
    await health.schedule(["repository:1"], due_at=NOW + timedelta(days=30))  # already scheduled: kept
    claims = await asyncio.gather(
        *(
            health.claim_due(f"instance {i}", now=NOW, lease=timedelta(minutes=30), prefix="repository:")
            for i in range(4)
        )
    )
    assert sorted(scope for claimed in claims for scope in claimed) == ["repository:1", "repository:2"]
    owner = next(f"instance {i}" for i, claimed in enumerate(claims) if "repository:1" in claimed)
    assert await health.claim_due("late", now=NOW, lease=timedelta(minutes=30), prefix="repository:") == []

    await health.unclaim("repository:1", owner, due_at=NOW + timedelta(days=7))
    await health.unclaim("repository:2", "not the owner", due_at=NOW)  # only the holder can unclaim
    assert await health.claim_due("x", now=NOW + timedelta(minutes=10), lease=timedelta(minutes=30)) == [
        "organization:octo-org"
    ]
    await health.make_due(["organization:octo-org", "organization:new"], now=NOW + timedelta(minutes=15))
    organizations = await health.claim_due(
        "w", now=NOW + timedelta(minutes=15), lease=timedelta(minutes=30), prefix="organization:"
    )
    assert organizations == ["organization:new"]  # octo-org is still claimed by "x"
    # The claim on repository:2 lapses after its lease; repository:1 is due again a week later.
    after_lease = await health.claim_due("y", now=NOW + timedelta(hours=1), lease=timedelta(hours=1), prefix="repo")
    assert after_lease == ["repository:2"]
    week_later = await health.claim_due("z", now=NOW + timedelta(days=8), lease=timedelta(hours=1), prefix="repo")
    assert sorted(week_later) == ["repository:1", "repository:2"]


async def test_summaries_and_alerts(store: Store):
    health = store.health
    await health.save_summary("repository:1", {"problems": {"a": "b"}}, now=NOW)
    assert await health.summary("repository:1") == {"problems": {"a": "b"}}
    assert await health.summary("repository:2") is None
    assert await health.summaries(["repository:1", "repository:2"]) == {"repository:1": {"problems": {"a": "b"}}}
    first, second = await asyncio.gather(
        health.claim_alerts("repository:1", ["x", "y"], now=NOW),
        health.claim_alerts("repository:1", ["y", "z"], now=NOW),
    )
    assert sorted(first + second) == ["x", "y", "z"]
    assert await health.claim_alerts("repository:1", ["x", "z"], now=NOW) == []
    assert await health.claim_alerts("repository:2", ["x"], now=NOW) == ["x"]


async def test_daily_totals_count_each_completed_job_once_however_often_it_is_delivered(store: Store):
    events = list(HISTORY.events())
    await store.ingest(events[: len(events) // 2])
    await asyncio.gather(store.ingest(events), store.ingest(events[len(events) // 3 :]))  # redeliveries, at once
    async with store.engine.connect() as connection:
        counted = (await connection.execute(select(func.count()).select_from(schema.job_totals_counted))).scalar()
        jobs = (await connection.execute(select(func.sum(schema.job_totals.c.jobs)))).scalar()
    completed = {event.job.id for event in events if isinstance(event, WorkflowJobEvent)}
    assert counted == jobs == len(completed)
    result = await store.apply_retention(now=NOW + timedelta(days=180 - 30))
    assert result.deleted["job_totals"] > 0
    async with store.engine.connect() as connection:
        left = (await connection.execute(select(func.min(schema.job_totals.c.day)))).scalar()
        counted_left = (await connection.execute(select(func.count()).select_from(schema.job_totals_counted))).scalar()
        jobs_left = (await connection.execute(select(func.count()).select_from(schema.jobs))).scalar()
    assert left >= (NOW - timedelta(days=30)).date() and counted_left == jobs_left
