"""Casting-like parts built slice by slice from 2D maps (no whole-volume distance fields).

Each builder draws its dimensions from the seed's generator and returns the solid mask with
the places where a foundry would expect trouble: ``hotspots`` at wall transitions (where hot
tears start) and ``thick_spots`` in heavy sections (last to solidify: shrinkage, gas).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ndelab.volumes.progress import Cancel, check

PartKind = Literal["housing", "cylinder", "block", "bracket"]
F32 = npt.NDArray[np.float32]
B2 = npt.NDArray[np.bool_]


@dataclass
class Hotspot:
    """A crack site: a point in the metal and the crack plane's suggested frame (z, y, x)."""

    point: tuple[float, float, float]
    along: tuple[float, float, float]  # in-plane direction the crack runs along
    normal: tuple[float, float, float]  # plane normal


@dataclass
class PartGeometry:
    mask: npt.NDArray[np.bool_]
    name: str
    center_yx: tuple[float, float]  # beam-hardening centre in each slice
    radii_yx: tuple[float, float]  # extent over which cupping falls off
    hotspots: list[Hotspot] = field(default_factory=list)
    thick_spots: list[tuple[float, float, float]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def _unit(v: tuple[float, float, float]) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=np.float64)
    a = a / (np.linalg.norm(a) or 1.0)
    return (float(a[0]), float(a[1]), float(a[2]))


def _fillet(dz: float, r: float) -> float:
    """Extra width of a concave quarter-round fillet of radius r at height dz above its base."""
    if r <= 0 or dz >= r or dz < 0:
        return 0.0
    return float(r - np.sqrt(r * r - (r - dz) ** 2))


def _fill(
    shape: tuple[int, int, int], slice_fn: Callable[[int], B2 | None], cancel: Cancel | None
) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape, dtype=bool)
    for z in range(shape[0]):
        if z % 32 == 0:
            check(cancel, "phantom generation")
        s = slice_fn(z)
        if s is not None:
            mask[z] = s
    return mask


def _housing(
    shape: tuple[int, int, int], rng: np.random.Generator, cancel: Cancel | None
) -> PartGeometry:
    """A pump-housing-like casting: bolted flange, gussets, stepped tube, through bore."""
    nz, ny, nx = shape
    s = min(ny, nx)
    cy = (ny - 1) / 2 + rng.uniform(-0.02, 0.02) * ny
    cx = (nx - 1) / 2 + rng.uniform(-0.02, 0.02) * nx
    z0 = round(nz * rng.uniform(0.07, 0.13))
    z1 = nz - round(nz * rng.uniform(0.07, 0.13))
    h = z1 - z0
    rf = s * rng.uniform(0.39, 0.45)
    ft = max(4.0, h * rng.uniform(0.14, 0.22))
    ro = s * rng.uniform(0.22, 0.28)
    ro2 = ro * rng.uniform(0.72, 0.84)
    ri = ro2 * rng.uniform(0.42, 0.58)
    zf = z0 + ft  # flange top
    z_step = zf + (z1 - zf) * rng.uniform(0.45, 0.65)
    fr = min(ft, (rf - ro) * 0.4) * rng.uniform(0.5, 0.9)
    cb_r = ri + (ro2 - ri) * rng.uniform(0.25, 0.4)
    cb_depth = h * rng.uniform(0.06, 0.12)
    n_bolts = int(rng.integers(4, 7))
    rb = rf - (rf - ro) * 0.33
    rh = max(1.5, (rf - ro) * rng.uniform(0.12, 0.18))
    rib_t = max(3.0, s * rng.uniform(0.035, 0.05))
    rib_h = (z_step - zf) * rng.uniform(0.5, 0.85)
    rib_r0 = rf - (rf - ro) * 0.12
    rot0 = rng.uniform(0, 2 * np.pi)

    yy, xx = np.ogrid[0:ny, 0:nx]
    dy = (yy - cy).astype(np.float32)
    dx = (xx - cx).astype(np.float32)
    r = np.sqrt(dy * dy + dx * dx)
    bolts = np.zeros((ny, nx), dtype=bool)
    bolt_angles = rot0 + 2 * np.pi * np.arange(n_bolts) / n_bolts
    for a in bolt_angles:
        by, bx = rb * np.sin(a), rb * np.cos(a)
        bolts |= (dy - by) ** 2 + (dx - bx) ** 2 <= rh * rh
    ribs: list[tuple[F32, B2]] = []
    for a in bolt_angles + np.pi / n_bolts:  # gussets between the bolts
        along = (dx * np.cos(a) + dy * np.sin(a)).astype(np.float32)
        across = np.abs(-dx * np.sin(a) + dy * np.cos(a)) <= rib_t / 2
        ribs.append((along, across))
    flange = (r <= rf) & (r >= ri) & ~bolts

    def slice_at(z: int) -> B2 | None:
        zc = z + 0.5  # slab centre, so thin features sample fairly
        if z < z0 or z >= z1:
            return None
        if zc < zf:
            return flange
        dz = zc - zf
        rad = ro if zc < z_step else max(ro2, ro - (zc - z_step))  # 45 degree shoulder
        rad += _fillet(dz, fr)
        rin = cb_r if z >= z1 - cb_depth else ri
        out = (r <= rad) & (r >= rin)
        if dz < rib_h:
            reach = rib_r0 - (rib_r0 - ro) * dz / rib_h
            for along, across in ribs:
                out |= across & (along >= ro - 1) & (along <= reach)
        return out

    mask = _fill(shape, slice_at, cancel)

    hot: list[Hotspot] = []
    thick: list[tuple[float, float, float]] = []
    for a in rng.uniform(0, 2 * np.pi, size=6):
        ca, sa = float(np.cos(a)), float(np.sin(a))
        tangent = (0.0, ca, -sa)
        radial = (0.0, sa, ca)
        # Hot tear under the flange/tube fillet: plane leans 45 degrees between radial and axis.
        p = (zf - 0.35 * ft, cy + (ro + 0.2 * fr) * sa, cx + (ro + 0.2 * fr) * ca)
        hot.append(Hotspot(p, _unit(tangent), _unit((1.0, sa, ca))))
        # Cold shut at the shoulder: a horizontal sheet in the wall, along the circumference.
        rm = (ri + ro2) / 2
        hot.append(Hotspot((z_step, cy + rm * sa, cx + rm * ca), _unit(tangent), (1.0, 0.0, 0.0)))
        # Under a gusset root, in the flange: a sheet parallel to the flange face.
        hot.append(
            Hotspot(
                (zf - ft / 2, cy + (ro + rf) / 2 * sa, cx + (ro + rf) / 2 * ca),
                radial,
                (1.0, 0.0, 0.0),
            )
        )
        rt = (ri + ro) / 2
        thick.append((zf - 0.2 * ft, cy + rt * sa, cx + rt * ca))
    params = {
        "z_range": [z0, z1],
        "flange_radius": rf,
        "flange_thickness": ft,
        "tube_radius": ro,
        "tube_radius_upper": ro2,
        "bore_radius": ri,
        "step_z": z_step,
        "fillet_radius": fr,
        "bolt_holes": n_bolts,
        "gusset_thickness": rib_t,
        "gusset_height": rib_h,
    }
    return PartGeometry(mask, "housing", (cy, cx), (rf, rf), hot, thick, _rounded(params))


