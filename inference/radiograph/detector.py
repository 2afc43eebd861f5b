"""A classical radiograph detector in the way an NDE inspector reads a film.

1. Background that follows the part: line medians along 0, 45, 90 and 135 degrees, several
   times longer than the largest pore. A straight thickness step (weld toe, rib, cap edge)
   is flat along one of them, so that line's median reproduces it. Per pixel one direction
   wins: the one of least residual energy (a pore is bright in every direction, a step only
   across it), or, with ``direction_by="structure"``, the one along which the smoothed image
   varies least (the structure tensor). The second is what the loose first stage uses: on a
   steep flank (a weld bead's side) a line across the slope is ranked by the slope, its
   median is the pixel itself and its residual is quiet, pore and all, so least energy
   picks it and cancels the pore.
2. Noise normalised to the signal level: the residual's robust spread is measured in bins of
   background level and fitted as sigma² = a * level + b (Poisson plus read noise), so the
   residual is in noise sigmas everywhere, thick or thin.
3. A matched-filter bank: discs of a few diameters blurred by the detector's unsharpness,
   each response rescaled to unit robust spread; the largest response is the SNR.
4. Hysteresis on that SNR (seed above ``high``, grown above ``low``), connected components,
   and a footprint at half the component's peak contrast.
5. Classification from shape: long (length >= 3 widths, ASME's linear indication), bright
   and thin is a crack; long otherwise (an elongated cavity, a slag line) is a linear
   indication; short and darker than the background is a dense inclusion; the rest are
   pores. Sizes are in mm from the pixel pitch, divided by the magnification when the
   metadata gives one.

Intensity convention: bright = more transmitted, so gas (pores, cracks) is brighter and
inclusions darker (``ndelab.volumes.phantom.radiograph``).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from ndelab.inference.calls import Call, PrelabelResult
from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.quality.pore_physics import pore_template  # shared with the IQ map
from ndelab.volumes.volume import Volume

NAME = "ndelab-xray-classical"
VERSION = "1.1.0"  # 1.1.0: long non-crack indications are class "linear"

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
ANGLES_DEG = (0.0, 45.0, 90.0, 135.0)
MAD = 1.4826


LINEAR_ASPECT = 3.0  # length / width from which an indication is linear (ASME)


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's settings; the defaults suit 512² radiographs of 0.05-0.2 mm pixels."""

    line_length_px: int = 61  # several times the largest pore the filter bank expects
    energy_sigma_px: float = 4.0  # window over which a direction's residual energy is judged
    # (inner, outer) radius of a ring to judge it on instead, around the pixel but not at it:
    # a pore on a curved profile (a weld bead across its width) can be cancelled by the
    # direction whose median the curvature lifts by as much, and at the pixel that direction
    # looks quietest. None: the Gaussian window.
    energy_ring_px: tuple[float, float] | None = None
    # How each pixel's direction is chosen: "energy" (least residual energy, as above) or
    # "structure" (least variation of the image along the line: the structure tensor of the
    # image smoothed by structure_sigma_px, averaged over structure_window_px).
    direction_by: Literal["energy", "structure"] = "energy"
    structure_sigma_px: float = 2.0
    structure_window_px: float = 6.0
    psf_sigma_px: float = 1.0  # detector unsharpness assumed for the matched filters
    diameters_px: tuple[float, ...] = (2.5, 3.5, 5.0, 7.0, 10.0, 14.0)
    high: float = 7.0  # seed threshold, matched-filter SNR (held-out welds: ~1.4 false calls)
    low: float = 3.0  # hysteresis growth threshold
    border_px: int = 6
    open_beam_margin_px: int = 6
    # Pixels kept clear around open beam; None: the margin plus a quarter line (the median
    # lines then stay inside the part). A second stage that sees the edge can take less.
    open_beam_guard_px: int | None = None
    linear_aspect: float = LINEAR_ASPECT
    crack_width_px: float = 4.0  # linear and at most this wide: a crack
    min_pixels: int = 3
    noise_bins: int = 16


