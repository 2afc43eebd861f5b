"""Region growing from clicks on a slice: the interactive tool when SAM is not available."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.volumes.errors import UsageError

BoolArray = npt.NDArray[np.bool_]


def _nearest(shape: tuple[int, int], centres: list[tuple[int, int]]) -> npt.NDArray[np.float64]:
    """Squared distance from every pixel to the nearest of ``centres``."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    out = np.full(shape, np.inf)
    for r, c in centres:
        out = np.minimum(out, (yy - r) ** 2.0 + (xx - c) ** 2.0)
    return out


NEAR = 32  # pixels around a click that set the background level and bound a bare click


def region_grow_2d(
    image: npt.NDArray[np.generic],
    points: Sequence[Sequence[int]],
    labels: Sequence[int],
    box: Sequence[int] | None = None,
    *,
    k_sigma: float = 2.5,
    max_fraction: float = 0.25,
) -> BoolArray:
    """Grow a region from each positive click (row, col), within the box if one is given.

    Growth is adaptive (native.region_grow: mean ± k_sigma·sigma of the region) and stops
    before it covers ``max_fraction`` of the slice (or leaves the box). A region that reaches
    a negative click is regrown within the pixels nearer a positive click than a negative one (the
    negative click splits a region that intensity alone cannot). Without a positive click
    but with a box, the box centre is the seed.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"region_grow_2d needs a 2D slice, got shape {img.shape}")
    h, w = img.shape
    pts = [(int(p[0]), int(p[1])) for p in points]
    if len(pts) != len(labels):
        raise ValueError("region_grow_2d needs one label per point")
    pos = [p for p, lab in zip(pts, labels, strict=True) if lab == 1]
    neg = [p for p, lab in zip(pts, labels, strict=True) if lab != 1]
    allowed = np.ones((h, w), dtype=bool)
    if box is not None:
        r0, c0, r1, c1 = (int(v) for v in box)
        r0, r1 = sorted((min(max(r0, 0), h - 1), min(max(r1, 0), h - 1)))
        c0, c1 = sorted((min(max(c0, 0), w - 1), min(max(c1, 0), w - 1)))
        allowed[:] = False
        allowed[r0 : r1 + 1, c0 : c1 + 1] = True
        if not pos:
            pos = [((r0 + r1) // 2, (c0 + c1) // 2)]
    pos = [p for p in pos if 0 <= p[0] < h and 0 <= p[1] < w]
    if not pos:
        raise UsageError("region growing needs a positive click or a box inside the slice")
    # A box bounds the region itself; a bare click must not flood the slice: it grows within
    # NEAR pixels of a positive click (a defect bigger than that wants a box).
    if box is None:
        allowed[:] = False
        for r, c in pos:
            allowed[max(0, r - NEAR) : r + NEAR + 1, max(0, c - NEAR) : c + NEAR + 1] = True
    cap = int(np.count_nonzero(allowed)) if box is not None else max(1, int(max_fraction * h * w))
    neg = [p for p in neg if 0 <= p[0] < h and 0 <= p[1] < w]
    neg_mask: BoolArray | None = None
    nearer_pos: BoolArray | None = None
    if neg:
        neg_mask = np.zeros((h, w), dtype=bool)
        neg_mask[tuple(np.array(neg).T)] = True
        nearer_pos = _nearest((h, w), pos) < _nearest((h, w), neg)
    first = _grow(img[None], pos, allowed, k_sigma, cap)
    if neg_mask is None or nearer_pos is None or not (first & neg_mask).any():
        return first
    return _grow(img[None], pos, allowed & nearer_pos, k_sigma, cap)


def _grow(
    vol: npt.NDArray[np.generic],
    seeds: list[tuple[int, int]],
    roi: BoolArray,
    k_sigma: float,
    cap: int,
) -> BoolArray:
    """Grow from each seed through pixels on the seed's side of the half-way level.

    The level is half-way between the seed (median of its 3x3) and its surroundings (median of
    the pixels within NEAR): the classic half-maximum edge, robust where a defect touches both
    metal and air, where mean ± k·sigma statistics straddle the edge and flood the slice.
    k_sigma is kept for callers; it only widens the level when the two are close.
    """
    img = vol[0]
    region = np.zeros(roi.shape, dtype=bool)
    for r, c in seeds:
        if region[r, c] or not roi[r, c]:
            continue
        near = img[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2]
        around = img[max(0, r - NEAR) : r + NEAR + 1, max(0, c - NEAR) : c + NEAR + 1]
        level, background = float(np.median(near)), float(np.median(around))
        if level == background:
            spread = k_sigma * float(np.std(around)) or 1.0
            interval = (level - spread, level + spread)
        else:
            middle = (level + background) / 2.0
            interval = (-np.inf, middle) if level < background else (middle, np.inf)
        grown = native.region_grow(vol, (0, r, c), interval=interval, max_voxels=cap, roi=roi[None])
        region |= grown.mask[0]
    return region
