"""Drawing a tool's preview into a slice: one code over the overlay, whatever the tool."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ndelab.annotation import SparseMask
from ndelab.app.editing.tool import Point, in_plane

PREVIEW_CODE = 9


def blank(plane: tuple[int, int]) -> npt.NDArray[np.uint8]:
    return np.zeros(plane, np.uint8)


def mask_on_slice(
    mask: SparseMask, axis: int, index: int, plane: tuple[int, int]
) -> npt.NDArray[np.uint8] | None:
    """The part of ``mask`` on slice ``index`` (None when the mask does not cross it)."""
    b = mask.bbox
    if not b[axis] <= index < b[axis + 3]:
        return None
    out = blank(plane)
    local = np.take(mask.local(), index - b[axis], axis=axis)
    rows, cols = in_plane(axis)
    r0, c0 = b[rows], b[cols]
    out[r0 : r0 + local.shape[0], c0 : c0 + local.shape[1]][local] = PREVIEW_CODE
    return out


def points_on_slice(
    points: Sequence[Point], axis: int, plane: tuple[int, int]
) -> npt.NDArray[np.uint8]:
    """One dot per point (a polygon's vertices), those inside the slice."""
    out = blank(plane)
    rows, cols = in_plane(axis)
    for p in points:
        r, c = int(round(p[rows])), int(round(p[cols]))
        if 0 <= r < plane[0] and 0 <= c < plane[1]:
            out[r, c] = PREVIEW_CODE
    return out
