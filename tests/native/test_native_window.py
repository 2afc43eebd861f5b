"""window and apply_lut against numpy expressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndelab import native

Layouts = Callable[[Any], list[tuple[str, Any]]]


def reference(v: npt.NDArray[Any], low: float, high: float) -> npt.NDArray[np.uint8]:
    scaled = (v.astype(np.float64) - low) * (255.0 / (high - low)) + 0.5
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_window_matches_numpy(dtype: type, layouts: Layouts) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    lo, hi = (float(info.min), float(info.max)) if info else (-3000.0, 3000.0)
    v: npt.NDArray[Any] = rng.uniform(lo, hi, (9, 11, 13)).astype(dtype)
    low, high = lo / 2 + 17.3, hi / 2 - 5.1
    ref = reference(v, low, high)
    for name, arr in layouts(v):
        out = native.window(arr, low, high)
        assert out.dtype == np.uint8
        # float32 arithmetic may round a value sitting on a .5 boundary the other way.
        assert np.abs(out.astype(int) - ref).max() <= (1 if dtype == np.float32 else 0), name


def test_window_float_specials() -> None:
    v = np.array([np.nan, -np.inf, np.inf, 0.0, 1.0, 0.5], np.float32)
    np.testing.assert_array_equal(native.window(v, 0.0, 1.0), [0, 0, 255, 0, 255, 128])


@settings(max_examples=40, deadline=None)
@given(
    v=hnp.arrays(np.int16, hnp.array_shapes(min_dims=1, max_dims=3, max_side=8)),
    low=st.integers(-40000, 40000),
    width=st.integers(1, 70000),
)
def test_window_property(v: npt.NDArray[np.int16], low: int, width: int) -> None:
    assert np.array_equal(native.window(v, low, low + width), reference(v, low, low + width))


@settings(max_examples=80, deadline=None)
@given(
    v=hnp.arrays(np.uint16, st.integers(1, 70), elements=st.integers(0, 65535)),
    low=st.floats(-70000, 70000),
    width=st.floats(0.01, 80000),
    extra=st.integers(0, 65535),
)
def test_window_uint16_simd_equals_exact_table(
    v: npt.NDArray[np.uint16], low: float, width: float, extra: int
) -> None:
    # Values sitting exactly on level boundaries, where float32 math could round the other way.
    ties = np.round(low + (np.arange(256) - 0.5) * width / 255).clip(0, 65535).astype(np.uint16)
    v = np.concatenate([v, ties, [extra]]).astype(np.uint16)
    assert np.array_equal(native.window(v, low, low + width), reference(v, low, low + width))
    s = v.view(np.int16)
    assert np.array_equal(native.window(s, low, low + width), reference(s, low, low + width))


def test_window_rejects_bad_input() -> None:
    with pytest.raises(TypeError):
        native.window(np.zeros((2, 2), np.float64), 0, 1)
    with pytest.raises(ValueError):
        native.window(np.zeros((2, 2), np.uint16), 5, 5)
    with pytest.raises(ValueError):
        native.window(np.zeros((2, 2, 2, 2), np.uint16), 0, 5)
    with pytest.raises(TypeError):
        native.window([1, 2], 0, 5)


def test_apply_lut(layouts: Layouts) -> None:
    rng = np.random.default_rng(1)
    lut = rng.integers(0, 256, 300).astype(np.uint8)
    rgba = rng.integers(0, 256, (300, 4)).astype(np.uint8)
    img = rng.integers(0, 400, (6, 7, 8)).astype(np.uint16)
    ref = lut[np.minimum(img, 299)]
    ref_rgba = rgba[np.minimum(img, 299)]
    for name, arr in layouts(img):
        assert np.array_equal(native.apply_lut(arr, lut), ref), name
        assert np.array_equal(native.apply_lut(arr, rgba), ref_rgba), name
    img8 = rng.integers(0, 256, (5, 9)).astype(np.uint8)
    assert np.array_equal(native.apply_lut(img8, rgba[::-1][:256]), rgba[::-1][:256][img8])


def test_apply_lut_rejects_bad_input() -> None:
    img = np.zeros((3, 3), np.uint16)
    with pytest.raises(TypeError):
        native.apply_lut(img.astype(np.float32), np.zeros(4, np.uint8))
    with pytest.raises(TypeError):
        native.apply_lut(img, np.zeros(4, np.uint16))
    with pytest.raises(ValueError):
        native.apply_lut(img, np.zeros((0,), np.uint8))
    with pytest.raises(ValueError):
        native.apply_lut(img, np.zeros((4, 5), np.uint8))
