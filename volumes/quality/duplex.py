"""Duplex wire IQI (ISO 19232-5 / ASTM E2002): each pair's dip and the basic spatial
resolution SRb.

The profile runs along the IQI across its pairs, from D1 (the coarsest) to D13, averaged over
a band along the wires (see :mod:`.profile`). The wires attenuate: the signal is the
background minus the profile (or the reverse for an inverted, film-style image). For each pair
with peaks A and B over the background and C the lowest signal between them, the dip is
(A + B - 2C) / (A + B): the depth between the wires as a share of the pair's contrast. The
first pair whose dip is under 20 % is the first unresolved one. The interpolated SRb (iSRb of
ISO 19232-5:2018 and ASTM E2002-15) is the wire size at which the dip crosses 20 %, from a
second-order fit of dip against wire size through the two pairs on either side of the
crossing (fewer where the IQI has no more; a next pair of zero dip where none is under 20 %
and above zero). SRb is that wire size: half the pair's unsharpness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.image import F64, Line, as_radiograph, pixel_mm
from ndelab.volumes.quality.profile import DEFAULT_BIN_PX, Profile, band_profile
from ndelab.volumes.quality.tables import DUPLEX_PAIRS_MM
from ndelab.volumes.volume import Volume

DIP_LIMIT_PERCENT = 20.0
Polarity = Literal["auto", "dark", "bright"]


@dataclass(frozen=True)
class PairReading:
    """One wire pair: where it was found along the line (px) and its dip in percent."""

    element: str
    diameter_mm: float
    found: bool
    centre_px: float | None
    dip_percent: float

    @property
    def resolved(self) -> bool:
        return self.dip_percent >= DIP_LIMIT_PERCENT

    def to_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "diameter_mm": self.diameter_mm,
            "found": self.found,
            "centre_px": None if self.centre_px is None else round(self.centre_px, 2),
            "dip_percent": round(self.dip_percent, 2),
            "resolved": self.resolved,
        }


@dataclass(frozen=True)
class DuplexReading:
    """The duplex IQI's reading.

    ``srb_mm`` is the interpolated wire size at 20 % dip, in the IQI's plane (the table's
    sizes): SRb-image when the IQI lies on the object, SRb-detector when it lies on the
    detector. ``srb_bound`` is "=" for an interpolated value, "<" when every pair is resolved
    (better than D13) and ">" when not even D1 is. ``scale_px_per_mm`` is how many detector
    pixels one mm of the IQI spans, measured from the coarse pairs; ``srb_detector_mm`` is SRb in
    the detector's plane (``srb_px`` times the pixel pitch, or ``srb_mm`` times the
    magnification when the pitch is unknown) and ``srb_object_mm`` that divided by the
    magnification: the unsharpness referred to the object.
    """

    pairs: tuple[PairReading, ...]
    srb_mm: float
    srb_bound: Literal["=", "<", ">"]
    first_unresolved: str | None
    scale_px_per_mm: float
    srb_px: float
    srb_detector_mm: float
    srb_object_mm: float
    magnification: float
    pixel_mm: float | None
    line: Line
    half_width_px: float
    polarity: Literal["dark", "bright"]

    @property
    def srb_um(self) -> float:
        return 1000.0 * self.srb_mm

    @property
    def srb_detector_um(self) -> float:
        return 1000.0 * self.srb_detector_mm

    def to_json(self) -> dict[str, Any]:
        return {
            "srb_um": round(self.srb_um, 2),
            "srb_bound": self.srb_bound,
            "srb_detector_um": round(self.srb_detector_um, 2),
            "srb_object_um": round(1000 * self.srb_object_mm, 2),
            "srb_px": round(self.srb_px, 3),
            "first_unresolved": self.first_unresolved,
            "scale_px_per_mm": round(self.scale_px_per_mm, 4),
            "magnification": self.magnification,
            "pixel_mm": self.pixel_mm,
            "line_yx": self.line.to_list(),
            "half_width_px": self.half_width_px,
            "polarity": self.polarity,
            "pairs": [p.to_json() for p in self.pairs],
        }


def _mad_std(x: F64) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def _baseline(x: F64, t: F64, margin_bins: int) -> tuple[F64, npt.NDArray[np.bool_]]:
    """A cubic background under positive features, refitted without them until stable."""
    bg = np.ones(x.size, dtype=bool)
    fit = np.zeros_like(x)
    for _ in range(8):
        coef = np.polyfit(t[bg], x[bg], 3)
        fit = np.asarray(np.polyval(coef, t), dtype=np.float64)
        r = x - fit
        sd = max(_mad_std(r[bg]), 1e-12 * max(float(np.abs(x).max()), 1.0))
        feature = ndimage.binary_dilation(r > 2.5 * sd, iterations=margin_bins)
        new = ~feature
        if new.sum() < max(8, x.size // 10) or np.array_equal(new, bg):
            break
        bg = new
    return fit, bg


def _half_height_width(s: F64, i: int) -> tuple[int, int]:
    """Bins left and right of peak ``i`` until ``s`` falls under half the peak's height."""
    half = 0.5 * s[i]
    left = np.nonzero(s[:i] < half)[0]
    right = np.nonzero(s[i:] < half)[0]
    lo = int(left[-1]) + 1 if left.size else 0
    hi = i + int(right[0]) - 1 if right.size else s.size - 1
    return lo, hi


