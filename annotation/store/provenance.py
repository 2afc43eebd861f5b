"""Reviewed calls with their provenance: which scan, which model proposed it, who decided, when.

Exports and the agreement statistics read the store through this module: one query for the
calls and one for their decision events, never a query per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from ndelab.annotation.model import CHAMPION, CLASSES
from ndelab.annotation.store.audit_log import iso
from ndelab.annotation.store.codec import CALL_SUMMARY, mask_from_box, mask_of_row
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import EVENTS, IND

#: Statuses a person has decided; of these, accepted and corrected are true defects.
REVIEWED = ("accepted", "corrected", "rejected")
CONFIRMED = ("accepted", "corrected")
DECISIONS = ("accept", "reject", "correct")
#: Class codes of the exported label volumes (0 is background).
CLASS_CODES: dict[str, int] = {name: i + 1 for i, name in enumerate(CLASSES)}

_CHUNK = 500  # ids per IN (...) clause: far below SQLite's variable limit

_COLUMNS = (
    *CALL_SUMMARY,
    "proposal",
    "voxel_count",
    "reason",
    "updated_by",
    "updated_at",
)


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def call_rows(
    store: Store,
    *,
    statuses: Sequence[str] = REVIEWED,
    scan_id: str | None = None,
    with_masks: bool = False,
) -> list[dict[str, Any]]:
    """Calls in the given statuses, in scan order, as plain dicts of their columns.

    With ``with_masks`` each row also has "mask" and "proposal_mask" (SparseMask).
    """
    cols = [IND.c[n] for n in _COLUMNS]
    if with_masks:
        cols += [IND.c.mask_rle, IND.c.proposal_mask_rle]
    # The champion's calls only: a shadow call is never exported nor counted in agreement.
    query = select(*cols).where(IND.c.status.in_(list(statuses)), IND.c.role == CHAMPION)
    if scan_id is not None:
        query = query.where(IND.c.scan_id == scan_id)
    query = query.order_by(IND.c.scan_id, IND.c.z0, IND.c.y0, IND.c.x0, IND.c.id)
    with store.reading("read reviewed calls") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["updated_at"] = iso(r["updated_at"])
        if with_masks:
            r["mask"] = mask_of_row(r)
            r["proposal_mask"] = mask_from_box(
                r["proposal"]["bbox_zyx"], r.pop("proposal_mask_rle")
            )
            del r["mask_rle"]
    return rows


def decisions(store: Store, call_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The last accept/reject/correct event of each call: {"user", "at", "action", "reason"}.

    A call whose decision came in by sync has its event too; calls without one are absent.
    """
    ev = EVENTS
    out: dict[str, dict[str, Any]] = {}
    with store.reading("read review decisions") as conn:
        for chunk in _chunks(list(call_ids)):
            query = (
                select(ev.c.entity_id, ev.c.user_id, ev.c.at, ev.c.action, ev.c.reason)
                .where(ev.c.entity_id.in_(chunk), ev.c.action.in_(DECISIONS))
                .order_by(ev.c.seq)
            )
            for r in conn.execute(query).mappings():
                out[r["entity_id"]] = {
                    "user": r["user_id"],
                    "at": iso(r["at"]),
                    "action": r["action"],
                    "reason": r["reason"],
                }
    return out


def model_of(row: dict[str, Any]) -> dict[str, Any]:
    """What originally proposed the call (kind, name, version) and its class and score then."""
    p = row["proposal"]
    return {
        "kind": p.get("source_kind", row["source_kind"]),
        "name": p.get("source_name", row["source_name"]),
        "version": p.get("source_version", row["source_version"]),
        "class": p.get("class", row["class"]),
        "score": p.get("score", row["score"]),
    }


def provenance(
    row: dict[str, Any], scan: dict[str, Any], decision: dict[str, Any] | None
) -> dict[str, Any]:
    """Provenance of one reviewed call: scan, proposing model, reviewer and decision time (UTC)."""
    return {
        "call_id": row["id"],
        "revision": row["revision"],
        "scan": {"id": scan["id"], "path": scan["path"], "sha256": scan["sha256"]},
        "model": model_of(row),
        "reviewer": decision["user"] if decision else row["updated_by"],
        "reviewed_at": decision["at"] if decision else row["updated_at"],
        "decision": decision["action"] if decision else row["status"],
    }
