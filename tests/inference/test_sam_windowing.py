"""slice_to_rgb is native.window, repeated into three channels."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab import native
from ndelab.inference.sam.windowing import slice_to_rgb, window_key


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_identical_to_native_window(dtype: type) -> None:
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    lo, hi = (int(info.min), int(info.max)) if info else (-2000, 5000)
    img: np.ndarray = rng.integers(lo, hi, size=(37, 53), endpoint=True).astype(dtype)
    low, high = (float(np.percentile(img, 10)), float(np.percentile(img, 90)))
    rgb = slice_to_rgb(img, low, high)
    expected = native.window(img, low, high)
    assert rgb.shape == (37, 53, 3) and rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], expected)


def test_other_dtypes_go_through_float32() -> None:
    img = np.arange(-50, 50, dtype=np.int32).reshape(10, 10)
    rgb = slice_to_rgb(img, -20, 20)
    np.testing.assert_array_equal(rgb[:, :, 0], native.window(img.astype(np.float32), -20, 20))
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 2] == 255


def test_strided_view_and_bad_inputs() -> None:
    img = np.arange(400, dtype=np.uint16).reshape(20, 20)
    np.testing.assert_array_equal(
        slice_to_rgb(img[::2, ::3], 0, 399)[:, :, 1], native.window(img[::2, ::3].copy(), 0, 399)
    )
    with pytest.raises(ValueError, match="2D"):
        slice_to_rgb(img[None], 0, 1)
    with pytest.raises(ValueError, match="low < high"):
        slice_to_rgb(img, 5, 5)
    with pytest.raises(ValueError, match="low < high"):
        window_key(0, float("nan"))
    assert window_key(np.float32(1), 2) == (1.0, 2.0)
