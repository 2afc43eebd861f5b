"""The native kernels annotation uses, through ndelab.native.

The typed facade in ndelab.native is being extended with these kernels; until a function
is there, the same-contract binding in ndelab.native._core is used directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.native import _core


def _kernel(name: str) -> Any:
    return getattr(native, name, None) or getattr(_core, name)


def edt(
    mask: npt.NDArray[np.bool_], spacing: Sequence[float] | npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Distance (mm) from each foreground voxel to the nearest background voxel."""
    return cast("npt.NDArray[np.float32]", _kernel("edt")(mask, [float(s) for s in spacing]))


def fill_holes(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Fill background not 6-connected to the border (closed pores become material)."""
    return cast("npt.NDArray[np.bool_]", _kernel("fill_holes")(mask)).astype(bool, copy=False)


def label_stats(
    mask: npt.NDArray[np.bool_], connectivity: int = 26
) -> tuple[npt.NDArray[np.int32], int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Connected components: (labels, count, voxel counts (n,), boxes (n, 6) z0 y0 x0 z1 y1 x1)."""
    out = _kernel("label_stats")(mask, connectivity)
    if isinstance(out, tuple):
        labels, count, stats = out
    else:  # a facade returning a result object
        labels, count, stats = out.labels, out.count, out.__dict__
    return (
        np.asarray(labels, np.int32),
        int(count),
        np.asarray(stats["voxel_count"], np.int64),
        np.asarray(stats["bbox"], np.int64).reshape(-1, 6),
    )
