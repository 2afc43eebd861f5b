"""The CT phantom: determinism, exact ground truth, defects inside the metal, grey levels."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import CLASS_CODES, Phantom, make_ct_phantom
from ndelab.volumes.progress import Cancelled

PARTS = ["housing", "cylinder", "block", "bracket"]
FULL = np.ones((3, 3, 3), dtype=bool)


@pytest.fixture(scope="module")
def housing() -> Phantom:
    return make_ct_phantom(96, seed=7)


@pytest.fixture(scope="module", params=PARTS)
def each_part(request: pytest.FixtureRequest) -> Phantom:
    return make_ct_phantom(80, seed=11, part=request.param, shape=(72, 80, 88))


def check_ground_truth(ph: Phantom) -> None:
    """Labels, classes and the defect list tell exactly the same story."""
    labels, classes = ph.labels, ph.classes
    n = len(ph.defects)
    assert labels.shape == classes.shape == ph.part_mask.shape == ph.volume.shape
    assert labels.dtype == np.uint16 and classes.dtype == np.uint8
    assert [d.id for d in ph.defects] == list(range(1, n + 1))
    assert np.array_equal(labels > 0, classes > 0)
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    assert counts.size == n + 1  # no label beyond the list
    centres = ndimage.center_of_mass(np.ones_like(labels), labels, range(1, n + 1))
    boxes = ndimage.find_objects(labels)
    for d, c, box in zip(ph.defects, centres, boxes, strict=True):
        assert box is not None, f"defect {d.id} has no voxels"
        assert d.volume_vox == counts[d.id]
        assert np.abs(np.asarray(d.center_zyx) - np.asarray(c)).max() < 0.5
        assert d.bbox_zyx == (*(s.start for s in box), *(s.stop for s in box))
        crop = labels[box] == d.id
        assert set(np.unique(classes[box][crop]).tolist()) == {CLASS_CODES[d.kind]}
        pieces = (
            ndimage.label(crop, FULL)[1]
            if crop.shape[0] > 1
            else ndimage.label(crop[0], FULL[0])[1]
        )
        assert pieces == 1, f"defect {d.id} is in pieces"


def check_inside(ph: Phantom, margin: int = 2) -> None:
    """Every defect has at least ``margin`` voxels of metal around it (never cut by a surface)."""
    defects = ph.labels > 0
    assert ph.part_mask[defects].all()
    size = (1, 2 * margin + 1, 2 * margin + 1) if ph.volume.shape[0] == 1 else 2 * margin + 1
    grown = ndimage.maximum_filter(defects, size=size)
    assert ph.part_mask[grown].all()


def test_same_seed_same_phantom() -> None:
    a = make_ct_phantom(48, seed=3)
    b = make_ct_phantom(48, seed=3)
    assert np.array_equal(a.volume.data, b.volume.data)
    assert np.array_equal(a.labels, b.labels)
    assert a.defects == b.defects
    assert a.volume.metadata == b.volume.metadata


def test_seeds_change_the_part_and_the_defects() -> None:
    runs = [make_ct_phantom(64, seed=s) for s in range(4)]
    geoms = [r.volume.metadata["params"]["part_geometry"] for r in runs]
    assert all(geoms[0]["flange_radius"] != g["flange_radius"] for g in geoms[1:])
    assert len({r.part_mask.sum() for r in runs}) == 4
    assert len({(len(r.defects), r.labels.sum()) for r in runs}) == 4
    assert not np.array_equal(runs[0].volume.data, runs[1].volume.data)


def test_ground_truth_is_exact(housing: Phantom) -> None:
    check_ground_truth(housing)
    kinds = housing.counts()
    assert kinds["pore"] >= 6 and kinds["crack"] >= 1 and kinds["inclusion"] >= 1


def test_every_part_kind(each_part: Phantom) -> None:
    check_ground_truth(each_part)
    check_inside(each_part)
    assert each_part.volume.shape == (72, 80, 88)
    frac = each_part.part_mask.mean()
    assert 0.05 < frac < 0.7
    # The part sits in air: nothing of it touches the volume's faces.
    m = each_part.part_mask
    assert not (m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())
    assert not (m[:, :, 0].any() or m[:, :, -1].any())


def test_defects_are_inside_the_metal(housing: Phantom) -> None:
    check_inside(housing)


def test_defect_shapes_and_sizes(housing: Phantom) -> None:
    for d in housing.defects:
        if d.kind == "pore" and d.shape != "shrinkage":
            assert 0.9 <= d.equivalent_diameter_vox <= 13.0
        if d.kind == "crack":
            assert d.normal_zyx is not None and d.length_vox is not None
            assert abs(float(np.linalg.norm(d.normal_zyx)) - 1.0) < 1e-6
            z0, y0, x0, z1, y1, x1 = d.bbox_zyx
            # A sheet: much more extent than bulk.
            assert max(z1 - z0, y1 - y0, x1 - x0) >= 5
            assert d.volume_vox < 0.5 * (z1 - z0) * (y1 - y0) * (x1 - x0)
        if d.kind == "inclusion":
            assert d.material in ("iron", "tungsten")
    pores = [d.equivalent_diameter_vox for d in housing.defects if d.kind == "pore"]
    assert max(pores) >= 6.0  # at least one large pore
    assert np.median(pores) < 5.0  # and mostly small ones


def _shell(ph: Phantom, box: Any, own: npt.NDArray[np.bool_], r: int) -> npt.NDArray[np.bool_]:
    grown = np.asarray(ndimage.maximum_filter(own, size=2 * r + 1), dtype=bool)
    near = np.asarray(ndimage.maximum_filter(own, size=3), dtype=bool)
    free = np.asarray(ph.part_mask[box] & (ph.labels[box] == 0), dtype=bool)
    shell: npt.NDArray[np.bool_] = grown & ~near & free
    return shell


def test_grey_levels(housing: Phantom) -> None:
    v = housing.volume.data
    assert v.dtype == np.uint16
    solid = ndimage.binary_erosion(housing.part_mask, iterations=2) & (housing.labels == 0)
    air = ~ndimage.binary_dilation(housing.part_mask, iterations=3)
    air_level, metal_level = float(np.median(v[air])), float(np.median(v[solid]))
    assert 500 < air_level < 1500
    assert 18000 < metal_level < 30000
    for d in housing.defects:
        z0, y0, x0, z1, y1, x1 = d.bbox_zyx
        box = (slice(z0 - 4, z1 + 4), slice(y0 - 4, y1 + 4), slice(x0 - 4, x1 + 4))
        own = housing.labels[box] == d.id
        around = float(v[box][_shell(housing, box, own, 3)].mean())
        inside = v[box][own].astype(np.float64)
        if d.kind == "inclusion":
            assert inside.max() > around + 5000 and inside.max() > 35000
        elif d.kind == "pore" and d.equivalent_diameter_vox >= 3:
            assert inside.mean() < around - 2000
        elif d.kind == "crack":
            assert inside.mean() < around - 500


def test_metadata_and_geometry(housing: Phantom) -> None:
    vol = housing.volume
    assert vol.modality == "CT" and vol.spacing_mm == (0.1, 0.1, 0.1)
    comp = vol.metadata["diconde"]
    assert comp["material"] == "A356 aluminium"
    assert comp["component_id"] and comp["component_name"]
    assert vol.metadata["seed"] == 7
    assert vol.metadata["defect_counts"] == housing.counts()


def test_n_pores_sets_the_gas_pores() -> None:
    ph = make_ct_phantom(64, seed=1, n_pores=0)
    assert all(d.shape == "shrinkage" for d in ph.defects if d.kind == "pore")
    ph = make_ct_phantom(64, seed=1, n_pores=12)
    gas = [d for d in ph.defects if d.kind == "pore" and d.shape != "shrinkage"]
    assert 6 <= len(gas) <= 12


def test_ideal_scan_has_exact_levels() -> None:
    ph = make_ct_phantom(48, seed=2, noise=0, blur_sigma_vox=0, cupping=0, rings=0)
    levels = ph.volume.metadata["grey_levels"]
    v = ph.volume.data
    metal = ph.part_mask & (ph.labels == 0)
    assert np.ptp(v[metal]) == 0 and abs(float(v[metal][0]) - levels["aluminium"]) <= 0.5
    assert np.ptp(v[~ph.part_mask]) == 0
    pores = ph.classes == CLASS_CODES["pore"]
    assert np.array_equal(v[pores], np.full(pores.sum(), v[~ph.part_mask][0]))


def test_cupping_darkens_the_middle() -> None:
    ph = make_ct_phantom(64, seed=4, part="cylinder", noise=0, blur_sigma_vox=0, cupping=0.3)
    metal = ph.part_mask & (ph.labels == 0)
    cy, cx = np.asarray(ph.volume.shape[1:]) / 2
    yy, xx = np.ogrid[0 : ph.volume.shape[1], 0 : ph.volume.shape[2]]
    r = np.broadcast_to(np.hypot(yy - cy, xx - cx), metal.shape)
    v = ph.volume.data
    rmax = r[metal].max()
    centre = v[metal & (r < 0.3 * rmax)].mean()
    rim = v[metal & (r > 0.85 * rmax)].mean()
    assert centre < rim * 0.9


def test_noise_scales_with_the_setting() -> None:
    clean = make_ct_phantom(48, seed=5, noise=0)
    metal = ndimage.binary_erosion(clean.part_mask, iterations=3) & (clean.labels == 0)
    air = ~ndimage.binary_dilation(clean.part_mask, iterations=3)
    base = clean.volume.data.astype(np.float64)
    stds = {}
    for noise in (1.0, 2.0):
        diff = make_ct_phantom(48, seed=5, noise=noise).volume.data - base
        stds[noise] = (float(diff[metal].std()), float(diff[air].std()))
    assert 1.9 < stds[2.0][0] / stds[1.0][0] < 2.1
    # Photon noise: denser material, more noise; realistic SNR in the metal.
    assert stds[1.0][0] > 2 * stds[1.0][1]
    assert 150 < stds[1.0][0] < 1000


def test_progress_and_cancel() -> None:
    seen: list[float] = []
    make_ct_phantom(40, seed=0, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 3
    with pytest.raises(Cancelled):
        make_ct_phantom(40, seed=0, cancel=lambda: True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 8},
        {"part": "teapot"},
        {"noise": -1.0},
        {"cupping": 1.5},
        {"n_pores": -2},
        {"spacing_mm": 0.0},
    ],
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        make_ct_phantom(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS)
def test_larger_phantoms_keep_their_ground_truth(part: Any) -> None:
    ph = make_ct_phantom(160, seed=21, part=part)
    check_ground_truth(ph)
    check_inside(ph)
    assert ph.counts()["pore"] >= 15
