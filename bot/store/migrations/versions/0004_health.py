"""Health reports: jobs' queue and run seconds and daily job totals (both filled in for the history already stored),
indexes for window scans of runs and jobs and for failed jobs, the health schedule, alerts sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
FAILED_JOB = sa.text("conclusion IN ('failure', 'timed_out', 'startup_failure')")


def _seconds(start: str, end: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {end} - {start})) AS INTEGER)"
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"


def _count_stored_jobs() -> None:
    """The totals of the jobs already stored (as `bot.store.job_totals` counts new ones)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    day = "CAST(created_at AT TIME ZONE 'UTC' AS DATE)" if postgres else "date(created_at)"
    labels = "CAST(labels AS TEXT)"
    bucket = (
        "CASE WHEN queue_seconds < 100 THEN queue_seconds"
        " WHEN queue_seconds < 1000 THEN queue_seconds / 10 * 10"
        " WHEN queue_seconds < 10000 THEN queue_seconds / 100 * 100"
        " WHEN queue_seconds < 100000 THEN queue_seconds / 1000 * 1000"
        " ELSE queue_seconds / 10000 * 10000 END"
    )
    countable = (
        "status = 'completed' AND created_at IS NOT NULL AND queue_seconds IS NOT NULL AND duration_seconds IS NOT NULL"
    )
    op.execute(f"INSERT INTO job_totals_counted (job_id) SELECT id FROM jobs WHERE {countable}")
    op.execute(
        "INSERT INTO job_totals (repository_id, day, workflow_name, labels, rerun, queue_seconds, jobs, seconds,"
        " billed_minutes)"
        f" SELECT repository_id, {day}, COALESCE(workflow_name, ''), {labels}, run_attempt > 1, {bucket}, COUNT(*),"
        f" SUM(duration_seconds), SUM((duration_seconds + 59) / 60) FROM jobs WHERE {countable}"
        f" GROUP BY repository_id, {day}, COALESCE(workflow_name, ''), {labels}, run_attempt > 1, {bucket}"
    )


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("queue_seconds", sa.Integer()))
        jobs.add_column(sa.Column("duration_seconds", sa.Integer()))
    op.execute(
        f"UPDATE jobs SET queue_seconds = {_seconds('created_at', 'started_at')} "
        "WHERE started_at IS NOT NULL AND created_at IS NOT NULL AND started_at >= created_at"
    )
    op.execute(
        f"UPDATE jobs SET duration_seconds = {_seconds('started_at', 'completed_at')} "
        "WHERE completed_at IS NOT NULL AND started_at IS NOT NULL AND completed_at >= started_at"
    )
    op.create_index("ix_runs_repository_branch_created", "runs", ["repository_id", "head_branch", "created_at"])
    op.create_index("ix_jobs_repository_created", "jobs", ["repository_id", "created_at"])
    op.create_index(
        "ix_jobs_branch_series",
        "jobs",
        [
            "repository_id",
            "head_branch",
            "created_at",
            "conclusion",
            "workflow_name",
            "name",
            "duration_seconds",
            "run_id",
        ],
    )
    op.create_index(
        "ix_jobs_failed", "jobs", ["repository_id", "created_at"], postgresql_where=FAILED_JOB, sqlite_where=FAILED_JOB
    )
    op.create_table(
        "job_totals",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workflow_name", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("rerun", sa.Boolean(), nullable=False),
        sa.Column("queue_seconds", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.Column("billed_minutes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "repository_id", "day", "workflow_name", "labels", "rerun", "queue_seconds", name="pk_job_totals"
        ),
    )
    op.create_table(
        "job_totals_counted",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_job_totals_counted_job_id_jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name="pk_job_totals_counted"),
    )
    _count_stored_jobs()
    op.create_table(
        "health_schedule",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("claimed_until", TIMESTAMP),
        sa.Column("refreshed_at", TIMESTAMP),
        sa.Column("summary", sa.JSON()),
        sa.PrimaryKeyConstraint("scope", name="pk_health_schedule"),
    )
    op.create_index("ix_health_schedule_due_at", "health_schedule", ["due_at"])
    op.create_table(
        "health_alerts",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("notified_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("scope", "finding", name="pk_health_alerts"),
    )


def downgrade() -> None:
    op.drop_table("health_alerts")
    op.drop_index("ix_health_schedule_due_at", table_name="health_schedule")
    op.drop_table("health_schedule")
    op.drop_table("job_totals_counted")
    op.drop_table("job_totals")
    op.drop_index("ix_jobs_failed", table_name="jobs")
    op.drop_index("ix_jobs_branch_series", table_name="jobs")
    op.drop_index("ix_jobs_repository_created", table_name="jobs")
    op.drop_index("ix_runs_repository_branch_created", table_name="runs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("duration_seconds")
        jobs.drop_column("queue_seconds")
