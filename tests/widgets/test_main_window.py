"""The main window driven as a user would: clicks, keys, drags, bad files."""

from __future__ import annotations

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
    w.show_volume(_ct())
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
    w.show_volume(_ct())
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
