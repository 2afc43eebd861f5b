"""Per-scan intensity normalisation: air maps to 0, the part's material to 1.

Training and inference use the same estimate from the volume's own histogram (no part mask
exists at inference): Otsu splits air from material, and the medians of both sides are the
peaks. Only a few evenly spaced slices are read, so lazy volumes stay lazy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.volumes.part import otsu_threshold, sample_slices
from ndelab.volumes.volume import Volume


@dataclass(frozen=True)
class Levels:
    """The two histogram peaks in the scan's grey values."""

    air: float
    material: float

    def apply(self, block: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        span = self.material - self.air
        out = block.astype(np.float32, copy=True)
        out -= np.float32(self.air)
        out *= np.float32(1.0 / span)
        return out

    def to_json(self) -> dict[str, float]:
        return {"air": round(self.air, 3), "material": round(self.material, 3)}


def estimate_levels(volume: Volume) -> Levels:
    """Air and material peaks of a CT scan (see the module docstring).

    A radiograph has no air/material pair in general (a weld fills the frame), so its 0.5 and
    99.5 percentiles map to 0 and 1 instead.
    """
    values = sample_slices(volume)
    if volume.is_2d:
        lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
        return Levels(lo, hi if hi > lo else lo + 1.0)
    return levels_from_sample(values)


def levels_from_sample(values: npt.NDArray[np.floating]) -> Levels:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Levels(0.0, 1.0)
    t = otsu_threshold(values)
    low = values[values < t]
    high = values[values >= t]
    air = float(np.median(low)) if low.size else float(values.min())
    material = float(np.median(high)) if high.size else float(values.max())
    if not material > air:
        material = air + max(1.0, abs(air) * 1e-3)
    return Levels(air, material)
