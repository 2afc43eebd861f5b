"""The review flow in the window, driven with real key presses: N, A, R, E, Ctrl+Z."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation.store import audit, import_labels, list_calls, open_store
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.volume import Volume

pytestmark = pytest.mark.gui


def _part_with_calls(db: Path) -> tuple[Volume, Any, str]:
    data = np.full((30, 40, 50), 1000, np.uint16)
    data[3:27, 4:36, 4:46] = 22000
    labels = np.zeros(data.shape, np.uint16)
    labels[8:11, 10:13, 10:13] = 1
    labels[15:19, 20:24, 30:34] = 2
    labels[22:24, 8:10, 20:40] = 3
    data[labels > 0] = 3000
    volume = Volume(data, spacing_mm=(0.1, 0.1, 0.1))
    store = open_store(db)
    ids = import_labels(
        store,
        volume,
        labels,
        {1: "pore", 2: "pore", 3: "crack"},
        source="model:test@1",
        user="tester",
        scores={1: 0.9, 2: 0.7, 3: 0.5},
    )
    return volume, store, ids["scan_id"]


def _wait(qapp: Any, done: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out waiting for the GUI"
        time.sleep(0.01)


def _key(window: Any, qapp: Any, key: str) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    seq = QKeySequence(key)
    combo = seq[0]
    QTest.keyClick(window, combo.key(), combo.keyboardModifiers())
    qapp.processEvents()


def _wait(qapp: Any, done: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, "timed out"
        qapp.processEvents()
        time.sleep(0.01)


def _settled(qapp: Any, w: Any, timeout: float = 30.0) -> None:
    """Let the background writer and the criteria re-evaluation finish, as a pause would."""
    end = time.monotonic() + timeout
    while w.review.settling:
        assert time.monotonic() < end, "the review did not settle"
        qapp.processEvents()
        time.sleep(0.01)
    qapp.processEvents()


def test_keyboard_review_flow(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog

    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w.show()
    w.activateWindow()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    qapp.processEvents()
    assert w.queue.model.rowCount() == 3

    # A before any call is selected (a fast reviewer, a review still loading): a hint in the
    # status bar; a modal dialog here would swallow the keys that follow.
    from PySide6.QtWidgets import QApplication

    _key(w, qapp, "A")
    assert QApplication.activeModalWidget() is None
    assert "Select a call first" in w.statusBar().currentMessage()
    assert all(r["status"] == "proposed" for r in w.review.session.rows)

    _key(w, qapp, "N")  # highest score first: the 0.9 pore
    current = w.review.session.current
    assert w.review.session.row(current)["score"] == pytest.approx(0.9)
    centroid = w.review.session.row(current)["centroid_zyx"]
    assert w.controller.state.cursor == tuple(round(c) for c in centroid)
    # The selected call is drawn over the slice it sits in.
    assert w.views[0].overlay.image is not None and w.views[0].overlay.image.max() > 4

    _key(w, qapp, "A")  # accept, then the next open call is selected
    assert w.review.session.row(current)["status"] == "accepted"
    second = w.review.session.current
    assert second != current

    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("not a defect: noise", True))
    _key(w, qapp, "R")
    assert w.review.session.row(second)["status"] == "rejected"

    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("inclusion", True))
    third = w.review.session.current
    _key(w, qapp, "E")
    assert w.review.session.row(third)["status"] == "corrected"
    assert w.review.session.row(third)["class"] == "inclusion"

    _key(w, qapp, "Ctrl+Z")
    assert w.review.session.row(third)["status"] == "proposed"
    _key(w, qapp, "Ctrl+Shift+Z")
    assert w.review.session.row(third)["class"] == "inclusion"

    # Everything acknowledged is in the database, with its audit trail.
    stored = {c["id"]: c["status"] for c in list_calls(store, scan_id)}
    assert stored[current] == "accepted" and stored[second] == "rejected"
    actions = [e["action"] for e in audit(store, scan_id)]
    for action in ("accept", "reject", "correct", "undo", "redo"):
        assert action in actions


def test_sorting_the_queue_changes_the_review_order(
    qapp: Any, make_main_window: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt

    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    w.queue.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # volume, largest first
    volumes = [w.review.session.row(i)["volume_mm3"] for i in w.review.order]
    assert volumes == sorted(volumes, reverse=True)
    w.review.step(+1)
    assert w.review.session.current == w.review.order[0]


def test_reports_and_disposition(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog

    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    index = w.disposition.criteria.findText("al-casting-porosity-grade-1")
    w.disposition.criteria.setCurrentIndex(index)
    w.disposition._criteria_chosen(index)
    assert w.disposition.result is not None and w.disposition.result["open_calls"] == 3
    for _ in range(3):
        w.review.step(+1)
        w.review.act("accept", advance=False)
    # The preview is re-evaluated off the keypress, once the decisions are in the store.
    _settled(qapp, w)
    assert w.disposition.result["open_calls"] == 0
    assert w.disposition.result["verdict"] == "reject"  # a crack is forbidden
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("reviewer-1", True))
    w.sign_disposition()
    pdf = tmp_path / "report.pdf"
    w.export_pdf(str(pdf))
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
    csv = tmp_path / "calls.csv"
    w.export_csv(str(csv))
    assert len(csv.read_text().splitlines()) == 4


def test_opening_a_scan_finds_its_calls_in_the_background(
    qapp: Any, make_main_window: Any, tmp_path: Path
) -> None:
    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    # The store knows the scan by the hash of its voxels (an in-memory volume).
    from ndelab.annotation.store import add_part, add_scan
    from ndelab.volumes.identity import volume_sha256

    part = add_part(store, "bracket", user="tester")
    add_scan(
        store,
        part,
        user="tester",
        path="",
        shape=volume.shape,
        spacing_mm=volume.spacing_mm,
        sha256=volume_sha256(volume),
    )
    w = make_main_window(store_url=str(tmp_path / "calls.db"))
    w.show()
    w.show_volume(volume)
    w.start_review(volume)
    end = time.monotonic() + 30
    while w.review.session is None and time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)
    assert w.review.session is not None and w.review.session.scan_id != scan_id
    assert w.review.session.rows == []  # the newly recorded scan has no calls yet


def test_edit_tools_correct_and_add_calls(qapp: Any, make_main_window: Any, tmp_path: Path) -> None:
    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    session = w.review.session
    w.review.step(+1)
    selected = session.current
    before = session.masks[selected].voxel_count
    z, y, x = session.row(selected)["centroid_zyx"]
    # A brush stroke across the call: press, drag, release -> one correction.
    w.edits.set_tool("brush")
    w.edits.radius = 1.5
    for kind, dx in (("press", 0.0), ("drag", 2.0), ("drag", 4.0), ("release", 4.0)):
        assert w.views[0].tool_handler(kind, 0, (z, y, x + dx))
    assert session.row(selected)["status"] == "corrected"
    assert session.masks[selected].voxel_count > before
    w.review.undo()
    assert session.masks[selected].voxel_count == before
    # Nothing selected: region growing in an unlabelled pore makes a new manual call.
    session.select(None)
    w.edits.set_tool("grow")
    volume.data[20:22, 30:33, 40:43] = 3000
    n = len(session.rows)
    assert w.views[0].tool_handler("press", 0, (21.0, 31.0, 41.0))
    assert len(session.rows) == n + 1
    new = session.row(session.current)
    assert new["source"]["kind"] == "manual" and new["status"] == "accepted"
    assert session.masks[session.current].voxel_count == 2 * 3 * 3
    # Navigate mode leaves clicks to the crosshair.
    w.edits.set_tool("navigate")
    assert not w.views[0].tool_handler("press", 0, (1.0, 1.0, 1.0))


def test_sam_tool_falls_back_and_says_so(qapp: Any, make_main_window: Any, tmp_path: Path) -> None:
    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    volume.data[20:23, 28:33, 38:43] = 3000  # an unlabelled pore
    w = make_main_window()
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    session = w.review.session
    session.select(None)
    w.controller.set_slice(0, 21)  # the user clicks on the slice the view shows
    w.edits.set_tool("sam2d")
    assert "SAM not configured" in w.tools.sam_status.text()
    for kind in ("press", "release"):
        assert w.views[0].tool_handler(kind, 0, (21.0, 30.0, 40.0))
    assert w.edits.sam_mask is not None and w.edits.sam_mask.sum() == 25
    # The proposal is drawn over the slice before anyone accepts it.
    assert w.views[0].overlay.image is not None and (w.views[0].overlay.image == 9).sum() == 25
    n = len(session.rows)
    w.edits.finish()
    assert len(session.rows) == n + 1
    new = session.row(session.current)
    assert new["source"] == {"kind": "manual", "name": "region-growing", "version": None}
    # 3D from one click: the slice mask extended through the pore's three slices.
    session.select(None)
    w.edits.set_tool("sam3d")
    for kind in ("press", "release"):
        w.views[0].tool_handler(kind, 0, (21.0, 30.0, 40.0))
    w.edits.finish()
    grown = session.masks[session.current]
    assert grown.shape[0] == 3 and grown.voxel_count == 75


def test_sam_tool_with_a_checkpoint_makes_sam_calls(
    qapp: Any, make_main_window: Any, tmp_path: Path
) -> None:
    from ndelab.inference.sam.testing import save_tiny_checkpoint

    checkpoint = save_tiny_checkpoint(tmp_path / "tiny_sam.pth")
    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w.sam.set_checkpoint(str(checkpoint))
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    session = w.review.session
    session.select(None)
    w.edits.set_tool("sam2d")
    # The checkpoint loads in the background; the toolbar says so meanwhile.
    assert w.tools.sam_status.text() == "Loading SAM…"
    _wait(qapp, lambda: w.sam.segmenter() is not None)
    assert w.sam.segmenter().mode == "sam"
    assert w.tools.sam_status.text().startswith("SAM")
    # A box prompt around the labelled pore (random tiny weights: the mask is whatever SAM says).
    for kind, zyx in (
        ("press", (9.0, 8.0, 8.0)),
        ("drag", (9.0, 12.0, 12.0)),
        ("release", (9.0, 14.0, 14.0)),
    ):
        assert w.views[0].tool_handler(kind, 0, zyx)
    # Slice 9 is outside the prefetched ones: it is encoded in the background first.
    _wait(qapp, lambda: w.edits.sam_mask is not None)
    assert w.edits.sam_mask.shape == (40, 50)
    if w.edits.sam_mask.any():
        n = len(session.rows)
        w.edits.finish()
        assert len(session.rows) == n + 1
        assert session.row(session.current)["source"]["kind"] == "sam"
    w.edits.set_tool("navigate")


def test_audit_view_shows_agreement_and_jumps_to_overruled_calls(
    qapp: Any, make_main_window: Any, tmp_path: Path
) -> None:
    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    w._store = store
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    ids = [r["id"] for r in w.review.session.rows]
    w.review.select(ids[0])
    w.review.act("reject", "ring artefact", advance=False)
    w.review.select(ids[1])
    w.review.act("accept", advance=False)
    w.show_audit()
    view = w._audit_view
    _wait(qapp, lambda: view.loading is None)  # read in a background job
    assert view.model.count() == 1 and "test 1" in view.model.currentText()
    assert "2 reviewed" in view.rates.text() and "false calls 50.0 %" in view.rates.text()
    assert view.overruled.rowCount() == 1
    view._go(0, 0)  # double-click: the call is selected and centred
    assert w.review.session.current == ids[0]
    view.close()


def test_one_accept_recolours_one_surface_and_reads_the_inspector_once(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The A key: no 3D surface is rebuilt for a status change (the old window rebuilt all
    of them), and the inspector reads the call it moves to once (it read twice)."""
    from ndelab.widgets import volume_render

    volume, store, scan_id = _part_with_calls(tmp_path / "calls.db")
    w = make_main_window()
    assert w.view3d is not None
    w.show()
    w.activateWindow()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(store, scan_id, "tester"))
    w.refresh_3d_indications()
    qapp.processEvents()  # the window becomes active: it takes the keys
    _key(w, qapp, "N")
    _settled(qapp, w)
    time.sleep(0.3)  # past the window's 3D rebuild timer
    _settled(qapp, w)
    assert w.review.session.current is not None, w.statusBar().currentMessage()
    assert len(w.view3d.scene.surface_actors) == 2  # proposed, and the selected one

    built: list[object] = []
    surface = volume_render._mask_surface
    monkeypatch.setattr(
        volume_render, "_mask_surface", lambda *a: (built.append(a), surface(*a))[1]
    )
    reads: list[str] = []
    details = ReviewSession.details
    monkeypatch.setattr(
        ReviewSession, "details", lambda self, cid: (reads.append(cid), details(self, cid))[1]
    )
    accepted = w.review.session.current
    _key(w, qapp, "A")
    following = w.review.session.current
    assert following != accepted
    assert w.review.wait_saved()
    time.sleep(0.3)  # any timer a keypress starts (3D, criteria) has fired by now
    _settled(qapp, w)
    assert len(built) <= 1
    assert reads == [following]
    assert set(w.view3d.scene.surface_actors) == {"proposed", "accepted", "selected"}
    assert w.review.session.row(accepted)["status"] == "accepted"


