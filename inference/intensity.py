"""Per-scan intensity normalisation: air maps to 0, the part's material to 1.

Training and inference use the same estimate from the volume's own histogram (no part mask
exists at inference): Otsu splits air from material, and the medians of both sides are the
peaks. Only a few evenly spaced slices are read, so lazy volumes stay lazy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.volumes.part import normalisation_levels, sample_slices
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
    low, high, _ = normalisation_levels(sample_slices(volume), volume.is_2d)
    return Levels(low, high)
