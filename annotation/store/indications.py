"""Calls (indications) in the store: add, list, read, review. Every change is one durable
transaction that bumps the row's revision and appends an audit event (before, after, why).

Hot paths use SQLAlchemy Core on the mapped tables: one SELECT, one guarded UPDATE (WHERE
revision = base, so a concurrent writer is detected, never overwritten) and one INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from ndelab.annotation import measure
from ndelab.annotation.errors import ConflictError, ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import (
    CHAMPION,
    SHADOW,
    NewIndication,
    check_class,
    check_role,
    next_status,
)
from ndelab.annotation.store.audit_log import (
    change_event,
    check_user,
    created_event,
    iso,
    new_id,
    versioned_columns,
)
from ndelab.annotation.store.codec import (
    CALL_SUMMARY,
    CREATE_EXTRA,
    MASK_MEASURES,
    box_columns,
    mask_from_box,
    mask_json,
    mask_of_row,
    measure_columns,
    proposal_of,
)
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import EVENTS, IND, SCANS, utcnow

# Columns list_calls reads: everything the queue shows, never the mask bytes.
_QUEUE_COLUMNS = [IND.c[n] for n in CALL_SUMMARY]


def _indication_row(item: NewIndication) -> dict[str, Any]:
    return {
        "class": check_class(item.cls),
        "score": item.score,
        "source_kind": item.source.kind,
        "source_name": item.source.name,
        "source_version": item.source.version,
        **box_columns(item.mask),
        "mask_rle": item.mask.code,
        **measure_columns(item.measurements, item.distance_to_surface_mm),
    }


def indication_rows(
    store: Store,
    scan_id: str,
    items: Iterable[NewIndication],
    *,
    user: str,
    role: str = CHAMPION,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New calls' rows (as 'proposed') and their create events, for a caller that writes them
    inside a larger transaction (see insert_indications)."""
    user = check_user(user)
    role = check_role(role)
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
            "proposal": proposal_of(fields),
            "proposal_mask_rle": item.mask.code,
            "role": role,
            **fields,
            **versioned_columns(store, user, now),
        }
        rows.append(row)
        after = {**row["proposal"], "status": "proposed", "mask": mask_json(item.mask)}
        # With these the event alone rebuilds the row on another workstation (sync).
        after.update({k: fields[k] for k in CREATE_EXTRA})
        after["role"] = role  # a shadow call must stay one on every workstation
        events.append(created_event(store, "indication", row["id"], scan_id, user, now, after))
    return rows, events


def insert_indications(
    conn: Connection,
    store: Store,
    scan_id: str,
    rows: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Insert calls and their events in the caller's transaction (the scan must exist)."""
    if not rows:
        return
    if conn.execute(select(SCANS.c.id).where(SCANS.c.id == scan_id)).first() is None:
        raise ReviewError(f"scan {scan_id} is not in database {store.name}")
    # Core executemany: one statement for all rows, not an ORM flush per object.
    conn.execute(insert(IND), rows)
    conn.execute(insert(EVENTS), events)


def add_indications(
    store: Store,
    scan_id: str,
    items: Iterable[NewIndication],
    *,
    user: str,
    role: str = CHAMPION,
) -> list[str]:
    """Store new calls as 'proposed' in one transaction (bulk insert); returns their ids.

    ``role`` "shadow" stores a shadow model's calls: kept for the A/B, never listed for
    review nor counted (every reading query serves the champion's calls only)."""
    rows, events = indication_rows(store, scan_id, items, user=user, role=role)
    if not rows:
        return []
    with store.transaction("add indications") as conn:
        insert_indications(conn, store, scan_id, rows, events)
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
        "role": r["role"],
    }


def list_calls(
    store: Store,
    scan_id: str | None = None,
    *,
    status: str | None = None,
    role: str | None = CHAMPION,
) -> list[dict[str, Any]]:
    """Queue rows (no masks) in scan order (scan, then box corner z, y, x): what the queue shows.

    The champion's calls only unless ``role`` says otherwise (None: every role)."""
    query = select(*_QUEUE_COLUMNS)
    if role is not None:
        query = query.where(IND.c.role == check_role(role))
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
            "updated_at": iso(r["updated_at"]),
            "updated_by": r["updated_by"],
            "created_at": iso(r["created_at"]),
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


def get_mask(store: Store, call_id: str) -> SparseMask:
    with store.reading("read a mask") as conn:
        return mask_of_row(_load(conn, store, call_id))


def get_masks(store: Store, call_ids: Sequence[str]) -> dict[str, SparseMask]:
    """Masks of many calls in one query (no N+1)."""
    query = select(
        IND.c.id, IND.c.z0, IND.c.y0, IND.c.x0, IND.c.z1, IND.c.y1, IND.c.x1, IND.c.mask_rle
    ).where(IND.c.id.in_(list(call_ids)))
    with store.reading("read masks") as conn:
        return {r["id"]: mask_of_row(r) for r in conn.execute(query).mappings()}


def get_proposal_mask(store: Store, call_id: str) -> SparseMask:
    """The mask the model (or SAM, or person) first proposed, before any correction."""
    with store.reading("read a proposal") as conn:
        row = _load(conn, store, call_id)
    return mask_from_box(row["proposal"]["bbox_zyx"], row["proposal_mask_rle"])


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
    user = check_user(user)
    now = utcnow()
    with store.transaction(f"{action} call {call_id}") as conn:
        row = _load(conn, store, call_id)
        if row["role"] == SHADOW:
            raise ReviewError(
                f"call {call_id} is a shadow model's call; it is kept for the A/B and is never "
                "reviewed"
            )
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
        old_mask = mask_of_row(row)
        if mask is not None and not mask.same_as(old_mask):
            spacing = conn.execute(
                select(SCANS.c.spacing_mm).where(SCANS.c.id == row["scan_id"])
            ).scalar_one()
            m = measure.measure(mask, spacing)
            values.update(box_columns(mask), mask_rle=mask.code)
            values.update(measure_columns(m, distance_to_surface_mm))
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
                change_event(
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
