"""Scans keep their radiograph image-quality verdict (issue 11's gate): SRb, SNRn, the IQI
readings, the class and the verdict (acceptable or not interpretable, with the reason), as
measured when the scan was recorded or by ``ndelab iq --db``. NULL for CT and for scans
recorded before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scans", sa.Column("image_quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("image_quality")
