"""Slice change to rendered frame, 1024² uint16 slices, against pyqtgraph's own levels path.

Ours: native window kernel to uint8, then ImageItem's direct uint8 path. Peer: the usual
pyqtgraph way, ImageItem.setImage(uint16 slice, levels=...) which builds a LUT per frame.
Both paint synchronously (repaint), so the time covers everything up to pixels on screen.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np


def _volume(n_slices: int, edge: int) -> Any:
    from ndelab.volumes.volume import Volume

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:edge, 0:edge]
    disc = ((y - edge / 2) ** 2 + (x - edge / 2) ** 2) < (0.4 * edge) ** 2
    base = np.where(disc, 22000, 1000).astype(np.uint16)
    data = np.empty((n_slices, edge, edge), np.uint16)
    for z in range(n_slices):
        data[z] = base + rng.integers(0, 800, (edge, edge), dtype=np.uint16)
    return Volume(data, spacing_mm=(0.1, 0.1, 0.1))


def _stats(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 3),
        "max_ms": round(ms[-1], 3),
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from ndelab.app.controller import ViewerController
    from ndelab.widgets.main_window import application
    from ndelab.widgets.slice_view import SliceView

    edge = 256 if quick else 1024
    n_slices = 16 if quick else 64
    steps = 40 if quick else 200
    app = application()
    controller = ViewerController()
    view = SliceView(controller, axis=0)
    view.resize(1100, 1100)
    view.show()
    volume = _volume(n_slices, edge)
    controller.set_volume(volume)
    app.processEvents()
    state = controller.state
    assert state is not None

    def ours(z: int) -> None:
        controller.set_slice(0, z)
        view.graphics.viewport().repaint()

    window = state.window

    def peer(z: int) -> None:
        view.image.setImage(
            np.asarray(volume.data[z]), autoLevels=False, levels=(window.low, window.high)
        )
        view.graphics.viewport().repaint()

    results: dict[str, Any] = {}
    for name, fn in (("ndelab", ours), ("pyqtgraph_levels", peer)):
        for z in range(n_slices):  # warm caches and pyqtgraph's LUT
            fn(z)
        times = []
        for i in range(steps):
            z = (i * 7) % n_slices  # jumps, as when dragging the slider
            t0 = time.perf_counter()
            fn(z)
            times.append(time.perf_counter() - t0)
        results[name] = _stats(times)
    view.close()
    app.processEvents()
    median = results["ndelab"]["median_ms"]
    return {
        "benchmark": "slice change to rendered frame",
        "slice": f"{edge}x{edge} uint16",
        "qt_platform": app.platformName(),
        "ndelab": results["ndelab"],
        "peer": {"name": "pyqtgraph ImageItem uint16 + levels", **results["pyqtgraph_levels"]},
        "speedup_vs_peer": round(results["pyqtgraph_levels"]["median_ms"] / median, 2),
        "goal_median_ms": 10.0,
        "goal_met": median <= 10.0,
    }
