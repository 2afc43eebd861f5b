"""View tools in the window: the ruler (L) with its profile dock; the views saved as an image."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ndelab.volumes.volume import Volume

pytestmark = pytest.mark.gui


def test_a_ruler_measures_a_wall_and_shows_its_profile(qapp: Any, make_main_window: Any) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    data = np.full((12, 40, 60), 500, np.uint16)
    data[:, :, 20:32] = 9000  # a 12-voxel wall, 3 mm at 0.25 mm
    w = make_main_window(with_3d=False)
    w.show()
    w.activateWindow()
    w.show_volume(Volume(data, spacing_mm=(1.0, 0.25, 0.25)))
    qapp.processEvents()
    key = QKeySequence("L")[0]
    QTest.keyClick(w, key.key(), key.keyboardModifiers())
    assert w.edits.tool == "ruler"  # no review is needed to measure

    z = w.controller.state.cursor[0]
    assert w.edits.handle("press", 0, (z, 20.0, 10.0))
    w.edits.handle("drag", 0, (z, 20.0, 30.0))
    w.edits.handle("release", 0, (z + 3.0, 20.0, 50.0))  # stays on the slice it began on
    qapp.processEvents()
    ruler = w.edits.ruler
    assert ruler is not None and ruler.end[0] == z
    assert w.views[0].ruler_line.isVisible()
    assert not w.views[1].ruler_line.isVisible()  # drawn on its own slice only
    assert w.views[0].ruler_label.toPlainText() == "10.000 mm"
    assert "10.000 mm" in w.statusBar().currentMessage()
    distance, values = w.profile.curve.getData()
    wall = distance[values > 4000]
    assert wall[-1] - wall[0] == pytest.approx(11 * 0.25, abs=0.26)
    assert "max 9000" in w.profile.caption.text()

    w.controller.set_slice(0, z + 1)  # another slice: the ruler is not drawn there
    qapp.processEvents()
    assert not w.views[0].ruler_line.isVisible()
    w.edits.set_tool("navigate")  # Esc
    assert w.edits.ruler is None
    assert w.profile.curve.getData()[0] is None or len(w.profile.curve.getData()[0]) == 0


def test_the_slice_views_save_as_an_image(qapp: Any, make_main_window: Any, tmp_path: Any) -> None:
    from PySide6.QtGui import QImage

    w = make_main_window(with_3d=False)
    w.show()
    w.show_volume(Volume(np.full((8, 30, 40), 700, np.uint16), spacing_mm=(1.0, 1.0, 1.0)))
    qapp.processEvents()
    out = tmp_path / "views.png"
    w.save_views_image(str(out))
    image = QImage(str(out))
    assert not image.isNull() and image.width() > 200 and image.height() > 200
    assert "Wrote" in w.statusBar().currentMessage()


class _Drag:
    """A left-button drag event as pyqtgraph hands it to the view box."""

    def __init__(self, down: Any, here: Any, *, start: bool, finish: bool) -> None:
        self.down, self.here, self.start, self.finish = down, here, start, finish

    def button(self) -> Any:
        from PySide6.QtCore import Qt

        return Qt.MouseButton.LeftButton

    def modifiers(self) -> Any:
        from PySide6.QtCore import Qt

        return Qt.KeyboardModifier.NoModifier

    def scenePos(self) -> Any:
        return self.here

    def buttonDownScenePos(self) -> Any:
        return self.down

    def isStart(self) -> bool:
        return self.start

    def isFinish(self) -> bool:
        return self.finish

    def accept(self) -> None:
        pass


def test_a_drag_on_the_view_starts_where_the_button_went_down(
    qapp: Any, make_main_window: Any
) -> None:
    from PySide6.QtCore import QPointF

    w = make_main_window(with_3d=False)
    w.show()
    w.show_volume(Volume(np.full((6, 40, 40), 900, np.uint16), spacing_mm=(1.0, 0.5, 0.5)))
    qapp.processEvents()
    w.edits.set_tool("ruler")
    box = w.views[0].viewbox

    def scene(col: float, row: float) -> Any:  # voxel centre -> scene position
        return box.mapViewToScene(QPointF((col + 0.5) * 0.5, (row + 0.5) * 0.5))

    down, moved, end = scene(5, 10), scene(8, 10), scene(25, 10)
    box.mouseDragEvent(_Drag(down, moved, start=True, finish=False))
    box.mouseDragEvent(_Drag(down, end, start=False, finish=True))
    ruler = w.edits.ruler
    assert ruler is not None
    assert ruler.start[1:] == pytest.approx((10.0, 5.0), abs=0.01)  # not where the drag began
    assert ruler.end[1:] == pytest.approx((10.0, 25.0), abs=0.01)
    assert w.views[0].ruler_label.toPlainText() == "10.000 mm"
    assert len(w.profile.curve.getData()[0]) == 21  # read once, on release
