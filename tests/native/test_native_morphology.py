"""Dilation, erosion, opening, closing and hole filling: identical to scipy.ndimage."""

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
OPS = {
    "dilate": (native.dilate, ndi.binary_dilation),
    "erode": (native.erode, ndi.binary_erosion),
    "open": (native.open, ndi.binary_opening),
    "close": (native.close, ndi.binary_closing),
}


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("radius", [1, 2, 3])
def test_ball_matches_scipy(op: str, radius: int, layouts: Layouts) -> None:
    ours, theirs = OPS[op]
    rng = np.random.default_rng(radius)
    mask = rng.random((14, 17, 19)) < 0.6
    ref = theirs(mask, native.structuring_element(radius, "ball"))
    for name, arr in layouts(mask):
        out = ours(arr, radius, "ball")
        assert out.dtype == np.bool_
        assert np.array_equal(out, ref), (op, radius, name)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("radii", [(1, 1, 1), (0, 2, 1), (2, 0, 3)])
def test_box_matches_scipy(op: str, radii: tuple[int, int, int], layouts: Layouts) -> None:
    ours, theirs = OPS[op]
    rng = np.random.default_rng(sum(radii))
    mask = rng.random((12, 15, 18)) < 0.7
    ref = theirs(mask, native.structuring_element(radii, "box"))
    for name, arr in layouts(mask):
        assert np.array_equal(ours(arr, radii, "box"), ref), (op, radii, name)


def test_porous_and_2d(porous_block: npt.NDArray[np.bool_]) -> None:
    ball2 = native.structuring_element(2)
    assert np.array_equal(
        native.dilate(~porous_block, 2), ndi.binary_dilation(~porous_block, ball2)
    )
    assert np.array_equal(native.erode(porous_block, 2), ndi.binary_erosion(porous_block, ball2))
    rng = np.random.default_rng(9)
    img = rng.random((31, 37)) < 0.6
    disk = native.structuring_element(2, "ball", ndim=2)
    assert np.array_equal(native.erode(img, 2), ndi.binary_erosion(img, disk))
    assert np.array_equal(
        native.dilate(img, (1, 2), "box"), ndi.binary_dilation(img, np.ones((3, 5)))
    )


def test_fill_holes_matches_scipy(layouts: Layouts, porous_block: npt.NDArray[np.bool_]) -> None:
    rng = np.random.default_rng(5)
    for mask in (rng.random((16, 18, 20)) < 0.65, porous_block, rng.random((25, 30)) < 0.6):
        ref = ndi.binary_fill_holes(mask)
        for name, arr in layouts(mask):
            assert np.array_equal(native.fill_holes(arr), ref), name
    shell = np.ones((7, 7, 7), bool)
    shell[2:5, 2:5, 2:5] = False
    assert native.fill_holes(shell).all()


@settings(max_examples=50, deadline=None)
@given(
    mask=hnp.arrays(
        dtype=st.sampled_from([np.bool_, np.uint8]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=8),
        elements=st.integers(0, 1),
    ),
    step=st.sampled_from([1, 2, -1]),
    radius=st.integers(0, 2),
    op=st.sampled_from(["dilate", "erode"]),
    fill=st.sampled_from([None, 0, 1]),
)
def test_morphology_property(
    mask: npt.NDArray[np.generic], step: int, radius: int, op: str, fill: int | None
) -> None:
    if fill is not None:
        mask = np.full_like(mask, fill)
    mask = mask[::step, :, ::step]
    ours, theirs = OPS[op]
    ref = theirs(mask, native.structuring_element(radius)) if radius else mask.astype(bool)
    assert np.array_equal(ours(mask, radius), ref)
    assert np.array_equal(native.fill_holes(mask), ndi.binary_fill_holes(mask))


def test_morphology_rejects_bad_input() -> None:
    m = np.zeros((4, 4, 4), bool)
    with pytest.raises(TypeError):
        native.dilate(m.astype(np.float32))
    with pytest.raises(TypeError):
        native.dilate(m, (1, 1, 1), "ball")
    with pytest.raises(ValueError):
        native.erode(m, (1, 1), "box")
    with pytest.raises(ValueError):
        native.dilate(m, -1)
    with pytest.raises(ValueError):
        native.dilate(m, 1, "diamond")
    with pytest.raises(ValueError):
        native.fill_holes(np.zeros((2, 2, 2, 2), bool))
