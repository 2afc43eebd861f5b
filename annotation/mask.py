"""Sparse indication masks: a bounding box plus the run-length code of the mask inside it.

Whole label volumes never exist here; an edit is stored as a MaskDelta, the XOR of the old
and new masks over the union of their boxes, so undo and redo apply the same delta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.annotation import rle

Index3 = tuple[int, int, int]


def _tight(mask: npt.NDArray[np.bool_]) -> tuple[Index3, Index3] | None:
    """Start and stop of the smallest box holding every True voxel, or None when empty."""
    spans: list[tuple[int, int]] = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        if hit.size == 0:
            return None
        spans.append((int(hit[0]), int(hit[-1]) + 1))
    start = (spans[0][0], spans[1][0], spans[2][0])
    stop = (spans[0][1], spans[1][1], spans[2][1])
    return start, stop


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
        local: npt.NDArray[np.bool_] = rle.decode(self.code, self.shape)
        return local

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
        """Crop a dense mask placed at ``start`` to its tight box; ValueError when it is empty."""
        arr = np.asarray(mask, dtype=bool)
        if arr.ndim != 3:
            raise ValueError(f"an indication mask must be 3-D (z, y, x), not {arr.ndim}-D")
        tight = _tight(arr)
        if tight is None:
            raise ValueError("an indication mask must have at least one voxel set")
        lo, hi = tight
        crop = arr[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        origin = (int(start[0]) + lo[0], int(start[1]) + lo[1], int(start[2]) + lo[2])
        shape = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
        return cls(origin, shape, rle.encode(crop))

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
    Its size follows the union box of the two masks, never the scan.
    """

    start: Index3
    shape: Index3
    code: bytes

    @classmethod
    def between(cls, old: SparseMask, new: SparseMask) -> MaskDelta:
        lo, hi = old.union_box(new)
        flips = old.within(lo, hi) ^ new.within(lo, hi)
        shape = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
        return cls(lo, shape, rle.encode(flips))

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
        box[rel] ^= rle.decode(self.code, self.shape)
        return SparseMask.from_local(box, lo)

    @property
    def nbytes(self) -> int:
        return len(self.code)
