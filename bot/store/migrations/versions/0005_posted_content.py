"""What the App last posted: a comment's body and the annotation keys a check run shows, so that any instance
can edit them in place without reading them back from GitHub.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posted") as batch:
        batch.add_column(sa.Column("body", sa.Text()))
        batch.add_column(sa.Column("annotations", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("posted") as batch:
        batch.drop_column("annotations")
        batch.drop_column("body")
