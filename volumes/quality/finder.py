"""Find a duplex wire IQI in a radiograph without being told where it lies.

The duplex IQI is a row of short parallel wire pairs, all of one length, of high contrast
(tungsten and platinum), stepping down in size. The finder high-passes the image, keeps the
thin elongated blobs that stand far above the noise, gathers the ones that are parallel, of
one length and side by side, takes the group of strongest contrast (a steel single-wire IQI
is also a row of parallel wires, but far fainter), and puts the profile line across it, from
the coarse end, with the angle refined so that the profile is sharpest. It is a convenience:
a reading for the record should use a line the operator has checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.quality.image import F64, Line, as_radiograph
from ndelab.volumes.quality.profile import band_profile
from ndelab.volumes.volume import Volume

HIGH_PASS_SIGMA_PX = 12.0
THRESHOLD_SIGMAS = 6.0
MIN_WIRE_LENGTH_PX = 12.0
MIN_WIRES = 4


@dataclass(frozen=True)
class DuplexLocation:
    """Where the finder put the profile: a line from the D1 end and the band's half width."""

    line: Line
    half_width_px: float
    wires_seen: int


@dataclass(frozen=True)
class _Blob:
    cy: float
    cx: float
    angle: float  # of the long axis, radians in [0, pi)
    length: float
    contrast: float  # mean |high-pass| in noise units
    area: int


def _blobs(mask: npt.NDArray[np.bool_], strength: F64) -> list[_Blob]:
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    out: list[_Blob] = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        own = labels[sl] == i
        area = int(own.sum())
        if area < 6:
            continue
        yy, xx = np.nonzero(own)
        y = yy + sl[0].start
        x = xx + sl[1].start
        cov = np.cov(np.stack([y, x]).astype(np.float64))
        evals, evecs = np.linalg.eigh(cov)
        major = float(np.sqrt(max(evals[1], 0.0) * 12.0))
        minor = float(np.sqrt(max(evals[0], 1.0 / 12.0) * 12.0))
        if major < MIN_WIRE_LENGTH_PX or major < 3.0 * minor:
            continue
        vy, vx = evecs[:, 1]
        out.append(
            _Blob(
                float(y.mean()),
                float(x.mean()),
                float(np.arctan2(vy, vx) % np.pi),
                major,
                float(strength[y, x].mean()),
                area,
            )
        )
    return out


def _angle_diff(a: float, b: float) -> float:
    d = abs(a - b) % np.pi
    return float(min(d, np.pi - d))


def _group(seed: _Blob, blobs: list[_Blob]) -> list[_Blob]:
    """The blobs parallel to ``seed``, of about its length and level with it along the wires."""
    ty, tx = np.sin(seed.angle), np.cos(seed.angle)  # along the wires
    out = []
    for b in blobs:
        if _angle_diff(b.angle, seed.angle) > np.deg2rad(6):
            continue
        if not 0.6 <= b.length / seed.length <= 1.6:
            continue
        v = (b.cy - seed.cy) * ty + (b.cx - seed.cx) * tx
        if abs(v) > 0.3 * seed.length:
            continue
        out.append(b)
    return out


