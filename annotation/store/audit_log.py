"""The audit log: every change appends one event (who, when, before, after, why, the revision
it applied to). It is also the sync outbox, so events are never updated or deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import EVENTS, IND


def new_id() -> str:
    return str(uuid.uuid4())


def iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def check_user(user: str) -> str:
    """The user id of an action, stripped; an empty one is refused."""
    if not isinstance(user, str) or not user.strip():
        raise ReviewError("a review action needs a user id (a non-empty name)")
    return user.strip()


def versioned_columns(store: Store, user: str, now: datetime) -> dict[str, Any]:
    """The bookkeeping columns of a new row (revision 1, made here, now, by ``user``)."""
    return {
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "updated_by": user,
        "workstation_id": store.workstation_id,
    }


def change_event(
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
    """The audit event row of one change."""
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


def created_event(
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
    return change_event(
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
        "at": iso(r["at"]),
        "workstation_id": r["workstation_id"],
        "before": r["before"],
        "after": r["after"],
        "reason": r["reason"],
    }


#: The audit entity of a shadow model's run on a scan (a champion's run is "model_run").
SHADOW_RUN = "shadow_run"


def audit(
    store: Store,
    scan_id: str | None = None,
    *,
    call_id: str | None = None,
    include_shadow: bool = False,
) -> list[dict[str, Any]]:
    """Audit events in the order they were written: who, when, action, before, after, reason,
    revisions; optionally for one scan or one row (``call_id``: any entity's id).

    A shadow model's runs and calls are left out unless ``include_shadow``: what engineers
    read is what they were served."""
    query = select(EVENTS)
    if not include_shadow:
        shadow_calls = select(IND.c.id).where(IND.c.role == "shadow")
        query = query.where(
            EVENTS.c.entity_type != SHADOW_RUN, EVENTS.c.entity_id.not_in(shadow_calls)
        )
    if scan_id is not None:
        query = query.where(EVENTS.c.scan_id == scan_id)
    if call_id is not None:
        query = query.where(EVENTS.c.entity_id == call_id)
    with store.reading("read the audit log") as conn:
        return [_event_dict(r) for r in conn.execute(query.order_by(EVENTS.c.seq)).mappings()]
