"""The learned second stage of the radiograph detector: a small CNN that sorts candidates.

The classical first stage (``detector``) runs loose: the residual's local contrast peaks
whose matched-filter SNR clears a low seed threshold, each with its footprint (the connected
pixels at half the peak's contrast, so pores of a cluster keep apart), and a narrow guard at
the open beam; a pore on the flank of a stronger one is seeded where the contrast less its
wider blur peaks (``shoulder_seeds``). That holds
nearly all the pores an ideal observer finds, with tens of false candidates per 512² image:
noise peaks, weld ripples, edges of the part. The second stage looks at each candidate in a
full-resolution patch (``PATCH_PX`` square, stride 1 for its first two convolutions, at most
2 per layer after) and says background, pore, crack or inclusion (a long pore or inclusion
is then a linear indication: ``indication_class``). Its defect
probability is Platt-calibrated on calibration phantoms (seeds 1000-1999), and the operating
threshold chosen there for at most one false call per 512² image.

Inputs, three channels per patch, each compressed by asinh so that a faint pore and the edge
of a casting both fit: the noise-normalised residual (image less the directional background,
in noise sigmas), the raw patch less its median in units of the noise sigma at the peak (the
structure the residual came from), and the signed matched-filter SNR.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from torch import nn

from ndelab.inference.calls import Call, PrelabelResult
from ndelab.inference.radiograph.detector import (
    LINEAR_ASPECT,
    Candidates,
    DetectorConfig,
    _hysteresis,
    candidates,
    length_and_width,
    magnification_of,
)
from ndelab.inference.radiograph.detector import (
    NAME as FIRST_STAGE,
)
from ndelab.inference.radiograph.detector import (
    VERSION as FIRST_STAGE_VERSION,
)
from ndelab.inference.registry import ModelError
from ndelab.volumes.dataset_hash import file_sha256
from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.quality.pore_physics import pore_contrast
from ndelab.volumes.volume import Volume

NAME = "ndelab-xray-stage2"
CLASSES = ("background", "pore", "crack", "inclusion")
PATCH_PX = 32
CHANNELS = ("residual_sigma", "raw_sigma", "snr")
MAX_CANDIDATES = 600  # per image, strongest first: bounds the work on a pathological image
PEAK_WINDOW_PX = 5
# Two maxima are two indications when the smoothed contrast (noise sigmas, about 0.28 of
# noise left after the 1 px smoothing) dips between them by this much, or by this share of
# the weaker one's height.
DIP_ABS = 0.75
DIP_REL = 0.2
# The detail map for shoulder seeds: the 1 px smoothed contrast less its blur at this sigma,
# wide enough that a big pore's flank is nearly straight across it, narrow enough that a
# 3.5-5 px pore stays; a shoulder seed's detail must clear DETAIL_MIN (noise sigmas, as DIP_ABS).
DETAIL_SIGMA_PX = 3.0
DETAIL_MIN = 0.75

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

# The first stage run loose: the second stage decides.
LOOSE = DetectorConfig(high=4.0, low=2.5, open_beam_guard_px=8, direction_by="structure")


@dataclass
class Peak:
    """One candidate: its SNR peak, sign (+1 brighter, -1 darker) and footprint."""

    y: int
    x: int
    sign: float
    snr: float
    diameter_px: float
    bbox: tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)
    mask: Mask  # footprint inside bbox

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class Maps:
    """What the patches are cut from."""

    image: F32
    residual_sigma: F32  # (image - background) / sigma
    cand: Candidates


def _saddle(contrast: F32, a: tuple[int, int], b: tuple[int, int]) -> float:
    """The lowest contrast on the straight segment from ``a`` to ``b`` (bilinear)."""
    n = max(int(math.ceil(2.0 * math.hypot(b[0] - a[0], b[1] - a[1]))), 2)
    t = np.linspace(0.0, 1.0, n + 1)
    coords = np.stack([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])])
    return float(ndimage.map_coordinates(contrast, coords, order=1, mode="nearest").min())


def separate_seeds(
    contrast: F32, maxima: list[tuple[int, int]], dip: float = DIP_ABS
) -> list[tuple[int, int]]:
    """The maxima (strongest first) that are bumps of their own: between each one and every
    stronger one kept, the contrast dips by at least ``dip`` or DIP_REL of its height.

    Two pores of a cluster touch at far more than half their height, so a footprint test
    (does my half-height region take in a stronger peak?) would merge them; the dip between
    them is what tells two pores from one pore's noisy top.
    """
    kept: list[tuple[int, int]] = []
    for py, px in maxima:
        c0 = float(contrast[py, px])
        need = max(dip, DIP_REL * c0)
        if all(c0 - _saddle(contrast, (py, px), q) >= need for q in kept):
            kept.append((py, px))
    return kept


def footprints(contrast: F32, comp: Mask, seeds: list[tuple[int, int]]) -> list[Mask]:
    """Each seed's footprint: its watershed basin of the contrast inside ``comp``, cut at half
    its peak contrast (the pixels connected to it there). A seed at no positive contrast
    keeps only its own pixel."""
    markers = np.zeros(comp.shape, np.int16)
    for k, (py, px) in enumerate(seeds, start=1):
        markers[py, px] = k
    lo, hi = float(contrast[comp].min()), float(contrast[comp].max())
    depth = np.where(comp, (hi - contrast) / max(hi - lo, 1e-6), 1.0)
    basins = ndimage.watershed_ift(np.rint(depth * 254).astype(np.uint8), markers)
    out = []
    for k, (py, px) in enumerate(seeds, start=1):
        c0 = float(contrast[py, px])
        if c0 > 0:
            region = comp & (basins == k) & (contrast >= 0.5 * c0)
            rl, _ = ndimage.label(region, np.ones((3, 3), bool))
            foot = rl == rl[py, px]
        else:
            foot = np.zeros(comp.shape, bool)
        foot[py, px] = True
        out.append(foot)
    return out


def shoulder_seeds(
    detail: F32,
    comp: Mask,
    maxima: Mask,
    snr: F32,
    seeds: list[tuple[int, int]],
    taken: Mask,
) -> list[tuple[tuple[int, int], Mask]]:
    """Seeds on the shoulder of a stronger indication, each with its footprint.

    A small pore on the flank of a big one is no maximum of the contrast (the flank rises
    through it), so ``separate_seeds`` never sees it. In the detail (the contrast less its
    wider blur: the flank, nearly straight there, cancels) it is a bump of its own. Taken:
    the detail's ``maxima`` inside ``comp`` and outside every footprint so far, strongest SNR
    first, at least DETAIL_MIN high, that stand out of the detail to each seed kept by DIP_ABS
    or DIP_REL of their height; the footprint is the connected detail at half the seed's,
    outside the others.
    """
    ys, xs = np.nonzero(maxima & comp & ~taken)
    order = np.argsort(-snr[ys, xs], kind="stable")
    kept = list(seeds)
    out: list[tuple[tuple[int, int], Mask]] = []
    for k in order:
        q = (int(ys[k]), int(xs[k]))
        d0 = float(detail[q])
        need = max(DIP_ABS, DIP_REL * d0)
        if d0 < DETAIL_MIN or not all(d0 - _saddle(detail, q, r) >= need for r in kept):
            continue
        region = comp & (detail >= 0.5 * d0) & ~taken
        rl, _ = ndimage.label(region, np.ones((3, 3), bool))
        foot = rl == rl[q]
        foot[q] = True
        taken = taken | foot
        kept.append(q)
        out.append((q, foot))
    return out


def loose_peaks(
    image: npt.NDArray[Any],
    config: DetectorConfig = LOOSE,
    *,
    shoulders: bool = True,
    cancel: Cancel | None = None,
) -> tuple[list[Peak], Maps]:
    """The first stage's candidates: contrast peaks whose matched-filter SNR clears
    ``config.high``, with their footprints.

    Within a hysteresis component the contrast's local maxima are taken strongest (SNR)
    first; one that does not stand out of the valley to a stronger one kept is the same
    indication (``separate_seeds``), and the kept ones share the component by watershed
    (``footprints``), so the pores of a cluster each get a candidate of their own. With
    ``shoulders``, a pore on the flank of a stronger one gets one too (``shoulder_seeds``).
    """
    img = np.asarray(image, dtype=np.float32)
    cand = candidates(img, config, cancel=cancel)
    z = ((img - cand.background) / cand.sigma).astype(np.float32)
    smooth = ndimage.gaussian_filter(z, 1.0)
    detail = smooth - ndimage.gaussian_filter(z, DETAIL_SIGMA_PX)
    peaks: list[Peak] = []
    for sign in (1.0, -1.0):
        check(cancel, "radiograph detection")
        s = (sign * cand.snr).astype(np.float32)
        lab, _ = _hysteresis(s, cand.valid, config.high, config.low)
        # Seeds at the contrast's local maxima (the pores' centres: the widest filter's SNR
        # peaks between two close pores) where the SNR clears the seed threshold.
        c_all = sign * smooth
        top = (c_all >= ndimage.maximum_filter(c_all, size=PEAK_WINDOW_PX)) & (s > config.high)
        top &= lab > 0
        d_all = sign * detail
        dtop = (d_all >= ndimage.maximum_filter(d_all, size=PEAK_WINDOW_PX)) & (s > config.high)
        dtop &= lab > 0
        for i, sl in enumerate(ndimage.find_objects(lab), start=1):
            if sl is None:
                continue
            comp = lab[sl] == i
            local = top[sl] & comp
            if not local.any():
                continue
            ys, xs = np.nonzero(local)
            order = np.argsort(-s[sl][ys, xs], kind="stable")
            contrast = np.asarray(sign * smooth[sl], np.float32)
            seeds = separate_seeds(contrast, [(int(ys[k]), int(xs[k])) for k in order])
            oy, ox = sl[0].start, sl[1].start
            feet = footprints(contrast, comp, seeds)
            if shoulders:
                extra = shoulder_seeds(
                    np.asarray(sign * detail[sl], np.float32),
                    comp,
                    dtop[sl],
                    s[sl],
                    seeds,
                    np.logical_or.reduce(feet),
                )
                seeds = seeds + [q for q, _ in extra]
                feet = feet + [f for _, f in extra]
            for (py, px), foot in zip(seeds, feet, strict=True):
                fy, fx = np.nonzero(foot)
                y0, x0 = int(fy.min()), int(fx.min())
                y1, x1 = int(fy.max()) + 1, int(fx.max()) + 1
                peaks.append(
                    Peak(
                        y=oy + py,
                        x=ox + px,
                        sign=sign,
                        snr=float(s[sl][py, px]),
                        diameter_px=float(cand.diameter_px[sl][py, px]),
                        bbox=(oy + y0, ox + x0, oy + y1, ox + x1),
                        mask=foot[y0:y1, x0:x1].copy(),
                    )
                )
    peaks.sort(key=lambda p: -p.snr)
    return peaks[:MAX_CANDIDATES], Maps(img, z, cand)


def _squash(x: F32, scale: float) -> F32:
    return np.asarray(np.arcsinh(x / scale), dtype=np.float32)


def extract_patches(maps: Maps, peaks: list[Peak], size: int = PATCH_PX) -> F32:
    """(n, 3, size, size) float32 patches centred on each peak (reflected at the border)."""
    half = size // 2
    pad = ((half, half), (half, half))
    zp = np.pad(maps.residual_sigma, pad, mode="reflect")
    ip = np.pad(maps.image, pad, mode="reflect")
    sp = np.pad(maps.cand.snr, pad, mode="reflect")
    out = np.zeros((len(peaks), len(CHANNELS), size, size), np.float32)
    for n, p in enumerate(peaks):
        ys = slice(p.y, p.y + size)  # padded coordinates: the peak sits at (half, half)
        xs = slice(p.x, p.x + size)
        raw = ip[ys, xs]
        sigma = max(float(maps.cand.sigma[p.y, p.x]), 1e-6)
        out[n, 0] = _squash(zp[ys, xs], 3.0)
        out[n, 1] = _squash((raw - np.median(raw)) / sigma, 3.0)
        out[n, 2] = _squash(sp[ys, xs], 2.0)
    return out


# --- the network ---------------------------------------------------------------------------


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Stage2Net(nn.Module):
    """Patch classifier: two full-resolution convolutions, then two stride-2 stages; the
    head reads the centre of the last map (the candidate) beside its global mean (context)."""

    def __init__(self, in_channels: int = 3, base: int = 16, classes: int = 4) -> None:
        super().__init__()
        c1, c2, c3 = base, 2 * base, 3 * base
        self.features = nn.Sequential(
            _conv(in_channels, c1),
            _conv(c1, c1),
            _conv(c1, c2, 2),
            _conv(c2, c2),
            _conv(c2, c3, 2),
            _conv(c3, c3),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * c3, 32), nn.ReLU(inplace=True), nn.Linear(32, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        h, w = f.shape[-2:]
        centre = f[:, :, h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1].mean(dim=(2, 3))
        return self.head(torch.cat([centre, f.mean(dim=(2, 3))], dim=1))  # type: ignore[no-any-return]


def class_probabilities(
    net: nn.Module, patches: F32, *, batch: int = 256
) -> npt.NDArray[np.float64]:
    """Softmax over CLASSES for each patch (n, 4)."""
    out = np.zeros((len(patches), len(CLASSES)))
    net.eval()
    with torch.no_grad():
        for i in range(0, len(patches), batch):
            logits = net(torch.from_numpy(patches[i : i + batch]))
            out[i : i + batch] = torch.softmax(logits, dim=1).double().numpy()
    return out


def defect_logit(probs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """logit of P(defect) = 1 - P(background), clipped."""
    p = np.clip(1.0 - probs[:, 0], 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)), dtype=np.float64)


def physical_class(probs: npt.NDArray[np.float64], sign: float) -> str:
    """The likeliest defect class the sign allows: gas is brighter, a dense inclusion darker."""
    if sign < 0:
        return "inclusion"
    return "pore" if probs[1] >= probs[2] else "crack"


def indication_class(probs: npt.NDArray[np.float64], sign: float, aspect: float) -> str:
    """The call's class: ``physical_class``, except that a pore or inclusion longer than
    ``LINEAR_ASPECT`` widths is a linear indication (an elongated cavity, a slag line), which
    weld criteria judge by its length."""
    name = physical_class(probs, sign)
    return "linear" if name != "crack" and aspect >= LINEAR_ASPECT else name


# --- the shipped weights -------------------------------------------------------------------


def default_dir() -> Path:
    import ndelab.resources

    return Path(ndelab.resources.__file__).resolve().parent / "models" / NAME


@dataclass
class Stage2:
    """A loaded second stage: its network, card and operating point."""

    net: nn.Module
    card: dict[str, Any]
    folder: Path

    @property
    def version(self) -> str:
        return str(self.card["version"])

    @property
    def threshold(self) -> float:
        return float(self.card["input"]["threshold"])

    @property
    def config(self) -> DetectorConfig:
        first = self.card.get("first_stage", {})
        ring = first.get("energy_ring_px")
        # A card from before the structure-tensor choice chose by residual energy.
        direction: Literal["energy", "structure"] = (
            "structure" if first.get("direction_by") == "structure" else "energy"
        )
        return DetectorConfig(
            high=float(first.get("high", LOOSE.high)),
            low=float(first.get("low", LOOSE.low)),
            open_beam_guard_px=int(first.get("open_beam_guard_px", 8)),
            energy_ring_px=None if ring is None else (float(ring[0]), float(ring[1])),
            direction_by=direction,
            structure_sigma_px=float(first.get("structure_sigma_px", LOOSE.structure_sigma_px)),
            structure_window_px=float(first.get("structure_window_px", LOOSE.structure_window_px)),
        )

    @property
    def shoulders(self) -> bool:
        """Whether the first stage seeds shoulders too (cards from before 1.2.0 do not)."""
        return bool(self.card.get("first_stage", {}).get("shoulder_seeds", False))

    def calibrated(self, logit: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        a, b = self.card["calibration"]["coef"]
        return np.asarray(1.0 / (1.0 + np.exp(-(a + b * logit))), dtype=np.float64)


def load_stage2(folder: Path | None = None) -> Stage2 | None:
    """The second stage in ``folder`` (default: the shipped one); None when it has no card."""
    folder = default_dir() if folder is None else Path(folder)
    card_path = folder / "model.json"
    if not card_path.is_file():
        return None
    return _load(str(card_path.resolve()), card_path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load(card_path: str, _mtime: int) -> Stage2:
    path = Path(card_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        weights = path.parent / str(card["weights"])
        expected = str(card["sha256"]).lower()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"second-stage card {path} is unreadable: {exc}") from None
    if not weights.is_file():
        raise ModelError(f"second-stage weights {weights} are missing")
    digest = file_sha256(weights)
    if digest != expected:
        raise ModelError(
            f"second-stage weights {weights} do not match their card: sha256 is {digest[:12]}…, "
            f"the card expects {expected[:12]}…"
        )
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net = Stage2Net(**card["arch"])
        net.load_state_dict(state)
    except Exception as exc:  # pickle, zip or shape errors: a bad weights file
        raise ModelError(f"second-stage weights {weights} cannot be loaded: {exc}") from None
    return Stage2(net.eval(), card, path.parent)


# --- two-stage detection ---------------------------------------------------------------------


@dataclass
class Scored:
    """Each candidate with its class probabilities and calibrated defect score."""

    peaks: list[Peak]
    probs: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    maps: Maps
    details: dict[str, Any] = field(default_factory=dict)


def score_image(stage2: Stage2, image: npt.NDArray[Any], *, cancel: Cancel | None = None) -> Scored:
    """Loose candidates of one image, classified and scored by the second stage."""
    peaks, maps = loose_peaks(image, stage2.config, shoulders=stage2.shoulders, cancel=cancel)
    check(cancel, "radiograph detection")
    probs = class_probabilities(stage2.net, extract_patches(maps, peaks))
    score = stage2.calibrated(defect_logit(probs)) if peaks else np.zeros(0)
    return Scored(peaks, probs, score, maps, dict(maps.cand.details))


# The blur the footprints see: the detector's PSF the filters assume (1 px) and the 1 px
# smoothing of the contrast they are cut from.
SIZING_BLUR_PX = math.hypot(1.0, 1.0)
SIZING_FRACTIONS = np.round(np.arange(0.90, 0.04, -0.025), 3)


@functools.lru_cache(maxsize=4)
def _half_peak_areas(blur_px: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Diameters (px) of spherical voids and the area (px) of their blurred projection at
    half its peak: the table ``true_area`` inverts."""
    diameters = np.arange(1.0, 48.01, 0.25)
    areas = []
    for d in diameters:
        rel = pore_contrast(float(d), 1.0, 0.01, blur_px)  # weak attenuation: rel ~ chord
        areas.append(float((rel >= 0.5 * rel.max()).sum()))
    return diameters, np.maximum.accumulate(np.asarray(areas))


