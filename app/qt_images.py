"""numpy RGB frames as Qt images (the 3D view's frames, report snapshots, screenshots)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(frame: np.ndarray[Any, Any]) -> QImage:
    """An (h, w, 3) uint8 frame as a QImage that owns its pixels (the array may go away)."""
    rgb = np.ascontiguousarray(frame, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"an RGB frame is (h, w, 3), not {rgb.shape}")
    return QImage(
        rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888
    ).copy()
