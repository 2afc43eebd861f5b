"""Radiograph phantoms: shape, modality, 2D ground truth, and the intensity convention."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage
from test_phantom_ct import check_ground_truth, check_inside

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import CLASS_CODES, Phantom, make_radiograph


@pytest.fixture(scope="module", params=["weld", "casting"])
def radiograph(request: pytest.FixtureRequest) -> Phantom:
    return make_radiograph(384, seed=3, kind=request.param)


def test_shape_and_modality(radiograph: Phantom) -> None:
    vol = radiograph.volume
    assert vol.shape == (1, 384, 384) and vol.is_2d
    assert vol.modality == "DX" and vol.dtype == np.uint16
    assert radiograph.labels.shape == radiograph.classes.shape == (1, 384, 384)
    assert radiograph.part_mask.shape == (1, 384, 384)
    assert "bright" in vol.metadata["pixel_convention"]
    assert vol.metadata["diconde"]["component_id"]


def test_ground_truth_is_exact(radiograph: Phantom) -> None:
    check_ground_truth(radiograph)
    check_inside(radiograph)
    assert radiograph.counts()["pore"] >= 3
    for d in radiograph.defects:
        assert d.center_zyx[0] == 0.0 and d.bbox_zyx[0] == 0 and d.bbox_zyx[3] == 1
        # Equivalent circle diameter of the footprint.
        assert abs(d.equivalent_diameter_vox - np.sqrt(4 * d.volume_vox / np.pi)) < 1e-9


def test_non_square_and_deterministic() -> None:
    a = make_radiograph(seed=9, kind="weld", shape=(200, 320))
    b = make_radiograph(seed=9, kind="weld", shape=(200, 320))
    c = make_radiograph(seed=10, kind="weld", shape=(200, 320))
    assert a.volume.shape == (1, 200, 320)
    assert np.array_equal(a.volume.data, b.volume.data) and a.defects == b.defects
    assert not np.array_equal(a.volume.data, c.volume.data)
    ga, gc = a.volume.metadata["params"]["geometry"], c.volume.metadata["params"]["geometry"]
    assert ga["plate_thickness_mm"] != gc["plate_thickness_mm"]


def _design(y: npt.NDArray[np.intp], x: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    y, x = y.astype(np.float64), x.astype(np.float64)
    return np.stack([np.ones_like(y), y, x, y * y, x * x, x * y], axis=1)


@pytest.mark.parametrize("kind", ["weld", "casting"])
def test_pores_bright_inclusions_dark(kind: Any) -> None:
    """Positive intensity image: less metal on the ray = more counts."""
    seen = {"pore": 0, "inclusion": 0, "crack": 0}
    for seed in range(8):
        ph = make_radiograph(256, seed=seed, kind=kind, noise=0)
        img = ph.volume.data[0].astype(np.float64)
        labels = ph.labels[0]
        for d in ph.defects:
            own = labels == d.id
            ring = ndimage.binary_dilation(own, iterations=4) & ~ndimage.binary_dilation(own)
            ring &= (labels == 0) & ph.part_mask[0]
            # Background under the defect: a quadratic surface fitted to the ring around it.
            ry, rx = np.nonzero(ring)
            oy, ox = np.nonzero(own)
            fit, res, *_ = np.linalg.lstsq(_design(ry, rx), img[ring], rcond=None)
            if np.sqrt(res[0] / ry.size) > 0.01 * img[ring].mean():
                continue  # on a step (boss edge): no smooth reference
            inside = img[own].mean()
            around = float((_design(oy, ox) @ fit).mean())
            if d.kind == "inclusion":
                assert inside < around
            elif d.equivalent_diameter_vox >= 4 or d.kind == "crack":
                assert inside > around, (kind, seed, d)
            seen[d.kind] += 1
    assert seen["pore"] >= 5 and seen["crack"] + seen["inclusion"] > 0


def test_weld_has_planar_defects_on_some_seeds() -> None:
    shapes = set()
    for seed in range(6):
        ph = make_radiograph(256, seed=seed, kind="weld")
        shapes |= {d.shape for d in ph.defects if d.kind == "crack"}
        assert (ph.classes[ph.labels > 0] > 0).all()
    assert shapes & {"lack_of_fusion", "crack"}


def test_casting_part_in_air() -> None:
    ph = make_radiograph(256, seed=1, kind="casting")
    img, part = ph.volume.data[0], ph.part_mask[0]
    assert not part[0].any() and not part[:, 0].any()
    assert np.median(img[~part]) > np.median(img[part]) * 1.3  # air is bright


@pytest.mark.parametrize(
    "kwargs", [{"size": 8}, {"kind": "pipe"}, {"noise": -1.0}, {"n_pores": -1}]
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        make_radiograph(**kwargs)


def test_classes_match_codes() -> None:
    ph = make_radiograph(256, seed=2, kind="weld")
    for d in ph.defects:
        assert (ph.classes[ph.labels == d.id] == CLASS_CODES[d.kind]).all()
