"""One orthogonal slice view: pyqtgraph image on the uint8 fast path, crosshair, slider.

Mouse: left = crosshair, right drag = window/level, middle drag = pan, wheel = slice,
Ctrl+wheel = zoom. Keys (when focused): the Slices group of ndelab.app.shortcuts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ndelab.app.controller import ViewerController
from ndelab.app.shortcuts import SHORTCUTS, SLICE_VIEW
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume
from ndelab.widgets.shortcut_keys import plain_key
from ndelab.widgets.slice_image import windowed

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

AXIS_LABELS = ("Axial (z)", "Coronal (y)", "Sagittal (x)")
AXIS_COLORS = ("#e8c547", "#4fb3d9", "#e46b6b")
OverlayProvider = Callable[[int, int, tuple[int, int]], "np.ndarray[Any, Any] | None"]


def _overlay_lut() -> np.ndarray[Any, Any]:
    """Codes 1-4: proposed, accepted, rejected, corrected; 5-8: the same, selected."""
    lut = np.zeros((256, 4), np.uint8)
    colors = [(232, 197, 71), (92, 194, 92), (217, 83, 79), (79, 163, 224)]
    for code, rgb in enumerate(colors, start=1):
        lut[code] = (*rgb, 120 if code != 3 else 70)
        lut[code + 4] = (*(min(255, c + 60) for c in rgb), 230)
    lut[9] = (0, 230, 230, 170)  # an edit in progress
    return lut


OVERLAY_LUT = _overlay_lut()

# The (row, column) volume axes shown by a view normal to each axis.
PLANE_AXES = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
RULER_COLOR = "#ffd54a"
# Shortcut ids (ndelab.app.shortcuts) that step the focused view, and by how many slices.
SLICE_STEPS = {"slice_up": 1, "slice_down": -1, "slice_page_up": 10, "slice_page_down": -10}


class _SliceViewBox(pg.ViewBox):
    """A ViewBox that turns mouse gestures into viewer actions instead of its defaults."""

    def __init__(self, view: SliceView) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._view = view

    def wheelEvent(self, ev: Any, axis: Any = None) -> None:
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        self._view.stepRequested.emit(1 if ev.delta() > 0 else -1)
        ev.accept()

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            point = self.mapSceneToView(ev.scenePos())
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if ev.double():
                self._view.tool_event("double", point, shift)
            elif self._view.tool_event("press", point, shift):
                self._view.tool_event("release", point, shift)
            else:
                self._view.point_at(point)
            ev.accept()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        button = ev.button()
        if button == Qt.MouseButton.LeftButton:
            point = self.mapSceneToView(ev.scenePos())
            kind = "press" if ev.isStart() else "release" if ev.isFinish() else "drag"
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if kind == "press":  # a drag starts where the button went down, not a few px on
                down = self.mapSceneToView(ev.buttonDownScenePos())
                if self._view.tool_event("press", down, shift):
                    self._view.tool_event("drag", point, shift)
                else:
                    self._view.point_at(point)
            elif not self._view.tool_event(kind, point, shift):
                self._view.point_at(point)
            ev.accept()
        elif button == Qt.MouseButton.RightButton:
            delta = ev.screenPos() - ev.lastScreenPos()
            self._view.windowDragged.emit(float(delta.x()), float(delta.y()))
            ev.accept()
        elif button == Qt.MouseButton.MiddleButton:
            last = self.mapSceneToView(ev.lastScenePos())
            here = self.mapSceneToView(ev.scenePos())
            self.translateBy(x=last.x() - here.x(), y=last.y() - here.y())
            ev.accept()
        else:
            ev.ignore()


class SliceView(QWidget):
    """A view normal to ``axis`` (0 axial, 1 coronal, 2 sagittal) over a ViewerController."""

    stepRequested = Signal(int)
    windowDragged = Signal(float, float)

    def __init__(self, controller: ViewerController, axis: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.axis = axis
        self.row_axis, self.col_axis = PLANE_AXES[axis]
        self._raw: np.ndarray[Any, Any] | None = None
        self._index: int | None = None
        self._spacing = (1.0, 1.0)  # (row, col) mm
        self._rect = QRectF()
        self._rect_pending = False

        self.graphics = pg.GraphicsView(background="#111")
        self.viewbox = _SliceViewBox(self)
        self.graphics.setCentralItem(self.viewbox)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.viewbox.addItem(self.image)
        # Indication overlay: status codes through an RGBA lookup table, drawn over the slice.
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setLookupTable(OVERLAY_LUT)
        self.overlay.setZValue(10)
        self.viewbox.addItem(self.overlay)
        self.overlay_provider: OverlayProvider | None = None
        # A per-pixel RGBA map over the whole slice (the detectability map), under the calls.
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setZValue(5)
        self.viewbox.addItem(self.heat)
        # Editing tools take left-button events first: (kind, axis, zyx) -> taken?
        # (kind, axis, zyx, shift held) -> taken?
        self.tool_handler: Callable[[str, int, tuple[float, float, float], bool], bool] | None = (
            None
        )
        pen = pg.mkPen(AXIS_COLORS[axis], width=1)
        self.hline = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(AXIS_COLORS[self.row_axis])
        )
        self.vline = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(AXIS_COLORS[self.col_axis])
        )
        for line in (self.hline, self.vline):
            self.viewbox.addItem(line, ignoreBounds=True)
        # The ruler, drawn on its own slice only.
        self.ruler_line = pg.PlotCurveItem(pen=pg.mkPen(RULER_COLOR, width=2))
        self.ruler_label = pg.TextItem(color=RULER_COLOR, anchor=(0, 1), fill=(0, 0, 0, 170))
        for item in (self.ruler_line, self.ruler_label):
            item.setZValue(20)
            item.setVisible(False)
            self.viewbox.addItem(item, ignoreBounds=True)
        self._ruler: Any = None
        self._ruler_text = ""
        self.title = QLabel(AXIS_LABELS[axis])
        self.title.setStyleSheet(f"color: {AXIS_COLORS[axis]}; font-weight: bold;")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.position = QLabel("-")
        self.position.setMinimumWidth(90)
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        del pen

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title)
        header.addWidget(self.slider, 1)
        header.addWidget(self.position)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Key -> shortcut id, for the "slice view" scope of ndelab.app.shortcuts (modifiers
        # are not read).
        self._slice_keys: dict[int, str] = {
            plain_key(s.id): s.id for s in SHORTCUTS if s.scope == SLICE_VIEW
        }

        self._hover = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=60, slot=self._hovered
        )
        self.slider.valueChanged.connect(lambda v: controller.set_slice(self.axis, int(v)))
        self.stepRequested.connect(lambda d: controller.step_slice(self.axis, d))
        self.windowDragged.connect(self._drag_window)
        controller.volumeChanged.connect(self._on_volume)
        controller.cursorChanged.connect(self._on_cursor)
        controller.windowChanged.connect(self._on_window)

    # -- controller -> view
    def _on_volume(self, volume: Volume) -> None:
        self._raw = None
        self._index = None
        self.overlay.clear()
        self.heat.clear()
        self.show_ruler(None, "")
        self._spacing = (volume.spacing_mm[self.row_axis], volume.spacing_mm[self.col_axis])
        rows, cols = volume.shape[self.row_axis], volume.shape[self.col_axis]
        self.slider.blockSignals(True)
        self.slider.setRange(0, volume.shape[self.axis] - 1)
        self.slider.blockSignals(False)
        self._rect = QRectF(0, 0, cols * self._spacing[1], rows * self._spacing[0])
        self._rect_pending = True
        self.viewbox.setRange(self._rect, padding=0.02)

    def _on_cursor(self, zyx: tuple[int, int, int]) -> None:
        state = self.controller.state
        if state is None:
            return
        index = zyx[self.axis]
        if index != self._index:
            self._index = index
            self._raw = state.slice_image(self.axis)
            self._render()
            self.refresh_overlay()
            self._draw_ruler()
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
            self.position.setText(f"{index + 1} / {state.volume.shape[self.axis]}")
        self.hline.setPos((zyx[self.row_axis] + 0.5) * self._spacing[0])
        self.vline.setPos((zyx[self.col_axis] + 0.5) * self._spacing[1])

    def _on_window(self, window: Window) -> None:
        self._render()

    def _render(self) -> None:
        state = self.controller.state
        if self._raw is None or state is None:
            return
        self.image.setImage(windowed(self._raw, state.window), autoLevels=False, levels=(0, 255))
        if self._rect_pending:
            # pyqtgraph maps the rect through the image size, so it needs an image first.
            self.image.setRect(self._rect)
            self._rect_pending = False

    def set_heat(self, rgba: Any) -> None:
        """Show an (H, W, 4) uint8 map over the slice, or clear it (None)."""
        if rgba is None:
            self.heat.clear()
            return
        self.heat.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.heat.setRect(self._rect)

    def refresh_overlay(self) -> None:
        """Redraw the indication overlay of the current slice."""
        if self._raw is None or self._index is None or self.overlay_provider is None:
            self.overlay.clear()
            return
        codes = self.overlay_provider(self.axis, self._index, self._raw.shape)
        if codes is None or not codes.any():
            self.overlay.clear()
            return
        self.overlay.setImage(codes, autoLevels=False, levels=(0, 255))
        self.overlay.setRect(self._rect)

    def show_ruler(self, ruler: Any, text: str) -> None:
        """Draw ``ruler`` (an app.ruler.Ruler, or None) when it lies on this view's slice."""
        self._ruler, self._ruler_text = ruler, text
        self._draw_ruler()

    def _draw_ruler(self) -> None:
        r = self._ruler
        visible = r is not None and r.axis == self.axis and r.index == self._index
        self.ruler_line.setVisible(visible)
        self.ruler_label.setVisible(visible)
        if not visible:
            return
        xs = [(p[self.col_axis] + 0.5) * self._spacing[1] for p in (r.start, r.end)]
        ys = [(p[self.row_axis] + 0.5) * self._spacing[0] for p in (r.start, r.end)]
        self.ruler_line.setData(xs, ys)
        self.ruler_label.setText(self._ruler_text)
        self.ruler_label.setPos(xs[1], ys[1])

    # -- view -> controller
    def scene_to_index(self, point: QPointF) -> tuple[float, float, float] | None:
        state = self.controller.state
        if state is None:
            return None
        zyx = list(map(float, state.cursor))
        zyx[self.row_axis] = point.y() / self._spacing[0] - 0.5
        zyx[self.col_axis] = point.x() / self._spacing[1] - 0.5
        return (zyx[0], zyx[1], zyx[2])

    def tool_event(self, kind: str, point: QPointF, shift: bool = False) -> bool:
        if self.tool_handler is None:
            return False
        zyx = self.scene_to_index(point)
        return zyx is not None and self.tool_handler(kind, self.axis, zyx, shift)

    def point_at(self, point: QPointF) -> None:
        zyx = self.scene_to_index(point)
        if zyx is not None:
            self.controller.set_cursor(zyx)

    def _hovered(self, args: Any) -> None:
        pos = args[0]
        if not self.viewbox.sceneBoundingRect().contains(pos):
            return
        zyx = self.scene_to_index(self.viewbox.mapSceneToView(pos))
        if zyx is not None:
            self.controller.hover(zyx)

    def _drag_window(self, dx: float, dy: float) -> None:
        state = self.controller.state
        if state is None:
            return
        # One screen pixel moves the window by 1/400 of the displayed range: fine control.
        scale = max(state.window.width, 1.0) / 400.0 * 2.0
        self.controller.drag_window(-dy * scale, dx * scale)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        shortcut_id = self._slice_keys.get(event.key())
        if shortcut_id in SLICE_STEPS:
            self.controller.step_slice(self.axis, SLICE_STEPS[shortcut_id])
        elif shortcut_id == "slice_first":
            self.controller.set_slice(self.axis, 0)
        elif shortcut_id == "slice_last" and self.controller.volume is not None:
            self.controller.set_slice(self.axis, self.controller.volume.shape[self.axis] - 1)
        else:
            super().keyPressEvent(event)

    def reset_zoom(self) -> None:
        self.viewbox.autoRange(padding=0.02)
