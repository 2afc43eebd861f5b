# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""Sync of workstation stores through a real PostgreSQL: both directions, one conflict per
clash, resolution, and nothing lost or doubled after a SIGKILL or a dropped connection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import PgServer, pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.annotation.errors import ReviewError, StoreError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.store import Store, dispositions, get_call, get_mask, list_calls, review
from ndelab.annotation.store import disposition as sign
from ndelab.annotation.sync.conflicts import list_conflicts, resolve_conflict
from ndelab.annotation.sync.engine import sync
from ndelab.benchmarks.db import populate, snapshot
from ndelab.volumes.progress import Cancelled

pytestmark = pytest.mark.postgres


def _server(url: str) -> dict[str, Any]:
    with Store(url) as remote:
        out: dict[str, Any] = snapshot(remote)
    return out


def _same(a: Store, url: str) -> None:
    local, server = snapshot(a), _server(url)
    for kind in ("part", "scan", "indication", "disposition"):
        assert local[kind] == server[kind], kind
    # Nothing lost: the server has every local event; every change it applied is here too.
    assert local["events"] <= server["events"]
    assert server["applied_events"] <= local["events"]


def _event_count(store_or_url: Store | str) -> int:
    from sqlalchemy import func, select

    from ndelab.annotation.store.schema import EVENTS

    if isinstance(store_or_url, Store):
        with store_or_url.reading("count") as conn:
            return int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())
    with Store(store_or_url) as remote:
        return _event_count(remote)


def test_decisions_travel_both_ways_and_a_clash_is_one_conflict(
    tmp_path: Path, pg_url: str
) -> None:
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        scan, ids = populate(a, 6, user="ana")
        first = sync(a, pg_url, "ana")
        assert first["pushed"] == 8 and first["pulled"] == 0 and first["conflicts"] == 0
        got = sync(b, pg_url, "ben")
        assert got["pulled"] == 8 and got["pushed"] == 0
        assert get_mask(b, ids[0]).code == get_mask(a, ids[0]).code  # mask bytes travel

        review(b, ids[0], "accept", "ben")
        review(b, ids[2], "correct", "ben", mask=_grown(get_mask(b, ids[2])))
        sync(b, pg_url, "ben")
        review(a, ids[1], "reject", "ana", "surface scratch")
        back = sync(a, pg_url, "ana")
        assert back["pulled"] == 2 and back["conflicts"] == 0
        assert get_call(a, ids[0])["status"] == "accepted"
        assert get_call(a, ids[2])["status"] == "corrected"
        assert get_mask(a, ids[2]).same_as(get_mask(b, ids[2]))
        assert get_call(a, ids[2])["volume_mm3"] == get_call(b, ids[2])["volume_mm3"]
        sync(b, pg_url, "ben")
        assert get_call(b, ids[1])["reason"] == "surface scratch"

        # Both change call 3 between syncs: exactly one conflict, on the second to sync.
        review(a, ids[3], "accept", "ana")
        review(b, ids[3], "reject", "ben", "not a pore")
        review(b, ids[3], "reopen", "ben")
        review(b, ids[3], "reject", "ben", "still not a pore")
        ra = sync(a, pg_url, "ana")
        rb = sync(b, pg_url, "ben")
        ra2 = sync(a, pg_url, "ana")
        assert (ra["conflicts"], rb["conflicts"], ra2["conflicts"]) == (0, 1, 0)
        assert rb["rejected"] == 3  # kept in the server's audit log, not applied
        assert list_conflicts(a) == []
        [conflict] = list_conflicts(b)
        json.dumps(conflict)
        assert conflict["entity_id"] == ids[3]
        assert conflict["local"]["state"]["status"] == "rejected"
        assert conflict["remote"]["state"]["status"] == "accepted"
        # Never applied silently: B still has its own decision, the server A's.
        assert get_call(b, ids[3])["status"] == "rejected"
        assert get_call(a, ids[3])["status"] == "accepted"

        done = resolve_conflict(b, conflict["id"], "mine", "ben")
        assert done["status"] == "resolved" and done["resolution_event_id"]
        with pytest.raises(ReviewError, match="already resolved"):
            resolve_conflict(b, conflict["id"], "theirs", "ben")
        assert sync(b, pg_url, "ben")["conflicts"] == 0
        assert sync(a, pg_url, "ana")["conflicts"] == 0
        assert get_call(a, ids[3])["status"] == "rejected"
        assert get_call(a, ids[3])["reason"] == "still not a pore"
        _same(a, pg_url)
        _same(b, pg_url)
        assert snapshot(a)["indication"] == snapshot(b)["indication"]
        assert scan in snapshot(b)["scan"]


