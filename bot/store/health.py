"""The store's side of health reports: aggregating queries that feed `bot.health`, the health schedule shared by
every instance, the last summary of each report and the alerts already sent.

Nothing here loads a repository's whole history: runs and the chosen jobs' executions on the default branch come
one row per run; flaky commits, job executions, recent outcomes, queue-time histograms and minutes are
aggregated by the database (GROUP BY, window functions), so a report reads thousands of rows, not millions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.health.model import (
    FlakyCommit,
    HealthData,
    HealthOptions,
    JobExecutions,
    JobFailure,
    JobOutcomes,
    JobPoint,
    MinutesRow,
    Period,
    QueueTimes,
    RunPoint,
)
from bot.store import schema
from bot.store.database import dialect_insert

FAILED = ("failure", "timed_out", "startup_failure")
PASSED = ("success", "neutral")


def _seconds(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """Seconds from `start` to `end` (timestamp columns), computed by the database."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _labels(text: str | None) -> str:
    try:
        labels = json.loads(text or "[]")
    except ValueError:
        return ""
    return ", ".join(str(label) for label in labels) if isinstance(labels, list) else ""


@dataclass(frozen=True)
class _Scope:
    """The queries of one report: a repository, its default branch and events, the window and the one before.

    Each query reads through an index on (repository, time) or (repository, branch, time); failures are found
    through the partial index on failed jobs, so flaky commits and broken jobs never scan the window's jobs.
    """

    dialect: str
    repository_id: int
    default_branch: str
    events: tuple[str, ...]
    window: Period
    previous: Period

    def _default_runs(self) -> Any:
        """Ids of the default branch's runs of the counted events (a subquery)."""
        runs = schema.runs
        return select(runs.c.run_id).where(
            runs.c.repository_id == self.repository_id,
            runs.c.head_branch == self.default_branch,
            runs.c.event.in_(list(self.events)),
            runs.c.created_at >= self.previous.start - timedelta(days=1),
            runs.c.created_at < self.window.end,
        )

    def _on_default_branch(self) -> ColumnElement[bool]:
        jobs = schema.jobs
        return and_(
            jobs.c.repository_id == self.repository_id,
            jobs.c.head_branch == self.default_branch,
            jobs.c.run_id.in_(self._default_runs()),
        )

    @staticmethod
    def _job_seconds() -> Any:
        return schema.jobs.c.duration_seconds

    def runs(self) -> Any:
        """The latest attempt of every completed default-branch run of both windows."""
        runs = schema.runs
        later = runs.alias("later")
        return select(
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
            runs.c.repository_id == self.repository_id,
            runs.c.head_branch == self.default_branch,
            runs.c.event.in_(list(self.events)),
            runs.c.status == "completed",
            runs.c.created_at >= self.previous.start,
            runs.c.created_at < self.window.end,
            ~exists().where(
                later.c.repository_id == runs.c.repository_id,
                later.c.run_id == runs.c.run_id,
                later.c.attempt > runs.c.attempt,
            ),
        )

    def busiest_jobs(self, count: int) -> Any:
        """The `count` jobs with the most successful runner time on the default branch in the window."""
        jobs = schema.jobs
        workflow_name = _workflow_name()
        return (
            select(workflow_name.label("workflow_name"), jobs.c.name)
            .where(
                self._on_default_branch(),
                jobs.c.conclusion == "success",
                jobs.c.created_at >= self.window.start,
                jobs.c.created_at < self.window.end,
            )
            .group_by(workflow_name, jobs.c.name)
            .order_by(func.sum(self._job_seconds()).desc(), workflow_name, jobs.c.name)
            .limit(count)
        )

    def job_points(self, chosen: Sequence[tuple[str, str]]) -> Any:
        """Every successful default-branch execution of the chosen jobs in both windows: run, time and duration
        only, all read from the covering index `ix_jobs_branch_series` (commit and link come with the run)."""
        jobs = schema.jobs
        workflow_name = _workflow_name()
        return select(
            workflow_name.label("workflow_name"),
            jobs.c.name,
            jobs.c.run_id,
            jobs.c.created_at,
            self._job_seconds().label("seconds"),
        ).where(
            self._on_default_branch(),
            jobs.c.conclusion == "success",
            jobs.c.created_at >= self.previous.start,
            jobs.c.created_at < self.window.end,
            tuple_(workflow_name, jobs.c.name).in_(list(chosen)),
        )

    def _failed(self, table: Any, since: datetime) -> ColumnElement[bool]:
        """Failed jobs of the repository since `since`: the conclusions written as literals, as the partial index
        `ix_jobs_failed` says them, so that the database can use it."""
        return and_(
            table.c.repository_id == self.repository_id,
            table.c.conclusion.in_([literal_column(f"'{conclusion}'") for conclusion in FAILED]),
            table.c.created_at >= since,
            table.c.created_at < self.window.end,
        )

    def failures(self, since: datetime) -> Any:
        """Which jobs failed since `since`, and on which branch."""
        jobs = schema.jobs
        return (
            select(_workflow_name().label("workflow_name"), jobs.c.name, jobs.c.head_branch)
            .where(self._failed(jobs, since))
            .distinct()
        )

    def flaky_commits(self, since: datetime) -> Any:
        """(job, commit) pairs since `since` where the job both failed and succeeded. Only the commits of failures
        are read: their runs by head SHA, then those runs' jobs."""
        jobs, runs = schema.jobs, schema.runs
        failed = jobs.alias("failed")
        workflow_name = _workflow_name()
        failed_keys = select(func.coalesce(failed.c.workflow_name, ""), failed.c.name, failed.c.head_sha).where(
            self._failed(failed, since)
        )
        runs_of_failures = select(runs.c.run_id).where(
            runs.c.repository_id == self.repository_id,
            runs.c.head_sha.in_(select(failed.c.head_sha).where(self._failed(failed, since))),
        )
        is_failure = jobs.c.conclusion.in_(FAILED)
        failures = func.sum(case((is_failure, 1), else_=0))
        successes = func.sum(case((jobs.c.conclusion == "success", 1), else_=0))
        return (
            select(
                workflow_name.label("workflow_name"),
                jobs.c.name,
                jobs.c.head_sha,
                failures.label("failures"),
                successes.label("successes"),
                func.sum(case((is_failure, self._job_seconds()), else_=0.0)).label("failed_seconds"),
                func.max(jobs.c.created_at).label("last_seen"),
            )
            .where(
                jobs.c.repository_id == self.repository_id,
                jobs.c.run_id.in_(runs_of_failures),
                jobs.c.status == "completed",
                tuple_(workflow_name, jobs.c.name, jobs.c.head_sha).in_(failed_keys),
            )
            .group_by(workflow_name, jobs.c.name, jobs.c.head_sha)
            .having(and_(failures > 0, successes > 0))
        )

    def commits_per_workflow(self) -> Any:
        """How many commits each workflow ran on in the window (any branch): a flaky rate's denominator."""
        runs = schema.runs
        return (
            select(runs.c.workflow_name, func.count(func.distinct(runs.c.head_sha)).label("commits"))
            .where(
                runs.c.repository_id == self.repository_id,
                runs.c.created_at >= self.window.start,
                runs.c.created_at < self.window.end,
            )
            .group_by(runs.c.workflow_name)
        )

    def default_branch_executions(self, chosen: Sequence[tuple[str, str]]) -> Any:
        """Every completed attempt of the chosen jobs on the default branch in the window (for final outcomes)."""
        jobs = schema.jobs
        workflow_name = _workflow_name()
        return select(
            workflow_name.label("workflow_name"),
            jobs.c.name,
            jobs.c.id,
            jobs.c.run_id,
            jobs.c.run_attempt,
            jobs.c.head_sha,
            jobs.c.created_at,
            jobs.c.conclusion,
            jobs.c.html_url,
        ).where(
            self._on_default_branch(),
            jobs.c.status == "completed",
            jobs.c.created_at >= self.window.start,
            jobs.c.created_at < self.window.end,
            tuple_(workflow_name, jobs.c.name).in_(list(chosen)),
        )

    def _days(self) -> tuple[date, date, date]:
        """The UTC days of the daily totals: the previous window's first day, the window's first day, and today
        (each window is its `window_days` whole days, today included in the window)."""
        today = self.window.end.astimezone(UTC).date()
        length = self.window.end - self.window.start
        return today - 2 * length + timedelta(days=1), today - length + timedelta(days=1), today

    def queue_times(self) -> Any:
        """How many jobs waited how long for a runner, per label set, in each window's days (all branches)."""
        totals = schema.job_totals
        first, window_first, today = self._days()
        current = case((totals.c.day >= window_first, 1), else_=0)
        return (
            select(
                totals.c.labels,
                current.label("current"),
                totals.c.queue_seconds.label("seconds"),
                func.sum(totals.c.jobs).label("jobs"),
            )
            .where(totals.c.repository_id == self.repository_id, totals.c.day >= first, totals.c.day <= today)
            .group_by(totals.c.labels, current, totals.c.queue_seconds)
        )

    def minutes(self) -> Any:
        """Runner seconds and billed minutes per workflow, label set and first attempt or re-run, in the window's
        days."""
        totals = schema.job_totals
        _first, window_first, today = self._days()
        return (
            select(
                totals.c.workflow_name,
                totals.c.labels,
                totals.c.rerun,
                func.sum(totals.c.jobs).label("jobs"),
                func.sum(totals.c.seconds).label("seconds"),
                func.sum(totals.c.billed_minutes).label("billed"),
            )
            .where(totals.c.repository_id == self.repository_id, totals.c.day >= window_first, totals.c.day <= today)
            .group_by(totals.c.workflow_name, totals.c.labels, totals.c.rerun)
        )


