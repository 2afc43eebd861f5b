"""Is a call at the same place as another: the criteria of inference.evaluation.match_calls
(a call hits a defect when its mask overlaps the defect's voxels or its centroid falls inside
the defect), on sparse masks, for the review core. annotation cannot import inference, so the
rule is written once more here on SparseMask; a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ndelab.annotation.mask import SparseMask


def overlap_voxels(a: SparseMask, b: SparseMask) -> int:
    """How many voxels the two masks share (boxes first, voxels only where they meet)."""
    lo = tuple(max(p, q) for p, q in zip(a.start, b.start, strict=True))
    hi = tuple(min(p, q) for p, q in zip(a.stop, b.stop, strict=True))
    if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
        return 0

    def crop(m: SparseMask) -> np.ndarray:
        return m.local()[
            tuple(slice(s - o, e - o) for s, e, o in zip(lo, hi, m.start, strict=True))
        ]

    return int(np.count_nonzero(crop(a) & crop(b)))


def centroid_voxel(mask: SparseMask) -> tuple[int, int, int]:
    """The mask's centroid rounded to a voxel index (as evaluation rounds a call's centroid)."""
    idx = mask.indices()
    if not len(idx):
        return (-1, -1, -1)
    c = idx.mean(axis=0)
    return (round(float(c[0])), round(float(c[1])), round(float(c[2])))


def contains(mask: SparseMask, voxel: tuple[int, int, int]) -> bool:
    if not all(s <= v < e for v, s, e in zip(voxel, mask.start, mask.stop, strict=True)):
        return False
    local = tuple(v - s for v, s in zip(voxel, mask.start, strict=True))
    return bool(mask.local()[local])


def hit_strength(call: SparseMask, target: SparseMask) -> int:
    """0 when ``call`` does not hit ``target``; else the shared voxels (at least 1 when only
    the call's centroid lies inside the target), so the largest overlap can win."""
    shared = overlap_voxels(call, target)
    if shared:
        return shared
    return 1 if contains(target, centroid_voxel(call)) else 0


def best_target(call: SparseMask, targets: Sequence[SparseMask]) -> int | None:
    """Index of the target the call hits with the largest overlap, or None."""
    best, strength = None, 0
    for i, t in enumerate(targets):
        s = hit_strength(call, t)
        if s > strength:
            best, strength = i, s
    return best


def hits_any(call: SparseMask, targets: Sequence[SparseMask]) -> list[int]:
    """Indices of every target the call hits."""
    return [i for i, t in enumerate(targets) if hit_strength(call, t)]
