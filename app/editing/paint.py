"""The painting tools: a stroke (press, drags, release) builds a working mask, release commits.

The stroke starts from the selected call's mask, so one stroke is one correction (one undo
step); with no call selected it draws a new call.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndelab.annotation import SparseMask, edit
from ndelab.app.editing.preview import mask_on_slice
from ndelab.app.editing.tool import REDRAW, Commit, Outcome, Point, Tool, ToolContext, in_plane


class StrokeTool(Tool):
    """A stroke: each press and drag adds a dab to the working mask; release commits it."""

    def __init__(self) -> None:
        self._working: SparseMask | None = None
        self._touched = False

    def dab(
        self, ctx: ToolContext, working: SparseMask | None, axis: int, zyx: Point
    ) -> SparseMask | None:
        raise NotImplementedError

    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._working = ctx.current
        self._touched = False
        return self.drag(ctx, axis, zyx)

    def drag(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._working = self.dab(ctx, self._working, axis, zyx)
        self._touched = True
        return REDRAW

    def release(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return Commit(self._working) if self._touched else None

    def reset(self) -> None:
        self._working = None
        self._touched = False

    @property
    def working(self) -> SparseMask | None:
        return self._working

    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        return None if self._working is None else mask_on_slice(self._working, axis, index, plane)


class BrushTool(StrokeTool):
    """A disc of ``radius`` voxels on the slice the stroke is on (2D)."""

    erase = False

    def dab(
        self, ctx: ToolContext, working: SparseMask | None, axis: int, zyx: Point
    ) -> SparseMask | None:
        rows, cols = in_plane(axis)
        return edit.brush(
            working,
            ctx.state.volume.shape,
            axis,
            int(round(zyx[axis])),
            (zyx[rows], zyx[cols]),
            ctx.radius,
            erase=self.erase,
        )


class EraserTool(BrushTool):
    """The brush taking voxels away."""

    erase = True


class SphereTool(StrokeTool):
    """A ball (3D brush); its radius is ``radius`` of the finest voxel side, in mm."""

    def dab(
        self, ctx: ToolContext, working: SparseMask | None, axis: int, zyx: Point
    ) -> SparseMask | None:
        volume = ctx.state.volume
        radius_mm = ctx.radius * min(volume.spacing_mm)
        return edit.sphere(working, volume.shape, zyx, radius_mm, volume.spacing_mm)