def _grown(mask: SparseMask) -> SparseMask:
    """A corrected mask: a 3x3x3 block where the proposal was 2x3x3."""
    import numpy as np

    return SparseMask.from_local(np.ones((3, 3, 3), bool), mask.start)


def test_theirs_and_merge_resolutions_sync_to_everyone(tmp_path: Path, pg_url: str) -> None:
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        _scan, ids = populate(a, 3, user="ana")
        sync(a, pg_url, "ana")
        sync(b, pg_url, "ben")
        review(a, ids[0], "accept", "ana")
        review(a, ids[1], "reject", "ana", "porosity in the weld cap")
        review(b, ids[0], "reject", "ben", "artefact")
        review(b, ids[1], "accept", "ben")
        sync(a, pg_url, "ana")
        assert sync(b, pg_url, "ben")["conflicts"] == 2
        by_call = {c["entity_id"]: c for c in list_conflicts(b)}
        resolve_conflict(b, by_call[ids[0]]["id"], "theirs", "ben")
        with pytest.raises(ReviewError, match="cannot merge"):
            resolve_conflict(b, by_call[ids[1]]["id"], "merge", "ben", {"mask": 1})
        resolve_conflict(
            b, by_call[ids[1]]["id"], "merge", "ben", {"reason": "porosity, agreed by ben"}
        )
        assert get_call(b, ids[0])["status"] == "accepted"
        assert get_call(b, ids[1])["status"] == "rejected"
        sync(b, pg_url, "ben")
        sync(a, pg_url, "ana")
        assert get_call(a, ids[1])["reason"] == "porosity, agreed by ben"
        assert list_conflicts(a) == [] and list_conflicts(b) == []
        assert len(list_conflicts(b, status=None)) == 2
        _same(a, pg_url)
        _same(b, pg_url)


def test_a_disposition_syncs_whole(tmp_path: Path, pg_url: str) -> None:
    criteria = tmp_path / "c.json"
    criteria.write_text(
        json.dumps(
            {
                "name": "grade",
                "version": "2",
                "rules": [{"class": "pore", "max_equivalent_diameter_mm": 5.0}],
            }
        )
    )
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        scan, ids = populate(a, 2, user="ana")
        for call in ids:
            review(a, call, "accept", "ana")
        sign(a, scan, criteria, sign_user="ana")
        sync(a, pg_url, "ana")
        sync(b, pg_url, "ben")
        assert dispositions(b, scan) == dispositions(a, scan)
        _same(b, pg_url)


def test_a_labelers_offline_signature_is_refused_alone_and_offered_again(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """A labeler signs offline; the server's roles refuse that one change, everything else
    goes through, and the signature stays here. A reviewer's login cannot push it either (a
    signature counts only from its signer); the reviewer's own signature goes through and
    supersedes it."""
    from ndelab.annotation.sync.server_roles import create_user

    create_user(pg_url, "lena", "labeler", "lab-secret")
    create_user(pg_url, "rita", "reviewer", "rev-secret")
    as_labeler = pg_server.url_as(pg_url, "lena", "lab-secret")
    criteria = tmp_path / "c.json"
    rules = [{"class": "pore", "max_equivalent_diameter_mm": 5.0}]
    criteria.write_text(json.dumps({"name": "grade", "version": "2", "rules": rules}))
    with Store(tmp_path / "a.db", workstation="ws-a") as a:
        scan, ids = populate(a, 3, user="lena")
        for call in ids:
            review(a, call, "accept", "lena")
        signed = sign(a, scan, criteria, sign_user="lena")
        later = ids[0]
        review(a, later, "reopen", "lena")  # made after the signature: must not be held back
        result = sync(a, as_labeler, "lena", batch_size=4)
        assert result["refused"] == 1
        (refused,) = result["refused_changes"]
        assert refused["entity_type"] == "disposition"
        assert refused["entity_id"] == signed["id"]
        assert "permission denied" in result["refused_message"]
        server = _server(pg_url)
        assert set(server["disposition"]) == set()
        assert server["indication"][later]["status"] == "proposed"
        assert dispositions(a, scan)[0]["id"] == signed["id"]  # kept here
        again = sync(a, as_labeler, "lena")
        assert (again["refused"], again["pushed"]) == (1, 0)
        as_reviewer = pg_server.url_as(pg_url, "rita", "rev-secret")
        by_reviewer = sync(a, as_reviewer, "rita")
        assert (by_reviewer["refused"], by_reviewer["pushed"]) == (1, 0)
        assert "row-level security" in by_reviewer["refused_message"]
        review(a, later, "accept", "rita")
        resigned = sign(a, scan, criteria, sign_user="rita")
        final = sync(a, as_reviewer, "rita")
        # The new signature supersedes the refused one: it is no longer offered.
        assert (final["refused"], final["pushed"], final["superseded"]) == (0, 2, 1)
        assert set(_server(pg_url)["disposition"]) == {resigned["id"]}
        assert sync(a, as_reviewer, "rita")["refused"] == 0
        assert signed["id"] in {d["id"] for d in dispositions(a, scan)}  # history kept here


_CHILD = """
import sys
from ndelab.annotation.store import Store
from ndelab.annotation.sync.engine import sync

def progress(f):
    print(f"{f:.4f}", flush=True)

with Store(sys.argv[1], workstation="ws-kill") as store:
    sync(store, sys.argv[2], "ana", batch_size=int(sys.argv[3]), progress=progress)
print("done", flush=True)
"""


def test_a_sync_killed_with_sigkill_resumes_with_nothing_lost_or_doubled(
    tmp_path: Path, pg_url: str
) -> None:
    db = tmp_path / "kill.db"
    with Store(db, workstation="ws-kill") as a:
        populate(a, 3000, user="ana")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), pg_url, "100"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() != "done" and float(line) >= 0.3:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL and "done" not in seen  # it died halfway
    partial = _event_count(pg_url)
    assert 0 < partial < 3002
    with Store(db, workstation="ws-kill") as a:
        again = sync(a, pg_url, "ana", batch_size=500)
        assert again["pushed"] == 3002 - partial and again["conflicts"] == 0
        _same(a, pg_url)
        assert _event_count(pg_url) == _event_count(a) == 3002
        assert sync(a, pg_url, "ana")["pushed"] == 0  # a repeat changes nothing
        _same(a, pg_url)


