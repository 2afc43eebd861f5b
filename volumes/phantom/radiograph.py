"""make_radiograph: a digital radiograph of a butt weld or a cast plate, with 2D ground truth.

Each pixel's ray crosses ``t`` mm of metal; the detector sees I = I0 * exp(-mu * t) plus a
little scatter, blurred by the detector's unsharpness and with Poisson noise. Defects change
``t``: a gas pore of diameter d removes up to d mm along the rays through it, a crack or lack
of fusion removes a little along its trace, a dense inclusion adds attenuation. The result
is a positive intensity image: pores, cracks and lack of fusion are brighter than the metal
around them, inclusions darker (a film-style display inverts it). Labels mark each defect's
footprint: the pixels whose centre projects into it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom.ct import GENERATOR, component_info
from ndelab.volumes.phantom.defects import DefectPlacer
from ndelab.volumes.phantom.iqi import IqiOptions, place_duplex, place_single_wire
from ndelab.volumes.phantom.model import Phantom
from ndelab.volumes.phantom.rasterize import LocalMask
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

F64 = npt.NDArray[np.float64]
MIN_SIDE = 16

# Effective linear attenuation (1/mm) at a typical tube voltage for each material.
MU = {"steel": 0.13, "aluminium": 0.05, "tungsten": 1.6, "iron": 0.35}
I0 = 60000.0  # unattenuated detector counts
SCATTER_FRACTION = 0.15
SCATTER_SIGMA_PX = 25.0


class _Maps:
    """Thickness changes from defects, accumulated as they are placed (mm)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.gas = np.zeros(shape, dtype=np.float64)  # material removed
        self.dense = np.zeros(shape, dtype=np.float64)  # inclusion material added
        self.dense_mu: dict[int, float] = {}

    def add(self, target: F64, local: LocalMask, depth: F64) -> None:
        _, y0, x0 = local.offset
        h, w = local.mask.shape[1:]
        target[y0 : y0 + h, x0 : x0 + w][local.mask[0]] += depth[local.mask[0]]


def _ellipse(
    center: tuple[float, float], a: float, b: float, angle: float, c_mm: float
) -> tuple[LocalMask, F64]:
    """An ellipsoid seen from above: footprint pixels and the chord (mm) through each."""
    r = max(a, b) + 1.0
    y0, x0 = int(np.floor(center[0] - r)), int(np.floor(center[1] - r))
    y1, x1 = int(np.ceil(center[0] + r)) + 1, int(np.ceil(center[1] + r)) + 1
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dy, dx = yy - center[0], xx - center[1]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    q2 = (u / a) ** 2 + (v / b) ** 2
    mask = q2 <= 1.0
    if not mask.any():
        mask[round(center[0]) - y0, round(center[1]) - x0] = True
    chord = 2.0 * c_mm * np.sqrt(np.clip(1.0 - q2, 0.05, 1.0))
    return LocalMask((0, y0, x0), mask[np.newaxis]), chord


