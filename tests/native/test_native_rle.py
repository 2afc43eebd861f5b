"""Run-length code of masks inside their bounding box."""

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


def test_format_is_documented_alternation() -> None:
    mask = np.zeros((4, 5, 6), bool)
    mask[1, 2, 3:5] = True
    mask[2, 3, 2] = True
    bbox, runs = native.rle_encode(mask)
    assert bbox == (1, 2, 2, 3, 4, 5)
    # crop (2, 2, 3) in C order: row(1,2)=[0,1,1], row(1,3)=[0,0,0], row(2,2)=0s, row(2,3)=[1,0,0]
    assert runs.dtype == np.uint32
    assert runs.tolist() == [1, 2, 6, 1]
    assert native.rle_decode(bbox, runs).shape == (2, 2, 3)


def test_empty_mask() -> None:
    bbox, runs = native.rle_encode(np.zeros((3, 4, 5), bool))
    assert bbox == (0, 0, 0, 0, 0, 0) and runs.size == 0
    assert not native.rle_decode(bbox, runs, (3, 4, 5)).any()


def test_roundtrip_layouts(layouts: Layouts) -> None:
    rng = np.random.default_rng(0)
    mask = np.zeros((30, 31, 32), bool)
    mask[5:20, 3:30, 10:12] = rng.random((15, 27, 2)) < 0.7
    for name, arr in layouts(mask):
        bbox, runs = native.rle_encode(arr)
        assert np.array_equal(native.rle_decode(bbox, runs, mask.shape), mask), name


@settings(max_examples=80, deadline=None)
@given(
    mask=hnp.arrays(
        dtype=st.sampled_from([np.bool_, np.uint8]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
        elements=st.integers(0, 1),
    )
)
def test_roundtrip_property(mask: npt.NDArray[np.generic]) -> None:
    bbox, runs = native.rle_encode(mask)
    nd = mask.ndim
    assert len(bbox) == 2 * nd and runs.size % 2 == 0
    assert int(runs[1::2].sum()) == int(np.count_nonzero(mask))
    assert np.array_equal(native.rle_decode(bbox, runs, mask.shape), mask.astype(bool))
    if mask.any():
        crop = mask[tuple(slice(bbox[a], bbox[nd + a]) for a in range(nd))]
        assert np.array_equal(native.rle_decode(bbox, runs), crop.astype(bool))


def test_decode_rejects_bad_input() -> None:
    runs = np.array([0, 5], np.uint32)
    with pytest.raises(ValueError):
        native.rle_decode((0, 0, 2, 2), runs)  # 4 voxels, runs cover 5
    with pytest.raises(ValueError):
        native.rle_decode((0, 0, 0, 2, 2, 2), np.array([1], np.uint32))
    with pytest.raises(ValueError):
        native.rle_decode((0, 0, 0, 2, 2, 2), runs, (1, 2, 2))
    with pytest.raises(ValueError):
        native.rle_decode((2, 0, 0, 1, 2, 2), runs)
    with pytest.raises(TypeError):
        native.rle_decode((0, 0, 0, 2, 2, 2), runs.astype(np.float32))
    with pytest.raises(ValueError):
        native.rle_decode((0, 0, 0, 2, 2, 2), np.array([-1, 2], np.int64))
    with pytest.raises(TypeError):
        native.rle_encode(np.zeros((2, 2), np.int32))
