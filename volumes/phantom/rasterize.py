"""Small shapes drawn into their own bounding box, never into the whole volume.

Every function returns a :class:`LocalMask`: a boolean array and the global index of its
first voxel. A voxel belongs to a shape when its centre lies inside the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_FULL3 = np.ones((3, 3, 3), dtype=bool)


@dataclass
class LocalMask:
    """A shape's voxels in its bounding box; ``offset`` is the box's first voxel (z, y, x)."""

    offset: tuple[int, int, int]
    mask: BoolArray

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))

    def cropped(self) -> LocalMask:
        """The same voxels in the tightest box (empty masks stay as they are)."""
        if not self.mask.any():
            return self
        lo, hi = [], []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            hit = np.flatnonzero(self.mask.any(axis=other))
            lo.append(int(hit[0]))
            hi.append(int(hit[-1]) + 1)
        sl = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        off = tuple(o + a for o, a in zip(self.offset, lo, strict=True))
        return LocalMask((off[0], off[1], off[2]), self.mask[sl])

    def largest_component(self) -> LocalMask:
        """Only the largest 26-connected piece, so each defect is one object."""
        lab, n = ndimage.label(self.mask, structure=_FULL3)
        if n <= 1:
            return self
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        return LocalMask(self.offset, lab == int(np.argmax(sizes)))


def random_rotation(rng: np.random.Generator) -> FloatArray:
    """A uniformly random 3x3 rotation (from a random unit quaternion)."""
    w, x, y, z = rng.normal(size=4) / 1.0
    n = float(np.sqrt(w * w + x * x + y * y + z * z)) or 1.0
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _grid(
    center: Sequence[float] | FloatArray, half: float
) -> tuple[tuple[int, int, int], FloatArray, FloatArray, FloatArray]:
    """Voxel-centre offsets from ``center`` over a cube of half-size ``half`` around it."""
    lo = [int(np.floor(c - half)) for c in center]
    hi = [int(np.ceil(c + half)) + 1 for c in center]
    dz, dy, dx = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    return (
        (lo[0], lo[1], lo[2]),
        dz.astype(np.float64) - center[0],
        dy.astype(np.float64) - center[1],
        dx.astype(np.float64) - center[2],
    )


def _nearest_voxel(
    center: Sequence[float] | FloatArray, offset: Sequence[int], shape: Sequence[int]
) -> BoolArray:
    mask = np.zeros(tuple(shape), dtype=bool)
    idx = tuple(
        min(max(round(c) - o, 0), s - 1) for c, o, s in zip(center, offset, shape, strict=True)
    )
    mask[idx] = True
    return mask


def ellipsoid(
    center: Sequence[float] | FloatArray,
    semi_axes: Sequence[float] | FloatArray,
    rotation: FloatArray | None = None,
) -> LocalMask:
    """A (rotated) ellipsoid; never empty: a sub-voxel one keeps its nearest voxel."""
    a = np.maximum(np.asarray(semi_axes, dtype=np.float64), 1e-3)
    rot = np.eye(3) if rotation is None else rotation
    offset, dz, dy, dx = _grid(center, float(a.max()) + 1.0)
    acc: FloatArray | None = None
    for i in range(3):  # columns of rot are the ellipsoid's axes in (z, y, x)
        q = (rot[0, i] * dz + rot[1, i] * dy + rot[2, i] * dx) / a[i]
        acc = q * q if acc is None else acc + q * q
    assert acc is not None
    mask = acc <= 1.0
    if not mask.any():
        mask = _nearest_voxel(center, offset, mask.shape)
    return LocalMask(offset, mask).cropped()


def union(parts: Sequence[LocalMask]) -> LocalMask:
    """Several local masks merged into one box."""
    lo = np.min([p.offset for p in parts], axis=0)
    hi = np.max([np.add(p.offset, p.mask.shape) for p in parts], axis=0)
    out = np.zeros(tuple(int(v) for v in hi - lo), dtype=bool)
    for p in parts:
        s = tuple(
            slice(int(o - b), int(o - b) + n)
            for o, b, n in zip(p.offset, lo, p.mask.shape, strict=True)
        )
        out[s] |= p.mask
    return LocalMask((int(lo[0]), int(lo[1]), int(lo[2])), out).cropped()


def sheet(
    center: Sequence[float] | FloatArray,
    frame: FloatArray,
    half_length: float,
    half_width: float,
    thickness: float,
    *,
    curvature: float = 0.0,
    wave_amp: float = 0.0,
    wave_freq: float = 0.0,
    wave_phase: float = 0.0,
) -> LocalMask:
    """A crack: a thin elliptical sheet, optionally bent and wavy, thinning towards its tips.

    ``frame`` columns are (u, v, n) in (z, y, x): u along the length, v along the width, n the
    sheet normal. ``curvature`` is the bow at the tips along n, in voxels.
    """
    reach = max(half_length, half_width) + abs(curvature) + wave_amp + thickness + 1.0
    offset, dz, dy, dx = _grid(center, reach)
    u = frame[0, 0] * dz + frame[1, 0] * dy + frame[2, 0] * dx
    v = frame[0, 1] * dz + frame[1, 1] * dy + frame[2, 1] * dx
    n = frame[0, 2] * dz + frame[1, 2] * dy + frame[2, 2] * dx
    rho2 = (u / half_length) ** 2 + (v / half_width) ** 2
    mid = curvature * (u / half_length) ** 2 + wave_amp * np.sin(wave_freq * u + wave_phase)
    # Half-opening shrinks towards the tip but stays >= 0.5 voxel so the sheet stays connected.
    half_open = np.maximum(0.5 * thickness * np.sqrt(np.clip(1.0 - rho2, 0.0, 1.0)), 0.5)
    mask = (rho2 <= 1.0) & (np.abs(n - mid) <= half_open)
    if not mask.any():
        mask = _nearest_voxel(center, offset, mask.shape)
    return LocalMask(offset, mask).cropped().largest_component().cropped()
