"""Turning a raw slice into display bytes: the fast uint8 path pyqtgraph draws directly."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.volumes.display import Window

_NATIVE_TYPES = (np.uint8, np.uint16, np.int16, np.float32)


def windowed(raw: npt.NDArray[Any], window: Window) -> npt.NDArray[np.uint8]:
    """Window a 2D slice to uint8 with the native kernel (multithreaded, no numpy temporaries)."""
    if raw.dtype.type not in _NATIVE_TYPES:
        raw = raw.astype(np.float32)
    elif not raw.dtype.isnative:
        raw = raw.astype(raw.dtype.newbyteorder("="))  # big-endian files
    else:
        raw = raw.view(np.dtype(raw.dtype.type))  # '<u2' from a file header -> plain uint16
    return native.window(raw, window.low, window.high)
