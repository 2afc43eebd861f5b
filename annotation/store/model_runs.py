"""Which model version ran on which scan, in which role: one audit event per pre-label run.

A run that finds nothing leaves no call behind; without this record a shadow that stays quiet
on a scan would not count there, and its recall and false-call rate would be measured on the
scans it happened to call on. The event syncs like any other (an entity the server only
audits). A champion's run is a "model_run", a shadow's a "shadow_run" (left out of what
engineers read, see audit_log.audit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from ndelab.annotation.model import CHAMPION, SHADOW, check_role
from ndelab.annotation.store.audit_log import SHADOW_RUN, check_user, created_event, new_id
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import EVENTS, utcnow

MODEL_RUN = "model_run"
_ENTITY = {CHAMPION: MODEL_RUN, SHADOW: SHADOW_RUN}


def record_run(
    store: Store,
    scan_id: str,
    name: str,
    version: str,
    *,
    role: str,
    calls: int,
    user: str,
) -> None:
    """Record that ``name@version`` pre-labelled the scan in ``role`` and made ``calls`` calls."""
    user = check_user(user)
    role = check_role(role)
    after = {"name": name, "version": version, "role": role, "calls": int(calls)}
    event = created_event(
        store, _ENTITY[role], new_id(), scan_id, user, utcnow(), after, action="run"
    )
    with store.transaction("record a model run") as conn:
        conn.execute(insert(EVENTS), [event])


def model_runs(store: Store) -> list[dict[str, Any]]:
    """Every recorded run, oldest first: scan_id, name, version, role, calls, user, at."""
    query = (
        select(EVENTS.c.scan_id, EVENTS.c.after, EVENTS.c.user_id, EVENTS.c.at)
        .where(EVENTS.c.entity_type.in_(list(_ENTITY.values())))
        .order_by(EVENTS.c.seq)
    )
    with store.reading("read the model runs") as conn:
        rows = list(conn.execute(query).mappings())
    return [
        {
            "scan_id": r["scan_id"],
            **{k: (r["after"] or {}).get(k) for k in ("name", "version", "role", "calls")},
            "user": r["user_id"],
            "at": r["at"].isoformat(),
        }
        for r in rows
    ]
