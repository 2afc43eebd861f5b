"""What the inspector shows about one call, read in one go (Qt-free).

The stored call and its history come from the store; a decision the reviewer made that the
background writer has not written yet shows as the call's state and as a "saving" entry at
the end of its history, so the inspector always agrees with the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ndelab.annotation.store import audit
from ndelab.app.review_session import ReviewSession


@dataclass(frozen=True)
class Inspection:
    call: dict[str, Any]  # get_call's fields, with the session's state where it is newer
    events: list[dict[str, Any]]  # the audit log of the call, oldest first
    unsaved: list[dict[str, Any]]  # decisions being written: action, user, reason
    near: dict[str, Any] | None  # the nearest acceptance limit, when criteria are chosen
    gate: list[tuple[str, str]] = field(default_factory=list)  # the scan's gate (gate_rows)


def gate_rows(gate: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The scan's image-quality gate as inspector rows (label, text): acceptable, not
    interpretable (with the reason) or not measured, then each audited override. None (the
    gate not read yet) and a CT scan give no rows."""
    if gate is None or not gate.get("radiograph"):
        return []
    record = gate.get("record")
    if record is None:
        rows = [("image quality", "NOT MEASURED: signing needs an override")]
    elif record.get("acceptable"):
        rows = [("image quality", f"acceptable (class {record.get('class')})")]
    else:
        rows = [("image quality", f"NOT INTERPRETABLE: {record.get('reason')}")]
    for o in gate.get("overrides") or []:
        at = str(o.get("at", ""))[:19].replace("T", " ")
        rows.append(("IQ override", f"by {o.get('user')} at {at} UTC: {o.get('reason')}"))
    return rows


def inspect_call(session: ReviewSession, call_id: str) -> Inspection:
    """Everything about ``call_id`` for the inspector: one read of the call, one of its
    history."""
    call = dict(session.details(call_id))
    events = audit(session.store, call_id=call_id)
    pending = session.unsaved(call_id)
    if pending:
        row = session.row(call_id)
        call.update(status=row["status"], revision=row["revision"])
        call["class"] = row["class"]
        call["reason"] = pending[-1].reason  # every decision sets the call's reason
    unsaved = [{"action": d.action, "user": d.user, "reason": d.reason} for d in pending]
    near = session.nearness.get(call_id)
    return Inspection(call, events, unsaved, near, gate_rows(session.iq_gate))
