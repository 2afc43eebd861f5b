"""The edit tools in the window: a Qt adapter over the Qt-free EditSession (app.editing).

It passes the slice views' mouse events and the Enter and Esc keys to the session, and turns
the session's listeners into the signals the views, the tool bar and the review panels use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal

from ndelab.annotation import SparseMask
from ndelab.app.controller import ViewerController
from ndelab.app.editing import PREVIEW_CODE, SAM_TOOLS, TOOLS, Committed, EditSession
from ndelab.app.editing.tool import Answer, Segmenter
from ndelab.app.review_controller import ReviewController
from ndelab.app.ruler import Ruler
from ndelab.volumes.errors import NdelabError

__all__ = ["PREVIEW_CODE", "SAM_TOOLS", "TOOLS", "EditController"]


class EditController(QObject):
    toolChanged = Signal(str)
    previewChanged = Signal()
    rulerChanged = Signal(object)  # Ruler | None, on every move
    rulerFinished = Signal(object)  # Ruler, when the button is released

    def __init__(self, viewer: ViewerController, review: ReviewController) -> None:
        super().__init__()
        self.viewer = viewer
        self.review = review
        self.sam: Any = None  # SamController, set by the window
        self.session = EditSession(
            lambda: viewer.state, lambda: review.session, self._segmenter, self._propose
        )
        self.session.on_preview = self.previewChanged.emit
        self.session.on_ruler = self.rulerChanged.emit
        self.session.on_ruler_finished = self.rulerFinished.emit
        self.session.on_commit = self._announce

    def _segmenter(self) -> Segmenter | None:
        return self.sam.segmenter() if self.sam is not None else None

    def _propose(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
        answer: Answer,
    ) -> None:
        """The SAM controller answers at once, or after encoding the slice in the background."""
        if self.sam is not None:
            self.sam.segment_2d(axis, index, points, labels, box, answer)

    # -- the session's state, as the tool bar and the window read and set it
    @property
    def tool(self) -> str:
        return self.session.tool

    @property
    def radius(self) -> float:
        return self.session.radius

    @radius.setter
    def radius(self, value: float) -> None:
        self.session.radius = value

    @property
    def new_class(self) -> str:
        return self.session.new_class

    @new_class.setter
    def new_class(self, value: str) -> None:
        self.session.new_class = value

    @property
    def bright(self) -> bool:
        return self.session.bright

    @bright.setter
    def bright(self, value: bool) -> None:
        self.session.bright = value

    @property
    def working(self) -> SparseMask | None:
        return self.session.working

    @property
    def sam_mask(self) -> npt.NDArray[np.bool_] | None:
        return self.session.sam_mask

    @property
    def ruler(self) -> Ruler | None:
        return self.session.ruler

    # -- actions
    def set_tool(self, tool: str) -> None:
        self.session.set_tool(tool)
        if self.sam is not None:
            self.sam.cancel_request()  # the SAM encoder runs in the background only for SAM
            if tool in SAM_TOOLS:
                self.sam.activate()
            else:
                self.sam.stop()
        self.toolChanged.emit(tool)

    def cancel(self) -> None:
        self.session.cancel()
        if self.sam is not None:
            self.sam.cancel_request()  # a proposal still being encoded is not wanted now

    def handle(
        self, kind: str, axis: int, zyx: tuple[float, float, float], shift: bool = False
    ) -> bool:
        """A slice view's mouse event; True when the tool took it."""
        try:
            return self.session.handle(kind, axis, zyx, shift)
        except NdelabError as exc:
            self.review.failed.emit(str(exc))
            return True

    def finish(self) -> None:
        """Enter: close the polygon, or accept the SAM mask (2D, or extended to 3D)."""
        try:
            self.session.finish()
        except NdelabError as exc:
            self.review.failed.emit(str(exc))

    def _announce(self, done: Committed) -> None:
        """The signals and status line of a review action, for the call an edit changed."""
        review, row = self.review, done.row
        if done.added:
            review.rowsChanged.emit()
        review.rowChanged.emit(row["id"])
        review.selectionChanged.emit(row)
        review.overlayChanged.emit()
        review.message.emit(f"{done.action}: call {row['id'][:8]} is now {row['status']}")
        if done.added:
            review.select(row["id"], centre=False)

    # -- preview drawn over the slices
    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        return self.session.preview(axis, index, plane)

    def status_text(self) -> dict[str, Any]:
        return self.session.status_text()
