"""The confirming re-runs the comparison asked for, per pull request: its budget holds across restarts and
instances, and one instance re-runs a commit's workflow to confirm, not each of them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "confirmations",
        sa.Column("repository_id", sa.BigInteger(), primary_key=True),
        sa.Column("pull_request", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("head_sha", sa.Text(), primary_key=True),
        sa.Column("workflow_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("asked_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("confirmations")
