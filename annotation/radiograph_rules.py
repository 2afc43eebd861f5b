"""Weld and casting radiograph rules measured on 2D footprints (annotation.footprint).

Before the rules, indications are sized as a radiograph interpreter sizes them:
1. merged: two indications of one class closer (edge to edge) than the smaller one's size
   are one indication (transitively, on the calls as stored);
2. ignored: an indication smaller than ``ignore_below_mm`` (of the ``ignore_classes``) does
   not count; it is listed as ignored, never dropped silently.
Every rule then sees the kept indications. The measures:
- max_size: the largest dimension against min(f * t, cap);
- max_projected_area_percent: pore area in the worst window of ``window_mm`` along the weld,
  as a percentage of window length x weld width;
- clusters: indications joined by gaps of at most ``cluster_distance_mm``; the envelope (the
  convex hull of its pixels) limited in diameter or area;
- aligned: indications a straight line passes through (centres on a line through two of them,
  within half their size plus ``aligned_tolerance_mm``), in any stretch of ``aligned_length``:
  their count and total length (sum of sizes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ndelab.annotation.criteria import Criteria, RadiographSettings, Rule
from ndelab.annotation.errors import CriteriaError
from ndelab.annotation.footprint import (
    Footprint,
    close_pairs,
    components,
    diameter,
    hull_vertices,
    polygon_area,
    union,
)

UNITS = {
    "max_size": "mm",
    "max_projected_area_percent": "%",
    "max_cluster_diameter_mm": "mm",
    "max_cluster_area_mm2": "mm²",
    "max_aligned_count": "count",
    "max_aligned_length": "mm",
}
DEFAULT_ALIGNED_MIN_COUNT = 3
DEFAULT_CLUSTER_MIN_COUNT = 2
# Sizes come from pixel corners (0.3-0.4-0.5 triangles): compare with a hair of slack so that
# a footprint of exactly 0.5 mm is not "below 0.5 mm" by a rounding error.
EPS = 1e-9


@dataclass(frozen=True)
class Geometry:
    """What the rules need of the radiograph: its size, pixel at the object, weld, thickness."""

    shape_yx: tuple[int, int]
    pixel_mm: tuple[float, float]  # at the object (pitch / magnification), y and x
    magnification: float
    axis: str  # x or y: the weld runs along it
    axis_from: str
    thickness_mm: float | None
    thickness_from: str
    weld_width_mm: float | None
    criteria_path: str

    @property
    def along(self) -> int:
        return 1 if self.axis == "x" else 0

    @property
    def length_mm(self) -> float:
        return self.shape_yx[self.along] * self.pixel_mm[self.along]

    @property
    def across_mm(self) -> float:
        across = 1 - self.along
        return self.shape_yx[across] * self.pixel_mm[across]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pixel_mm": list(self.pixel_mm),
            "magnification": self.magnification,
            "weld_axis": self.axis,
            "weld_axis_from": self.axis_from,
            "weld_length_mm": self.length_mm,
            "weld_width_mm": self.weld_width_mm,
            "thickness_mm": self.thickness_mm,
            "thickness_from": self.thickness_from,
        }


def geometry(
    criteria: Criteria,
    shape: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    magnification: float,
    thickness_mm: float | None,
    thickness_from: str,
) -> Geometry:
    """The radiograph's geometry; a volume of several slices is refused in one sentence."""
    if shape[0] != 1:
        raise CriteriaError(
            criteria.path,
            f"these criteria size indications on a radiograph, but the scan is a volume of "
            f"{shape[0]} slices (a radiograph is one (1, y, x) image)",
        )
    if not magnification >= 1.0:
        raise CriteriaError(criteria.path, f"magnification {magnification} must be at least 1")
    settings = criteria.radiograph or RadiographSettings()
    ny, nx = shape[1], shape[2]
    if settings.weld_axis == "auto":
        axis, axis_from = ("x" if nx >= ny else "y"), "the image's long axis"
    else:
        axis, axis_from = settings.weld_axis, "criteria"
    if thickness_mm is None and settings.thickness_mm is not None:
        thickness_mm, thickness_from = settings.thickness_mm, "the criteria"
    return Geometry(
        shape_yx=(ny, nx),
        pixel_mm=(spacing_mm[1] / magnification, spacing_mm[2] / magnification),
        magnification=magnification,
        axis=axis,
        axis_from=axis_from,
        thickness_mm=thickness_mm,
        thickness_from=thickness_from if thickness_mm is not None else "not given",
        weld_width_mm=settings.weld_width_mm,
        criteria_path=criteria.path,
    )


