"""CT slice -> uint8 RGB for SAM, the same way everywhere (encoder, cache keys, benchmark)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndelab import native

# dtypes that native.window takes as they are; anything else goes through float32.
_NATIVE_DTYPES = (np.uint8, np.uint16, np.int16, np.float32)


def window_key(low: float, high: float) -> tuple[float, float]:
    """The canonical (low, high) of a display window: plain floats, as used in cache keys."""
    lo, hi = float(low), float(high)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ValueError(f"a window needs finite low < high, got ({lo}, {hi})")
    return lo, hi


def slice_to_rgb(
    slice2d: npt.NDArray[np.generic], low: float, high: float
) -> npt.NDArray[np.uint8]:
    """Window a 2D slice onto 0..255 with ``native.window`` and repeat it into 3 channels.

    Returns a C-contiguous (rows, cols, 3) uint8 array, the HWC RGB image SAM's encoder takes.
    """
    arr = np.asarray(slice2d)
    if arr.ndim != 2:
        raise ValueError(f"slice_to_rgb needs a 2D slice, got shape {arr.shape}")
    lo, hi = window_key(low, high)
    if arr.dtype.type not in _NATIVE_DTYPES:
        arr = arr.astype(np.float32)
    gray = native.window(arr, lo, hi)
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
