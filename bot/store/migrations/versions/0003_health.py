"""Health reports: indexes for window scans of runs and jobs, the health schedule, and alerts sent.

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


def upgrade() -> None:
    op.create_index("ix_runs_repository_branch_created", "runs", ["repository_id", "head_branch", "created_at"])
    op.create_index("ix_jobs_repository_created", "jobs", ["repository_id", "created_at"])
    op.create_index("ix_jobs_repository_branch_created", "jobs", ["repository_id", "head_branch", "created_at"])
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
    op.drop_index("ix_jobs_repository_branch_created", table_name="jobs")
    op.drop_index("ix_jobs_repository_created", table_name="jobs")
    op.drop_index("ix_runs_repository_branch_created", table_name="runs")
