"""Single-wire (ISO 19232-1) and hole (ASTM E1025) IQIs: how far each element stands out.

Each element's visibility is a contrast-to-noise ratio, CNR = |mean(feature) - mean(local
background)| / std(background), over pixels: the feature is the wire's core (the middle half
of its width, at least the pixel on its axis) or the hole's middle, the background a strip or
ring around it clear of the blur. A plane fitted to the background pixels is what "mean" means
there, so a slow gradient (heel effect, a thickness taper) is not read as contrast nor as
noise. The reading is the finest element whose CNR reaches the threshold with the polarity of
the coarsest element (a noise blip of the wrong sign is not a wire).

DEFAULT_CNR_THRESHOLD = 2.5: the feature's mean must stand 2.5 pixel-noise sigmas clear of its
background. The means are over tens to hundreds of pixels, so chance alone never gets there
(its spread is sigma / sqrt(n)), and a feature at 2.5 is plain to see pixel by pixel. A human
reader integrates along a wire and sees fainter ones (Rose: about 5 sigmas over the wire's
whole area, i.e. well under 1 per pixel for a long wire), so this threshold errs on the strict
side, which is the safe side for a gate that decides whether a radiograph may be interpreted.
Plants that calibrate against their readers can lower it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.image import F64, Line, as_radiograph, pixel_mm
from ndelab.volumes.quality.profile import band_profile
from ndelab.volumes.quality.tables import SINGLE_WIRES_MM, wire_set
from ndelab.volumes.volume import Volume

DEFAULT_CNR_THRESHOLD = 2.5

# ASTM E1025 hole IQI: hole diameter = k x plaque thickness T, with these minimum diameters
# (mm). Check against your licensed copy of ASTM E1025.
E1025_HOLES: dict[str, tuple[float, float]] = {
    "1T": (1.0, 0.25),
    "2T": (2.0, 0.51),
    "4T": (4.0, 1.02),
}


@dataclass(frozen=True)
class ElementCnr:
    """One wire or hole: its contrast (signed, feature minus background), the background's
    noise, CNR and whether it counts as visible."""

    element: str
    size_mm: float | None
    contrast: float
    noise: float
    cnr: float
    visible: bool
    n_feature: int
    n_background: int

    def to_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "size_mm": self.size_mm,
            "contrast": round(self.contrast, 4),
            "noise": round(self.noise, 4),
            "cnr": round(self.cnr, 3),
            "visible": self.visible,
        }


@dataclass(frozen=True)
class VisibilityReading:
    """Every element's CNR, coarsest first, and the finest visible one."""

    kind: Literal["single_wire", "hole"]
    elements: tuple[ElementCnr, ...]
    threshold: float
    smallest_visible: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "threshold": self.threshold,
            "smallest_visible": self.smallest_visible,
            "elements": [e.to_json() for e in self.elements],
        }


def _check_threshold(threshold: float) -> None:
    if not threshold > 0:
        raise UsageError(f"the CNR threshold {threshold} must be positive")


def _cnr(
    values: F64, coords: F64, feature: npt.NDArray[np.bool_], background: npt.NDArray[np.bool_]
) -> tuple[float, float, int, int]:
    """Contrast of ``feature`` over a plane fitted to ``background``, and that plane's noise."""
    nf, nb = int(feature.sum()), int(background.sum())
    if nf < 1 or nb < 12:
        raise UsageError("an IQI element is too small or too close to the image edge to measure")
    design = np.column_stack([np.ones(coords.shape[0]), coords])
    coef, *_ = np.linalg.lstsq(design[background], values[background], rcond=None)
    resid_bg = values[background] - design[background] @ coef
    noise = float(np.sqrt(np.sum(resid_bg**2) / max(nb - design.shape[1], 1)))
    contrast = float(np.mean(values[feature] - design[feature] @ coef))
    return contrast, noise, nf, nb


