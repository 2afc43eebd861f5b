"""The main window driven as a user would: clicks, keys, drags, bad files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.volumes.volume import Volume

pytestmark = pytest.mark.gui


def _ct() -> Volume:
    z, y, x = np.mgrid[0:40, 0:50, 0:60]
    inside = ((z - 20) / 16.0) ** 2 + ((y - 25) / 20.0) ** 2 + ((x - 30) / 25.0) ** 2 < 1
    data = np.where(inside, 20000, 1000).astype(np.uint16)
    data[18:22, 23:27, 28:32] = 1000  # a pore
    return Volume(data, spacing_mm=(0.2, 0.1, 0.1))


def _wait(qapp: Any, done: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the GUI")
        time.sleep(0.01)


def _show(qapp: Any, w: Any, volume: Volume) -> None:
    """Show a volume and wait for its histogram and 3D copy (read in the background)."""
    w.show_volume(volume)
    _wait(qapp, lambda: not w.display_pending())


class _RecordedVoxels:
    """Voxels (numpy underneath) that note which thread reads what; reads off the GUI thread
    wait for ``release`` (set it to let them run)."""

    def __init__(self, data: np.ndarray[Any, Any]) -> None:
        self._data = data
        self.reads: list[tuple[bool, Any]] = []  # (on the GUI thread, key)
        self.release = threading.Event()
        self.release.set()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._data.dtype

    def __getitem__(self, key: Any) -> Any:
        on_gui = threading.current_thread() is threading.main_thread()
        self.reads.append((on_gui, key))
        if not on_gui:
            self.release.wait(20)
        return self._data[key]


def _through(key: Any, cursor: tuple[int, int, int]) -> bool:
    """True when ``key`` reads a slice (or voxel) through the cursor, nothing more."""
    key = key if isinstance(key, tuple) else (key,)
    fixed = [(axis, k) for axis, k in enumerate(key) if isinstance(k, (int, np.integer))]
    return bool(fixed) and all(int(k) == cursor[axis] for axis, k in fixed)


def test_slices_show_at_once_and_histogram_and_3d_fill_in_from_the_background(
    qapp: Any, make_main_window: Any
) -> None:
    ct = _ct()
    voxels = _RecordedVoxels(np.asarray(ct.data))
    w = make_main_window()
    w.show()
    w.show_volume(Volume(voxels, spacing_mm=ct.spacing_mm))
    # The slices are there at once; the histogram and the 3D copy are still being read.
    assert w.views[0].image.image is not None and w.views[1].image.image is not None
    assert not w.histogram.ready and not w.view3d.has_volume
    _wait(qapp, lambda: not w.display_pending())
    state = w.controller.state
    assert w.histogram.ready and w.view3d.has_volume
    assert state.window == state.presets["Auto"]  # the histogram's Auto window, once ready
    low, high = w.histogram.region.getRegion()
    assert (low, high) == pytest.approx((state.window.low, state.window.high))
    # The GUI thread read only the slices on screen; the 32 histogram slices and the strided
    # 3D copy were read by workers.
    on_gui = [key for gui, key in voxels.reads if gui]
    assert on_gui and all(_through(key, state.cursor) for key in on_gui), on_gui
    assert len([key for gui, key in voxels.reads if not gui]) >= 32


def test_cancelling_the_background_reads_leaves_the_slices_usable(
    qapp: Any, make_main_window: Any
) -> None:
    ct = _ct()
    voxels = _RecordedVoxels(np.asarray(ct.data))
    voxels.release.clear()
    w = make_main_window()
    w.show()
    w.show_volume(Volume(voxels, spacing_mm=ct.spacing_mm))
    first = w.controller.state.window
    _wait(qapp, lambda: w.background.isVisible())  # the bar shows once the work takes a while
    assert set(w.background.running()) == {"the histogram", "the 3D view"}
    w.background.cancel.click()
    voxels.release.set()
    _wait(qapp, lambda: not w.display_pending() and not w.background.isVisible())
    for _ in range(20):  # whatever the cancelled jobs still report is dropped
        qapp.processEvents()
        time.sleep(0.01)
    assert not w.histogram.ready and not w.view3d.has_volume
    assert w.controller.state.window == first and w.controller.state.histogram is None
    w.controller.step_slice(0, 1)
    assert w.views[0].image.image is not None


def test_views_are_linked_by_the_crosshair(qapp: Any, make_main_window: Any) -> None:
    from PySide6.QtCore import QPointF

    w = make_main_window()
    w.show()
    w.show_volume(_ct())
    axial, coronal, sagittal = w.views
    assert axial.image.image.shape == (50, 60)
    assert coronal.image.image.shape == (40, 60)
    assert sagittal.image.image.shape == (40, 50)
    # Click the axial view at y = 10, x = 40 (scene coordinates are mm).
    axial.point_at(QPointF((40 + 0.5) * 0.1, (10 + 0.5) * 0.1))
    assert w.controller.state.cursor == (20, 10, 40)
    assert coronal.slider.value() == 10 and sagittal.slider.value() == 40
    assert "z 20  y 10  x 40" in w.readout.text()


def test_keys_wheel_and_slider_change_slices(qapp: Any, make_main_window: Any) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeyEvent

    w = make_main_window()
    w.show()
    w.show_volume(_ct())
    axial = w.views[0]
    z0 = w.controller.state.cursor[0]
    axial.keyPressEvent(
        QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier)
    )
    axial.keyPressEvent(
        QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_PageUp, Qt.KeyboardModifier.NoModifier)
    )
    assert w.controller.state.cursor[0] == z0 + 11
    axial.stepRequested.emit(-1)  # what a wheel notch sends
    assert w.controller.state.cursor[0] == z0 + 10
    axial.slider.setValue(3)
    assert w.controller.state.cursor[0] == 3
    expected = w.controller.state.volume.slice(0, 3)
    shown = axial.image.image
    assert (shown > 128).sum() == (expected > 10000).sum()


def test_window_drag_updates_views_and_histogram(qapp: Any, make_main_window: Any) -> None:
    w = make_main_window()
    w.show()
    _show(qapp, w, _ct())
    before = w.controller.state.window
    w.views[0].windowDragged.emit(40.0, -30.0)
    after = w.controller.state.window
    assert after.width > before.width and after.center > before.center
    low, high = w.histogram.region.getRegion()
    assert (low, high) == pytest.approx((after.low, after.high))
    w.controller.apply_preset("Full range")
    assert w.controller.state.window == w.controller.state.presets["Full range"]


def test_radiograph_gets_the_2d_layout(qapp: Any, make_main_window: Any) -> None:
    w = make_main_window()
    w.show()
    image = np.random.default_rng(1).integers(0, 60000, (1, 80, 120), dtype=np.uint16)
    w.show_volume(Volume(image, modality="DX"))
    qapp.processEvents()
    assert w.views[0].isVisible()
    assert not w.views[1].isVisible() and not w.views[2].isVisible()
    assert w.view3d_dock is not None and not w.view3d_dock.isVisible()
    w.show_volume(_ct())
    qapp.processEvents()
    assert w.views[1].isVisible() and w.view3d_dock.isVisible()


def test_bad_file_shows_one_sentence_and_window_stays_up(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text: shown.append(text))
    bad = tmp_path / "scan.nrrd"
    bad.write_bytes(np.random.default_rng(2).bytes(5000))
    w = make_main_window()
    w.show()
    w.open_path(bad)
    _wait(qapp, lambda: bool(shown))
    assert str(bad) in shown[0] and "\n" not in shown[0] and "Traceback" not in shown[0]
    assert w.isVisible() and w.controller.state is None


def test_3d_view_renders_the_part(qapp: Any, make_main_window: Any) -> None:
    w = make_main_window()
    w.show()
    _show(qapp, w, _ct())
    frame = w.view3d.capture()
    assert frame.ndim == 3 and frame.shape[2] == 3
    # The part is brighter than the gradient background somewhere in the middle.
    h, wd = frame.shape[:2]
    centre = frame[h // 3 : 2 * h // 3, wd // 3 : 2 * wd // 3].astype(int).sum(axis=2)
    assert centre.max() > 300
    assert w.view3d.scene.render_mode in ("gpu-raycast", "cpu-raycast")


def test_raw_layout_dialog_checks_the_byte_count(qapp: Any, tmp_path: Path) -> None:
    from ndelab.widgets.raw_options_dialog import RawOptionsDialog

    path = tmp_path / "scan.bin"
    np.zeros((4, 5, 6), np.uint16).tofile(path)
    dialog = RawOptionsDialog(path)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.z.setValue(4)
    dialog.y.setValue(5)
    dialog.x.setValue(6)
    assert ok.isEnabled()
    assert dialog.options()["shape"] == (4, 5, 6)
    dialog.close()
