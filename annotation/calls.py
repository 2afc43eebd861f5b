"""Parts, scans and calls in the store: create, read, review. Every change is one durable
transaction that bumps the row's revision and appends an audit event (before, after, why).

Hot paths use SQLAlchemy Core on the mapped tables: one SELECT, one guarded UPDATE (WHERE
revision = base, so a concurrent writer is detected, never overwritten) and one INSERT.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, insert, select, update

from ndelab.annotation import measure
from ndelab.annotation.errors import ConflictError, ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import (
    NewIndication,
    check_class,
    next_status,
)
from ndelab.annotation.schema import Indication, Part, ReviewEvent, Scan, utcnow
from ndelab.annotation.store import Store

IND = cast(Table, Indication.__table__)
EVENTS = cast(Table, ReviewEvent.__table__)
SCANS = cast(Table, Scan.__table__)
PARTS = cast(Table, Part.__table__)

# Columns list_calls reads: everything the queue shows, never the mask bytes.
_QUEUE_COLUMNS = [
    IND.c[n]
    for n in (
        "id",
        "scan_id",
        "status",
        "class",
        "score",
        "centroid_z",
        "centroid_y",
        "centroid_x",
        "z0",
        "y0",
        "x0",
        "z1",
        "y1",
        "x1",
        "volume_mm3",
        "equivalent_diameter_mm",
        "source_kind",
        "source_name",
        "source_version",
        "revision",
    )
]


def _user(user: str) -> str:
    if not isinstance(user, str) or not user.strip():
        raise ReviewError("a review action needs a user id (a non-empty name)")
    return user.strip()


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def new_id() -> str:
    return str(uuid.uuid4())


def mask_json(mask: SparseMask) -> dict[str, Any]:
    """A mask as JSON (box and base64 run-length code), for audit events and sync."""
    return {"bbox_zyx": list(mask.bbox), "rle": base64.b64encode(mask.code).decode("ascii")}


def mask_from_json(data: Mapping[str, Any]) -> SparseMask:
    b = [int(v) for v in data["bbox_zyx"]]
    return SparseMask(
        (b[0], b[1], b[2]), (b[3] - b[0], b[4] - b[1], b[5] - b[2]), base64.b64decode(data["rle"])
    )


def _versioned(store: Store, user: str, now: datetime) -> dict[str, Any]:
    return {
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "updated_by": user,
        "workstation_id": store.workstation_id,
    }


def _event(
    store: Store,
    *,
    entity_type: str,
    entity_id: str,
    scan_id: str | None,
    action: str,
    base_revision: int | None,
    revision: int,
    user: str,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "scan_id": scan_id,
        "action": action,
        "base_revision": base_revision,
        "revision": revision,
        "user_id": user,
        "at": at,
        "workstation_id": store.workstation_id,
        "before": before,
        "after": after,
        "reason": reason,
    }


# -- parts and scans -----------------------------------------------------------------------


def _created(
    store: Store,
    entity_type: str,
    entity_id: str,
    scan_id: str | None,
    user: str,
    at: datetime,
    after: dict[str, Any],
    action: str = "create",
) -> dict[str, Any]:
    """The audit event that records a new row (revision 1, nothing before it)."""
    return _event(
        store,
        entity_type=entity_type,
        entity_id=entity_id,
        scan_id=scan_id,
        action=action,
        base_revision=None,
        revision=1,
        user=user,
        at=at,
        before=None,
        after=after,
        reason=None,
    )


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
    user = _user(user)
    now = utcnow()
    row = {
        "id": new_id(),
        "name": name,
        "serial": serial,
        "material": material,
        "description": description,
        **_versioned(store, user, now),
    }
    after = {k: row[k] for k in ("name", "serial", "material", "description")}
    with store.transaction("add a part") as conn:
        conn.execute(insert(PARTS), [row])
        conn.execute(
            insert(EVENTS),
            [_created(store, "part", row["id"], None, user, now, after)],
        )
    return str(row["id"])


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
) -> str:
    """Record a scan file of a part with its geometry; returns the scan id."""
    user = _user(user)
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
        **_versioned(store, user, now),
    }
    after = {k: row[k] for k in ("part_id", "path", "sha256", "modality", "shape", "spacing_mm")}
    with store.transaction("add a scan") as conn:
        if conn.execute(select(PARTS.c.id).where(PARTS.c.id == part_id)).first() is None:
            raise ReviewError(f"part {part_id} is not in database {store.name}")
        conn.execute(insert(SCANS), [row])
        conn.execute(
            insert(EVENTS),
            [_created(store, "scan", row["id"], row["id"], user, now, after)],
        )
    return str(row["id"])


def get_scan(store: Store, scan_id: str) -> dict[str, Any]:
    with store.reading("read a scan") as conn:
        row = conn.execute(select(SCANS).where(SCANS.c.id == scan_id)).mappings().first()
    if row is None:
        raise ReviewError(f"scan {scan_id} is not in database {store.name}")
    out = dict(row)
    for k in ("created_at", "updated_at"):
        out[k] = _iso(out[k])
    return out


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


# -- indications ---------------------------------------------------------------------------


def _indication_row(item: NewIndication) -> dict[str, Any]:
    m = item.measurements
    z0, y0, x0, z1, y1, x1 = item.mask.bbox
    fields = {
        "class": check_class(item.cls),
        "score": item.score,
        "source_kind": item.source.kind,
        "source_name": item.source.name,
        "source_version": item.source.version,
        "z0": z0,
        "y0": y0,
        "x0": x0,
        "z1": z1,
        "y1": y1,
        "x1": x1,
        "mask_rle": item.mask.code,
        "centroid_z": m.centroid_zyx[0],
        "centroid_y": m.centroid_zyx[1],
        "centroid_x": m.centroid_zyx[2],
        "voxel_count": m.voxel_count,
        "volume_mm3": m.volume_mm3,
        "equivalent_diameter_mm": m.equivalent_diameter_mm,
        "feret_mm": m.feret_mm,
        "surface_area_mm2": m.surface_area_mm2,
        "sphericity": m.sphericity,
        "distance_to_surface_mm": item.distance_to_surface_mm,
    }
    return fields


def _proposal(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "class",
        "score",
        "source_kind",
        "source_name",
        "source_version",
        "voxel_count",
        "volume_mm3",
        "equivalent_diameter_mm",
        "feret_mm",
        "sphericity",
        "distance_to_surface_mm",
    )
    out = {k: row[k] for k in keys}
    out["bbox_zyx"] = [row[k] for k in ("z0", "y0", "x0", "z1", "y1", "x1")]
    return out


# Measured columns a create event's proposal lacks, and those a mask change recomputes.
_SYNC_CREATE_EXTRA = ("centroid_z", "centroid_y", "centroid_x", "surface_area_mm2")
MASK_MEASURES = (
    "centroid_z",
    "centroid_y",
    "centroid_x",
    "voxel_count",
    "volume_mm3",
    "equivalent_diameter_mm",
    "feret_mm",
    "surface_area_mm2",
    "sphericity",
    "distance_to_surface_mm",
)


def add_indications(
    store: Store, scan_id: str, items: Iterable[NewIndication], *, user: str
) -> list[str]:
    """Store new calls as 'proposed' in one transaction (bulk insert); returns their ids."""
    user = _user(user)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for item in items:
        fields = _indication_row(item)
        row = {
            "id": new_id(),
            "scan_id": scan_id,
            "status": "proposed",
            "reason": None,
            "proposal": _proposal(fields),
            "proposal_mask_rle": item.mask.code,
            **fields,
            **_versioned(store, user, now),
        }
        rows.append(row)
        after = {**row["proposal"], "status": "proposed", "mask": mask_json(item.mask)}
        # With these the event alone rebuilds the row on another workstation (sync).
        after.update({k: fields[k] for k in _SYNC_CREATE_EXTRA})
        events.append(_created(store, "indication", row["id"], scan_id, user, now, after))
    if not rows:
        return []
    with store.transaction("add indications") as conn:
        if conn.execute(select(SCANS.c.id).where(SCANS.c.id == scan_id)).first() is None:
            raise ReviewError(f"scan {scan_id} is not in database {store.name}")
        # Core executemany: one statement for all rows, not an ORM flush per object.
        conn.execute(insert(IND), rows)
        conn.execute(insert(EVENTS), events)
    return [str(r["id"]) for r in rows]


def _call_summary(r: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "scan_id": r["scan_id"],
        "status": r["status"],
        "class": r["class"],
        "score": r["score"],
        "centroid_zyx": [r["centroid_z"], r["centroid_y"], r["centroid_x"]],
        "bbox_zyx": [r["z0"], r["y0"], r["x0"], r["z1"], r["y1"], r["x1"]],
        "volume_mm3": r["volume_mm3"],
        "equivalent_diameter_mm": r["equivalent_diameter_mm"],
        "source": {
            "kind": r["source_kind"],
            "name": r["source_name"],
            "version": r["source_version"],
        },
        "revision": r["revision"],
    }


def list_calls(
    store: Store, scan_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Queue rows (no masks) in scan order (scan, then box corner z, y, x): what the queue shows."""
    query = select(*_QUEUE_COLUMNS)
    if scan_id is not None:
        query = query.where(IND.c.scan_id == scan_id)
    if status is not None:
        query = query.where(IND.c.status == status)
    query = query.order_by(IND.c.scan_id, IND.c.z0, IND.c.y0, IND.c.x0, IND.c.id)
    with store.reading("list calls") as conn:
        return [_call_summary(r) for r in conn.execute(query).mappings()]