def true_area(half_area_px: float, blur_px: float = SIZING_BLUR_PX) -> float:
    """The projected area (px) of the spherical void whose blurred image covers
    ``half_area_px`` at half its peak. The projection of a sphere is a dome (the chord), so
    half its peak falls at 0.87 of its radius: a big pore's half-peak footprint holds only
    three quarters of it; blur widens a small one's beyond it."""
    diameters, areas = _half_peak_areas(round(blur_px, 3))
    d = float(np.interp(half_area_px, areas, diameters))
    return math.pi * d * d / 4.0


def sized_footprint(
    peak: Peak, contrast: F32, seeds: npt.NDArray[np.int64]
) -> tuple[tuple[int, int, int, int], Mask]:
    """The peak's footprint sized as a spherical void: the connected pixels around the peak
    that lie nearer to it than to any other call's seed (a cluster's pores keep apart), cut
    at the fraction of its peak contrast whose area comes nearest ``true_area`` of the area
    at half (never below half: blur widens a small pore's image beyond it). ``contrast`` is
    the signed (peak-positive) smoothed contrast of the whole image, ``seeds`` (n, 2) the
    calls' peaks."""
    h, w = contrast.shape
    y0, x0, y1, x1 = peak.bbox
    grow = int(math.ceil(0.6 * max(y1 - y0, x1 - x0))) + 3  # true_area is at most ~1.6x
    a, b = max(y0 - grow, 0), max(x0 - grow, 0)
    c, d = min(y1 + grow, h), min(x1 + grow, w)
    crop = contrast[a:c, b:d]
    yy, xx = np.mgrid[a:c, b:d]
    own_d = (yy - peak.y) ** 2 + (xx - peak.x) ** 2
    own = np.ones(crop.shape, bool)
    for sy, sx in seeds:
        if (sy, sx) != (peak.y, peak.x) and a - grow <= sy < c + grow and b - grow <= sx < d + grow:
            own &= own_d <= (yy - sy) ** 2 + (xx - sx) ** 2
    py, px = peak.y - a, peak.x - b
    c0 = float(crop[py, px])
    if c0 <= 0:
        return peak.bbox, peak.mask

    def region(f: float) -> Mask:
        lab, _ = ndimage.label(own & (crop >= f * c0), np.ones((3, 3), bool))
        return np.asarray(lab == lab[py, px])

    half = region(0.5)
    target = max(true_area(float(half.sum())), float(half.sum()))
    best = half
    for f in SIZING_FRACTIONS[SIZING_FRACTIONS < 0.5]:  # the areas grow as the cut falls
        r = region(float(f))
        if abs(float(r.sum()) - target) > abs(float(best.sum()) - target):
            break
        best = r
    fy, fx = np.nonzero(best)
    box = (a + int(fy.min()), b + int(fx.min()), a + int(fy.max()) + 1, b + int(fx.max()) + 1)
    return box, best[fy.min() : fy.max() + 1, fx.min() : fx.max() + 1].copy()


