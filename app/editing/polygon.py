"""The polygon: clicks are vertices on one slice; a double click or Enter fills it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndelab.annotation import edit
from ndelab.app.editing.preview import points_on_slice
from ndelab.app.editing.tool import REDRAW, Commit, Outcome, Point, Tool, ToolContext, in_plane


class PolygonTool(Tool):
    def __init__(self) -> None:
        self.vertices: list[Point] = []
        self.axis = 0

    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        if self.vertices and self.axis != axis:
            self.vertices = []  # a click in another view starts a new polygon there
        self.axis = axis
        self.vertices.append(zyx)
        return REDRAW

    def double(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return self.finish(ctx) if len(self.vertices) >= 3 else None

    def finish(self, ctx: ToolContext | None) -> Outcome:
        if ctx is None or len(self.vertices) < 3:
            return None
        axis = self.axis
        rows, cols = in_plane(axis)
        index = int(round(self.vertices[0][axis]))  # the slice of the first vertex
        corners = [(p[rows], p[cols]) for p in self.vertices]
        self.vertices = []
        shape = ctx.state.volume.shape
        return Commit(edit.polygon(ctx.current, shape, axis, index, corners))

    def reset(self) -> None:
        self.vertices = []

    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        if not self.vertices or self.axis != axis:
            return None
        return points_on_slice(self.vertices, axis, plane)
