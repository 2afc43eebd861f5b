"""Sync conflicts for the conflicts dialog (Qt-free): listing and resolving them, as job
functions (the listing reads every open conflict with its remote history), and the text of
each table row.
"""

from __future__ import annotations

from typing import Any

from ndelab.annotation.store import Store
from ndelab.annotation.sync.conflicts import list_conflicts, resolve_conflict
from ndelab.app.display_time import local_minutes
from ndelab.volumes.progress import Cancel, Progress, check, report

WHAT = "reading the sync conflicts"


def load_conflicts(
    store: Store, progress: Progress | None = None, cancel: Cancel | None = None
) -> list[dict[str, Any]]:
    """The open conflicts, oldest first."""
    report(progress, 0.0)
    check(cancel, WHAT)
    conflicts = list_conflicts(store)
    report(progress, 1.0)
    return conflicts


def resolve_and_reload(
    store: Store,
    conflict_id: str,
    choice: str,
    user: str,
    merged: dict[str, Any] | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> list[dict[str, Any]]:
    """Resolve one conflict ("mine", "theirs" or "merge" with ``merged`` fields) and return
    the conflicts still open."""
    check(cancel, WHAT)
    resolve_conflict(store, conflict_id, choice, user, merged if choice == "merge" else None)
    report(progress, 0.5)
    return load_conflicts(store, cancel=cancel)


def state_text(state: dict[str, Any]) -> str:
    parts = [str(state.get("status", "?")), str(state.get("class", "?"))]
    if state.get("reason"):
        parts.append(f"“{state['reason']}”")
    return " ".join(parts)


def conflict_cells(conflict: dict[str, Any]) -> list[str]:
    """The dialog's columns: call, mine, theirs, their change, detected."""
    events = conflict["remote"]["events"]
    return [
        conflict["entity_id"][:8],
        state_text(conflict["local"]["state"]),
        state_text(conflict["remote"]["state"]),
        ", ".join(f"{e['user_id']} {e['action']}" for e in events),
        local_minutes(conflict["detected_at"]),
    ]
