"""Disposition against criteria: verdicts, reasons, zones, counting rules, signing, nearness."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation import FORBIDDEN_NEARNESS, ReviewError
from ndelab.annotation.store import (
    Store,
    audit,
    disposition,
    dispositions,
    import_labels,
    list_calls,
    nearness,
    review,
)
from ndelab.volumes.volume import Volume

SPACING = (0.2, 0.1, 0.1)
SHAPE = (60, 100, 100)
Ball = Callable[..., np.ndarray]

# Pores: (centre mm, radius mm, class). Equivalent diameters about 2 x radius.
DEFECTS = [
    ((2.0, 2.0, 2.0), 0.3, "pore"),  # near the z = 0 face: inside a 0..3 mm zone
    ((6.0, 5.0, 5.0), 0.3, "pore"),
    ((6.0, 5.0, 6.0), 0.25, "pore"),  # 1 mm centre to centre from the previous one
    ((9.0, 8.0, 8.0), 0.6, "pore"),  # the big one
    ((8.0, 2.0, 8.0), 0.2, "crack"),
]


@pytest.fixture
def scan(store: Store, ball: Ball) -> dict[str, Any]:
    labels = np.zeros(SHAPE, np.int32)
    for k, (centre, radius, _) in enumerate(DEFECTS, start=1):
        labels[ball(SHAPE, centre, radius, SPACING)] = k
    vol = Volume(np.zeros(SHAPE, np.uint8), spacing_mm=SPACING)
    made = import_labels(
        store,
        vol,
        labels,
        [d[2] for d in DEFECTS],
        source="model:m@1",
        user="model",
        scores=[0.9] * len(DEFECTS),
    )
    made["by_index"] = dict(enumerate(made["call_ids"]))
    return made


def _criteria(tmp_path: Path, rules: list[dict[str, Any]], name: str = "c.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"name": "test grade", "version": "7", "rules": rules}))
    return path


def _accept_all(store: Store, made: dict[str, Any], skip: tuple[int, ...] = ()) -> None:
    for i, call_id in made["by_index"].items():
        if i not in skip:
            review(store, call_id, "accept", "ana")


def _reason(result: dict[str, Any], rule: int, check: str) -> dict[str, Any]:
    [found] = [r for r in result["reasons"] if r["rule"] == rule and r["check"] == check]
    return found


def test_passing_part_is_accepted_and_every_rule_has_a_reason(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    _accept_all(store, scan)
    crit = _criteria(
        tmp_path,
        [
            {"class": "pore", "max_equivalent_diameter_mm": 1.5, "max_count": 4},
            {"class": "crack", "max_count": 1},
        ],
    )
    result = disposition(store, scan["scan_id"], crit)
    assert result["verdict"] == "accept"
    assert result["preview"] is True and result["signed_by"] is None
    size = _reason(result, 1, "max_equivalent_diameter_mm")
    assert size["passed"] and size["limit"] == 1.5 and size["unit"] == "mm"
    assert size["measured"] == pytest.approx(1.2, rel=0.05)  # the big pore
    count = _reason(result, 1, "max_count")
    assert (count["measured"], count["passed"]) == (4, True)
    assert result["criteria"]["name"] == "test grade" and result["criteria"]["version"] == "7"
    assert len(result["criteria"]["sha256"]) == 64


def test_oversized_pore_rejects_the_part_and_is_named(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    _accept_all(store, scan)
    crit = _criteria(tmp_path, [{"class": "pore", "max_equivalent_diameter_mm": 1.0}])
    result = disposition(store, scan["scan_id"], crit)
    assert result["verdict"] == "reject"
    size = _reason(result, 1, "max_equivalent_diameter_mm")
    assert not size["passed"]
    assert size["indications"] == [scan["by_index"][3]]


def test_only_reviewed_calls_count_and_open_calls_block_signing(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    crit = _criteria(tmp_path, [{"class": "pore", "max_equivalent_diameter_mm": 1.0}])
    _accept_all(store, scan, skip=(3,))  # the big pore is still proposed
    preview = disposition(store, scan["scan_id"], crit)
    assert preview["verdict"] == "accept" and preview["open_calls"] == 1
    with pytest.raises(ReviewError, match="has 1 open \\(proposed\\) call"):
        disposition(store, scan["scan_id"], crit, sign_user="ana")
    review(store, scan["by_index"][3], "reject", "ana", "beam hardening artefact")
    signed = disposition(store, scan["scan_id"], crit, sign_user="ana")
    assert signed["verdict"] == "accept" and signed["signed_by"] == "ana"
    assert signed["preview"] is False and signed["signed_at"].endswith("+00:00")
    stored = dispositions(store, scan["scan_id"])
    assert [d["id"] for d in stored] == [signed["id"]]
    assert stored[0]["criteria_sha256"] == signed["criteria"]["sha256"]
    assert stored[0]["criteria_name"] == "test grade" and stored[0]["criteria_version"] == "7"
    sign = [e for e in audit(store, scan["scan_id"]) if e["action"] == "sign"]
    assert sign and sign[0]["after"]["verdict"] == "accept" and sign[0]["user"] == "ana"


def test_corrected_calls_count_with_their_new_class(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    _accept_all(store, scan, skip=(4,))
    crit = _criteria(tmp_path, [{"class": "crack", "forbidden": True}])
    assert disposition(store, scan["scan_id"], crit)["verdict"] == "accept"
    review(store, scan["by_index"][4], "correct", "ana", "a crack after all", cls="crack")
    # it was proposed as a crack; the correction keeps crack: counted now
    result = disposition(store, scan["scan_id"], crit)
    assert result["verdict"] == "reject"
    assert _reason(result, 1, "forbidden")["indications"] == [scan["by_index"][4]]


def test_forbidden_class_and_rework(store: Store, scan: dict[str, Any], tmp_path: Path) -> None:
    _accept_all(store, scan)
    rework = _criteria(
        tmp_path,
        [
            {"class": "crack", "forbidden": True, "on_fail": "rework"},
            {"class": "pore", "max_equivalent_diameter_mm": 5},
        ],
        "a.json",
    )
    assert disposition(store, scan["scan_id"], rework)["verdict"] == "rework"
    mixed = _criteria(
        tmp_path,
        [
            {"class": "crack", "forbidden": True, "on_fail": "rework"},
            {"class": "pore", "max_count": 2},
        ],
        "b.json",
    )
    result = disposition(store, scan["scan_id"], mixed)
    assert result["verdict"] == "reject"  # a reject rule outweighs a rework rule
    assert _reason(result, 2, "max_count")["measured"] == 4


def test_volume_fraction_and_min_spacing(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    _accept_all(store, scan)
    pores = [c for c in list_calls(store, scan["scan_id"]) if c["class"] == "pore"]
    total = sum(c["volume_mm3"] for c in pores)
    scanned = float(np.prod(SHAPE) * np.prod(SPACING))
    crit = _criteria(
        tmp_path,
        [
            {"class": "pore", "max_total_volume_fraction": 0.5 * total / scanned},
            {"class": "pore", "min_spacing_mm": 0.3},
        ],
    )
    result = disposition(store, scan["scan_id"], crit)
    frac = _reason(result, 1, "max_total_volume_fraction")
    assert frac["measured"] == pytest.approx(total / scanned)
    assert frac["denominator"] == "scanned volume" and not frac["passed"]
    spacing = _reason(result, 2, "min_spacing_mm")
    # Pores 1 and 2: centres 1.0 mm apart, radii 0.3 and 0.25: gap about 0.45 mm minus voxels.
    assert spacing["passed"] and 0.35 < spacing["measured"] < 0.55
    tight = _criteria(tmp_path, [{"class": "pore", "min_spacing_mm": 0.6}], "t.json")
    result = disposition(store, scan["scan_id"], tight)
    assert result["verdict"] == "reject"
    assert sorted(_reason(result, 1, "min_spacing_mm")["indications"]) == sorted(
        [scan["by_index"][1], scan["by_index"][2]]
    )


def test_zones_box_and_mask(store: Store, scan: dict[str, Any], tmp_path: Path) -> None:
    _accept_all(store, scan)
    face = {"name": "face", "box_mm": [[0, 0, 0], [3, 10, 10]]}
    crit = _criteria(
        tmp_path,
        [
            {"class": "pore", "zone": face, "max_equivalent_diameter_mm": 0.4},
            {"class": "pore", "max_equivalent_diameter_mm": 2.0},
        ],
    )
    result = disposition(store, scan["scan_id"], crit)
    zone = _reason(result, 1, "max_equivalent_diameter_mm")
    assert zone["zone"] == "face" and zone["indications"] == [scan["by_index"][0]]
    assert result["verdict"] == "reject"
    # The same zone as a mask supplied at evaluation time.
    mask = np.zeros(SHAPE, bool)
    mask[:15] = True  # z < 3 mm
    crit2 = _criteria(
        tmp_path,
        [{"class": "pore", "zone": {"mask": "face"}, "max_equivalent_diameter_mm": 0.4}],
        "m.json",
    )
    r2 = disposition(store, scan["scan_id"], crit2, zone_masks={"face": mask})
    assert _reason(r2, 1, "max_equivalent_diameter_mm")["indications"] == [scan["by_index"][0]]
    # ... or as a .npy file next to the criteria.
    np.save(tmp_path / "face.npy", mask)
    crit3 = _criteria(
        tmp_path,
        [{"class": "pore", "zone": {"mask": "face.npy"}, "max_equivalent_diameter_mm": 0.4}],
        "n.json",
    )
    r3 = disposition(store, scan["scan_id"], crit3)
    assert _reason(r3, 1, "max_equivalent_diameter_mm")["indications"] == [scan["by_index"][0]]
    from ndelab.annotation import CriteriaError

    with pytest.raises(CriteriaError, match="zone mask 'face' was not supplied"):
        disposition(store, scan["scan_id"], crit2)


def test_nearness_ranks_calls_by_their_strictest_rule(
    store: Store, scan: dict[str, Any], tmp_path: Path
) -> None:
    crit = _criteria(
        tmp_path,
        [
            {"class": "pore", "max_equivalent_diameter_mm": 1.0},
            {"class": "crack", "forbidden": True},
        ],
    )
    near = nearness(store, scan["scan_id"], crit)  # open calls are ranked too
    ids = scan["by_index"]
    assert near[ids[4]]["ratio"] == FORBIDDEN_NEARNESS and near[ids[4]]["check"] == "forbidden"
    assert near[ids[3]]["ratio"] == pytest.approx(1.2, rel=0.05)
    assert near[ids[0]]["ratio"] == pytest.approx(0.6, rel=0.1)
    order = sorted(near, key=lambda i: -near[i]["ratio"])
    assert order[:2] == [ids[4], ids[3]]
    review(store, ids[3], "reject", "ana", "artefact")
    assert ids[3] not in nearness(store, scan["scan_id"], crit)