@dataclass
class Candidates:
    """The per-pixel maps behind the calls (kept for tests and the evaluation)."""

    background: F32
    sigma: F32  # noise sigma per pixel
    snr: F32  # signed matched-filter SNR: + brighter (gas), - darker (dense)
    diameter_px: F32  # best filter diameter at each pixel
    valid: Mask
    details: dict[str, Any] = field(default_factory=dict)


def _line(angle_deg: float, length: int) -> Mask:
    """A one-pixel line footprint of ``length`` pixels through the centre at this angle."""
    n = length if length % 2 else length + 1
    fp = np.zeros((n, n), bool)
    c = n // 2
    t = np.linspace(-c, c, 2 * n)
    a = math.radians(angle_deg)
    ys = np.rint(c - t * math.sin(a)).astype(int)
    xs = np.rint(c + t * math.cos(a)).astype(int)
    fp[ys, xs] = True
    return fp


def _ring(inner: float, outer: float) -> F64:
    n = int(math.ceil(outer))
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    rr = np.hypot(yy, xx)
    k = ((rr >= inner) & (rr <= outer)).astype(np.float64)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _variation_along(image: F32, sigma: float, window: float) -> list[F32]:
    """Per direction of ANGLES_DEG, the local mean squared derivative of the smoothed image
    along it: n' J n with J the structure tensor. A disc (a pore) adds the same in every
    direction, so only the part's shape decides."""
    g = ndimage.gaussian_filter(image, sigma)
    gy = ndimage.sobel(g, 0) / 8.0
    gx = ndimage.sobel(g, 1) / 8.0
    jyy = ndimage.gaussian_filter(gy * gy, window)
    jxx = ndimage.gaussian_filter(gx * gx, window)
    jxy = ndimage.gaussian_filter(gx * gy, window)
    out = []
    for ang in ANGLES_DEG:
        a = math.radians(ang)
        ny, nx = -math.sin(a), math.cos(a)  # image rows grow downwards, as in _line
        out.append(np.asarray(jxx * nx * nx + 2 * jxy * nx * ny + jyy * ny * ny, np.float32))
    return out


