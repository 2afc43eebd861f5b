# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""The window syncs in the background, shows the sync state, and resolves a conflict."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.annotation.store import Store, import_labels, list_calls, review
from ndelab.annotation.sync.engine import sync
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.volume import Volume

pytestmark = [pytest.mark.gui, pytest.mark.postgres]


def _wait(qapp: Any, done: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_background_sync_and_conflict_resolution(
    qapp: Any, make_main_window: Any, tmp_path: Path, pg_url: str
) -> None:
    from ndelab.widgets.conflicts_dialog import ConflictsDialog

    data = np.full((20, 30, 30), 20000, np.uint16)
    labels = np.zeros(data.shape, np.uint16)
    labels[5:8, 5:8, 5:8] = 1
    labels[12:15, 20:23, 20:23] = 2
    volume = Volume(data, spacing_mm=(0.1, 0.1, 0.1))
    a = Store(tmp_path / "a.db", workstation="ws-a")
    b = Store(tmp_path / "b.db", workstation="ws-b")
    ids = import_labels(a, volume, labels, "pore", source="model:test@1", user="ana")
    scan, calls = ids["scan_id"], ids["call_ids"]

    w = make_main_window()
    w._store = a
    w.show()
    w.show_volume(volume)
    w.review.set_session(ReviewSession(a, scan, "ana"))
    w.sync.configure(a, pg_url, "ana")
    assert w.sync_label.text() == "Sync: not yet"
    w.sync.sync_now()
    _wait(qapp, lambda: not w.sync.running)
    assert w.sync.last is not None and w.sync.last["pushed"] > 0
    assert w.sync_label.text().startswith("Synced")

    sync(b, pg_url, "bob")
    review(b, calls[0], "reject", "bob", "ring artefact")
    w.review.select(calls[0])
    w.review.act("accept", advance=False)
    assert w.review.wait_saved()  # the decision reaches the store behind the keypress
    sync(b, pg_url, "bob")
    w.sync.sync_now()
    _wait(qapp, lambda: not w.sync.running)
    assert w.sync.last is not None and w.sync.last["conflicts"] == 1
    assert "1 conflict" in w.sync_label.text()

    dialog = ConflictsDialog(a, "ana", w)
    _wait(qapp, lambda: dialog.loading is None)  # listed in a background job
    assert dialog.table.rowCount() == 1
    dialog._resolve("theirs")
    _wait(qapp, lambda: dialog.loading is None)
    assert dialog.table.rowCount() == 0
    dialog.close()
    status = {c["id"]: c["status"] for c in list_calls(a, scan)}
    assert status[calls[0]] == "rejected"
    w.sync.sync_now()
    _wait(qapp, lambda: not w.sync.running)
    sync(b, pg_url, "bob")
    assert {c["id"]: c["status"] for c in list_calls(b, scan)} == status
    b.close()
