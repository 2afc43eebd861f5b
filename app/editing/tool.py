"""What every edit tool shares: the context an event comes with, and what a tool returns.

A tool is one interaction mode (one class each, as ITK-SNAP keeps them). It turns mouse events
on continuous voxel coordinates (z, y, x) into its own state, a preview, and at the end a
Commit: the mask the selected call should have, or the mask of a new call. It never writes to
the store; the EditSession does that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ndelab.annotation import Source, SparseMask
from ndelab.app.viewer_state import ViewerState

Point = tuple[float, float, float]  # continuous voxel index (z, y, x)


class Segmenter(Protocol):
    """What the SAM tool asks of a segmenter (inference.sam.interactive.InteractiveSegmenter)."""

    backend: Any  # .model_type names the SAM model; None in region-growing mode

    @property
    def mode(self) -> str: ...

    def segment_2d(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
    ) -> Any: ...  # .mask: the slice's boolean mask

    def segment_3d(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
    ) -> Any: ...  # .mask.mask, .mask.offset: the 3D crop and where it starts


Prompt = tuple[int, int, list[tuple[int, int]], list[int], tuple[int, int, int, int] | None]
# answer(result, segmenter): result.mask is the slice's proposal; the segmenter made it.
Answer = Callable[[Any, Segmenter], None]
# propose(axis, index, points, labels, box, answer): answer comes at once, or later (on the GUI
# thread) when the slice needs encoding first; only the latest prompt is answered.
Propose = Callable[
    [int, int, list[tuple[int, int]], list[int], tuple[int, int, int, int] | None, Answer], None
]


@dataclass(frozen=True)
class ToolContext:
    """What a tool may read while it handles one event."""

    state: ViewerState  # the open scan and its display window
    current: SparseMask | None  # the selected call's mask: the base of a correction
    radius: float  # brush radius in voxels; the threshold box's half thickness
    bright: bool  # threshold: keep the voxels brighter than the level, not darker
    shift: bool  # Shift held: a negative SAM click
    segmenter: Callable[[], Segmenter | None]  # asked only when needed (it may load a model)
    propose: Propose  # a SAM proposal for prompts on one slice (see Propose)
    redraw: Callable[[], None]  # the preview changed outside an event (a late proposal)


@dataclass(frozen=True)
class Commit:
    """A finished edit: the mask the selected call gets (None: nothing left), or a new call's.

    ``source`` says who made a new call (None: the person drawing, by hand).
    """

    mask: SparseMask | None
    source: Source | None = None


class Redraw:
    """The tool's preview changed and the slices should be drawn again."""


REDRAW = Redraw()
Outcome = Commit | Redraw | None


class Tool:
    """One interaction mode. Handlers take the event's view axis and voxel position."""

    def handle(self, ctx: ToolContext, kind: str, axis: int, zyx: Point) -> Outcome:
        handlers = {
            "press": self.press,
            "drag": self.drag,
            "release": self.release,
            "double": self.double,
        }
        handler = handlers.get(kind)
        return handler(ctx, axis, zyx) if handler is not None else None

    def press(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return None

    def drag(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return None

    def release(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return None

    def double(self, ctx: ToolContext, axis: int, zyx: Point) -> Outcome:
        return None

    def finish(self, ctx: ToolContext | None) -> Outcome:
        """Enter (``ctx`` is None when no scan is open)."""
        return None

    def reset(self) -> None:
        """Drop whatever is in progress (Esc, a tool change, or after a commit)."""

    @property
    def working(self) -> SparseMask | None:
        """The mask being drawn, before it is committed."""
        return None

    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        """Preview codes over slice ``index`` normal to ``axis`` (None: nothing to draw)."""
        return None


def in_plane(axis: int) -> tuple[int, int]:
    """The two array axes of a slice normal to ``axis``: its rows and its columns."""
    rows, cols = (a for a in range(3) if a != axis)
    return rows, cols