def merge_cracks(
    kept: list[tuple[Peak, npt.NDArray[np.float64], float]],
) -> list[tuple[Peak, npt.NDArray[np.float64], float]]:
    """One candidate per crack: the kept candidates classed crack whose footprints come
    within two pixels of each other become one, with their union footprint and the
    strongest member's peak, probabilities and score. A long crack dips along its length,
    so the first stage splits it; the reviewer judges one indication."""
    cracks = [k for k in kept if physical_class(k[1], k[0].sign) == "crack"]
    if len(cracks) < 2:
        return kept
    y0 = min(p.bbox[0] for p, _, _ in cracks) - 1
    x0 = min(p.bbox[1] for p, _, _ in cracks) - 1
    y1 = max(p.bbox[2] for p, _, _ in cracks) + 1
    x1 = max(p.bbox[3] for p, _, _ in cracks) + 1
    owner = np.zeros((y1 - y0, x1 - x0), np.int32)
    for n, (p, _, _) in enumerate(cracks, start=1):
        a, b, c, d = p.bbox
        owner[a - y0 : c - y0, b - x0 : d - x0][p.mask] = n
    square = np.ones((3, 3), bool)
    groups, _ = ndimage.label(ndimage.binary_dilation(owner > 0, structure=square), square)
    by_group: dict[int, list[int]] = {}
    for n, (p, _, _) in enumerate(cracks):
        g = int(groups[p.y - y0, p.x - x0])
        by_group.setdefault(g, []).append(n)
    out = [k for k in kept if physical_class(k[1], k[0].sign) != "crack"]
    for members in by_group.values():
        best = max(members, key=lambda n: cracks[n][2])
        if len(members) == 1:
            out.append(cracks[best])
            continue
        union = np.isin(owner, [n + 1 for n in members])
        fy, fx = np.nonzero(union)
        a, b, c, d = int(fy.min()), int(fx.min()), int(fy.max()) + 1, int(fx.max()) + 1
        p, probs, score = cracks[best]
        merged = replace(p, bbox=(a + y0, b + x0, c + y0, d + x0), mask=union[a:c, b:d].copy())
        out.append((merged, probs, score))
    return out


