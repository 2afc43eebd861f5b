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
