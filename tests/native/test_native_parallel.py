"""Inputs above the one-thread cut-off (2^20 voxels) take the OpenMP paths: same answers.

Also checks that one thread and the default give identical results, so chunk seams (label's
union-find, morphology's plane caches, RLE's interval lists) are exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
import scipy.ndimage as ndi

from ndelab import native

SHAPE = (72, 130, 115)  # 1,076,400 voxels: just over the cut-off


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = native.get_threads()
    native.set_threads(1)
    yield
    native.set_threads(before)


def blobs(seed: int) -> npt.NDArray[np.bool_]:
    rng = np.random.default_rng(seed)
    smooth: npt.NDArray[np.float32] = ndi.gaussian_filter(rng.random(SHAPE, dtype=np.float32), 1.5)
    return smooth > 0.52


def test_threads_setting() -> None:
    before = native.get_threads()
    try:
        native.set_threads(1)
        assert native.get_threads() == 1
        with pytest.raises(ValueError):
            native.set_threads(0)
    finally:
        native.set_threads(before)
    assert native.get_threads() == before


@pytest.mark.parametrize("connectivity", [6, 26])
def test_large_label_matches_scipy(connectivity: int) -> None:
    mask = blobs(1)
    rank = {6: 1, 26: 3}[connectivity]
    ref, n = ndi.label(mask, ndi.generate_binary_structure(3, rank))
    labels, st = native.label_stats(mask, connectivity)
    assert st.count == n > 100
    assert np.array_equal(labels, ref)  # raster numbering, like scipy
    np.testing.assert_array_equal(st.voxel_count, np.bincount(ref.ravel())[1:])


def test_large_results_do_not_depend_on_threads(one_thread: None) -> None:
    mask = blobs(2)
    vol = (np.random.default_rng(3).random(SHAPE) * 4000).astype(np.uint16)
    single = {
        "label": native.label(mask)[0],
        "dilate": native.dilate(mask, 2),
        "erode": native.erode(np.asfortranarray(mask), 1, "box"),
        "holes": native.fill_holes(mask),
        "edt": native.edt(mask, (1.0, 0.5, 2.0)),
        "window": native.window(vol, 500, 3000),
        "resample": native.resample_trilinear(vol, (80, 100, 120)),
        "rle": native.rle_encode(mask)[1],
    }
    native.set_threads(2)
    multi = {
        "label": native.label(mask)[0],
        "dilate": native.dilate(mask, 2),
        "erode": native.erode(np.asfortranarray(mask), 1, "box"),
        "holes": native.fill_holes(mask),
        "edt": native.edt(mask, (1.0, 0.5, 2.0)),
        "window": native.window(vol, 500, 3000),
        "resample": native.resample_trilinear(vol, (80, 100, 120)),
        "rle": native.rle_encode(mask)[1],
    }
    for key, value in single.items():
        assert np.array_equal(value, multi[key]), key


def test_large_oracles() -> None:
    mask = blobs(4)
    ball = native.structuring_element(2)
    assert np.array_equal(native.dilate(mask, 2), ndi.binary_dilation(mask, ball))
    assert np.array_equal(native.erode(mask, 2), ndi.binary_erosion(mask, ball))
    assert np.array_equal(native.fill_holes(mask), ndi.binary_fill_holes(mask))
    sub = mask[:40]  # scipy's EDT is slow; a slab suffices
    np.testing.assert_allclose(
        native.edt(sub, (2.0, 1.0, 0.7)),
        ndi.distance_transform_edt(sub, sampling=(2.0, 1.0, 0.7)),
        atol=1e-4,
    )
    bbox, runs = native.rle_encode(mask)
    assert np.array_equal(native.rle_decode(bbox, runs, mask.shape), mask)
    seed = tuple(int(i) for i in np.argwhere(mask)[0])
    grown = native.region_grow(mask.astype(np.uint8), seed, interval=(1, 1), connectivity=26)
    labels, _ = ndi.label(mask, np.ones((3, 3, 3)))
    assert np.array_equal(grown.mask, labels == labels[seed])
