"""Every kernel answers bad arrays with TypeError or ValueError, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ndelab import native

BAD_ARRAYS = {
    "0d": np.array(True),
    "4d": np.zeros((2, 2, 2, 2), bool),
    "complex": np.zeros((2, 3, 4), np.complex64),
    "object": np.empty((2, 3, 4), object),
    "float16": np.zeros((2, 3, 4), np.float16),
    "list": [[[True]]],
}

Call = Callable[[Any], object]
KERNELS: dict[str, Call] = {
    "window": lambda a: native.window(a, 0, 1),
    "apply_lut": lambda a: native.apply_lut(a, np.arange(4, dtype=np.uint8)),
    "label": lambda a: native.label(a),
    "label_stats": lambda a: native.label_stats(a),
    "label_stats_intensity": lambda a: native.label_stats(np.zeros((2, 3, 4), bool), 26, a),
    "dilate": lambda a: native.dilate(a),
    "erode_box": lambda a: native.erode(a, 1, "box"),
    "fill_holes": lambda a: native.fill_holes(a),
    "edt": lambda a: native.edt(a),
    "resample": lambda a: native.resample_trilinear(a, (2, 2, 2)),
    "reslice": lambda a: native.reslice(a, (0, 0, 0), (0, 0, 1), (0, 1, 0), (2, 2)),
    "region_grow": lambda a: native.region_grow(a, (0, 0, 0), interval=(0, 1)),
    "rle_encode": lambda a: native.rle_encode(a),
    "rle_decode": lambda a: native.rle_decode((0, 0, 0, 1, 1, 1), a),
    "slice_iou": lambda a: native.slice_iou(a, a),
    "extend_volume": lambda a: native.extend_mask_3d(a, np.zeros((3, 4), bool), 0, 0),
    "extend_mask": lambda a: native.extend_mask_3d(np.zeros((2, 3, 4), np.float32), a, 0, 0),
}


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_bad_arrays_raise_clean_errors(kernel: str, bad: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        KERNELS[kernel](BAD_ARRAYS[bad])
    assert str(info.value)  # a message, not a bare exception


def test_empty_arrays_work() -> None:
    empty = np.zeros((0, 3, 4), bool)
    assert native.label(empty)[1] == 0
    assert native.dilate(empty).shape == (0, 3, 4)
    assert native.erode(empty).shape == (0, 3, 4)
    assert native.edt(empty).shape == (0, 3, 4)
    assert native.fill_holes(empty).shape == (0, 3, 4)
    assert native.window(empty.astype(np.uint16), 0, 1).shape == (0, 3, 4)
    assert native.rle_encode(empty)[0] == (0, 0, 0, 0, 0, 0)
    assert native.slice_iou(empty, empty) == 1.0