def _brief(f: Footprint) -> dict[str, Any]:
    return {
        "id": f.id,
        "ids": list(f.ids),
        "class": f.cls,
        "size_mm": f.size_mm,
        "area_mm2": f.area_mm2,
        "centre_yx_mm": list(f.centre_mm),
    }


def merge(items: Sequence[Footprint]) -> tuple[list[Footprint], list[dict[str, Any]]]:
    """Indications closer than the smaller one's size, sized as one; and what was merged."""
    by_class: dict[str, list[int]] = {}
    for i, f in enumerate(items):
        by_class.setdefault(f.cls, []).append(i)
    pairs: list[tuple[int, int]] = []
    gaps: dict[tuple[int, int], float] = {}
    for members in by_class.values():
        group = [items[i] for i in members]
        bound = max((f.size_mm for f in group), default=0.0)
        for a, b, g in close_pairs(group, bound):
            if g < min(group[a].size_mm, group[b].size_mm):
                pairs.append((members[a], members[b]))
                gaps[(members[a], members[b])] = g
    out: list[Footprint] = []
    merged: list[dict[str, Any]] = []
    for comp in components(len(items), pairs):
        one = union([items[i] for i in comp])
        out.append(one)
        if len(comp) > 1:
            merged.append(
                {
                    **_brief(one),
                    "into": one.id,
                    "members": [{"id": items[i].id, "size_mm": items[i].size_mm} for i in comp],
                    "gaps_mm": sorted(g for (i, _), g in gaps.items() if i in comp),
                }
            )
    return out, merged


def ignore(
    items: Sequence[Footprint], settings: RadiographSettings | None
) -> tuple[list[Footprint], list[dict[str, Any]]]:
    """Split into the indications that count and those below the size that is ignored."""
    below = settings.ignore_below_mm if settings else None
    if not below:
        return list(items), []
    classes = settings.ignore_classes if settings else ()
    kept: list[Footprint] = []
    ignored: list[dict[str, Any]] = []
    for f in items:
        if ("any" in classes or f.cls in classes) and f.size_mm < below - EPS:
            ignored.append({**_brief(f), "below_mm": below})
        else:
            kept.append(f)
    return kept, ignored


# --- the checks --------------------------------------------------------------------------


def _thickness(rule: Rule, geo: Geometry, key: str) -> tuple[float, str]:
    if "thickness_mm" in rule.params:
        return rule.params["thickness_mm"], f"rule {rule.index}'s thickness"
    if geo.thickness_mm is None:
        raise CriteriaError(
            geo.criteria_path,
            f"rule {rule.index} sets {key} (a fraction of the wall thickness t) but no thickness "
            "is known: set radiograph.thickness_mm or the rule's thickness_mm, or give the "
            "part's thickness",
        )
    return geo.thickness_mm, geo.thickness_from


def _capped(
    rule: Rule, geo: Geometry, mm_key: str, t_key: str, unit: str = "mm"
) -> tuple[float, str]:
    """A limit given in mm, as a fraction of t, or both (the smaller wins), and its basis."""
    parts: list[tuple[float, str]] = []
    if t_key in rule.limits:
        t, where = _thickness(rule, geo, t_key)
        f = rule.limits[t_key]
        parts.append((f * t, f"{f:g} t with t = {t:.4g} mm from {where}"))
    if mm_key in rule.limits:
        parts.append((rule.limits[mm_key], f"at most {rule.limits[mm_key]:g} {unit}"))
    limit = min(p[0] for p in parts)
    return limit, "; ".join(p[1] for p in parts)


