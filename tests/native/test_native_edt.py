"""edt against scipy.ndimage.distance_transform_edt, with anisotropic spacing."""

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


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.7, 1.3), (0.3, 3.0, 0.9)])
def test_edt_matches_scipy(spacing: tuple[float, float, float], layouts: Layouts) -> None:
    rng = np.random.default_rng(1)
    mask = rng.random((21, 26, 31)) < 0.97
    ref = ndi.distance_transform_edt(mask, sampling=spacing)
    for name, arr in layouts(mask):
        out = native.edt(arr, spacing)
        assert out.dtype == np.float32 and out.flags.c_contiguous
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4, err_msg=name)


def test_edt_porous(porous_block: npt.NDArray[np.bool_]) -> None:
    ref = ndi.distance_transform_edt(porous_block, sampling=(0.5, 1.0, 1.0))
    np.testing.assert_allclose(native.edt(porous_block, (0.5, 1.0, 1.0)), ref, atol=1e-4)


@pytest.mark.parametrize("shape", [(40,), (13, 17), (1, 9, 11), (9, 1, 11), (9, 11, 1)])
def test_edt_low_dimensions(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(4)
    mask = rng.random(shape) < 0.8
    mask.flat[0] = False
    spacing = tuple(1.0 + 0.5 * i for i in range(len(shape)))
    ref = ndi.distance_transform_edt(mask, sampling=spacing)
    np.testing.assert_allclose(native.edt(mask, spacing), ref, atol=1e-4)


def test_edt_without_background_is_infinite() -> None:
    assert np.isinf(native.edt(np.ones((3, 4, 5), bool))).all()
    assert not native.edt(np.zeros((3, 4, 5), bool)).any()


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(
        dtype=st.sampled_from([np.bool_, np.uint8]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=10),
        elements=st.integers(0, 1),
    ),
    spacing=st.tuples(*[st.floats(0.25, 4.0)] * 3),
    step=st.sampled_from([1, 2, -1]),
)
def test_edt_property(
    mask: npt.NDArray[np.generic], spacing: tuple[float, float, float], step: int
) -> None:
    mask = mask[:, ::step, ::step]
    out = native.edt(mask, spacing)
    if mask.all():
        assert np.isinf(out).all()
        return
    ref = ndi.distance_transform_edt(mask, sampling=spacing)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)


def test_edt_rejects_bad_input() -> None:
    with pytest.raises(TypeError):
        native.edt(np.zeros((3, 3, 3), np.int16))
    with pytest.raises(ValueError):
        native.edt(np.zeros((3, 3, 3), bool), (1.0, 1.0))
    with pytest.raises(ValueError):
        native.edt(np.zeros((3, 3, 3), bool), (1.0, 0.0, 1.0))
    with pytest.raises(ValueError):
        native.edt(np.zeros((2, 2, 2, 2), bool))
