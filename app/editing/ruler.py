"""The ruler: press sets the start, dragging moves the end; the ruler stays on its slice.

Measuring changes no call, so the ruler works with no review open.
"""

from __future__ import annotations

from ndelab.app.editing.tool import REDRAW, Outcome, Point, Tool, ToolContext
from ndelab.app.ruler import Ruler


class RulerTool(Tool):
    def __init__(self) -> None:
        self.ruler: Ruler | None = None

    def handle(self, ctx: ToolContext, kind: str, axis: int, zyx: Point) -> Outcome:
        if kind == "press" or self.ruler is None or self.ruler.axis != axis:
            self.ruler = Ruler(axis, zyx, zyx)
        elif kind in ("drag", "release"):
            end = list(zyx)
            end[axis] = self.ruler.start[axis]
            self.ruler = Ruler(axis, self.ruler.start, (end[0], end[1], end[2]))
        return REDRAW

    def reset(self) -> None:
        self.ruler = None
