"""Typed facade over the C++ volume kernels in ``ndelab.native._core``.

Every kernel releases the GIL, accepts C-, Fortran-ordered and strided arrays, and raises
TypeError or ValueError (never crashes) on a wrong dtype, ndim or shape.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ndelab.native import _core

__all__ = ["window"]


def window(volume: npt.NDArray[np.generic], low: float, high: float) -> npt.NDArray[np.uint8]:
    """Map the intensity interval [low, high] linearly onto uint8 0..255, clamping outside.

    Accepts uint8, uint16, int16 and float32 arrays of 1 to 3 dimensions.
    """
    if not isinstance(volume, np.ndarray):
        raise TypeError(f"window: expected a numpy array, got {type(volume).__name__}")
    return _core.window(volume, float(low), float(high))
