"""Editing tools in the slice views: strokes build a working mask, release commits it.

A stroke on the selected call is one correction (one undo step); with no call selected it
becomes a new manual indication, accepted by the person who drew it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal

from ndelab.annotation import Source, SparseMask, edit
from ndelab.app.controller import ViewerController
from ndelab.app.review_controller import ReviewController
from ndelab.app.ruler import Ruler
from ndelab.volumes.errors import NdelabError

TOOLS = (
    "navigate",
    "ruler",
    "brush",
    "eraser",
    "sphere",
    "threshold",
    "grow",
    "polygon",
    "sam2d",
    "sam3d",
)
SAM_TOOLS = ("sam2d", "sam3d")
PREVIEW_CODE = 9


class EditController(QObject):
    toolChanged = Signal(str)
    previewChanged = Signal()
    rulerChanged = Signal(object)  # Ruler | None, on every move
    rulerFinished = Signal(object)  # Ruler, when the button is released

    def __init__(self, viewer: ViewerController, review: ReviewController) -> None:
        super().__init__()
        self.viewer = viewer
        self.review = review
        self.tool = "navigate"
        self.radius = 2.0  # voxels for the 2D brush; mm for the sphere comes from spacing
        self.new_class = "pore"
        self.bright = False  # threshold: bright (inclusions) instead of dark (pores)
        self.working: SparseMask | None = None
        self._touched = False
        self._box_start: tuple[float, float, float] | None = None
        self._polygon: list[tuple[float, float, float]] = []
        self._polygon_axis = 0
        self.sam: Any = None  # SamController, set by the window
        self._shift = False  # Shift held on the current mouse event: a negative SAM click
        self._prompt_axis = 0
        self._prompt_index = 0
        self._points: list[tuple[int, int]] = []
        self._labels: list[int] = []
        self._box: tuple[int, int, int, int] | None = None
        self._drag_from: tuple[float, float, float] | None = None
        self.sam_mask: npt.NDArray[np.bool_] | None = None  # 2D preview on the prompt slice
        self._sam_segmenter: Any = None  # the segmenter that made sam_mask
        self._sam_request: object | None = None  # the click whose mask is awaited
        self.ruler: Ruler | None = None

    def set_tool(self, tool: str) -> None:
        self.cancel()
        self.tool = tool
        if self.sam is not None:
            if tool in SAM_TOOLS:
                self.sam.activate()
            else:
                self.sam.stop()
        self.toolChanged.emit(tool)

    def cancel(self) -> None:
        if self.ruler is not None:
            self.ruler = None
            self.rulerChanged.emit(None)
        self.working = None
        self._touched = False
        self._box_start = None
        self._polygon = []
        self._clear_prompts()
        self.previewChanged.emit()

    def _clear_prompts(self) -> None:
        self._points, self._labels, self._box = [], [], None
        self._drag_from = None
        self.sam_mask = None
        self._sam_segmenter = None
        self._sam_request = None
        if self.sam is not None:
            self.sam.cancel_request()

    def _current_mask(self) -> SparseMask | None:
        session = self.review.session
        if session is None or session.current is None:
            return None
        return session.masks[session.current]

    # -- mouse events from a slice view: (kind, axis, zyx). True when the tool took it.
    def handle(
        self, kind: str, axis: int, zyx: tuple[float, float, float], shift: bool = False
    ) -> bool:
        if self.tool == "ruler" and self.viewer.volume is not None:
            self._ruler_event(kind, axis, zyx)  # measuring needs no review
            return True
        if self.tool == "navigate" or self.viewer.volume is None or self.review.session is None:
            return False
        self._shift = shift
        try:
            self._handle(kind, axis, zyx)
        except NdelabError as exc:
            self.cancel()
            self.review.failed.emit(str(exc))
        return True

    def _handle(self, kind: str, axis: int, zyx: tuple[float, float, float]) -> None:
        volume = self.viewer.volume
        assert volume is not None
        others = [a for a in range(3) if a != axis]
        index = int(round(zyx[axis]))
        if self.tool in ("brush", "eraser", "sphere"):
            if kind == "press":
                self.working = self._current_mask()
                self._touched = False
            if kind in ("press", "drag"):
                if self.tool == "sphere":
                    radius_mm = self.radius * min(volume.spacing_mm)
                    self.working = edit.sphere(
                        self.working, volume.shape, zyx, radius_mm, volume.spacing_mm
                    )
                else:
                    self.working = edit.brush(
                        self.working,
                        volume.shape,
                        axis,
                        index,
                        (zyx[others[0]], zyx[others[1]]),
                        self.radius,
                        erase=self.tool == "eraser",
                    )
                self._touched = True
                self.previewChanged.emit()
            elif kind == "release" and self._touched:
                self._commit(self.working)
        elif self.tool == "threshold":
            if kind == "press":
                self._box_start = zyx
            elif kind == "release" and self._box_start is not None:
                start, end = self._box_start, zyx
                half = max(1, int(round(self.radius)))
                box = [0] * 6
                for a in range(3):
                    lo, hi = sorted((start[a], end[a]))
                    if a == axis:
                        lo, hi = index - half, index + half
                    box[a], box[a + 3] = int(np.floor(lo)), int(np.ceil(hi)) + 1
                state = self.viewer.state
                assert state is not None
                centre = state.window.center
                low, high = (centre, np.inf) if self.bright else (-np.inf, centre)
                self._box_start = None
                self._commit(edit.threshold_in_box(volume, box, low, high, self._current_mask()))
        elif self.tool == "grow" and kind == "press":
            seed = tuple(int(round(v)) for v in zyx)
            self._commit(edit.grow(volume, seed, current=self._current_mask()))
        elif self.tool in SAM_TOOLS:
            self._sam_event(kind, axis, zyx)
        elif self.tool == "polygon":
            if kind == "press":
                if self._polygon and self._polygon_axis != axis:
                    self._polygon = []
                self._polygon_axis = axis
                self._polygon.append(zyx)
                self.previewChanged.emit()
            elif kind == "double" and len(self._polygon) >= 3:
                self.finish_polygon()

    def _ruler_event(self, kind: str, axis: int, zyx: tuple[float, float, float]) -> None:
        """Press sets the start, dragging moves the end; the ruler stays on its slice."""
        if kind == "press" or self.ruler is None or self.ruler.axis != axis:
            self.ruler = Ruler(axis, zyx, zyx)
        elif kind in ("drag", "release"):
            end = list(zyx)
            end[axis] = self.ruler.start[axis]
            self.ruler = Ruler(axis, self.ruler.start, (end[0], end[1], end[2]))
        self.rulerChanged.emit(self.ruler)
        if kind == "release":
            self.rulerFinished.emit(self.ruler)

    def _sam_event(self, kind: str, axis: int, zyx: tuple[float, float, float]) -> None:
        """Clicks are prompts (Shift: negative), a drag is a box; each updates the preview."""
        others = [a for a in range(3) if a != axis]
        index = round(zyx[axis])
        rc = (round(zyx[others[0]]), round(zyx[others[1]]))
        if (axis, index) != (self._prompt_axis, self._prompt_index):
            self._clear_prompts()
            self._prompt_axis, self._prompt_index = axis, index
        if kind == "press":
            self._drag_from = zyx
            return
        if kind == "drag":
            return
        if kind != "release":
            return
        start = self._drag_from or zyx
        self._drag_from = None
        r0, c0 = round(start[others[0]]), round(start[others[1]])
        if abs(r0 - rc[0]) + abs(c0 - rc[1]) >= 3:
            self._box = (min(r0, rc[0]), min(c0, rc[1]), max(r0, rc[0]), max(c0, rc[1]))
        else:
            self._points.append(rc)
            self._labels.append(0 if self._shift else 1)
        if self.sam is None:
            return
        request = self._sam_request = object()

        def answer(result: Any, segmenter: Any) -> None:
            # The mask may come after a background encode: drop it if the user moved on.
            if request is not self._sam_request or self.tool not in SAM_TOOLS:
                return
            self._sam_request = None
            self.sam_mask = np.asarray(result.mask, bool)
            self._sam_segmenter = segmenter
            self.previewChanged.emit()

        self.sam.segment_2d(axis, index, self._points, self._labels, self._box, answer)

    def finish(self) -> None:
        """Enter: close the polygon, or accept the SAM mask (2D, or extended to 3D)."""
        if self.tool == "polygon":
            self.finish_polygon()
        elif self.tool in SAM_TOOLS:
            try:
                self._accept_sam()
            except NdelabError as exc:
                self.review.failed.emit(str(exc))

    def _accept_sam(self) -> None:
        volume = self.viewer.volume
        segmenter = self._sam_segmenter
        if volume is None or segmenter is None or self.sam_mask is None or not self.sam_mask.any():
            self.review.failed.emit("click on the defect first: there is no mask to accept")
            return
        axis, index = self._prompt_axis, self._prompt_index
        if self.tool == "sam3d":
            result = segmenter.segment_3d(axis, index, self._points, self._labels, self._box)
            local = np.asarray(result.mask.mask, bool)
            if not local.any():
                self.review.failed.emit("the 3D extension found nothing")
                return
            mask: SparseMask | None = SparseMask.from_local(local, tuple(result.mask.offset))
            current = None  # a 3D result replaces the selected call's mask
        else:
            plane = np.expand_dims(self.sam_mask, axis)
            mask = SparseMask.from_local(plane, tuple(index if a == axis else 0 for a in range(3)))
            current = self._current_mask()
            if current is not None:
                # Replace the call's mask on this slice only, keep the other slices.
                b = current.bbox
                stop = [max(b[a + 3], mask.stop[a]) for a in range(3)]
                start = [min(b[a], mask.start[a]) for a in range(3)]
                canvas = current.within(tuple(start), tuple(stop))  # type: ignore[arg-type]
                cut = [slice(None)] * 3
                cut[axis] = slice(index - start[axis], index - start[axis] + 1)
                canvas[tuple(cut)] = mask.within(tuple(start), tuple(stop))[tuple(cut)]  # type: ignore[arg-type]
                mask = SparseMask.from_local(canvas, tuple(start)) if canvas.any() else None
        self._clear_prompts()
        self._commit(mask, source=self._sam_source(segmenter))

    @staticmethod
    def _sam_source(segmenter: Any) -> Source:
        if segmenter.mode == "sam":
            return Source("sam", segmenter.backend.model_type, None)
        return Source("manual", "region-growing", None)  # the fallback is not SAM: say so

    def finish_polygon(self) -> None:
        volume = self.viewer.volume
        if volume is None or len(self._polygon) < 3:
            return
        axis = self._polygon_axis
        others = [a for a in range(3) if a != axis]
        index = int(round(self._polygon[0][axis]))
        vertices = [(p[others[0]], p[others[1]]) for p in self._polygon]
        self._polygon = []
        try:
            self._commit(edit.polygon(self._current_mask(), volume.shape, axis, index, vertices))
        except NdelabError as exc:
            self.review.failed.emit(str(exc))

    def _commit(self, mask: SparseMask | None, source: Source | None = None) -> None:
        session = self.review.session
        volume = self.viewer.volume
        self.working = None
        self._touched = False
        self.previewChanged.emit()
        if session is None or volume is None:
            return
        if session.current is not None:
            if mask is None:
                self.review.failed.emit(
                    "the edit would leave the call empty; reject it instead (R)"
                )
                return
            self.review.correct(mask=mask, reason=f"mask edited with the {self.tool} tool")
        elif mask is not None:
            try:
                session.add_manual(mask, self.new_class, volume.spacing_mm, source=source)
            except NdelabError as exc:
                self.review.failed.emit(str(exc))
                return
            self.review.rowsChanged.emit()
            self.review.act("accept", advance=False)
            self.review.select(session.current, centre=False)

    # -- preview drawn over the slices
    def preview(
        self, axis: int, index: int, plane: tuple[int, int]
    ) -> npt.NDArray[np.uint8] | None:
        out: npt.NDArray[np.uint8] | None = None
        if (
            self.sam_mask is not None
            and (axis, index) == (self._prompt_axis, self._prompt_index)
            and self.sam_mask.shape == tuple(plane)
        ):
            out = np.where(self.sam_mask, PREVIEW_CODE, 0).astype(np.uint8)
        if self.working is not None:
            b = self.working.bbox
            if b[axis] <= index < b[axis + 3]:
                out = out if out is not None else np.zeros(plane, np.uint8)
                local = np.take(self.working.local(), index - b[axis], axis=axis)
                others = [a for a in range(3) if a != axis]
                r0, c0 = b[others[0]], b[others[1]]
                region = out[r0 : r0 + local.shape[0], c0 : c0 + local.shape[1]]
                region[local] = PREVIEW_CODE
        if self._polygon and self._polygon_axis == axis:
            out = out if out is not None else np.zeros(plane, np.uint8)
            others = [a for a in range(3) if a != axis]
            for p in self._polygon:
                r, c = int(round(p[others[0]])), int(round(p[others[1]]))
                if 0 <= r < plane[0] and 0 <= c < plane[1]:
                    out[r, c] = PREVIEW_CODE
        return out

    def status_text(self) -> dict[str, Any]:
        return {"tool": self.tool, "radius": self.radius, "class": self.new_class}
