"""The window's scan inbox: a scan the inbox makes ready while the window is open appears in
the panel without a restart, and opens into the review queue with its calls."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from inbox_helpers import ct, drop, run_until

from ndelab.annotation.store import Store
from ndelab.app.inbox import FolderSource, InboxService, model_prelabeller

pytestmark = pytest.mark.gui


def _wait(qapp: Any, done: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_a_scan_made_ready_by_the_inbox_appears_and_opens_for_review(
    qapp: Any, make_main_window: Any, tmp_path: Path
) -> None:
    db = tmp_path / "line.db"
    window = make_main_window(store_url=str(db), with_3d=False)
    window.show()
    window.inbox._timer.setInterval(100)
    _wait(qapp, lambda: window.inbox.view is not None)
    assert window.inbox_panel.tree.topLevelItemCount() == 0

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    drop(ct(21), incoming / "part.nrrd")
    (incoming / "part.nrrd.json").write_text('{"part": "housing", "serial": "H-9"}')
    with Store(db) as store:  # the inbox, as another process would be, on the same file
        source = FolderSource(incoming, settle_s=0.2)
        (outcome,) = run_until(
            InboxService(source, store, model_prelabeller("classical-baseline")), 1
        )
        source.close()
    assert outcome["state"] == "ready"

    tree = window.inbox_panel.tree
    _wait(qapp, lambda: tree.topLevelItemCount() == 1)
    item = tree.topLevelItem(0)
    assert item.text(0) == "ready for review"
    assert item.text(1) == "part.nrrd" and item.text(2) == "housing / H-9"
    assert item.text(3) == str(outcome["calls"])
    assert "ready for review 1" in window.inbox_panel.summary.text()

    window.inbox_panel.open_next.click()
    _wait(qapp, lambda: window.review.session is not None, timeout=120)
    assert window.review.session.scan_id == outcome["scan_id"]
    assert len(window.review.session.rows) == outcome["calls"]
