"""What a scan looks like to a pre-label model: a few numbers per scan for input drift checks.

The models normalise each scan by its own histogram (CT: air maps to 0, the material peak to 1;
a radiograph: its 0.5 and 99.5 percentiles map to 0 and 1), so the features that matter are
measured in those units, plus the raw contrast and spacing the normalisation hides:

- ``p01`` .. ``p99``: percentiles of the normalised grey values (how the histogram sits).
- ``noise``: the noise's standard deviation in normalised units, from the median absolute
  value of Immerkaer's noise operator (a 3x3 second difference that cancels planes and ramps),
  in the material's interior for CT, everywhere for a radiograph (the median ignores edges).
- ``contrast``: material minus air in raw grey values (radiograph: the 99.5 - 0.5 percentile
  span). It shows a new material, tube voltage or reconstruction scale the model never sees.
- ``peak_width`` (CT): the robust width (IQR / 1.349) of the material peak, normalised, in the
  part's interior: noise plus cupping plus material inhomogeneity.
- ``edge_width``: the 10-90 % width (voxels) of an edge, assuming a Gaussian blur. Measured by
  re-blurring: at strong edges the gradient of the image smoothed by s1 and by s2 falls as
  1 / sqrt(sigma^2 + s^2), and their ratio gives sigma whatever the step's height.
- ``spacing``: mean voxel size in mm (None when the file gave none).

Only a bounded sample of slices is read (``volumes.part.sample_slices`` for the levels, up to
MAX_FEATURE_SLICES, MAX_FEATURE_PIXELS in all, for the spatial measures), so lazy volumes stay
lazy and a 2048² slice costs no more than a few small ones. numpy and scipy only:
the training side (inference) and the store side (annotation) both call this one function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.part import normalisation_levels, sample_slices
from ndelab.volumes.volume import Volume

FEATURES_VERSION = 1
MAX_FEATURE_SLICES = 8
MAX_FEATURE_PIXELS = 4_000_000
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
CT_FEATURES = (
    "p01",
    "p05",
    "p50",
    "p95",
    "p99",
    "noise",
    "contrast",
    "peak_width",
    "edge_width",
    "spacing",
)
RADIOGRAPH_FEATURES = (
    "p05",
    "p25",
    "p50",
    "p75",
    "p95",
    "noise",
    "contrast",
    "edge_width",
    "spacing",
)
# Immerkaer (1996): sigma = sqrt(pi/2) / 6 * mean|I * N|; with the median, 1.4826 / 6 * MAD.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
_MAD_TO_SIGMA = 1.4826
_BLUR_S1, _BLUR_S2 = 1.0, 2.0  # re-blur sigmas (pixels) of the edge width estimate
_GAUSS_10_90 = 2.5631  # 10-90 % rise of an erf edge, in units of its sigma
_MIN_PIXELS = 64


def feature_names(dims: int) -> tuple[str, ...]:
    """The features measured on a CT volume (3) or a radiograph (2)."""
    return CT_FEATURES if dims == 3 else RADIOGRAPH_FEATURES


def _feature_slices(volume: Volume) -> list[npt.NDArray[np.float32]]:
    """Up to MAX_FEATURE_SLICES evenly spaced slices away from the caps, fewer for big slices
    (MAX_FEATURE_PIXELS in all, at least two slices)."""
    nz, ny, nx = volume.shape
    count = int(np.clip(MAX_FEATURE_PIXELS // max(ny * nx, 1), 2, MAX_FEATURE_SLICES))
    lo, hi = (nz // 8, nz - 1 - nz // 8) if nz > 8 else (0, nz - 1)
    zs = np.unique(np.linspace(lo, hi, min(nz, count)).round().astype(int))
    return [np.asarray(volume.data[int(z)], dtype=np.float32) for z in zs]


def _noise(
    slices: list[npt.NDArray[np.float32]],
    masks: list[npt.NDArray[np.bool_]],
    photon: bool = False,
) -> float:
    """Noise sigma in the slices' units; ``photon``: in units of sqrt(local signal)."""
    parts = []
    for img, mask in zip(slices, masks, strict=True):
        if img.shape[0] < 3 or img.shape[1] < 3:
            continue
        response = ndimage.convolve(img, _NOISE_KERNEL, mode="reflect")
        if photon:
            local = ndimage.uniform_filter(img, 5, mode="reflect")
            response = response / np.sqrt(np.maximum(local, 1.0))
        parts.append(response[mask])
    values = np.concatenate(parts) if parts else np.empty(0)
    if values.size < _MIN_PIXELS:
        return float("nan")
    mad = float(np.median(np.abs(values - np.median(values))))
    return _MAD_TO_SIGMA * mad / 6.0