def _trace(
    points: F64, width_px: float, depth_mm: float, shape: tuple[int, int]
) -> tuple[LocalMask, F64] | None:
    """A thin line (crack, lack of fusion) along ``points`` (n, 2: y, x), tapering at its ends."""
    lo = np.floor(points.min(axis=0) - width_px - 1).astype(int)
    hi = np.ceil(points.max(axis=0) + width_px + 2).astype(int)
    if (lo < 0).any() or hi[0] > shape[0] or hi[1] > shape[1]:
        return None
    h, w = int(hi[0] - lo[0]), int(hi[1] - lo[1])
    depth = np.zeros((h, w), dtype=np.float64)
    n = len(points)
    taper = np.sin(np.linspace(0.0, np.pi, n)) ** 0.5  # tight tips, open middle
    half = max(width_px / 2.0, 0.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for i in range(0, n, 2):  # points are 0.5 px apart; every other one is enough
        py, px = points[i] - lo
        near = (yy - py) ** 2 + (xx - px) ** 2 <= (half + 0.25) ** 2
        np.maximum(depth, np.where(near, depth_mm * max(taper[i], 0.15), 0.0), out=depth)
    mask = depth > 0
    return LocalMask((0, int(lo[0]), int(lo[1])), mask[np.newaxis]), depth


def _walk(
    rng: np.random.Generator, start: tuple[float, float], angle: float, length: float, wander: float
) -> F64:
    """A jagged path of 0.5 px steps whose heading drifts by ``wander`` radians per px."""
    steps = max(int(length * 2), 4)
    turns = np.cumsum(rng.normal(0.0, wander * np.sqrt(0.5), size=steps))
    heading = angle + turns - turns.mean()
    d = 0.5 * np.stack([np.sin(heading), np.cos(heading)], axis=1)
    pts = np.cumsum(d, axis=0)
    pts -= pts.mean(axis=0)
    return np.asarray(pts + np.asarray(start), dtype=np.float64)


def _pore_diameter_px(rng: np.random.Generator, median: float) -> float:
    for _ in range(100):
        d = float(np.exp(rng.normal(np.log(median), 0.5)))
        if 2.0 <= d <= 24.0:
            return d
    return median


def _weld(
    rng: np.random.Generator, shape: tuple[int, int], px_mm: float, n_pores: int | None
) -> tuple[F64, npt.NDArray[np.bool_], str, dict[str, Any], Any]:
    """Plate plus bead thickness (mm), the metal mask, the material, params, defect plan."""
    h, w = shape
    t_plate = rng.uniform(6.0, 12.0)
    yc0 = h / 2 + rng.uniform(-0.05, 0.05) * h
    amp, period, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 1.5) * w, rng.uniform(0, 6.3)
    cap_w = rng.uniform(0.10, 0.16) * h
    cap_h = rng.uniform(1.0, 2.5)
    root_w = cap_w * rng.uniform(0.3, 0.5)
    root_h = rng.uniform(0.5, 1.5)
    ripple = rng.uniform(14.0, 30.0)
    xx = np.arange(w, dtype=np.float64)
    yc = yc0 + amp * np.sin(2 * np.pi * xx / period + phase)
    dy = np.arange(h, dtype=np.float64)[:, None] - yc[None, :]
    cap = (
        cap_h
        * np.clip(1 - (dy / cap_w) ** 2, 0, None)
        * (1 + 0.03 * np.sin(2 * np.pi * (xx + 0.01 * dy**2) / ripple))  # chevron ripples
    )
    root = root_h * np.clip(1 - (dy / root_w) ** 2, 0, None)
    thickness = t_plate + cap + root
    mask = np.ones(shape, dtype=bool)
    params = {
        "plate_thickness_mm": t_plate,
        "cap_half_width_px": cap_w,
        "cap_height_mm": cap_h,
        "root_half_width_px": root_w,
        "root_height_mm": root_h,
        "centerline_y_px": yc0,
    }
    return thickness, mask, "steel", params, (yc, cap_w)


def _casting(
    rng: np.random.Generator, shape: tuple[int, int], px_mm: float
) -> tuple[F64, npt.NDArray[np.bool_], str, dict[str, Any], list[tuple[float, float, float]]]:
    """A cast aluminium plate in air: rounded outline, bosses, a rib, bolt holes."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    my, mx = rng.uniform(0.06, 0.12) * h, rng.uniform(0.06, 0.12) * w
    corner = rng.uniform(0.05, 0.12) * min(h, w)
    # Rounded rectangle: distance outside the inner rectangle must stay below the corner radius.
    qy = np.clip(np.abs(yy - (h - 1) / 2) - ((h - 2 * my) / 2 - corner), 0, None)
    qx = np.clip(np.abs(xx - (w - 1) / 2) - ((w - 2 * mx) / 2 - corner), 0, None)
    mask = qy**2 + qx**2 <= corner**2
    t_base = rng.uniform(8.0, 18.0)
    thickness = np.full(shape, t_base)
    bosses = []
    for _ in range(int(rng.integers(1, 4))):
        r = rng.uniform(0.06, 0.12) * min(h, w)
        cy = rng.uniform(my + 2 * r, h - my - 2 * r)
        cx = rng.uniform(mx + 2 * r, w - mx - 2 * r)
        extra = rng.uniform(6.0, 16.0)
        rr = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        thickness += extra * np.clip((r + 3 - rr) / 6, 0, 1)  # boss with a short draft
        bosses.append((float(cy), float(cx), float(r)))
    rib_y = rng.uniform(0.3, 0.7) * h
    rib_w = rng.uniform(0.02, 0.04) * h
    thickness += rng.uniform(3.0, 8.0) * (np.abs(yy - rib_y) <= rib_w)
    for _ in range(int(rng.integers(2, 5))):  # bolt holes near the edges
        r = rng.uniform(0.02, 0.035) * min(h, w)
        cy = rng.choice([my + 3 * r, h - my - 3 * r])
        cx = rng.uniform(mx + 3 * r, w - mx - 3 * r)
        mask &= (yy - cy) ** 2 + (xx - cx) ** 2 > r * r
    thickness *= mask
    params = {"base_thickness_mm": t_base, "bosses_yxr_px": bosses, "rib_y_px": rib_y}
    return thickness, mask, "aluminium", params, bosses


def noise_sigma(intensity: F64, noise: float) -> F64:
    """The detector's noise sigma at each noise-free intensity: Poisson-like plus a floor."""
    return np.asarray(noise * (np.sqrt(np.maximum(intensity, 0)) + 10.0), dtype=np.float64)