def _workflow_name() -> ColumnElement[str]:
    return func.coalesce(schema.jobs.c.workflow_name, "")


def _final_outcomes(rows: Sequence[Row[Any]]) -> tuple[list[JobOutcomes], list[JobFailure]]:
    """Per job: its final attempt in each run (the latest attempt, then the highest job id), how many runs passed
    or failed, and its failures after its last success (the failing streak)."""
    final: dict[tuple[str, str, int], Row[Any]] = {}
    for row in rows:
        key = (row.workflow_name, row.name, row.run_id)
        kept = final.get(key)
        if kept is None or (row.run_attempt, row.id) > (kept.run_attempt, kept.id):
            final[key] = row
    per_job: dict[tuple[str, str], list[Row[Any]]] = {}
    for (workflow_name, name, _run_id), row in sorted(final.items(), key=lambda item: item[0][2]):
        if row.conclusion in PASSED or row.conclusion in FAILED:
            per_job.setdefault((workflow_name, name), []).append(row)
    outcomes, streaks = [], []
    for (workflow_name, name), decided in per_job.items():
        last_success = max((row.run_id for row in decided if row.conclusion in PASSED), default=None)
        failures = [row for row in decided if row.conclusion in FAILED]
        outcomes.append(JobOutcomes(workflow_name, name, len(decided), len(failures), last_success, decided[-1].run_id))
        streaks += [
            JobFailure(workflow_name, name, row.run_id, row.head_sha or "", row.created_at, row.html_url)
            for row in failures
            if last_success is None or row.run_id > last_success
        ]
    return outcomes, streaks


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
        scope = _Scope(self.dialect, repository_id, default_branch, tuple(events), window, previous)
        flaky_since = min(window.start, now - timedelta(days=options.flaky_recovery_days))
        async with self.engine.connect() as connection:

            async def rows(query: Any) -> Sequence[Row[Any]]:
                return (await connection.execute(query)).all()

            run_rows = await rows(scope.runs())
            busiest = [(row.workflow_name, row.name) for row in await rows(scope.busiest_jobs(options.jobs))]
            point_rows = await rows(scope.job_points(busiest)) if busiest else []
            failed_rows = await rows(scope.failures(flaky_since))
            flaky_rows = await rows(scope.flaky_commits(flaky_since)) if failed_rows else []
            commit_rows = await rows(scope.commits_per_workflow()) if flaky_rows else []
            failing = sorted({(r.workflow_name, r.name) for r in failed_rows if r.head_branch == default_branch})
            execution_rows = await rows(scope.default_branch_executions(failing)) if failing else []
            queue_rows = await rows(scope.queue_times())
            minutes_rows = await rows(scope.minutes())

        outcomes, streaks = _final_outcomes(execution_rows)
        commits = {row.run_id: (row.head_sha, row.html_url) for row in run_rows}
        flaky_names: dict[str, set[str]] = {}
        for row in flaky_rows:
            flaky_names.setdefault(row.workflow_name, set()).add(row.name)
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
                    commits.get(row.run_id, ("", None))[0],
                    row.created_at,
                    float(row.seconds),
                    commits.get(row.run_id, ("", None))[1],
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
                JobExecutions(row.workflow_name, name, int(row.commits))
                for row in commit_rows
                for name in sorted(flaky_names.get(row.workflow_name, ()))
            ),
            job_outcomes=tuple(outcomes),
            failing_streaks=tuple(streaks),
            queue=tuple(
                QueueTimes(_labels(row.labels), bool(row.current), int(row.seconds), int(row.jobs))
                for row in queue_rows
                if row.seconds is not None
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

    # ---- the schedule ------------------------------------------------------------------------------------------

    async def schedule(self, scopes: Sequence[str], *, due_at: datetime) -> None:
        """Add these scopes to the schedule, due at `due_at`; scopes already there keep their time."""
        if not scopes:
            return
        insert = dialect_insert(self.dialect, schema.health_schedule)
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

    async def claim_due(
        self, owner: str, *, now: datetime, lease: timedelta, prefix: str = "", limit: int = 20
    ) -> list[str]:
        """Claim up to `limit` scopes starting with `prefix` that are due and not claimed by a live holder; each is
        claimed by one caller only, across processes (a conditional UPDATE per scope: whose update changed the row
        has it)."""
        table = schema.health_schedule
        free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
        due = select(table.c.scope).where(
            table.c.due_at <= now, free, table.c.scope.startswith(prefix, autoescape=True)
        )
        async with self.engine.connect() as connection:
            candidates = (await connection.execute(due.order_by(table.c.due_at).limit(limit))).scalars().all()
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

    async def unclaim(self, scope: str, owner: str, *, due_at: datetime) -> None:
        """A claimed refresh is over: due again at `due_at` (the next one when it was done, a retry when it failed)."""
        table = schema.health_schedule
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.scope == scope, table.c.claimed_by == owner)
                .values(due_at=due_at, claimed_by=None, claimed_until=None)
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
        insert = dialect_insert(self.dialect, table)
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
                claimed: set[str] = set()
                for row in rows:
                    claimed.update((await connection.execute(statement, row)).scalars())
                fresh = [finding for finding in fresh if finding in claimed]
        return fresh
