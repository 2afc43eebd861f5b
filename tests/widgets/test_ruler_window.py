"""The ruler tool in the window: L, drag on a slice, the length on the line, the profile dock."""

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
