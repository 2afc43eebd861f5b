"""Histogram of the volume with the display window as a draggable region.

The histogram is computed in the background (see MainWindow.show_volume): the panel is empty
from a new volume until the controller says its display is ready.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ndelab.app.controller import ViewerController
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume


class HistogramPanel(QWidget):
    def __init__(self, controller: ViewerController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._ready = False
        self.plot = pg.PlotWidget(background="#181818")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getPlotItem().hideAxis("left")
        self.plot.setLabel("bottom", "value")
        self.curve = self.plot.plot(
            stepMode="center", fillLevel=0, brush=(120, 160, 220, 120), pen="#8fb4e8"
        )
        self.region = pg.LinearRegionItem(brush=(230, 200, 80, 50), pen=pg.mkPen("#e8c547"))
        self.plot.addItem(self.region)
        self.presets = QComboBox()
        self.presets.setToolTip("Window presets computed from this volume's histogram")
        self.auto = QPushButton("Auto")
        self.auto.setToolTip("Auto window from the histogram")
        row = QHBoxLayout()
        row.addWidget(self.presets, 1)
        row.addWidget(self.auto)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)

        self.region.sigRegionChanged.connect(self._region_moved)
        self.presets.textActivated.connect(controller.apply_preset)
        self.auto.clicked.connect(lambda: controller.apply_preset("Auto"))
        controller.volumeChanged.connect(self._on_volume)
        controller.displayChanged.connect(self._on_display)
        controller.windowChanged.connect(self._on_window)

    @property
    def ready(self) -> bool:
        """True once the shown volume's histogram is drawn."""
        return self._ready

    def _on_volume(self, _volume: Volume) -> None:
        self._ready = False
        self.curve.clear()
        self.presets.clear()

    def _on_display(self, _volume: Volume) -> None:
        state = self.controller.state
        if state is None or state.histogram is None:
            return
        hist = state.histogram
        # log(1 + n): air dominates CT histograms and would flatten the material peaks.
        self.curve.setData(hist.edges, np.log1p(hist.counts.astype(np.float64)))
        self.plot.setXRange(float(hist.edges[0]), float(hist.edges[-1]), padding=0.02)
        self.presets.clear()
        self.presets.addItems(list(state.presets))
        self._ready = True

    def _on_window(self, window: Window) -> None:
        self.region.blockSignals(True)
        self.region.setRegion((window.low, window.high))
        self.region.blockSignals(False)

    def _region_moved(self) -> None:
        low, high = self.region.getRegion()
        self.controller.set_window(Window(float(low), float(high)))
