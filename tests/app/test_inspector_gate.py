"""The inspector's gate line (app.inspector_queries.gate_rows): acceptable, not interpretable
with the reason, or not measured, and the audited overrides; nothing for CT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ndelab.annotation.disposition import IqOverride
from ndelab.annotation.store import (
    Store,
    disposition,
    import_labels,
    record_scan,
    review,
    set_image_quality,
)
from ndelab.app.image_quality import iq_gate
from ndelab.app.inspector_queries import gate_rows, inspect_call
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.volume import Volume

CRITERIA = Path(__file__).resolve().parents[2] / "resources" / "criteria" / "weld-level-B.yaml"


def _record(acceptable: bool) -> dict[str, Any]:
    return {
        "status": "acceptable" if acceptable else "not interpretable",
        "acceptable": acceptable,
        "reason": "SNRn 47 is below the 70 the class A table requires at 7.6 mm steel",
        "failed": None if acceptable else "snrn",
        "class": "A",
        "measured_at": "2026-12-02T10:00:00+00:00",
    }


def _radiograph_with_a_call(store: Store, record: dict[str, Any] | None) -> tuple[str, str]:
    data = np.full((1, 64, 64), 1000, np.uint16)
    labels = np.zeros(data.shape, np.uint16)
    labels[0, 20:24, 20:24] = 1
    volume = Volume(data=data, spacing_mm=(0.1, 0.1, 0.1), modality="DX")
    made = import_labels(store, volume, labels, {1: "pore"}, source="manual", user="ana")
    if record is not None:
        set_image_quality(store, made["scan_id"], record, user="ana")
    return made["scan_id"], made["call_ids"][0]


def _session(store: Store, scan_id: str) -> ReviewSession:
    session = ReviewSession(store, scan_id, "ana")
    session.iq_gate = iq_gate(session)
    return session


def test_the_gate_line_in_each_state(tmp_path: Path) -> None:
    with Store(tmp_path / "g.db") as store:
        ok, _ = _radiograph_with_a_call(store, _record(True))
        assert gate_rows(_session(store, ok).iq_gate) == [("image quality", "acceptable (class A)")]
        failed, call = _radiograph_with_a_call(store, _record(False))
        session = _session(store, failed)
        assert gate_rows(session.iq_gate) == [
            ("image quality", f"NOT INTERPRETABLE: {_record(False)['reason']}")
        ]
        # The inspection of any call of the scan carries the scan's gate.
        assert inspect_call(session, call).gate == gate_rows(session.iq_gate)
        unmeasured, _ = _radiograph_with_a_call(store, None)
        assert gate_rows(_session(store, unmeasured).iq_gate) == [
            ("image quality", "NOT MEASURED: signing needs an override")
        ]
        ct = Volume(np.zeros((8, 8, 8), np.uint16), spacing_mm=(0.1, 0.1, 0.1), modality="CT")
        _, ct_id = record_scan(store, ct, user="ana")
        assert gate_rows(_session(store, ct_id).iq_gate) == []
        assert gate_rows(None) == []  # the gate not read yet


def test_an_override_shows_who_when_and_why(tmp_path: Path) -> None:
    with Store(tmp_path / "o.db") as store:
        scan_id, call = _radiograph_with_a_call(store, _record(False))
        review(store, call, "accept", "ana")
        why = "SNR checked on a second exposure, report 17"
        disposition(store, scan_id, CRITERIA, sign_user="ana", override_iq=IqOverride("lead", why))
        rows = gate_rows(_session(store, scan_id).iq_gate)
        assert rows[0][1].startswith("NOT INTERPRETABLE")  # an override does not change the image
        label, text = rows[1]
        assert label == "IQ override" and text.startswith("by lead at 20")
        assert text.endswith(f" UTC: {why}")
