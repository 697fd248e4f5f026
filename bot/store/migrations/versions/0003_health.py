"""Health reports: jobs' queue and run seconds (filled in for the history already stored), indexes for window scans
of runs and jobs and for failed jobs, the health schedule, alerts sent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
FAILED_JOB = sa.text("conclusion IN ('failure', 'timed_out', 'startup_failure')")


def _seconds(start: str, end: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {end} - {start})) AS INTEGER)"
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"


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
    op.create_index("ix_jobs_repository_branch_created", "jobs", ["repository_id", "head_branch", "created_at"])
    op.create_index(
        "ix_jobs_failed", "jobs", ["repository_id", "created_at"], postgresql_where=FAILED_JOB, sqlite_where=FAILED_JOB
    )
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
    op.drop_index("ix_jobs_failed", table_name="jobs")
    op.drop_index("ix_jobs_repository_branch_created", table_name="jobs")
    op.drop_index("ix_jobs_repository_created", table_name="jobs")
    op.drop_index("ix_runs_repository_branch_created", table_name="runs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("duration_seconds")
        jobs.drop_column("queue_seconds")
