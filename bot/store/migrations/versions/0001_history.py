"""History: installations, repositories, workflows, runs and their pull requests, jobs, steps, PR samples, posted ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.Text()),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
        sa.Column("removed_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_installations"),
    )
    op.create_table(
        "repositories",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("installation_id", sa.BigInteger()),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("default_branch", sa.Text()),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
        sa.Column("removed_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_repositories"),
    )
    op.create_index("ix_repositories_full_name", "repositories", ["full_name"])
    op.create_table(
        "workflows",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "id", name="pk_workflows"),
    )
    op.create_table(
        "runs",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_name", sa.Text(), nullable=False),
        sa.Column("workflow_path", sa.Text(), nullable=False),
        sa.Column("event", sa.Text()),
        sa.Column("status", sa.Text()),
        sa.Column("conclusion", sa.Text()),
        sa.Column("head_branch", sa.Text()),
        sa.Column("head_sha", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP),
        sa.Column("run_started_at", TIMESTAMP),
        sa.Column("updated_at", TIMESTAMP),
        sa.Column("html_url", sa.Text()),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("jobs_listed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "run_id", "attempt", name="pk_runs"),
    )
    op.create_index("ix_runs_history", "runs", ["repository_id", "workflow_id", "head_branch", "created_at"])
    op.create_index("ix_runs_repository_id_head_sha", "runs", ["repository_id", "head_sha"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_table(
        "run_pull_requests",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "run_id", "number", name="pk_run_pull_requests"),
    )
    op.create_index("ix_run_pull_requests_repository_id_number", "run_pull_requests", ["repository_id", "number"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("run_attempt", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("workflow_name", sa.Text()),
        sa.Column("status", sa.Text()),
        sa.Column("conclusion", sa.Text()),
        sa.Column("head_sha", sa.Text()),
        sa.Column("head_branch", sa.Text()),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("runner_name", sa.Text()),
        sa.Column("created_at", TIMESTAMP),
        sa.Column("started_at", TIMESTAMP),
        sa.Column("completed_at", TIMESTAMP),
        sa.Column("html_url", sa.Text()),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_repository_id_run_id_run_attempt", "jobs", ["repository_id", "run_id", "run_attempt"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_table(
        "steps",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("conclusion", sa.Text()),
        sa.Column("started_at", TIMESTAMP),
        sa.Column("completed_at", TIMESTAMP),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_steps_job_id_jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "number", name="pk_steps"),
    )
    op.create_table(
        "pr_samples",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("pull_request", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("run_attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint(
            "repository_id", "pull_request", "workflow_id", "run_id", "run_attempt", name="pk_pr_samples"
        ),
    )
    op.create_table(
        "posted",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "kind", "place", "name", name="pk_posted"),
    )


def downgrade() -> None:
    for table in ("posted", "pr_samples", "steps", "jobs", "run_pull_requests", "runs", "workflows"):
        op.drop_table(table)
    op.drop_table("repositories")
    op.drop_table("installations")
