"""The scan inbox's side of the store: one row per arrival, and the one transaction that turns
an arrival into a scan with its calls.

Delivery is at least once (a folder is scanned again after a restart, a broker redelivers what
was not acknowledged), so the scan's voxel sha256 is the key: a scan whose hash is already in
the store, or being pre-labelled by this inbox run, is a duplicate and is never pre-labelled
or queued again. The scan, its part, its calls and the arrival's 'ready' are committed in one
transaction, so a process killed at any moment leaves either all of them or none.

States: arrived -> prelabelling -> ready | failed | duplicate. One inbox process per
database: a row left 'prelabelling' by another (dead) run does not block a redelivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import insert_indications
from ndelab.annotation.store.ingest import ScanRecord, insert_record
from ndelab.annotation.store.schema import INBOX, SCANS, utcnow

STATES = ("arrived", "prelabelling", "ready", "failed", "duplicate")
PENDING = ("arrived", "prelabelling")


@dataclass(frozen=True)
class Claim:
    """What the inbox should do with an arrival once its hash is known."""

    verdict: str  # "prelabel" or "duplicate"
    scan_id: str | None = None  # the scan it duplicates


def arrive(
    store: Store,
    *,
    source: str,
    location: str,
    metadata: Mapping[str, Any],
    owner: str,
) -> str:
    """Record an arrival; returns its id. A redelivery of an arrival that never finished (same
    source and location, still pending) reuses that row: one row per delivery, not per try."""
    now = utcnow()
    with store.transaction("record an inbox arrival") as conn:
        pending = conn.execute(
            select(INBOX.c.id)
            .where(
                INBOX.c.source == source,
                INBOX.c.location == location,
                INBOX.c.state.in_(PENDING),
            )
            .order_by(INBOX.c.arrived_at)
        ).first()
        if pending is not None:
            conn.execute(
                update(INBOX)
                .where(INBOX.c.id == pending.id)
                .values(
                    {
                        "state": "arrived",
                        "owner": owner,
                        "metadata": dict(metadata),
                        "updated_at": now,
                    }
                )
            )
            return str(pending.id)
        arrival_id = str(uuid.uuid4())
        conn.execute(
            insert(INBOX),
            [
                {
                    "id": arrival_id,
                    "sha256": None,
                    "source": source,
                    "location": location,
                    "metadata": dict(metadata),
                    "state": "arrived",
                    "reason": None,
                    "arrived_at": now,
                    "updated_at": now,
                    "ready_at": None,
                    "scan_id": None,
                    "model": None,
                    "calls": None,
                    "attempts": 0,
                    "owner": owner,
                }
            ],
        )
    return arrival_id


def _original(conn: Connection, arrival_id: str, sha256: str, owner: str) -> Claim | None:
    scan = conn.execute(select(SCANS.c.id).where(SCANS.c.sha256 == sha256).limit(1)).first()
    if scan is not None:
        return Claim("duplicate", str(scan.id))
    busy = conn.execute(
        select(INBOX.c.id).where(
            INBOX.c.sha256 == sha256,
            INBOX.c.id != arrival_id,
            INBOX.c.state == "prelabelling",
            INBOX.c.owner == owner,
        )
    ).first()
    return None if busy is None else Claim("duplicate", None)


def claim(store: Store, arrival_id: str, sha256: str, *, owner: str) -> Claim:
    """Decide, in one transaction, whether this arrival is new (-> prelabelling) or a
    duplicate of a scan in the store or one this run is pre-labelling (-> duplicate)."""
    now = utcnow()
    with store.transaction("claim an inbox arrival") as conn:
        original = _original(conn, arrival_id, sha256, owner)
        if original is not None:
            conn.execute(
                update(INBOX)
                .where(INBOX.c.id == arrival_id)
                .values(
                    sha256=sha256,
                    state="duplicate",
                    scan_id=original.scan_id,
                    updated_at=now,
                    reason="the same scan (sha256) is already in the store"
                    if original.scan_id
                    else "the same scan (sha256) is being pre-labelled",
                )
            )
            return original
        conn.execute(
            update(INBOX)
            .where(INBOX.c.id == arrival_id)
            .values(
                sha256=sha256,
                state="prelabelling",
                owner=owner,
                attempts=INBOX.c.attempts + 1,
                updated_at=now,
            )
        )
    return Claim("prelabel")


def commit_ready(
    store: Store,
    arrival_id: str,
    record: ScanRecord,
    calls: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    *,
    model: str,
) -> datetime:
    """Write the scan, its part and its calls and mark the arrival ready, all in one
    transaction; returns ready_at. Checks again that no scan has this hash (another process
    on the same database may have won the race): then nothing is written and the arrival is a
    duplicate (ValueError is not raised; the caller reads the row's state)."""
    now = utcnow()
    sha256 = record.scan[0]["sha256"]
    rows, events = calls
    with store.transaction("store an inbox scan and its calls") as conn:
        won = conn.execute(select(SCANS.c.id).where(SCANS.c.sha256 == sha256).limit(1)).first()
        if won is not None:
            conn.execute(
                update(INBOX)
                .where(INBOX.c.id == arrival_id)
                .values(
                    state="duplicate",
                    scan_id=str(won.id),
                    updated_at=now,
                    reason="the same scan (sha256) is already in the store",
                )
            )
            return now
        insert_record(conn, store, record)
        insert_indications(conn, store, record.scan_id, rows, events)
        conn.execute(
            update(INBOX)
            .where(INBOX.c.id == arrival_id)
            .values(
                state="ready",
                scan_id=record.scan_id,
                model=model,
                calls=len(rows),
                ready_at=now,
                updated_at=now,
                reason=None,
            )
        )
    return now


def fail(store: Store, arrival_id: str, reason: str, *, sha256: str | None = None) -> None:
    """Mark an arrival failed with its one-sentence reason (it went to the dead letters)."""
    values: dict[str, Any] = {"state": "failed", "reason": reason, "updated_at": utcnow()}
    if sha256 is not None:
        values["sha256"] = sha256
    with store.transaction("mark an inbox arrival failed") as conn:
        conn.execute(update(INBOX).where(INBOX.c.id == arrival_id).values(**values))


def get_arrival(store: Store, arrival_id: str) -> dict[str, Any]:
    with store.reading("read an inbox arrival") as conn:
        row = conn.execute(select(INBOX).where(INBOX.c.id == arrival_id)).mappings().one()
    return _row(row)


def _row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("arrived_at", "updated_at", "ready_at"):
        value = out.get(key)
        out[key] = value.isoformat() if value is not None else None
    return out


def list_arrivals(
    store: Store, *, states: Sequence[str] | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Arrivals, newest first, each with ``scan_path`` (where its scan lives) once stored."""
    query = (
        select(INBOX, SCANS.c.path.label("scan_path"), SCANS.c.modality.label("modality"))
        .select_from(INBOX.outerjoin(SCANS, SCANS.c.id == INBOX.c.scan_id))
        .order_by(INBOX.c.arrived_at.desc())
        .limit(limit)
    )
    if states:
        query = query.where(INBOX.c.state.in_(list(states)))
    with store.reading("list the inbox") as conn:
        return [_row(r) for r in conn.execute(query).mappings()]


def state_counts(store: Store) -> dict[str, int]:
    """How many arrivals are in each state (every state named, zero included)."""
    with store.reading("count the inbox") as conn:
        rows = conn.execute(select(INBOX.c.state, func.count()).group_by(INBOX.c.state))
        got = {str(state): int(n) for state, n in rows}
    return {state: int(got.get(state, 0)) for state in STATES}


def line_summary(store: Store) -> dict[str, Any]:
    """What the line did: arrivals per state, scans stored twice (by sha256: should be none),
    scans whose calls were stored twice, and the time from arrival to ready (seconds)."""
    from ndelab.annotation.store.schema import IND

    with store.reading("summarise the inbox") as conn:
        twice = conn.execute(
            select(func.count()).select_from(
                select(SCANS.c.sha256)
                .where(SCANS.c.sha256.is_not(None))
                .group_by(SCANS.c.sha256)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        ready = conn.execute(
            select(
                INBOX.c.scan_id,
                INBOX.c.calls,
                INBOX.c.arrived_at,
                INBOX.c.ready_at,
                INBOX.c.attempts,
            ).where(INBOX.c.state == "ready")
        ).all()
        stored = dict(
            (str(scan_id), int(n))
            for scan_id, n in conn.execute(
                select(IND.c.scan_id, func.count()).group_by(IND.c.scan_id)
            )
        )
    waits = sorted((r.ready_at - r.arrived_at).total_seconds() for r in ready)
    calls_twice = sum(1 for r in ready if stored.get(str(r.scan_id), 0) != (r.calls or 0))
    return {
        "states": state_counts(store),
        "scans_stored_twice": int(twice),
        "scans_whose_calls_do_not_match": calls_twice,
        "prelabel_attempts": {"max": max((r.attempts for r in ready), default=0)},
        "arrival_to_ready_s": {
            "n": len(waits),
            "min": round(waits[0], 3) if waits else None,
            "median": round(waits[len(waits) // 2], 3) if waits else None,
            "max": round(waits[-1], 3) if waits else None,
        },
    }
