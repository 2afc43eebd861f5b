"""CT image formation: ideal attenuation map -> PSF blur -> cupping -> rings -> noise -> uint16.

The order follows the scanner: the focal spot and detector blur the object (PSF), the
polychromatic beam hardens through thick metal so reconstructed values sag towards the middle
of the part (cupping), a slightly miscalibrated detector pixel draws a faint ring around the
rotation axis in every axial slice, and photon statistics add noise whose spread grows with
the signal, correlated over a pixel or so by the reconstruction filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.progress import Cancel, Progress, check, report

F32 = npt.NDArray[np.float32]

NOISE_FLOOR = 60.0  # grey levels of electronic noise at noise=1
NOISE_GAIN = 2.2  # times sqrt(grey level): the photon (Poisson-like) part
NOISE_CORRELATION_PX = 0.6  # in-plane correlation of reconstructed noise, pixels
CHUNK_SLICES = 16


@dataclass
class CtPhysics:
    """Settings of the simulated scan (all in grey levels or voxels)."""

    air: float
    metal: float
    blur_sigma_vox: float = 0.8
    cupping: float = 0.1
    rings: float = 0.25
    noise: float = 1.0
    center_yx: tuple[float, float] = (0.0, 0.0)
    radii_yx: tuple[float, float] = (1.0, 1.0)


def cupping_map(shape_yx: tuple[int, int], phys: CtPhysics) -> F32:
    """Multiplier of (value - air): 1 - cupping at the part's centre, back to 1 at its rim."""
    ny, nx = shape_yx
    yy, xx = np.ogrid[0:ny, 0:nx]
    ry, rx = max(phys.radii_yx[0], 1.0), max(phys.radii_yx[1], 1.0)
    rho2 = ((yy - phys.center_yx[0]) / ry) ** 2 + ((xx - phys.center_yx[1]) / rx) ** 2
    return (1.0 - phys.cupping * np.clip(1.0 - rho2, 0.0, 1.0)).astype(np.float32)


def ring_map(shape_yx: tuple[int, int], phys: CtPhysics, rng: np.random.Generator) -> F32:
    """Faint concentric rings about the rotation axis (the image centre), in grey levels."""
    ny, nx = shape_yx
    out = np.zeros(shape_yx, dtype=np.float32)
    if phys.rings <= 0:
        return out
    yy, xx = np.ogrid[0:ny, 0:nx]
    r = np.sqrt((yy - (ny - 1) / 2) ** 2 + (xx - (nx - 1) / 2) ** 2)
    amp = phys.rings * 0.01 * (phys.metal - phys.air)
    for _ in range(int(rng.integers(3, 9))):
        r0 = rng.uniform(0.05, 0.5) * min(ny, nx)
        out += (amp * rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0)) * np.exp(
            -0.5 * ((r - r0) / 0.6) ** 2
        ).astype(np.float32)
    return out


def _noise_kernel_gain(sigma: float) -> float:
    """Factor that restores unit variance after a 2D Gaussian filter of this sigma."""
    if sigma <= 0:
        return 1.0
    radius = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    return float(1.0 / np.sum(k * k))  # 2D variance drops by (sum k^2)^2; std by sum k^2


def form_ct_image(
    attenuation: F32,
    phys: CtPhysics,
    rng: np.random.Generator,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> npt.NDArray[np.uint16]:
    """The scanner's view of an ideal grey-level map; ``attenuation`` is overwritten."""
    p0, p1 = span
    vol = attenuation
    if phys.blur_sigma_vox > 0:
        # In place: each 1D pass reads a line into a buffer before writing it back.
        ndimage.gaussian_filter(vol, phys.blur_sigma_vox, output=vol, mode="nearest", truncate=3.0)
    report(progress, p0 + 0.45 * (p1 - p0))
    check(cancel, "phantom generation")

    nz, ny, nx = vol.shape
    cup = cupping_map((ny, nx), phys)
    rings = ring_map((ny, nx), phys, rng)
    air = np.float32(phys.air)
    gain = _noise_kernel_gain(NOISE_CORRELATION_PX)
    out = np.empty(vol.shape, dtype=np.uint16)
    for z0 in range(0, nz, CHUNK_SLICES):
        z1 = min(nz, z0 + CHUNK_SLICES)
        v = vol[z0:z1]
        v -= air
        v *= cup
        v += air
        v += rings
        if phys.noise > 0:
            n = rng.standard_normal(v.shape, dtype=np.float32)
            ndimage.gaussian_filter(n, (0, NOISE_CORRELATION_PX, NOISE_CORRELATION_PX), output=n)
            sigma = np.sqrt(np.maximum(v, 0.0))
            sigma *= np.float32(NOISE_GAIN)
            sigma += np.float32(NOISE_FLOOR)
            sigma *= np.float32(phys.noise * gain)
            n *= sigma
            v += n
        np.clip(v, 0.0, 65535.0, out=v)
        np.rint(v, out=v)
        out[z0:z1] = v
        check(cancel, "phantom generation")
        report(progress, p0 + (0.45 + 0.55 * z1 / nz) * (p1 - p0))
    return out