def _refine(s: F64, i: int) -> float:
    """Sub-bin position of the maximum at ``i`` (parabola through three bins)."""
    if 0 < i < s.size - 1:
        a, b, c = s[i - 1], s[i], s[i + 1]
        den = a - 2 * b + c
        if den < 0:
            return i + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return float(i)


@dataclass
class _Peak:
    """A peak of the smoothed signal: sub-bin position, height, half-height extent (bins)."""

    pos: float
    height: float
    lo: int
    hi: int


@dataclass
class _Group:
    """One wire pair found on the profile: one peak (unresolved) or two (resolved)."""

    peaks: list[_Peak]

    @property
    def centre(self) -> float:
        if len(self.peaks) == 2:
            return 0.5 * (self.peaks[0].pos + self.peaks[1].pos)
        return 0.5 * (self.peaks[0].lo + self.peaks[0].hi)  # middle of a merged pair

    @property
    def height(self) -> float:
        return max(p.height for p in self.peaks)

    @property
    def width_bins(self) -> float:
        return float(self.peaks[-1].hi - self.peaks[0].lo + 1)

    @property
    def strength(self) -> float:
        return self.height * self.width_bins


def _peaks(s_sm: F64, noise: float) -> list[_Peak]:
    """Peaks of the smoothed signal that stand clear of the noise."""
    top = float(s_sm.max())
    floor = max(5 * noise, 0.01 * top)
    idx, _ = signal.find_peaks(s_sm, height=floor, prominence=max(4 * noise, 0.01 * top))
    out = []
    for i in idx:
        lo, hi = _half_height_width(s_sm, int(i))
        out.append(_Peak(_refine(s_sm, int(i)), float(s_sm[i]), lo, hi))
    return out


def _is_pair(a: _Peak, b: _Peak, max_sep: float | None) -> bool:
    """Two peaks of one resolved pair: similar heights, and close (within ``max_sep`` bins, or
    when the scale is unknown within 2.6 half-height widths, as a pair's wires are spaced 2 d
    and a lone wire is at least d wide)."""
    if min(a.height, b.height) < 0.5 * max(a.height, b.height):
        return False
    sep = b.pos - a.pos
    if max_sep is not None:
        return sep <= max_sep
    return sep <= 2.6 * 0.5 * ((a.hi - a.lo + 1) + (b.hi - b.lo + 1))


def _coarse_groups(peaks: list[_Peak]) -> list[_Group]:
    """Pairs by the scale-free rule: enough for the coarse pairs, which fix the scale."""
    groups: list[_Group] = []
    k = 0
    while k < len(peaks):
        if k + 1 < len(peaks) and _is_pair(peaks[k], peaks[k + 1], None):
            groups.append(_Group([peaks[k], peaks[k + 1]]))
            k += 2
        else:
            groups.append(_Group([peaks[k]]))
            k += 1
    return groups


def _pairs_at_scale(peaks: list[_Peak], diam: F64, scale_bins: float) -> list[_Group]:
    """Walk the peaks from D1, one pair per element, using each pair's expected spacing: two
    peaks no further apart than 2.5 d (nominal 2 d) are its wires; peaks inside a pair already
    taken, or too close to it for the next pair to fit, are noise or a wire's shoulder."""
    groups: list[_Group] = []
    k = 0
    for i in range(diam.size):
        if groups:
            need = 1.5 * (diam[i - 1] + diam[i]) * scale_bins * 0.8
            while k < len(peaks) and peaks[k].pos - groups[-1].centre < need:
                k += 1
        if k >= len(peaks):
            break
        d = diam[i] * scale_bins
        if k + 1 < len(peaks) and _is_pair(peaks[k], peaks[k + 1], 2.5 * d):
            groups.append(_Group([peaks[k], peaks[k + 1]]))
            k += 2
        else:
            groups.append(_Group([peaks[k]]))
            k += 1
    return groups