def _ratio(measured: float, limit: float) -> float:
    if limit > 0:
        return measured / limit
    return 100.0 if measured > 0 else 0.0


def checks(rule: Rule, scoped: Sequence[Footprint], geo: Geometry) -> list[dict[str, Any]]:
    """One entry per radiograph limit of the rule: check, measured, limit, unit, basis,
    passed, indications (member call ids) and ratios (by footprint id, for nearness)."""
    out: list[dict[str, Any]] = []
    lim = rule.limits
    if "max_size_mm" in lim or "max_size_t" in lim:
        out.append(_size(rule, scoped, geo))
    if "max_projected_area_percent" in lim:
        out.append(_area(rule, scoped, geo))
    if "max_cluster_diameter_mm" in lim or "max_cluster_area_mm2" in lim:
        out.extend(_clusters(rule, scoped))
    if any(
        k in lim for k in ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t")
    ):
        out.extend(_aligned(rule, scoped, geo))
    for entry in out:
        entry["unit"] = UNITS[entry["check"]]
        entry["passed"] = not entry["indications"]
    return out


def _members(items: Sequence[Footprint]) -> list[str]:
    """Every call of the footprints (for display); ``indications`` hold footprint ids, which
    the disposition expands to their calls."""
    return [i for f in items for i in f.ids]


def _ids(items: Sequence[Footprint]) -> list[str]:
    return [f.id for f in items]


def _size(rule: Rule, scoped: Sequence[Footprint], geo: Geometry) -> dict[str, Any]:
    limit, basis = _capped(rule, geo, "max_size_mm", "max_size_t")
    over = [f for f in scoped if f.size_mm > limit + EPS]
    return {
        "check": "max_size",
        "limit": limit,
        "basis": basis,
        "measured": max((f.size_mm for f in scoped), default=0.0),
        "indications": _ids(over),
        "ratios": {f.id: _ratio(f.size_mm, limit) for f in scoped},
    }


def _area(rule: Rule, scoped: Sequence[Footprint], geo: Geometry) -> dict[str, Any]:
    limit = rule.limits["max_projected_area_percent"]
    along = geo.along
    pitch = geo.pixel_mm[along]
    n_axis = geo.shape_yx[along]
    asked = rule.params.get("window_mm")
    n = n_axis if asked is None else max(1, min(n_axis, int(math.floor(asked / pitch + 1e-9))))
    if "weld_width_mm" in rule.params:
        width, width_from = rule.params["weld_width_mm"], f"rule {rule.index}"
    elif geo.weld_width_mm is not None:
        width, width_from = geo.weld_width_mm, "criteria"
    else:
        width, width_from = (
            geo.across_mm,
            "the image's extent across the weld (no weld width given)",
        )
    px_area = geo.pixel_mm[0] * geo.pixel_mm[1]
    profile = np.zeros(n_axis, dtype=np.float64)
    if scoped:
        pixels = np.unique(np.concatenate([f.pixels for f in scoped]), axis=0)
        coords = np.clip(pixels[:, along], 0, n_axis - 1)
        profile += np.bincount(coords, minlength=n_axis) * px_area
    cum = np.concatenate([[0.0], np.cumsum(profile)])
    sums = cum[n:] - cum[:-n]  # window k covers columns k .. k+n-1
    window_area = n * pitch * width
    percent = 100.0 * sums / window_area
    worst = int(np.argmax(percent))
    measured = float(percent[worst])
    lo, hi = worst, worst + n
    inside = [f for f in scoped if ((f.pixels[:, along] >= lo) & (f.pixels[:, along] < hi)).any()]
    ratios: dict[str, float] = {}
    for f in scoped:
        c0, c1 = int(f.pixels[:, along].min()), int(f.pixels[:, along].max())
        best = float(percent[max(0, c0 - n + 1) : min(c1, len(percent) - 1) + 1].max())
        ratios[f.id] = _ratio(best, limit)
    basis = f"of {n * pitch:g} mm x {width:g} mm"
    if asked is not None and n * pitch < asked - 1e-9:
        basis += f" (the weld is shorter than the {asked:g} mm window)"
    return {
        "check": "max_projected_area_percent",
        "limit": limit,
        "basis": basis,
        "measured": measured,
        "window_mm": n * pitch,
        "window_from_mm": lo * pitch,
        "window_to_mm": hi * pitch,
        "weld_axis": geo.axis,
        "weld_width_mm": width,
        "weld_width_from": width_from,
        "pore_area_mm2": float(sums[worst]),
        "window_area_mm2": window_area,
        "indications": _ids(inside) if measured > limit + EPS else [],
        "ratios": ratios,
    }


