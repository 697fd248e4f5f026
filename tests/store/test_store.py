"""The history store on SQLite and PostgreSQL: order-independent upserts, history reads, PR samples, posted ids,
backfill progress, retention and the single-flight lock."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import StatementError
from store_events import (
    INSTALLATION_ID,
    REPOSITORY_ID,
    START,
    WORKFLOW_ID,
    job_payload,
    lifecycle,
    parse,
    run_payload,
    small_history,
)

from bot.store import (
    BackfillProgress,
    Installation,
    Posted,
    Repository,
    Store,
    schema,
    workflow_job_record,
    workflow_run_record,
)
from bot.store.locks import SingleFlight

HISTORY_TABLES = [
    schema.installations,
    schema.repositories,
    schema.workflows,
    schema.runs,
    schema.run_pull_requests,
    schema.jobs,
    schema.steps,
]


async def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the history tables, sorted; without `seen_at`, the time of the observation that set a shared
    row's values (a process writes a repository's row again only when its values change)."""
    async with store.engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(row)
                for row in (
                    await connection.execute(select(*(column for column in table.c if column.name != "seen_at")))
                ).all()
            )
            for table in HISTORY_TABLES
        }


async def clear(store: Store) -> None:
    async with store.engine.begin() as connection:
        for table in reversed(HISTORY_TABLES):
            await connection.execute(delete(table))


