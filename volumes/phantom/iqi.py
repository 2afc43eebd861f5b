"""Image quality indicators laid on a phantom radiograph, with their known truth.

A duplex wire IQI (ISO 19232-5 / ASTM E2002) and a single-wire IQI (ISO 19232-1) are drawn as
transmission factors multiplied into the detector image after its blur: for a slowly varying
background I, blur(I * T) = blur(I) * blur(T) to well under the noise. The wires' blur is
computed in 1D across them at 1/64 pixel: the transmission deficit 1 - exp(-mu * chord) of each
wire, convolved with the detector's Gaussian PSF (``blur_sigma_px``, the generator's detector
unsharpness) and with the square pixel's aperture projected on the profile direction (a box of
|cos t| convolved with one of |sin t| for a tilt t). Each pixel then takes the value at its
centre's distance across the wires, so a tilted IQI is sampled at every sub-pixel phase, as on
a real detector.

The true basic spatial resolution is found on that same noise-free 1D model, not from a
closed formula: a pair of wires of diameter d with a gap of d is rendered, its dip
1 - s(centre) / max(s) (s: the signal, background minus profile) computed, and d is bisected
until the dip is 20 %. That is the SRb a perfect reading of a continuous duplex IQI would
give; a real reading interpolates between the standard's discrete pairs. (For a Gaussian PSF
of sigma alone, and thin wires, the 20 % dip falls at d of about 1.34 sigma; the pixel aperture
and the wire's own width add to sigma in quadrature, which the numeric model includes.)

The layout is the phantom's own, shorter than the real IQIs so that it fits a 384-512 pixel
image: duplex wires up to 8 mm long with at least 1.5 mm between pairs, seven single wires 8 mm long
3 mm apart. Sizes are in mm at the detector (magnification 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal, special

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.tables import DUPLEX_PAIRS_MM, SINGLE_WIRES_MM, wire_set

F64 = npt.NDArray[np.float64]

STEP_PX = 1.0 / 64.0  # sampling of the 1D wire model
DIP_LIMIT = 0.20  # ISO 19232-5: a pair with a dip under 20 % is not resolved
DUPLEX_MU_PER_MM = 1.6  # tungsten/platinum wires at the generator's effective energy
DUPLEX_MARGIN_MM = 1.5
DUPLEX_MIN_GAP_MM = 1.5


@dataclass(frozen=True)
class IqiOptions:
    """Which IQIs to lay on a weld radiograph, and how."""

    duplex: bool = True
    single_wire: bool = True
    wire_set: str = "W10-W16"
    duplex_tilt_deg: float = 3.0  # ISO 19232-5 / ASTM E2002 ask for 2-5 degrees
    duplex_wire_length_mm: float = 8.0
    single_wire_length_mm: float = 8.0
    single_wire_pitch_mm: float = 3.0
    single_wire_tilt_deg: float = 0.0


def _kernel(sigma_px: float, tilt_rad: float) -> F64:
    """Gaussian PSF convolved with the pixel aperture projected on the profile, at STEP_PX."""
    parts: list[F64] = []
    if sigma_px > 0:
        half = int(np.ceil(5 * sigma_px / STEP_PX))
        x = np.arange(-half, half + 1) * STEP_PX
        parts.append(np.exp(-0.5 * (x / sigma_px) ** 2))
    for width in (abs(np.cos(tilt_rad)), abs(np.sin(tilt_rad))):
        n = round(width / STEP_PX)
        if n > 1:
            parts.append(np.ones(n))
    k = np.ones(1)
    for p in parts:
        k = np.convolve(k, p)
    return np.asarray(k / k.sum(), dtype=np.float64)


def wire_deficit(
    centres_px: F64,
    diameters_px: F64,
    mu_per_px: float,
    sigma_px: float,
    tilt_rad: float,
    u_max: float,
) -> tuple[F64, F64]:
    """The blurred transmission deficit 1 - T across parallel wires, on u in [0, u_max]."""
    pad = 6 * sigma_px + 4
    u = np.arange(-pad, u_max + pad, STEP_PX)
    deficit = np.zeros_like(u)
    for c, d in zip(centres_px, diameters_px, strict=True):
        r = d / 2
        sel = np.abs(u - c) < r
        chord = 2 * np.sqrt(np.clip(r * r - (u[sel] - c) ** 2, 0, None))
        deficit[sel] += 1 - np.exp(-mu_per_px * chord)
    blurred = signal.fftconvolve(deficit, _kernel(sigma_px, tilt_rad), mode="same")
    return u, np.asarray(blurred, dtype=np.float64)


def pair_dip(d_px: float, mu_per_px: float, sigma_px: float, tilt_rad: float) -> float:
    """The noise-free dip (0-1) of one duplex pair: wires of diameter d, gap d."""
    span = 4 * d_px + 12 * sigma_px + 8
    c = span / 2
    u, s = wire_deficit(
        np.array([c - d_px, c + d_px]), np.array([d_px, d_px]), mu_per_px, sigma_px, tilt_rad, span
    )
    peak = float(s.max())
    centre = float(np.interp(c, u, s))
    return max(0.0, 1.0 - centre / peak) if peak > 0 else 0.0


def true_srb_px(mu_per_px: float, sigma_px: float, tilt_rad: float) -> float:
    """The wire diameter (px) whose pair dips by exactly 20 % (bisection on log d)."""
    lo, hi = np.log(0.05), np.log(200.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if pair_dip(float(np.exp(mid)), mu_per_px, sigma_px, tilt_rad) >= DIP_LIMIT:
            hi = mid
        else:
            lo = mid
    return float(np.exp(0.5 * (lo + hi)))


@dataclass
class _Placed:
    """A rendered IQI: its multiplicative factor on a window of the image, and its truth."""

    rows: slice
    cols: slice
    factor: F64
    truth: dict[str, Any]


def _render(
    shape: tuple[int, int],
    origin: tuple[float, float],
    tilt_rad: float,
    centres_px: F64,
    diameters_px: F64,
    mu_per_px: float,
    sigma_px: float,
    u_len: float,
    wire_len: float,
) -> tuple[slice, slice, F64]:
    """Wires perpendicular to a bar from ``origin`` along (sin t, cos t); v=0 at mid-length."""
    ny, nx = np.sin(tilt_rad), np.cos(tilt_rad)
    ty, tx = nx, -ny
    u_grid, deficit = wire_deficit(centres_px, diameters_px, mu_per_px, sigma_px, tilt_rad, u_len)
    reach = wire_len / 2 + 4 * sigma_px + 3
    ys = [origin[0] + a * ny + b * ty for a in (0, u_len) for b in (-reach, reach)]
    xs = [origin[1] + a * nx + b * tx for a in (0, u_len) for b in (-reach, reach)]
    y0, y1 = max(int(np.floor(min(ys))), 0), min(int(np.ceil(max(ys))) + 1, shape[0])
    x0, x1 = max(int(np.floor(min(xs))), 0), min(int(np.ceil(max(xs))) + 1, shape[1])
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = (yy - origin[0]) * ny + (xx - origin[1]) * nx
    v = (yy - origin[0]) * ty + (xx - origin[1]) * tx
    sv = np.sqrt(sigma_px**2 + 1 / 12) * np.sqrt(2)
    along = 0.5 * (special.erf((v + wire_len / 2) / sv) - special.erf((v - wire_len / 2) / sv))
    d = np.interp(u, u_grid, deficit, left=0.0, right=0.0) * along
    return slice(y0, y1), slice(x0, x1), np.asarray(1.0 - d, dtype=np.float64)


def place_duplex(
    shape: tuple[int, int],
    rows: tuple[float, float],
    spacing_mm: float,
    sigma_px: float,
    opts: IqiOptions,
) -> _Placed:
    """The duplex IQI in the band of rows ``rows`` (free of weld), with its truth."""
    tilt = np.deg2rad(opts.duplex_tilt_deg)
    mm = 1.0 / spacing_mm  # px per mm
    names = list(DUPLEX_PAIRS_MM)
    diam = np.array([DUPLEX_PAIRS_MM[n] for n in names]) * mm
    cursor = DUPLEX_MARGIN_MM * mm
    wire_centres: list[float] = []
    pair_centres: list[float] = []
    for i, d in enumerate(diam):
        wire_centres += [cursor + d / 2, cursor + 2.5 * d]
        pair_centres.append(cursor + 1.5 * d)
        if i + 1 < len(diam):
            cursor += 3 * d + max(DUPLEX_MIN_GAP_MM * mm, 2.5 * d)
    u_len = cursor + 3 * diam[-1] + DUPLEX_MARGIN_MM * mm
    band = rows[1] - rows[0]
    wire_len = min(opts.duplex_wire_length_mm * mm, band - 8 - u_len * np.sin(tilt))
    width_need = u_len * np.cos(tilt) + 8
    if wire_len < 24 or width_need > shape[1]:
        raise UsageError(
            f"the duplex IQI needs about {width_need:.0f} x {24 + u_len * np.sin(tilt) + 8:.0f} "
            f"pixels of parent plate at {spacing_mm} mm pixels; this radiograph has "
            f"{shape[1]} x {band:.0f}: make it larger or the pixels coarser"
        )
    # Centre the bar across the image; the tilt takes it down by u_len * sin(t).
    x_start = (shape[1] - u_len * np.cos(tilt)) / 2
    y_mid = (rows[0] + rows[1]) / 2 - u_len * np.sin(tilt) / 2
    origin = (float(y_mid), float(x_start))
    mu_px = DUPLEX_MU_PER_MM * spacing_mm
    widths = np.repeat(diam, 2)
    rs, cs, factor = _render(
        shape, origin, tilt, np.array(wire_centres), widths, mu_px, sigma_px, u_len, wire_len
    )
    ny, nx = np.sin(tilt), np.cos(tilt)

    def at(u: float) -> list[float]:
        return [round(origin[0] + u * ny, 3), round(origin[1] + u * nx, 3)]

    srb_px = true_srb_px(mu_px, sigma_px, tilt)
    pairs = [
        {
            "element": n,
            "diameter_mm": DUPLEX_PAIRS_MM[n],
            "center_yx": at(c),
            "true_dip_percent": round(100 * pair_dip(float(d), mu_px, sigma_px, tilt), 2),
        }
        for n, d, c in zip(names, diam, pair_centres, strict=True)
    ]
    truth = {
        "standard": "ISO 19232-5 / ASTM E2002 duplex wire IQI (phantom layout)",
        "line_yx": [*at(0.0), *at(u_len)],
        "half_width_px": round(0.4 * wire_len, 2),
        "wire_length_px": round(float(wire_len), 2),
        "tilt_deg": opts.duplex_tilt_deg,
        "wire_mu_per_mm": DUPLEX_MU_PER_MM,
        "magnification": 1.0,
        "pairs": pairs,
        "srb_true_mm": round(srb_px * spacing_mm, 5),
        "srb_true_um": round(srb_px * spacing_mm * 1000, 2),
        "srb_truth_method": (
            "20 % dip of a noise-free pair (diameter = gap = d) under the Gaussian PSF of "
            "blur_sigma_px and the pixel aperture, d bisected at 1/64 pixel sampling"
        ),
    }
    return _Placed(rs, cs, factor, truth)


def place_single_wire(
    shape: tuple[int, int],
    rows: tuple[float, float],
    cols: tuple[float, float],
    spacing_mm: float,
    sigma_px: float,
    mu_per_mm: float,
    opts: IqiOptions,
) -> _Placed:
    """Seven parallel wires across the band ``rows`` x ``cols``, coarsest first."""
    tilt = np.deg2rad(opts.single_wire_tilt_deg)
    mm = 1.0 / spacing_mm
    names = wire_set(opts.wire_set)
    diam = np.array([SINGLE_WIRES_MM[n] for n in names]) * mm
    pitch = opts.single_wire_pitch_mm * mm
    margin = max(0.5 * pitch, float(diam[0]) + 6 * sigma_px + 4)
    centres = np.asarray(margin + pitch * np.arange(len(names)), dtype=np.float64)
    u_len = float(centres[-1] + margin)
    band = rows[1] - rows[0]
    wire_len = min(opts.single_wire_length_mm * mm, band - 8 - u_len * abs(np.sin(tilt)))
    if wire_len < 24 or u_len * np.cos(tilt) + 8 > cols[1] - cols[0]:
        raise UsageError(
            f"the single-wire IQI needs about {u_len + 8:.0f} x 32 pixels of parent plate at "
            f"{spacing_mm} mm pixels; this radiograph has {cols[1] - cols[0]:.0f} x {band:.0f}"
        )
    origin = (
        float((rows[0] + rows[1]) / 2 - u_len * np.sin(tilt) / 2),
        float(cols[0] + 4),
    )
    rs, cs, factor = _render(
        shape, origin, tilt, centres, diam, mu_per_mm * spacing_mm, sigma_px, u_len, wire_len
    )
    ny, nx = np.sin(tilt), np.cos(tilt)

    def at(u: float) -> list[float]:
        return [round(origin[0] + u * ny, 3), round(origin[1] + u * nx, 3)]

    truth = {
        "standard": "ISO 19232-1 single-wire IQI (phantom layout)",
        "wire_set": opts.wire_set,
        "line_yx": [*at(float(centres[0])), *at(float(centres[-1]))],
        "half_width_px": round(0.4 * wire_len, 2),
        "wire_length_px": round(float(wire_len), 2),
        "tilt_deg": opts.single_wire_tilt_deg,
        "wire_mu_per_mm": mu_per_mm,
        "wires": [
            {"element": n, "diameter_mm": SINGLE_WIRES_MM[n], "center_yx": at(float(c))}
            for n, c in zip(names, centres, strict=True)
        ],
        "extent_px": round(u_len, 2),
    }
    return _Placed(rs, cs, factor, truth)
