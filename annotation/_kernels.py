"""The native kernels annotation uses (ndelab.native), in the shapes annotation needs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ndelab import native


def edt(
    mask: npt.NDArray[np.bool_], spacing: Sequence[float] | npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Distance (mm) from each foreground voxel to the nearest background voxel."""
    return native.edt(mask, [float(s) for s in spacing])


def fill_holes(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Fill background not 6-connected to the border (closed pores become material)."""
    return np.asarray(native.fill_holes(mask), dtype=bool)


def label_stats(
    mask: npt.NDArray[np.bool_], connectivity: int = 26
) -> tuple[npt.NDArray[np.int32], int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Connected components: (labels, count, voxel counts (n,), boxes (n, 6) z0 y0 x0 z1 y1 x1)."""
    labels, stats = native.label_stats(mask, connectivity)  # type: ignore[arg-type]
    return labels, stats.count, stats.voxel_count, stats.bbox