def directional_background(
    image: F32,
    length: int,
    energy_sigma: float,
    cancel: Cancel | None = None,
    ring: tuple[float, float] | None = None,
    structure: tuple[float, float] | None = None,
) -> tuple[F32, npt.NDArray[np.int8]]:
    """Background from line medians; per pixel the direction of least residual energy
    (over a Gaussian window, or over a ring around the pixel when ``ring`` is given), or,
    when ``structure`` = (sigma, window) is given, of least variation along the line."""
    best = np.full(image.shape, np.inf, np.float32)
    background = np.zeros_like(image)
    which = np.zeros(image.shape, np.int8)
    kernel = None if ring is None else _ring(*ring)
    variation = None if structure is None else _variation_along(image, *structure)
    for k, ang in enumerate(ANGLES_DEG):
        check(cancel, "radiograph detection")
        med = ndimage.median_filter(image, footprint=_line(ang, length), mode="reflect")
        if variation is not None:  # judged on the image itself: no residual needed
            energy = variation[k]
        elif kernel is None:
            r = image - med
            energy = ndimage.gaussian_filter(r * r, energy_sigma)
        else:
            r = image - med
            padded = np.pad(r * r, kernel.shape[0] // 2, mode="reflect")
            energy = signal.fftconvolve(padded, kernel, mode="valid").astype(np.float32)
        take = energy < best
        best[take] = energy[take]
        background[take] = med[take]
        which[take] = k
    return background, which


def ripple_period(residual: F32, valid: Mask, lo: int = 8, hi: int = 48) -> float | None:
    """The period (px) of a pattern repeating along x (weld ripples), or None.

    The autocorrelation along rows of the residual, over the rows where it carries the most
    energy; its first clear peak (correlation >= 0.05, far above the noise floor of about
    0.005) between ``lo`` and ``hi`` pixels is the period.
    """
    # Smoothed along x (white noise out) and clipped (a big pore is not a pattern).
    r = ndimage.gaussian_filter(np.where(valid, residual, 0.0).astype(np.float64), (0.5, 2.0))
    spread = 3.0 * _robust_scale(r[valid])
    r = np.clip(r, -spread, spread)
    energy = (r * r).sum(axis=1)
    rows = r[energy >= np.quantile(energy, 0.8)]
    rows = rows - rows.mean(axis=1, keepdims=True)
    n = rows.shape[1]
    if n < 3 * hi:
        return None
    spec = np.fft.rfft(rows, n=2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n].sum(axis=0)
    ac = ac / max(ac[0], 1e-12)
    peaks = [k for k in range(lo, hi) if ac[k] >= 0.05 and ac[k] > ac[k - 1] and ac[k] >= ac[k + 1]]
    if not peaks:
        return None
    lag = peaks[0]  # the fundamental, not a multiple of it
    den = ac[lag - 1] - 2 * ac[lag] + ac[lag + 1]  # parabolic peak: a sub-pixel period
    return float(lag + 0.5 * (ac[lag - 1] - ac[lag + 1]) / den) if den < 0 else float(lag)


def comb_residual(residual: F32, period: float, taps: int = 3) -> F32:
    """The residual less its median at +-1..taps periods along x: removes ripples, keeps pores."""
    shifted = [
        ndimage.shift(residual, (0.0, k * period), order=1, mode="reflect")
        for k in range(-taps, taps + 1)
        if k != 0
    ]
    return np.asarray(residual - np.median(np.stack(shifted), axis=0), dtype=np.float32)


def noise_sigma(residual: F32, level: F32, valid: Mask, bins: int) -> tuple[F32, dict[str, float]]:
    """Per-pixel noise sigma from a fit of sigma² = a * level + b over level bins (MAD)."""
    lv = level[valid].astype(np.float64)
    rv = residual[valid].astype(np.float64)
    if lv.size < 100:
        raise UsageError("radiograph has too few usable pixels to estimate its noise")
    edges = np.quantile(lv, np.linspace(0, 1, bins + 1))
    xs, ys = [], []
    for lo, hi in itertools.pairwise(edges):
        sel = (lv >= lo) & (lv <= hi)
        if sel.sum() < 50:
            continue
        r = rv[sel]
        xs.append(float(np.median(lv[sel])))
        ys.append(float((MAD * np.median(np.abs(r - np.median(r)))) ** 2))
    x, y = np.asarray(xs), np.asarray(ys)
    if x.size >= 2 and np.ptp(x) > 0:
        a, b = np.polyfit(x, y, 1)
    else:
        a, b = 0.0, float(y.mean()) if y.size else 1.0
    if a < 0:  # noise should not fall with signal: keep a constant spread
        a, b = 0.0, float(np.median(y))
    b = max(float(b), 1e-6 * float(np.median(y)) if y.size else 1e-6)
    var = a * np.maximum(level.astype(np.float64), 0.0) + b
    sigma = np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)
    return sigma, {"noise_a": float(a), "noise_b": float(b)}


def _robust_scale(values: F64 | F32) -> float:
    v = values.astype(np.float64)
    return float(MAD * np.median(np.abs(v - np.median(v))))


def _open_beam(smooth: F32) -> Mask:
    """Unattenuated beam beside or inside a part: far brighter than the part's typical level.

    Only when the brightest pixels stand clear of the median (a part in air): a weld plate
    that fills the image has no open beam, and its thin side must not be taken for one.
    """
    top = float(np.percentile(smooth, 99.9))
    med = float(np.median(smooth))
    if top < 1.25 * med:
        return np.zeros(smooth.shape, bool)
    return np.asarray(smooth > 0.5 * (top + med), dtype=bool)


def part_background(
    img: F32,
    valid: Mask,
    cfg: DetectorConfig,
    *,
    cancel: Cancel | None = None,
) -> tuple[F32, float | None]:
    """The directional background, with weld ripples (a pattern repeating along x) taken
    into it where the comb leaves a quieter residual; and the ripple period, if any."""
    structure = (
        (cfg.structure_sigma_px, cfg.structure_window_px)
        if cfg.direction_by == "structure"
        else None
    )
    background, _ = directional_background(
        img,
        cfg.line_length_px,
        cfg.energy_sigma_px,
        cancel=cancel,
        ring=cfg.energy_ring_px,
        structure=structure,
    )
    residual = img - background
    period = ripple_period(residual, valid)
    if period is not None:
        combed = comb_residual(residual, period)
        # Judged at the pores' scale (lightly smoothed), where the ripple stands out of noise.
        s0 = ndimage.gaussian_filter(residual, 1.5)
        s1 = ndimage.gaussian_filter(combed, 1.5)
        e0 = ndimage.gaussian_filter(s0 * s0, cfg.energy_sigma_px * 2)
        e1 = ndimage.gaussian_filter(s1 * s1, cfg.energy_sigma_px * 2)
        background = img - np.where(e1 < 0.8 * e0, combed, residual)
    return np.asarray(background, np.float32), period


