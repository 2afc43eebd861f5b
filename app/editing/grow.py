"""Region growing: one click is the seed of a native 3D region grow, committed at once."""

from __future__ import annotations

from ndelab.annotation import edit
from ndelab.app.editing.tool import Commit, Outcome, Point, Tool, ToolContext


class RegionGrowTool(Tool):
    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        seed = tuple(int(round(v)) for v in zyx)
        return Commit(edit.grow(ctx.state.volume, seed, current=ctx.current))
