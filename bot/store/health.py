"""The store's side of health reports: aggregating queries that feed `bot.health`, the health schedule shared by
every instance, the last summary of each report and the alerts already sent.

Nothing here loads a repository's whole history: runs and the chosen jobs' executions on the default branch come
one row per run; flaky commits, job executions, recent outcomes, queue-time histograms and minutes are
aggregated by the database (GROUP BY, window functions), so a report reads thousands of rows, not millions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.health.model import (
    QUEUE_BIN_EDGES,
    FlakyCommit,
    HealthData,
    HealthOptions,
    JobExecutions,
    JobFailure,
    JobOutcomes,
    JobPoint,
    MinutesRow,
    Period,
    QueueBin,
    RunPoint,
)
from bot.store import schema

FAILED = ("failure", "timed_out", "startup_failure")
PASSED = ("success", "neutral")


def _seconds(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """Seconds from `start` to `end` (timestamp columns), computed by the database."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _billed_minutes(dialect: str, seconds: ColumnElement[float]) -> ColumnElement[int]:
    """A job's seconds rounded up to whole minutes, as GitHub bills them."""
    minutes = seconds / 60.0
    if dialect == "postgresql":
        return cast(func.ceil(minutes), Integer)
    whole = cast(minutes, Integer)  # SQLite truncates towards zero
    return case((whole < minutes, whole + 1), else_=whole)


def _queue_bin(seconds: ColumnElement[float]) -> ColumnElement[int]:
    """The index of the `QUEUE_BIN_EDGES` bin a queue time falls in (the number of edges at or below it)."""
    return case(*((seconds < edge, index) for index, edge in enumerate(QUEUE_BIN_EDGES)), else_=len(QUEUE_BIN_EDGES))


def _labels(text: str | None) -> str:
    try:
        labels = json.loads(text or "[]")
    except ValueError:
        return ""
    return ", ".join(str(label) for label in labels) if isinstance(labels, list) else ""


