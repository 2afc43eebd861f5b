"""Calls carry a serving role: 'champion' (engineers see and decide it) or 'shadow' (a model
run beside the champion for the A/B; never shown, never counted). Older calls are champion.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indications") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), server_default="champion", nullable=False)
        )
        batch.create_index("ix_indications_role", ["role"])


def downgrade() -> None:
    with op.batch_alter_table("indications") as batch:
        batch.drop_index("ix_indications_role")
        batch.drop_column("role")
