"""Applying audit events to rows, the same way on the server (push) and on a workstation
(pull). An event applies when it was made on top of the row as it stands: its base revision
is the row's revision and its parent is the row's last event. Anything else is a mismatch
the caller handles (the server keeps the event unapplied; a workstation opens a conflict).

Parts, scans and dispositions travel whole beside their create events. The one later change
of a scan, its image-quality record, applies from its event when newer than the row.
Indications are rebuilt from their create event and changed by deltas.
Model aliases follow the last-writer rule (annotation.store.model_aliases.newer): an event
set later than the row's replaces it, an older one is kept for the audit only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import cast as cast_sql
from sqlalchemy.exc import DBAPIError

from ndelab.annotation.store import model_aliases
from ndelab.annotation.store.codec import CREATE_KEYS, PROPOSAL_KEYS, delta_columns
from ndelab.annotation.store.schema import ALIASES, DISPOSITIONS, EVENTS, IND, PARTS, SCANS

COPIED: dict[str, Table] = {"part": PARTS, "scan": SCANS, "disposition": DISPOSITIONS}
ROW_SECURITY_TABLES = frozenset({DISPOSITIONS.name})
INSERT_ORDER = ("part", "scan", "indication", "disposition")
BOOKKEEPING = ("revision", "updated_at", "updated_by", "workstation_id")


def indication_from_create(ev: Mapping[str, Any]) -> dict[str, Any]:
    """The full row a call's create event describes."""
    a = ev["after"]
    proposal = {k: a[k] for k in PROPOSAL_KEYS if k in a}
    proposal["bbox_zyx"] = list(a["bbox_zyx"])
    row = {k: a.get(k) for k in CREATE_KEYS}
    row.update(delta_columns({"mask": a["mask"]}))
    row["role"] = a.get("role") or "champion"  # events written before migration 0007
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


def id_filters(
    conn: Connection, column: ColumnElement[Any], ids: Iterable[str]
) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses that together select ``column`` in ``ids``. PostgreSQL takes the whole
    list as one array parameter (= ANY): thousands of IN parameters cost more to bind and
    plan than the query itself. SQLite gets IN lists below its parameter limit."""
    unique = sorted(set(ids))
    if not unique:
        return
    if conn.dialect.name == "postgresql":
        yield column == any_(cast_sql(bindparam("ids", unique), ARRAY(String)))
        return
    for i in range(0, len(unique), 5000):
        yield column.in_(unique[i : i + 5000])


def last_events(conn: Connection, entity_ids: Iterable[str]) -> dict[str, str]:
    """Each row's last applied event id (events with applied NULL were written here)."""
    out: dict[str, str] = {}
    for where in id_filters(conn, EVENTS.c.entity_id, entity_ids):
        latest = (
            select(func.max(EVENTS.c.seq))
            .where(where, or_(EVENTS.c.applied.is_(None), EVENTS.c.applied == 1))
            .group_by(EVENTS.c.entity_id)
        )
        query = select(EVENTS.c.entity_id, EVENTS.c.id).where(EVENTS.c.seq.in_(latest))
        out.update({r[0]: r[1] for r in conn.execute(query)})
    return out


def fetch_rows(conn: Connection, table: Table, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for where in id_filters(conn, table.c.id, ids):
        out.update({r.id: r._asdict() for r in conn.execute(select(table).where(where))})
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
    on_stale: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    """Apply events (in order) to the rows in ``conn``; write the changed rows in bulk.

    copied_rows: the whole rows of created parts, scans and dispositions, by id. blocked:
    rows whose incoming events all go to on_mismatch (an open conflict). on_stale: told of
    alias events older than the row they would change (kept, not applied).
    """
    blocked = blocked if blocked is not None else set()
    ind_ids = [e["entity_id"] for e in events if e["entity_type"] == "indication"]
    changed_ids = [
        e["entity_id"]
        for e in events
        if e["entity_type"] == "indication" and e["action"] != "create"
    ]
    # Whole rows only for the calls that change; for created ones, whether they exist.
    rows: dict[str, dict[str, Any] | None] = dict(fetch_rows(conn, IND, changed_ids))
    created_only = set(ind_ids) - set(rows)
    rows.update(dict.fromkeys(fetch_ids(conn, IND, created_only)))
    last = last_events(conn, changed_ids) if changed_ids else {}
    existing = {
        kind: set(
            fetch_ids(conn, table, [e["entity_id"] for e in events if e["entity_type"] == kind])
        )
        for kind, table in COPIED.items()
    }
    new_rows: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in INSERT_ORDER}
    dirty: set[str] = set()
    scan_quality: dict[str, dict[str, Any]] = {}
    out = Outcome()
    for ev in events:
        kind, eid = ev["entity_type"], ev["entity_id"]
        if kind in COPIED:
            if eid not in existing[kind] and eid not in new_rows[kind] and eid in copied_rows:
                new_rows[kind][eid] = copied_rows[eid]
            if kind == "scan" and ev["action"] == "image_quality":
                scan_quality[eid] = ev  # events come in order: the last one wins
            out.applied.append(ev)
            continue
        if kind == model_aliases.ENTITY:
            alias_row = fetch_rows(conn, ALIASES, [eid]).get(eid)
            if model_aliases.newer(ev, alias_row):
                model_aliases.write_from_event(conn, ev, alias_row)
            elif on_stale is not None:
                on_stale(ev)
            out.applied.append(ev)
            continue
        if kind != "indication":
            out.applied.append(ev)  # an entity this version does not know: audit only
            continue
        row = rows.get(eid)
        if ev["action"] == "create" and eid not in rows:
            row = indication_from_create(ev)
            rows[eid] = new_rows["indication"][eid] = row
            last[eid] = ev["id"]
            out.applied.append(ev)
            continue
        if ev["action"] == "create":
            out.applied.append(ev)  # the row is already here: a harmless repeat
            continue
        if row is None and eid in rows:  # here, but only its id was read: read it whole
            row = rows[eid] = fetch_rows(conn, IND, [eid]).get(eid)
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
        params = []
        for i in sorted(dirty):
            row = rows[i]
            assert row is not None
            params.append({"_id": i, **{f"_{c}": row[c] for c in columns}})
        conn.execute(stmt, params)
    for eid, ev in scan_quality.items():
        conn.execute(
            update(SCANS)
            .where(SCANS.c.id == eid, SCANS.c.revision < ev["revision"])
            .values(
                image_quality=(ev["after"] or {}).get("image_quality"),
                revision=ev["revision"],
                updated_at=ev["at"],
                updated_by=ev["user_id"],
                workstation_id=ev["workstation_id"],
            )
        )
    return out


def fetch_ids(conn: Connection, table: Table, ids: Iterable[str]) -> list[str]:
    found: list[str] = []
    for where in id_filters(conn, table.c.id, ids):
        found.extend(r[0] for r in conn.execute(select(table.c.id).where(where)))
    return found


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows fast: COPY on PostgreSQL (the caller made sure none exist), executemany
    elsewhere."""
    if not rows:
        return
    # COPY is refused on tables with row-level security (dispositions) for every role but
    # the owner; those rows are few.
    if conn.dialect.name != "postgresql" or table.name in ROW_SECURITY_TABLES:
        conn.execute(insert(table), list(rows))
        return
    import psycopg
    from psycopg.types.json import Json

    try:
        _copy_rows(conn, table, rows, Json)
    except psycopg.Error as e:  # raw driver errors, wrapped as SQLAlchemy wraps the others
        raise DBAPIError.instance(f"COPY {table.name}", None, e, psycopg.Error) from e


def _copy_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], Json: type
) -> None:
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
