"""What the three linked slice views show, without Qt: cursor, window and readout.

The controller wraps this in signals; tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ndelab.app.volume_display import DisplayHistogram, first_window
from ndelab.volumes.display import Histogram, Window
from ndelab.volumes.io import release_cached_pages
from ndelab.volumes.volume import Volume

RELEASE_EVERY = 64  # slices read between drops of a big memmap's resident pages
RELEASE_ABOVE_BYTES = 1 << 30


@dataclass(frozen=True)
class Readout:
    index_zyx: tuple[int, int, int]
    world_mm: tuple[float, float, float]
    value: float | int

    def text(self, spacing_known: bool = True) -> str:
        z, y, x = self.index_zyx
        wz, wy, wx = self.world_mm
        unit = "mm" if spacing_known else "vox (spacing unknown)"
        value = f"{self.value:.4g}" if isinstance(self.value, float) else str(self.value)
        return f"z {z}  y {y}  x {x}   ({wz:.3f}, {wy:.3f}, {wx:.3f}) {unit}   value {value}"


class ViewerState:
    """Cursor position shared by all views, the display window and the histogram.

    The histogram (and the presets made from it) arrive later, from a background job
    (``set_display``); until then the window is ``first_window``'s and there are no presets.
    """

    def __init__(self, volume: Volume, display: DisplayHistogram | None = None) -> None:
        self.volume = volume
        self.histogram: Histogram | None = None
        self.presets: dict[str, Window] = {}
        self.window: Window = first_window(volume)
        self.window_chosen = False  # the user set a window: the histogram's Auto keeps off it
        if display is not None:
            self.set_display(display)
        self.cursor: tuple[int, int, int] = tuple(s // 2 for s in volume.shape)  # type: ignore[assignment]
        self._slices_read = 0

    def clamp(self, zyx: tuple[float, float, float]) -> tuple[int, int, int]:
        z, y, x = (
            int(np.clip(round(v), 0, n - 1)) for v, n in zip(zyx, self.volume.shape, strict=True)
        )
        return (z, y, x)

    def set_cursor(self, zyx: tuple[float, float, float]) -> bool:
        """Move the crosshair; True when it moved."""
        new = self.clamp(zyx)
        changed = new != self.cursor
        self.cursor = new
        return changed

    def set_slice(self, axis: int, index: int) -> bool:
        zyx = list(self.cursor)
        zyx[axis] = index
        return self.set_cursor((zyx[0], zyx[1], zyx[2]))

    def step_slice(self, axis: int, delta: int) -> bool:
        return self.set_slice(axis, self.cursor[axis] + delta)

    def slice_image(self, axis: int) -> Any:
        image = self.volume.slice(axis, self.cursor[axis])
        self._slices_read += 1
        if self._slices_read % RELEASE_EVERY == 0 and self.volume.nbytes > RELEASE_ABOVE_BYTES:
            # Scrolled memmap pages count as resident until dropped: keep RSS flat.
            release_cached_pages(self.volume)
        return image

    def readout(self, zyx: tuple[float, float, float] | None = None) -> Readout:
        idx = self.clamp(zyx) if zyx is not None else self.cursor
        value = self.volume.data[idx]
        world = self.volume.index_to_world(idx)
        v = np.asarray(value).item()
        return Readout(idx, (float(world[0]), float(world[1]), float(world[2])), v)

    def set_display(self, display: DisplayHistogram) -> bool:
        """The histogram and presets are ready; the Auto window applies unless the user chose
        a window already. True when the window changed."""
        self.histogram = display.histogram
        self.presets = dict(display.presets)
        if self.window_chosen or self.window == self.presets["Auto"]:
            return False
        self.window = self.presets["Auto"]
        return True

    def set_window(self, window: Window) -> None:
        self.window = window
        self.window_chosen = True

    def apply_preset(self, name: str) -> Window:
        self.set_window(self.presets[name])
        return self.window