def _full_call(r: Mapping[Any, Any]) -> dict[str, Any]:
    out = _call_summary(r)
    out.update(
        {
            "voxel_count": r["voxel_count"],
            "feret_mm": r["feret_mm"],
            "surface_area_mm2": r["surface_area_mm2"],
            "sphericity": r["sphericity"],
            "distance_to_surface_mm": r["distance_to_surface_mm"],
            "reason": r["reason"],
            "proposal": r["proposal"],
            "updated_at": _iso(r["updated_at"]),
            "updated_by": r["updated_by"],
            "created_at": _iso(r["created_at"]),
            "workstation_id": r["workstation_id"],
        }
    )
    return out


def _load(conn: Connection, store: Store, call_id: str) -> RowMapping:
    row = conn.execute(select(IND).where(IND.c.id == call_id)).mappings().first()
    if row is None:
        raise ReviewError(f"call {call_id} is not in database {store.name}")
    return row


def get_call(store: Store, call_id: str) -> dict[str, Any]:
    """One call with all measurements, its last reason and its original proposal."""
    with store.reading("read a call") as conn:
        return _full_call(_load(conn, store, call_id))


def _mask_of(row: Mapping[Any, Any]) -> SparseMask:
    return SparseMask(
        (row["z0"], row["y0"], row["x0"]),
        (row["z1"] - row["z0"], row["y1"] - row["y0"], row["x1"] - row["x0"]),
        bytes(row["mask_rle"]),
    )