def _clusters(rule: Rule, scoped: Sequence[Footprint]) -> list[dict[str, Any]]:
    distance = rule.params["cluster_distance_mm"]
    least = int(rule.params.get("cluster_min_count", DEFAULT_CLUSTER_MIN_COUNT))
    pairs = [(i, j) for i, j, _ in close_pairs(scoped, distance)]
    found: list[dict[str, Any]] = []
    for comp in components(len(scoped), pairs):
        if len(comp) < max(least, 2):
            continue
        members = [scoped[i] for i in comp]
        pixels = np.unique(np.concatenate([f.pixels for f in members]), axis=0)
        hull = hull_vertices(pixels, np.asarray(members[0].pixel_mm))
        found.append(
            {
                "ids": _members(members),
                "footprints": [f.id for f in members],
                "count": len(members),
                "diameter_mm": diameter(hull),
                "area_mm2": polygon_area(hull),
            }
        )
    out: list[dict[str, Any]] = []
    for check, key in (
        ("max_cluster_diameter_mm", "diameter_mm"),
        ("max_cluster_area_mm2", "area_mm2"),
    ):
        if check not in rule.limits:
            continue
        limit = rule.limits[check]
        ratios = {fid: _ratio(c[key], limit) for c in found for fid in c["footprints"]}
        out.append(
            {
                "check": check,
                "limit": limit,
                "basis": f"pores within {distance:g} mm of each other form a cluster",
                "measured": max((c[key] for c in found), default=0.0),
                "cluster_distance_mm": distance,
                "clusters": [{k: v for k, v in c.items() if k != "footprints"} for c in found],
                "indications": [i for c in found if c[key] > limit + EPS for i in c["footprints"]],
                "ratios": ratios,
            }
        )
    return out


@dataclass
class _Row:
    total_mm: float = 0.0
    count: int = 0
    ids: tuple[int, ...] = ()


def _aligned_rows(
    scoped: Sequence[Footprint], least: int, tol: float, max_gap: float | None, length: float | None
) -> tuple[_Row, _Row, dict[int, tuple[float, int]]]:
    """The row of aligned indications with the largest total length, the one with the most
    indications, and per footprint the largest (total, count) of any row it is in."""
    n = len(scoped)
    centres = np.array([f.centre_mm for f in scoped], dtype=np.float64).reshape(-1, 2)
    sizes = np.array([f.size_mm for f in scoped], dtype=np.float64)
    by_total, by_count = _Row(), _Row()
    each: dict[int, tuple[float, int]] = {}
    for i in range(n):
        for j in range(i + 1, n):
            d = centres[j] - centres[i]
            dist = float(np.hypot(d[0], d[1]))
            if dist == 0 or (length is not None and dist > length + 1e-9):
                continue
            u = d / dist
            rel = centres - centres[i]
            off = np.abs(rel[:, 0] * u[1] - rel[:, 1] * u[0])
            on = np.flatnonzero(off <= sizes / 2 + tol + 1e-9)
            pos = rel[on] @ u
            order = np.argsort(pos, kind="stable")
            on, pos = on[order], pos[order]
            start = 0
            for k in range(1, len(on) + 1):  # split the line into runs at large gaps
                gap = (
                    math.inf
                    if k == len(on)
                    else pos[k] - sizes[on[k]] / 2 - (pos[k - 1] + sizes[on[k - 1]] / 2)
                )
                if k < len(on) and (max_gap is None or gap <= max_gap + 1e-9):
                    continue
                _windows(on[start:k], pos[start:k], sizes, least, length, by_total, by_count, each)
                start = k
    return by_total, by_count, each


