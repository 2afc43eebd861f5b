"""Sync: server sequence, parent event and server verdict on review events; sync state and
conflicts tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_events", sa.Column("server_seq", sa.BigInteger(), nullable=True))
    op.add_column("review_events", sa.Column("parent_id", sa.String(length=36), nullable=True))
    op.add_column("review_events", sa.Column("applied", sa.Integer(), nullable=True))
    state = op.create_table(
        "sync_state",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # Every database gets its own id: a workstation keys its high-water marks by the server's.
    op.bulk_insert(state, [{"key": "database_id", "value": str(uuid.uuid4())}])
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("scan_id", sa.String(length=36), nullable=True),
        sa.Column("local_revision", sa.Integer(), nullable=False),
        sa.Column("local_state", sa.JSON(), nullable=False),
        sa.Column("remote_revision", sa.Integer(), nullable=False),
        sa.Column("remote_state", sa.JSON(), nullable=False),
        sa.Column("remote_events", sa.JSON(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_event_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_conflicts_entity_id", "sync_conflicts", ["entity_id"])
    op.create_index("ix_sync_conflicts_status", "sync_conflicts", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sync_conflicts_status", table_name="sync_conflicts")
    op.drop_index("ix_sync_conflicts_entity_id", table_name="sync_conflicts")
    op.drop_table("sync_conflicts")
    op.drop_table("sync_state")
    with op.batch_alter_table("review_events") as batch:
        batch.drop_column("applied")
        batch.drop_column("parent_id")
        batch.drop_column("server_seq")