def _local_value(s: F64, at: float, half: float) -> float:
    """``s`` at (fractional) bin ``at`` from a quadratic fitted over ±``half`` bins: a local
    average that, unlike a raw extreme, the noise does not pull up at a peak or down at a dip."""
    h = max(half, 2.0)
    a, b = max(int(np.ceil(at - h)), 0), min(int(np.floor(at + h)), s.size - 1)
    x = np.arange(a, b + 1, dtype=np.float64) - at
    coef = np.polyfit(x, s[a : b + 1], 2)
    return float(coef[-1])


def pair_dip_percent(s: F64, centre_bin: float, d_bins: float) -> float:
    """Dip of the pair centred at ``centre_bin`` whose wires are ``d_bins`` thick.

    A and B are read at the wires' axes, c ± d, and C at the centre, each by a local quadratic
    over ±0.3 d. The standard's A and B are the maxima; they sit on the axes until a pair
    all but merges, and near the 20 % crossing they move in by under a tenth of the blur's
    sigma, which costs them under 1 % of their height. Searching for the maxima instead would
    let the noise pick the highest of many bins and deepen the dip of the fine pairs.
    """
    c = centre_bin
    half = 0.3 * d_bins
    a, b, mid = (_local_value(s, x, half) for x in (c - d_bins, c + d_bins, c))
    if a + b <= 0:
        return 0.0
    return float(np.clip(100.0 * (a + b - 2 * mid) / (a + b), 0.0, 100.0))


def interpolate_srb(
    diameters_mm: Sequence[float], dips_percent: Sequence[float]
) -> tuple[float, Literal["=", "<", ">"], int | None]:
    """SRb (mm) where the dip crosses 20 %, its bound, and the first unresolved pair's index.

    Pairs are ordered coarsest first. A second-order fit through up to two pairs above and two
    under 20 % (ISO 19232-5:2018's iSRb) is solved for 20 %; where that has no root between the
    last resolved and the first unresolved pair, the two are joined by a straight line.
    """
    d = np.asarray(diameters_mm, dtype=np.float64)
    dip = np.asarray(dips_percent, dtype=np.float64)
    under = np.nonzero(dip < DIP_LIMIT_PERCENT)[0]
    if under.size == 0:
        return float(d[-1]), "<", None
    k = int(under[0])
    if k == 0:
        return float(d[0]), ">", 0
    sel = [i for i in (k - 2, k - 1) if i >= 0] + [k]
    if k + 1 < d.size and 0 < dip[k + 1] < DIP_LIMIT_PERCENT and dip[k] > 0:
        sel.append(k + 1)
    hi_d, lo_d = float(d[k - 1]), float(d[k])
    linear = lo_d + (hi_d - lo_d) * (DIP_LIMIT_PERCENT - dip[k]) / (dip[k - 1] - dip[k])
    if len(sel) >= 3:
        coef = np.polyfit(d[sel], dip[sel], 2)
        coef[-1] -= DIP_LIMIT_PERCENT
        roots = [
            float(r.real)
            for r in np.roots(coef)
            if abs(r.imag) < 1e-12 and lo_d - 1e-12 <= r.real <= hi_d + 1e-12
        ]
        if len(roots) == 1:
            return roots[0], "=", k
    return float(linear), "=", k


