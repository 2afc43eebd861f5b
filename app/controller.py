"""The viewer controller: ViewerState with Qt signals, shared by every view."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ndelab.app.viewer_state import ViewerState
from ndelab.app.volume_display import DisplayHistogram
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume


class ViewerController(QObject):
    """Owns the current volume's ViewerState; views listen to its signals and call its slots."""

    volumeChanged = Signal(object)  # Volume
    cursorChanged = Signal(object)  # (z, y, x)
    windowChanged = Signal(object)  # Window
    displayChanged = Signal(object)  # Volume whose histogram and presets are now ready
    hoverChanged = Signal(str)  # readout text for the status bar
    focusRequested = Signal(object)  # (z, y, x) the 3D view should centre on

    def __init__(self) -> None:
        super().__init__()
        self.state: ViewerState | None = None

    @property
    def volume(self) -> Volume | None:
        return self.state.volume if self.state else None

    def set_volume(self, volume: Volume) -> None:
        self.state = ViewerState(volume)
        self.volumeChanged.emit(volume)
        self.windowChanged.emit(self.state.window)
        self.cursorChanged.emit(self.state.cursor)

    def set_display(self, volume: Volume, display: DisplayHistogram) -> None:
        """The histogram of ``volume`` is ready (from a background job); dropped when another
        volume is shown by now."""
        if self.state is None or self.state.volume is not volume:
            return
        moved = self.state.set_display(display)
        self.displayChanged.emit(volume)
        if moved:
            self.windowChanged.emit(self.state.window)

    def set_cursor(self, zyx: tuple[float, float, float]) -> None:
        if self.state and self.state.set_cursor(zyx):
            self.cursorChanged.emit(self.state.cursor)

    def set_slice(self, axis: int, index: int) -> None:
        if self.state and self.state.set_slice(axis, index):
            self.cursorChanged.emit(self.state.cursor)

    def step_slice(self, axis: int, delta: int) -> None:
        if self.state and self.state.step_slice(axis, delta):
            self.cursorChanged.emit(self.state.cursor)

    def set_window(self, window: Window) -> None:
        if self.state and window != self.state.window:
            self.state.set_window(window)
            self.windowChanged.emit(window)

    def drag_window(self, d_center: float, d_width: float) -> None:
        if self.state:
            self.set_window(self.state.window.dragged(d_center, d_width))

    def apply_preset(self, name: str) -> None:
        if self.state and name in self.state.presets:
            self.set_window(self.state.presets[name])

    def hover(self, zyx: tuple[float, float, float]) -> None:
        if self.state:
            text = self.state.readout(zyx).text(self.state.volume.spacing_known)
            self.hoverChanged.emit(text)
