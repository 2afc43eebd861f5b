"""Shared database benchmark: sync of a workstation's SQLite store to PostgreSQL.

(1) 10k new calls with their events pushed to the server by ndelab.annotation.sync.engine (COPY
into the server under one advisory lock), against the plain ORM way of writing the same rows
and events (Session.add_all, one commit), in the same run on the same server.
(2) Two workstations make interleaved edits, some on the same calls, syncing in between:
nothing may be lost, and the conflicts must be exactly those the schedule implies.
Both start their own throwaway PostgreSQL cluster (benchmarks/pg_cluster.py).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, select
from sqlalchemy.orm import Session

from ndelab.annotation.store import Store, review
from ndelab.annotation.store.schema import EVENTS, IND, Indication, ReviewEvent
from ndelab.annotation.sync.apply import COPIED
from ndelab.annotation.sync.conflicts import list_conflicts, resolve_conflict
from ndelab.annotation.sync.engine import sync
from ndelab.annotation.sync.server_roles import setup_roles
from ndelab.benchmarks import pg_cluster
from ndelab.benchmarks.fixtures import grid_of_calls

GOAL_PUSH_S = 1.0
ENTITY_TABLES: dict[str, Table] = {**{k: t for k, t in COPIED.items()}, "indication": IND}


def populate(store: Store, n: int, *, user: str = "bench") -> tuple[str, list[str]]:
    """A part, a scan and n small proposed calls with distinct masks; returns (scan, ids)."""
    return grid_of_calls(store, n, user=user, part="sync part", path="sync.nrrd")


def snapshot(store: Store) -> dict[str, Any]:
    """Every synced row (parts, scans, calls, dispositions) by id, the ids of all events, and
    of those the rows' history holds (the server keeps, unapplied, changes that lost a race)."""
    out: dict[str, Any] = {}
    with store.reading("read a snapshot") as conn:
        for kind, table in ENTITY_TABLES.items():
            rows = conn.execute(select(table)).mappings()
            out[kind] = {r["id"]: {k: _plain(v) for k, v in r.items()} for r in rows}
        query = select(EVENTS.c.id, EVENTS.c.applied)
        events = list(conn.execute(query))
        out["events"] = {r[0] for r in events}
        out["applied_events"] = {r[0] for r in events if r[1] != 0}
    return out


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def _orm_peer(url: str, store: Store) -> float:
    """The naive way: ORM objects of the same rows and events, add_all, one commit."""
    with store.reading("read rows for the ORM peer") as conn:
        rows = [dict(r) for r in conn.execute(select(IND)).mappings()]
        events = [dict(r) for r in conn.execute(select(EVENTS)).mappings()]
    engine = create_engine(url)
    try:
        t = time.perf_counter()
        with Session(engine) as session:
            objects: list[Any] = []
            for r in rows:
                r = dict(r)
                r["cls"] = r.pop("class")
                r["id"] = f"orm-{r['id'][4:]}"
                r["scan_id"] = rows[0]["scan_id"]
                objects.append(Indication(**r))
            for e in events:
                e = {k: v for k, v in e.items() if k != "seq"}
                e["id"] = f"orm-{e['id'][4:]}"
                objects.append(ReviewEvent(**e))
            session.add_all(objects)
            session.commit()
        return time.perf_counter() - t
    finally:
        engine.dispose()


def bench_push(cluster: pg_cluster.Cluster, folder: Path, n: int) -> dict[str, Any]:
    url = cluster.create_database("bench_push")
    setup_roles(url)
    with Store(folder / "push.db", workstation="bench-ws") as store:
        populate(store, n)
        t = time.perf_counter()
        result = sync(store, url, "bench", batch_size=max(n + 10, 2000))
        ours = time.perf_counter() - t
        local_snapshot = snapshot(store)
        same = local_snapshot == snapshot_remote(url)
    # The other direction: a fresh workstation pulls all of it.
    with Store(folder / "pull.db", workstation="bench-ws-2") as other:
        t = time.perf_counter()
        pulled = sync(other, url, "bench2", batch_size=max(n + 10, 2000))
        pull_s = time.perf_counter() - t
        pull_same = _without_sync_fields(snapshot(other)) == _without_sync_fields(local_snapshot)
    with Store(folder / "push.db", workstation="bench-ws") as store:
        peer = _orm_peer(url, store)
    return {
        "calls": n,
        "sync_s": round(ours, 4),
        "goal_s": GOAL_PUSH_S,
        "goal_met": ours <= GOAL_PUSH_S if n >= 10_000 else None,  # the goal is for 10k
        "orm_add_all_s": round(peer, 4),
        "ratio_orm_over_sync": round(peer / ours, 2) if ours > 0 else None,
        "pushed_events": result["pushed"],
        "server_matches_local": same,
        "pull_into_fresh_workstation_s": round(pull_s, 4),
        "pulled_events": pulled["pulled"],
        "pulled_matches_pushed": pull_same,
    }


