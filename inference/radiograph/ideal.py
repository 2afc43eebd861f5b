"""The ideal observer of a radiograph phantom: what the best possible detector could reach.

It knows the defect-free twin (same seed and settings, no defects: the background), each
defect's exact signal (the noise-free image less the twin) and the generator's noise model
(independent Gaussian per pixel, sigma from the noise-free intensity). For known signal and
background its statistic is the prewhitened matched filter, T = sum(s (y - b) / sigma²) /
sqrt(sum(s² / sigma²)), distributed N(SNR, 1) with SNR = sqrt(sum(s² / sigma²)) when the defect
is there and N(0, 1) when not.

To compare it with a detector at the same false-call rate it must also search: its noise false
calls are the peaks of a bank of blurred-disc matched filters over white unit noise (the
prewhitened noise is exactly that). Their count above t follows the 2D Gaussian-field
Euler-characteristic form A * t * exp(-t²/2) (Adler), fitted on simulated noise fields and
extrapolated to the small rates an inspector accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from ndelab.volumes.phantom.radiograph import noise_sigma
from ndelab.volumes.quality.pore_physics import pore_template

F64 = npt.NDArray[np.float64]
REFERENCE_AREA_PX = 512 * 512  # false calls are quoted per 512² image
SEARCH_DIAMETERS_PX = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


@dataclass
class DefectDetectability:
    """Per defect: the ideal observer's SNR and its statistic on the noisy image."""

    snr: F64
    statistic: F64


def defect_detectability(
    noisy: npt.NDArray[np.generic],
    clean: npt.NDArray[np.generic],
    twin: npt.NDArray[np.generic],
    labels: npt.NDArray[np.integer],
    n_defects: int,
    noise: float,
    blur_sigma_px: float,
) -> DefectDetectability:
    """SNR_ideal and T for each defect (ids 1..n) of one 2D radiograph.

    ``clean`` is the noise-free image with defects, ``twin`` the noise-free one without.
    Each defect's signal is taken over the pixels nearer to it than to any other defect, up to
    three blur sigmas (and two pixels) beyond its footprint, so clustered pores keep apart.
    """
    c = np.asarray(clean, np.float64)
    b = np.asarray(twin, np.float64)
    y = np.asarray(noisy, np.float64)
    lab = np.asarray(labels)
    snr = np.zeros(n_defects)
    stat = np.zeros(n_defects)
    if n_defects == 0 or noise <= 0:
        return DefectDetectability(snr, stat)
    dist, (iy, ix) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
    owner = lab[iy, ix]
    owner[dist > 3.0 * blur_sigma_px + 2.0] = 0
    var = noise_sigma(c, noise) ** 2
    s = c - b
    w_sig = s * s / var
    w_obs = s * (y - b) / var
    ids = np.arange(1, n_defects + 1)
    e = ndimage.sum_labels(w_sig, owner, ids)
    o = ndimage.sum_labels(w_obs, owner, ids)
    snr = np.sqrt(np.maximum(np.asarray(e, np.float64), 0.0))
    stat = np.where(snr > 0, np.asarray(o, np.float64) / np.maximum(snr, 1e-12), 0.0)
    return DefectDetectability(snr, stat)


@dataclass
class SearchNull:
    """Noise false calls of the searching ideal observer: A * t * exp(-t²/2) per 512² image."""

    amplitude: float

    def rate(self, t: float) -> float:
        return self.amplitude * t * math.exp(-t * t / 2.0)

    def threshold(self, rate_per_image: float) -> float:
        """The t at which ``rate_per_image`` noise false calls remain (bisection, t >= 1)."""
        rate_per_image = max(rate_per_image, 1e-9)
        lo, hi = 1.0, 40.0
        if self.rate(lo) <= rate_per_image:
            return lo
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.rate(mid) > rate_per_image else (lo, mid)
        return hi


def search_null(
    blur_sigma_px: float, *, fields: int = 4, side: int = 512, seed: int = 0
) -> SearchNull:
    """Fit the noise false-call rate of the template-bank search on white unit noise."""
    rng = np.random.default_rng(seed)
    ts = np.linspace(2.5, 4.0, 7)
    counts = np.zeros(ts.size)
    templates = [pore_template(d, blur_sigma_px) for d in SEARCH_DIAMETERS_PX]
    pad = 24
    for _ in range(fields):
        z = rng.standard_normal((side + 2 * pad, side + 2 * pad))
        best = np.full(z.shape, -np.inf)
        for t in templates:
            np.maximum(best, signal.fftconvolve(z, t, mode="same"), out=best)
        best = best[pad:-pad, pad:-pad]
        peaks = best[(best == ndimage.maximum_filter(best, size=5)) & (best > ts[0])]
        counts += np.array([(peaks > t).sum() for t in ts])
    per_image = counts / fields * REFERENCE_AREA_PX / (side * side)
    form = ts * np.exp(-ts * ts / 2.0)
    ok = counts >= 10
    if not ok.any():
        ok = counts > 0
    amp = float(np.sum(per_image[ok]) / np.sum(form[ok])) if ok.any() else 0.0
    return SearchNull(amp)
