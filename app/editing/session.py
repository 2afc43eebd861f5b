"""The edit session: the active tool, its preview, and turning a finished edit into a call.

Qt-free: the EditController translates mouse and key events into these calls and the
listeners below into signals; tests drive the session directly. A finished edit on the
selected call is one correction (one undo step); with no call selected it becomes a new call,
accepted by the person who drew it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import ReviewError, SparseMask
from ndelab.app.editing.grow import RegionGrowTool
from ndelab.app.editing.paint import BrushTool, EraserTool, SphereTool
from ndelab.app.editing.polygon import PolygonTool
from ndelab.app.editing.ruler import RulerTool
from ndelab.app.editing.sam import SamTool
from ndelab.app.editing.threshold import ThresholdBoxTool
from ndelab.app.editing.tool import (
    Answer,
    Commit,
    Outcome,
    Point,
    Propose,
    Redraw,
    Segmenter,
    Tool,
    ToolContext,
)
from ndelab.app.review_session import ReviewSession
from ndelab.app.ruler import Ruler
from ndelab.app.shortcuts import keys
from ndelab.app.viewer_state import ViewerState
from ndelab.volumes.errors import NdelabError

NAVIGATE = "navigate"  # no tool: clicks move the crosshair
TOOL_MAKERS: dict[str, Callable[[], Tool]] = {
    "ruler": RulerTool,
    "brush": BrushTool,
    "eraser": EraserTool,
    "sphere": SphereTool,
    "threshold": ThresholdBoxTool,
    "grow": RegionGrowTool,
    "polygon": PolygonTool,
    "sam2d": SamTool,
    "sam3d": partial(SamTool, three_d=True),
}
TOOLS = (NAVIGATE, *TOOL_MAKERS)
SAM_TOOLS = ("sam2d", "sam3d")
EMPTY_CALL = f"the edit would leave the call empty; reject it instead ({keys('reject')})"


@dataclass(frozen=True)
class Committed:
    """What a commit did to the review: "correct" the selected call, or "accept" a new one."""

    action: str
    row: dict[str, Any]  # the call's queue row after it
    added: bool  # a new call: the queue has one row more


def _no_segmenter() -> Segmenter | None:
    return None


def _ignore(*_args: object) -> None:
    pass


class EditSession:
    def __init__(
        self,
        viewer: Callable[[], ViewerState | None],
        review: Callable[[], ReviewSession | None],
        segmenter: Callable[[], Segmenter | None] = _no_segmenter,
        propose: Propose | None = None,
    ) -> None:
        """``viewer``, ``review`` and ``segmenter`` give what is open now (each may change).
        ``propose`` asks for a SAM proposal; by default the segmenter answers at once (the
        window passes one that encodes a slice in the background first when it must)."""
        self._viewer = viewer
        self._review = review
        self._segmenter = segmenter
        self._propose = propose or self._propose_now
        self.tool = NAVIGATE
        self.active: Tool | None = None
        self.radius = 2.0  # voxels for the 2D brush; the sphere's mm come from the spacing
        self.new_class = "pore"
        self.bright = False  # threshold: bright (inclusions) instead of dark (pores)
        # Listeners: the Qt adapter turns them into signals; plain callers may leave them be.
        self.on_preview: Callable[[], None] = _ignore
        self.on_ruler: Callable[[Ruler | None], None] = _ignore  # on every move
        self.on_ruler_finished: Callable[[Ruler], None] = _ignore  # button released
        self.on_commit: Callable[[Committed], None] = _ignore

    # -- tools
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown edit tool {tool!r}; the tools are {', '.join(TOOLS)}")
        self.cancel()
        self.tool = tool
        self.active = TOOL_MAKERS[tool]() if tool != NAVIGATE else None

    def cancel(self) -> None:
        """Esc: drop the stroke, box, polygon, prompts or ruler in progress."""
        if isinstance(self.active, RulerTool) and self.active.ruler is not None:
            self.active.reset()
            self.on_ruler(None)
        if self.active is not None:
            self.active.reset()
        self.on_preview()

    # -- events
    def handle(self, kind: str, axis: int, zyx: Point, shift: bool = False) -> bool:
        """A mouse event ("press", "drag", "release", "double") at voxel ``zyx`` in the view
        normal to ``axis``. True when the tool took it (False: it is the crosshair's).

        A tool's error cancels what was in progress and is raised on (one sentence for a
        dialog).
        """
        tool, state = self.active, self._viewer()
        if tool is None or state is None:
            return False
        if isinstance(tool, RulerTool):  # measuring needs no review
            tool.handle(self._context(state, shift), kind, axis, zyx)
            assert tool.ruler is not None
            self.on_ruler(tool.ruler)
            if kind == "release":
                self.on_ruler_finished(tool.ruler)
            return True
        if self._review() is None:
            return False
        try:
            self._apply(tool.handle(self._context(state, shift), kind, axis, zyx))
        except NdelabError:
            self.cancel()
            raise
        return True

    def finish(self) -> None:
        """Enter: close the polygon, or accept the SAM mask (2D, or extended to 3D). An error
        keeps the prompts, so that the person can add a click and try again."""
        if self.active is None:
            return
        state = self._viewer()
        ctx = self._context(state, shift=False) if state is not None else None
        self._apply(self.active.finish(ctx))

    def _propose_now(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
        answer: Answer,
    ) -> None:
        segmenter = self._segmenter()
        if segmenter is not None:
            answer(segmenter.segment_2d(axis, index, points, labels, box), segmenter)

    def _redraw(self) -> None:
        self.on_preview()

    def _context(self, state: ViewerState, shift: bool) -> ToolContext:
        review = self._review()
        current = None
        if review is not None and review.current is not None:
            current = review.masks[review.current]
        return ToolContext(
            state,
            current,
            self.radius,
            self.bright,
            shift,
            self._segmenter,
            self._propose,
            self._redraw,
        )

    def _apply(self, outcome: Outcome) -> None:
        if isinstance(outcome, Redraw):
            self.on_preview()
        elif isinstance(outcome, Commit):
            self._commit(outcome)

    def _commit(self, commit: Commit) -> None:
        """The selected call gets the mask as a correction; with none selected, the mask is
        a new call (manual, or what the tool says), accepted by the person who drew it."""
        if self.active is not None:
            self.active.reset()
        self.on_preview()
        review, state = self._review(), self._viewer()
        if review is None or state is None:
            return
        if review.current is not None:
            if commit.mask is None:
                raise ReviewError(EMPTY_CALL)
            reason = f"mask edited with the {self.tool} tool"
            row = review.correct(mask=commit.mask, reason=reason)
            self.on_commit(Committed("correct", row, added=False))
        elif commit.mask is not None:
            spacing = state.volume.spacing_mm
            review.add_manual(commit.mask, self.new_class, spacing, source=commit.source)
            row = review.act("accept")
            self.on_commit(Committed("accept", row, added=True))

    # -- what the views draw
    @property
    def working(self) -> SparseMask | None:
        """The mask being painted, before release commits it."""
        return self.active.working if self.active is not None else None

    @property
    def sam_mask(self) -> npt.NDArray[np.bool_] | None:
        """The SAM proposal on its prompt slice, before Enter accepts it."""
        return self.active.mask if isinstance(self.active, SamTool) else None

    @property
    def ruler(self) -> Ruler | None:
        return self.active.ruler if isinstance(self.active, RulerTool) else None

    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        """The tool's preview codes over slice ``index`` normal to ``axis`` (None: nothing)."""
        return self.active.preview(axis, index, plane) if self.active is not None else None

    def status_text(self) -> dict[str, Any]:
        return {"tool": self.tool, "radius": self.radius, "class": self.new_class}
