"""Mask editing tools: brush, eraser, sphere brush, threshold-in-box, region growing, polygon.

Each tool works in a box around what it touches and returns a new SparseMask (or None when
nothing is left), never a whole-scan array. The volume is read only inside that box, so the
tools work on lazy volumes larger than memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.volumes.volume import Volume

Index3 = tuple[int, int, int]
Box = tuple[Index3, Index3]  # start, stop (exclusive)

GROW_HALF_EXTENT = 48  # voxels around the seed that region growing may reach


def _clip_box(start: Sequence[int], stop: Sequence[int], shape: Sequence[int]) -> Box:
    lo = tuple(max(0, int(a)) for a in start)
    hi = tuple(min(int(n), int(b)) for b, n in zip(stop, shape, strict=True))
    if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
        raise ReviewError("the edit lies outside the scan")
    return lo, hi  # type: ignore[return-value]


def _combine(
    current: SparseMask | None, edit: npt.NDArray[np.bool_], box: Box, erase: bool
) -> SparseMask | None:
    """Add (or take away) ``edit`` placed at ``box`` to the current mask; None if empty."""
    start, stop = box
    if current is not None:
        lo = tuple(min(a, b) for a, b in zip(current.start, start, strict=True))
        hi = tuple(max(a, b) for a, b in zip(current.stop, stop, strict=True))
        canvas = current.within(lo, hi)  # type: ignore[arg-type]
    else:
        lo, hi = start, stop
        canvas = np.zeros(tuple(b - a for a, b in zip(lo, hi, strict=True)), bool)
    rel = tuple(slice(s - o, t - o) for s, t, o in zip(start, stop, lo, strict=True))
    if erase:
        canvas[rel] &= ~edit
    else:
        canvas[rel] |= edit
    if not canvas.any():
        return None
    return SparseMask.from_local(canvas, lo)


def _plane_box(
    axis: int, index: int, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[Index3, Index3]:
    start, stop = [0, 0, 0], [0, 0, 0]
    others = [a for a in range(3) if a != axis]
    start[axis], stop[axis] = index, index + 1
    start[others[0]], stop[others[0]] = rows
    start[others[1]], stop[others[1]] = cols
    return (start[0], start[1], start[2]), (stop[0], stop[1], stop[2])


def _as_plane(edit2d: npt.NDArray[np.bool_], axis: int) -> npt.NDArray[np.bool_]:
    return np.expand_dims(edit2d, axis)


def brush(
    current: SparseMask | None,
    shape: Sequence[int],
    axis: int,
    index: int,
    centre_rc: tuple[float, float],
    radius: float,
    *,
    erase: bool = False,
) -> SparseMask | None:
    """A disc of ``radius`` voxels on slice ``index`` normal to ``axis`` (2D brush or eraser)."""
    r = max(0.5, float(radius))
    cr, cc = centre_rc
    rows = (int(np.floor(cr - r)), int(np.ceil(cr + r)) + 1)
    cols = (int(np.floor(cc - r)), int(np.ceil(cc + r)) + 1)
    start, stop = _clip_box(*_plane_box(axis, index, rows, cols), shape)
    others = [a for a in range(3) if a != axis]
    rr = np.arange(start[others[0]], stop[others[0]])[:, None]
    cc_ = np.arange(start[others[1]], stop[others[1]])[None, :]
    disc = (rr - cr) ** 2 + (cc_ - cc) ** 2 <= r * r
    return _combine(current, _as_plane(disc, axis), (start, stop), erase)


def sphere(
    current: SparseMask | None,
    shape: Sequence[int],
    centre_zyx: Sequence[float],
    radius_mm: float,
    spacing_mm: Sequence[float],
    *,
    erase: bool = False,
) -> SparseMask | None:
    """A ball of ``radius_mm`` (anisotropic voxels) around a point: the 3D brush."""
    half = [radius_mm / s for s in spacing_mm]
    start = [int(np.floor(c - h)) for c, h in zip(centre_zyx, half, strict=True)]
    stop = [int(np.ceil(c + h)) + 1 for c, h in zip(centre_zyx, half, strict=True)]
    lo, hi = _clip_box(start, stop, shape)
    grids = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    dist2 = sum(((g - c) * s) ** 2 for g, c, s in zip(grids, centre_zyx, spacing_mm, strict=True))
    return _combine(current, np.asarray(dist2 <= radius_mm**2), (lo, hi), erase)


def threshold_in_box(
    volume: Volume, box: Sequence[int], low: float, high: float, current: SparseMask | None = None
) -> SparseMask | None:
    """Voxels of the box (z0, y0, x0, z1, y1, x1) whose value lies in [low, high]."""
    lo, hi = _clip_box(box[:3], box[3:], volume.shape)
    crop = np.asarray(volume.data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]])
    inside = (crop >= low) & (crop <= high)
    if not inside.any():
        raise ReviewError(f"no voxel in the box lies between {low:g} and {high:g}")
    return _combine(current, inside, (lo, hi), erase=False)


def grow(
    volume: Volume,
    seed_zyx: Sequence[int],
    *,
    interval: tuple[float, float] | None = None,
    max_voxels: int = 200_000,
    current: SparseMask | None = None,
) -> SparseMask | None:
    """Seeded 3D region growing (native) in a box around the seed.

    Without an ``interval`` the threshold is half-way between the seed's level (median of its
    3x3x3 neighbourhood) and the surroundings' (median of the box): the classic half-maximum
    edge, which holds for dark pores and bright inclusions alike, whatever the noise.
    """
    seed = [round(v) for v in seed_zyx]
    lo, hi = _clip_box(
        [s - GROW_HALF_EXTENT for s in seed], [s + GROW_HALF_EXTENT + 1 for s in seed], volume.shape
    )
    crop = np.ascontiguousarray(volume.data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]])
    if crop.dtype.type not in (np.uint8, np.uint16, np.int16, np.float32):
        crop = crop.astype(np.float32)
    local_seed = [s - o for s, o in zip(seed, lo, strict=True)]
    if interval is None:
        near = crop[tuple(slice(max(0, c - 1), c + 2) for c in local_seed)]
        level, background = float(np.median(near)), float(np.median(crop))
        if level == background:
            raise ReviewError("the seed does not differ from its surroundings: nothing to grow")
        middle = (level + background) / 2.0
        interval = (-np.inf, middle) if level < background else (middle, np.inf)
    result = native.region_grow(
        crop, local_seed, interval=interval, max_voxels=max_voxels, connectivity=6
    )
    region = np.asarray(result.mask, bool)
    if not region.any():
        raise ReviewError("region growing found nothing at that point")
    return _combine(current, region, (lo, hi), erase=False)


def polygon(
    current: SparseMask | None,
    shape: Sequence[int],
    axis: int,
    index: int,
    vertices_rc: Sequence[tuple[float, float]],
    *,
    erase: bool = False,
) -> SparseMask | None:
    """A filled polygon (vertices in slice row, column) on slice ``index`` normal to ``axis``."""
    if len(vertices_rc) < 3:
        raise ReviewError("a polygon needs at least three points")
    pts = np.asarray(vertices_rc, np.float64)
    rows = (int(np.floor(pts[:, 0].min())), int(np.ceil(pts[:, 0].max())) + 1)
    cols = (int(np.floor(pts[:, 1].min())), int(np.ceil(pts[:, 1].max())) + 1)
    start, stop = _clip_box(*_plane_box(axis, index, rows, cols), shape)
    others = [a for a in range(3) if a != axis]
    h, w = stop[others[0]] - start[others[0]], stop[others[1]] - start[others[1]]
    canvas = np.zeros((h, w), np.uint8)
    local = np.round(pts[:, ::-1] - (start[others[1]], start[others[0]])).astype(np.int32)  # x, y
    cv2.fillPoly(canvas, [local], 1)
    return _combine(current, _as_plane(canvas.astype(bool), axis), (start, stop), erase)
