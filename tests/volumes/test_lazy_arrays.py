"""The lazy wrappers index like numpy and read only the slices a key needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndelab.volumes.readers._lazy import NativeOrder, SliceStack, native
from ndelab.volumes.volume import Volume

DATA = np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4)


def _stack(reads: list[int] | None = None) -> SliceStack:
    def read(z: int) -> np.ndarray:
        if reads is not None:
            reads.append(z)
        plane: np.ndarray = DATA[z]
        return plane

    return SliceStack(DATA.shape, DATA.dtype, read)


def _index(n: int) -> st.SearchStrategy[Any]:
    ints = st.integers(-n, n - 1)
    bounds = st.one_of(st.none(), st.integers(-n - 1, n + 1))
    steps = st.one_of(st.none(), st.integers(1, 3), st.integers(-3, -1))
    return st.one_of(ints, st.builds(slice, bounds, bounds, steps))


@settings(max_examples=200, deadline=None)
@given(st.tuples(_index(6), _index(5), _index(4)), st.integers(1, 3))
def test_slice_stack_indexes_like_numpy(key: tuple[Any, ...], length: int) -> None:
    key = key[:length]
    np.testing.assert_array_equal(_stack()[key], DATA[key])


def test_slice_stack_ellipsis_empty_key_and_bounds() -> None:
    stack = _stack()
    np.testing.assert_array_equal(stack[..., 2], DATA[..., 2])
    np.testing.assert_array_equal(stack[()], DATA)
    np.testing.assert_array_equal(np.asarray(stack), DATA)
    assert stack[2:2].shape == DATA[2:2].shape
    with pytest.raises(IndexError):
        stack[6]
    with pytest.raises(IndexError):
        stack[0, 0, 0, 0]


def test_axial_slice_reads_one_file() -> None:
    reads: list[int] = []
    vol = Volume(data=_stack(reads))
    np.testing.assert_array_equal(vol.slice(0, 3), DATA[3])
    assert reads == [3]
    reads.clear()
    np.testing.assert_array_equal(vol.slice(1, 2), DATA[:, 2, :])
    assert reads == list(range(6))


def test_native_order_wraps_only_foreign_byte_order() -> None:
    big = DATA.astype(">i2")
    wrapped = native(big)
    assert isinstance(wrapped, NativeOrder)
    assert wrapped.dtype == np.dtype("int16") and wrapped.shape == DATA.shape
    np.testing.assert_array_equal(wrapped[1:3, ::2], DATA[1:3, ::2])
    assert wrapped[1].dtype.isnative
    assert native(DATA) is DATA
    u8 = DATA.astype(np.uint8)
    assert native(u8) is u8


def test_release_cached_pages_keeps_voxels_readable(tmp_path: Path) -> None:
    from ndelab.volumes.io import open_volume, release_cached_pages

    path = tmp_path / "v.raw"
    DATA.astype(">i2").tofile(path)
    vol = open_volume(path, shape=DATA.shape, dtype=">i2")
    np.testing.assert_array_equal(vol.slice(0, 2), DATA[2])
    assert release_cached_pages(vol)
    np.testing.assert_array_equal(vol.array(), DATA)
    assert not release_cached_pages(Volume(data=DATA.copy()))