async def test_events_give_the_same_rows_in_any_order_with_redeliveries(store: Store):
    events = [parse(payload) for payload in small_history()]
    for event in events:
        await store.ingest([event])
    in_order = await dump(store)
    assert len(in_order["runs"]) == 4 and len(in_order["jobs"]) == 6 and len(in_order["steps"]) == 18
    assert in_order["repositories"] == [(REPOSITORY_ID, INSTALLATION_ID, "Codertocat/Hello-World", "master", None)]
    assert in_order["workflows"] == [(REPOSITORY_ID, WORKFLOW_ID, "CI", ".github/workflows/test.yml")]

    orders = {
        "jobs before runs": sorted(events, key=lambda event: hasattr(event, "run")),
        "reversed": events[::-1],
    }
    for seed in (1, 2, 3, 4, 5):
        rng = random.Random(seed)
        shuffled = events + rng.choices(events, k=len(events) // 2)  # redeliveries
        rng.shuffle(shuffled)
        orders[f"shuffled, seed {seed}"] = shuffled
    for name, order in orders.items():
        await clear(store)
        fresh = Store(store.engine)  # a process that has written nothing yet
        rng = random.Random(name)
        position = 0
        while position < len(order):  # batches of 1 to 6 events: merging inside a batch and across batches
            size = rng.randint(1, 6)
            await fresh.ingest(order[position : position + size])
            position += size
        assert await dump(fresh) == in_order, name


async def test_the_furthest_observation_wins(store: Store):
    history = small_history()
    await store.ingest(parse(payload) for payload in history[::-1])
    async with store.engine.connect() as connection:
        runs = {(row.run_id, row.attempt): row for row in (await connection.execute(select(schema.runs))).all()}
        jobs = {row.id: row for row in (await connection.execute(select(schema.jobs))).all()}
        steps = (await connection.execute(select(schema.steps).where(schema.steps.c.job_id == 1002))).all()
    assert runs[(100, 1)].status == "completed" and runs[(100, 1)].conclusion == "failure"
    assert runs[(100, 2)].conclusion == "success"
    assert jobs[1002].status == "completed" and jobs[1002].conclusion == "failure"
    assert jobs[1002].runner_name == "runner 0" and jobs[1002].labels == ["ubuntu-latest"]
    assert [(step.number, step.conclusion) for step in sorted(steps, key=lambda s: s.number)] == [
        (1, "success"),
        (2, "success"),
        (3, "failure"),
    ]
    async with store.engine.connect() as connection:
        prs = (await connection.execute(select(schema.run_pull_requests))).all()
        installation = (await connection.execute(select(schema.installations))).one()
    assert [tuple(row) for row in prs] == [(REPOSITORY_ID, 102, 7)]
    # Workflow events name the installation by id only; its account comes from installation events.
    assert (installation.id, installation.account) == (INSTALLATION_ID, None)
    await store.record_installation(Installation(INSTALLATION_ID, "Codertocat"), [], now=START)
    await store.ingest(parse(payload) for payload in history)
    async with store.engine.connect() as connection:
        installation = (await connection.execute(select(schema.installations))).one()
    assert (installation.id, installation.account) == (INSTALLATION_ID, "Codertocat")


async def test_baseline_runs_are_the_newest_completed_runs_at_their_latest_attempt(store: Store):
    await store.ingest(parse(payload) for payload in small_history())
    # A run still in progress, and a push run on main created later than the PR's run.
    await store.ingest([parse(run_payload(103, 1, "in_progress", created=START + timedelta(hours=3)))])
    await store.ingest(
        parse(payload)
        for payload in lifecycle(104, 1, [(1041, "build", "success")], created=START + timedelta(hours=5))
    )

    baseline = await store.baseline_runs(
        REPOSITORY_ID, WORKFLOW_ID, ["main"], events=["push"], created_before=START + timedelta(hours=4), count=20
    )
    assert [(stored.run.id, stored.run.run_attempt) for stored in baseline] == [(100, 2), (101, 1)]
    rerun = baseline[0].run
    # Attempt 2 re-ran only "test": "build" is the job of attempt 1.
    assert [(job.name, job.run_attempt, job.conclusion) for job in rerun.jobs] == [
        ("build", 1, "success"),
        ("test", 2, "success"),
    ]
    assert [step.name for step in rerun.jobs[1].steps] == ["step 1", "step 2", "step 3"]
    assert rerun.jobs[1].duration == 120 and rerun.jobs[1].queue_time == 20
    assert rerun.duration == 600
    assert all(stored.jobs_complete for stored in baseline)

    newest = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"], count=2)
    assert [stored.run.id for stored in newest] == [101, 104]
    assert await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"], events=["schedule"]) == []
    feature = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main", "feature"], count=20)
    assert [stored.run.id for stored in feature] == [100, 101, 102, 104]
    failed_first = await store.run_attempts(REPOSITORY_ID, 100)
    assert [(stored.run.run_attempt, stored.run.conclusion) for stored in failed_first] == [
        (1, "failure"),
        (2, "success"),
    ]
    assert [job.name for job in failed_first[0].run.jobs] == ["build", "test"]


async def test_a_rerun_without_jobs_of_its_own_yet_is_not_complete(store: Store):
    first = lifecycle(120, 1, [(1201, "build", "failure")], created=START)
    second = lifecycle(120, 2, [(1202, "build", "success")], created=START)
    await store.ingest(parse(payload) for payload in [*first, *(p for p in second if "workflow_job" not in p)])
    attempts = await store.run_attempts(REPOSITORY_ID, 120)
    assert [(stored.run.run_attempt, stored.jobs_complete) for stored in attempts] == [(1, True), (2, False)]
    await store.ingest(parse(payload) for payload in second if "workflow_job" in payload)
    [_, rerun] = await store.run_attempts(REPOSITORY_ID, 120)
    assert rerun.jobs_complete and [job.conclusion for job in rerun.run.jobs] == ["success"]


async def test_successful_runs_only(store: Store):
    await store.ingest(parse(payload) for payload in small_history())
    async with store.engine.begin() as connection:  # the re-run's second attempt never happened
        await connection.execute(delete(schema.runs).where(schema.runs.c.attempt == 2))
    successful = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"], conclusions=["success"])
    assert [stored.run.id for stored in successful] == [101]


async def test_jobs_are_complete_when_listed_by_the_api_or_all_seen_completed(store: Store):
    payloads = lifecycle(110, 1, [(1101, "build", "success"), (1102, "test", "success")], created=START)
    without_last_job_completion = [
        p for p in payloads if not (p.get("workflow_job", {}).get("id") == 1102 and p["action"] == "completed")
    ]
    await store.ingest(parse(payload) for payload in without_last_job_completion)
    [stored] = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"])
    assert not stored.jobs_complete

    completed_run = payloads[2]
    repository = parse(completed_run).repository
    run = workflow_run_record(completed_run["workflow_run"], REPOSITORY_ID)
    jobs = [
        workflow_job_record(
            job_payload(job_id, 110, 1, name, "completed", created=START)["workflow_job"], REPOSITORY_ID
        )
        for job_id, name in ((1101, "build"), (1102, "test"))
    ]
    await store.record_attempt(repository, run, jobs)
    [stored] = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"])
    assert stored.jobs_complete and [job.conclusion for job in stored.run.jobs] == ["success", "success"]
    # A late webhook about the run does not take back what the API listing established.
    await store.ingest([parse(payloads[1])])
    [stored] = await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"])
    assert stored.jobs_complete and stored.run.status == "completed"


async def test_pr_samples_keep_the_newest_and_survive_a_restart(database_url: str):
    store = await Store.open(database_url)
    try:
        for index, run_id in enumerate(range(200, 206)):
            await store.ingest(
                parse(payload)
                for payload in lifecycle(
                    run_id, 1, [(run_id * 10, "build", "success")], created=START + timedelta(hours=index)
                )
            )
            await store.add_pr_sample(REPOSITORY_ID, 9, WORKFLOW_ID, run_id, 1, now=START + timedelta(hours=index))
        await store.add_pr_sample(REPOSITORY_ID, 9, WORKFLOW_ID, 205, 1, now=START + timedelta(hours=9))  # again
    finally:
        await store.close()
    reopened = await Store.open(database_url)
    try:
        samples = await reopened.pr_samples(REPOSITORY_ID, 9, WORKFLOW_ID)
        assert [stored.run.id for stored in samples] == [202, 203, 204, 205]
        assert samples[0].run.jobs[0].name == "build"
        assert await reopened.pr_samples(REPOSITORY_ID, 10, WORKFLOW_ID) == []
    finally:
        await reopened.close()


async def test_confirming_reruns_are_claimed_once_per_commit_and_workflow_and_survive_a_restart(database_url: str):
    store = await Store.open(database_url)
    try:
        assert await store.claim_confirmation(REPOSITORY_ID, 9, "a" * 40, WORKFLOW_ID, now=START)
        assert not await store.claim_confirmation(REPOSITORY_ID, 9, "a" * 40, WORKFLOW_ID, now=START)  # again
        assert await store.claim_confirmation(REPOSITORY_ID, 9, "b" * 40, WORKFLOW_ID, now=START)
        assert await store.claim_confirmation(REPOSITORY_ID, 10, "a" * 40, WORKFLOW_ID, now=START)  # another PR
    finally:
        await store.close()
    reopened = await Store.open(database_url)
    try:
        assert await reopened.confirmations(REPOSITORY_ID, 9) == {("a" * 40, WORKFLOW_ID), ("b" * 40, WORKFLOW_ID)}
        assert await reopened.confirmations(REPOSITORY_ID, 11) == set()
    finally:
        await reopened.close()


async def test_posted_ids_are_remembered_per_place_with_what_they_show(database_url: str):
    store = await Store.open(database_url)
    key = ("ci.yml", 7, "warning", "build")
    try:
        await store.remember_comment(REPOSITORY_ID, 5, "<!-- ci-orchestrator:1 -->", 11, body="one", now=START)
        await store.remember_comment(REPOSITORY_ID, 5, "<!-- ci-orchestrator:2 -->", 12, body="two", now=START)
        await store.remember_comment(REPOSITORY_ID, 5, "<!-- ci-orchestrator:1 -->", 11, body="one, edited", now=START)
        await store.remember_check_run(REPOSITORY_ID, "a" * 40, "CI comparison: CI", 21, annotations=[key], now=START)
        await store.remember_check_run(
            REPOSITORY_ID, "a" * 40, "CI comparison: CI", 22, annotations=[], now=START - timedelta(minutes=1)
        )  # replaced: the last post wins, whatever the clocks say
        await store.forget_comment(REPOSITORY_ID, 5, "<!-- ci-orchestrator:2 -->")
    finally:
        await store.close()
    reopened = await Store.open(database_url)
    try:
        assert await reopened.posted_comments(REPOSITORY_ID, 5) == {
            "<!-- ci-orchestrator:1 -->": Posted(11, body="one, edited")
        }
        assert await reopened.posted_comments(REPOSITORY_ID, 6) == {}
        assert await reopened.posted_check_runs(REPOSITORY_ID, "a" * 40) == {
            "CI comparison: CI": Posted(22, annotations=frozenset())
        }
        await reopened.remember_check_run(REPOSITORY_ID, "b" * 40, "x", 23, annotations=[key], now=START)
        assert (await reopened.posted_check_runs(REPOSITORY_ID, "b" * 40))["x"].annotations == {key}
        await reopened.forget_check_run(REPOSITORY_ID, "a" * 40, "CI comparison: CI")
        assert await reopened.posted_check_runs(REPOSITORY_ID, "a" * 40) == {}
    finally:
        await reopened.close()


async def test_installations_and_repositories(store: Store):
    installation = Installation(INSTALLATION_ID, "octo-org")
    repo = Repository(1, "octo-org/one", INSTALLATION_ID, "main")
    await store.record_installation(
        installation, [repo, Repository(2, "octo-org/two", INSTALLATION_ID, "trunk")], now=START
    )
    assert [r.full_name for r in await store.repositories(INSTALLATION_ID)] == ["octo-org/one", "octo-org/two"]
    # Renamed; an older observation of the old name arriving later changes nothing.
    await store.record_installation(
        installation, [Repository(1, "octo-org/uno", INSTALLATION_ID, "main")], now=START + timedelta(hours=1)
    )
    await store.record_installation(installation, [repo], now=START)
    assert await store.repository("octo-org/uno") == Repository(1, "octo-org/uno", INSTALLATION_ID, "main")
    assert await store.repository("octo-org/one") is None
    await store.remove_repositories([2], now=START)
    assert [r.id for r in await store.repositories()] == [1]
    await store.remove_installation(INSTALLATION_ID, now=START)
    assert await store.repositories() == []
    await store.record_installation(installation, [repo], now=START + timedelta(days=1))
    assert [r.id for r in await store.repositories()] == [1]


async def test_backfill_progress_is_saved_and_resumed(store: Store):
    progress = BackfillProgress(REPOSITORY_ID, "main", START - timedelta(days=30), START, START, cursor="page=1")
    await store.save_backfill_progress(progress)
    later = BackfillProgress(
        REPOSITORY_ID, "main", progress.since, START, START + timedelta(minutes=5), cursor="page=4", runs_fetched=300
    )
    await store.save_backfill_progress(later)
    await store.save_backfill_progress(progress)  # a stale save does not move it back
    assert await store.backfill_progress(REPOSITORY_ID) == later
    assert await store.backfill_progress(1) is None
    assert await store.all_backfills() == [later]


async def test_retention_deletes_old_history_and_finished_deliveries(store: Store):
    old = START - timedelta(days=200)
    await store.ingest(
        parse(p) for p in lifecycle(300, 1, [(3001, "build", "success")], created=old, pull_requests=(3,))
    )
    await store.ingest(parse(p) for p in lifecycle(301, 1, [(3011, "build", "success")], created=START))
    await store.add_pr_sample(REPOSITORY_ID, 3, WORKFLOW_ID, 300, 1, now=old)
    await store.remember_comment(REPOSITORY_ID, 3, "marker", 1, body="", now=old)
    await store.claim_confirmation(REPOSITORY_ID, 3, "a" * 40, WORKFLOW_ID, now=old)
    result = await store.apply_retention(now=START + timedelta(days=1))
    assert result.deleted["runs"] == 1 and result.deleted["jobs"] == 1
    assert result.deleted["run_pull_requests"] == 1 and result.deleted["pr_samples"] == 1
    assert result.deleted["posted"] == 1 and result.deleted["confirmations"] == 1
    counts = await store.counts()
    assert (counts["runs"], counts["jobs"], counts["steps"]) == (1, 1, 3)  # steps of the old job went with it
    assert [stored.run.id for stored in await store.baseline_runs(REPOSITORY_ID, WORKFLOW_ID, ["main"])] == [301]


async def test_single_flight_runs_one_holder_of_a_key_at_a_time(store: Store):
    inside: list[str] = []
    most = 0

    async def hold(key: str, name: str) -> None:
        nonlocal most
        async with store.single_flight(key):
            inside.append(name)
            most = max(most, sum(1 for entry in inside if entry.startswith(key)))
            for _ in range(5):
                await asyncio.sleep(0)
            inside.remove(name)

    await asyncio.gather(*(hold("baseline a", f"baseline a {n}") for n in range(4)), hold("baseline b", "baseline b"))
    assert most == 1 and inside == []


async def test_single_flight_holds_across_processes_on_postgresql(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process: its single flight is the in-process lock tested above")
    first, second = await Store.open(database_url), await Store.open(database_url)
    released = asyncio.Event()
    tries = 0

    async def sleep(_: float) -> None:  # the second process polls; after three tries the first lets go
        nonlocal tries
        tries += 1
        if tries == 3:
            released.set()
        await asyncio.sleep(0)

    second_flight = SingleFlight(second.engine, sleep=sleep)
    order: list[str] = []
    try:
        async with first.single_flight("baseline"):

            async def contender() -> None:
                async with second_flight.hold("baseline"):
                    order.append("second holds")

            waiting = asyncio.create_task(contender())
            await released.wait()
            order.append("first lets go")
        await waiting
        assert order == ["first lets go", "second holds"] and tries >= 3
        async with second_flight.hold("other key"), first.single_flight("another key"):
            order.append("different keys at once")
    finally:
        await second_flight.close()
        await first.close()
        await second.close()


async def test_naive_timestamps_are_refused(store: Store):
    with pytest.raises(StatementError, match="naive datetime"):
        await store.remember_comment(REPOSITORY_ID, 1, "marker", 1, body="", now=START.replace(tzinfo=None))


async def test_a_call_cut_short_by_a_stop_finishes_and_leaves_the_database_usable(store: Store):
    """A stop cancels handlers mid-transaction; on SQLite that used to leave the file locked for the next caller."""
    from bot.store import JournalEntry

    entries = [JournalEntry(f"d-{n}", "workflow_run", None, 1, "o/r", None, START, b"x" * 20_000) for n in range(2_000)]
    for round_number in range(4):
        call = asyncio.ensure_future(store.deliveries.record(entries[round_number * 500 : (round_number + 1) * 500]))
        for _ in range(round_number + 1):
            await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await store.deliveries.record(
            [JournalEntry(f"after-{round_number}", "ping", None, None, None, None, START, b"")]
        )
    for _ in range(200):  # on PostgreSQL the cut-short calls go on in parallel, on connections of their own
        counts = await store.deliveries.counts()
        if counts == {"queued": 2_004}:
            break
        await asyncio.sleep(0.05)
    assert counts == {"queued": 2_004}  # the cut-short calls ran to their end