def calls_from(
    scored: Scored,
    *,
    threshold: float,
    version: str,
    pixel_mm: tuple[float, float] = (1.0, 1.0),
    magnification: float = 1.0,
    min_pixels: int = 1,
) -> list[Call]:
    """Calls for the candidates scoring at least ``threshold`` (the pieces of one crack
    merged), with class and size in mm; a round void or inclusion is sized as a sphere
    (``sized_footprint``): its half-peak footprint would hold three quarters of a big one."""
    sy, sx = (p / magnification for p in pixel_mm)
    px_area = sy * sx
    pitch = math.sqrt(px_area)
    kept = [
        (p, probs, float(sc))
        for p, probs, sc in zip(scored.peaks, scored.probs, scored.score, strict=True)
        if sc >= threshold and p.area >= min_pixels
    ]
    calls: list[Call] = []
    contrast = ndimage.gaussian_filter(scored.maps.residual_sigma, 1.0)
    merged = merge_cracks(kept)
    seeds = np.array([(q.y, q.x) for q, _, _ in merged], np.int64).reshape(-1, 2)
    for p, probs, sc in merged:
        # Shape (and so the class) as the indication shows at half its peak; size as a sphere
        # for a round void or inclusion.
        length, width = length_and_width(p.mask)
        aspect = length / max(width, 1.0)
        name = indication_class(probs, p.sign, aspect)
        if name in ("pore", "inclusion"):
            box, m = sized_footprint(p, p.sign * contrast, seeds)
            p = replace(p, bbox=box, mask=m)
            length, width = length_and_width(p.mask)
        y0, x0, y1, x1 = p.bbox
        ys, xs = np.nonzero(p.mask)
        n = p.area
        calls.append(
            Call(
                class_name=name,
                score=sc,
                centroid_zyx=(0.0, float(ys.mean() + y0), float(xs.mean() + x0)),
                bbox_zyx=(0, y0, x0, 1, y1, x1),
                volume_voxels=n,
                volume_mm3=n * px_area,
                mask=p.mask[np.newaxis],
                model_name=NAME,
                model_version=version,
                class_scores={c: float(v) for c, v in zip(CLASSES, probs, strict=True)},
                evidence={
                    "peak_snr": p.snr,
                    "filter_diameter_px": p.diameter_px,
                    "length_mm": length * pitch,
                    "width_mm": width * pitch,
                    "diameter_mm": 2.0 * math.sqrt(n / math.pi) * pitch,
                    "aspect": aspect,
                    "linear": float(aspect >= LINEAR_ASPECT),
                },
            )
        )
    calls.sort(key=lambda c: -c.score)
    return calls