def read_duplex(
    image: Volume | npt.ArrayLike,
    line: Line | Sequence[float],
    *,
    half_width_px: float = 10.0,
    magnification: float = 1.0,
    pixel_size_mm: float | None = None,
    polarity: Polarity = "auto",
    bin_px: float = DEFAULT_BIN_PX,
) -> DuplexReading:
    """Read a duplex wire IQI along ``line`` (Y0, X0, Y1, X1 in pixels) across its pairs.

    The line should run from the D1 end; if the coarse pairs are at its far end it is turned
    round. ``half_width_px`` is how far along the wires, either side of the line, the profile
    is averaged: keep the band inside the wires' length.
    """
    img = as_radiograph(image)
    pitch = pixel_mm(image, pixel_size_mm)
    if not magnification >= 1.0:
        raise UsageError(f"magnification {magnification} must be at least 1")
    ln = line if isinstance(line, Line) else Line.of(line, "duplex line")
    prof = band_profile(img, ln, half_width_px, bin_px=bin_px, what="duplex line")
    sig = _signal(prof, polarity)
    if not sig.peaks:
        raise UsageError(
            f"no wire pairs stand out along the duplex line {ln.to_list()}: check that it "
            "crosses the duplex IQI"
        )
    coarse = _coarse_groups(sig.peaks)
    if len(coarse) > 1 and coarse[-1].strength > coarse[0].strength:
        ln = ln.reversed()  # the coarse pairs are at the far end: read from there
        prof = band_profile(img, ln, half_width_px, bin_px=bin_px, what="duplex line")
        sig = _signal(prof, sig.polarity)
        coarse = _coarse_groups(sig.peaks)
    names = list(DUPLEX_PAIRS_MM)
    diam = np.array([DUPLEX_PAIRS_MM[n] for n in names])
    scale_bins = _scale_bins_per_mm(coarse, diam, pitch, magnification, prof.bin_px)
    groups = _pairs_at_scale(sig.peaks, diam, scale_bins)
    pairs: list[PairReading] = []
    for i, name in enumerate(names):
        if i < len(groups):
            g = groups[i]
            centre = g.centre
            dip = pair_dip_percent(sig.s, centre, diam[i] * scale_bins)
            pairs.append(PairReading(name, float(diam[i]), True, centre * prof.bin_px, dip))
        else:
            pairs.append(PairReading(name, float(diam[i]), False, None, 0.0))
    srb, bound, k = interpolate_srb(diam.tolist(), [p.dip_percent for p in pairs])
    scale_px = scale_bins * prof.bin_px
    srb_px = srb * scale_px
    det = srb_px * pitch if pitch is not None else srb * magnification
    return DuplexReading(
        pairs=tuple(pairs),
        srb_mm=srb,
        srb_bound=bound,
        first_unresolved=None if k is None else names[k],
        scale_px_per_mm=scale_px,
        srb_px=srb_px,
        srb_detector_mm=det,
        srb_object_mm=det / magnification,
        magnification=float(magnification),
        pixel_mm=pitch,
        line=ln,
        half_width_px=float(half_width_px),
        polarity=sig.polarity,
    )


@dataclass
class _Signal:
    """The wires' signal along the profile (positive), lightly smoothed, and its peaks."""

    s: F64
    s_sm: F64
    noise: float  # of s_sm, where no wire is
    peaks: list[_Peak]
    polarity: Literal["dark", "bright"]


def _signal(prof: Profile, polarity: Polarity) -> _Signal:
    """Background, signal and peaks: a robust cubic background first, then refitted on the
    bins well clear of every peak (three half-height widths around each), since a background
    that leans on the wires' tails would lift it under the fine pairs and deepen their dips."""
    v = prof.values
    med = float(np.median(v))
    if polarity == "auto":
        pol: Literal["dark", "bright"] = "dark" if med - v.min() >= v.max() - med else "bright"
    else:
        pol = polarity
    x = (med - v) if pol == "dark" else (v - med)
    per_px = 1.0 / prof.bin_px
    t = (prof.u - prof.u.mean()) / max(float(np.ptp(prof.u)), 1.0)
    fit, bg = _baseline(x, t, margin_bins=round(2 * per_px))
    for _ in range(2):
        s = x - fit
        s_sm = ndimage.gaussian_filter1d(s, 0.25 * per_px)
        noise = _mad_std(s_sm[bg])
        peaks = _peaks(s_sm, noise)
        clear = np.ones(x.size, dtype=bool)
        for pk in peaks:
            w = pk.hi - pk.lo + 1
            clear[max(pk.lo - w, 0) : pk.hi + w + 1] = False
        if clear.sum() < max(16, x.size // 10):
            break
        bg = clear
        fit = np.polyval(np.polyfit(t[bg], x[bg], 3), t)
    s = x - fit
    s_sm = ndimage.gaussian_filter1d(s, 0.25 * per_px)
    noise = _mad_std(s_sm[bg])
    return _Signal(s, s_sm, noise, _peaks(s_sm, noise), pol)


def _scale_bins_per_mm(
    groups: list[_Group], diam: F64, pitch: float | None, magnification: float, bin_px: float
) -> float:
    """Bins per mm of the IQI, from the wire spacing (2 d) of the coarse resolved pairs."""
    ratios = [
        (g.peaks[1].pos - g.peaks[0].pos) / (2 * diam[i])
        for i, g in enumerate(groups[:3])
        if len(g.peaks) == 2
    ]
    if ratios:
        return float(np.median(ratios))
    if pitch is not None:
        return magnification / pitch / bin_px
    # Nothing resolved and no pixel size: the coarsest pair is about 3 d wide at half height.
    return float(groups[0].width_bins / (3 * diam[0]))