def _finish(
    kind: Literal["single_wire", "hole"],
    names: list[str],
    sizes: list[float | None],
    measured: list[tuple[float, float, int, int]],
    threshold: float,
) -> VisibilityReading:
    sign = np.sign(measured[0][0]) or 1.0  # the coarsest element sets the polarity
    elements = []
    for name, size, (contrast, noise, nf, nb) in zip(names, sizes, measured, strict=True):
        cnr = abs(contrast) / noise if noise > 0 else float("inf")
        visible = bool(np.sign(contrast) == sign and cnr >= threshold)
        elements.append(ElementCnr(name, size, contrast, noise, cnr, visible, nf, nb))
    seen = [e.element for e in elements if e.visible]
    return VisibilityReading(kind, tuple(elements), threshold, seen[-1] if seen else None)


def read_wires(
    image: Volume | npt.ArrayLike,
    line: Line | Sequence[float],
    *,
    wires: str = "W10-W16",
    half_width_px: float = 10.0,
    magnification: float = 1.0,
    pixel_size_mm: float | None = None,
    threshold: float = DEFAULT_CNR_THRESHOLD,
) -> VisibilityReading:
    """CNR of each wire of a single-wire IQI.

    ``line`` runs across the wires from the coarsest wire's axis to the finest's; the wires
    are evenly spaced along it (each position is refined to the profile's extreme within a
    fifth of the spacing). ``half_width_px``: how far along the wires, either side of the
    line, the pixels are taken.
    """
    _check_threshold(threshold)
    img = as_radiograph(image)
    pitch = pixel_mm(image, pixel_size_mm)
    names = wire_set(wires)
    ln = line if isinstance(line, Line) else Line.of(line, "wire line")
    spacing = ln.length / (len(names) - 1)
    if spacing < 6:
        raise UsageError(
            f"the wire line is {ln.length:.0f} pixels long: {len(names)} wires need at least 6 "
            "pixels each between their axes"
        )
    px_per_mm = magnification / pitch if pitch is not None else None
    # The band reaches half a spacing past the end wires so that they have background too.
    dy, dx = ln.direction
    ext = 0.5 * spacing
    band = Line(ln.y0 - ext * dy, ln.x0 - ext * dx, ln.y1 + ext * dy, ln.x1 + ext * dx)
    prof = band_profile(img, band, half_width_px, what="wire line")
    smooth = ndimage.gaussian_filter1d(prof.values, 0.5 / prof.bin_px)
    coarse_sign = _polarity(prof.u, smooth, ext, spacing)
    u, v, values = _band_pixels(img, band, half_width_px)
    coords = np.column_stack([u, v])
    measured = []
    for k, name in enumerate(names):
        d_px = SINGLE_WIRES_MM[name] * px_per_mm if px_per_mm is not None else 1.0
        expect = ext + k * spacing
        near = np.abs(prof.u - expect) <= 0.2 * spacing
        centre = float(prof.u[near][np.argmax(coarse_sign * smooth[near])])
        dist = np.abs(u - centre)
        core = max(0.5, d_px / 4)
        gap = max(2.0, d_px / 2 + 2.0)
        outer = min(gap + max(4.0, d_px), 0.45 * spacing)
        if outer <= gap + 1:
            raise UsageError(
                f"wire {name} is too close to its neighbours for a background strip: the wires "
                "are spaced too tightly for their size in pixels"
            )
        feature = dist <= core
        background = (dist >= d_px / 2 + gap) & (dist <= d_px / 2 + outer)
        measured.append(_cnr(values, coords, feature, background))
    sizes: list[float | None] = [SINGLE_WIRES_MM[n] for n in names]
    return _finish("single_wire", names, sizes, measured, threshold)


def _polarity(u: F64, smooth: F64, first: float, spacing: float) -> float:
    """+1 if the coarsest wire is brighter than its surroundings, -1 if darker."""
    near = np.abs(u - first) <= 0.2 * spacing
    ring = (np.abs(u - first) > 0.3 * spacing) & (np.abs(u - first) <= 0.5 * spacing)
    base = float(np.median(smooth[ring])) if ring.any() else float(np.median(smooth))
    up, down = float(smooth[near].max() - base), float(base - smooth[near].min())
    return 1.0 if up > down else -1.0


