"""Sync conflicts: list them, and resolve one as a new audited event that syncs.

A resolution takes "mine" (this workstation's row), "theirs" (the server's) or "merge"
(theirs with the fields given in ``merged``). It appends the server's events that were held
back to the local audit log, then one ``resolve`` event made on top of the last of them, and
sets the row to the chosen state. The next sync pushes it; the server and every other
workstation apply it cleanly, because it is made on top of what they have.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.model import STATUSES, check_class
from ndelab.annotation.store.audit_log import check_user, new_id
from ndelab.annotation.store.codec import STATE_KEYS, delta_columns, event_from_json, state_of
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import CONFLICTS, EVENT_COLUMNS, EVENTS, IND, utcnow

CHOICES = ("mine", "theirs", "merge")
MERGEABLE = ("status", "class", "reason")


def _conflict_json(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "entity_type": r["entity_type"],
        "entity_id": r["entity_id"],
        "scan_id": r["scan_id"],
        "status": r["status"],
        "detected_at": r["detected_at"].isoformat(),
        "local": {"revision": r["local_revision"], "state": _brief(r["local_state"])},
        "remote": {
            "revision": r["remote_revision"],
            "state": _brief(r["remote_state"]),
            "events": [
                {k: e.get(k) for k in ("id", "action", "user_id", "at", "workstation_id", "reason")}
                for e in r["remote_events"]
            ],
        },
        "resolution": r["resolution"],
        "resolved_by": r["resolved_by"],
        "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
        "resolution_event_id": r["resolution_event_id"],
    }


def _brief(state: dict[str, Any]) -> dict[str, Any]:
    """A state without the mask's run-length bytes (JSON for people, not for rebuilding)."""
    out = {k: v for k, v in state.items() if k != "mask"}
    if "mask" in state:
        out["bbox_zyx"] = state["mask"]["bbox_zyx"]
    return out


def list_conflicts(store: Store, status: str | None = "open") -> list[dict[str, Any]]:
    """Conflicts (open ones by default; status=None for all), oldest first, JSON-ready."""
    query = select(CONFLICTS).order_by(CONFLICTS.c.detected_at, CONFLICTS.c.id)
    if status is not None:
        query = query.where(CONFLICTS.c.status == status)
    with store.reading("list sync conflicts") as conn:
        return [_conflict_json(r) for r in conn.execute(query).mappings()]


def _merged_state(
    theirs: dict[str, Any], merged: dict[str, Any] | None, conflict_id: str
) -> dict[str, Any]:
    if not merged:
        raise ReviewError(f"merging conflict {conflict_id} needs the merged fields")
    unknown = sorted(set(merged) - set(MERGEABLE))
    if unknown:
        raise ReviewError(
            f"conflict {conflict_id}: cannot merge field(s) {', '.join(unknown)};"
            f" merge takes {', '.join(MERGEABLE)} (take mine or theirs for a mask)"
        )
    if "status" in merged and merged["status"] not in STATUSES:
        raise ReviewError(f"conflict {conflict_id}: status {merged['status']!r} is not valid")
    out = dict(theirs)
    out.update(merged)
    if "class" in merged:
        out["class"] = check_class(merged["class"])
    return out


def resolve_conflict(
    store: Store,
    conflict_id: str,
    choice: str,
    user: str,
    merged: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Resolve an open conflict; returns it (JSON-ready) with the resolution event's id."""
    user = check_user(user)
    if choice not in CHOICES:
        raise ReviewError(f"conflict resolution {choice!r} is not one of {', '.join(CHOICES)}")
    now = utcnow()
    with store.transaction(f"resolve conflict {conflict_id}") as conn:
        c = conn.execute(select(CONFLICTS).where(CONFLICTS.c.id == conflict_id)).mappings().first()
        if c is None:
            raise ReviewError(f"conflict {conflict_id} is not in database {store.name}")
        if c["status"] != "open":
            raise ReviewError(f"conflict {conflict_id} is already resolved ({c['resolution']})")
        row = conn.execute(select(IND).where(IND.c.id == c["entity_id"])).mappings().first()
        if row is None:
            raise ReviewError(f"call {c['entity_id']} of conflict {conflict_id} is not here")
        mine = state_of(dict(row))
        theirs = {k: v for k, v in c["remote_state"].items() if k in STATE_KEYS}
        if choice == "mine":
            chosen = mine
        elif choice == "theirs":
            chosen = {**mine, **theirs}
        else:
            chosen = _merged_state({**mine, **theirs}, merged, conflict_id)
        remote = [event_from_json(e) for e in c["remote_events"]]
        have = {
            r[0]
            for r in conn.execute(
                select(EVENTS.c.id).where(EVENTS.c.id.in_([e["id"] for e in remote]))
            )
        }
        held = [e for e in remote if e["id"] not in have]
        if held:  # the server's history joins the local audit log, in its order
            conn.execute(insert(EVENTS), [{k: e[k] for k in EVENT_COLUMNS} for e in held])
        revision = int(c["remote_revision"]) + 1
        event_id = new_id()
        conn.execute(
            insert(EVENTS).values(
                id=event_id,
                entity_type=c["entity_type"],
                entity_id=c["entity_id"],
                scan_id=c["scan_id"],
                action="resolve",
                base_revision=c["remote_revision"],
                revision=revision,
                user_id=user,
                at=now,
                workstation_id=store.workstation_id,
                before=mine,
                after=chosen,
                reason=f"sync conflict {conflict_id}: kept {choice}",
                parent_id=remote[-1]["id"],
            )
        )
        conn.execute(
            update(IND)
            .where(IND.c.id == c["entity_id"])
            .values(
                **delta_columns(chosen),
                revision=revision,
                updated_at=now,
                updated_by=user,
                workstation_id=store.workstation_id,
            )
        )
        conn.execute(
            update(CONFLICTS)
            .where(CONFLICTS.c.id == conflict_id)
            .values(
                status="resolved",
                resolution=choice,
                resolved_by=user,
                resolved_at=now,
                resolution_event_id=event_id,
            )
        )
        out = conn.execute(select(CONFLICTS).where(CONFLICTS.c.id == conflict_id)).mappings().one()
        return _conflict_json(out)


__all__ = ["CHOICES", "list_conflicts", "resolve_conflict"]
