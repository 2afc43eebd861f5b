"""Display settings kept apart from the data: window/level, presets and histograms.

Everything here reads a bounded sample of a volume, so it is safe on lazy volumes larger than
memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume


@dataclass(frozen=True)
class Window:
    """A display window: values at or below ``low`` are black, at or above ``high`` white."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.high > self.low:
            object.__setattr__(self, "high", self.low + 1.0)

    @property
    def center(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def width(self) -> float:
        return self.high - self.low

    @classmethod
    def from_center_width(cls, center: float, width: float) -> Window:
        width = max(float(width), 1e-6)
        return cls(center - width / 2.0, center + width / 2.0)

    def dragged(self, d_center: float, d_width: float) -> Window:
        """The window after a mouse drag (Slicer-style: vertical = level, horizontal = width)."""
        return Window.from_center_width(self.center + d_center, max(self.width + d_width, 1.0))


@dataclass(frozen=True)
class Histogram:
    counts: npt.NDArray[np.int64]
    edges: npt.NDArray[np.float64]

    @property
    def centers(self) -> npt.NDArray[np.float64]:
        return (self.edges[:-1] + self.edges[1:]) / 2.0

    def percentile(self, q: float) -> float:
        """Value below which ``q`` percent of the sampled voxels lie."""
        cdf = np.cumsum(self.counts, dtype=np.float64)
        if cdf[-1] == 0:
            return float(self.edges[0])
        i = int(np.searchsorted(cdf, cdf[-1] * q / 100.0))
        return float(self.centers[min(i, len(self.counts) - 1)])


def sample_voxels(
    volume: Volume,
    max_samples: int = 2_000_000,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> npt.NDArray[Any]:
    """An evenly strided sample of the voxels, reading at most ~32 slices of a lazy volume."""
    nz, ny, nx = volume.shape
    n_slices = min(nz, 32)
    zs = np.unique(np.linspace(0, nz - 1, n_slices).round().astype(int))
    per_slice = max(1, max_samples // len(zs))
    step = max(1, int(np.sqrt(ny * nx / per_slice)))
    parts = []
    for i, z in enumerate(zs):
        check(cancel, "the histogram")
        parts.append(np.asarray(volume.data[int(z), ::step, ::step]).ravel())
        report(progress, (i + 1) / len(zs))
    return np.concatenate(parts)


def value_range(dtype: np.dtype[Any], sample: npt.NDArray[Any]) -> tuple[float, float]:
    if sample.size == 0:
        return (0.0, 1.0)
    lo, hi = float(np.nanmin(sample)), float(np.nanmax(sample))
    if dtype.kind in "ui" and dtype.itemsize <= 2 and hi == lo:
        hi = lo + 1.0
    return (lo, hi if hi > lo else lo + 1.0)


def histogram(
    volume: Volume,
    bins: int = 512,
    max_samples: int = 2_000_000,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Histogram:
    sample = sample_voxels(volume, max_samples, progress, cancel)
    lo, hi = value_range(volume.dtype, sample)
    finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
    if volume.dtype.kind in "ui" and hi - lo + 1 <= bins:
        # One bin per integer value: no empty comb teeth between values.
        bins, lo, hi = int(hi - lo + 1), lo - 0.5, hi + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    return Histogram(counts.astype(np.int64), edges.astype(np.float64))


def _material_peak(hist: Histogram) -> tuple[float, float] | None:
    """The main material peak above the air/background mode: (position, spread)."""
    counts = hist.counts.astype(np.float64)
    if counts.sum() == 0:
        return None
    kernel = np.ones(5) / 5.0
    smooth = np.convolve(counts, kernel, mode="same")
    background = int(np.argmax(smooth))
    # Look for the largest mode clearly above the background peak.
    start = background + max(3, len(counts) // 20)
    if start >= len(counts):
        return None
    rest = smooth[start:]
    if rest.max() <= 0:
        return None
    peak = start + int(np.argmax(rest))
    half = rest.max() / 2.0
    left = peak
    while left > start and smooth[left] > half:
        left -= 1
    right = peak
    while right < len(smooth) - 1 and smooth[right] > half:
        right += 1
    centers = hist.centers
    fwhm = max(float(centers[right] - centers[left]), float(hist.edges[1] - hist.edges[0]))
    return float(centers[peak]), fwhm / 2.355


def auto_window(hist: Histogram) -> Window:
    """Air to just above the densest common material: the whole part readable at once."""
    return Window(hist.percentile(0.5), hist.percentile(99.9))


def presets(hist: Histogram, volume: Volume) -> dict[str, Window]:
    """Named windows for the toolbar, computed from the data (no hard-coded HU)."""
    full_lo, full_hi = float(hist.edges[0]), float(hist.edges[-1])
    out: dict[str, Window] = {
        "Auto": auto_window(hist),
        "Full range": Window(full_lo, full_hi),
    }
    peak = _material_peak(hist)
    if peak is not None:
        center, sigma = peak
        # Narrow around the material: pores, cracks and inclusions stand out.
        out["Defects (material)"] = Window.from_center_width(center, max(12.0 * sigma, 1.0))
        out["Part vs air"] = Window(hist.percentile(0.5), center + 4.0 * sigma)
    # Windows the file itself recommends (DICOM Window Center/Width): [{center, width, name?}].
    for i, preset in enumerate(volume.metadata.get("window_presets", [])):
        name = preset.get("name") or f"window {i + 1}"
        out[f"File: {name}"] = Window.from_center_width(
            float(preset["center"]), float(preset["width"])
        )
    return out