def _band_pixels(img: F64, line: Line, half_width_px: float) -> tuple[F64, F64, F64]:
    """The pixels of the band along ``line``: their u (along), v (across) and values."""
    h, w = img.shape
    dy, dx = line.direction
    ty, tx = dx, -dy
    ys = [line.y0 + s * half_width_px * ty for s in (-1, 1)]
    ys += [line.y1 + s * half_width_px * ty for s in (-1, 1)]
    xs = [line.x0 + s * half_width_px * tx for s in (-1, 1)]
    xs += [line.x1 + s * half_width_px * tx for s in (-1, 1)]
    ya, yb = max(int(np.floor(min(ys))), 0), min(int(np.ceil(max(ys))) + 1, h)
    xa, xb = max(int(np.floor(min(xs))), 0), min(int(np.ceil(max(xs))) + 1, w)
    yy, xx = np.mgrid[ya:yb, xa:xb].astype(np.float64)
    u = (yy - line.y0) * dy + (xx - line.x0) * dx
    v = (yy - line.y0) * ty + (xx - line.x0) * tx
    inside = (u >= 0) & (u <= line.length) & (np.abs(v) <= half_width_px)
    return u[inside], v[inside], img[ya:yb, xa:xb][inside]


@dataclass(frozen=True)
class Hole:
    """A hole of a plaque IQI: its name (1T, 2T, 4T), centre and diameter in pixels."""

    name: str
    y: float
    x: float
    diameter_px: float
    diameter_mm: float | None = None


def e1025_holes(
    centres_yx: Sequence[tuple[float, float]],
    plaque_thickness_mm: float,
    pixel_size_mm: float,
    magnification: float = 1.0,
) -> list[Hole]:
    """The 1T, 2T and 4T holes of an ASTM E1025 plaque at the given centres."""
    if len(centres_yx) != 3:
        raise UsageError("an ASTM E1025 plaque has three holes (1T, 2T, 4T): give three centres")
    if not plaque_thickness_mm > 0 or not pixel_size_mm > 0:
        raise UsageError("the plaque thickness and the pixel size must be positive")
    out = []
    for (name, (k, least)), (y, x) in zip(E1025_HOLES.items(), centres_yx, strict=True):
        d_mm = max(k * plaque_thickness_mm, least)
        out.append(Hole(name, float(y), float(x), d_mm * magnification / pixel_size_mm, d_mm))
    return out


def read_holes(
    image: Volume | npt.ArrayLike,
    holes: Sequence[Hole],
    *,
    threshold: float = DEFAULT_CNR_THRESHOLD,
) -> VisibilityReading:
    """CNR of each hole of a plaque IQI, in the order given (coarsest first: 4T, 2T, 1T)."""
    _check_threshold(threshold)
    img = as_radiograph(image)
    if not holes:
        raise UsageError("no holes given for the hole IQI")
    h, w = img.shape
    measured = []
    for hole in holes:
        r = hole.diameter_px / 2
        if not r > 0:
            raise UsageError(f"hole {hole.name} has a diameter of {hole.diameter_px} pixels")
        gap = max(2.0, 0.5 * r)
        outer = r + gap + max(3.0, r)
        if hole.y - outer < 0 or hole.x - outer < 0 or hole.y + outer > h - 1:
            raise UsageError(f"hole {hole.name} at ({hole.y}, {hole.x}) lies too near the edge")
        if hole.x + outer > w - 1:
            raise UsageError(f"hole {hole.name} at ({hole.y}, {hole.x}) lies too near the edge")
        y0, y1 = int(np.floor(hole.y - outer)), int(np.ceil(hole.y + outer)) + 1
        x0, x1 = int(np.floor(hole.x - outer)), int(np.ceil(hole.x + outer)) + 1
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        dist = np.hypot(yy - hole.y, xx - hole.x).reshape(-1)
        coords = np.column_stack([yy.reshape(-1) - hole.y, xx.reshape(-1) - hole.x])
        values = img[y0:y1, x0:x1].reshape(-1)
        feature = dist <= max(0.6 * r, 0.5)
        background = (dist >= r + gap) & (dist <= outer)
        measured.append(_cnr(values, coords, feature, background))
    sizes = [hole.diameter_mm for hole in holes]
    return _finish("hole", [hole.name for hole in holes], sizes, measured, threshold)
