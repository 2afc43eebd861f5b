"""Seeded region growing, checked against scipy.ndimage.label on the thresholded volume."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.ndimage as ndi

from ndelab import native

RANK = {6: 1, 18: 2, 26: 3}


def component_of(mask: npt.NDArray[np.bool_], seed: tuple[int, int, int], conn: int) -> Any:
    labels, _ = ndi.label(mask, ndi.generate_binary_structure(3, RANK[conn]))
    return labels == labels[seed] if mask[seed] else np.zeros_like(mask)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_interval_growth_is_the_seed_component(connectivity: int) -> None:
    rng = np.random.default_rng(connectivity)
    vol = rng.integers(0, 100, (20, 22, 24)).astype(np.uint16)
    inside = (vol >= 30) & (vol <= 90)
    seed = tuple(int(i) for i in np.argwhere(inside)[5])
    expected = component_of(inside, seed, connectivity)  # type: ignore[arg-type]
    for arr in (vol, np.asfortranarray(vol), vol.astype(np.float32)):
        res = native.region_grow(arr, seed, interval=(30, 90), connectivity=connectivity)
        assert np.array_equal(res.mask, expected)
        assert res.voxel_count == int(expected.sum()) and not res.truncated


def test_seed_outside_interval_gives_empty() -> None:
    vol = np.zeros((5, 5, 5), np.float32)
    res = native.region_grow(vol, (2, 2, 2), interval=(1.0, 2.0))
    assert res.voxel_count == 0 and not res.mask.any()


def block_volume() -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(3)
    vol = np.full((30, 30, 30), 1000.0, np.float32)
    vol[5:25, 5:25, 5:25] = 200.0
    return vol + rng.normal(0, 10, vol.shape).astype(np.float32)


def test_adaptive_growth_finds_the_block() -> None:
    vol = block_volume()
    block = np.zeros(vol.shape, bool)
    block[5:25, 5:25, 5:25] = True
    for update in (True, False):
        res = native.region_grow(vol, (15, 15, 15), k_sigma=4.0, radius=2, update=update)
        assert not res.mask[~block].any()
        assert res.voxel_count > 0.95 * block.sum()


def test_max_voxels_stops_before_a_level() -> None:
    vol = np.zeros((21, 21, 21), np.uint8)
    res = native.region_grow(vol, (10, 10, 10), interval=(0, 0), max_voxels=100)
    assert res.truncated and 0 < res.voxel_count <= 100
    assert res.voxel_count == int(res.mask.sum())
    # Whole breadth-first levels: the 6-connected region is a diamond around the seed.
    dist = np.abs(np.argwhere(res.mask) - 10).sum(axis=1)
    levels = dist.max()
    assert res.voxel_count == int((np.abs(np.indices(vol.shape) - 10).sum(0) <= levels).sum())


def test_roi_box_and_mask_limit_growth() -> None:
    vol = np.zeros((10, 10, 10), np.int16)
    res = native.region_grow(vol, (5, 5, 5), interval=(0, 0), roi=(2, 0, 0, 8, 10, 10))
    assert res.voxel_count == 6 * 100 and not res.mask[:2].any()
    roi = np.zeros(vol.shape, bool)
    roi[:, :, :4] = True
    assert native.region_grow(vol, (5, 5, 5), interval=(0, 0), roi=roi).voxel_count == 0
    res = native.region_grow(vol, (5, 5, 1), interval=(0, 0), roi=roi[:, :, ::-1][:, :, ::-1])
    assert np.array_equal(res.mask, roi)


def test_region_grow_rejects_bad_input() -> None:
    vol = np.zeros((4, 4, 4), np.float32)
    with pytest.raises(ValueError):
        native.region_grow(vol, (9, 0, 0), interval=(0, 1))
    with pytest.raises(ValueError):
        native.region_grow(vol, (0, 0, 0))
    with pytest.raises(ValueError):
        native.region_grow(vol, (0, 0, 0), interval=(0, 1), k_sigma=2.0)
    with pytest.raises(ValueError):
        native.region_grow(vol[0], (0, 0, 0), interval=(0, 1))
    with pytest.raises(ValueError):
        native.region_grow(vol, (0, 0, 0), interval=(0, 1), roi=np.zeros((4, 4, 5), bool))
    with pytest.raises(TypeError):
        native.region_grow(vol.astype(np.complex64), (0, 0, 0), interval=(0, 1))
