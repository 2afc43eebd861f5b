"""First schema: parts, scans, indications, review events, dispositions.

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


def _versioned() -> list[sa.schema.SchemaItem]:
    """The columns every changeable (syncable) row carries."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("workstation_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    op.create_table(
        "parts",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("serial", sa.String(length=256), nullable=True),
        sa.Column("material", sa.String(length=128), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        *_versioned(),
    )
    op.create_table(
        "review_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("scan_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("base_revision", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workstation_id", sa.String(length=36), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_review_events_entity_id", "review_events", ["entity_id"])
    op.create_index("ix_review_events_scan_id", "review_events", ["scan_id"])
    op.create_table(
        "scans",
        sa.Column("part_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("shape", sa.JSON(), nullable=False),
        sa.Column("spacing_mm", sa.JSON(), nullable=False),
        sa.Column("origin_mm", sa.JSON(), nullable=False),
        sa.Column("direction", sa.JSON(), nullable=False),
        sa.Column("spacing_known", sa.Integer(), nullable=False),
        sa.Column("part_volume_mm3", sa.Float(), nullable=True),
        sa.Column("diconde", sa.JSON(), nullable=False),
        *_versioned(),
        sa.ForeignKeyConstraint(["part_id"], ["parts.id"]),
    )
    op.create_index("ix_scans_part_id", "scans", ["part_id"])
    op.create_index("ix_scans_sha256", "scans", ["sha256"])
    op.create_table(
        "dispositions",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("criteria_name", sa.String(length=256), nullable=False),
        sa.Column("criteria_version", sa.String(length=64), nullable=False),
        sa.Column("criteria_sha256", sa.String(length=64), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("signed_by", sa.String(length=128), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        *_versioned(),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
    )
    op.create_index("ix_dispositions_scan_id", "dispositions", ["scan_id"])
    op.create_table(
        "indications",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("class", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.String(length=128), nullable=True),
        sa.Column("source_version", sa.String(length=64), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in ("z0", "y0", "x0", "z1", "y1", "x1")],
        sa.Column("mask_rle", sa.LargeBinary(), nullable=False),
        sa.Column("centroid_z", sa.Float(), nullable=False),
        sa.Column("centroid_y", sa.Float(), nullable=False),
        sa.Column("centroid_x", sa.Float(), nullable=False),
        sa.Column("voxel_count", sa.Integer(), nullable=False),
        sa.Column("volume_mm3", sa.Float(), nullable=False),
        sa.Column("equivalent_diameter_mm", sa.Float(), nullable=False),
        sa.Column("feret_mm", sa.Float(), nullable=False),
        sa.Column("surface_area_mm2", sa.Float(), nullable=False),
        sa.Column("sphericity", sa.Float(), nullable=False),
        sa.Column("distance_to_surface_mm", sa.Float(), nullable=True),
        sa.Column("proposal", sa.JSON(), nullable=False),
        sa.Column("proposal_mask_rle", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        *_versioned(),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
    )
    op.create_index("ix_indications_scan_status", "indications", ["scan_id", "status"])
    op.create_index("ix_indications_status", "indications", ["status"])


def downgrade() -> None:
    op.drop_index("ix_indications_status", table_name="indications")
    op.drop_index("ix_indications_scan_status", table_name="indications")
    op.drop_table("indications")
    op.drop_index("ix_dispositions_scan_id", table_name="dispositions")
    op.drop_table("dispositions")
    op.drop_index("ix_scans_sha256", table_name="scans")
    op.drop_index("ix_scans_part_id", table_name="scans")
    op.drop_table("scans")
    op.drop_index("ix_review_events_scan_id", table_name="review_events")
    op.drop_index("ix_review_events_entity_id", table_name="review_events")
    op.drop_table("review_events")
    op.drop_table("parts")
