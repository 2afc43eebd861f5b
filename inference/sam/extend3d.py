"""3D from one click: a 2D mask seeds the native slice-by-slice extension, and (optionally) SAM
on the two central orthogonal slices checks the result.

Works on a crop around the mask, so a multi-GB lazy volume is read only where it matters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ndelab import native

BoolArray = npt.NDArray[np.bool_]
Box = tuple[int, int, int, int]  # (row0, col0, row1, col1), inclusive, in slice pixels
# seg2d(axis, index, points (row, col), labels, box) -> slice-sized mask
Segment2D = Callable[[int, int, list[tuple[int, int]], list[int], Box], BoolArray]
Rule = Literal["intersect", "union"]


@dataclass(frozen=True)
class Mask3D:
    """A 3D mask as a crop of the volume: ``mask`` sits at voxel ``offset`` (z, y, x)."""

    offset: tuple[int, int, int]
    mask: BoolArray

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def bbox(self) -> tuple[int, int, int, int, int, int]:
        """(z0, y0, x0, z1, y1, x1), highs exclusive, of the crop."""
        z, y, x = self.offset
        d, h, w = self.mask.shape
        return (z, y, x, z + d, y + h, x + w)

    def full(self, shape: Sequence[int]) -> BoolArray:
        out = np.zeros(tuple(shape), dtype=bool)
        z0, y0, x0, z1, y1, x1 = self.bbox
        out[z0:z1, y0:y1, x0:x1] = self.mask
        return out

    def tight(self) -> Mask3D:
        """The same mask cropped to its own bounding box (an empty mask keeps a 0-size crop)."""
        if not self.mask.any():
            return Mask3D(self.offset, np.zeros((0, 0, 0), dtype=bool))
        idx = [
            np.flatnonzero(self.mask.any(axis=tuple(a for a in range(3) if a != k)))
            for k in range(3)
        ]
        lo = [int(i[0]) for i in idx]
        hi = [int(i[-1]) + 1 for i in idx]
        crop = self.mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        off = (self.offset[0] + lo[0], self.offset[1] + lo[1], self.offset[2] + lo[2])
        return Mask3D(off, np.ascontiguousarray(crop))

    def centroid(self) -> tuple[float, float, float]:
        pts = np.argwhere(self.mask)
        c = pts.mean(axis=0) + np.asarray(self.offset)
        return (float(c[0]), float(c[1]), float(c[2]))


def _plane_axes(axis: int) -> tuple[int, int]:
    return tuple(a for a in range(3) if a != axis)  # type: ignore[return-value]


def extend_from_slice(
    data: Any,
    mask2d: npt.NDArray[np.generic],
    axis: int,
    index: int,
    *,
    k_sigma: float = 2.0,
    max_extent: int = 32,
    min_iou: float = 0.3,
    grow: int = 2,
) -> Mask3D:
    """Extend a slice mask (on slice ``index`` across ``axis``) into 3D with native.extend_mask_3d.

    The extension keeps voxels within the 2D mask's mean ± k_sigma·sigma, at most ``grow``
    pixels beyond the previous slice, up to ``max_extent`` slices each way (see
    native.extend_mask_3d). Only a crop that growth can reach is read from ``data``.
    """
    m2 = np.asarray(mask2d).astype(bool, copy=False)
    shape = tuple(int(s) for s in data.shape)
    pa, pb = _plane_axes(axis)
    if m2.shape != (shape[pa], shape[pb]):
        raise ValueError(f"mask of shape {m2.shape} does not fit slice {index} across axis {axis}")
    if not m2.any():
        raise ValueError("the slice mask is empty: nothing to extend")
    rows = np.flatnonzero(m2.any(axis=1))
    cols = np.flatnonzero(m2.any(axis=0))
    reach = grow * max_extent  # the farthest the mask can spread in-plane
    lo = [0, 0, 0]
    hi = list(shape)
    lo[axis], hi[axis] = max(0, index - max_extent), min(shape[axis], index + max_extent + 1)
    lo[pa], hi[pa] = max(0, int(rows[0]) - reach), min(shape[pa], int(rows[-1]) + 1 + reach)
    lo[pb], hi[pb] = max(0, int(cols[0]) - reach), min(shape[pb], int(cols[-1]) + 1 + reach)
    crop = np.asarray(data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]])
    seed = np.ascontiguousarray(m2[lo[pa] : hi[pa], lo[pb] : hi[pb]])
    grown = native.extend_mask_3d(
        crop,
        seed,
        axis,
        index - lo[axis],
        k_sigma=k_sigma,
        max_extent=max_extent,
        min_iou=min_iou,
        grow=grow,
    )
    return Mask3D((lo[0], lo[1], lo[2]), grown).tight()


@dataclass
class Refinement:
    """What orthogonal SAM did: the refined mask and, per axis tried, what happened."""

    mask: Mask3D
    notes: dict[int, str] = field(default_factory=dict)

    @property
    def used_axes(self) -> list[int]:
        return [a for a, note in self.notes.items() if note.startswith("applied")]


def refine_orthogonal(
    mask: Mask3D,
    clicked_axis: int,
    seg2d: Segment2D,
    *,
    rule: Rule = "intersect",
    min_iou: float = 0.5,
    margin: int = 2,
) -> Refinement:
    """Check a grown 3D mask with SAM on the two central slices orthogonal to the clicked one.

    On each such slice (through the mask's centroid), SAM is prompted with the mask's
    cross-section: a click on its pixel nearest the centroid and its bounding box (+margin).
    If SAM's mask agrees (IoU with the cross-section >= ``min_iou``), ``intersect`` trims the
    3D mask to SAM's silhouette (dilated by ``margin``) extruded across that slice, which cuts
    region-growing leaks along the clicked axis; ``union`` adds SAM's pixels on that slice
    (inside the crop). A disagreeing SAM mask is ignored and noted, never applied silently.
    """
    result = mask.tight()
    notes: dict[int, str] = {}
    if result.voxel_count == 0:
        return Refinement(result, notes)
    centre = result.centroid()
    for a in _plane_axes(clicked_axis):
        m = result.mask
        pa, pb = _plane_axes(a)
        k = round(centre[a]) - result.offset[a]
        k = min(max(k, 0), m.shape[a] - 1)
        cs = np.take(m, k, axis=a)  # (crop rows along pa, crop cols along pb)
        if not cs.any():
            notes[a] = "skipped: empty cross-section"
            continue
        pts = np.argwhere(cs)
        want = np.array([centre[pa] - result.offset[pa], centre[pb] - result.offset[pb]])
        r, c = pts[int(np.argmin(((pts - want) ** 2).sum(axis=1)))]
        r0, c0 = pts.min(axis=0)
        r1, c1 = pts.max(axis=0)
        oa, ob = result.offset[pa], result.offset[pb]
        box = (
            max(0, int(r0) + oa - margin),
            max(0, int(c0) + ob - margin),
            int(r1) + oa + margin,
            int(c1) + ob + margin,
        )
        sam = seg2d(a, int(k + result.offset[a]), [(int(r) + oa, int(c) + ob)], [1], box)
        sam_crop = np.ascontiguousarray(sam[oa : oa + cs.shape[0], ob : ob + cs.shape[1]])
        iou = native.slice_iou(sam_crop, cs)
        if iou < min_iou:
            notes[a] = f"ignored: SAM disagrees with the grown cross-section (IoU {iou:.2f})"
            continue
        if rule == "intersect":
            keep = (
                native.dilate(sam_crop[None], (0, margin, margin), "box")[0] if margin else sam_crop
            )
            new = m & np.expand_dims(keep, axis=a)
        else:
            new = m.copy()
            sl: list[Any] = [slice(None)] * 3
            sl[a] = k
            new[tuple(sl)] |= sam_crop
        result = Mask3D(result.offset, new)
        notes[a] = f"applied ({rule}, IoU {iou:.2f})"
    return Refinement(result.tight(), notes)