def get_mask(store: Store, call_id: str) -> SparseMask:
    with store.reading("read a mask") as conn:
        return _mask_of(_load(conn, store, call_id))


def get_masks(store: Store, call_ids: Sequence[str]) -> dict[str, SparseMask]:
    """Masks of many calls in one query (no N+1)."""
    query = select(
        IND.c.id, IND.c.z0, IND.c.y0, IND.c.x0, IND.c.z1, IND.c.y1, IND.c.x1, IND.c.mask_rle
    ).where(IND.c.id.in_(list(call_ids)))
    with store.reading("read masks") as conn:
        return {r["id"]: _mask_of(r) for r in conn.execute(query).mappings()}


def get_proposal_mask(store: Store, call_id: str) -> SparseMask:
    """The mask the model (or SAM, or person) first proposed, before any correction."""
    with store.reading("read a proposal") as conn:
        row = _load(conn, store, call_id)
    b = row["proposal"]["bbox_zyx"]
    return SparseMask(
        (b[0], b[1], b[2]), (b[3] - b[0], b[4] - b[1], b[5] - b[2]), bytes(row["proposal_mask_rle"])
    )


# -- review --------------------------------------------------------------------------------


def apply_change(
    store: Store,
    call_id: str,
    *,
    user: str,
    action: str,
    status: str | None = None,
    cls: str | None = None,
    mask: SparseMask | None = None,
    reason: str | None = None,
    distance_to_surface_mm: float | None = None,
    base_revision: int | None = None,
    set_reason: bool = True,
    event_reason: str | None = None,
    transition: str | None = None,
) -> dict[str, Any]:
    """Change a call's fields in one durable transaction and append the audit event.

    Lower level than review(): without ``transition`` it checks no transition rules (undo and
    redo use it to restore a previous state); with it, the status follows that review action
    from the status read inside the transaction. ``base_revision``, when given, must be the
    call's current revision.
    ``reason`` is stored on the call; the event records ``event_reason`` (default: reason).
    Returns the updated call.
    """
    user = _user(user)
    now = utcnow()
    with store.transaction(f"{action} call {call_id}") as conn:
        row = _load(conn, store, call_id)
        if base_revision is not None and row["revision"] != base_revision:
            raise ConflictError(
                f"call {call_id} changed to revision {row['revision']} since revision "
                f"{base_revision} was read; reload it before {action}"
            )
        if transition is not None:
            status = next_status(transition, row["status"], call_id)
        values: dict[str, Any] = {}
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}

        def change(column: str, key: str, new: Any) -> None:
            if row[column] != new:
                values[column] = new
                before[key] = row[column]
                after[key] = new

        if status is not None:
            change("status", "status", status)
        if cls is not None:
            change("class", "class", check_class(cls))
        if set_reason:
            change("reason", "reason", reason)
        old_mask = _mask_of(row)
        if mask is not None and not mask.same_as(old_mask):
            spacing = conn.execute(
                select(SCANS.c.spacing_mm).where(SCANS.c.id == row["scan_id"])
            ).scalar_one()
            m = measure.measure(mask, spacing)
            z0, y0, x0, z1, y1, x1 = mask.bbox
            values.update(
                {
                    "z0": z0,
                    "y0": y0,
                    "x0": x0,
                    "z1": z1,
                    "y1": y1,
                    "x1": x1,
                    "mask_rle": mask.code,
                    "centroid_z": m.centroid_zyx[0],
                    "centroid_y": m.centroid_zyx[1],
                    "centroid_x": m.centroid_zyx[2],
                    "voxel_count": m.voxel_count,
                    "volume_mm3": m.volume_mm3,
                    "equivalent_diameter_mm": m.equivalent_diameter_mm,
                    "feret_mm": m.feret_mm,
                    "surface_area_mm2": m.surface_area_mm2,
                    "sphericity": m.sphericity,
                    # The depth needs the part mask, which the store does not keep: the caller
                    # passes it, or it is unknown until measured again.
                    "distance_to_surface_mm": distance_to_surface_mm,
                }
            )
            before["mask"] = mask_json(old_mask)
            after["mask"] = mask_json(mask)
            # Every recomputed measure travels with the mask, so sync can rebuild the row.
            for key in MASK_MEASURES:
                before[key], after[key] = row[key], values[key]
        if not values:
            raise ReviewError(f"call {call_id}: {action} changes nothing")
        revision = int(row["revision"]) + 1
        values.update(
            revision=revision, updated_at=now, updated_by=user, workstation_id=store.workstation_id
        )
        result = conn.execute(
            update(IND).where(IND.c.id == call_id, IND.c.revision == row["revision"]).values(values)
        )
        if result.rowcount != 1:
            raise ConflictError(f"call {call_id} was changed by someone else during {action}")
        conn.execute(
            insert(EVENTS),
            [
                _event(
                    store,
                    entity_type="indication",
                    entity_id=call_id,
                    scan_id=row["scan_id"],
                    action=action,
                    base_revision=int(row["revision"]),
                    revision=revision,
                    user=user,
                    at=now,
                    before=before,
                    after=after,
                    reason=event_reason if event_reason is not None else reason,
                )
            ],
        )
        return _full_call({**row, **values})


