from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation import ReviewError, SparseMask
from ndelab.annotation.store import audit, import_labels, open_store
from ndelab.app.review_session import SELECTED, STATUS_CODES, ReviewSession
from ndelab.volumes.volume import Volume


@pytest.fixture
def session(tmp_path: Path) -> ReviewSession:
    labels = np.zeros((20, 30, 40), np.uint16)
    labels[5:8, 5:8, 5:8] = 1
    labels[10:14, 20:24, 30:34] = 2
    labels[15:17, 2:4, 20:30] = 3
    volume = Volume(np.full(labels.shape, 20000, np.uint16), spacing_mm=(0.1, 0.1, 0.1))
    store = open_store(tmp_path / "review.db")
    ids = import_labels(
        store,
        volume,
        labels,
        {1: "pore", 2: "pore", 3: "crack"},
        source="model:test@1",
        user="ana",
        scores={1: 0.9, 2: 0.6, 3: 0.8},
    )
    return ReviewSession(store, ids["scan_id"], "ana")


def test_navigation_and_actions_are_durable_and_audited(session: ReviewSession) -> None:
    order = [r["id"] for r in sorted(session.rows, key=lambda r: -r["score"])]
    assert session.step(order, +1)["id"] == order[0]
    session.act("accept")
    session.step(order, +1)
    with pytest.raises(ReviewError):
        session.act("reject")  # needs a reason
    session.act("reject", "surface dirt")
    assert session.counts() == {"proposed": 1, "accepted": 1, "rejected": 1, "corrected": 0}
    # A second session on the same database sees exactly the same state.
    again = ReviewSession(session.store, session.scan_id, "bob")
    assert {r["id"]: r["status"] for r in again.rows} == {
        r["id"]: r["status"] for r in session.rows
    }
    actions = [e["action"] for e in audit(session.store, session.scan_id)]
    assert actions.count("accept") == 1 and actions.count("reject") == 1
    assert session.next_open(order)["status"] == "proposed"


def test_undo_redo_and_correction_keep_the_proposal(session: ReviewSession) -> None:
    first = session.rows[0]["id"]
    session.select(first)
    before = session.masks[first]
    grown = np.zeros((5, 5, 5), bool)
    grown[1:4, 1:4, 1:4] = True
    grown[2, 2, 4] = True
    new_mask = SparseMask.from_local(grown, (4, 4, 4))
    row = session.correct(mask=new_mask, reason="grown by one voxel")
    assert row["status"] == "corrected"
    assert session.masks[first].voxel_count == before.voxel_count + 1
    assert session.details(first)["proposal"] is not None
    session.undo()
    assert session.row(first)["status"] == "proposed"
    assert session.masks[first].same_as(before)
    session.redo()
    assert session.row(first)["status"] == "corrected"


def test_overlay_marks_calls_by_status_and_selection(session: ReviewSession) -> None:
    ids = [r["id"] for r in session.rows]
    session.select(ids[0])
    session.act("accept")
    plane = session.overlay(0, 6, (30, 40))
    assert plane[6, 6] == STATUS_CODES["accepted"] + SELECTED
    assert plane[0, 0] == 0
    coronal = session.overlay(1, 21, (20, 40))
    assert coronal[11, 31] == STATUS_CODES["proposed"]
    assert session.overlay(2, 39, (20, 30)).max() == 0


def test_nearness_from_criteria(session: ReviewSession, tmp_path: Path) -> None:
    criteria = tmp_path / "c.json"
    criteria.write_text(
        '{"name": "t", "version": "1", "rules": '
        '[{"class": "pore", "max_equivalent_diameter_mm": 0.3}]}'
    )
    session.set_criteria(criteria)
    ratios = [session.nearness_ratio(r["id"]) for r in session.rows if r["class"] == "pore"]
    assert all(r is not None and r > 0 for r in ratios)


def test_overlay_planes_follow_decisions_selection_and_mask_edits(session: ReviewSession) -> None:
    """Slices are drawn once and kept: a decision repaints its call, the selection shows on
    top, a new mask redraws; each kept plane equals one drawn afresh."""
    ids = [r["id"] for r in session.rows]
    axial = (0, 6, (30, 40))
    assert session.overlay(*axial)[6, 6] == STATUS_CODES["proposed"]
    session.select(ids[0])
    assert session.overlay(*axial)[6, 6] == STATUS_CODES["proposed"] + SELECTED
    session.act("accept")
    kept = session.overlay(*axial)
    assert kept[6, 6] == STATUS_CODES["accepted"] + SELECTED
    session.select(None)
    assert session.overlay(*axial)[6, 6] == STATUS_CODES["accepted"]
    fresh = ReviewSession(session.store, session.scan_id, "bob")
    assert (fresh.overlay(*axial) == session.overlay(*axial)).all()
    grown = np.zeros((3, 3, 4), bool)
    grown[:] = True
    session.select(ids[0])
    session.correct(mask=SparseMask.from_local(grown, (5, 5, 5)), reason="one column wider")
    assert session.overlay(*axial)[6, 8] == STATUS_CODES["corrected"] + SELECTED
    assert session.counts() == {"proposed": 2, "accepted": 0, "rejected": 0, "corrected": 1}
