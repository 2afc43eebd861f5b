"""The scan inbox's arrivals and dead letters (issue 12): one row per scan that reached the
inbox, with its voxel sha256 (the key of at-least-once delivery), state and scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scan_id", sa.String(length=36), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_sha256", "inbox", ["sha256"])
    op.create_index("ix_inbox_state", "inbox", ["state"])


def downgrade() -> None:
    op.drop_index("ix_inbox_state", table_name="inbox")
    op.drop_index("ix_inbox_sha256", table_name="inbox")
    op.drop_table("inbox")
