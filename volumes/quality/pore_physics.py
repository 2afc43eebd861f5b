"""The radiographic signal of a gas pore, shared by the phantom generator's model, the
classical detector's matched filters (inference.radiograph) and the detectability map.

A spherical pore of diameter d (mm) in material of attenuation mu (1/mm) shortens the path
through each pixel by its chord, 2 sqrt(r² - rho²), so the transmitted intensity rises by the
factor exp(mu * chord): the signal at local intensity I is I (exp(mu chord) - 1), blurred by
the detector's unsharpness (a Gaussian PSF of sigma px, which a duplex IQI reading gives back
through :func:`psf_sigma_from_srb`). The classical detector correlates the image in
noise units with unit-energy blurred discs and seeds a call above a fixed SNR
(:data:`DETECTOR_SEED_SNR`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

F64 = npt.NDArray[np.float64]

#: The classical detector's seed threshold (matched-filter SNR; inference.radiograph.detector).
DETECTOR_SEED_SNR = 7.0
#: The classical detector's matched-filter bank (pore diameters in px).
DETECTOR_DIAMETERS_PX = (2.5, 3.5, 5.0, 7.0, 10.0, 14.0)
#: SRb (px) = sqrt((SRB_PER_SIGMA sigma)² + SRB_FLOOR_PX²) for a Gaussian PSF of sigma px:
#: fitted to the phantom's numeric duplex wire model (volumes.phantom.iqi.true_srb_px, which
#: includes the pixel aperture and the wires' width) within 2 % for sigma 0.5-2 px.
SRB_PER_SIGMA = 1.418
SRB_FLOOR_PX = 0.41


def pore_template(diameter_px: float, psf_sigma_px: float) -> F64:
    """A disc of this diameter blurred by the PSF, on a grid wide enough for both, scaled to
    unit energy: the classical detector's matched filter."""
    r = diameter_px / 2.0
    half = int(math.ceil(r + 3.0 * psf_sigma_px + 1.0))
    # 4x supersampled disc for sub-pixel diameters, then the Gaussian PSF.
    ss = 4
    g = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    disc = (yy**2 + xx**2 <= r * r).astype(np.float64)
    disc = disc.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3))
    if psf_sigma_px > 0:
        disc = ndimage.gaussian_filter(disc, psf_sigma_px, mode="constant")
    return np.asarray(disc / np.sqrt(np.sum(disc**2)), dtype=np.float64)


def pore_contrast(
    diameter_px: float, pixel_mm: float, mu_per_mm: float, psf_sigma_px: float, pad_px: int = 0
) -> F64:
    """Relative signal (exp(mu chord) - 1) of a spherical pore centred on a pixel, blurred by
    the PSF: multiply by the local intensity for grey levels."""
    r = diameter_px / 2.0
    half = int(math.ceil(r + 3.0 * psf_sigma_px + 1.0)) + pad_px
    ss = 4
    g = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    chord_px = 2.0 * np.sqrt(np.clip(r * r - yy**2 - xx**2, 0.0, None))
    rel = np.expm1(mu_per_mm * chord_px * pixel_mm)
    rel = rel.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3))
    if psf_sigma_px > 0:
        rel = ndimage.gaussian_filter(rel, psf_sigma_px, mode="constant")
    return np.asarray(rel, dtype=np.float64)


def detector_response(
    diameter_px: float,
    pixel_mm: float,
    mu_per_mm: float,
    psf_sigma_px: float,
    bank_px: tuple[float, ...] = DETECTOR_DIAMETERS_PX,
    bank_sigma_px: float | None = None,
) -> float:
    """The best matched-filter response of the detector's bank to a pore of unit intensity
    over unit noise: SNR = (I / sigma_noise) x this. ``bank_sigma_px`` is the PSF the bank's
    filters assume (the detector's fixed setting; the true blur when None)."""
    s = pore_contrast(diameter_px, pixel_mm, mu_per_mm, psf_sigma_px, pad_px=8)
    best = 0.0
    for d in bank_px:
        t = pore_template(d, psf_sigma_px if bank_sigma_px is None else bank_sigma_px)
        # The response at the pore's centre: the correlation of s and t about their centres.
        resp = signal.correlate(s, t, mode="same")
        best = max(best, float(resp[s.shape[0] // 2, s.shape[1] // 2]))
    return best


def psf_sigma_from_srb(srb_px: float) -> float:
    """The Gaussian PSF sigma (px) whose duplex reading gives ``srb_px``."""
    return float(math.sqrt(max(srb_px * srb_px - SRB_FLOOR_PX**2, 0.0)) / SRB_PER_SIGMA)