def _windows(
    run: Any,
    pos: Any,
    sizes: Any,
    least: int,
    length: float | None,
    by_total: _Row,
    by_count: _Row,
    each: dict[int, tuple[float, int]],
) -> None:
    """Every stretch of at most ``length`` (centres inside) of one run along a line."""
    left = 0
    for right in range(len(run)):
        while length is not None and pos[right] - pos[left] > length + 1e-9:
            left += 1
        members = tuple(int(v) for v in run[left : right + 1])
        if len(members) < least:
            continue
        total = float(sizes[list(members)].sum())
        if total > by_total.total_mm:
            by_total.total_mm, by_total.count, by_total.ids = total, len(members), members
        if len(members) > by_count.count:
            by_count.total_mm, by_count.count, by_count.ids = total, len(members), members
        for m in members:
            t, c = each.get(m, (0.0, 0))
            each[m] = (max(t, total), max(c, len(members)))


def _aligned(rule: Rule, scoped: Sequence[Footprint], geo: Geometry) -> list[dict[str, Any]]:
    p, lim = rule.params, rule.limits
    least = int(p.get("aligned_min_count", DEFAULT_ALIGNED_MIN_COUNT))
    tol = p.get("aligned_tolerance_mm", 0.0)
    max_gap = p.get("aligned_max_gap_mm")
    length: float | None = None
    stretch = "along the whole line"
    if "aligned_length_mm" in p:
        length = p["aligned_length_mm"]
        stretch = f"within {length:g} mm"
    elif "aligned_length_t" in p:
        t, _ = _thickness(rule, geo, "aligned_length_t")
        length = p["aligned_length_t"] * t
        stretch = f"within {p['aligned_length_t']:g} t = {length:.4g} mm"
    by_total, by_count, each = _aligned_rows(scoped, max(least, 2), tol, max_gap, length)
    common = {
        "aligned_length_mm": length,
        "aligned_min_count": least,
        "basis": f"{least} or more indications in a line, {stretch}",
    }

    def row(r: _Row) -> dict[str, Any]:
        return {
            "ids": _members([scoped[i] for i in r.ids]),
            "count": r.count,
            "total_length_mm": r.total_mm,
        }

    out: list[dict[str, Any]] = []
    if "max_aligned_count" in lim:
        limit = lim["max_aligned_count"]
        out.append(
            {
                "check": "max_aligned_count",
                "limit": limit,
                **common,
                "measured": by_count.count,
                "row": row(by_count),
                "indications": _ids([scoped[i] for i in by_count.ids])
                if by_count.count > limit
                else [],
                "ratios": {scoped[i].id: _ratio(c, limit) for i, (_, c) in each.items()},
            }
        )
    if "max_aligned_length_mm" in lim or "max_aligned_length_t" in lim:
        limit, basis = _capped(rule, geo, "max_aligned_length_mm", "max_aligned_length_t")
        out.append(
            {
                "check": "max_aligned_length",
                "limit": limit,
                **common,
                "basis": f"{basis}; {common['basis']}",
                "measured": by_total.total_mm,
                "row": row(by_total),
                "indications": (
                    _ids([scoped[i] for i in by_total.ids])
                    if by_total.total_mm > limit + EPS
                    else []
                ),
                "ratios": {scoped[i].id: _ratio(t, limit) for i, (t, _) in each.items()},
            }
        )
    return out