def _cylinder(
    shape: tuple[int, int, int], rng: np.random.Generator, cancel: Cancel | None
) -> PartGeometry:
    """A turned casting: solid cylinder with a blind bore, a groove and a cross hole."""
    nz, ny, nx = shape
    s = min(ny, nx)
    cy = (ny - 1) / 2 + rng.uniform(-0.02, 0.02) * ny
    cx = (nx - 1) / 2 + rng.uniform(-0.02, 0.02) * nx
    z0 = round(nz * rng.uniform(0.06, 0.12))
    z1 = nz - round(nz * rng.uniform(0.06, 0.12))
    h = z1 - z0
    big = s * rng.uniform(0.36, 0.44)
    bore = big * rng.uniform(0.25, 0.4)
    bore_z = z1 - h * rng.uniform(0.3, 0.5)
    groove_z0 = z0 + h * rng.uniform(0.3, 0.45)
    groove_z1 = groove_z0 + max(3.0, h * rng.uniform(0.06, 0.12))
    groove_r = big - (big - bore) * rng.uniform(0.2, 0.35)
    cross_z = z0 + h * rng.uniform(0.12, 0.2)
    cross_r = max(1.5, big * rng.uniform(0.08, 0.12))

    yy, xx = np.ogrid[0:ny, 0:nx]
    dy = (yy - cy).astype(np.float32)
    dx = (xx - cx).astype(np.float32)
    r = np.sqrt(dy * dy + dx * dx)
    ybar = np.broadcast_to(np.abs(dy), (ny, nx))

    def slice_at(z: int) -> B2 | None:
        zc = z + 0.5
        if z < z0 or z >= z1:
            return None
        rad = groove_r if groove_z0 <= zc < groove_z1 else big
        out = r <= rad
        if zc >= bore_z:
            out &= r >= bore
        dzc = zc - cross_z
        if abs(dzc) < cross_r:
            out &= ybar > np.sqrt(cross_r * cross_r - dzc * dzc)
        return out

    mask = _fill(shape, slice_at, cancel)
    hot: list[Hotspot] = []
    thick: list[tuple[float, float, float]] = []
    for a in rng.uniform(0, 2 * np.pi, size=6):
        ca, sa = float(np.cos(a)), float(np.sin(a))
        tangent = (0.0, ca, -sa)
        rg = (groove_r + bore) / 2
        hot.append(Hotspot((groove_z0 - 3, cy + rg * sa, cx + rg * ca), tangent, (1.0, 0.0, 0.0)))
        rb = bore + (big - bore) * 0.45
        hot.append(Hotspot((bore_z - 2, cy + rb * sa, cx + rb * ca), tangent, _unit((1.0, sa, ca))))
        # Centreline shrinkage: the axis of a solid round is the last to freeze.
        thick.append(
            (z0 + h * rng.uniform(0.25, 0.6), cy + rng.normal() * 2, cx + rng.normal() * 2)
        )
    params = {
        "z_range": [z0, z1],
        "radius": big,
        "bore_radius": bore,
        "bore_bottom_z": bore_z,
        "groove_z": [groove_z0, groove_z1],
        "groove_radius": groove_r,
        "cross_hole_z": cross_z,
        "cross_hole_radius": cross_r,
    }
    return PartGeometry(mask, "cylinder", (cy, cx), (big, big), hot, thick, _rounded(params))