def find_duplex(
    image: Volume | npt.ArrayLike,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> DuplexLocation:
    """Locate the duplex IQI; raise a UsageError naming what was missing when there is none."""
    img = as_radiograph(image)
    report(progress, 0.0)
    best: tuple[float, list[_Blob]] | None = None
    hp = img - ndimage.gaussian_filter(img, HIGH_PASS_SIGMA_PX, mode="nearest")
    noise = float(1.4826 * np.median(np.abs(hp - np.median(hp))))
    if noise <= 0:
        noise = max(float(hp.std()), 1e-12)
    for sign in (-1.0, 1.0):  # wires dark (intensity image), or bright (inverted display)
        check(cancel, "finding the duplex IQI")
        strength = sign * hp / noise
        blobs = _blobs(strength > THRESHOLD_SIGMAS, strength)
        for seed in sorted(blobs, key=lambda b: -b.contrast * b.area):
            members = _group(seed, blobs)
            if len(members) < MIN_WIRES:
                continue
            score = float(sum(b.contrast * b.area for b in members))
            if best is None or score > best[0]:
                best = (score, members)
        report(progress, 0.4 if sign < 0 else 0.7)
    if best is None:
        raise UsageError(
            "no duplex wire IQI was found: no row of at least four parallel wires stands out "
            "of the noise; give its position"
        )
    members = best[1]
    angle = float(np.median([b.angle for b in members]))
    length = float(np.median([b.length for b in members]))
    ny, nx = np.cos(angle), -np.sin(angle)  # across the wires
    if nx < 0 or (nx == 0 and ny < 0):
        ny, nx = -ny, -nx
    ty, tx = np.sin(angle), np.cos(angle)
    cy = float(np.mean([b.cy for b in members]))
    cx = float(np.mean([b.cx for b in members]))
    u = np.array([(b.cy - cy) * ny + (b.cx - cx) * nx for b in members])
    w = np.array([b.contrast * b.area for b in members])
    order = np.argsort(u)
    u, w = u[order], w[order]
    span = float(u[-1] - u[0])
    # From the coarse end; past the fine end by as much again as the row seen (or to the
    # image's edge), for pairs too faint to stand out here but readable on the profile.
    third = max(len(w) // 3, 1)
    if w[:third].sum() >= w[-third:].sum():
        first, last, start_u, end_u = u[0], u[-1], u[0] - 0.05 * span, u[-1] + 1.0 * span
    else:
        first, last, start_u, end_u = u[-1], u[0], u[-1] + 0.05 * span, u[0] - 1.0 * span
    half = 0.35 * length
    h, wid = img.shape

    def band_inside(uu: float) -> bool:
        """Whether the band's two corners at ``u = uu`` lie in the image."""
        y, x = cy + uu * ny, cx + uu * nx
        return all(
            0 <= y + k * half * ty <= h - 1 and 0 <= x + k * half * tx <= wid - 1 for k in (-1, 1)
        )

    if not (band_inside(float(first)) and band_inside(float(last))):
        raise UsageError("the duplex IQI found lies too near the image's edge to be read")
    ends = [
        _last_inside(np.linspace(first, start_u, 50), band_inside),
        _last_inside(np.linspace(last, end_u, 50), band_inside),
    ]
    line = Line(cy + ends[0] * ny, cx + ends[0] * nx, cy + ends[1] * ny, cx + ends[1] * nx)
    report(progress, 0.8)
    line = _refine_angle(img, line, half)
    report(progress, 1.0)
    return DuplexLocation(line, round(half, 2), len(members))


def _last_inside(grid: F64, inside: Callable[[float], bool]) -> float:
    """The last point of ``grid`` before the first that falls outside."""
    last = float(grid[0])
    for g in grid:
        if not inside(float(g)):
            break
        last = float(g)
    return last


def _refine_angle(img: F64, line: Line, half: float) -> Line:
    """Turn the line about its middle by up to ±1.5 degrees to the sharpest profile: the wires
    are then exactly across it and the band does not smear them."""
    my, mx = 0.5 * (line.y0 + line.y1), 0.5 * (line.x0 + line.x1)
    r = 0.5 * line.length
    base = np.arctan2(line.y1 - line.y0, line.x1 - line.x0)
    best = (-1.0, line)
    for d in np.deg2rad(np.arange(-1.5, 1.51, 0.1)):
        a = base + d
        ln = Line(my - r * np.sin(a), mx - r * np.cos(a), my + r * np.sin(a), mx + r * np.cos(a))
        try:
            prof = band_profile(img, ln, half)
        except UsageError:
            continue
        # Smoothed to half a pixel: the raw bins' ripple (empty bins at some angles) is noise.
        smooth = ndimage.gaussian_filter1d(prof.values, 0.5 / prof.bin_px)
        sharp = float(np.sum(np.diff(smooth) ** 2))
        if sharp > best[0]:
            best = (sharp, ln)
    return best[1]
