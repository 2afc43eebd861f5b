"""label / label_stats against scipy.ndimage, plus property tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndelab import native

Layouts = Callable[[Any], list[tuple[str, Any]]]
RANK = {6: 1, 18: 2, 26: 3}


def same_up_to_renumbering(a: npt.NDArray[np.int32], b: npt.NDArray[np.int32]) -> bool:
    """True when a and b partition the voxels identically (background 0 in both)."""
    if a.shape != b.shape or not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return bool(len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1])))


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_label_matches_scipy_in_every_layout(connectivity: int, layouts: Layouts) -> None:
    rng = np.random.default_rng(connectivity)
    mask = rng.random((17, 23, 29)) < 0.35
    ref, n_ref = ndi.label(mask, ndi.generate_binary_structure(3, RANK[connectivity]))
    for name, arr in layouts(mask):
        labels, n = native.label(arr, connectivity)
        assert n == n_ref, name
        assert labels.dtype == np.int32
        assert same_up_to_renumbering(labels, ref), name


def test_label_uint8_and_porous(porous_block: npt.NDArray[np.bool_]) -> None:
    for m in (porous_block, ~porous_block):
        ref, n_ref = ndi.label(m, np.ones((3, 3, 3)))
        labels, n = native.label(m.astype(np.uint8) * 7, 26)
        assert n == n_ref
        assert same_up_to_renumbering(labels, ref)


@pytest.mark.parametrize("connectivity", [6, 26])
def test_label_stats_match_scipy(connectivity: int, layouts: Layouts) -> None:
    rng = np.random.default_rng(7)
    mask = rng.random((15, 19, 21)) < 0.4
    intensity = rng.normal(100, 20, mask.shape).astype(np.float32)
    ref, n = ndi.label(mask, ndi.generate_binary_structure(3, RANK[connectivity]))
    index = np.arange(1, n + 1)
    for name, arr in layouts(mask):
        for iname, iarr in layouts(intensity)[:3]:
            labels, st_ = native.label_stats(arr, connectivity, iarr)
            assert st_.count == n, (name, iname)
            # Our numbering is raster order like scipy's, so rows line up one to one.
            assert np.array_equal(labels, ref), name
            np.testing.assert_array_equal(st_.voxel_count, ndi.sum_labels(mask, ref, index))
            boxes = ndi.find_objects(ref)
            expect_bbox = [[s.start for s in b] + [s.stop for s in b] for b in boxes]
            np.testing.assert_array_equal(st_.bbox, expect_bbox)
            np.testing.assert_allclose(
                st_.centroid, ndi.center_of_mass(mask, ref, index), rtol=0, atol=1e-9
            )
            inten64 = intensity.astype(np.float64)
            np.testing.assert_allclose(st_.sum, ndi.sum_labels(inten64, ref, index), rtol=1e-12)
            np.testing.assert_array_equal(st_.min, ndi.minimum(inten64, ref, index))
            np.testing.assert_array_equal(st_.max, ndi.maximum(inten64, ref, index))


def test_label_stats_without_intensity_and_2d() -> None:
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:3, 1:4] = True
    mask[4:6, 6:8] = True
    labels, st_ = native.label_stats(mask, 26)
    assert st_.count == 2
    np.testing.assert_array_equal(st_.bbox, [[1, 1, 3, 4], [4, 6, 6, 8]])
    np.testing.assert_allclose(st_.centroid, [[1.5, 2.0], [4.5, 6.5]])
    assert np.isnan(st_.sum).all() and np.isnan(st_.min).all()
    assert labels[1, 1] == 1 and labels[5, 7] == 2


def test_label_integer_intensity_types() -> None:
    rng = np.random.default_rng(2)
    mask = rng.random((8, 9, 10)) < 0.5
    ref, n = ndi.label(mask, np.ones((3, 3, 3)))
    index = np.arange(1, n + 1)
    for dtype in (np.uint8, np.int16, np.uint16, np.int32, np.float64):
        inten = rng.integers(0, 120, mask.shape).astype(dtype)
        _, st_ = native.label_stats(mask, 26, inten)
        np.testing.assert_array_equal(st_.sum, ndi.sum_labels(inten.astype(float), ref, index))
        np.testing.assert_array_equal(st_.max, ndi.maximum(inten.astype(float), ref, index))


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(
        dtype=st.sampled_from([np.bool_, np.uint8]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=9),
        elements=st.integers(0, 1),
    ),
    connectivity=st.sampled_from([6, 18, 26]),
    fortran=st.booleans(),
    steps=st.tuples(*[st.sampled_from([1, 2, -1])] * 3),
)
def test_label_property(
    mask: npt.NDArray[np.generic], connectivity: int, fortran: bool, steps: tuple[int, ...]
) -> None:
    if fortran:
        mask = np.asfortranarray(mask)
    mask = mask[tuple(slice(None, None, s) for s in steps)]  # strided and reversed views
    ref, n_ref = ndi.label(mask, ndi.generate_binary_structure(3, RANK[connectivity]))
    labels, st_ = native.label_stats(mask, connectivity)
    assert st_.count == n_ref
    assert same_up_to_renumbering(labels, ref)
    assert int(st_.voxel_count.sum()) == int(np.count_nonzero(mask))


def test_empty_and_full() -> None:
    labels, n = native.label(np.zeros((4, 5, 6), bool))
    assert n == 0 and not labels.any()
    labels, st_ = native.label_stats(np.ones((4, 5, 6), bool))
    assert st_.count == 1 and (labels == 1).all()
    np.testing.assert_array_equal(st_.bbox, [[0, 0, 0, 4, 5, 6]])
    labels, n = native.label(np.zeros((0, 5, 6), bool))
    assert n == 0 and labels.shape == (0, 5, 6)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: native.label(np.zeros((3, 3, 3), np.float32)), TypeError),
        (lambda: native.label(np.zeros((3, 3, 3, 3), bool)), ValueError),
        (lambda: native.label(np.zeros((3, 3, 3), bool), 8), ValueError),
        (lambda: native.label([[1]]), TypeError),
        (lambda: native.label_stats(np.zeros((3, 3), bool), 26, np.zeros((3, 4))), ValueError),
        (
            lambda: native.label_stats(np.zeros((3, 3), bool), 26, np.zeros((3, 3), complex)),
            TypeError,
        ),
    ],
)
def test_label_rejects_bad_input(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]
