"""The figures a production line is watched by, read from the store when asked (the metrics
exporter's collector calls this at every scrape): the review queue, the decisions, the time
from a scan's arrival to each decision, and the sync state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import CONFLICTS, EVENTS, IND, SCANS, SYNC_STATE

DECISIONS = ("accept", "reject", "correct")


def _parse(at: str) -> datetime | None:
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return None


def line_figures(store: Store) -> dict[str, Any]:
    """One read of the store:

    - ``waiting_scans`` / ``waiting_calls``: scans with proposed calls, and those calls;
    - ``decisions``: [(decision, model, version, count)] of every review decision so far
      (the audit log is append-only, so each count only grows);
    - ``arrival_to_decision_s``: seconds from each decided call's scan arriving (its
      created_at) to the decision, one per decision event;
    - ``sync_pending_events``: events not pushed to any server yet;
    - ``last_sync_at``: the last sync's time (UTC) or None; ``open_conflicts``.
    """
    with store.reading("read the line's figures") as conn:
        waiting_calls, waiting_scans = conn.execute(
            select(func.count(), func.count(IND.c.scan_id.distinct())).where(
                IND.c.status == "proposed"
            )
        ).one()
        decided = (
            select(
                EVENTS.c.action,
                func.coalesce(IND.c.source_name, IND.c.source_kind),
                func.coalesce(IND.c.source_version, ""),
                func.count(),
            )
            .select_from(EVENTS.join(IND, IND.c.id == EVENTS.c.entity_id))
            .where(EVENTS.c.entity_type == "indication", EVENTS.c.action.in_(DECISIONS))
            .group_by(EVENTS.c.action, IND.c.source_name, IND.c.source_kind, IND.c.source_version)
        )
        decisions = [(str(a), str(m), str(v), int(n)) for a, m, v, n in conn.execute(decided)]
        times = conn.execute(
            select(EVENTS.c.at, SCANS.c.created_at)
            .select_from(EVENTS.join(SCANS, SCANS.c.id == EVENTS.c.scan_id))
            .where(EVENTS.c.entity_type == "indication", EVENTS.c.action.in_(DECISIONS))
        ).all()
        state = dict(
            conn.execute(
                select(SYNC_STATE.c.key, SYNC_STATE.c.value).where(
                    SYNC_STATE.c.key.like("pushed_seq:%") | SYNC_STATE.c.key.like("last_sync:%")
                )
            ).all()
        )
        pushed = max((int(v) for k, v in state.items() if k.startswith("pushed_seq:")), default=0)
        pending = conn.execute(
            select(func.count()).where(EVENTS.c.seq > pushed, EVENTS.c.server_seq.is_(None))
        ).scalar_one()
        conflicts = conn.execute(
            select(func.count()).select_from(CONFLICTS).where(CONFLICTS.c.status == "open")
        ).scalar_one()
    stamps = [
        _parse(str(json.loads(v).get("at", "")))
        for k, v in state.items()
        if k.startswith("last_sync:")
    ]
    known = [s for s in stamps if s is not None]
    return {
        "waiting_scans": int(waiting_scans),
        "waiting_calls": int(waiting_calls),
        "decisions": decisions,
        "arrival_to_decision_s": [
            max(0.0, (at - created).total_seconds()) for at, created in times
        ],
        "sync_pending_events": int(pending),
        "last_sync_at": max(known) if known else None,
        "open_conflicts": int(conflicts),
    }


__all__ = ["DECISIONS", "line_figures"]
