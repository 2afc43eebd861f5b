"""Offline-first sync of a workstation's SQLite store with the shared PostgreSQL server.

The audit log is the outbox. ``sync`` pushes the local events the server lacks, in batches,
and applies them to the server's rows; then it pulls the other workstations' events past the
last server sequence number seen and applies them here. Both directions are idempotent and
resumable: events are keyed by UUID (the server skips ids it has), and each high-water mark
is committed in the same local transaction as the work it covers (pull), or right after the
server committed it (push, where a repeat is harmless). A killed or disconnected sync resumes
on the next run with nothing lost and nothing twice.

Pushes hold a transaction-scoped advisory lock, so the server's sequence numbers are assigned
in commit order and a pull (which takes the lock shared) never skips an event that commits
later with a smaller number.

An incoming change that was not made on top of this workstation's row (its parent event is
not the row's last) opens a conflict instead (see conflicts.py); it is never applied silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store.audit_log import new_id
from ndelab.annotation.store.codec import event_json, state_of
from ndelab.annotation.store.database import Store, driver_message, is_permission_error
from ndelab.annotation.store.schema import (
    CONFLICTS,
    DISPOSITIONS,
    EVENT_COLUMNS,
    EVENTS,
    utcnow,
)
from ndelab.annotation.store.schema import SYNC_STATE as STATE
from ndelab.annotation.sync.apply import (
    COPIED,
    apply_events,
    bulk_insert,
    fetch_ids,
    fetch_rows,
)
from ndelab.annotation.sync.credentials import resolve_url
from ndelab.volumes.progress import Cancel, Progress, check, report

PUSH_LOCK = 0x6E64_6C62  # "ndlb": the advisory lock that orders pushes on the server
DEFAULT_BATCH = 2000
# Changes the server's roles may refuse for some logins (signatures: reviewers only; model
# aliases: reviewers only): pushed one at a time, so one refusal holds nothing else back.
ONE_BY_ONE = frozenset({"disposition", "model_alias"})


# -- key/value state -------------------------------------------------------------------------


def get_state(conn: Connection, key: str) -> str | None:
    return conn.execute(select(STATE.c.value).where(STATE.c.key == key)).scalar()


def set_state(conn: Connection, key: str, value: str) -> None:
    if conn.execute(update(STATE).where(STATE.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(STATE).values(key=key, value=value))


def database_id(conn: Connection) -> str:
    value = get_state(conn, "database_id")
    if value is None:
        raise StoreError("the database has no id; it was not created by ndelab's migrations")
    return value


# -- push ----------------------------------------------------------------------------------


def _outbox(conn: Connection, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Local events not yet pushed (made here or resolved here), with their parent event."""
    where = (EVENTS.c.seq > after_seq, EVENTS.c.server_seq.is_(None))
    return _with_parents(conn, where, limit)


def _with_parents(
    conn: Connection, where: Sequence[ColumnElement[bool]], limit: int | None
) -> list[dict[str, Any]]:
    """Events matching ``where`` in local order, each with the event it was made on top of."""
    prev = EVENTS.alias("prev")
    parent = (
        select(prev.c.id)
        .where(prev.c.entity_id == EVENTS.c.entity_id, prev.c.seq < EVENTS.c.seq)
        .order_by(prev.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(EVENTS, func.coalesce(EVENTS.c.parent_id, parent).label("_parent"))
        .where(*where)
        .order_by(EVENTS.c.seq)
        .limit(limit)
    )
    out = []
    for r in conn.execute(query):
        ev = r._asdict()
        ev["parent_id"] = ev.pop("_parent")
        out.append(ev)
    return out


def _copied_rows(conn: Connection, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for kind, table in COPIED.items():
        ids = [e["entity_id"] for e in events if e["entity_type"] == kind]
        if ids:
            rows.update(fetch_rows(conn, table, ids))
    return rows


def _push_batch(
    rconn: Connection, events: list[dict[str, Any]], copied: dict[str, Any]
) -> tuple[int, int]:
    """Insert and apply the events the server lacks; returns (inserted, not applied)."""
    with rconn.begin():
        rconn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUSH_LOCK})
        have = set(fetch_ids(rconn, EVENTS, [e["id"] for e in events]))
        new = [e for e in events if e["id"] not in have]
        rejected: set[str] = set()
        apply_events(
            rconn,
            new,
            copied,
            lambda ev, _row: rejected.add(ev["id"]),
            on_stale=lambda ev: rejected.add(ev["id"]),
        )
        rows = []
        for ev in new:
            row = {k: ev[k] for k in EVENT_COLUMNS}
            row["server_seq"] = None
            row["applied"] = 0 if ev["id"] in rejected else 1
            rows.append(row)
        bulk_insert(rconn, EVENTS, rows)
    return len(new), len(rejected)


