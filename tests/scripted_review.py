"""A reviewing engineer scripted from a phantom's ground truth (the frozen set's tests)."""

from __future__ import annotations

from typing import Any

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import Source
from ndelab.annotation.store import Store, get_call, get_mask, list_calls, review
from ndelab.annotation.store.indications import add_indications
from ndelab.annotation.store.ingest import indications_from_masks
from ndelab.inference.calls import Call
from ndelab.inference.evaluation import match_calls
from ndelab.volumes.phantom import make_ct_phantom

KIND_TO_CLASS = {"pore": "pore", "crack": "crack", "inclusion": "inclusion"}


def _as_call(row: dict[str, Any], mask: SparseMask) -> Call:
    z0, y0, x0, z1, y1, x1 = row["bbox_zyx"]
    return Call(row["class"], 1.0, tuple(row["centroid_zyx"]), (z0, y0, x0, z1, y1, x1), 1, 1.0,
                mask.local(), "x", "x")  # fmt: skip


def scripted_review(db: str, seed: int, size: int) -> dict[str, int]:
    """An engineer scripted from ground truth: accept true calls of the right class, correct
    the class of true calls of the wrong one, reject false calls, draw every missed defect."""
    ph = make_ct_phantom(size, seed=seed)
    counts = {"accepted": 0, "corrected": 0, "rejected": 0, "drawn": 0}
    with Store(db) as store:
        scans = {c["scan_id"] for c in list_calls(store, status="proposed")}
        (scan_id,) = scans
        rows = list_calls(store, scan_id, status="proposed")
        calls = [_as_call(r, get_mask(store, r["id"])) for r in rows]
        m = match_calls(calls, ph.labels, len(ph.defects))
        for row, ok, d in zip(rows, m.call_true, m.call_defect, strict=True):
            if not ok:
                review(store, row["id"], "reject", "ana", "not a defect")
                counts["rejected"] += 1
                continue
            truth = KIND_TO_CLASS[ph.defect(d).kind]
            if truth != row["class"]:
                review(store, row["id"], "correct", "ana", "class", cls=truth)
                counts["corrected"] += 1
            else:
                review(store, row["id"], "accept", "ana")
                counts["accepted"] += 1
        missed = [ph.defects[i] for i, h in enumerate(m.defect_hit) if h is None]
        masks = [SparseMask.from_local(ph.labels == d.id) for d in missed]
        items = indications_from_masks(
            masks,
            [KIND_TO_CLASS[d.kind] for d in missed],
            [None] * len(missed),
            [Source("manual", "ana")] * len(missed),
            spacing_mm=ph.volume.spacing_mm,
        )
        for call_id in add_indications(store, scan_id, items, user="ana"):
            review(store, call_id, "accept", "ana")
            counts["drawn"] += 1
        assert get_call(store, rows[0]["id"])["status"] != "proposed"
    return counts
