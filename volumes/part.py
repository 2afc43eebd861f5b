"""Where the part is in a CT scan: air against material, closed pores filled.

The part's material volume is the porosity denominator and its surface sets each defect's
depth, so every path that stores calls uses this one estimate. Otsu's threshold on a sample of
evenly spaced slices splits air from material; the mask is then built a slice at a time, so a
lazy volume is read once and never copied whole in another dtype.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

log = logging.getLogger(__name__)

MAX_SLICES = 24
MAX_SAMPLES = 2_000_000
# A material peak this close to the air peak is noise, not a part in air.
MIN_CONTRAST = 1e-6
# The mask is whole-volume (1 byte a voxel, twice over while holes are filled): above this a
# scan larger than memory must still open, so its part is not segmented (porosity then falls
# back to the scanned volume, and the log says so).
MAX_PART_VOXELS = 2**28


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


def sample_slices(volume: Volume, rng_seed: int = 0) -> npt.NDArray[np.float64]:
    """Grey values from up to MAX_SLICES evenly spaced slices (never the whole volume)."""
    nz = volume.shape[0]
    zs = np.unique(np.linspace(0, nz - 1, min(nz, MAX_SLICES)).round().astype(int))
    parts = [np.asarray(volume.data[int(z)]).ravel() for z in zs]
    values = np.concatenate(parts).astype(np.float64)
    if values.size > MAX_SAMPLES:
        rng = np.random.default_rng(rng_seed)
        values = rng.choice(values, MAX_SAMPLES, replace=False)
    return values


def normalisation_levels(
    values: npt.NDArray[np.float64], is_2d: bool
) -> tuple[float, float, float]:
    """(low, high, threshold) of a grey-value sample: the levels the models normalise by (map
    low to 0 and high to 1). CT: Otsu splits air from material, low and high are the medians
    of both sides; a radiograph (no air/material pair in general: a weld fills the frame):
    its 0.5 and 99.5 percentiles."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0, 0.5
    if is_2d:
        lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
        return lo, hi if hi > lo else lo + 1.0, (lo + hi) / 2
    t = otsu_threshold(values)
    low, high = values[values < t], values[values >= t]
    air = float(np.median(low)) if low.size else float(values.min())
    material = float(np.median(high)) if high.size else float(values.max())
    if not material > air:
        material = air + max(1.0, abs(air) * 1e-3)
    return air, material, t


def segment_part(
    volume: Volume, progress: Progress | None = None, cancel: Cancel | None = None
) -> npt.NDArray[np.bool_] | None:
    """The part's mask (material with its closed pores filled), or None where there is no part
    in air to find: a radiograph (the part fills the frame) or a scan of one grey value."""
    if volume.is_2d:
        return None
    if int(np.prod(volume.shape)) > MAX_PART_VOXELS:
        log.warning(
            "%s: %s voxels, more than the %s the part mask may take; the part is not segmented",
            volume.source or "the scan",
            int(np.prod(volume.shape)),
            MAX_PART_VOXELS,
        )
        return None
    values = sample_slices(volume)
    values = values[np.isfinite(values)]
    if values.size == 0 or float(np.ptp(values)) <= MIN_CONTRAST * max(1.0, abs(values.max())):
        return None
    threshold = otsu_threshold(values)
    nz = volume.shape[0]
    material = np.empty(volume.shape, dtype=bool)
    for z in range(nz):
        check(cancel)
        np.greater_equal(np.asarray(volume.data[z]), threshold, out=material[z])
        if z % 32 == 0:
            report(progress, 0.8 * z / nz)
    filled = np.asarray(native.fill_holes(material), dtype=bool)
    report(progress, 1.0)
    return filled


def part_volume_mm3(part_mask: npt.NDArray[np.bool_], spacing_mm: tuple[float, ...]) -> float:
    """The material volume of a part mask (its closed pores count as part)."""
    filled = np.asarray(native.fill_holes(np.asarray(part_mask, bool)), dtype=bool)
    return float(np.count_nonzero(filled)) * float(np.prod(spacing_mm))