def _without_sync_fields(snap: dict[str, Any]) -> dict[str, Any]:
    """Rows only: a puller's event set also holds what it stamped when pulling."""
    return {k: v for k, v in snap.items() if k not in ("events", "applied_events")}


def snapshot_remote(url: str) -> dict[str, Any]:
    with Store(url) as remote:
        snap = snapshot(remote)
    # The ORM peer's rows (if any) are not part of the synced state.
    snap["indication"] = {k: v for k, v in snap["indication"].items() if not k.startswith("orm-")}
    for key in ("events", "applied_events"):
        snap[key] = {k for k in snap[key] if not k.startswith("orm-")}
    return snap


def bench_two_workstations(
    cluster: pg_cluster.Cluster, folder: Path, edits: int, seed: int = 7
) -> dict[str, Any]:
    """Interleaved accept/reopen edits on two workstations with a sync every few edits. A
    conflict is expected for each call both changed since they last synced with each other."""
    url = cluster.create_database("bench_two")
    setup_roles(url)
    rng = random.Random(seed)
    with (
        Store(folder / "a.db", workstation="ws-a") as a,
        Store(folder / "b.db", workstation="ws-b") as b,
    ):
        _scan, ids = populate(a, max(20, edits // 10), user="ana")
        sync(a, url, "ana")
        sync(b, url, "ben")
        expected = found = 0
        made = {"ws-a": 0, "ws-b": 0}
        round_size = 10
        for start in range(0, edits, round_size):
            touched: dict[str, set[str]] = {"ws-a": set(), "ws-b": set()}
            for _ in range(min(round_size, edits - start)):
                ws, store = (("ws-a", a), ("ws-b", b))[rng.randrange(2)]
                call = rng.choice(ids[:30])  # a small pool, so both sides hit the same calls
                status = store_status(store, call)
                review(store, call, "accept" if status == "proposed" else "reopen", ws)
                touched[ws].add(call)
                made[ws] += 1
            expected += len(touched["ws-a"] & touched["ws-b"])
            sync(a, url, "ana")
            result = sync(b, url, "ben")
            found += result["conflicts"]
            for c in list_conflicts(b):
                resolve_conflict(b, c["id"], "theirs", "ben")
            sync(b, url, "ben")
            sync(a, url, "ana")
        lost = len(_all_local_events(a) - _server_events(url)) + len(
            _all_local_events(b) - _server_events(url)
        )
        agree = snapshot(a)["indication"] == snapshot(b)["indication"]
    return {
        "edits": edits,
        "conflicts_expected": expected,
        "conflicts_found": found,
        "lost_events": lost,
        "workstations_agree": agree,
    }


def store_status(store: Store, call: str) -> str:
    with store.reading("read a status") as conn:
        return str(conn.execute(select(IND.c.status).where(IND.c.id == call)).scalar_one())


def _all_local_events(store: Store) -> set[str]:
    with store.reading("read event ids") as conn:
        return {r[0] for r in conn.execute(select(EVENTS.c.id))}


def _server_events(url: str) -> set[str]:
    with Store(url) as remote:
        return _all_local_events(remote)


def run(*, quick: bool = False) -> dict[str, Any]:
    """Sync benchmark; quick: 1k calls and 100 edits instead of 10k and 1k."""
    n, edits = (1000, 100) if quick else (10_000, 1000)
    with (
        pg_cluster.running(durable=True) as cluster,
        tempfile.TemporaryDirectory(prefix="ndelab-db-bench-") as tmp,
    ):
        folder = Path(tmp)
        return {
            "push": bench_push(cluster, folder, n),
            "two_workstations": bench_two_workstations(cluster, folder, edits),
            "server": "PostgreSQL (throwaway cluster, fsync on)",
        }


__all__ = ["populate", "run", "snapshot"]