def test_the_window_works_while_the_review_database_opens(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """quick_check and migrations run in a job: the volume shows and keys answer with a hint
    meanwhile; the review starts once the database is open."""
    import threading

    from PySide6.QtWidgets import QApplication

    from ndelab.app import store_open
    from ndelab.volumes.identity import volume_sha256

    volume = Volume(np.full((20, 24, 24), 1000, np.uint16), spacing_mm=(0.1, 0.1, 0.1))
    labels = np.zeros(volume.shape, np.uint16)
    labels[3:6, 3:6, 3:6], labels[10:13, 12:15, 12:15], labels[15:18, 4:7, 15:18] = 1, 2, 3
    with open_store(tmp_path / "calls.db") as store:  # a scan the window will recognise
        sha = volume_sha256(volume)
        import_labels(store, volume, labels, "pore", source="model:t@1", user="u", sha256=sha)
    release = threading.Event()
    slow_open = store_open.open_store

    def held_open(url: Any, **kwargs: Any) -> Any:
        assert release.wait(30)  # the database takes its time (a big file's quick_check)
        return slow_open(url, **kwargs)

    monkeypatch.setattr(store_open, "open_store", held_open)
    w = make_main_window(store_url=str(tmp_path / "calls.db"))
    w.show()
    w.activateWindow()
    w.show_volume(volume)
    w.start_review(volume)
    qapp.processEvents()  # the window becomes active: it takes the keys
    assert w.controller.volume is volume and w.views[0].image.image is not None
    _key(w, qapp, "A")
    assert QApplication.activeModalWidget() is None
    assert "No calls to review yet" in w.statusBar().currentMessage()
    w.show_conflicts()
    assert QApplication.activeModalWidget() is None
    assert "still opening" in w.statusBar().currentMessage()
    release.set()
    _wait(qapp, lambda: w.review.session is not None and len(w.review.session.rows) == 3)
    _key(w, qapp, "N")
    _key(w, qapp, "A")
    assert w.review.session.counts()["accepted"] == 1