def candidates(
    image: npt.NDArray[Any],
    config: DetectorConfig | None = None,
    *,
    cancel: Cancel | None = None,
) -> Candidates:
    """Background, noise, matched-filter SNR and the valid area of one radiograph."""
    cfg = config or DetectorConfig()
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 16:
        raise UsageError(
            f"radiograph detection needs a 2D image of 16 pixels a side; got {img.shape}"
        )
    smooth = ndimage.gaussian_filter(img, 1.0)
    valid = np.zeros(img.shape, bool)
    b = cfg.border_px
    valid[b:-b, b:-b] = True
    beam = _open_beam(smooth)
    if beam.any():
        guard = cfg.open_beam_guard_px
        if guard is None:
            guard = cfg.open_beam_margin_px + cfg.line_length_px // 4
        near = ndimage.binary_dilation(beam, iterations=max(int(guard), 1))
        valid &= ~near
    background, period = part_background(img, valid, cfg, cancel=cancel)
    residual = img - background
    sigma, noise_fit = noise_sigma(residual, background, valid, cfg.noise_bins)
    z = residual / sigma
    z[~valid] = 0.0  # edges and open beam feed no filter
    best = np.zeros(img.shape, np.float32)
    best_d = np.zeros(img.shape, np.float32)
    scales = {}
    for d in cfg.diameters_px:
        check(cancel, "radiograph detection")
        t = pore_template(d, cfg.psf_sigma_px)
        resp = signal.fftconvolve(z, t, mode="same").astype(np.float32)
        s = _robust_scale(resp[valid]) or 1.0
        resp /= s
        scales[f"{d:g}"] = s
        take = np.abs(resp) > np.abs(best)
        best[take] = resp[take]
        best_d[take] = d
    return Candidates(
        background=background,
        sigma=sigma,
        snr=best,
        diameter_px=best_d,
        valid=valid,
        details={**noise_fit, "filter_scales": scales, "ripple_period_px": period},
    )


def _hysteresis(
    strength: F32, valid: Mask, high: float, low: float
) -> tuple[npt.NDArray[np.int32], int]:
    grow = (strength > low) & valid
    lab, n = ndimage.label(grow, structure=np.ones((3, 3), bool))
    seeded = np.unique(lab[(strength > high) & grow])
    seeded = seeded[seeded > 0]
    keep = np.zeros(n + 1, bool)
    keep[seeded] = True
    lab = np.where(keep[lab], lab, 0)
    return lab.astype(np.int32), n


def length_and_width(mask: Mask) -> tuple[float, float]:
    """Length (extent along the principal axis) and mean width (area / length) in px.

    The mean width, not the extent across: a thin oblique trace's pixel staircase would
    otherwise look wider than it is.
    """
    pts = np.argwhere(mask).astype(np.float64)
    if len(pts) < 3:
        return float(len(pts)), 1.0
    c = pts - pts.mean(axis=0)
    _, vec = np.linalg.eigh(np.cov(c.T) + 1e-6 * np.eye(2))
    length = float(np.ptp(c @ vec[:, 1]) + 1.0)
    return length, len(pts) / length


def magnification_of(volume: Volume) -> float:
    """The geometric magnification the metadata records (1 when it records none)."""
    md = volume.metadata or {}
    for key in ("magnification", "EstimatedRadiographicMagnificationFactor"):
        v = md.get(key)
        if isinstance(v, int | float) and v >= 1.0:
            return float(v)
    return 1.0


def _score(peak: float, high: float) -> float:
    # A monotone map of the peak SNR above the seed threshold; not calibrated.
    return 1.0 / (1.0 + math.exp(-(peak - high - 1.0)))