def _block(
    shape: tuple[int, int, int], rng: np.random.Generator, cancel: Cancel | None
) -> PartGeometry:
    """A stepped block: thick and thin sections, a pocket milled in the thick one, a drilling."""
    nz, ny, nx = shape
    z0 = round(nz * rng.uniform(0.08, 0.14))
    z1 = nz - round(nz * rng.uniform(0.08, 0.14))
    y0 = round(ny * rng.uniform(0.1, 0.16))
    y1 = ny - round(ny * rng.uniform(0.1, 0.16))
    x0 = round(nx * rng.uniform(0.08, 0.12))
    x1 = nx - round(nx * rng.uniform(0.08, 0.12))
    xs = x0 + (x1 - x0) * rng.uniform(0.45, 0.6)
    z_thin = z0 + (z1 - z0) * rng.uniform(0.35, 0.5)
    pocket_depth = (z1 - z_thin) * rng.uniform(0.4, 0.7)
    pw = (xs - x0) * rng.uniform(0.25, 0.4)
    pl = (y1 - y0) * rng.uniform(0.3, 0.5)
    pcx = x0 + (xs - x0) * 0.5
    pcy = (y0 + y1) / 2
    hole_r = max(1.5, min(ny, nx) * rng.uniform(0.04, 0.06))
    hole_yx = ((y0 + y1) / 2 + rng.uniform(-0.2, 0.2) * (y1 - y0), xs + (x1 - xs) * 0.55)

    yy, xx = np.ogrid[0:ny, 0:nx]
    rect = (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)
    rect = np.broadcast_to(rect, (ny, nx))
    hole = (yy - hole_yx[0]) ** 2 + (xx - hole_yx[1]) ** 2 <= hole_r**2
    thick_part = rect & (xx < xs)
    pocket = (np.abs(yy - pcy) <= pl / 2) & (np.abs(xx - pcx) <= pw / 2)
    lower = rect & ~hole
    upper = thick_part
    upper_pocket = thick_part & ~pocket

    def slice_at(z: int) -> B2 | None:
        zc = z + 0.5
        if z < z0 or z >= z1:
            return None
        if zc < z_thin:
            return lower
        return upper_pocket if zc >= z1 - pocket_depth else upper

    mask = _fill(shape, slice_at, cancel)
    hot: list[Hotspot] = []
    thick: list[tuple[float, float, float]] = []
    for _ in range(6):
        y = float(rng.uniform(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0)))
        # Re-entrant corner of the step: crack plane at 45 degrees into the thick section.
        hot.append(Hotspot((z_thin - 2, y, xs - 2), (0.0, 1.0, 0.0), _unit((1.0, 0.0, -1.0))))
        hot.append(Hotspot((z1 - pocket_depth - 3, y, pcx), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)))
        thick.append(((z0 + z_thin) / 2, y, (x0 + xs) / 2))
    params = {
        "z_range": [z0, z1],
        "y_range": [y0, y1],
        "x_range": [x0, x1],
        "step_x": xs,
        "thin_top_z": z_thin,
        "pocket_depth": pocket_depth,
        "hole_radius": hole_r,
    }
    return PartGeometry(
        mask,
        "block",
        ((y0 + y1) / 2, (x0 + x1) / 2),
        ((y1 - y0) / 2, (x1 - x0) / 2),
        hot,
        thick,
        _rounded(params),
    )


