"""Sparse indication masks: a bounding box plus the run-length code of the mask inside it.

Whole label volumes never exist here; an edit is stored as a MaskDelta, the XOR of the old
and new masks over the union of their boxes, so undo and redo apply the same delta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.annotation import rle

Index3 = tuple[int, int, int]


def _encode(mask: npt.NDArray[np.bool_]) -> tuple[tuple[Index3, Index3] | None, bytes]:
    """Tight box (start, stop) of a 3-D mask, or None when empty, and the code of the crop."""
    bbox, runs = native.rle_encode(mask)
    if not runs.size:
        return None, rle.pack(np.zeros(0, np.uint64))
    return ((bbox[0], bbox[1], bbox[2]), (bbox[3], bbox[4], bbox[5])), rle.pack(runs)


def _decode(code: bytes, shape: Index3) -> npt.NDArray[np.bool_]:
    """The crop of ``shape`` that ``code`` describes (native decoder)."""
    size = shape[0] * shape[1] * shape[2]
    runs = rle.unpack(code, size)
    if runs.size and int(runs.max()) > np.iinfo(np.uint32).max:
        return rle.decode(code, shape)  # runs beyond the native uint32 range
    return native.rle_decode((0, 0, 0, *shape), runs.astype(np.uint32))


@dataclass(frozen=True)
class SparseMask:
    """A binary mask in scan voxel coordinates: box ``start`` (z, y, x), box ``shape``, code."""

    start: Index3
    shape: Index3
    code: bytes

    @property
    def stop(self) -> Index3:
        return (
            self.start[0] + self.shape[0],
            self.start[1] + self.shape[1],
            self.start[2] + self.shape[2],
        )

    @property
    def bbox(self) -> tuple[int, int, int, int, int, int]:
        """(z0, y0, x0, z1, y1, x1), stops exclusive."""
        return (*self.start, *self.stop)

    @property
    def voxel_count(self) -> int:
        return rle.foreground_count(self.code)

    def local(self) -> npt.NDArray[np.bool_]:
        """The mask inside its box, shape ``self.shape``."""
        return _decode(self.code, self.shape)

    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop, strict=True))  # type: ignore[return-value]

    def indices(self) -> npt.NDArray[np.int64]:
        """(N, 3) voxel indices of the foreground, in scan coordinates."""
        return np.argwhere(self.local()).astype(np.int64) + np.asarray(self.start, np.int64)

    def paste(self, into: npt.NDArray[np.generic], value: int | bool = True) -> None:
        """Write ``value`` into ``into`` wherever this mask is set (``into`` is a scan array)."""
        view = into[self.slices()]
        view[self.local()] = value

    @classmethod
    def from_local(cls, mask: npt.ArrayLike, start: tuple[int, ...] = (0, 0, 0)) -> SparseMask:
        """Crop a dense mask placed at ``start`` to its tight box; ValueError when it is empty.

        One pass of the native codec finds the box and the runs inside it.
        """
        arr = np.asarray(mask, dtype=bool)
        if arr.ndim != 3:
            raise ValueError(f"an indication mask must be 3-D (z, y, x), not {arr.ndim}-D")
        box, runs = _encode(arr)
        if box is None:
            raise ValueError("an indication mask must have at least one voxel set")
        lo, hi = box
        origin = (int(start[0]) + lo[0], int(start[1]) + lo[1], int(start[2]) + lo[2])
        return cls(origin, (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]), runs)

    def union_box(self, other: SparseMask) -> tuple[Index3, Index3]:
        lo = tuple(min(a, b) for a, b in zip(self.start, other.start, strict=True))
        hi = tuple(max(a, b) for a, b in zip(self.stop, other.stop, strict=True))
        return lo, hi  # type: ignore[return-value]

    def within(self, start: Index3, stop: Index3) -> npt.NDArray[np.bool_]:
        """This mask drawn into the box [start, stop) (which must contain it)."""
        out = np.zeros(tuple(b - a for a, b in zip(start, stop, strict=True)), bool)
        rel = tuple(
            slice(s - o, s - o + n) for s, o, n in zip(self.start, start, self.shape, strict=True)
        )
        out[rel] = self.local()
        return out

    def same_as(self, other: SparseMask) -> bool:
        return self.start == other.start and self.shape == other.shape and self.code == other.code


@dataclass(frozen=True)
class MaskDelta:
    """Voxels that flip between two masks: XOR over the union box, run-length coded.

    Applying the delta to either mask gives the other, so one delta serves undo and redo.
    Its box is the tight box of the flipped voxels, never the scan.
    """

    start: Index3
    shape: Index3
    code: bytes

    @classmethod
    def between(cls, old: SparseMask, new: SparseMask) -> MaskDelta:
        lo, hi = old.union_box(new)
        box, code = _encode(old.within(lo, hi) ^ new.within(lo, hi))
        if box is None:  # the masks are equal
            return cls(lo, (0, 0, 0), rle.pack(np.zeros(0, np.uint64)))
        a, b = box
        start = (lo[0] + a[0], lo[1] + a[1], lo[2] + a[2])
        return cls(start, (b[0] - a[0], b[1] - a[1], b[2] - a[2]), code)

    def apply(self, mask: SparseMask) -> SparseMask:
        stop = (
            self.start[0] + self.shape[0],
            self.start[1] + self.shape[1],
            self.start[2] + self.shape[2],
        )
        lo = tuple(min(a, b) for a, b in zip(mask.start, self.start, strict=True))
        hi = tuple(max(a, b) for a, b in zip(mask.stop, stop, strict=True))
        box = mask.within(lo, hi)  # type: ignore[arg-type]
        rel = tuple(
            slice(s - o, s - o + n) for s, o, n in zip(self.start, lo, self.shape, strict=True)
        )
        if 0 not in self.shape:
            box[rel] ^= _decode(self.code, self.shape)
        return SparseMask.from_local(box, lo)

    @property
    def nbytes(self) -> int:
        return len(self.code)
