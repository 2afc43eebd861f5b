"""Model aliases: which registered model version is the champion (what engineers see), the
challenger and the shadow. An alias lives in the review database, not in the registry's
folders, so it is audited (one review event per change: who, when, before, after, why) and it
syncs through the shared database, and every workstation of a line serves the same champion.

Whether NAME@VERSION is registered is checked by the caller that knows the registry
(app.model_serving); the store keeps the pointer and its history.

Sync uses a last-writer rule, not the conflict path (see ``newer``): an alias is one pointer
with nothing to merge, and a stale pointer must never block serving while a conflict waits for
a person. The overwritten choice stays in the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.store.audit_log import change_event, check_user, iso
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import ALIASES as TABLE
from ndelab.annotation.store.schema import EVENTS, utcnow

ALIASES = ("champion", "challenger", "shadow")
ENTITY = "model_alias"
# Every database derives the same row id from the alias name: two workstations that each set
# "champion" before they ever synced change the same row.
_NAMESPACE = uuid.UUID("6f1b6c1e-2f0a-4d59-9a43-6e64656c6162")


def alias_id(alias: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"model-alias:{alias}"))


def check_alias(alias: str) -> str:
    if alias not in ALIASES:
        raise ReviewError(f"model alias {alias!r} is not one of {', '.join(ALIASES)}")
    return alias


def _check_text(what: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReviewError(f"a model alias needs a non-empty {what}")
    if len(value.strip()) > limit:
        raise ReviewError(f"model {what} {value[:40]!r}... is longer than {limit} characters")
    return value.strip()


def set_alias(store: Store, alias: str, name: str, version: str, *, user: str, reason: str) -> None:
    """Point ``alias`` at model ``name`` version ``version``; one audited event."""
    alias = check_alias(alias)
    user = check_user(user)
    name = _check_text("name", name, 128)
    version = _check_text("version", version, 64)
    if not isinstance(reason, str) or not reason.strip():
        raise ReviewError(f"setting model alias {alias} needs a reason (why this version)")
    reason = reason.strip()
    now = utcnow()
    eid = alias_id(alias)
    with store.transaction(f"set model alias {alias}") as conn:
        found = conn.execute(select(TABLE).where(TABLE.c.id == eid)).mappings().first()
        row = dict(found) if found is not None else None
        base = int(row["revision"]) if row is not None else None
        before = _pointer(row) if row is not None else None
        after = {"alias": alias, "model_name": name, "model_version": version}
        event = change_event(
            store,
            entity_type=ENTITY,
            entity_id=eid,
            scan_id=None,
            action="set",
            base_revision=base,
            revision=(base or 0) + 1,
            user=user,
            at=now,
            before=before,
            after=after,
            reason=reason,
        )
        conn.execute(insert(EVENTS), [event])
        write_from_event(conn, event, row)


def _pointer(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("alias", "model_name", "model_version")}


def newer(event: Mapping[str, Any], row: Mapping[str, Any] | None) -> bool:
    """The last-writer rule: an alias event wins over the row when it was set later (UTC
    ``at``), ties broken by event id. Every database applies the same events under the same
    order, whatever order they arrive in, so all of them end on the same champion."""
    if row is None:
        return True
    return (event["at"], event["id"]) > (row["updated_at"], row["event_id"])


def write_from_event(
    conn: Connection, event: Mapping[str, Any], row: Mapping[str, Any] | None
) -> None:
    """Make the alias row what ``event`` says (the caller checked ``newer``)."""
    a = event["after"] or {}
    values = {
        "alias": check_alias(str(a["alias"])),
        "model_name": a["model_name"],
        "model_version": a["model_version"],
        "reason": event["reason"] or "",
        "event_id": event["id"],
        "revision": int(event["revision"])
        if row is None
        else max(int(row["revision"]) + 1, int(event["revision"])),
        "updated_at": event["at"],
        "updated_by": event["user_id"],
        "workstation_id": event["workstation_id"],
    }
    if row is None:
        conn.execute(
            insert(TABLE), [{"id": event["entity_id"], "created_at": event["at"], **values}]
        )
    else:
        conn.execute(update(TABLE).where(TABLE.c.id == event["entity_id"]).values(**values))


def get_alias(store: Store, alias: str) -> tuple[str, str] | None:
    """(name, version) that ``alias`` names, or None when it was never set."""
    check_alias(alias)
    with store.reading(f"read model alias {alias}") as conn:
        row = conn.execute(
            select(TABLE.c.model_name, TABLE.c.model_version).where(TABLE.c.alias == alias)
        ).first()
    return (str(row[0]), str(row[1])) if row is not None else None


def list_aliases(store: Store) -> list[dict[str, Any]]:
    """Every alias that is set: alias, name, version, set_by, set_at (ISO UTC), reason."""
    with store.reading("list the model aliases") as conn:
        rows = list(conn.execute(select(TABLE)).mappings())
    order = {a: i for i, a in enumerate(ALIASES)}
    return [
        {
            "alias": r["alias"],
            "name": r["model_name"],
            "version": r["model_version"],
            "set_by": r["updated_by"],
            "set_at": iso(r["updated_at"]),
            "reason": r["reason"],
        }
        for r in sorted(rows, key=lambda r: order.get(r["alias"], len(order)))
    ]


def alias_history(store: Store, alias: str | None = None) -> list[dict[str, Any]]:
    """Every alias change in the audit log, oldest first: alias, before, after, who, when, why."""
    query = select(EVENTS).where(EVENTS.c.entity_type == ENTITY).order_by(EVENTS.c.seq)
    if alias is not None:
        query = query.where(EVENTS.c.entity_id == alias_id(check_alias(alias)))
    with store.reading("read the model alias history") as conn:
        rows = list(conn.execute(query).mappings())
    return [
        {
            "alias": (r["after"] or {}).get("alias"),
            "before": r["before"],
            "after": r["after"],
            "user": r["user_id"],
            "at": iso(r["at"]),
            "reason": r["reason"],
            "workstation_id": r["workstation_id"],
            "event_id": r["id"],
        }
        for r in rows
    ]


__all__ = [
    "ALIASES",
    "ENTITY",
    "alias_history",
    "alias_id",
    "get_alias",
    "list_aliases",
    "newer",
    "set_alias",
    "write_from_event",
]