def _push_refusing(
    rconn: Connection, events: list[dict[str, Any]], copied: dict[str, Any]
) -> tuple[int, int, list[dict[str, Any]]]:
    """Push events; signatures (dispositions) one at a time after the rest, so one the
    server's roles refuse (a labeler's, or one signed by someone other than the login) is set
    aside alone and holds nothing back. Returns (inserted, not applied, refused records). Any
    other refusal (say a grant missing on the server) stops the sync with its sentence."""
    signs = [e for e in events if e["entity_type"] in ONE_BY_ONE]
    rest = [e for e in events if e["entity_type"] not in ONE_BY_ONE]
    inserted, rejected = _push_batch(rconn, rest, copied) if rest else (0, 0)
    refused: list[dict[str, Any]] = []
    for ev in signs:
        try:
            one_inserted, one_rejected = _push_batch(rconn, [ev], copied)
        except DBAPIError as e:
            if not is_permission_error(e):
                raise
            refused.append({**_refusal(ev), "reason": driver_message(e)})
            continue
        inserted += one_inserted
        rejected += one_rejected
    return inserted, rejected, refused


def _drop_superseded(
    rconn: Connection, local: Store, refused: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(still refused, superseded): a refused signature stops being offered once the server
    holds a later signature of the same scan (a reviewer signed it again). It stays in this
    workstation's history."""
    signs = [r for r in refused if r["entity_type"] == "disposition"]
    if not signs:
        return refused, []
    with local.reading("read the refused signatures") as conn:
        when = {
            r[0]: r[1]
            for r in conn.execute(
                select(DISPOSITIONS.c.id, DISPOSITIONS.c.signed_at).where(
                    DISPOSITIONS.c.id.in_([r["entity_id"] for r in signs])
                )
            )
        }
    latest = {
        r[0]: r[1]
        for r in rconn.execute(
            select(DISPOSITIONS.c.scan_id, func.max(DISPOSITIONS.c.signed_at))
            .where(DISPOSITIONS.c.scan_id.in_({r["scan_id"] for r in signs}))
            .group_by(DISPOSITIONS.c.scan_id)
        )
    }
    rconn.rollback()  # a read: end its transaction

    def superseded(r: Mapping[str, Any]) -> bool:
        signed, newest = when.get(r["entity_id"]), latest.get(r["scan_id"])
        # signed_at is a UTCDateTime column: aware UTC on both backends.
        return (
            r["entity_type"] == "disposition"
            and signed is not None
            and newest is not None
            and newest > signed
        )

    return [r for r in refused if not superseded(r)], [r for r in refused if superseded(r)]


def _refusal(ev: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "entity_type", "entity_id", "scan_id", "action", "user_id")
    return {"event_id" if k == "id" else k: ev[k] for k in keys}


def refusal_sentence(refused: Sequence[Mapping[str, Any]], server: str) -> str:
    """One sentence for the changes the server's roles refused."""
    first = refused[0]
    what = f"{first['action']} of {first['entity_type']} {first['entity_id']}"
    more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
    advice = (
        "a model alias is set only by a reviewer's login, so ask a reviewer to set it"
        if first["entity_type"] == "model_alias"
        else "a signature counts only when the reviewer who made it syncs it with their own"
        " login, so ask a reviewer to sign the disposition again"
    )
    return (
        f"server {server} refused {len(refused)} change(s) ({what}{more}: {first['reason']});"
        f" they stay on this workstation and are offered again on every sync; {advice}"
    )


# -- pull ----------------------------------------------------------------------------------


class _ConflictBook:
    """Open conflicts of this pull: new ones and existing ones that get more remote events."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        query = select(CONFLICTS).where(CONFLICTS.c.status == "open")
        self.open = {r["entity_id"]: dict(r) for r in conn.execute(query).mappings()}
        self.blocked = set(self.open)
        self.new: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()

    def add(self, ev: dict[str, Any], row: dict[str, Any] | None) -> None:
        eid = ev["entity_id"]
        current = self.new.get(eid) or self.open.get(eid)
        if current is not None:
            current["remote_state"] = {**current["remote_state"], **(ev["after"] or {})}
            current["remote_revision"] = ev["revision"]
            current["remote_events"] = [*current["remote_events"], event_json(ev)]
            if eid not in self.new:
                self.changed.add(eid)
            return
        local = state_of(row) if row is not None else {}
        remote = {**self._base_state(eid, ev["parent_id"], local), **(ev["after"] or {})}
        self.new[eid] = {
            "id": new_id(),
            "entity_type": ev["entity_type"],
            "entity_id": eid,
            "scan_id": ev["scan_id"],
            "local_revision": int(row["revision"]) if row is not None else 0,
            "local_state": local,
            "remote_revision": ev["revision"],
            "remote_state": remote,
            "remote_events": [event_json(ev)],
            "detected_at": utcnow(),
            "status": "open",
            "resolution": None,
            "resolved_by": None,
            "resolved_at": None,
            "resolution_event_id": None,
        }
        self.blocked.add(eid)

    def _base_state(self, eid: str, parent: str | None, local: dict[str, Any]) -> dict[str, Any]:
        """The row as it was at the remote event's parent: undo the local changes since."""
        since = 0
        if parent is not None:
            seq = self.conn.execute(select(EVENTS.c.seq).where(EVENTS.c.id == parent)).scalar()
            since = int(seq) if seq is not None else 0
        query = (
            select(EVENTS.c.before)
            .where(EVENTS.c.entity_id == eid, EVENTS.c.seq > since)
            .order_by(EVENTS.c.seq.desc())
        )
        base = dict(local)
        for (before,) in self.conn.execute(query):
            base.update(before or {})
        return base

    def write(self) -> None:
        if self.new:
            self.conn.execute(insert(CONFLICTS), list(self.new.values()))
        for eid in self.changed:
            c = self.open[eid]
            self.conn.execute(
                update(CONFLICTS)
                .where(CONFLICTS.c.id == c["id"])
                .values(
                    remote_state=c["remote_state"],
                    remote_revision=c["remote_revision"],
                    remote_events=c["remote_events"],
                )
            )


def _pull_batch(
    rconn: Connection, local: Store, mark: int, limit: int, mark_key: str
) -> tuple[int, int, int, bool]:
    """Pull one batch; returns (new mark, applied, conflicts opened, more to come)."""
    with rconn.begin():
        rconn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": PUSH_LOCK})
        top = int(rconn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        query = (
            select(EVENTS)
            .where(
                EVENTS.c.seq > mark,
                EVENTS.c.seq <= top,
                EVENTS.c.workstation_id != local.workstation_id,
                EVENTS.c.applied.is_distinct_from(0),
            )
            .order_by(EVENTS.c.seq)
            .limit(limit)
        )
        events = [dict(r) for r in rconn.execute(query).mappings()]
        copied = _copied_rows(rconn, events)
    more = len(events) == limit
    new_mark = int(events[-1]["seq"]) if more else top
    for ev in events:
        ev["server_seq"] = ev.pop("seq")
        ev["applied"] = 1
    with local.transaction("apply the pulled changes") as conn:
        have = set(fetch_ids(conn, EVENTS, [e["id"] for e in events]))
        fresh = [e for e in events if e["id"] not in have]
        book = _ConflictBook(conn)
        outcome = apply_events(conn, fresh, copied, book.add, book.blocked)
        if outcome.applied:
            conn.execute(
                insert(EVENTS), [{k: e[k] for k in EVENT_COLUMNS} for e in outcome.applied]
            )
        book.write()
        set_state(conn, mark_key, str(new_mark))
    return new_mark, len(outcome.applied), len(book.new), more


# -- the whole sync -------------------------------------------------------------------------


def sync(
    local: Store,
    remote_url: str,
    user: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    sslmode: str | None = None,
) -> dict[str, Any]:
    """Push this workstation's changes to the server and pull everyone else's.

    Returns {"pushed", "rejected", "pulled", "conflicts", "open_conflicts", "server_id",
    "batches", "refused", "refused_changes", "refused_message", "superseded"}:
    pushed = events the server did not have; rejected = pushed changes the server kept but did
    not apply (another workstation changed the row first: this sync's pull opens the conflict
    here); conflicts = conflicts opened by this sync; refused = signatures the server's roles
    did not allow (kept here, offered again on every sync until a later signature of the same
    scan reaches the server: then they count as superseded).
    """
    if batch_size < 1:
        raise StoreError(f"sync batch size must be at least 1, not {batch_size}")
    if not local.is_sqlite:
        raise StoreError(f"database {local.name} is not a workstation (SQLite) store")
    remote = Store(resolve_url(remote_url, sslmode=sslmode), workstation=local.workstation_id)
    try:
        if remote.is_sqlite:
            raise StoreError(f"sync server {remote.name} must be PostgreSQL")
        return _sync(local, remote, user, batch_size, progress, cancel)
    finally:
        remote.close()


def _sync(
    local: Store,
    remote: Store,
    user: str,
    batch_size: int,
    progress: Progress | None,
    cancel: Cancel | None,
) -> dict[str, Any]:
    counts = {"pushed": 0, "rejected": 0, "pulled": 0, "conflicts": 0, "batches": 0}
    doing = f"sync with server {remote.name}"
    with remote.guard(doing), remote.engine.connect() as rconn:
        with rconn.begin():
            server = database_id(rconn)
            top = int(rconn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        push_key, pull_key = f"pushed_seq:{server}", f"pulled_seq:{server}"
        refused_key, station_key = f"refused:{server}", f"workstation:{server}"
        with local.reading("read the sync state") as conn:
            pushed = int(get_state(conn, push_key) or 0)
            pulled = int(get_state(conn, pull_key) or 0)
            if get_state(conn, station_key) != local.workstation_id:
                # Pulls skip this workstation's own events by its id; under another id (or an
                # older ndelab's per-machine one) some skipped events were another's. Pull all
                # again: events it already has are recognised by id and skipped.
                pulled = 0
            earlier = [r["event_id"] for r in json.loads(get_state(conn, refused_key) or "[]")]
            retry: list[dict[str, Any]] = []
            for k in range(0, len(earlier), batch_size):
                chunk = earlier[k : k + batch_size]
                retry += _with_parents(conn, (EVENTS.c.id.in_(chunk),), None)
            retry_copied = _copied_rows(conn, retry)
            to_push = conn.execute(
                select(func.count()).where(EVENTS.c.seq > pushed, EVENTS.c.server_seq.is_(None))
            ).scalar_one()
        total = max(1, int(to_push) + max(0, top - pulled))
        done = 0
        refused: list[dict[str, Any]] = []
        if retry:  # refused before: perhaps the role changed since
            inserted, rejected, refused = _push_refusing(rconn, retry, retry_copied)
            counts["pushed"] += inserted
            counts["rejected"] += rejected
        while True:
            check(cancel, "the sync")
            with local.reading("read the changes to push") as conn:
                batch = _outbox(conn, pushed, batch_size)
                copied = _copied_rows(conn, batch)
            if not batch:
                break
            inserted, rejected, now_refused = _push_refusing(rconn, batch, copied)
            refused += now_refused
            pushed = int(batch[-1]["seq"])
            with local.transaction("record the pushed changes") as conn:
                set_state(conn, push_key, str(pushed))
                set_state(conn, refused_key, json.dumps(refused))
            counts["pushed"] += inserted
            counts["rejected"] += rejected
            counts["batches"] += 1
            done += len(batch)
            report(progress, done / total)
        more = True
        while more:
            check(cancel, "the sync")
            before = pulled
            pulled, applied, opened, more = _pull_batch(rconn, local, pulled, batch_size, pull_key)
            counts["pulled"] += applied
            counts["conflicts"] += opened
            counts["batches"] += 1
            done += pulled - before
            report(progress, min(1.0, done / total))
        refused, superseded = _drop_superseded(rconn, local, refused)
        counts["superseded"] = len(superseded)
    with local.transaction("record the sync") as conn:
        set_state(conn, refused_key, json.dumps(refused))
        set_state(conn, station_key, local.workstation_id)
        stamp = {"at": utcnow().isoformat(), "user": user, **counts, "refused": len(refused)}
        set_state(conn, f"last_sync:{server}", json.dumps(stamp))
        open_count = conn.execute(
            select(func.count()).select_from(CONFLICTS).where(CONFLICTS.c.status == "open")
        ).scalar_one()
    report(progress, 1.0)
    return {
        **counts,
        "refused": len(refused),
        "refused_changes": refused,
        "refused_message": refusal_sentence(refused, remote.name) if refused else None,
        "open_conflicts": int(open_count),
        "server_id": server,
    }


__all__ = ["DEFAULT_BATCH", "sync"]
