"""Indications on a radiograph as 2D footprints sized in mm: size, area, gaps, envelopes.

A radiograph is a (1, y, x) scan; an indication's footprint is its mask seen along z. Lengths
are at the object: the pixel pitch divided by the geometric magnification. The size of an
indication is its largest dimension (the maximum Feret diameter of its pixel squares), as a
radiographic interpreter measures a pore's diameter or an elongated one's length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import spatial

from ndelab.annotation.mask import SparseMask

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)


@dataclass(frozen=True)
class Footprint:
    """One indication (or several merged into one) on a radiograph.

    ``id`` is the representative call (the largest member), ``ids`` every member call.
    ``pixels`` are (y, x) indices, unique.
    """

    id: str
    ids: tuple[str, ...]
    cls: str
    status: str
    pixels: I64
    pixel_mm: tuple[float, float]
    volume_mm3: float
    mask: SparseMask

    @cached_property
    def _mm(self) -> F64:
        return np.asarray(self.pixel_mm, dtype=np.float64)

    @cached_property
    def area_mm2(self) -> float:
        return float(len(self.pixels)) * float(self._mm.prod())

    @cached_property
    def corners_mm(self) -> F64:
        """Hull vertices of the pixel squares' corners, in mm (y, x)."""
        return hull_vertices(self.pixels, self._mm)

    @cached_property
    def size_mm(self) -> float:
        return diameter(self.corners_mm)

    @cached_property
    def centres_mm(self) -> F64:
        """Pixel centres in mm (y, x)."""
        return np.asarray((self.pixels + 0.5) * self._mm, dtype=np.float64)

    @cached_property
    def centre_mm(self) -> tuple[float, float]:
        c = self.centres_mm.mean(axis=0)
        return (float(c[0]), float(c[1]))

    @cached_property
    def radius_mm(self) -> float:
        """Distance from the centre to the farthest corner: a bound for quick rejections."""
        return float(np.linalg.norm(self.corners_mm - np.asarray(self.centre_mm), axis=1).max())

    @cached_property
    def _tree(self) -> spatial.cKDTree:
        return spatial.cKDTree(self.centres_mm)


def footprint(
    call_id: str,
    cls: str,
    status: str,
    volume_mm3: float,
    mask: SparseMask,
    pixel_mm: tuple[float, float],
) -> Footprint:
    """The footprint of one call's mask (its pixels seen along z)."""
    seen = mask.local().any(axis=0)
    pixels = np.argwhere(seen).astype(np.int64) + np.asarray(mask.start[1:], dtype=np.int64)
    return Footprint(call_id, (call_id,), cls, status, pixels, pixel_mm, volume_mm3, mask)


def hull_vertices(pixels: I64, pixel_mm: F64) -> F64:
    """Corners of the convex hull of pixel squares, in mm (y, x)."""
    corners = np.unique((pixels[:, None, :] + _CORNERS[None, :, :]).reshape(-1, 2), axis=0)
    pts = corners * pixel_mm
    hull = spatial.ConvexHull(pts)
    return np.asarray(pts[hull.vertices], dtype=np.float64)


def diameter(points: F64) -> float:
    """Largest distance between two of the points (hull vertices: few)."""
    d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    return math.sqrt(float(d2.max()))


def polygon_area(vertices: F64) -> float:
    """Area of a convex polygon given its hull vertices (in hull order)."""
    y, x = vertices[:, 0], vertices[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def gap_mm(a: Footprint, b: Footprint) -> float:
    """Edge-to-edge gap between two footprints in mm: the distance between their closest pixel
    centres less one pixel's extent along that line (touching pixels give 0), as
    measure.nearest_neighbour_spacing_mm does in 3D."""
    d, which = b._tree.query(a.centres_mm, k=1)
    i = int(np.argmin(d))
    delta = b.centres_mm[int(which[i])] - a.centres_mm[i]
    length = float(np.linalg.norm(delta))
    if length == 0:
        return 0.0
    extent = float(np.abs(delta / length) @ a._mm)
    return max(0.0, length - extent)


def close_pairs(items: Sequence[Footprint], limit: float) -> list[tuple[int, int, float]]:
    """(i, j, gap) for every pair whose gap is at most ``limit`` mm (all pairs: the calls on
    one radiograph are tens to hundreds; distant pairs are skipped on their centres)."""
    out: list[tuple[int, int, float]] = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = items[i], items[j]
            far = math.dist(a.centre_mm, b.centre_mm) - a.radius_mm - b.radius_mm
            if far > limit:
                continue
            g = gap_mm(a, b)
            if g <= limit:
                out.append((i, j, g))
    return out


def components(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected groups of 0..n-1 joined by the pairs (union-find), each sorted, in order."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return [groups[k] for k in sorted(groups)]


def union(members: Sequence[Footprint]) -> Footprint:
    """One footprint of several, sized as one; the largest member represents it."""
    if len(members) == 1:
        return members[0]
    ordered = sorted(members, key=lambda f: (-f.size_mm, f.id))
    pixels = np.unique(np.concatenate([m.pixels for m in members]), axis=0)
    return Footprint(
        ordered[0].id,
        tuple(i for m in ordered for i in m.ids),
        ordered[0].cls,
        ordered[0].status,
        pixels,
        ordered[0].pixel_mm,
        sum(m.volume_mm3 for m in members),
        union_mask([m.mask for m in members]),
    )


def union_mask(masks: Sequence[SparseMask]) -> SparseMask:
    start = np.min([m.start for m in masks], axis=0)
    stop = np.max([m.stop for m in masks], axis=0)
    out = np.zeros(tuple(int(v) for v in stop - start), dtype=bool)
    for m in masks:
        sl = tuple(
            slice(int(a - s), int(b - s)) for a, b, s in zip(m.start, m.stop, start, strict=True)
        )
        out[sl] |= m.local()
    return SparseMask.from_local(out, tuple(int(v) for v in start))