def detect_two_stage(
    volume: Volume,
    stage2: Stage2,
    *,
    min_voxels: int | None = None,
    threshold: float | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PrelabelResult:
    """Calls on a one-slice radiograph: loose first stage, then the second stage's verdict."""
    if not volume.is_2d:
        raise UsageError(f"{NAME} reads radiographs (one slice); this scan has {volume.shape[0]}")
    t0 = time.perf_counter()
    report(progress, 0.0)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    mag = magnification_of(volume)
    scored = score_image(stage2, np.asarray(volume.data[0]), cancel=cancel)
    thr = stage2.threshold if threshold is None else float(threshold)
    calls = calls_from(
        scored,
        threshold=thr,
        version=stage2.version,
        pixel_mm=(volume.spacing_mm[1], volume.spacing_mm[2]),
        magnification=mag,
        min_pixels=1 if min_voxels is None else max(int(min_voxels), 1),
    )
    report(progress, 1.0)
    return PrelabelResult(
        calls=calls,
        model_name=NAME,
        model_version=stage2.version,
        seconds=time.perf_counter() - t0,
        device="cpu",
        details={
            "first_stage": f"{FIRST_STAGE}@{FIRST_STAGE_VERSION}",
            "candidates": len(scored.peaks),
            "threshold": thr,
            "magnification": mag,
            **scored.details,
        },
    )