def detect_image(
    image: npt.NDArray[Any],
    *,
    pixel_mm: tuple[float, float] = (1.0, 1.0),
    magnification: float = 1.0,
    config: DetectorConfig | None = None,
    min_pixels: int | None = None,
    cancel: Cancel | None = None,
) -> tuple[list[Call], Candidates]:
    """Calls on one 2D intensity image (bright = more transmitted)."""
    cfg = config or DetectorConfig()
    cand = candidates(image, cfg, cancel=cancel)
    min_px = cfg.min_pixels if min_pixels is None else max(int(min_pixels), 1)
    sy, sx = (p / magnification for p in pixel_mm)
    px_area = sy * sx
    pitch = math.sqrt(px_area)
    smooth_res = ndimage.gaussian_filter(
        (np.asarray(image, np.float32) - cand.background) / cand.sigma, 1.0
    )
    calls: list[Call] = []
    for sign in (1.0, -1.0):
        strength = (sign * cand.snr).astype(np.float32)
        lab, _ = _hysteresis(strength, cand.valid, cfg.high, cfg.low)
        contrast = sign * smooth_res
        for i, sl in enumerate(ndimage.find_objects(lab), start=1):
            if sl is None:
                continue
            comp = lab[sl] == i
            c = np.where(comp, contrast[sl], -np.inf)
            foot = comp & (c >= 0.5 * float(c.max()))
            if foot.sum() < min_px:
                continue
            ys, xs = np.nonzero(foot)
            y0, x0 = sl[0].start + int(ys.min()), sl[1].start + int(xs.min())
            y1, x1 = sl[0].start + int(ys.max()) + 1, sl[1].start + int(xs.max()) + 1
            m = foot[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            peak = float(strength[sl][comp].max())
            at = np.unravel_index(int(np.argmax(np.where(comp, strength[sl], -np.inf))), comp.shape)
            length, width = length_and_width(m)
            aspect = length / max(width, 1.0)
            linear = aspect >= cfg.linear_aspect
            if linear and sign > 0 and width <= cfg.crack_width_px:
                name = "crack"
            elif linear:
                name = "linear"
            else:
                name = "inclusion" if sign < 0 else "pore"
            n = int(m.sum())
            calls.append(
                Call(
                    class_name=name,
                    score=_score(peak, cfg.high),
                    centroid_zyx=(
                        0.0,
                        float(ys.mean() + sl[0].start),
                        float(xs.mean() + sl[1].start),
                    ),
                    bbox_zyx=(0, y0, x0, 1, y1, x1),
                    volume_voxels=n,
                    volume_mm3=n * px_area,
                    mask=m[np.newaxis],
                    model_name=NAME,
                    model_version=VERSION,
                    evidence={
                        "peak_snr": peak,
                        "filter_diameter_px": float(cand.diameter_px[sl][at]),
                        "length_mm": length * pitch,
                        "width_mm": width * pitch,
                        "diameter_mm": 2.0 * math.sqrt(n / math.pi) * pitch,
                        "aspect": aspect,
                        "linear": float(linear),
                    },
                )
            )
    calls.sort(key=lambda c: -c.score)
    return calls, cand


def detect(
    volume: Volume,
    *,
    min_voxels: int | None = None,
    config: DetectorConfig | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PrelabelResult:
    """Calls on a one-slice radiograph volume (see the module docstring)."""
    if not volume.is_2d:
        raise UsageError(f"{NAME} reads radiographs (one slice); this scan has {volume.shape[0]}")
    t0 = time.perf_counter()
    cfg = config or DetectorConfig()
    report(progress, 0.0)
    mag = magnification_of(volume)
    calls, cand = detect_image(
        np.asarray(volume.data[0]),
        pixel_mm=(volume.spacing_mm[1], volume.spacing_mm[2]),
        magnification=mag,
        config=cfg,
        min_pixels=min_voxels,
        cancel=cancel,
    )
    report(progress, 1.0)
    return PrelabelResult(
        calls=calls,
        model_name=NAME,
        model_version=VERSION,
        seconds=time.perf_counter() - t0,
        device="cpu",
        details={"high": cfg.high, "low": cfg.low, "magnification": mag, **cand.details},
    )
