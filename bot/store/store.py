"""The history store: runs, jobs and steps of every repository, PR samples, what the App posted, backfill progress.

Writes are upserts that give the same rows whatever the order of the events (redeliveries, `workflow_job`
before `workflow_run`, attempts out of order): each run, job and step row keeps the observation that is
furthest along (`records.progress`), and repositories and workflows keep their newest observation.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cachetools
from sqlalchemy import Row, Table, and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.comparison.model import JobRecord, RunRecord, StepRecord
from bot.store import schema
from bot.store.database import cancel_safe, create_engine, dialect_insert, migrate
from bot.store.deliveries import Deliveries, RetryPolicy
from bot.store.health import HealthStore
from bot.store.job_totals import count_completed_jobs
from bot.store.locks import SingleFlight
from bot.store.records import (
    BackfillProgress,
    Installation,
    Repository,
    StoredRun,
    WorkflowJob,
    WorkflowJobEvent,
    WorkflowRun,
    WorkflowRunEvent,
    step_progress,
    whole_seconds,
)
from bot.store.sessions import SessionStore

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HISTORY_DAYS = 180
DELIVERY_DAYS = 7
PR_SAMPLES_KEPT = 4
_IN_CHUNK = 500  # ids per IN (...) list


@functools.lru_cache(maxsize=64)
def _upsert(dialect: str, table: Table, columns: tuple[str, ...], *, newer: str | None) -> Any:
    """INSERT … ON CONFLICT on the primary key of rows with `columns`: update the row when `newer` (a column) is at
    least as large in the new row, keep it otherwise; with `newer=None`, never update (insert if absent). Built once
    per shape: building one costs more than running it."""
    statement = dialect_insert(dialect, table)
    keys = [column.name for column in table.primary_key]
    if newer is None:
        return statement.on_conflict_do_nothing(index_elements=keys)
    updated = {name: statement.excluded[name] for name in columns if name not in keys}
    return statement.on_conflict_do_update(
        index_elements=keys, set_=updated, where=statement.excluded[newer] >= table.c[newer]
    )


async def _execute_upsert(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], *, newer: str | None
) -> None:
    await connection.execute(_upsert(connection.dialect.name, table, tuple(rows[0]), newer=newer), rows)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _latest(*moments: datetime | None) -> datetime:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else EPOCH


@dataclass
class _Batch:
    """Rows of one write, merged by key in the same way the database merges them (the one furthest along wins)."""

    installations: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Installations named by workflow events, whose `installation` object is only an id: created if absent.
    installations_named: dict[int, dict[str, Any]] = field(default_factory=dict)
    repositories: dict[int, dict[str, Any]] = field(default_factory=dict)
    workflows: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    runs: dict[tuple[int, int, int], dict[str, Any]] = field(default_factory=dict)
    run_pull_requests: set[tuple[int, int, int]] = field(default_factory=set)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    steps: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    @staticmethod
    def _keep(rows: dict[Any, dict[str, Any]], key: Any, row: dict[str, Any], newer: str) -> None:
        kept = rows.get(key)
        if kept is None or row[newer] >= kept[newer]:
            rows[key] = row

    def add_installation(self, installation: Installation, seen_at: datetime) -> None:
        row = {"id": installation.id, "account": installation.account, "seen_at": seen_at}
        self._keep(self.installations, installation.id, row, "seen_at")

    def add_repository(self, repository: Repository, seen_at: datetime) -> None:
        row = {
            "id": repository.id,
            "installation_id": repository.installation_id,
            "full_name": repository.full_name,
            "default_branch": repository.default_branch,
            "seen_at": seen_at,
        }
        self._keep(self.repositories, repository.id, row, "seen_at")

    def add_run(self, run: WorkflowRun) -> None:
        seen_at = _latest(run.updated_at, run.run_started_at, run.created_at)
        workflow = {
            "repository_id": run.repository_id,
            "id": run.workflow_id,
            "name": run.workflow_name,
            "path": run.workflow_path,
            "seen_at": seen_at,
        }
        self._keep(self.workflows, (run.repository_id, run.workflow_id), workflow, "seen_at")
        row = {
            "repository_id": run.repository_id,
            "run_id": run.id,
            "attempt": run.attempt,
            "workflow_id": run.workflow_id,
            "workflow_name": run.workflow_name,
            "workflow_path": run.workflow_path,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "created_at": run.created_at,
            "run_started_at": run.run_started_at,
            "updated_at": run.updated_at,
            "html_url": run.html_url,
            "progress": run.progress,
        }
        self._keep(self.runs, (run.repository_id, run.id, run.attempt), row, "progress")
        self.run_pull_requests.update((run.repository_id, run.id, number) for number in run.pull_requests)

    def add_job(self, job: WorkflowJob) -> None:
        row = {
            "id": job.id,
            "repository_id": job.repository_id,
            "run_id": job.run_id,
            "run_attempt": job.run_attempt,
            "name": job.name,
            "workflow_name": job.workflow_name,
            "status": job.status,
            "conclusion": job.conclusion,
            "head_sha": job.head_sha,
            "head_branch": job.head_branch,
            "labels": list(job.labels),
            "runner_name": job.runner_name,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "completed_at": job.completed_at,
            "html_url": job.html_url,
            "progress": job.progress,
            "queue_seconds": whole_seconds(job.created_at, job.started_at),
            "duration_seconds": whole_seconds(job.started_at, job.completed_at),
        }
        self._keep(self.jobs, job.id, row, "progress")
        for step in job.steps:
            step_row = {
                "job_id": job.id,
                "number": step.number,
                "name": step.name,
                "conclusion": step.conclusion,
                "started_at": step.started_at,
                "completed_at": step.completed_at,
                "progress": step_progress(step),
            }
            self._keep(self.steps, (job.id, step.number), step_row, "progress")

    def add_event(self, event: WorkflowRunEvent | WorkflowJobEvent) -> None:
        if isinstance(event, WorkflowRunEvent):
            seen_at = _latest(event.run.updated_at, event.run.created_at)
            self.add_run(event.run)
        else:
            seen_at = _latest(event.job.completed_at, event.job.started_at, event.job.created_at)
            self.add_job(event.job)
        if event.installation is not None:
            # Seen at "never": any installation event's values win over this placeholder.
            row = {"id": event.installation.id, "account": None, "seen_at": EPOCH}
            self.installations_named[event.installation.id] = row
        self.add_repository(event.repository, seen_at)

    def shared_rows(self) -> Iterator[tuple[str, Any, dict[str, Any]]]:
        """The rows many events repeat, as (kind, key, row). An installation that workflow events name by id only
        ("installation named") is created if absent and never overwrites what an installation event said."""
        for installation_id, row in self.installations.items():
            yield "installation", installation_id, row
        for installation_id, row in self.installations_named.items():
            if installation_id not in self.installations:
                yield "installation named", installation_id, row
        for repository_id, row in self.repositories.items():
            yield "repository", repository_id, row
        for workflow_key, row in self.workflows.items():
            yield "workflow", workflow_key, row

    async def write(self, connection: AsyncConnection, known: KnownRows | None) -> None:
        """Upsert the batch; shared rows that `known` says this process already wrote with the same values are left
        out (every event names its repository: writing that row each time would make it a hot spot that concurrent
        transactions queue on)."""
        shared: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for kind, key, row in self.shared_rows():
            if known is None or not known.has(kind, key, row):
                shared[kind].append(row)
        tables: list[tuple[Table, list[dict[str, Any]], str | None]] = [
            (schema.installations, shared["installation"], "seen_at"),
            (schema.installations, shared["installation named"], None),
            (schema.repositories, shared["repository"], "seen_at"),
            (schema.workflows, shared["workflow"], "seen_at"),
            (schema.runs, list(self.runs.values()), "progress"),
            (
                schema.run_pull_requests,
                [{"repository_id": r, "run_id": run, "number": n} for r, run, n in sorted(self.run_pull_requests)],
                None,
            ),
            (schema.jobs, list(self.jobs.values()), "progress"),
            (schema.steps, list(self.steps.values()), "progress"),
        ]
        for table, rows, newer in tables:
            if rows:
                await _execute_upsert(connection, table, rows, newer=newer)
        await count_completed_jobs(connection, self.jobs.values())


class KnownRows:
    """Values of the shared rows this process wrote last (its own view; `seen_at` aside)."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self._values: cachetools.LRUCache[tuple[str, Any], tuple[Any, ...]] = cachetools.LRUCache(maxsize)

    @staticmethod
    def _values_of(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(value for name, value in row.items() if name != "seen_at")

    def has(self, kind: str, key: Any, row: dict[str, Any]) -> bool:
        return self._values.get((kind, key)) == self._values_of(row)

    def written(self, batch: _Batch) -> None:
        """After the batch's transaction committed."""
        for kind, key, row in batch.shared_rows():
            self._values[(kind, key)] = self._values_of(row)

    def clear(self) -> None:
        self._values.clear()


def _step(row: Row[Any]) -> StepRecord:
    return StepRecord(row.name, row.number, row.conclusion, row.started_at, row.completed_at)


def _run_record(row: Row[Any], jobs: tuple[JobRecord, ...]) -> RunRecord:
    return RunRecord(
        id=row.run_id,
        workflow_id=row.workflow_id,
        workflow_name=row.workflow_name,
        workflow_path=row.workflow_path,
        head_sha=row.head_sha,
        head_branch=row.head_branch,
        event=row.event,
        status=row.status,
        conclusion=row.conclusion,
        run_attempt=row.attempt,
        created_at=row.created_at,
        run_started_at=row.run_started_at,
        updated_at=row.updated_at,
        html_url=row.html_url,
        jobs=jobs,
    )


#: An annotation as the publisher tells them apart: (path, line, level, title up to its first colon).
AnnotationKey = tuple[str, int, str, str]


@dataclass(frozen=True, slots=True)
class Posted:
    """A comment or check run of the App: its GitHub id and what it shows as last posted (None: not known)."""

    github_id: int
    body: str | None = None  # a comment's
    annotations: frozenset[AnnotationKey] | None = None  # a check run's


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Rows deleted by one `apply_retention` call, per table."""

    deleted: dict[str, int]


@cancel_safe
class Store:
    """The App's database: history, PR samples, posted ids, backfill progress, the delivery journal (`deliveries`),
    health-report queries and schedule (`health`), on-demand test sessions (`sessions`) and a single-flight lock
    across processes (`single_flight`)."""

    def __init__(self, engine: AsyncEngine, *, retry: RetryPolicy | None = None) -> None:
        self.engine = engine
        self.deliveries = Deliveries(engine, retry or RetryPolicy())
        self.health = HealthStore(engine)
        self._single_flight = SingleFlight(engine)
        self.sessions = SessionStore(engine, self._single_flight)
        self._known = KnownRows()

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10, retry: RetryPolicy | None = None) -> Store:
        """Connect to `url` (see `bot.store.database.database_url`) and apply the migrations."""
        engine = create_engine(url, pool_size=pool_size)
        try:
            await migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, retry=retry)

    @classmethod
    @asynccontextmanager
    async def opened(cls, url: str) -> AsyncIterator[Store]:
        """`async with Store.opened(url) as store:` for a command's life."""
        store = await cls.open(url)
        try:
            yield store
        finally:
            await store.close()

    async def close(self) -> None:
        await self._single_flight.close()
        await self.engine.dispose()

    def single_flight(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold `key` (e.g. a baseline's repository, workflow and branch) against every other holder, in this process
        and, on PostgreSQL, in every process: the first fetches and writes back, the others then read the store."""
        return self._single_flight.hold(key)

    # Writing history

    async def ingest(self, events: Iterable[WorkflowRunEvent | WorkflowJobEvent]) -> None:
        """Record `workflow_run` and `workflow_job` events (any action, any order, redelivered or not) in one
        transaction."""
        batch = _Batch()
        for event in events:
            batch.add_event(event)
        async with self.engine.begin() as connection:
            await batch.write(connection, self._known)
        self._known.written(batch)

    async def record_attempt(self, repository: Repository, run: WorkflowRun, jobs: Sequence[WorkflowJob]) -> None:
        """Record a run attempt with the complete list of its jobs as the API gave them (write-back after a fetch)."""
        batch = _Batch()
        batch.add_repository(repository, _latest(run.updated_at, run.created_at))
        batch.add_run(run)
        for job in jobs:
            batch.add_job(job)
        runs = schema.runs
        async with self.engine.begin() as connection:
            await batch.write(connection, self._known)
            await connection.execute(
                update(runs)
                .where(
                    runs.c.repository_id == run.repository_id, runs.c.run_id == run.id, runs.c.attempt == run.attempt
                )
                .values(jobs_listed=True)
            )
        self._known.written(batch)

    async def record_installation(
        self, installation: Installation, repositories: Sequence[Repository], *, now: datetime
    ) -> None:
        """An installation and repositories it was given access to (`installation` / `installation_repositories`)."""
        batch = _Batch()
        batch.add_installation(installation, now)
        for repository in repositories:
            batch.add_repository(repository, now)
        installations, repos = schema.installations, schema.repositories
        async with self.engine.begin() as connection:
            await batch.write(connection, None)
            await connection.execute(
                update(installations).where(installations.c.id == installation.id).values(removed_at=None)
            )
            if repositories:
                ids = [repository.id for repository in repositories]
                await connection.execute(update(repos).where(repos.c.id.in_(ids)).values(removed_at=None))
        self._known.written(batch)

    async def remove_installation(self, installation_id: int, *, now: datetime) -> None:
        """The App was uninstalled: the installation and its repositories are marked removed (history stays until
        retention)."""
        installations, repos = schema.installations, schema.repositories
        async with self.engine.begin() as connection:
            await connection.execute(
                update(installations).where(installations.c.id == installation_id).values(removed_at=now)
            )
            await connection.execute(
                update(repos).where(repos.c.installation_id == installation_id).values(removed_at=now)
            )
        self._known.clear()

    async def remove_repositories(self, repository_ids: Sequence[int], *, now: datetime) -> None:
        """Repositories the installation no longer gives access to."""
        repos = schema.repositories
        async with self.engine.begin() as connection:
            await connection.execute(update(repos).where(repos.c.id.in_(list(repository_ids))).values(removed_at=now))
        self._known.clear()

    # Reading history

    async def repository(self, full_name: str) -> Repository | None:
        """The repository with this name (the most recently seen one, if a rename left two)."""
        repos = schema.repositories
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(repos)
                    .where(repos.c.full_name == full_name, repos.c.removed_at.is_(None))
                    .order_by(repos.c.seen_at.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return Repository(row.id, row.full_name, row.installation_id, row.default_branch)

    async def repositories(self, installation_id: int | None = None) -> list[Repository]:
        """Repositories the App has access to (of one installation, or all), by name."""
        repos = schema.repositories
        query = select(repos).where(repos.c.removed_at.is_(None)).order_by(repos.c.full_name)
        if installation_id is not None:
            query = query.where(repos.c.installation_id == installation_id)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [Repository(row.id, row.full_name, row.installation_id, row.default_branch) for row in rows]

    async def baseline_runs(
        self,
        repository_id: int,
        workflow_id: int,
        branches: Sequence[str],
        *,
        events: Sequence[str] = (),
        created_before: datetime | None = None,
        count: int = 20,
        conclusions: Sequence[str] = (),
    ) -> list[StoredRun]:
        """The `count` newest completed runs of a workflow on `branches`, created before `created_before`, oldest
        first, each at its latest attempt, with that attempt's jobs. `events` and `conclusions` narrow the runs
        (empty: any); "the last 20 successful push runs on main" is `events=["push"], conclusions=["success"]`."""
        runs, later = schema.runs, schema.runs.alias("later")
        newer_attempt = exists().where(
            later.c.repository_id == runs.c.repository_id,
            later.c.run_id == runs.c.run_id,
            later.c.attempt > runs.c.attempt,
        )
        query = select(runs).where(
            runs.c.repository_id == repository_id,
            runs.c.workflow_id == workflow_id,
            runs.c.head_branch.in_(list(branches)),
            runs.c.status == "completed",
            ~newer_attempt,
        )
        if events:
            query = query.where(runs.c.event.in_(list(events)))
        if conclusions:
            query = query.where(runs.c.conclusion.in_(list(conclusions)))
        if created_before is not None:
            query = query.where(runs.c.created_at < created_before)
        query = query.order_by(runs.c.created_at.desc(), runs.c.run_id.desc()).limit(count)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
            stored = await self._with_jobs(connection, repository_id, rows)
        return stored[::-1]

    async def run_attempts(self, repository_id: int, run_id: int) -> list[StoredRun]:
        """Every attempt of a run the store holds, first attempt first."""
        runs = schema.runs
        query = (
            select(runs).where(runs.c.repository_id == repository_id, runs.c.run_id == run_id).order_by(runs.c.attempt)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
            return await self._with_jobs(connection, repository_id, rows)

    async def running_workflows(self, repository_id: int, head_sha: str) -> dict[int, str]:
        """The workflows (id → name) with a run on this commit whose latest attempt has not completed."""
        runs, later = schema.runs, schema.runs.alias("later")
        newer_attempt = exists().where(
            later.c.repository_id == runs.c.repository_id,
            later.c.run_id == runs.c.run_id,
            later.c.attempt > runs.c.attempt,
        )
        query = (
            select(runs.c.workflow_id, runs.c.workflow_name, runs.c.workflow_path)
            .where(
                runs.c.repository_id == repository_id,
                runs.c.head_sha == head_sha,
                runs.c.status.is_distinct_from("completed"),
                ~newer_attempt,
            )
            .order_by(runs.c.workflow_id)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {row.workflow_id: row.workflow_name or row.workflow_path for row in rows}

    async def _with_jobs(
        self, connection: AsyncConnection, repository_id: int, rows: Sequence[Row[Any]]
    ) -> list[StoredRun]:
        """The runs with the jobs of their attempts. After a partial re-run, attempt N's jobs are, per job name, the
        job of the latest attempt up to N (jobs that were not re-run keep the attempt they ran in)."""
        if not rows:
            return []
        jobs_table, steps_table = schema.jobs, schema.steps
        run_ids = sorted({row.run_id for row in rows})
        job_rows: list[Row[Any]] = []
        for chunk in _chunks(run_ids):
            query = select(jobs_table).where(
                jobs_table.c.repository_id == repository_id, jobs_table.c.run_id.in_(chunk)
            )
            job_rows.extend((await connection.execute(query)).all())
        steps_of: dict[int, list[StepRecord]] = defaultdict(list)
        job_ids = sorted(row.id for row in job_rows)
        for chunk in _chunks(job_ids):
            query = select(steps_table).where(steps_table.c.job_id.in_(chunk)).order_by(steps_table.c.number)
            for step in (await connection.execute(query)).all():
                steps_of[step.job_id].append(_step(step))
        jobs_of_run: dict[int, list[Row[Any]]] = defaultdict(list)
        for job in job_rows:
            jobs_of_run[job.run_id].append(job)
        stored = []
        for row in rows:
            chosen: dict[str, Row[Any]] = {}
            for job in jobs_of_run[row.run_id]:
                if job.run_attempt > row.attempt:
                    continue
                kept = chosen.get(job.name)
                if kept is None or (job.run_attempt, job.id) > (kept.run_attempt, kept.id):
                    chosen[job.name] = job
            ordered = sorted(chosen.values(), key=lambda job: (job.created_at or EPOCH, job.id))
            records = tuple(
                JobRecord(
                    name=job.name,
                    conclusion=job.conclusion,
                    created_at=job.created_at,
                    started_at=job.started_at,
                    completed_at=job.completed_at,
                    steps=tuple(steps_of[job.id]),
                    run_attempt=job.run_attempt,
                    html_url=job.html_url,
                    id=job.id,
                )
                for job in ordered
            )
            # Without a listing: the run completed, every job held completed, and one of them ran in this very
            # attempt (before its jobs arrive, a re-run would otherwise show the previous attempt's jobs).
            complete = row.jobs_listed or (
                row.status == "completed"
                and any(job.run_attempt == row.attempt for job in ordered)
                and all(job.status == "completed" for job in ordered)
            )
            stored.append(StoredRun(_run_record(row, records), complete, row.jobs_listed))
        return stored

    # Pull-request samples

    async def add_pr_sample(
        self,
        repository_id: int,
        pull_request: int,
        workflow_id: int,
        run_id: int,
        run_attempt: int,
        *,
        now: datetime,
        keep: int = PR_SAMPLES_KEPT,
    ) -> None:
        """Remember a compared run attempt of a pull request as a sample for its later comparisons; the `keep` most
        recent stay. The attempt's run and jobs must be in the store (`ingest` or `record_attempt`)."""
        samples = schema.pr_samples
        row = {
            "repository_id": repository_id,
            "pull_request": pull_request,
            "workflow_id": workflow_id,
            "run_id": run_id,
            "run_attempt": run_attempt,
            "recorded_at": now,
        }
        place = and_(
            samples.c.repository_id == repository_id,
            samples.c.pull_request == pull_request,
            samples.c.workflow_id == workflow_id,
        )
        async with self.engine.begin() as connection:
            await _execute_upsert(connection, samples, [row], newer=None)
            kept = (
                await connection.execute(
                    select(samples.c.run_id, samples.c.run_attempt)
                    .where(place)
                    .order_by(samples.c.recorded_at.desc(), samples.c.run_id.desc(), samples.c.run_attempt.desc())
                    .offset(keep)
                )
            ).all()
            for old in kept:
                await connection.execute(
                    delete(samples).where(
                        place, samples.c.run_id == old.run_id, samples.c.run_attempt == old.run_attempt
                    )
                )

    # Confirming re-runs

    async def confirmations(self, repository_id: int, pull_request: int) -> set[tuple[str, int]]:
        """The (head SHA, workflow id) of each confirming re-run asked for on a pull request."""
        table = schema.confirmations
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(table.c.head_sha, table.c.workflow_id).where(
                    table.c.repository_id == repository_id, table.c.pull_request == pull_request
                )
            )
            return {(row.head_sha, row.workflow_id) for row in rows}

    async def claim_confirmation(
        self, repository_id: int, pull_request: int, head_sha: str, workflow_id: int, *, now: datetime
    ) -> bool:
        """Note a confirming re-run of a commit's workflow: True for the first claim, False when it was claimed
        before (a redelivery, another instance), so that only one of them asks GitHub."""
        row = {
            "repository_id": repository_id,
            "pull_request": pull_request,
            "head_sha": head_sha,
            "workflow_id": workflow_id,
            "asked_at": now,
        }
        table = schema.confirmations
        async with self.engine.begin() as connection:
            insert = dialect_insert(connection.dialect.name, table)
            statement = insert.on_conflict_do_nothing(index_elements=[c.name for c in table.primary_key])
            return (await connection.execute(statement.returning(table.c.head_sha), row)).first() is not None

    async def pr_samples(self, repository_id: int, pull_request: int, workflow_id: int) -> list[StoredRun]:
        """The remembered samples of a pull request's workflow, oldest first (those whose run is still stored)."""
        samples, runs = schema.pr_samples, schema.runs
        query = (
            select(runs)
            .join(
                samples,
                and_(
                    samples.c.repository_id == runs.c.repository_id,
                    samples.c.run_id == runs.c.run_id,
                    samples.c.run_attempt == runs.c.attempt,
                ),
            )
            .where(
                samples.c.repository_id == repository_id,
                samples.c.pull_request == pull_request,
                samples.c.workflow_id == workflow_id,
            )
            .order_by(samples.c.recorded_at, samples.c.run_id, samples.c.run_attempt)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
            return await self._with_jobs(connection, repository_id, rows)

    # What the App posted

    async def _posted(self, repository_id: int, kind: str, place: str) -> dict[str, Posted]:
        posted = schema.posted
        query = select(posted.c.name, posted.c.github_id, posted.c.body, posted.c.annotations).where(
            posted.c.repository_id == repository_id, posted.c.kind == kind, posted.c.place == place
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {
            row.name: Posted(
                row.github_id,
                row.body,
                None if row.annotations is None else frozenset(tuple(key) for key in row.annotations),
            )
            for row in rows
        }

    async def _remember(
        self, repository_id: int, kind: str, place: str, name: str, posted: Posted, now: datetime
    ) -> None:
        row = {
            "repository_id": repository_id,
            "kind": kind,
            "place": place,
            "name": name,
            "github_id": posted.github_id,
            "updated_at": now,
            "body": posted.body,
            "annotations": None if posted.annotations is None else sorted(list(key) for key in posted.annotations),
        }
        table = schema.posted
        async with self.engine.begin() as connection:
            insert = dialect_insert(connection.dialect.name, table)
            keys = [column.name for column in table.primary_key]
            # The last post wins: posts to one place are serialised by the publisher (`single_flight`).
            statement = insert.on_conflict_do_update(
                index_elements=keys, set_={name: insert.excluded[name] for name in row if name not in keys}
            )
            await connection.execute(statement, row)

    async def _forget(self, repository_id: int, kind: str, place: str, name: str) -> None:
        posted = schema.posted
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(posted).where(
                    posted.c.repository_id == repository_id,
                    posted.c.kind == kind,
                    posted.c.place == place,
                    posted.c.name == name,
                )
            )

    async def posted_comments(self, repository_id: int, pull_request: int) -> dict[str, Posted]:
        """The App's comments on a pull request, by marker, with the bodies last posted."""
        return await self._posted(repository_id, "comment", str(pull_request))

    async def remember_comment(
        self, repository_id: int, pull_request: int, marker: str, comment_id: int, *, body: str, now: datetime
    ) -> None:
        await self._remember(repository_id, "comment", str(pull_request), marker, Posted(comment_id, body), now)

    async def forget_comment(self, repository_id: int, pull_request: int, marker: str) -> None:
        """The comment is gone (GitHub answered 404): the next report posts a new one."""
        await self._forget(repository_id, "comment", str(pull_request), marker)

    async def posted_check_runs(self, repository_id: int, head_sha: str) -> dict[str, Posted]:
        """The App's check runs on a commit, by name, with the keys of the annotations each shows."""
        return await self._posted(repository_id, "check_run", head_sha)

    async def remember_check_run(
        self,
        repository_id: int,
        head_sha: str,
        name: str,
        check_run_id: int,
        *,
        annotations: Iterable[AnnotationKey],
        now: datetime,
    ) -> None:
        posted = Posted(check_run_id, annotations=frozenset(annotations))
        await self._remember(repository_id, "check_run", head_sha, name, posted, now)

    async def forget_check_run(self, repository_id: int, head_sha: str, name: str) -> None:
        await self._forget(repository_id, "check_run", head_sha, name)

    # Backfill

    async def backfill_progress(self, repository_id: int) -> BackfillProgress | None:
        backfills = schema.backfills
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(backfills).where(backfills.c.repository_id == repository_id))
            ).first()
        return None if row is None else BackfillProgress(**row._mapping)

    async def all_backfills(self) -> list[BackfillProgress]:
        """Every repository's backfill progress (for `ci-orchestrator status`)."""
        backfills = schema.backfills
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(backfills).order_by(backfills.c.repository_id))).all()
        return [BackfillProgress(**row._mapping) for row in rows]

    async def save_backfill_progress(self, progress: BackfillProgress) -> None:
        row = {
            "repository_id": progress.repository_id,
            "branch": progress.branch,
            "since": progress.since,
            "cursor": progress.cursor,
            "runs_fetched": progress.runs_fetched,
            "started_at": progress.started_at,
            "updated_at": progress.updated_at,
            "finished_at": progress.finished_at,
        }
        async with self.engine.begin() as connection:
            await _execute_upsert(connection, schema.backfills, [row], newer="updated_at")

    # Retention

    async def apply_retention(
        self, *, now: datetime, history_days: float = HISTORY_DAYS, delivery_days: float = DELIVERY_DAYS
    ) -> RetentionResult:
        """Delete history older than `history_days` (runs by creation, jobs with their steps, PR samples, posted ids,
        test sessions) and finished deliveries received more than `delivery_days` ago. For a periodic task."""
        cutoff = now - timedelta(days=history_days)
        deliveries_cutoff = now - timedelta(days=delivery_days)
        runs, prs = schema.runs, schema.run_pull_requests
        statements = {
            "jobs": delete(schema.jobs).where(schema.jobs.c.created_at < cutoff),
            "job_totals": delete(schema.job_totals).where(schema.job_totals.c.day < cutoff.date()),
            "runs": delete(runs).where(runs.c.created_at < cutoff),
            "run_pull_requests": delete(prs).where(
                ~exists().where(runs.c.repository_id == prs.c.repository_id, runs.c.run_id == prs.c.run_id)
            ),
            "pr_samples": delete(schema.pr_samples).where(schema.pr_samples.c.recorded_at < cutoff),
            "confirmations": delete(schema.confirmations).where(schema.confirmations.c.asked_at < cutoff),
            "posted": delete(schema.posted).where(schema.posted.c.updated_at < cutoff),
            "deliveries": delete(schema.deliveries).where(
                schema.deliveries.c.state.not_in(schema.UNFINISHED_STATES),
                schema.deliveries.c.received_at < deliveries_cutoff,
            ),
        }
        deleted = {}
        async with self.engine.begin() as connection:
            for table, statement in statements.items():
                deleted[table] = (await connection.execute(statement)).rowcount
        deleted["test_sessions"] = await self.sessions.delete_older_than(cutoff)
        return RetentionResult(deleted)

    async def counts(self) -> dict[str, int]:
        """Rows per table (for `ci-orchestrator status` and the benchmark)."""
        async with self.engine.connect() as connection:
            return {
                table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for table in schema.metadata.sorted_tables
            }