def review(
    store: Store,
    call_id: str,
    action: str,
    user: str,
    reason: str | None = None,
    *,
    cls: str | None = None,
    mask: SparseMask | None = None,
    distance_to_surface_mm: float | None = None,
    base_revision: int | None = None,
) -> dict[str, Any]:
    """Accept, reject, correct or reopen a call; durable when it returns.

    reject needs a reason; correct needs a new class and/or mask (the original proposal stays
    in ``proposal``). Returns the updated call (see get_call). Raises ReviewError for an
    action the call's status does not allow, ConflictError if ``base_revision`` is stale.
    """
    reason = reason.strip() if reason and reason.strip() else None
    if action == "reject" and reason is None:
        raise ReviewError(f"rejecting call {call_id} needs a reason")
    if action == "correct" and cls is None and mask is None:
        raise ReviewError(f"correcting call {call_id} needs a new class or a new mask")
    if action != "correct" and (cls is not None or mask is not None):
        raise ReviewError(f"only 'correct' changes the class or mask of call {call_id}")
    # One transaction reads the status, checks the transition, writes the row and the event.
    return apply_change(
        store,
        call_id,
        user=user,
        action=action,
        transition=action,
        cls=cls,
        mask=mask,
        reason=reason,
        base_revision=base_revision,
        distance_to_surface_mm=distance_to_surface_mm,
    )


def _event_dict(r: RowMapping) -> dict[str, Any]:
    return {
        "seq": r["seq"],
        "id": r["id"],
        "entity_type": r["entity_type"],
        "entity_id": r["entity_id"],
        "scan_id": r["scan_id"],
        "action": r["action"],
        "base_revision": r["base_revision"],
        "revision": r["revision"],
        "user": r["user_id"],
        "at": _iso(r["at"]),
        "workstation_id": r["workstation_id"],
        "before": r["before"],
        "after": r["after"],
        "reason": r["reason"],
    }


def events(
    store: Store, scan_id: str | None = None, entity_id: str | None = None
) -> list[dict[str, Any]]:
    """Audit events in the order they were written, optionally for one scan or one row."""
    query = select(EVENTS)
    if scan_id is not None:
        query = query.where(EVENTS.c.scan_id == scan_id)
    if entity_id is not None:
        query = query.where(EVENTS.c.entity_id == entity_id)
    with store.reading("read the audit log") as conn:
        return [_event_dict(r) for r in conn.execute(query.order_by(EVENTS.c.seq)).mappings()]