def _bracket(
    shape: tuple[int, int, int], rng: np.random.Generator, cancel: Cancel | None
) -> PartGeometry:
    """An L bracket: base plate and web with a fillet, a gusset, and bolt holes in both."""
    nz, ny, nx = shape
    z0 = round(nz * rng.uniform(0.08, 0.12))
    z1 = nz - round(nz * rng.uniform(0.08, 0.12))
    y0 = round(ny * rng.uniform(0.1, 0.15))
    y1 = ny - round(ny * rng.uniform(0.1, 0.15))
    x0 = round(nx * rng.uniform(0.08, 0.12))
    x1 = nx - round(nx * rng.uniform(0.08, 0.12))
    tb = max(5.0, (z1 - z0) * rng.uniform(0.18, 0.26))
    tw = max(5.0, (x1 - x0) * rng.uniform(0.16, 0.24))
    fr = min(tb, tw) * rng.uniform(0.5, 0.9)
    xw = x0 + tw  # web face
    zb = z0 + tb  # base top
    g_t = max(3.0, (y1 - y0) * rng.uniform(0.06, 0.1))
    g_h = (z1 - zb) * rng.uniform(0.55, 0.8)
    g_l = (x1 - xw) * rng.uniform(0.55, 0.8)
    yc = (y0 + y1) / 2
    hole_r = max(1.5, min(ny, nx) * rng.uniform(0.04, 0.06))
    base_holes = [
        (y0 + (y1 - y0) * f, xw + (x1 - xw) * 0.65)
        for f in (rng.uniform(0.15, 0.3), rng.uniform(0.7, 0.85))
    ]
    web_hole = ((y0 + (y1 - y0) * rng.uniform(0.2, 0.3)), zb + (z1 - zb) * rng.uniform(0.5, 0.7))

    yy, xx = np.ogrid[0:ny, 0:nx]
    rect = np.broadcast_to((yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1), (ny, nx))
    base = rect.copy()
    for hy, hx in base_holes:
        base &= (yy - hy) ** 2 + (xx - hx) ** 2 > hole_r**2
    xf = np.broadcast_to(xx.astype(np.float32), (ny, nx))
    in_y = np.broadcast_to((yy >= y0) & (yy < y1), (ny, nx))
    gusset_y = np.broadcast_to(np.abs(yy - yc) <= g_t / 2, (ny, nx))
    web_hole_y = np.abs(yy - web_hole[0]).astype(np.float32)

    def slice_at(z: int) -> B2 | None:
        zc = z + 0.5
        if z < z0 or z >= z1:
            return None
        if zc < zb:
            return base
        dz = zc - zb
        out = in_y & (xf >= x0) & (xf < xw + _fillet(dz, fr))
        dh = zc - web_hole[1]
        if abs(dh) < hole_r:  # a hole through the web, along x
            out &= ~((web_hole_y <= np.sqrt(hole_r**2 - dh * dh)) & (xf < xw))
        if dz < g_h:
            out |= gusset_y & (xf >= x0) & (xf < xw + g_l * (1 - dz / g_h))
        return out

    mask = _fill(shape, slice_at, cancel)
    hot: list[Hotspot] = []
    thick: list[tuple[float, float, float]] = []
    for _ in range(6):
        y = float(rng.uniform(y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0)))
        # Hot tear in the inner corner: runs along y, plane at 45 degrees through the corner.
        hot.append(
            Hotspot((zb - 0.3 * tb, y, xw - 0.3 * tw), (0.0, 1.0, 0.0), _unit((1.0, 0.0, 1.0)))
        )
        hot.append(
            Hotspot((z0 + tb / 2, y, xw + (x1 - xw) * 0.3), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
        )
        thick.append((zb - tb * 0.4, y, xw - tw * 0.4))
    params = {
        "z_range": [z0, z1],
        "y_range": [y0, y1],
        "x_range": [x0, x1],
        "base_thickness": tb,
        "web_thickness": tw,
        "fillet_radius": fr,
        "gusset": [g_t, g_h, g_l],
        "hole_radius": hole_r,
    }
    return PartGeometry(
        mask,
        "bracket",
        (yc, (x0 + x1) / 2),
        ((y1 - y0) / 2, (x1 - x0) / 2),
        hot,
        thick,
        _rounded(params),
    )


def _rounded(params: dict[str, Any]) -> dict[str, Any]:
    def r(v: Any) -> Any:
        if isinstance(v, list):
            return [r(x) for x in v]
        if isinstance(v, float | np.floating):
            return round(float(v), 3)
        if isinstance(v, np.integer):
            return int(v)
        return v

    return {k: r(v) for k, v in params.items()}


BUILDERS: dict[
    str, Callable[[tuple[int, int, int], np.random.Generator, Cancel | None], PartGeometry]
] = {
    "housing": _housing,
    "cylinder": _cylinder,
    "block": _block,
    "bracket": _bracket,
}


def build_part(
    kind: str, shape: tuple[int, int, int], rng: np.random.Generator, cancel: Cancel | None = None
) -> PartGeometry:
    """The part of this kind, sized to ``shape`` with seed-dependent dimensions."""
    return BUILDERS[kind](shape, rng, cancel)
