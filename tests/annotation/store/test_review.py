"""Calls: creation from labels, status transitions, revisions, proposal kept, audit events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ndelab.annotation import ConflictError, ReviewError, SparseMask
from ndelab.annotation.store import (
    Store,
    add_part,
    add_scan,
    audit,
    get_call,
    get_mask,
    get_proposal_mask,
    import_labels,
    indications_from_labels,
    list_calls,
    review,
)
from ndelab.volumes.volume import Volume

SPACING = (0.5, 0.25, 0.25)


def _scan(store: Store, n: int = 3) -> dict[str, Any]:
    labels = np.zeros((20, 40, 40), np.int32)
    for k in range(1, n + 1):
        labels[2 + 5 * (k - 1) : 5 + 5 * (k - 1), 5:9, 5 + 8 * (k - 1) : 10 + 8 * (k - 1)] = k
    vol = Volume(np.zeros(labels.shape, np.uint16), spacing_mm=SPACING, source="/scans/p1.nrrd")
    return import_labels(
        store,
        vol,
        labels,
        {1: "pore", 2: "crack", 3: "inclusion"} if n == 3 else "pore",
        source="model:porenet@2.1",
        user="model-runner",
        scores=[0.9, 0.7, 0.5][:n],
        part_name="housing 17",
    )


def test_labels_become_proposed_calls_with_source_score_and_measurements(store: Store) -> None:
    made = _scan(store)
    rows = list_calls(store, made["scan_id"])
    assert [r["id"] for r in rows] == made["call_ids"]
    first = rows[0]
    assert first["status"] == "proposed" and first["class"] == "pore"
    assert first["score"] == pytest.approx(0.9)
    assert first["source"] == {"kind": "model", "name": "porenet", "version": "2.1"}
    assert first["bbox_zyx"] == [2, 5, 5, 5, 9, 10]
    assert first["volume_mm3"] == pytest.approx(3 * 4 * 5 * 0.5 * 0.25 * 0.25)
    assert first["centroid_zyx"] == pytest.approx([3.0, 6.5, 7.0])
    assert first["revision"] == 1
    assert first["role"] == "champion"
    assert set(first) == {
        "id",
        "scan_id",
        "status",
        "class",
        "score",
        "centroid_zyx",
        "bbox_zyx",
        "volume_mm3",
        "equivalent_diameter_mm",
        "source",
        "revision",
        "role",
    }
    assert list_calls(store) == rows
    assert list_calls(store, "no-such-scan") == []


def test_bool_masks_are_split_into_components_via_the_native_kernel() -> None:
    mask = np.zeros((10, 10, 10), bool)
    mask[1:3, 1:3, 1:3] = True
    mask[6:9, 6:9, 6:9] = True
    items = indications_from_labels(None, mask, "pore", source="sam:vit_b", spacing_mm=SPACING)
    assert [it.measurements.voxel_count for it in items] == [8, 27]
    assert items[0].source.kind == "sam" and items[0].source.name == "vit_b"
    with pytest.raises(ReviewError, match="unknown indication class 'void'"):
        indications_from_labels(None, mask, "void", source="manual")
    with pytest.raises(ReviewError, match="unknown source kind"):
        indications_from_labels(None, mask, "pore", source="oracle")


def test_accept_reject_reopen_correct_and_revisions(store: Store) -> None:
    pore, crack, inclusion = _scan(store)["call_ids"]
    a = review(store, pore, "accept", "ana")
    assert (a["status"], a["revision"], a["updated_by"]) == ("accepted", 2, "ana")
    r = review(store, crack, "reject", "ana", "edge artefact")
    assert (r["status"], r["reason"], r["revision"]) == ("rejected", "edge artefact", 2)
    o = review(store, crack, "reopen", "ben", "second look")
    assert (o["status"], o["revision"]) == ("proposed", 3)
    c = review(store, inclusion, "correct", "ana", "it is a pore", cls="pore")
    assert (c["status"], c["class"], c["revision"]) == ("corrected", "pore", 2)
    assert c["proposal"]["class"] == "inclusion"  # the model's call is kept
    assert c["proposal"]["score"] == pytest.approx(0.5)
    assert get_call(store, pore)["workstation_id"] == store.workstation_id


def test_not_allowed_actions_give_clear_errors(store: Store) -> None:
    pore, crack, _ = _scan(store)["call_ids"]
    with pytest.raises(ReviewError, match="needs a reason"):
        review(store, pore, "reject", "ana")
    with pytest.raises(ReviewError, match="needs a reason"):
        review(store, pore, "reject", "ana", "   ")
    with pytest.raises(ReviewError, match="already open"):
        review(store, pore, "reopen", "ana")
    review(store, pore, "accept", "ana")
    with pytest.raises(ReviewError, match="is accepted; it cannot be accepted"):
        review(store, pore, "accept", "ana")
    with pytest.raises(ReviewError, match="unknown review action 'approve'"):
        review(store, pore, "approve", "ana")
    with pytest.raises(ReviewError, match="needs a new class or a new mask"):
        review(store, crack, "correct", "ana")
    with pytest.raises(ReviewError, match="needs a user id"):
        review(store, crack, "accept", " ")
    with pytest.raises(ReviewError, match="call nope is not in database"):
        review(store, "nope", "accept", "ana")
    with pytest.raises(ConflictError, match="changed to revision 2 since revision 1"):
        from ndelab.annotation.store import indications as calls

        calls.review(store, pore, "reject", "ben", "no", base_revision=1)


def test_mask_correction_keeps_the_original_proposal(store: Store) -> None:
    pore = _scan(store)["call_ids"][0]
    original = get_mask(store, pore)
    bigger = np.zeros((20, 40, 40), bool)
    original.paste(bigger)
    bigger[5:7, 5:9, 5:10] = True
    new_mask = SparseMask.from_local(bigger)
    out = review(store, pore, "correct", "ana", "pore extends deeper", mask=new_mask)
    assert out["status"] == "corrected"
    assert out["bbox_zyx"] == [2, 5, 5, 7, 9, 10]
    assert out["volume_mm3"] == pytest.approx(5 * 4 * 5 * 0.5 * 0.25 * 0.25)
    assert get_mask(store, pore).same_as(new_mask)
    assert get_proposal_mask(store, pore).same_as(original)
    assert out["proposal"]["bbox_zyx"] == [2, 5, 5, 5, 9, 10]
    assert out["proposal"]["volume_mm3"] == pytest.approx(3 * 4 * 5 * 0.5 * 0.25 * 0.25)


def test_audit_events_record_before_after_who_and_why(store: Store) -> None:
    made = _scan(store)
    pore, crack, _ = made["call_ids"]
    review(store, pore, "accept", "ana")
    review(store, crack, "reject", "ben", "surface scratch")
    review(store, crack, "reopen", "ana")
    events = audit(store, made["scan_id"])
    creates = [e for e in events if e["action"] == "create"]
    assert {e["entity_type"] for e in creates} == {"scan", "indication"}
    last = [e for e in events if e["action"] != "create"]
    assert [(e["action"], e["user"], e["entity_id"]) for e in last] == [
        ("accept", "ana", pore),
        ("reject", "ben", crack),
        ("reopen", "ana", crack),
    ]
    reject = last[1]
    assert reject["before"] == {"status": "proposed", "reason": None}
    assert reject["after"] == {"status": "rejected", "reason": "surface scratch"}
    assert reject["reason"] == "surface scratch"
    assert (reject["base_revision"], reject["revision"]) == (1, 2)
    assert last[2]["base_revision"] == 2 and last[2]["revision"] == 3
    assert all(e["at"].endswith("+00:00") for e in events)  # UTC
    assert len({e["id"] for e in events}) == len(events)
    # The log is consistent with the rows: the last event of each call has its revision.
    for call in list_calls(store, made["scan_id"]):
        mine = [e for e in events if e["entity_id"] == call["id"]]
        assert mine[-1]["revision"] == call["revision"]
        assert [e["revision"] for e in mine] == list(range(1, call["revision"] + 1))


def test_parts_and_scans_need_their_parent(store: Store) -> None:
    with pytest.raises(ReviewError, match="part missing is not in database"):
        add_scan(store, "missing", user="ana", path="x", shape=(1, 1, 1), spacing_mm=(1, 1, 1))
    part = add_part(store, "bracket", user="ana", serial="SN-1")
    scan = add_scan(
        store,
        part,
        user="ana",
        path="x.nrrd",
        shape=(4, 5, 6),
        spacing_mm=(0.1, 0.1, 0.1),
        diconde={"component_name": "bracket"},
    )
    from ndelab.annotation.store import get_scan

    got = get_scan(store, scan)
    assert got["shape"] == [4, 5, 6] and got["diconde"] == {"component_name": "bracket"}
