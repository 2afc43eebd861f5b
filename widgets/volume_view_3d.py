"""The 3D dock: GPU ray casting of the volume, interactive when there is a display.

Without a display (offscreen Qt platform) the same scene renders through EGL into an image
that the widget shows, and mouse drags rotate the camera. The volume's downsampled copy is
read in a background job (MainWindow.show_volume) and handed over with ``show_render_input``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QMouseEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ndelab.app.controller import ViewerController
from ndelab.app.qt_images import rgb_to_qimage
from ndelab.app.volume_display import RenderInput
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume
from ndelab.widgets.volume_render import Indication3D, VolumeScene, offscreen_window

log = logging.getLogger(__name__)


def has_display() -> bool:
    return QGuiApplication.platformName() not in ("offscreen", "minimal", "")


class _OffscreenCanvas(QLabel):
    """Shows offscreen-rendered frames; dragging rotates the camera."""

    def __init__(self, owner: VolumeView3D) -> None:
        super().__init__()
        self._owner = owner
        self._last: QPoint | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setStyleSheet("background: #121214;")

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        self._last = ev.position().toPoint()

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        if self._last is not None:
            d = ev.position().toPoint() - self._last
            self._last = ev.position().toPoint()
            self._owner.scene.rotate(-d.x() * 0.5, d.y() * 0.5)
            self._owner.request_render()

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        self._last = None

    def resizeEvent(self, ev: QResizeEvent) -> None:
        super().resizeEvent(ev)
        self._owner.request_render()


class VolumeView3D(QWidget):
    def __init__(self, controller: ViewerController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.interactive = has_display()
        self._vtk_widget: Any = None
        self._canvas: _OffscreenCanvas | None = None
        if self.interactive:
            import vtkmodules.qt

            vtkmodules.qt.PyQtImpl = "PySide6"
            from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
            from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

            self._vtk_widget = QVTKRenderWindowInteractor(self)
            self._vtk_widget.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
            layout.addWidget(self._vtk_widget)
            self.scene = VolumeScene(self._vtk_widget.GetRenderWindow())
            self._vtk_widget.Initialize()
        else:
            self._canvas = _OffscreenCanvas(self)
            layout.addWidget(self._canvas)
            self.scene = VolumeScene(offscreen_window(400, 400))
        self._has_volume = False
        self._closed = False  # after close_vtk the OpenGL context is gone: never render again
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(30)  # coalesce bursts of window drags into one frame
        self._timer.timeout.connect(self.render)
        controller.volumeChanged.connect(self._on_volume)
        controller.windowChanged.connect(self._on_window)

    @property
    def has_volume(self) -> bool:
        """True once the shown volume's copy is in the scene."""
        return self._has_volume

    def _on_volume(self, _volume: Volume) -> None:
        # The new volume's copy is still being read: show none rather than the last scan's.
        had_volume, self._has_volume = self._has_volume, False
        self.scene.clear_volume()
        if self._closed or not had_volume:
            return
        if self._vtk_widget is not None:
            self._vtk_widget.GetRenderWindow().Render()
        elif self._canvas is not None:
            self._canvas.clear()

    def show_render_input(self, volume: Volume, render: RenderInput) -> None:
        """Ray-cast ``render`` (read from ``volume``); dropped when another volume is shown."""
        if volume is not self.controller.volume or self._closed:
            return
        self.scene.set_input(render)
        self._has_volume = True
        if self.controller.state is not None:
            self.scene.set_window(self.controller.state.window)
        self.request_render()

    def _on_window(self, window: Window) -> None:
        self.scene.set_window(window)
        self.request_render()

    def show_indications(self, items: list[Indication3D], selected: str | None = None) -> None:
        """Show exactly these calls (surfaces of unchanged masks are kept)."""
        self.scene.surfaces.select(selected)
        self.scene.set_indications(items)
        self.request_render()

    def update_indication(
        self, call_id: str, status: str, mask: Any, spacing: tuple[float, float, float]
    ) -> None:
        """One call changed: its colour (and its surface only if its mask changed)."""
        self.scene.surfaces.update(call_id, status, mask, spacing)
        self.request_render()

    def select_indication(self, call_id: str | None) -> None:
        if call_id != self.scene.surfaces.selected:
            self.scene.surfaces.select(call_id)
            self.request_render()

    def focus_on(self, zyx: tuple[float, float, float]) -> None:
        """Centre the camera on a voxel index (VTK's world is x, y, z in mm from voxel 0)."""
        volume = self.controller.volume
        if volume is None or not self._has_volume:
            return
        sz, sy, sx = volume.spacing_mm
        self.scene.focus((zyx[2] * sx, zyx[1] * sy, zyx[0] * sz))
        self.request_render()

    def request_render(self) -> None:
        if self._has_volume and not self._closed:
            self._timer.start()

    def render(self) -> None:
        if not self._has_volume or self._closed:
            return
        if self._vtk_widget is not None:
            self._vtk_widget.GetRenderWindow().Render()
            return
        assert self._canvas is not None
        w, h = max(self._canvas.width(), 160), max(self._canvas.height(), 160)
        self.scene.render_window.SetSize(w, h)
        self.scene.render_window.Render()
        frame = self.scene.capture()
        self._canvas.setPixmap(QPixmap.fromImage(rgb_to_qimage(frame)))

    def capture(self) -> np.ndarray[Any, Any]:
        """The current frame (h, w, 3) uint8, rendered now; Qt's grab() paints VTK black."""
        if self._closed:
            raise RuntimeError("the 3D view is closed")
        if self._vtk_widget is not None:
            self._vtk_widget.GetRenderWindow().Render()
        else:
            self.render()
        return self.scene.capture()

    def close_vtk(self) -> None:
        """Release the OpenGL context before Qt tears the widget down."""
        self._closed = True
        self._timer.stop()
        if self._vtk_widget is not None:
            self._vtk_widget.Finalize()
        else:
            self.scene.render_window.Finalize()