def make_radiograph(
    size: int = 512,
    *,
    seed: int = 0,
    kind: Literal["weld", "casting"] = "weld",
    shape: tuple[int, int] | None = None,
    n_pores: int | None = None,
    noise: float = 1.0,
    blur_sigma_px: float = 1.0,
    spacing_mm: float = 0.1,
    iqi: bool | IqiOptions = False,
    defects: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Phantom:
    """A (1, H, W) uint16 radiograph (modality "DX") with 2D defect labels and classes.

    ``kind="weld"``: a steel butt weld along x with cap and root reinforcement, porosity in the
    weld metal and, depending on the seed, a lack-of-fusion line and/or a crack (both class
    "crack", told apart by ``Defect.shape``) and a tungsten inclusion. ``kind="casting"``: an
    aluminium plate in air with gas pores, shrinkage in the heavy bosses, a hot tear and iron
    inclusions. Bright = more transmitted (see the module docstring).

    ``iqi=True`` (or an :class:`IqiOptions`) lays a duplex wire IQI on the parent plate above
    the weld and a single-wire IQI below it, beside a uniform patch for the SNR; their places
    and their truth (the SRb the blur gives, each pair's dip) are in ``metadata["iqi"]``. Weld
    radiographs only. Without it the image is exactly what it was before IQIs existed.

    ``defects=False`` makes the defect-free twin of the same call: every random draw is the
    same (the defects are still placed, so the beam and the noise draws that follow do not
    move), but their thickness changes stay out of the image and the labels are empty. With
    ``noise=0`` as well it is the noise-free background an ideal observer knows.
    """
    hw = (int(size), int(size)) if shape is None else (int(shape[0]), int(shape[1]))
    if min(hw) < MIN_SIDE:
        raise UsageError(
            f"radiograph shape {hw} is too small: each side needs at least {MIN_SIDE} pixels"
        )
    if kind not in ("weld", "casting"):
        raise UsageError(f"unknown radiograph kind {kind!r}: choose weld or casting")
    if noise < 0 or blur_sigma_px < 0 or not spacing_mm > 0:
        raise UsageError("radiograph noise and blur must not be negative, spacing must be positive")
    if n_pores is not None and n_pores < 0:
        raise UsageError(f"radiograph pore count {n_pores} is negative")
    if iqi and kind != "weld":
        raise UsageError("IQIs are laid on a weld's parent plate: use kind weld for IQIs")
    rng = np.random.default_rng(seed)
    report(progress, 0.0)
    scale = float(np.sqrt(hw[0] * hw[1]) / 512.0)

    if kind == "weld":
        thickness, part, material, params, (yc, cap_w) = _weld(rng, hw, spacing_mm, n_pores)

        # Weld metal: inside the fused zone, where porosity and cracks form.
        def in_zone(p: tuple[float, float], frac: float) -> bool:
            x = min(max(int(p[1]), 0), hw[1] - 1)
            return bool(abs(p[0] - yc[x]) < frac * cap_w)

        def zone_point() -> tuple[float, float]:
            x = float(rng.uniform(0.03, 0.97) * hw[1])
            return (float(yc[int(x)] + rng.uniform(-0.7, 0.7) * cap_w), x)

        spots: list[tuple[float, float]] = []
    else:
        thickness, part, material, params, bosses = _casting(rng, hw, spacing_mm)
        spots = [(b[0], b[1]) for b in bosses]

        def zone_point() -> tuple[float, float]:
            for _ in range(500):
                p = (float(rng.uniform(0, hw[0])), float(rng.uniform(0, hw[1])))
                if part[int(p[0]), int(p[1])]:
                    return p
            return (hw[0] / 2, hw[1] / 2)

    placer = DefectPlacer(part[np.newaxis], margin=2, gap=1)
    maps = _Maps(hw)
    n_p = round(rng.uniform(5, 16) * scale) if n_pores is None else int(n_pores)
    report(progress, 0.1)

    def pore(center: tuple[float, float], d_px: float, elong: float, cluster: int | None) -> bool:
        a = d_px / 2 * np.exp(elong)
        b = d_px / 2 / np.exp(elong)
        c_mm = b * spacing_mm
        y, x = int(center[0]), int(center[1])
        if not (0 <= y < hw[0] and 0 <= x < hw[1]) or 2 * c_mm > 0.8 * thickness[y, x]:
            return False
        angle = float(rng.uniform(0, np.pi)) if kind == "casting" else float(rng.normal(0, 0.2))
        local, chord = _ellipse(center, a, b, angle, c_mm)
        shp = "sphere" if elong < 0.1 else "elongated"
        if placer.place(local, "pore", shape=shp, cluster=cluster) is None:
            return False
        maps.add(maps.gas, local, chord)
        return True

    def trace(points: F64, width: float, depth: float, shape_name: str) -> bool:
        """A crack-like trace; shrinkage uses it too but is a void, so class pore."""
        got = _trace(points, width, depth, hw)
        if got is None:
            return False
        local, dmap = got
        if shape_name == "shrinkage":
            placed = placer.place(local, "pore", shape=shape_name)
        else:
            placed = placer.place(local, "crack", shape=shape_name, length_vox=len(points) * 0.5)
        if placed is None:
            return False
        maps.add(maps.gas, local, dmap)
        return True

    # Planar defects first: they are long and need room.
    if kind == "weld":
        if rng.random() < 0.6:  # lack of sidewall fusion along one fusion line
            for _ in range(10):
                side = rng.choice([-1.0, 1.0])
                length = rng.uniform(0.15, 0.4) * hw[1]
                x0 = rng.uniform(0.05 * hw[1], 0.95 * hw[1] - length)
                xs = np.arange(x0, x0 + length, 0.5)
                ys = (
                    yc[xs.astype(int)]
                    + side * cap_w * rng.uniform(0.55, 0.7)
                    + rng.normal(0, 0.15, xs.size).cumsum() * 0.05
                )
                if trace(
                    np.stack([ys, xs], axis=1),
                    rng.uniform(1.5, 3.0),
                    rng.uniform(0.4, 1.2),
                    "lack_of_fusion",
                ):
                    break
        if rng.random() < 0.5:  # longitudinal centreline crack or transverse crack
            for _ in range(10):
                transverse = rng.random() < 0.5
                length = (
                    (rng.uniform(0.8, 1.4) * cap_w)
                    if transverse
                    else rng.uniform(0.08, 0.25) * hw[1]
                )
                p = zone_point()
                if not transverse:
                    p = (float(yc[int(p[1])] + rng.normal(0, 0.1 * cap_w)), p[1])
                angle = np.pi / 2 if transverse else 0.0
                pts = _walk(rng, p, angle + rng.normal(0, 0.1), length, 0.12)
                if all(in_zone((float(q[0]), float(q[1])), 0.95) for q in pts[::8]) and trace(
                    pts, rng.uniform(1.0, 1.6), rng.uniform(0.25, 0.8), "crack"
                ):
                    break
    else:
        if rng.random() < 0.6 and spots:  # hot tear at a boss edge
            for _ in range(10):
                cy, cx, r = bosses[int(rng.integers(len(bosses)))]
                a = rng.uniform(0, 2 * np.pi)
                p = (cy + (r + 4) * np.sin(a), cx + (r + 4) * np.cos(a))
                pts = _walk(
                    rng, p, a + np.pi / 2 + rng.normal(0, 0.2), rng.uniform(0.5, 1.2) * r, 0.35
                )
                if trace(pts, rng.uniform(1.0, 1.8), rng.uniform(0.8, 2.5), "hot_tear"):
                    break
        for _ in range(int(rng.integers(0, 3))):  # spongy shrinkage in the heavy sections
            for _attempt in range(10):
                base = spots[int(rng.integers(len(spots)))] if spots else zone_point()
                start = (base[0] + rng.normal(0, 4), base[1] + rng.normal(0, 4))
                pts = _walk(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(10, 30) * scale, 0.9)
                if trace(pts, rng.uniform(2.0, 4.0), rng.uniform(1.0, 3.0), "shrinkage"):
                    break
    check(cancel, "radiograph generation")
    report(progress, 0.3)

    # Dense inclusions: tungsten from the TIG electrode in welds, iron in castings.
    n_incl = int(rng.random() < 0.4) if kind == "weld" else int(rng.integers(0, 3))
    incl_material = "tungsten" if kind == "weld" else "iron"
    for _ in range(n_incl):
        for _attempt in range(20):
            p = zone_point()
            d_px = rng.uniform(2.0, 6.0)
            local, chord = _ellipse(
                p,
                d_px / 2,
                d_px / 2 * rng.uniform(0.6, 1.0),
                rng.uniform(0, np.pi),
                d_px / 2 * spacing_mm,
            )
            if placer.place(local, "inclusion", shape="ellipsoid", material=incl_material):
                maps.add(maps.dense, local, chord)
                break

    # Porosity: a cluster or two, then scattered pores, the largest first.
    n_cluster = round(n_p * rng.uniform(0.3, 0.5)) if n_p >= 6 else 0
    if n_cluster:
        centre = (
            spots[int(rng.integers(len(spots)))] if spots and rng.random() < 0.7 else zone_point()
        )
        spread = rng.uniform(4.0, 10.0) * scale
        for _ in range(n_cluster):
            for _attempt in range(15):
                p = (centre[0] + rng.normal(0, spread), centre[1] + rng.normal(0, spread))
                if pore(p, _pore_diameter_px(rng, 3.0), 0.0, 1):
                    break
    diameters = sorted((_pore_diameter_px(rng, 4.0) for _ in range(n_p - n_cluster)), reverse=True)
    if diameters:
        diameters[0] = max(diameters[0], rng.uniform(10.0, 20.0))
    for d_px in diameters:
        elong = rng.uniform(0.3, 0.7) if kind == "weld" and rng.random() < 0.2 else 0.0
        for _attempt in range(20):
            if pore(zone_point(), d_px, elong, None):
                break
    check(cancel, "radiograph generation")
    report(progress, 0.6)

    # Beer-Lambert with a little scatter, a non-uniform beam, detector blur and Poisson noise.
    mu = MU[material]
    mu_incl = MU[incl_material]
    if not defects:  # the twin: same draws so far, no defects in the metal
        maps.gas[:] = 0.0
        maps.dense[:] = 0.0
        placer.labels[:] = 0
        placer.classes[:] = 0
        placer.defects.clear()
    path = mu * np.clip(thickness - maps.gas, 0, None) + (mu_incl - mu) * maps.dense
    primary = np.exp(-path)
    scatter = SCATTER_FRACTION * ndimage.gaussian_filter(primary * part, SCATTER_SIGMA_PX)
    yy, xx = np.mgrid[0 : hw[0], 0 : hw[1]].astype(np.float64)
    tilt = rng.uniform(-0.04, 0.04)  # heel effect: intensity falls along the anode-cathode axis
    vignette = 1 - 0.06 * (((yy - hw[0] / 2) / hw[0]) ** 2 + ((xx - hw[1] / 2) / hw[1]) ** 2) * 4
    i0 = I0 * rng.uniform(0.85, 1.0)
    intensity = i0 * (1 + tilt * (xx / hw[1] - 0.5)) * vignette * (primary + scatter)
    if blur_sigma_px > 0:
        intensity = ndimage.gaussian_filter(intensity, blur_sigma_px, mode="nearest")
    iqi_truth: dict[str, Any] | None = None
    if iqi:  # after the blur (the IQIs carry their own), before the noise: its draws stay put
        opts = iqi if isinstance(iqi, IqiOptions) else IqiOptions()
        iqi_truth = _lay_iqis(intensity, yc, cap_w, spacing_mm, blur_sigma_px, noise, mu, opts)
    if noise > 0:
        sigma = noise_sigma(intensity, noise)
        intensity = intensity + rng.standard_normal(hw) * sigma
    image = np.rint(np.clip(intensity, 0, 65535)).astype(np.uint16)[np.newaxis]
    report(progress, 0.95)

    lo, hi = (float(q) for q in np.percentile(image[0][part], [0.5, 99.5]))
    metadata: dict[str, Any] = {
        "generator": GENERATOR,
        "seed": seed,
        "params": {
            "kind": kind,
            "shape": list(hw),
            "n_pores": n_pores,
            "noise": noise,
            "blur_sigma_px": blur_sigma_px,
            "spacing_mm": spacing_mm,
            "material": material,
            "mu_per_mm": mu,
            "i0": round(i0, 1),
            "geometry": _round(params),
        },
        "pixel_convention": "intensity: bright = more transmitted (pores bright, inclusions dark)",
        "display_window": {
            "center": round((lo + hi) / 2, 1),
            "width": round(1.2 * (hi - lo) + 1, 1),
        },
        "diconde": component_info("weld" if kind == "weld" else "plate", seed, "DX"),
    }
    if iqi_truth is not None:
        metadata["iqi"] = iqi_truth
    if not defects:
        metadata["params"]["defects"] = False
    ph = Phantom(
        volume=Volume(
            data=image,
            spacing_mm=(spacing_mm, spacing_mm, spacing_mm),
            modality="DX",
            metadata=metadata,
            format="phantom",
        ),
        labels=placer.labels,
        classes=placer.classes,
        part_mask=part[np.newaxis],
        defects=placer.defects,
    )
    metadata["defect_counts"] = ph.counts()
    report(progress, 1.0)
    return ph


def _lay_iqis(
    intensity: F64,
    yc: F64,
    cap_w: float,
    spacing_mm: float,
    sigma_px: float,
    noise: float,
    mu: float,
    opts: IqiOptions,
) -> dict[str, Any]:
    """Multiply the IQIs into ``intensity`` (in place) and return their truth.

    The duplex IQI goes on the plate above the weld cap, the single-wire IQI and a uniform
    patch for the SNR (ISO 17636-2: at least 20 x 55 pixels) on the plate below it.
    """
    h, w = intensity.shape
    top = (3.0, float(yc.min() - cap_w - 3))
    bottom = (float(yc.max() + cap_w + 3), float(h - 3))
    truth: dict[str, Any] = {}
    if opts.duplex:
        placed = place_duplex((h, w), top, spacing_mm, sigma_px, opts)
        intensity[placed.rows, placed.cols] *= placed.factor
        truth["duplex"] = placed.truth
    x_free = 4.0
    if opts.single_wire:
        placed = place_single_wire((h, w), bottom, (0.0, float(w)), spacing_mm, sigma_px, mu, opts)
        intensity[placed.rows, placed.cols] *= placed.factor
        truth["single_wire"] = placed.truth
        x_free = 4 + placed.truth["extent_px"] + 8
    rh = int(min(40, bottom[1] - bottom[0] - 8))
    rw = int(min(100, w - 4 - x_free))
    if rh < 20 or rw < 55:
        raise UsageError(
            f"no room for a 20 x 55 pixel SNR patch beside the IQIs on this {h} x {w} radiograph: "
            "make it larger"
        )
    y0 = int((bottom[0] + bottom[1]) / 2 - rh / 2)
    x0 = int(x_free)
    patch = intensity[y0 : y0 + rh, x0 : x0 + rw]
    sigma = noise_sigma(patch, noise)
    snr = float(patch.mean() / np.sqrt(np.mean(sigma**2))) if noise > 0 else None
    truth["snr_roi"] = {
        "roi_yx": [y0, x0, y0 + rh, x0 + rw],
        "snr_true": None if snr is None else round(snr, 3),
        "snr_truth_method": "mean noise-free intensity / rms of the noise model in the patch",
    }
    if snr is not None and "duplex" in truth:
        truth["snr_roi"]["snrn_true"] = round(snr * 88.6 / truth["duplex"]["srb_true_um"], 3)
    return truth


def _round(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_round(x) for x in v]
    if isinstance(v, float | np.floating):
        return round(float(v), 3)
    return v
