"""The threshold box: drag a box on a slice; its voxels darker (or brighter) than the display
window's level become the mask. The box is ``radius`` slices thick each side of the slice.
"""

from __future__ import annotations

import numpy as np

from ndelab.annotation import edit
from ndelab.app.editing.tool import Commit, Outcome, Point, Tool, ToolContext


class ThresholdBoxTool(Tool):
    def __init__(self) -> None:
        self._start: Point | None = None

    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        self._start = zyx
        return None

    def release(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        if self._start is None:
            return None
        start, self._start = self._start, None
        index = int(round(zyx[axis]))
        half = max(1, int(round(ctx.radius)))
        box = [0] * 6
        for a in range(3):
            lo, hi = sorted((start[a], zyx[a]))
            if a == axis:
                lo, hi = index - half, index + half
            box[a], box[a + 3] = int(np.floor(lo)), int(np.ceil(hi)) + 1
        level = ctx.state.window.center
        low, high = (level, np.inf) if ctx.bright else (-np.inf, level)
        volume = ctx.state.volume
        return Commit(edit.threshold_in_box(volume, box, low, high, ctx.current))

    def reset(self) -> None:
        self._start = None
