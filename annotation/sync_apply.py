"""Applying audit events to rows, the same way on the server (push) and on a workstation
(pull). An event applies when it was made on top of the row as it stands: its base revision
is the row's revision and its parent is the row's last event. Anything else is a mismatch
the caller handles (the server keeps the event unapplied; a workstation opens a conflict).

Parts, scans and dispositions never change after creation: their rows travel whole beside
their create events. Indications are rebuilt from their create event and changed by deltas.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, or_, select, update

from ndelab.annotation.calls import EVENTS, IND, MASK_MEASURES, PARTS, SCANS
from ndelab.annotation.schema import Disposition

DISPOSITIONS = cast(Table, Disposition.__table__)
COPIED: dict[str, Table] = {"part": PARTS, "scan": SCANS, "disposition": DISPOSITIONS}
INSERT_ORDER = ("part", "scan", "indication", "disposition")
BOOKKEEPING = ("revision", "updated_at", "updated_by", "workstation_id")
BOX = ("z0", "y0", "x0", "z1", "y1", "x1")
# The changeable fields of a call, in the shape events record them.
STATE_KEYS = ("status", "class", "reason", "mask", *MASK_MEASURES)
EVENT_COLUMNS = [c.name for c in EVENTS.columns if c.name != "seq"]


def state_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A call's changeable fields as an event's before/after would record them."""
    out = {k: row[k] for k in ("status", "class", "reason", *MASK_MEASURES)}
    out["mask"] = {
        "bbox_zyx": [int(row[k]) for k in BOX],
        "rle": base64.b64encode(bytes(row["mask_rle"])).decode("ascii"),
    }
    return out


def delta_columns(after: Mapping[str, Any]) -> dict[str, Any]:
    """Column values an event's after (or before) sets on an indication row."""
    values: dict[str, Any] = {}
    for key, value in after.items():
        if key == "mask":
            values.update(zip(BOX, (int(v) for v in value["bbox_zyx"]), strict=True))
            values["mask_rle"] = base64.b64decode(value["rle"])
        elif key in STATE_KEYS:
            values[key] = value
    return values


def indication_from_create(ev: Mapping[str, Any]) -> dict[str, Any]:
    """The full row a call's create event describes."""
    a = ev["after"]
    proposal = {k: a[k] for k in _PROPOSAL_KEYS if k in a}
    proposal["bbox_zyx"] = list(a["bbox_zyx"])
    row = {k: a.get(k) for k in _CREATE_KEYS}
    row.update(delta_columns({"mask": a["mask"]}))
    row.update(
        id=ev["entity_id"],
        scan_id=ev["scan_id"],
        status=a.get("status", "proposed"),
        reason=None,
        proposal=proposal,
        proposal_mask_rle=row["mask_rle"],
        revision=ev["revision"],
        created_at=ev["at"],
        updated_at=ev["at"],
        updated_by=ev["user_id"],
        workstation_id=ev["workstation_id"],
    )
    return row


_PROPOSAL_KEYS = (
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
_CREATE_KEYS = (*_PROPOSAL_KEYS, "centroid_z", "centroid_y", "centroid_x", "surface_area_mm2")


def last_events(conn: Connection, entity_ids: Iterable[str]) -> dict[str, str]:
    """Each row's last applied event id (events with applied NULL were written here)."""
    ids = list(set(entity_ids))
    out: dict[str, str] = {}
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        latest = (
            select(func.max(EVENTS.c.seq))
            .where(
                EVENTS.c.entity_id.in_(chunk),
                or_(EVENTS.c.applied.is_(None), EVENTS.c.applied == 1),
            )
            .group_by(EVENTS.c.entity_id)
        )
        query = select(EVENTS.c.entity_id, EVENTS.c.id).where(EVENTS.c.seq.in_(latest))
        out.update({r[0]: r[1] for r in conn.execute(query)})
    return out


def fetch_rows(conn: Connection, table: Table, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(set(ids))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 5000):
        query = select(table).where(table.c.id.in_(ids[i : i + 5000]))
        out.update({r["id"]: dict(r) for r in conn.execute(query).mappings()})
    return out


Mismatch = Callable[[dict[str, Any], dict[str, Any] | None], None]


@dataclass
class Outcome:
    applied: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)