class HealthStore:
    """Health queries and state on the store's engine (`Store.health`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # ---- what a report is computed from ----------------------------------------------------------------------

    async def health_data(
        self,
        repository_id: int,
        repository: str,
        default_branch: str,
        *,
        now: datetime,
        options: HealthOptions,
        events: Sequence[str] = ("push",),
    ) -> HealthData:
        """The report's inputs for the window of `options.window_days` ending at `now` and the window before it."""
        window = Period(now - timedelta(days=options.window_days), now)
        previous = Period(window.start - timedelta(days=options.window_days), window.start)
        runs, jobs = schema.runs, schema.jobs
        later = runs.alias("later")
        default_runs = (
            select(runs.c.run_id)
            .where(
                runs.c.repository_id == repository_id,
                runs.c.head_branch == default_branch,
                runs.c.event.in_(list(events)),
                runs.c.created_at >= previous.start - timedelta(days=1),
                runs.c.created_at < now,
            )
            .scalar_subquery()
        )
        job_seconds = _seconds(self.dialect, jobs.c.started_at, jobs.c.completed_at)
        on_default_branch = and_(
            jobs.c.repository_id == repository_id,
            jobs.c.head_branch == default_branch,
            jobs.c.run_id.in_(default_runs),
        )
        workflow_name = func.coalesce(jobs.c.workflow_name, "")

        run_query = select(
            runs.c.workflow_id,
            runs.c.workflow_name,
            runs.c.workflow_path,
            runs.c.run_id,
            runs.c.attempt,
            runs.c.head_sha,
            runs.c.conclusion,
            runs.c.created_at,
            _seconds(self.dialect, runs.c.run_started_at, runs.c.updated_at).label("wall"),
            runs.c.html_url,
        ).where(
            runs.c.repository_id == repository_id,
            runs.c.head_branch == default_branch,
            runs.c.event.in_(list(events)),
            runs.c.status == "completed",
            runs.c.created_at >= previous.start,
            runs.c.created_at < now,
            ~exists().where(
                later.c.repository_id == runs.c.repository_id,
                later.c.run_id == runs.c.run_id,
                later.c.attempt > runs.c.attempt,
            ),
        )
        busiest_jobs = (
            select(workflow_name.label("workflow_name"), jobs.c.name)
            .where(
                on_default_branch,
                jobs.c.conclusion == "success",
                jobs.c.created_at >= window.start,
                jobs.c.created_at < now,
            )
            .group_by(workflow_name, jobs.c.name)
            .order_by(func.sum(job_seconds).desc(), workflow_name, jobs.c.name)
            .limit(options.jobs)
        )
        flaky_since = min(window.start, now - timedelta(days=options.flaky_recovery_days))
        failed = jobs.c.conclusion.in_(FAILED)
        flaky_query = (
            select(
                workflow_name.label("workflow_name"),
                jobs.c.name,
                jobs.c.head_sha,
                func.sum(case((failed, 1), else_=0)).label("failures"),
                func.sum(case((jobs.c.conclusion == "success", 1), else_=0)).label("successes"),
                func.sum(case((failed, job_seconds), else_=0.0)).label("failed_seconds"),
                func.max(jobs.c.created_at).label("last_seen"),
            )
            .where(
                jobs.c.repository_id == repository_id,
                jobs.c.status == "completed",
                jobs.c.head_sha.is_not(None),
                jobs.c.created_at >= flaky_since,
                jobs.c.created_at < now,
            )
            .group_by(workflow_name, jobs.c.name, jobs.c.head_sha)
            .having(
                and_(
                    func.sum(case((failed, 1), else_=0)) > 0,
                    func.sum(case((jobs.c.conclusion == "success", 1), else_=0)) > 0,
                )
            )
        )
        async with self.engine.connect() as connection:
            run_rows = (await connection.execute(run_query)).all()
            chosen = [(row.workflow_name, row.name) for row in (await connection.execute(busiest_jobs)).all()]
            point_rows = []
            if chosen:
                point_query = select(
                    workflow_name.label("workflow_name"),
                    jobs.c.name,
                    jobs.c.run_id,
                    jobs.c.head_sha,
                    jobs.c.created_at,
                    job_seconds.label("seconds"),
                    jobs.c.html_url,
                ).where(
                    on_default_branch,
                    jobs.c.conclusion == "success",
                    jobs.c.created_at >= previous.start,
                    jobs.c.created_at < now,
                    tuple_(workflow_name, jobs.c.name).in_(chosen),
                )
                point_rows = (await connection.execute(point_query)).all()
            flaky_rows = (await connection.execute(flaky_query)).all()
            flaky_jobs = sorted({(row.workflow_name, row.name) for row in flaky_rows})
            execution_rows = []
            if flaky_jobs:
                execution_query = (
                    select(
                        workflow_name.label("workflow_name"),
                        jobs.c.name,
                        func.count(func.distinct(jobs.c.head_sha)).label("commits"),
                    )
                    .where(
                        jobs.c.repository_id == repository_id,
                        jobs.c.status == "completed",
                        jobs.c.created_at >= window.start,
                        jobs.c.created_at < now,
                        tuple_(workflow_name, jobs.c.name).in_(flaky_jobs),
                    )
                    .group_by(workflow_name, jobs.c.name)
                )
                execution_rows = (await connection.execute(execution_query)).all()
            outcomes_query, streaks_query = self._outcome_queries(self._final_outcomes(on_default_branch, window))
            outcome_rows = (await connection.execute(outcomes_query)).all()
            streak_rows = (await connection.execute(streaks_query)).all()
            queue_rows = (await connection.execute(self._queue_histogram(repository_id, previous, window))).all()
            minutes_rows = (await connection.execute(self._minutes(repository_id, window))).all()

        return HealthData(
            repository=repository,
            default_branch=default_branch,
            now=now,
            window=window,
            previous=previous,
            runs=tuple(
                RunPoint(
                    workflow_id=row.workflow_id,
                    workflow_name=row.workflow_name,
                    workflow_path=row.workflow_path,
                    run_id=row.run_id,
                    attempt=row.attempt,
                    head_sha=row.head_sha,
                    conclusion=row.conclusion,
                    created_at=row.created_at,
                    wall_seconds=None if row.wall is None else float(row.wall),
                    html_url=row.html_url,
                )
                for row in run_rows
                if row.created_at is not None
            ),
            job_points=tuple(
                JobPoint(
                    row.workflow_name,
                    row.name,
                    row.run_id,
                    row.head_sha or "",
                    row.created_at,
                    float(row.seconds),
                    row.html_url,
                )
                for row in point_rows
                if row.seconds is not None and row.created_at is not None
            ),
            flaky_commits=tuple(
                FlakyCommit(
                    row.workflow_name,
                    row.name,
                    row.head_sha,
                    int(row.failures),
                    int(row.successes),
                    float(row.failed_seconds or 0.0),
                    row.last_seen,
                )
                for row in flaky_rows
            ),
            job_executions=tuple(
                JobExecutions(row.workflow_name, row.name, int(row.commits)) for row in execution_rows
            ),
            job_outcomes=tuple(
                JobOutcomes(
                    row.workflow_name, row.name, int(row.decided), int(row.failures), row.last_success, row.latest
                )
                for row in outcome_rows
                if row.latest is not None
            ),
            failing_streaks=tuple(
                JobFailure(row.workflow_name, row.name, row.run_id, row.head_sha or "", row.created_at, row.html_url)
                for row in streak_rows
            ),
            queue=tuple(
                QueueBin(_labels(row.labels), bool(row.current), int(row.bin), int(row.jobs)) for row in queue_rows
            ),
            minutes=tuple(
                MinutesRow(
                    row.workflow_name,
                    _labels(row.labels),
                    bool(row.rerun),
                    int(row.jobs),
                    float(row.seconds or 0.0),
                    int(row.billed or 0),
                )
                for row in minutes_rows
            ),
        )

    def _final_outcomes(self, on_default_branch: ColumnElement[bool], window: Period) -> Any:
        """Every job's final attempt in each default-branch run of the window (a subquery)."""
        jobs = schema.jobs
        return (
            select(
                func.coalesce(jobs.c.workflow_name, "").label("workflow_name"),
                jobs.c.name,
                jobs.c.run_id,
                jobs.c.head_sha,
                jobs.c.created_at,
                jobs.c.conclusion,
                jobs.c.html_url,
                func.row_number()
                .over(partition_by=(jobs.c.run_id, jobs.c.name), order_by=(jobs.c.run_attempt.desc(), jobs.c.id.desc()))
                .label("attempt_rank"),
            )
            .where(
                on_default_branch,
                jobs.c.status == "completed",
                jobs.c.created_at >= window.start,
                jobs.c.created_at < window.end,
            )
            .subquery("final")
        )

    @staticmethod
    def _outcome_queries(final: Any) -> tuple[Any, Any]:
        """Per job: runs decided, failures, last success, latest decided run; and its failures after that success."""
        passed = final.c.conclusion.in_(PASSED)
        failed = final.c.conclusion.in_(FAILED)
        per_job = (
            select(
                final.c.workflow_name,
                final.c.name,
                func.sum(case((or_(passed, failed), 1), else_=0)).label("decided"),
                func.sum(case((failed, 1), else_=0)).label("failures"),
                func.max(case((passed, final.c.run_id), else_=None)).label("last_success"),
                func.max(case((or_(passed, failed), final.c.run_id), else_=None)).label("latest"),
            )
            .where(final.c.attempt_rank == 1)
            .group_by(final.c.workflow_name, final.c.name)
        )
        outcomes = per_job.subquery("outcomes")
        streaks = (
            select(
                final.c.workflow_name,
                final.c.name,
                final.c.run_id,
                final.c.head_sha,
                final.c.created_at,
                final.c.html_url,
            )
            .join(outcomes, and_(outcomes.c.workflow_name == final.c.workflow_name, outcomes.c.name == final.c.name))
            .where(final.c.attempt_rank == 1, failed, final.c.run_id > func.coalesce(outcomes.c.last_success, 0))
        )
        return per_job, streaks

    def _queue_histogram(self, repository_id: int, previous: Period, window: Period) -> Any:
        jobs = schema.jobs
        waited = _seconds(self.dialect, jobs.c.created_at, jobs.c.started_at)
        labels = cast(jobs.c.labels, Text)
        current = case((jobs.c.created_at >= window.start, 1), else_=0)
        bin_index = _queue_bin(waited)
        return (
            select(labels.label("labels"), current.label("current"), bin_index.label("bin"), func.count().label("jobs"))
            .where(
                jobs.c.repository_id == repository_id,
                jobs.c.started_at.is_not(None),
                jobs.c.created_at >= previous.start,
                jobs.c.created_at < window.end,
            )
            .group_by(labels, current, bin_index)
        )

    def _minutes(self, repository_id: int, window: Period) -> Any:
        jobs = schema.jobs
        seconds = _seconds(self.dialect, jobs.c.started_at, jobs.c.completed_at)
        labels = cast(jobs.c.labels, Text)
        rerun = case((jobs.c.run_attempt > 1, 1), else_=0)
        workflow_name = func.coalesce(jobs.c.workflow_name, "")
        return (
            select(
                workflow_name.label("workflow_name"),
                labels.label("labels"),
                rerun.label("rerun"),
                func.count().label("jobs"),
                func.sum(seconds).label("seconds"),
                func.sum(_billed_minutes(self.dialect, seconds)).label("billed"),
            )
            .where(
                jobs.c.repository_id == repository_id,
                jobs.c.started_at.is_not(None),
                jobs.c.completed_at.is_not(None),
                jobs.c.created_at >= window.start,
                jobs.c.created_at < window.end,
            )
            .group_by(workflow_name, labels, rerun)
        )

    # ---- the schedule ------------------------------------------------------------------------------------------

    async def schedule(self, scopes: Sequence[str], *, due_at: datetime) -> None:
        """Add these scopes to the schedule, due at `due_at`; scopes already there keep their time."""
        if not scopes:
            return
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(schema.health_schedule)
        rows = [{"scope": scope, "due_at": due_at} for scope in scopes]
        async with self.engine.begin() as connection:
            await connection.execute(insert.on_conflict_do_nothing(index_elements=["scope"]), rows)

    async def make_due(self, scopes: Sequence[str], *, now: datetime) -> None:
        """Bring these scopes' next refresh forward to `now` (added if absent)."""
        await self.schedule(scopes, due_at=now)
        table = schema.health_schedule
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table).where(table.c.scope.in_(list(scopes)), table.c.due_at > now).values(due_at=now)
            )

    async def claim_due(self, owner: str, *, now: datetime, lease: timedelta, limit: int = 20) -> list[str]:
        """Claim up to `limit` scopes that are due and not claimed by a live holder; each is claimed by one caller
        only, across processes (a conditional UPDATE per scope: the one whose update changed the row has it)."""
        table = schema.health_schedule
        free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
        async with self.engine.connect() as connection:
            candidates = (
                (
                    await connection.execute(
                        select(table.c.scope).where(table.c.due_at <= now, free).order_by(table.c.due_at).limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        claimed = []
        for scope in candidates:
            async with self.engine.begin() as connection:
                result = await connection.execute(
                    update(table)
                    .where(table.c.scope == scope, table.c.due_at <= now, free)
                    .values(claimed_by=owner, claimed_until=now + lease)
                )
            if result.rowcount == 1:
                claimed.append(scope)
        return claimed

    async def finish(self, scope: str, owner: str, *, next_due: datetime) -> None:
        """A claimed refresh is done: due again at `next_due`."""
        table = schema.health_schedule
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.scope == scope, table.c.claimed_by == owner)
                .values(due_at=next_due, claimed_by=None, claimed_until=None)
            )

    async def release(self, scope: str, owner: str, *, retry_at: datetime) -> None:
        """A claimed refresh failed: let it be claimed again from `retry_at`."""
        table = schema.health_schedule
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.scope == scope, table.c.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None, due_at=retry_at)
            )

    async def save_summary(self, scope: str, summary: dict[str, Any], *, now: datetime) -> None:
        """Keep what a report found (for the roll-up and for "new since last time"), whoever refreshed it."""
        await self.schedule([scope], due_at=now)
        table = schema.health_schedule
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table).where(table.c.scope == scope).values(summary=summary, refreshed_at=now)
            )

    async def summary(self, scope: str) -> dict[str, Any] | None:
        table = schema.health_schedule
        async with self.engine.connect() as connection:
            found = (await connection.execute(select(table.c.summary).where(table.c.scope == scope))).scalar()
        return found if isinstance(found, dict) else None

    async def summaries(self, scopes: Sequence[str]) -> dict[str, dict[str, Any]]:
        table = schema.health_schedule
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(table.c.scope, table.c.summary).where(
                        table.c.scope.in_(list(scopes)), table.c.summary.is_not(None)
                    )
                )
            ).all()
        return {row.scope: row.summary for row in rows if isinstance(row.summary, dict)}

    # ---- alerts ------------------------------------------------------------------------------------------------

    async def claim_alerts(self, scope: str, findings: Sequence[str], *, now: datetime) -> list[str]:
        """The findings not alerted yet, marked alerted now (once per finding, whoever asks first)."""
        if not findings:
            return []
        table = schema.health_alerts
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        async with self.engine.begin() as connection:
            known = set(
                (
                    await connection.execute(
                        select(table.c.finding).where(table.c.scope == scope, table.c.finding.in_(list(findings)))
                    )
                ).scalars()
            )
            fresh = [finding for finding in dict.fromkeys(findings) if finding not in known]
            if fresh:
                statement = insert.on_conflict_do_nothing(index_elements=["scope", "finding"]).returning(
                    table.c.finding
                )
                rows = [{"scope": scope, "finding": finding, "notified_at": now} for finding in fresh]
                claimed = set()
                for row in rows:
                    claimed.update((await connection.execute(statement, row)).scalars())
                fresh = [finding for finding in fresh if finding in claimed]
        return fresh


def repository_scope(repository_id: int) -> str:
    return f"repository:{repository_id}"


def organization_scope(login: str) -> str:
    return f"organization:{login.lower()}"
