"""A profile across parallel wires, averaged along them and oversampled by the IQI's tilt.

ISO 19232-5 and ASTM E2002 ask for the duplex IQI to lie a few degrees off the pixel rows or
columns. Each pixel of a band along the profile line then sits at its own sub-pixel distance
``u`` across the wires, so binning the pixels by ``u`` (rather than interpolating the image)
gives the profile at finer than the pixel pitch, without the smoothing an interpolator adds:
the slanted-edge idea of ISO 12233. With no tilt every pixel of a column shares one ``u`` and
the profile is the plain column mean, linearly interpolated between pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.image import F64, Line

DEFAULT_BIN_PX = 0.25


@dataclass(frozen=True)
class Profile:
    """Mean grey value in bins ``bin_px`` wide along the line; ``u`` are the bin centres in
    pixels from the line's start, ``counts`` the pixels that fell in each bin (0: filled by
    linear interpolation from the neighbours)."""

    u: F64
    values: F64
    counts: npt.NDArray[np.int64]
    bin_px: float
    line: Line
    half_width_px: float


def band_profile(
    image: F64,
    line: Line,
    half_width_px: float,
    *,
    bin_px: float = DEFAULT_BIN_PX,
    what: str = "profile line",
) -> Profile:
    """The profile along ``line`` averaged over ±``half_width_px`` across it."""
    h, w = image.shape
    if line.length < 4:
        raise UsageError(f"the {what} is {line.length:.1f} pixels long: it must cross the IQI")
    if not half_width_px >= 0.5:
        raise UsageError(f"the {what}'s half width {half_width_px} pixels must be at least 0.5")
    if not 0 < bin_px <= 1:
        raise UsageError(f"the profile bin {bin_px} pixels must be in (0, 1]")
    dy, dx = line.direction
    ty, tx = dx, -dy  # across the line: along the wires
    corners_y = [line.y0 + s * half_width_px * ty for s in (-1, 1)]
    corners_y += [line.y1 + s * half_width_px * ty for s in (-1, 1)]
    corners_x = [line.x0 + s * half_width_px * tx for s in (-1, 1)]
    corners_x += [line.x1 + s * half_width_px * tx for s in (-1, 1)]
    if min(corners_y) < -0.5 or min(corners_x) < -0.5 or max(corners_y) > h - 0.5:
        raise UsageError(f"the {what} {line.to_list()} runs outside the {h} x {w} pixel image")
    if max(corners_x) > w - 0.5:
        raise UsageError(f"the {what} {line.to_list()} runs outside the {h} x {w} pixel image")
    ya, yb = int(np.floor(min(corners_y))), int(np.ceil(max(corners_y))) + 1
    xa, xb = int(np.floor(min(corners_x))), int(np.ceil(max(corners_x))) + 1
    ya, xa, yb, xb = max(ya, 0), max(xa, 0), min(yb, h), min(xb, w)
    yy, xx = np.mgrid[ya:yb, xa:xb].astype(np.float64)
    u = (yy - line.y0) * dy + (xx - line.x0) * dx
    v = (yy - line.y0) * ty + (xx - line.x0) * tx
    inside = (u >= 0) & (u < line.length) & (np.abs(v) <= half_width_px)
    n_bins = int(np.floor(line.length / bin_px))
    idx = np.minimum((u[inside] / bin_px).astype(np.int64), n_bins - 1)
    sums = np.bincount(idx, weights=image[ya:yb, xa:xb][inside], minlength=n_bins)
    counts = np.bincount(idx, minlength=n_bins).astype(np.int64)
    centres = np.asarray((np.arange(n_bins) + 0.5) * bin_px, dtype=np.float64)
    filled = counts > 0
    if filled.sum() < 4:
        raise UsageError(f"the {what} covers too few pixels to give a profile")
    values = np.interp(centres, centres[filled], sums[filled] / counts[filled])
    return Profile(centres, values, counts, bin_px, line, float(half_width_px))
