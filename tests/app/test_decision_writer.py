"""Decisions written behind the reviewer: while another connection holds SQLite's write lock
the session shows them at once, and once the lock is released they land, in order, in the
audit log; a journal left by a dead session is replayed once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation import StoreError
from ndelab.annotation.store import (
    Store,
    audit,
    get_call,
    import_labels,
    list_calls,
    open_store,
    review,
)
from ndelab.app.decision_writer import Decision, DecisionWriter, journal_paths, replay_journals
from ndelab.app.inspector_queries import inspect_call
from ndelab.app.review_session import ReviewSession
from ndelab.app.store_open import open_review_store
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume


def _calls(store: Store) -> tuple[str, list[str]]:
    labels = np.zeros((20, 30, 40), np.uint16)
    labels[5:8, 5:8, 5:8] = 1
    labels[10:14, 20:24, 30:34] = 2
    labels[15:17, 2:4, 20:30] = 3
    volume = Volume(np.full(labels.shape, 20000, np.uint16), spacing_mm=(0.1, 0.1, 0.1))
    ids = import_labels(store, volume, labels, "pore", source="model:test@1", user="ana")
    return ids["scan_id"], ids["call_ids"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "review.db") as s:
        yield s


class _WriteLock:
    """A second connection holding the write lock, as a background sync's transaction does."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def _decisions(store: Store, scan_id: str) -> list[tuple[str, str]]:
    return [
        (e["entity_id"], e["action"])
        for e in audit(store, scan_id)
        if e["action"] in ("accept", "reject", "reopen", "correct")
    ]


def test_decisions_made_under_a_held_write_lock_land_in_order_once_it_is_released(
    store: Store,
) -> None:
    scan, ids = _calls(store)
    session = ReviewSession(store, scan, "ana")
    writer = DecisionWriter(store)
    session.write_in_background(writer)
    assert store.path is not None
    lock = _WriteLock(store.path)
    try:
        made = [(ids[0], "accept"), (ids[1], "reject"), (ids[2], "accept"), (ids[0], "reopen")]
        for call_id, action in made:
            session.select(call_id)
            session.act(action, "ring artefact" if action == "reject" else None)
        # The session shows every decision at once ...
        status = {r["id"]: r["status"] for r in session.rows}
        assert status == {ids[0]: "proposed", ids[1]: "rejected", ids[2]: "accepted"}
        # ... and inspecting a call shows its decision as being saved.
        seen = inspect_call(session, ids[1])
        assert seen.call["status"] == "rejected" and seen.call["reason"] == "ring artefact"
        assert [d["action"] for d in seen.unsaved] == ["reject"]
        # ... while the store has none of them: the lock holds, nothing is written.
        assert not writer.flush(0.5)
        assert _decisions(store, scan) == []
        assert writer.pending == 4 and writer.busy_retries > 0
        # They are journaled beside the database meanwhile (durable before the commit).
        (journal,) = journal_paths(store)
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
        assert [(d["call_id"], d["action"]) for d in lines] == made
    finally:
        lock.release()
    assert writer.flush(30.0)
    assert _decisions(store, scan) == made  # every one, in the order made
    notices = session.take_notices()
    assert notices.saved == 4 and notices.failures == []
    assert {c["id"]: c["status"] for c in list_calls(store, scan)} == status
    assert inspect_call(session, ids[1]).unsaved == []
    assert writer.close()
    assert journal_paths(store) == []  # an empty journal goes with its writer


def test_undo_waits_for_the_decisions_and_refuses_in_one_sentence_while_locked(
    store: Store,
) -> None:
    scan, ids = _calls(store)
    session = ReviewSession(store, scan, "ana")
    writer = DecisionWriter(store)
    session.write_in_background(writer)
    assert store.path is not None
    lock = _WriteLock(store.path)
    try:
        session.select(ids[0])
        session.act("accept")
        assert session.can_undo
        with pytest.raises(StoreError, match=r"is busy .* decision.* kept; undo once"):
            session.undo()
        assert session.row(ids[0])["status"] == "accepted"  # still there, still queued
    finally:
        lock.release()
    session.undo()  # lands the accept first, then takes it back
    assert session.row(ids[0])["status"] == "proposed"
    assert [e["action"] for e in audit(store, scan)][-2:] == ["accept", "undo"]
    writer.close()


def test_a_decision_the_store_refuses_is_reported_and_the_row_shows_the_store(
    store: Store,
) -> None:
    scan, ids = _calls(store)
    session = ReviewSession(store, scan, "ana")
    writer = DecisionWriter(store)
    session.write_in_background(writer)
    assert store.path is not None
    lock = _WriteLock(store.path)
    session.select(ids[0])
    session.act("accept")
    # Meanwhile the lock holder (another workstation's sync) accepts the same call first.
    lock.conn.execute(
        "UPDATE indications SET status = 'accepted', revision = revision + 1 WHERE id = ?",
        (ids[0],),
    )
    lock.conn.execute("COMMIT")
    lock.conn.close()
    assert writer.flush(30.0)
    notices = session.take_notices()
    assert notices.saved == 0 and len(notices.failures) == 1
    assert "accept of call" in notices.failures[0] and "not saved" in notices.failures[0]
    assert session.row(ids[0])["revision"] == get_call(store, ids[0])["revision"]
    writer.close()


def test_a_dead_sessions_journal_is_replayed_once_in_order(store: Store) -> None:
    scan, ids = _calls(store)
    assert store.path is not None
    session = ReviewSession(store, scan, "ana")
    writer = DecisionWriter(store)
    session.write_in_background(writer)
    lock = _WriteLock(store.path)
    for call_id in ids:
        session.select(call_id)
        session.act("accept")
    assert not writer.flush(0.3)
    # A live writer's journal is its own: nobody else replays it.
    assert replay_journals(store).journals == 0
    assert not writer.close(timeout_s=0.3)  # gives up while locked: the journal stays
    lock.release()
    assert _decisions(store, scan) == []
    (journal,) = journal_paths(store)

    # One of them reached the store before the crash, its "done" line did not.
    first = Decision.from_json(json.loads(journal.read_text().splitlines()[0]))
    review(store, first.call_id, "accept", "ana", base_revision=first.base_revision)
    report = replay_journals(store)
    assert (report.saved, report.present, report.failed) == (2, 1, [])
    assert _decisions(store, scan) == [(c, "accept") for c in ids]
    assert journal_paths(store) == []
    assert replay_journals(store).journals == 0


def test_opening_the_review_store_replays_and_starts_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "review.db"
    with open_store(path) as store:
        _, ids = _calls(store)
        revision = get_call(store, ids[0])["revision"]
    orphan = Decision(ids[0], "accept", "ana", revision)
    (tmp_path / "review.db.decisions-orphan.jsonl").write_text(json.dumps(orphan.to_json()) + "\n")
    fractions: list[float] = []
    opened = open_review_store(path, fractions.append, lambda: False)
    try:
        assert opened.replayed.saved == 1
        assert get_call(opened.store, ids[0])["status"] == "accepted"
        assert opened.writer.main_store is opened.store
        assert fractions[0] == 0.0 and fractions[-1] == 1.0
    finally:
        opened.close()
    with pytest.raises(Cancelled):
        open_review_store(path, None, lambda: True)
