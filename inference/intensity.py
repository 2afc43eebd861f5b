"""Per-scan intensity normalisation: air maps to 0, the part's material to 1.

Training and inference use the same estimate from the volume's own histogram (no part mask
exists at inference): Otsu splits air from material, and the medians of both sides are the
peaks. Only a few evenly spaced slices are read, so lazy volumes stay lazy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.volumes.volume import Volume

MAX_SLICES = 24
MAX_SAMPLES = 2_000_000


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


def otsu_threshold(values: npt.NDArray[np.floating], bins: int = 512) -> float:
    """The threshold that maximises the between-class variance of a 1D sample."""
    hist, edges = np.histogram(values, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centers[int(np.argmax(between))])


def sample_voxels(volume: Volume, rng_seed: int = 0) -> npt.NDArray[np.float64]:
    """Grey values from up to MAX_SLICES evenly spaced slices (never the whole volume)."""
    nz = volume.shape[0]
    zs = np.unique(np.linspace(0, nz - 1, min(nz, MAX_SLICES)).round().astype(int))
    parts = [np.asarray(volume.data[int(z)]).ravel() for z in zs]
    values = np.concatenate(parts).astype(np.float64)
    if values.size > MAX_SAMPLES:
        rng = np.random.default_rng(rng_seed)
        values = rng.choice(values, MAX_SAMPLES, replace=False)
    return values


def estimate_levels(volume: Volume) -> Levels:
    """Air and material peaks of a CT scan (see the module docstring).

    A radiograph has no air/material pair in general (a weld fills the frame), so its 0.5 and
    99.5 percentiles map to 0 and 1 instead.
    """
    values = sample_voxels(volume)
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
