"""The store's tables (SQLAlchemy Core), as the latest migration leaves them; `tests/test_store_migrations.py`
checks that the migrations build exactly this schema on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC (SQLite keeps no time zone: naive UTC there, `timestamptz` on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store: timestamps must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# An auto-increment 64-bit key: SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
SequenceKey = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

installations = Table(
    "installations",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", Text),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
)

repositories = Table(
    "repositories",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("installation_id", BigInteger),
    Column("full_name", Text, nullable=False),
    Column("default_branch", Text),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
    Index(None, "full_name"),
)

workflows = Table(
    "workflows",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, primary_key=True, autoincrement=False),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("workflow_id", BigInteger, nullable=False),
    Column("workflow_name", Text, nullable=False),
    Column("workflow_path", Text, nullable=False),
    Column("event", Text),
    Column("status", Text),
    Column("conclusion", Text),
    Column("head_branch", Text),
    Column("head_sha", Text, nullable=False),
    Column("created_at", UTCDateTime),
    Column("run_started_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("html_url", Text),
    Column("progress", BigInteger, nullable=False),
    # True once the jobs of this attempt were written from a complete API listing.
    Column("jobs_listed", Boolean, nullable=False, server_default=text("false")),
    # "The last N (successful) runs of workflow W on branch B created before T", newest first.
    Index("ix_runs_history", "repository_id", "workflow_id", "head_branch", "created_at"),
    Index(None, "repository_id", "head_sha"),
    Index(None, "created_at"),
)

run_pull_requests = Table(
    "run_pull_requests",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Index(None, "repository_id", "number"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("repository_id", BigInteger, nullable=False),
    Column("run_id", BigInteger, nullable=False),
    Column("run_attempt", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("workflow_name", Text),
    Column("status", Text),
    Column("conclusion", Text),
    Column("head_sha", Text),
    Column("head_branch", Text),
    Column("labels", JSON, nullable=False),
    Column("runner_name", Text),
    Column("created_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("html_url", Text),
    Column("progress", BigInteger, nullable=False),
    # Revision 4: whole seconds waited for a runner and run on it, computed at ingest (health reports sum them).
    Column("queue_seconds", Integer),
    Column("duration_seconds", Integer),
    Index(None, "repository_id", "run_id", "run_attempt"),
    Index(None, "created_at"),
)

steps = Table(
    "steps",
    metadata,
    Column("job_id", BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("conclusion", Text),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("progress", BigInteger, nullable=False),
)

pr_samples = Table(
    "pr_samples",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("pull_request", Integer, primary_key=True, autoincrement=False),
    Column("workflow_id", BigInteger, primary_key=True, autoincrement=False),
    Column("run_id", BigInteger, primary_key=True, autoincrement=False),
    Column("run_attempt", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

# Revision 6: the confirming re-runs asked for, per pull request (one per head commit and workflow).
confirmations = Table(
    "confirmations",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("pull_request", Integer, primary_key=True, autoincrement=False),
    Column("head_sha", Text, primary_key=True),
    Column("workflow_id", BigInteger, primary_key=True, autoincrement=False),
    Column("asked_at", UTCDateTime, nullable=False),
)

posted = Table(
    "posted",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("kind", Text, primary_key=True),  # "comment" (place: PR number) or "check_run" (place: head SHA)
    Column("place", Text, primary_key=True),
    Column("name", Text, primary_key=True),  # the comment's marker or the check run's name
    Column("github_id", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Revision 3: what it shows, as last posted: a comment's body, a check run's annotation keys.
    Column("body", Text),
    Column("annotations", JSON),
)

# Revision 2: the delivery journal and backfill progress.

UNFINISHED_STATES = ("queued", "running")

deliveries = Table(
    "deliveries",
    metadata,
    Column("seq", SequenceKey, primary_key=True, autoincrement=True),
    Column("delivery_id", Text, nullable=False, unique=True),
    Column("event", Text, nullable=False),
    Column("action", Text),
    Column("installation_id", BigInteger),
    Column("repository", Text),
    Column("ordering_key", Text),
    Column("received_at", UTCDateTime, nullable=False),
    Column("state", Text, nullable=False),  # queued, running, done, failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("owner", Text),
    Column("lease_until", UTCDateTime),
    Column("error", Text),
    Column("finished_at", UTCDateTime),
    Column("payload", LargeBinary, nullable=False),
    Index(
        "ix_deliveries_claimable",
        "next_attempt_at",
        postgresql_where=text("state IN ('queued', 'running')"),
        sqlite_where=text("state IN ('queued', 'running')"),
    ),
    Index(
        "ix_deliveries_line",
        "ordering_key",
        "received_at",
        postgresql_where=text("state IN ('queued', 'running')"),
        sqlite_where=text("state IN ('queued', 'running')"),
    ),
    Index(None, "received_at"),
)

backfills = Table(
    "backfills",
    metadata,
    Column("repository_id", BigInteger, primary_key=True, autoincrement=False),
    Column("branch", Text, nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("cursor", Text),
    Column("runs_fetched", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

# Revision 3: on-demand test sessions, their legs, what webhooks said about their runs, commands acted on, budgets.

test_sessions = Table(
    "test_sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("repository_id", BigInteger, nullable=False),
    Column("repository", Text, nullable=False),
    Column("installation_id", BigInteger),
    Column("suite", Text, nullable=False),
    Column("workflow", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Column("default_branch", Text, nullable=False),
    Column("head_sha", Text, nullable=False),
    Column("trigger", Text, nullable=False),  # comment, push, button, cli
    Column("requested_by", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("expect", JSON, nullable=False),
    Column("state", Text, nullable=False),  # waiting, running, completed
    Column("conclusion", Text),
    Column("pull_request", Integer),
    Column("comment_id", BigInteger),
    Column("reply_id", BigInteger),
    Column("check_run_id", BigInteger),
    Column("check_url", Text),
    Column("cancelled", Boolean, nullable=False, server_default=text("false")),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("resume_at", UTCDateTime),
    Column("published_at", UTCDateTime),
    Column("dirty", Boolean, nullable=False, server_default=text("false")),
    Index(None, "repository_id", "pull_request"),
    Index(None, "state", "deadline"),
    Index(None, "check_run_id"),
)

test_legs = Table(
    "test_legs",
    metadata,
    Column("session_id", Text, ForeignKey("test_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("inputs", JSON, nullable=False),  # [[name, value], ...] in the matrix's order
    Column("state", Text, nullable=False),
    Column("run_id", BigInteger),
    Column("html_url", Text),
    Column("conclusion", Text),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("failing_job", Text),
    Column("failing_step", Text),
    Column("failing_job_url", Text),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("dispatches", Integer, nullable=False, server_default=text("0")),
    Column("token", Text, nullable=False),
    Index(None, "run_id"),
    Index(None, "token"),
)

test_runs = Table(
    "test_runs",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, primary_key=True, autoincrement=False),
    Column("observation", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

test_commands = Table(
    "test_commands",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("received_at", UTCDateTime, nullable=False),
)

test_budgets = Table(
    "test_budgets",
    metadata,
    Column("installation_id", BigInteger, primary_key=True, autoincrement=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("used", Integer, nullable=False),
)

# Revision 4: indexes for health reports (window scans of a repository's runs and jobs), the health schedule
# (one row per repository or organization roll-up: when it is due, who is refreshing it, what it last said) and
# the alerts already sent (at most one per finding).

Index("ix_runs_repository_branch_created", runs.c.repository_id, runs.c.head_branch, runs.c.created_at)
Index("ix_jobs_repository_created", jobs.c.repository_id, jobs.c.created_at)
# Covers what the default branch's job series read (busiest jobs, their durations, which run), so that scanning a
# window reads the index alone.
Index(
    "ix_jobs_branch_series",
    jobs.c.repository_id,
    jobs.c.head_branch,
    jobs.c.created_at,
    jobs.c.conclusion,
    jobs.c.workflow_name,
    jobs.c.name,
    jobs.c.duration_seconds,
    jobs.c.run_id,
)
FAILED_JOB = text("conclusion IN ('failure', 'timed_out', 'startup_failure')")
Index("ix_jobs_failed", jobs.c.repository_id, jobs.c.created_at, postgresql_where=FAILED_JOB, sqlite_where=FAILED_JOB)

# Completed jobs counted per repository, UTC day, workflow, label set, first attempt or re-run, and queue time
# (whole seconds below 100 s, two significant digits above, rounded down): what queue-time and minutes reports sum,
# kept up to date at ingest so that a report reads hundreds of rows instead of every job of the window.
job_totals = Table(
    "job_totals",
    metadata,
    Column("repository_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("workflow_name", Text, primary_key=True),
    Column("labels", Text, primary_key=True),  # the labels' JSON text, as `CAST(jobs.labels AS TEXT)` gives it
    Column("rerun", Boolean, primary_key=True),
    Column("queue_seconds", Integer, primary_key=True, autoincrement=False),
    Column("jobs", Integer, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    Column("billed_minutes", BigInteger, nullable=False),
)

# The jobs already counted in `job_totals`: a job is added once, however often its completion is delivered.
job_totals_counted = Table(
    "job_totals_counted",
    metadata,
    Column("job_id", BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
)

health_schedule = Table(
    "health_schedule",
    metadata,
    Column("scope", Text, primary_key=True),  # "repository:<id>" or "organization:<login>"
    Column("due_at", UTCDateTime, nullable=False),
    Column("claimed_by", Text),
    Column("claimed_until", UTCDateTime),
    Column("refreshed_at", UTCDateTime),
    Column("summary", JSON),  # what the last report found (`bot.health.export.summary`)
    Index(None, "due_at"),
)

health_alerts = Table(
    "health_alerts",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("finding", Text, primary_key=True),
    Column("notified_at", UTCDateTime, nullable=False),
)
