"""The SAM tool: clicks (Shift: negative) or a dragged box prompt a mask on one slice, shown as
a preview; Enter accepts it, on that slice (2D) or extended through the defect (3D).

Without SAM the segmenter grows regions instead, and the call says so in its source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import ReviewError, Source, SparseMask
from ndelab.app.editing.preview import PREVIEW_CODE
from ndelab.app.editing.tool import (
    Commit,
    Outcome,
    Point,
    Segmenter,
    Tool,
    ToolContext,
    in_plane,
)

BOX_MIN_DRAG = 3  # voxels (row + column) a drag must cover to be a box and not a click
NO_MASK = "click on the defect first: there is no mask to accept"


def sam_source(segmenter: Segmenter) -> Source:
    if segmenter.mode == "sam":
        return Source("sam", segmenter.backend.model_type, None)
    return Source("manual", "region-growing", None)  # the fallback is not SAM: say so


class SamTool(Tool):
    def __init__(self, *, three_d: bool = False) -> None:
        self.three_d = three_d
        self.axis = 0  # the prompt slice: prompts on another slice start afresh
        self.index = 0
        self.points: list[tuple[int, int]] = []  # (row, column) on the prompt slice
        self.labels: list[int] = []  # 1 include, 0 exclude
        self.box: tuple[int, int, int, int] | None = None  # row0, col0, row1, col1
        self.mask: npt.NDArray[np.bool_] | None = None  # the 2D proposal on the prompt slice
        self.segmenter: Segmenter | None = None  # the one that made ``mask``: Enter uses it
        self._request: object | None = None  # the prompt whose proposal is awaited
        self._drag_from: Point | None = None

    def reset(self) -> None:
        self.points, self.labels, self.box = [], [], None
        self._drag_from = None
        self.mask = None
        self.segmenter = None
        self._request = None  # a proposal still to come is dropped

    def _on_slice(self, axis: int, zyx: Point) -> None:
        index = round(zyx[axis])
        if (axis, index) != (self.axis, self.index):
            self.reset()
            self.axis, self.index = axis, index

    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._on_slice(axis, zyx)
        self._drag_from = zyx
        return None

    def drag(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._on_slice(axis, zyx)
        return None

    def double(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._on_slice(axis, zyx)
        return None

    def release(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        """A click adds a point, a drag sets the box; either asks for a new proposal."""
        self._on_slice(axis, zyx)
        rows, cols = in_plane(axis)
        r1, c1 = round(zyx[rows]), round(zyx[cols])
        start = self._drag_from or zyx
        self._drag_from = None
        r0, c0 = round(start[rows]), round(start[cols])
        if abs(r0 - r1) + abs(c0 - c1) >= BOX_MIN_DRAG:
            self.box = (min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1))
        else:
            self.points.append((r1, c1))
            self.labels.append(0 if ctx.shift else 1)
        request = self._request = object()

        def answer(result: Any, segmenter: Segmenter) -> None:
            # It may come after a background encode: drop it if the prompts changed since.
            if request is not self._request:
                return
            self._request = None
            self.mask = np.asarray(result.mask, bool)
            self.segmenter = segmenter
            ctx.redraw()

        ctx.propose(axis, self.index, list(self.points), list(self.labels), self.box, answer)
        return None

    def finish(self, ctx: ToolContext | None) -> Outcome:
        """Enter: the proposal becomes the call's mask (3D: extended through the defect)."""
        segmenter = self.segmenter
        if ctx is None or segmenter is None or self.mask is None or not self.mask.any():
            raise ReviewError(NO_MASK)
        axis, index = self.axis, self.index
        mask: SparseMask | None
        if self.three_d:
            result = segmenter.segment_3d(axis, index, self.points, self.labels, self.box)
            local = np.asarray(result.mask.mask, bool)
            if not local.any():
                raise ReviewError("the 3D extension found nothing")
            mask = SparseMask.from_local(local, tuple(result.mask.offset))  # replaces the call's
        else:
            plane = np.expand_dims(self.mask, axis)
            mask = SparseMask.from_local(plane, tuple(index if a == axis else 0 for a in range(3)))
            if ctx.current is not None:
                mask = _replace_slice(ctx.current, mask, axis, index)
        self.reset()
        return Commit(mask, source=sam_source(segmenter))

    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        if self.mask is None or (axis, index) != (self.axis, self.index):
            return None
        if self.mask.shape != tuple(plane):
            return None
        return np.where(self.mask, PREVIEW_CODE, 0).astype(np.uint8)


def _replace_slice(
    current: SparseMask, new: SparseMask, axis: int, index: int
) -> SparseMask | None:
    """``current`` with slice ``index`` taken from ``new``, the other slices kept."""
    b = current.bbox
    start = tuple(min(b[a], new.start[a]) for a in range(3))
    stop = tuple(max(b[a + 3], new.stop[a]) for a in range(3))
    canvas = current.within(start, stop)  # type: ignore[arg-type]
    cut: list[slice] = [slice(None)] * 3
    cut[axis] = slice(index - start[axis], index - start[axis] + 1)
    canvas[tuple(cut)] = new.within(start, stop)[tuple(cut)]  # type: ignore[arg-type]
    return SparseMask.from_local(canvas, start) if canvas.any() else None
