"""The line profile dock: voxel values along the ruler, against the distance from its start."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

HINT = "Ruler (L): drag across a wall or a gap; its values show here."


class ProfilePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="#111")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("left", "value")
        self.plot.setLabel("bottom", "distance", units="")
        self.curve = self.plot.plot(pen=pg.mkPen("#ffd54a", width=2))
        self.caption = QLabel(HINT)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)

    def show_profile(self, distance: Any, values: Any, unit: str, text: str) -> None:
        self.curve.setData(np.asarray(distance), np.asarray(values))
        self.plot.setLabel("bottom", f"distance along the ruler ({unit})")
        v = np.asarray(values)
        self.caption.setText(f"{text}   min {v.min():g}   max {v.max():g}   mean {v.mean():.1f}")

    def clear(self) -> None:
        self.curve.setData([], [])
        self.caption.setText(HINT)
