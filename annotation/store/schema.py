"""Database schema of the review store (SQLAlchemy 2.x, portable: SQLite and PostgreSQL).

Every row that can change carries id (UUID text), revision, updated_at (UTC), updated_by and
workstation_id, so the sync layer can compare revisions. review_events is append-only: it is
the audit log and the sync outbox. The Alembic migrations in annotation/store/migrations must match
these tables exactly (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UUID_LEN = 36


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime,
    }


class Versioned:
    """Columns every changeable (syncable) row has."""

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))
    workstation_id: Mapped[str] = mapped_column(String(UUID_LEN))


class Part(Versioned, Base):
    """A manufactured component (a casting, a weld, a printed part)."""

    __tablename__ = "parts"

    name: Mapped[str] = mapped_column(String(256))
    serial: Mapped[str | None] = mapped_column(String(256))
    material: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)


class Scan(Versioned, Base):
    """One scan file of a part, with its geometry and DICONDE component information."""

    __tablename__ = "scans"

    part_id: Mapped[str] = mapped_column(ForeignKey("parts.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    modality: Mapped[str] = mapped_column(String(16))
    format: Mapped[str | None] = mapped_column(String(32))
    shape: Mapped[list[Any]] = mapped_column(JSON)
    spacing_mm: Mapped[list[Any]] = mapped_column(JSON)
    origin_mm: Mapped[list[Any]] = mapped_column(JSON)
    direction: Mapped[list[Any]] = mapped_column(JSON)
    spacing_known: Mapped[int] = mapped_column(Integer, default=1)
    part_volume_mm3: Mapped[float | None] = mapped_column(Float)
    diconde: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Migration 0003: the scan's input features for drift checks (volumes.features), measured
    # when it was recorded; NULL for scans recorded before.
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Migration 0004: a radiograph's image-quality record (volumes.quality.gate): SRb, SNRn,
    # IQI readings, class, verdict and reason. NULL for CT (no gate) and before it was measured.
    image_quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Indication(Versioned, Base):
    """A call: a defect proposed by a model, SAM or a person, and its review state.

    The mask is sparse (box z0..z1, y0..y1, x0..x1 plus run-length code). ``proposal`` and
    ``proposal_mask_rle`` keep the original proposal after a correction.
    """

    __tablename__ = "indications"
    __table_args__ = (Index("ix_indications_scan_status", "scan_id", "status"),)

    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"))
    cls: Mapped[str] = mapped_column("class", String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str | None] = mapped_column(String(128))
    source_version: Mapped[str | None] = mapped_column(String(64))
    z0: Mapped[int] = mapped_column(Integer)
    y0: Mapped[int] = mapped_column(Integer)
    x0: Mapped[int] = mapped_column(Integer)
    z1: Mapped[int] = mapped_column(Integer)
    y1: Mapped[int] = mapped_column(Integer)
    x1: Mapped[int] = mapped_column(Integer)
    mask_rle: Mapped[bytes] = mapped_column(LargeBinary)
    centroid_z: Mapped[float] = mapped_column(Float)
    centroid_y: Mapped[float] = mapped_column(Float)
    centroid_x: Mapped[float] = mapped_column(Float)
    voxel_count: Mapped[int] = mapped_column(Integer)
    volume_mm3: Mapped[float] = mapped_column(Float)
    equivalent_diameter_mm: Mapped[float] = mapped_column(Float)
    feret_mm: Mapped[float] = mapped_column(Float)
    surface_area_mm2: Mapped[float] = mapped_column(Float)
    sphericity: Mapped[float] = mapped_column(Float)
    distance_to_surface_mm: Mapped[float | None] = mapped_column(Float)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposal_mask_rle: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str | None] = mapped_column(Text)
    # Migration 0007: the serving role. "champion": the calls engineers see and decide;
    # "shadow": a model run beside it for the A/B, never shown and never counted.
    role: Mapped[str] = mapped_column(
        String(16), default="champion", server_default="champion", index=True
    )


class ReviewEvent(Base):
    """One append-only audit entry: who did what to which row, when, before/after and why.

    ``seq`` orders events on this workstation; ``id`` identifies the event everywhere (sync).
    """

    __tablename__ = "review_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(UUID_LEN), unique=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    scan_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)
    action: Mapped[str] = mapped_column(String(32))
    base_revision: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    workstation_id: Mapped[str] = mapped_column(String(UUID_LEN))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # Sync (migration 0002). server_seq: the event's sequence number on the sync server, set
    # on events pulled from it. parent_id: the event this one was made on top of (the previous
    # event of the same row). applied: on the server, 1 if the event changed the server's row,
    # 0 if it lost a race to another workstation's change (kept for the audit, not pulled).
    server_seq: Mapped[int | None] = mapped_column(BigInteger)
    parent_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    applied: Mapped[int | None] = mapped_column(Integer)


class SyncState(Base):
    """Key/value sync bookkeeping: this database's id and the high-water marks per server."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncConflict(Base):
    """An incoming change to a row this workstation had changed too: never applied silently.

    local_state / remote_state are the row's changeable fields on each side; remote_events the
    server's events (as JSON) that are not applied here until the conflict is resolved.
    """

    __tablename__ = "sync_conflicts"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    scan_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    local_revision: Mapped[int] = mapped_column(Integer)
    local_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    remote_revision: Mapped[int] = mapped_column(Integer)
    remote_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    remote_events: Mapped[list[Any]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_event_id: Mapped[str | None] = mapped_column(String(UUID_LEN))


class Disposition(Versioned, Base):
    """A signed verdict on a scan against one acceptance criteria file (name, version, sha256)."""

    __tablename__ = "dispositions"

    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    criteria_name: Mapped[str] = mapped_column(String(256))
    criteria_version: Mapped[str] = mapped_column(String(64))
    criteria_sha256: Mapped[str] = mapped_column(String(64))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    signed_by: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboxArrival(Base):
    """One scan that reached the inbox (migration 0005): where from, its state, and the scan
    it became. Local bookkeeping of the line, not synced. ``sha256`` is the scan's voxel hash
    (volumes.identity), the key that makes at-least-once delivery safe; NULL when the scan
    could not be read. state: arrived, prelabelling, ready, failed or duplicate.
    """

    __tablename__ = "inbox"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scan_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    model: Mapped[str | None] = mapped_column(String(128))
    calls: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The inbox run that holds it: a row left 'prelabelling' by a dead run blocks nothing.
    owner: Mapped[str | None] = mapped_column(String(UUID_LEN))


class ModelAlias(Versioned, Base):
    """Which registered model version an alias (champion, challenger, shadow) names
    (migration 0006). The id is derived from the alias, so every workstation's "champion" is
    the same row; set_by/set_at are updated_by/updated_at; event_id is the audit event that
    set it (the tie-break of the last-writer rule in sync)."""

    __tablename__ = "model_aliases"

    alias: Mapped[str] = mapped_column(String(32), unique=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(String(UUID_LEN))


TABLES = Base.metadata.tables

# The Core tables the hot paths use (one SELECT, one guarded UPDATE, one INSERT; no ORM flush).
IND = cast(Table, Indication.__table__)
EVENTS = cast(Table, ReviewEvent.__table__)
SCANS = cast(Table, Scan.__table__)
PARTS = cast(Table, Part.__table__)
DISPOSITIONS = cast(Table, Disposition.__table__)
SYNC_STATE = cast(Table, SyncState.__table__)
CONFLICTS = cast(Table, SyncConflict.__table__)
INBOX = cast(Table, InboxArrival.__table__)


ALIASES = cast(Table, ModelAlias.__table__)
# Every audit-event column but the local sequence number: what travels in a sync.
EVENT_COLUMNS = [c.name for c in EVENTS.columns if c.name != "seq"]
