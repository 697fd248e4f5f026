"""On-demand test sessions, their legs, observations of their runs, commands acted on, dispatch budgets.

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
    op.create_table(
        "test_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("repository", sa.Text(), nullable=False),
        sa.Column("installation_id", sa.BigInteger()),
        sa.Column("suite", sa.Text(), nullable=False),
        sa.Column("workflow", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("default_branch", sa.Text(), nullable=False),
        sa.Column("head_sha", sa.Text(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("deadline", TIMESTAMP, nullable=False),
        sa.Column("expect", sa.JSON(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("conclusion", sa.Text()),
        sa.Column("pull_request", sa.Integer()),
        sa.Column("comment_id", sa.BigInteger()),
        sa.Column("reply_id", sa.BigInteger()),
        sa.Column("check_run_id", sa.BigInteger()),
        sa.Column("check_url", sa.Text()),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("resume_at", TIMESTAMP),
        sa.Column("published_at", TIMESTAMP),
        sa.Column("dirty", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_test_sessions"),
    )
    op.create_index("ix_test_sessions_repository_id_pull_request", "test_sessions", ["repository_id", "pull_request"])
    op.create_index("ix_test_sessions_state_deadline", "test_sessions", ["state", "deadline"])
    op.create_index("ix_test_sessions_check_run_id", "test_sessions", ["check_run_id"])
    op.create_table(
        "test_legs",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("run_id", sa.BigInteger()),
        sa.Column("html_url", sa.Text()),
        sa.Column("conclusion", sa.Text()),
        sa.Column("started_at", TIMESTAMP),
        sa.Column("completed_at", TIMESTAMP),
        sa.Column("failing_job", sa.Text()),
        sa.Column("failing_step", sa.Text()),
        sa.Column("failing_job_url", sa.Text()),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("dispatches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["test_sessions.id"], name="fk_test_legs_session_id_test_sessions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", "number", name="pk_test_legs"),
    )
    op.create_index("ix_test_legs_run_id", "test_legs", ["run_id"])
    op.create_index("ix_test_legs_token", "test_legs", ["token"])
    op.create_table(
        "test_runs",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("observation", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "run_id", name="pk_test_runs"),
    )
    op.create_table(
        "test_commands",
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "comment_id", name="pk_test_commands"),
    )
    op.create_table(
        "test_budgets",
        sa.Column("installation_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_test_budgets"),
    )


def downgrade() -> None:
    op.drop_table("test_budgets")
    op.drop_table("test_commands")
    op.drop_table("test_runs")
    op.drop_table("test_legs")
    op.drop_table("test_sessions")
