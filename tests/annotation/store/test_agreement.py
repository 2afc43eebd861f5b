"""Model-versus-human agreement on a hand-computed example; the overruled list for the GUI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ndelab.annotation import NewIndication, Source, SparseMask
from ndelab.annotation.measure import measure
from ndelab.annotation.store import Store, add_indications, add_part, add_scan, review
from ndelab.annotation.store.agreement import agreement, overlaps, overruled

SHAPE = (20, 20, 20)
SPACING = (1.0, 1.0, 1.0)
Box = tuple[int, int, int, int, int, int]


def _mask(box: Box) -> SparseMask:
    z0, y0, x0, z1, y1, x1 = box
    return SparseMask.from_local(np.ones((z1 - z0, y1 - y0, x1 - x0), bool), (z0, y0, x0))


def _add(store: Store, scan: str, box: Box, cls: str, source: str, score: float = 0.5) -> str:
    mask = _mask(box)
    item = NewIndication(
        mask=mask,
        cls=cls,
        source=Source.parse(source),
        measurements=measure(mask, SPACING),
        score=score if source.startswith("model") else None,
    )
    return str(add_indications(store, scan, [item], user="runner")[0])


def _scan(store: Store, name: str) -> str:
    part = add_part(store, name, user="ana")
    return str(
        add_scan(
            store, part, user="ana", path=f"/scans/{name}.nrrd", shape=SHAPE, spacing_mm=SPACING
        )
    )


M1, M2 = "model:porenet@2.1", "model:other@1.0"


@pytest.fixture
def example(store: Store) -> dict[str, str]:
    """Equivalent diameters at 1 mm voxels: 1 voxel 1.24 mm, 8 voxels 2.48, 27 voxels 3.72,
    125 voxels 6.20. porenet@2.1 runs on scan A, other@1.0 on scan B."""
    a, b = _scan(store, "A"), _scan(store, "B")
    ids = {"A": a, "B": b}
    ids["c1"] = _add(store, a, (0, 0, 0, 1, 1, 1), "pore", M1)
    ids["c2"] = _add(store, a, (2, 2, 2, 4, 4, 4), "pore", M1)
    ids["c3"] = _add(store, a, (5, 0, 0, 7, 2, 2), "crack", M1)
    ids["c4"] = _add(store, a, (8, 0, 0, 10, 2, 2), "pore", M1)
    ids["c5"] = _add(store, a, (12, 0, 0, 13, 1, 1), "inclusion", M1)
    ids["c6"] = _add(store, a, (14, 0, 0, 15, 1, 1), "crack", M1)
    ids["m1"] = _add(store, a, (0, 10, 10, 5, 15, 15), "lack-of-fusion", "manual")
    ids["m2"] = _add(store, a, (3, 3, 3, 4, 4, 4), "pore", "manual")  # inside c2's proposal
    ids["m3"] = _add(store, a, (15, 15, 15, 17, 17, 17), "pore", "manual")
    ids["m4"] = _add(store, a, (18, 18, 18, 19, 19, 19), "pore", "sam:vit_b")
    ids["d1"] = _add(store, b, (0, 0, 0, 1, 1, 1), "pore", M2)
    ids["n1"] = _add(store, b, (5, 5, 5, 7, 7, 7), "pore", "manual")
    review(store, ids["c1"], "accept", "ana")
    review(store, ids["c2"], "reject", "ben", reason="ring artefact")
    review(store, ids["c3"], "correct", "ana", cls="inclusion")
    review(store, ids["c4"], "correct", "cy", mask=_mask((8, 0, 0, 11, 3, 3)))
    review(store, ids["c6"], "reject", "ana", reason="noise")
    for k in ("m1", "m2", "m4", "d1", "n1"):
        review(store, ids[k], "accept", "ana")
    review(store, ids["m3"], "reject", "ana", reason="duplicate")
    return ids


def _bins(model: dict[str, object]) -> list[tuple[int, int, float | None]]:
    rows = model["miss_rate_by_size"]
    assert isinstance(rows, list)
    return [(r["true_defects"], r["missed"], r["miss_rate"]) for r in rows]


def test_agreement_per_model_version(store: Store, example: dict[str, str]) -> None:
    result = agreement(store)
    json.dumps(result)
    assert result["bins_mm"] == [0.0, 0.5, 1.0, 2.0, 5.0]
    by_model = {(m["model"]["name"], m["model"]["version"]): m for m in result["models"]}
    assert set(by_model) == {("porenet", "2.1"), ("other", "1.0")}
    m1 = by_model[("porenet", "2.1")]
    assert m1["counts"] == {"reviewed": 5, "accepted": 1, "corrected": 2, "rejected": 2, "open": 1}
    conf = m1["confusion"]
    assert conf["rows"] == ["pore", "crack", "inclusion", "lack-of-fusion", "other", "linear"]
    assert conf["columns"] == [*conf["rows"], "rejected"]
    assert conf["matrix"] == [
        [2, 0, 0, 0, 0, 0, 1],  # pore: c1 accepted, c4 corrected mask only, c2 rejected
        [0, 0, 1, 0, 0, 0, 1],  # crack: c3 became inclusion, c6 rejected
        [0, 0, 0, 0, 0, 0, 0],  # inclusion: c5 still open, not counted
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
    assert m1["false_call_rate"] == pytest.approx(2 / 5)
    assert m1["acceptance_rate"] == pytest.approx(1 / 5)
    assert m1["correction_rate"] == pytest.approx(2 / 5)
    assert m1["class_agreement"] == pytest.approx(2 / 3)
    # [1, 2) mm: c1, m2 (overlaps c2's proposal: found), m4 (SAM, missed);
    # [2, 5): c3, c4 (27 voxels after correction); [5, inf): m1 missed. m3 was rejected.
    assert _bins(m1) == [(0, 0, None), (0, 0, None), (3, 1, 1 / 3), (2, 0, 0.0), (1, 1, 1.0)]
    assert m1["miss_rate_by_size"][-1]["max_mm"] is None
    m2 = by_model[("other", "1.0")]
    assert m2["counts"] == {"reviewed": 1, "accepted": 1, "corrected": 0, "rejected": 0, "open": 0}
    assert m2["false_call_rate"] == 0.0 and m2["class_agreement"] == 1.0
    assert _bins(m2) == [(0, 0, None), (0, 0, None), (1, 0, 0.0), (1, 1, 1.0), (0, 0, None)]


def test_agreement_filters_and_custom_bins(store: Store, example: dict[str, str]) -> None:
    only = agreement(store, model_name="porenet")["models"]
    assert [m["model"]["name"] for m in only] == ["porenet"]
    on_b = agreement(store, scan_id=example["B"])["models"]
    assert [m["model"]["name"] for m in on_b] == ["other"]
    coarse = agreement(store, model_name="porenet", bins_mm=[0.0, 3.0])["models"][0]
    # [0, 3): c1, c3 (2.48), m2, m4 missed; [3, inf): c4 (3.72), m1 missed.
    assert _bins(coarse) == [(4, 1, 0.25), (2, 1, 0.5)]
    with pytest.raises(ValueError, match="increasing"):
        agreement(store, bins_mm=[1.0, 1.0])
    assert agreement(store, model_name="nobody")["models"] == []


def test_overruled_lists_rejections_and_corrections(store: Store, example: dict[str, str]) -> None:
    rows = overruled(store)
    json.dumps(rows)
    assert [r["id"] for r in rows] == [example[k] for k in ("c2", "c3", "c4", "c6")]
    c2, c3, c4, c6 = rows
    assert c2["changes"] == {"rejected": True} and c2["summary"] == "rejected"
    assert c2["by"] == "ben" and c2["reason"] == "ring artefact" and c2["at"].endswith("+00:00")
    assert c2["final_class"] is None and c2["proposed_class"] == "pore"
    assert c2["centroid_zyx"] == pytest.approx([2.5, 2.5, 2.5])
    assert c2["bbox_zyx"] == [2, 2, 2, 4, 4, 4] and c2["scan_id"] == example["A"]
    assert c2["model"] == {"name": "porenet", "version": "2.1"}
    assert c3["changes"] == {"class": ["crack", "inclusion"]}
    assert c3["summary"] == "class crack -> inclusion" and c3["by"] == "ana"
    assert c4["changes"] == {"mask": {"voxels": [8, 27]}} and c4["by"] == "cy"
    assert c4["final_class"] == "pore" and c4["bbox_zyx"] == [8, 0, 0, 11, 3, 3]
    assert c6["changes"] == {"rejected": True}
    assert overruled(store, scan_id=example["B"]) == []
    assert [r["id"] for r in overruled(store, model_name="porenet")] == [r["id"] for r in rows]
    # Reopened calls are no longer reviewed: they leave the list.
    review(store, example["c2"], "reopen", "ana")
    assert example["c2"] not in {r["id"] for r in overruled(store)}


def test_overlaps() -> None:
    a = _mask((0, 0, 0, 2, 2, 2))
    assert overlaps(a, _mask((1, 1, 1, 3, 3, 3)))
    assert not overlaps(a, _mask((2, 0, 0, 3, 2, 2)))  # touching faces only
    ring = np.ones((3, 3, 3), bool)
    ring[1, 1, 1] = False
    hollow = SparseMask.from_local(ring, (0, 0, 0))
    assert not overlaps(hollow, _mask((1, 1, 1, 2, 2, 2)))  # boxes meet, voxels do not