def apply_events(
    conn: Connection,
    events: Sequence[dict[str, Any]],
    copied_rows: Mapping[str, dict[str, Any]],
    on_mismatch: Mismatch,
    blocked: set[str] | None = None,
) -> Outcome:
    """Apply events (in order) to the rows in ``conn``; write the changed rows in bulk.

    copied_rows: the whole rows of created parts, scans and dispositions, by id. blocked:
    rows whose incoming events all go to on_mismatch (an open conflict).
    """
    blocked = blocked if blocked is not None else set()
    ind_ids = [e["entity_id"] for e in events if e["entity_type"] == "indication"]
    changed_ids = [
        e["entity_id"]
        for e in events
        if e["entity_type"] == "indication" and e["action"] != "create"
    ]
    rows = fetch_rows(conn, IND, ind_ids)
    last = last_events(conn, changed_ids) if changed_ids else {}
    existing = {
        kind: set(
            fetch_ids(conn, table, [e["entity_id"] for e in events if e["entity_type"] == kind])
        )
        for kind, table in COPIED.items()
    }
    new_rows: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in INSERT_ORDER}
    dirty: set[str] = set()
    out = Outcome()
    for ev in events:
        kind, eid = ev["entity_type"], ev["entity_id"]
        if kind in COPIED:
            if eid not in existing[kind] and eid not in new_rows[kind] and eid in copied_rows:
                new_rows[kind][eid] = copied_rows[eid]
            out.applied.append(ev)
            continue
        if kind != "indication":
            out.applied.append(ev)  # an entity this version does not know: audit only
            continue
        row = rows.get(eid)
        if ev["action"] == "create" and row is None:
            row = indication_from_create(ev)
            rows[eid] = new_rows["indication"][eid] = row
            last[eid] = ev["id"]
            out.applied.append(ev)
            continue
        if ev["action"] == "create":
            out.applied.append(ev)  # the row is already here: a harmless repeat
            continue
        ok = (
            eid not in blocked
            and row is not None
            and row["revision"] == ev["base_revision"]
            and last.get(eid) == ev["parent_id"]
        )
        if not ok:
            on_mismatch(ev, row)
            out.mismatched.append(ev)
            continue
        assert row is not None
        row.update(delta_columns(ev["after"] or {}))
        row.update(
            revision=ev["revision"],
            updated_at=ev["at"],
            updated_by=ev["user_id"],
            workstation_id=ev["workstation_id"],
        )
        last[eid] = ev["id"]
        if eid not in new_rows["indication"]:
            dirty.add(eid)
        out.applied.append(ev)
    for kind in INSERT_ORDER:
        table = IND if kind == "indication" else COPIED[kind]
        bulk_insert(conn, table, list(new_rows[kind].values()))
    if dirty:
        columns = [c.name for c in IND.columns if c.name not in ("id", "created_at", "scan_id")]
        stmt = (
            update(IND)
            .where(IND.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns})
        )
        conn.execute(
            stmt, [{"_id": i, **{f"_{c}": rows[i][c] for c in columns}} for i in sorted(dirty)]
        )
    return out


def fetch_ids(conn: Connection, table: Table, ids: Sequence[str]) -> list[str]:
    found: list[str] = []
    unique = list(set(ids))
    for i in range(0, len(unique), 5000):
        query = select(table.c.id).where(table.c.id.in_(unique[i : i + 5000]))
        found.extend(r[0] for r in conn.execute(query))
    return found


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows fast: COPY on PostgreSQL (the caller made sure none exist), executemany
    elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    from psycopg.types.json import Json

    names = [c.name for c in table.columns if c.name in rows[0]]
    is_json = [table.c[n].type.__class__.__name__ == "JSON" for n in names]
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{n}"' for n in names)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    Json(row[n]) if j and row[n] is not None else row[n]
                    for n, j in zip(names, is_json, strict=True)
                ]
            )
