"""Lazy voxel arrays for the cases a plain np.memmap or h5py dataset does not cover.

Each class fits ndelab.volumes.volume.VoxelArray: ``shape``, ``dtype`` and ``__getitem__``
that reads only what the key asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.volumes.volume import VoxelArray

ReadSlice = Callable[[int], npt.NDArray[Any]]


def _full_key(key: Any, ndim: int) -> tuple[Any, ...]:
    """A key as a tuple of exactly ``ndim`` entries (Ellipsis expanded, missing axes filled)."""
    parts = key if isinstance(key, tuple) else (key,)
    if any(p is None for p in parts):
        raise IndexError("np.newaxis is not supported on lazy volumes")
    if any(p is Ellipsis for p in parts):
        at = next(i for i, p in enumerate(parts) if p is Ellipsis)
        fill = (slice(None),) * (ndim - len(parts) + 1)
        parts = parts[:at] + fill + parts[at + 1 :]
    if len(parts) > ndim:
        raise IndexError(f"too many indices: {len(parts)} for {ndim} dimensions")
    return parts + (slice(None),) * (ndim - len(parts))


class SliceStack:
    """A (z, y, x) volume whose axial slices are read one at a time by ``read_slice(z)``.

    Used for folders of slice files and compressed multi-page files: an axial slice costs one
    read, a coronal or sagittal slice reads every axial slice but keeps only one row of each.
    """

    def __init__(self, shape: tuple[int, int, int], dtype: npt.DTypeLike, read_slice: ReadSlice):
        self._shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self._dtype: np.dtype[Any] = np.dtype(dtype)
        self._read_slice = read_slice

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def ndim(self) -> int:
        return 3

    def __len__(self) -> int:
        return self._shape[0]

    def _slice(self, z: int) -> npt.NDArray[Any]:
        plane = np.asarray(self._read_slice(z))
        if plane.shape != self._shape[1:]:
            raise ValueError(f"slice {z} has shape {plane.shape}, expected {self._shape[1:]}")
        return plane.astype(self._dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        zkey, *rest = _full_key(key, 3)
        inner = tuple(rest)
        n = self._shape[0]
        if isinstance(zkey, int | np.integer):
            z = int(zkey) + n if zkey < 0 else int(zkey)
            if not 0 <= z < n:
                raise IndexError(f"index {zkey} is out of bounds for axis 0 with size {n}")
            return self._slice(z)[inner]
        zs = np.arange(n)[zkey]
        parts = [self._slice(int(z))[inner] for z in np.atleast_1d(zs)]
        if not parts:
            empty = np.empty(self._shape[1:], self._dtype)[inner]
            return np.empty((0, *np.shape(empty)), self._dtype)
        return np.stack(parts)

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        out = self[:]
        return np.asarray(out, dtype=dtype)


class NativeOrder:
    """Wraps a lazy array of foreign byte order; slices come back in native byte order."""

    def __init__(self, base: VoxelArray):
        self._base = base
        self._dtype: np.dtype[Any] = np.dtype(base.dtype).newbyteorder("=")

    @property
    def base(self) -> VoxelArray:
        return self._base

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self._base.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        return np.asarray(self._base[key]).astype(self._dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        return np.asarray(self[()], dtype=dtype)


def native(array: VoxelArray) -> VoxelArray:
    """``array`` itself when its byte order is native, else a lazy converting view."""
    dt = np.dtype(array.dtype)
    if dt.byteorder in ("=", "|") or dt.isnative:
        return array
    return NativeOrder(array)