def test_a_dropped_connection_mid_sync_resumes_both_ways(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        populate(a, 1500, user="ana")
        cut = {"done": False}

        def drop(fraction: float) -> None:
            if fraction > 0.3 and not cut["done"]:
                cut["done"] = True
                assert pg_server.terminate(pg_url) >= 1

        with pytest.raises(StoreError, match=r"sync with server|could not"):
            sync(a, pg_url, "ana", batch_size=200, progress=drop)
        assert 0 < _event_count(pg_url) < 1502
        sync(a, pg_url, "ana", batch_size=200)
        _same(a, pg_url)
        # The same on the way down: the pull is cut, then resumes.
        cut["done"] = False
        with pytest.raises(StoreError):
            sync(b, pg_url, "ben", batch_size=200, progress=drop)
        assert 0 < _event_count(b) < 1502
        sync(b, pg_url, "ben", batch_size=200)
        _same(b, pg_url)
        assert _event_count(b) == _event_count(a) == _event_count(pg_url) == 1502


def test_cancel_stops_between_batches_and_the_next_sync_finishes(
    tmp_path: Path, pg_url: str
) -> None:
    with Store(tmp_path / "a.db", workstation="ws-a") as a:
        populate(a, 500, user="ana")
        calls = {"n": 0}

        def cancel() -> bool:
            calls["n"] += 1
            return calls["n"] > 2

        with pytest.raises(Cancelled):
            sync(a, pg_url, "ana", batch_size=100, cancel=cancel)
        assert sync(a, pg_url, "ana", batch_size=100)["pushed"] == 502 - 200
        _same(a, pg_url)


def test_the_local_store_works_with_no_server(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db", workstation="ws-a") as a:
        _scan, ids = populate(a, 2, user="ana")
        review(a, ids[0], "accept", "ana")
        with pytest.raises(StoreError, match=r"127\.0\.0\.1"):
            sync(a, "postgresql+psycopg://nobody:x@127.0.0.1:9/none?connect_timeout=2", "ana")
        assert get_call(a, ids[0])["status"] == "accepted"
        with pytest.raises(StoreError, match="batch size"):
            sync(a, "postgresql+psycopg://x@127.0.0.1:9/none", "ana", batch_size=0)


def test_a_store_under_a_new_workstation_id_pulls_what_it_skipped(
    tmp_path: Path, pg_url: str
) -> None:
    """Before ids were per database file, two files on one machine shared one id and skipped
    each other's events as their own. Under its new id a store pulls everything again."""
    with Store(tmp_path / "a.db", workstation="machine-1") as a:
        _scan, ids = populate(a, 3, user="ana")
        sync(a, pg_url, "ana")
    with Store(tmp_path / "b.db", workstation="machine-1") as b:  # the old shared id
        assert sync(b, pg_url, "ben")["pulled"] == 0
    with Store(tmp_path / "b.db", workstation="machine-1-b") as b:
        assert sync(b, pg_url, "ben")["pulled"] == _event_count(str(tmp_path / "a.db"))
        assert {c["id"] for c in list_calls(b)} == set(ids)
        assert sync(b, pg_url, "ben")["pulled"] == 0  # once only
