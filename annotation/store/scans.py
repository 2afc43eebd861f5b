"""Parts and scans in the store. A part is a component (name, serial); a scan is one file of
it with its geometry and, when known, the part's material volume (the porosity denominator).
Both are written once, with their create events; the one later change a scan takes is its
image-quality record (a radiograph measured after it was recorded, or measured again), which
bumps its revision and appends an ``image_quality`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.store.audit_log import (
    change_event,
    check_user,
    created_event,
    iso,
    new_id,
    versioned_columns,
)
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import EVENTS, PARTS, SCANS, utcnow

Rows = tuple[dict[str, Any], dict[str, Any]]  # a row and its create event


def part_rows(
    store: Store,
    name: str,
    *,
    user: str,
    serial: str | None = None,
    material: str | None = None,
    description: str | None = None,
) -> Rows:
    """A new part's row and its create event, for a caller that writes them inside a larger
    transaction (the inbox commits part, scan and calls at once)."""
    user = check_user(user)
    now = utcnow()
    row = {
        "id": new_id(),
        "name": name,
        "serial": serial,
        "material": material,
        "description": description,
        **versioned_columns(store, user, now),
    }
    after = {k: row[k] for k in ("name", "serial", "material", "description")}
    return row, created_event(store, "part", row["id"], None, user, now, after)


def add_part(
    store: Store,
    name: str,
    *,
    user: str,
    serial: str | None = None,
    material: str | None = None,
    description: str | None = None,
) -> str:
    """Create a part (component); returns its id."""
    row, event = part_rows(
        store, name, user=user, serial=serial, material=material, description=description
    )
    with store.transaction("add a part") as conn:
        conn.execute(insert(PARTS), [row])
        conn.execute(insert(EVENTS), [event])
    return str(row["id"])


def scan_rows(
    store: Store,
    part_id: str,
    *,
    user: str,
    path: str,
    shape: Sequence[int],
    spacing_mm: Sequence[float],
    origin_mm: Sequence[float] = (0.0, 0.0, 0.0),
    direction: Sequence[Sequence[float]] | None = None,
    modality: str = "CT",
    sha256: str | None = None,
    format: str | None = None,
    spacing_known: bool = True,
    part_volume_mm3: float | None = None,
    diconde: Mapping[str, Any] | None = None,
    features: Mapping[str, Any] | None = None,
    image_quality: Mapping[str, Any] | None = None,
) -> Rows:
    """A new scan's row and its create event (see part_rows)."""
    user = check_user(user)
    now = utcnow()
    row = {
        "id": new_id(),
        "part_id": part_id,
        "path": str(path),
        "sha256": sha256,
        "modality": modality,
        "format": format,
        "shape": [int(v) for v in shape],
        "spacing_mm": [float(v) for v in spacing_mm],
        "origin_mm": [float(v) for v in origin_mm],
        "direction": [[float(v) for v in r] for r in direction]
        if direction is not None
        else [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "spacing_known": int(bool(spacing_known)),
        "part_volume_mm3": part_volume_mm3,
        "diconde": dict(diconde or {}),
        "features": None if features is None else dict(features),
        "image_quality": None if image_quality is None else dict(image_quality),
        **versioned_columns(store, user, now),
    }
    after = {k: row[k] for k in ("part_id", "path", "sha256", "modality", "shape", "spacing_mm")}
    return row, created_event(store, "scan", row["id"], row["id"], user, now, after)


def insert_scan(conn: Connection, store: Store, row: dict[str, Any], event: dict[str, Any]) -> None:
    """Insert a scan row and its event in the caller's transaction (its part must exist)."""
    if conn.execute(select(PARTS.c.id).where(PARTS.c.id == row["part_id"])).first() is None:
        raise ReviewError(f"part {row['part_id']} is not in database {store.name}")
    conn.execute(insert(SCANS), [row])
    conn.execute(insert(EVENTS), [event])


def add_scan(
    store: Store,
    part_id: str,
    *,
    user: str,
    path: str,
    shape: Sequence[int],
    spacing_mm: Sequence[float],
    origin_mm: Sequence[float] = (0.0, 0.0, 0.0),
    direction: Sequence[Sequence[float]] | None = None,
    modality: str = "CT",
    sha256: str | None = None,
    format: str | None = None,
    spacing_known: bool = True,
    part_volume_mm3: float | None = None,
    diconde: Mapping[str, Any] | None = None,
    features: Mapping[str, Any] | None = None,
    image_quality: Mapping[str, Any] | None = None,
) -> str:
    """Record a scan file of a part with its geometry (and its drift features and a
    radiograph's image-quality record, when measured); returns the scan id."""
    row, event = scan_rows(
        store,
        part_id,
        user=user,
        path=path,
        shape=shape,
        spacing_mm=spacing_mm,
        origin_mm=origin_mm,
        direction=direction,
        modality=modality,
        sha256=sha256,
        format=format,
        spacing_known=spacing_known,
        part_volume_mm3=part_volume_mm3,
        diconde=diconde,
        features=features,
        image_quality=image_quality,
    )
    with store.transaction("add a scan") as conn:
        insert_scan(conn, store, row, event)
    return str(row["id"])


def get_scan(store: Store, scan_id: str) -> dict[str, Any]:
    with store.reading("read a scan") as conn:
        row = conn.execute(select(SCANS).where(SCANS.c.id == scan_id)).mappings().first()
    if row is None:
        raise ReviewError(f"scan {scan_id} is not in database {store.name}")
    out = dict(row)
    for k in ("created_at", "updated_at"):
        out[k] = iso(out[k])
    return out


def image_quality(store: Store, scan_id: str) -> dict[str, Any] | None:
    """The scan's image-quality record (volumes.quality.gate), None when never measured."""
    query = select(SCANS.c.image_quality).where(SCANS.c.id == scan_id)
    with store.reading("read a scan's image quality") as conn:
        row = conn.execute(query).first()
    if row is None:
        raise ReviewError(f"scan {scan_id} is not in database {store.name}")
    return None if row[0] is None else dict(row[0])


def set_image_quality(
    store: Store, scan_id: str, record: Mapping[str, Any], *, user: str
) -> dict[str, Any]:
    """Store a (new) image-quality record on the scan: one guarded UPDATE and one audit
    event (before, after) in one transaction. Returns the record stored."""
    user = check_user(user)
    now = utcnow()
    new = dict(record)
    with store.transaction(f"store the image quality of scan {scan_id}") as conn:
        row = (
            conn.execute(
                select(SCANS.c.revision, SCANS.c.image_quality).where(SCANS.c.id == scan_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise ReviewError(f"scan {scan_id} is not in database {store.name}")
        base = int(row["revision"])
        done = conn.execute(
            update(SCANS)
            .where(SCANS.c.id == scan_id, SCANS.c.revision == base)
            .values(
                image_quality=new,
                revision=base + 1,
                updated_at=now,
                updated_by=user,
                workstation_id=store.workstation_id,
            )
        )
        if done.rowcount != 1:
            raise ReviewError(f"scan {scan_id} changed while its image quality was stored")
        conn.execute(
            insert(EVENTS),
            [
                change_event(
                    store,
                    entity_type="scan",
                    entity_id=scan_id,
                    scan_id=scan_id,
                    action="image_quality",
                    base_revision=base,
                    revision=base + 1,
                    user=user,
                    at=now,
                    before={"image_quality": row["image_quality"]},
                    after={"image_quality": new},
                    reason=None,
                )
            ],
        )
    return new


def list_scans(store: Store, part_id: str | None = None) -> list[dict[str, Any]]:
    query = select(
        SCANS.c.id,
        SCANS.c.part_id,
        SCANS.c.path,
        SCANS.c.modality,
        SCANS.c.shape,
        SCANS.c.spacing_mm,
        SCANS.c.sha256,
    )
    if part_id is not None:
        query = query.where(SCANS.c.part_id == part_id)
    with store.reading("list scans") as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
