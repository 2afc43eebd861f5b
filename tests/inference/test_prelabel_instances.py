"""Calls from a synthetic probability map; minimum size from the scan's spacing."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.inference.instances import (
    calibrated_score,
    instances_from_probabilities,
    min_voxels_for,
)

CLASSES = ("background", "pore", "crack", "inclusion")


def _probs() -> np.ndarray:
    p = np.zeros((4, 20, 30, 30), np.float32)
    p[0] = 1.0
    # A 4x4x4 pore, a 1x10x6 crack-like sheet, an inclusion, and one isolated voxel.
    p[:, 2:6, 2:6, 2:6] = np.array([0.1, 0.8, 0.05, 0.05])[:, None, None, None]
    p[:, 10:11, 5:15, 10:16] = np.array([0.3, 0.2, 0.45, 0.05])[:, None, None, None]
    p[:, 14:17, 20:23, 20:23] = np.array([0.2, 0.1, 0.1, 0.6])[:, None, None, None]
    p[:, 18, 28, 28] = np.array([0.2, 0.8, 0.0, 0.0])
    return np.rint(p * 255).astype(np.uint8)


def test_components_become_calls_with_class_bbox_and_size() -> None:
    calls = instances_from_probabilities(
        _probs(),
        (0.1, 0.1, 0.1),
        class_names=CLASSES,
        model_name="m",
        model_version="2",
        min_voxels=2,
    )
    by_class = {c.class_name: c for c in calls}
    assert sorted(by_class) == ["crack", "inclusion", "pore"]
    pore = by_class["pore"]
    assert pore.bbox_zyx == (2, 2, 2, 6, 6, 6)
    assert pore.centroid_zyx == pytest.approx((3.5, 3.5, 3.5))
    assert pore.volume_voxels == 64 and pore.mask.all()
    assert pore.volume_mm3 == pytest.approx(64 * 0.001)
    assert pore.score == pytest.approx(0.9, abs=0.01)  # no calibration: mean foreground
    assert (pore.model_name, pore.model_version) == ("m", "2")
    assert by_class["crack"].volume_voxels == 60
    assert by_class["inclusion"].class_scores["inclusion"] == pytest.approx(0.6, abs=0.01)


def test_threshold_and_min_size_drop_calls() -> None:
    common = {"class_names": CLASSES, "model_name": "m", "model_version": "1"}
    assert len(instances_from_probabilities(_probs(), (1, 1, 1), min_voxels=1, **common)) == 4
    assert len(instances_from_probabilities(_probs(), (1, 1, 1), min_voxels=20, **common)) == 3
    strict = instances_from_probabilities(_probs(), (1, 1, 1), threshold=0.75, **common)
    assert [c.class_name for c in strict] == ["pore", "inclusion"]


def test_min_size_converts_from_mm() -> None:
    assert min_voxels_for((0.1, 0.1, 0.1), is_2d=False, min_volume_mm3=0.01) == 10
    # A 0.3 mm sphere at 0.1 mm voxels: pi/6 * 27 = 14.1 voxels.
    assert min_voxels_for((0.1, 0.1, 0.1), is_2d=False, min_diameter_mm=0.3) == 15
    # On a radiograph the diameter is a circle's: pi/4 * 9 = 7.07 pixels.
    assert min_voxels_for((1.0, 0.1, 0.1), is_2d=True, min_diameter_mm=0.3) == 8


def test_calibration_is_monotone_in_confidence() -> None:
    cal = {"coef": [-1.0, 1.5, 0.5]}
    scores = [calibrated_score(m, m, cal) for m in (0.55, 0.7, 0.9, 0.99)]
    assert scores == sorted(scores) and 0 < scores[0] < scores[-1] < 1
    assert calibrated_score(0.7, 0.9, {}) == pytest.approx(0.7)


def test_open_fraction_tells_enclosed_pores_from_holes() -> None:
    from ndelab.inference.calls import Call
    from ndelab.inference.instances import open_fraction
    from ndelab.inference.intensity import Levels
    from ndelab.volumes.volume import Volume

    img = np.full((40, 40, 40), 1000, np.uint16)  # air
    img[5:35, 5:35, 5:35] = 20000  # a metal block
    zz, yy, xx = np.mgrid[:40, :40, :40]
    pore = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 9
    img[pore] = 1000
    img[5:35, 10:13, 10:13] = 1000  # a hole right through the block along z
    vol, levels = Volume(img), Levels(1000.0, 20000.0)

    def call_for(mask: np.ndarray) -> Call:
        idx = np.argwhere(mask)
        lo, hi = idx.min(0), idx.max(0) + 1
        crop = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        box = (*map(int, lo), *map(int, hi))
        return Call("pore", 1.0, (0.0, 0.0, 0.0), box, int(crop.sum()), 0.0, crop, "m", "1")

    hole = np.zeros_like(pore)
    hole[5:35, 10:13, 10:13] = True
    assert open_fraction(vol, levels, call_for(pore)) == 0.0
    assert open_fraction(vol, levels, call_for(hole)) > 0.1