def _edge_sigma(slices: list[npt.NDArray[np.float32]], floor: float) -> float:
    """The Gaussian blur sigma (pixels) at the strongest edge pixels (see the module
    docstring): per slice, the 2 * side strongest, where at least that many stand out of the
    noise (an edge across the slice, not the rims of a few small defects)."""
    ratios = []
    for img in slices:
        if min(img.shape) < 16:
            continue
        g1 = _gradient(ndimage.gaussian_filter(img, _BLUR_S1, mode="nearest")).ravel()
        k = int(2 * np.sqrt(g1.size))
        if np.count_nonzero(g1 >= max(floor, 1e-12)) < k:
            continue
        g2 = _gradient(ndimage.gaussian_filter(img, _BLUR_S2, mode="nearest")).ravel()
        strong = np.argpartition(g1, g1.size - k)[-k:]
        ratios.append(g2[strong] / g1[strong])
    r = np.concatenate(ratios) if ratios else np.empty(0)
    if r.size < 8:
        return float("nan")
    r2 = float(np.median(r)) ** 2
    if not 0.0 < r2 < 1.0:
        return float("nan")
    s2 = (r2 * _BLUR_S2**2 - _BLUR_S1**2) / (1.0 - r2)
    return float(np.sqrt(max(s2, 0.0)))


def _gradient(img: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    # Central differences: the image is smoothed already, so no Sobel smoothing on top.
    gy, gx = np.gradient(img)
    return np.asarray(np.hypot(gy, gx))


def _clean(value: float, digits: int = 5) -> float | None:
    return float(f"{value:.{digits}g}") if np.isfinite(value) else None


def scan_features(volume: Volume) -> dict[str, Any]:
    """The drift features of one scan (see the module docstring): {"version", "dims", name:
    value or None where it cannot be measured (no material interior, no edges)}."""
    is_2d = volume.is_2d
    dims = 2 if is_2d else 3
    values = sample_slices(volume)
    values = values[np.isfinite(values)]
    lo, hi, threshold = normalisation_levels(values, is_2d)
    span = hi - lo
    out: dict[str, Any] = {"version": FEATURES_VERSION, "dims": dims}
    pcts = np.percentile((values - lo) / span, PERCENTILES) if values.size else None
    for i, p in enumerate(PERCENTILES):
        out[f"p{p:02d}"] = None if pcts is None else _clean(float(pcts[i]))
    raw = _feature_slices(volume)
    slices = [(s - lo) / span for s in raw]
    if is_2d:
        masks = [np.ones(s.shape, bool) for s in slices]
    else:
        cut = (threshold - lo) / span
        masks = [ndimage.binary_erosion(s >= cut, iterations=3) for s in slices]
        interior = np.concatenate([s[m] for s, m in zip(slices, masks, strict=True)])
        width = float("nan")
        if interior.size >= _MIN_PIXELS:
            q25, q75 = np.percentile(interior, [25, 75])
            width = float(q75 - q25) / 1.349
        out["peak_width"] = _clean(width)
    noise = _noise(slices, masks)
    # A radiograph's noise grows with its signal (photons): sigma / sqrt(signal) is the same
    # for a thick weld and a thin casting, where the normalised sigma differs fourfold.
    out["noise"] = _clean(_noise(raw, masks, photon=True) if is_2d else noise)
    out["contrast"] = _clean(span)
    # Edges count where the smoothed gradient stands well above the noise's.
    floor = 10.0 * (noise if np.isfinite(noise) else 0.0) / (2.0 * _BLUR_S1)
    out["edge_width"] = _clean(_GAUSS_10_90 * _edge_sigma(slices, floor))
    out["spacing"] = _clean(float(np.mean(volume.spacing_mm))) if volume.spacing_known else None
    return {k: out[k] for k in ("version", "dims", *feature_names(dims))}
