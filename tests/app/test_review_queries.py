"""The window's queries in app/: the audit's figures and the conflicts' rows, as job
functions with progress and cancel; the review outputs settle pending decisions first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation.store import Store, import_labels, open_store, review
from ndelab.app.audit_controller import load_audit, scan_file
from ndelab.app.conflicts_controller import conflict_cells, load_conflicts
from ndelab.app.decision_writer import DecisionWriter
from ndelab.app.resources_paths import criteria_files
from ndelab.app.review_outputs import sign_disposition, write_csv
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume


def _store(tmp_path: Path) -> tuple[Store, str, list[str]]:
    labels = np.zeros((20, 30, 40), np.uint16)
    labels[5:8, 5:8, 5:8] = 1
    labels[10:14, 20:24, 30:34] = 2
    volume = Volume(
        np.full(labels.shape, 20000, np.uint16), spacing_mm=(0.1, 0.1, 0.1), source="part.nrrd"
    )
    store = open_store(tmp_path / "review.db")
    ids = import_labels(store, volume, labels, "pore", source="model:unet@2", user="bot")
    return store, ids["scan_id"], ids["call_ids"]


def test_the_audit_reads_agreement_and_overruled_calls_with_progress(tmp_path: Path) -> None:
    store, scan, ids = _store(tmp_path)
    review(store, ids[0], "reject", "ana", "ring artefact")
    review(store, ids[1], "accept", "ana")
    steps: list[float] = []
    settled: list[float] = []

    def settle(timeout_s: float) -> bool:  # the review's writer: decisions land first
        settled.append(timeout_s)
        return True

    data = load_audit(store, None, steps.append, lambda: False, settle=settle)
    assert settled
    assert steps[0] == 0.0 and steps[-1] == 1.0
    (entry,) = data.result["models"]
    assert entry["model"] == {"name": "unet", "version": "2"}
    assert entry["counts"]["reviewed"] == 2
    assert [r["id"] for r in data.overruled_by("unet", "2")] == [ids[0]]
    assert data.overruled_by("other", "1") == []
    assert (scan_file(store, scan) or "").endswith("part.nrrd")
    with pytest.raises(Cancelled):
        load_audit(store, scan, None, lambda: True)
    store.close()


def test_conflicts_are_listed_as_a_job_and_shown_as_rows(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path)
    assert load_conflicts(store, None, lambda: False) == []
    with pytest.raises(Cancelled):
        load_conflicts(store, None, lambda: True)
    conflict = {
        "entity_id": "0123456789abcdef",
        "local": {"state": {"status": "accepted", "class": "pore"}},
        "remote": {
            "state": {"status": "rejected", "class": "pore", "reason": "noise"},
            "events": [{"user_id": "bob", "action": "reject"}],
        },
        "detected_at": None,
    }
    cells = conflict_cells(conflict)
    assert cells[:4] == ["01234567", "accepted pore", "rejected pore “noise”", "bob reject"]
    store.close()


def test_reports_settle_the_decisions_still_being_written(tmp_path: Path) -> None:
    store, scan, ids = _store(tmp_path)
    session = ReviewSession(store, scan, "ana")
    writer = DecisionWriter(store)
    session.write_in_background(writer)
    for call_id in ids:
        session.select(call_id)
        session.act("accept")
    csv = tmp_path / "calls.csv"
    assert write_csv(session, csv) == 2
    assert csv.read_text().count("accepted") == 2  # both decisions, not the stored past
    criteria = str(criteria_files()[0])
    signed = sign_disposition(session, criteria, "ana")
    assert signed["open_calls"] == 0 and signed["signed_by"] == "ana"
    writer.close()
    store.close()
