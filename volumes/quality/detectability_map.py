"""A map of the smallest pore the classical detector can find at each place of a radiograph.

At each place the detector's matched-filter SNR for a pore of diameter d is
(I / sigma) x g(d): I the local signal level (intensity), sigma the local noise, and g(d) the
best response of its filter bank to the pore's relative signal exp(mu chord) - 1 blurred by
the unsharpness the duplex IQI measured (SRb), over unit noise (volumes.quality.pore_physics,
the same physics the phantom draws with). The smallest detectable diameter is the d at which
that SNR reaches the detector's seed threshold. Local noise and level are robust statistics
(the median absolute value of a high-pass, the median grey value) in overlapping windows, so a
pore or an IQI wire does not raise them; the window grid is interpolated to every pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.image import as_radiograph
from ndelab.volumes.quality.pore_physics import (
    DETECTOR_SEED_SNR,
    detector_response,
    psf_sigma_from_srb,
)
from ndelab.volumes.volume import Volume

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
MAD = 1.4826
# x - mean of its 8 neighbours: white noise of sigma s gives s sqrt(1 + 8/64).
HIGH_PASS = np.full((3, 3), -1.0 / 8.0)
HIGH_PASS[1, 1] = 1.0
HIGH_PASS_GAIN = math.sqrt(1.0 + 8.0 / 64.0)
#: Default attenuation (1/mm) per material, at the phantom generator's effective energy.
MU_PER_MM = {"steel": 0.13, "aluminium": 0.05, "iron": 0.13}
DETECTOR_PSF_SIGMA_PX = 1.0  # what the classical detector's filter bank assumes


@dataclass(frozen=True)
class DetectabilityMap:
    """Smallest detectable pore diameter (mm) per pixel (inf: none up to the largest tried),
    with the local noise and level it came from."""

    diameter_mm: F32
    noise_sigma: F32
    level: F32
    srb_um: float
    psf_sigma_px: float
    pixel_mm: float
    mu_per_mm: float
    threshold: float

    def fraction_above(self, limit_mm: float, mask: npt.ArrayLike | None = None) -> float:
        """Fraction of the area (of ``mask``, the part) where the smallest detectable pore is
        larger than ``limit_mm``: where a pore at that limit cannot be guaranteed found."""
        d = self.diameter_mm
        sel = np.ones(d.shape, bool) if mask is None else np.asarray(mask, bool).reshape(d.shape)
        n = int(sel.sum())
        return float(np.count_nonzero(d[sel] > limit_mm) / n) if n else 0.0

    def summary(
        self, limit_mm: float | None = None, mask: npt.ArrayLike | None = None
    ) -> dict[str, Any]:
        d = self.diameter_mm
        sel = np.ones(d.shape, bool) if mask is None else np.asarray(mask, bool).reshape(d.shape)
        finite = d[sel & np.isfinite(d)]
        out: dict[str, Any] = {
            "median_mm": round(float(np.median(finite)), 3) if finite.size else None,
            "p90_mm": round(float(np.percentile(finite, 90)), 3) if finite.size else None,
            "srb_um": round(self.srb_um, 1),
            "psf_sigma_px": round(self.psf_sigma_px, 3),
            "mu_per_mm": self.mu_per_mm,
            "threshold_snr": self.threshold,
        }
        if limit_mm is not None:
            out["limit_mm"] = limit_mm
            out["fraction_above_limit"] = round(self.fraction_above(limit_mm, mask), 4)
        return out


def _tile_median(values: F64, tile: int) -> F64:
    """Median of each tile x tile block (the image cropped to whole tiles)."""
    h, w = (values.shape[0] // tile) * tile, (values.shape[1] // tile) * tile
    blocks = values[:h, :w].reshape(h // tile, tile, w // tile, tile).swapaxes(1, 2)
    return np.asarray(np.median(blocks.reshape(h // tile, w // tile, -1), axis=2), np.float64)


def _to_pixels(grid: F64, shape: tuple[int, int], tile: int) -> F64:
    """Tile values (at tile centres) interpolated to every pixel, held flat past the edges."""
    ys = (np.arange(shape[0]) + 0.5) / tile - 0.5
    xs = (np.arange(shape[1]) + 0.5) / tile - 0.5
    ys = np.clip(ys, 0, grid.shape[0] - 1)
    xs = np.clip(xs, 0, grid.shape[1] - 1)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return np.asarray(ndimage.map_coordinates(grid, [yy, xx], order=1), np.float64)


def response_curve(
    pixel_mm: float,
    mu_per_mm: float,
    psf_sigma_px: float,
    diameters_px: Sequence[float] | None = None,
) -> tuple[F64, F64]:
    """(diameters px, the detector's best response to each, made non-decreasing)."""
    d = np.asarray(diameters_px if diameters_px is not None else np.geomspace(0.5, 40.0, 36))
    g = np.array(
        [
            detector_response(
                float(x), pixel_mm, mu_per_mm, psf_sigma_px, bank_sigma_px=DETECTOR_PSF_SIGMA_PX
            )
            for x in d
        ]
    )
    return d, np.maximum.accumulate(g)


def detectability_map(
    image: Volume | npt.ArrayLike,
    *,
    srb_um: float,
    pixel_mm: float,
    mu_per_mm: float,
    threshold: float = DETECTOR_SEED_SNR,
    tile_px: int = 16,
) -> DetectabilityMap:
    """The smallest detectable pore diameter (mm) at every pixel of a radiograph (intensity:
    bright = more transmitted), for the detector's seed ``threshold``. ``srb_um`` is the
    detector-plane SRb from the duplex IQI."""
    img = as_radiograph(image)
    if not (srb_um > 0 and pixel_mm > 0 and mu_per_mm > 0 and threshold > 0):
        raise UsageError(
            "a detectability map needs a positive SRb, pixel size, attenuation and threshold"
        )
    if min(img.shape) < 2 * tile_px:
        raise UsageError(
            f"the {img.shape[0]} x {img.shape[1]} image is too small for a detectability map"
        )
    hp = ndimage.correlate(img, HIGH_PASS, mode="reflect")
    # Medians of 16 px tiles, then averaged 2 x 2: a 32 px window every 16 px.
    noise_t = MAD * _tile_median(np.abs(hp), tile_px) / HIGH_PASS_GAIN
    level_t = _tile_median(img, tile_px)
    noise_t = ndimage.uniform_filter(noise_t, 2, mode="nearest")
    level_t = ndimage.uniform_filter(level_t, 2, mode="nearest")
    sigma_psf = psf_sigma_from_srb(srb_um / 1000.0 / pixel_mm)
    d_px, g = response_curve(pixel_mm, mu_per_mm, sigma_psf)
    need = threshold * noise_t / np.maximum(level_t, 1e-9)
    # The smallest d whose response reaches the need, interpolated in log d.
    log_d = np.interp(need, g, np.log(d_px), left=np.log(d_px[0]), right=np.inf)
    dmin_t = np.where(need > g[-1], np.inf, np.exp(np.minimum(log_d, 50.0))) * pixel_mm
    shape = (img.shape[0], img.shape[1])
    finite = np.where(np.isfinite(dmin_t), dmin_t, 1e6)
    dmin = _to_pixels(finite, shape, tile_px)
    dmin = np.where(dmin >= 1e5, np.inf, dmin)
    return DetectabilityMap(
        diameter_mm=dmin.astype(np.float32),
        noise_sigma=_to_pixels(noise_t, shape, tile_px).astype(np.float32),
        level=_to_pixels(level_t, shape, tile_px).astype(np.float32),
        srb_um=float(srb_um),
        psf_sigma_px=sigma_psf,
        pixel_mm=float(pixel_mm),
        mu_per_mm=float(mu_per_mm),
        threshold=float(threshold),
    )


def mu_for(material: str | None, metadata: Any = None) -> float:
    """Attenuation (1/mm) for the map: the phantom's own when its metadata says, else the
    material's default."""
    if isinstance(metadata, dict):
        mu = (metadata.get("params") or {}).get("mu_per_mm")
        if isinstance(mu, int | float) and mu > 0:
            return float(mu)
    key = (material or "steel").lower()
    key = {"aluminum": "aluminium", "al": "aluminium", "fe": "steel"}.get(key, key)
    if key not in MU_PER_MM:
        raise UsageError(
            f"no attenuation is known for material {material!r}: use steel or aluminium"
        )
    return MU_PER_MM[key]
