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
