"""Placing defects into the part: each is drawn in its own box, checked, then labelled.

A defect is kept only when it lies wholly inside the solid with ``margin`` voxels of metal
around it (so no defect is cut by a surface) and ``gap`` voxels away from every other defect
(so instances never touch). Its centroid, size and box are measured from the voxels actually
labelled, so the ground truth agrees with the label arrays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.volumes.phantom.model import CLASS_CODES, Defect, DefectKind
from ndelab.volumes.phantom.parts import Hotspot, PartGeometry
from ndelab.volumes.phantom.rasterize import LocalMask, ellipsoid, random_rotation, sheet, union
from ndelab.volumes.progress import Cancel, Progress, check, report

D_MIN, D_MAX = 1.5, 12.0  # pore equivalent diameters drawn, voxels


class DefectPlacer:
    """Writes accepted defects into ``labels`` and ``classes`` (same shape as the part)."""

    def __init__(self, part: npt.NDArray[np.bool_], *, margin: int = 2, gap: int = 1) -> None:
        self.part = part
        self.labels = np.zeros(part.shape, dtype=np.uint16)
        self.classes = np.zeros(part.shape, dtype=np.uint8)
        self.margin = margin
        self.gap = gap
        self.defects: list[Defect] = []

    def place(self, local: LocalMask, kind: DefectKind, **extra: Any) -> Defect | None:
        """Label ``local`` as the next defect if it fits; None if it does not."""
        m = local.cropped()
        if m.count == 0 or len(self.defects) >= np.iinfo(np.uint16).max:
            return None
        planar = self.part.shape[0] == 1  # a radiograph: margins in y and x only
        pad = max(self.margin, self.gap)
        pads = np.array([0 if planar else pad, pad, pad])
        lo = np.asarray(m.offset) - pads
        hi = np.asarray(m.offset) + np.asarray(m.mask.shape) + pads
        if (lo < 0).any() or (hi > np.asarray(self.part.shape)).any():
            return None
        region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        padded = np.pad(m.mask, [(int(p), int(p)) for p in pads])
        if self.margin > 0:
            near = ndimage.maximum_filter(padded, size=self._window(self.margin, planar))
            if not self.part[region][near].all():
                return None
        near_gap = (
            ndimage.maximum_filter(padded, size=self._window(self.gap, planar))
            if self.gap
            else padded
        )
        if self.labels[region][near_gap].any():
            return None
        new_id = len(self.defects) + 1
        inner = tuple(
            slice(int(a), int(a) + s) for a, s in zip(m.offset, m.mask.shape, strict=True)
        )
        self.labels[inner][m.mask] = new_id
        self.classes[inner][m.mask] = CLASS_CODES[kind]
        idx = np.nonzero(m.mask)
        n = int(idx[0].size)
        center = tuple(float(i.mean()) + o for i, o in zip(idx, m.offset, strict=True))
        bbox = (*m.offset, *(o + s for o, s in zip(m.offset, m.mask.shape, strict=True)))
        # Equivalent sphere diameter; for a radiograph the equivalent circle diameter.
        eqd = np.sqrt(4.0 * n / np.pi) if planar else (6.0 * n / np.pi) ** (1.0 / 3.0)
        d = Defect(
            id=new_id,
            kind=kind,
            center_zyx=(center[0], center[1], center[2]),
            equivalent_diameter_vox=float(eqd),
            volume_vox=n,
            bbox_zyx=(bbox[0], bbox[1], bbox[2], bbox[3], bbox[4], bbox[5]),
            **extra,
        )
        self.defects.append(d)
        return d

    @staticmethod
    def _window(r: int, planar: bool) -> tuple[int, int, int]:
        w = 2 * r + 1
        return (1, w, w) if planar else (w, w, w)


@dataclass
class DefectPlan:
    """How many of each defect to try; the placer may fit fewer."""

    pores: int
    clustered: int
    clusters: int
    shrinkage: int
    cracks: int
    inclusions: int

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def plan_defects(
    rng: np.random.Generator, part_voxels: int, min_dim: int, n_pores: int | None
) -> DefectPlan:
    """Defect counts for this seed, growing with the part (sub-linearly: fewer per voxel)."""
    scale = max(part_voxels / 5.0e5, 0.05) ** (2.0 / 3.0)
    pores = round(rng.uniform(25, 50) * scale) if n_pores is None else int(n_pores)
    clusters = int(rng.integers(1, 3)) if pores >= 8 else 0
    clustered = round(pores * rng.uniform(0.2, 0.4)) if clusters else 0
    big = max(1.0, scale**0.5)
    return DefectPlan(
        pores=pores,
        clustered=clustered,
        clusters=clusters,
        shrinkage=int(rng.integers(0, 3)) if min_dim >= 48 else 0,
        cracks=round(int(rng.integers(1, 4)) * big),
        inclusions=round(int(rng.integers(1, 4)) * big),
    )


def _pore_diameter(rng: np.random.Generator, median: float = 3.0) -> float:
    """Log-normal diameter truncated to [D_MIN, D_MAX]: many small pores, a few large."""
    for _ in range(100):
        d = float(np.exp(rng.normal(np.log(median), 0.55)))
        if D_MIN <= d <= D_MAX:
            return d
    return float(np.clip(median, D_MIN, D_MAX))


def _semi_axes(rng: np.random.Generator, d: float, elong: float) -> npt.NDArray[np.float64]:
    """Ellipsoid semi-axes of the same volume as a sphere of diameter d."""
    f = np.exp(rng.normal(0.0, elong, size=3))
    f /= np.cbrt(f.prod())
    return np.asarray(d / 2.0 * f, dtype=np.float64)


class _Sampler:
    """Uniform random points inside the part (rejection sampling in its bounding box)."""

    def __init__(self, part: npt.NDArray[np.bool_], rng: np.random.Generator) -> None:
        self.part = part
        self.rng = rng
        lo, hi = [], []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            hit = np.flatnonzero(part.any(axis=other))
            lo.append(int(hit[0]) if hit.size else 0)
            hi.append(int(hit[-1]) + 1 if hit.size else 1)
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)

    def point(self) -> tuple[float, float, float] | None:
        for _ in range(500):
            p = self.rng.uniform(self.lo, self.hi)
            if self.part[int(p[0]), int(p[1]), int(p[2])]:
                return (float(p[0]), float(p[1]), float(p[2]))
        return None


def _frame(
    along: npt.ArrayLike, normal: npt.ArrayLike, rng: np.random.Generator, tilt: float
) -> npt.NDArray[np.float64]:
    """Orthonormal (u, v, n) columns from suggested directions, tilted at random."""
    n = np.asarray(normal, dtype=np.float64) + rng.normal(0.0, tilt, size=3)
    n /= np.linalg.norm(n)
    u = np.asarray(along, dtype=np.float64) + rng.normal(0.0, tilt, size=3)
    u -= n * float(u @ n)
    if np.linalg.norm(u) < 1e-6:
        u = np.cross(n, [1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.cross(n, [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    return np.stack([u, v, n], axis=1)


def _try_crack(
    placer: DefectPlacer, rng: np.random.Generator, spot: Hotspot, size_scale: float
) -> Defect | None:
    half_len = rng.uniform(6.0, 16.0) * size_scale
    for _ in range(10):
        frame = _frame(spot.along, spot.normal, rng, 0.15)
        center = np.asarray(spot.point) + rng.normal(0.0, 1.5, size=3)
        half_w = half_len * rng.uniform(0.25, 0.45)
        local = sheet(
            center,
            frame,
            half_len,
            max(half_w, 2.0),
            rng.uniform(1.0, 2.0),
            curvature=rng.uniform(-0.15, 0.15) * half_len,
            wave_amp=rng.uniform(0.0, 0.8),
            wave_freq=rng.uniform(0.25, 0.7),
            wave_phase=rng.uniform(0, 2 * np.pi),
        )
        n = frame[:, 2]
        d = placer.place(
            local,
            "crack",
            shape="planar",
            normal_zyx=(float(n[0]), float(n[1]), float(n[2])),
            length_vox=float(2 * half_len),
        )
        if d is not None:
            return d
        half_len = max(3.0, half_len * 0.85)
    return None


def _shrinkage(rng: np.random.Generator, start: npt.NDArray[np.float64]) -> LocalMask:
    """Irregular dendritic void: overlapping small blobs along a branching random walk."""
    blobs: list[LocalMask] = []
    p = start.copy()
    heading = rng.normal(size=3)
    for _ in range(int(rng.integers(6, 15))):
        heading = heading + rng.normal(0.0, 0.8, size=3)
        heading /= np.linalg.norm(heading)
        p = p + heading * rng.uniform(0.9, 1.6)
        blobs.append(ellipsoid(p, rng.uniform(0.7, 1.7, size=3), random_rotation(rng)))
        if rng.random() < 0.25:  # a side arm
            q = p + rng.normal(0.0, 1.5, size=3)
            blobs.append(ellipsoid(q, rng.uniform(0.6, 1.2, size=3), random_rotation(rng)))
    return union(blobs).largest_component()


def populate(
    placer: DefectPlacer,
    geometry: PartGeometry,
    plan: DefectPlan,
    rng: np.random.Generator,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> None:
    """Grow the planned defects: cracks at hotspots, shrinkage and clusters in thick sections,
    inclusions and isolated gas pores anywhere in the metal."""
    sampler = _Sampler(geometry.mask, rng)
    min_dim = min(geometry.mask.shape)
    size_scale = float(np.clip((min_dim / 128.0) ** 0.5, 0.6, 2.0))
    total = max(1, plan.cracks + plan.shrinkage + plan.inclusions + plan.pores)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % 16 == 0:
            check(cancel, "phantom generation")
            report(progress, span[0] + (span[1] - span[0]) * done / total)

    hot = list(geometry.hotspots)
    for _ in range(plan.cracks):
        ok = None
        for k in rng.permutation(len(hot)) if hot else []:
            ok = _try_crack(placer, rng, hot[int(k)], size_scale)
            if ok is not None:
                break
        if ok is None:  # no hotspot fits (tiny part): a crack anywhere in the metal
            p = sampler.point()
            if p is not None:
                u, n = rng.normal(size=3), rng.normal(size=3)
                spot = Hotspot(p, (u[0], u[1], u[2]), (n[0], n[1], n[2]))
                _try_crack(placer, rng, spot, size_scale * 0.6)
        tick()

    thick = geometry.thick_spots
    for _ in range(plan.shrinkage):
        for _attempt in range(8):
            base = thick[int(rng.integers(len(thick)))] if thick else sampler.point()
            if base is None:
                break
            start = np.asarray(base) + rng.normal(0.0, 2.0, size=3)
            if placer.place(_shrinkage(rng, start), "pore", shape="shrinkage"):
                break
        tick()

    for _ in range(plan.inclusions):
        material, lo_hi = ("tungsten", (1.5, 4.0)) if rng.random() < 0.4 else ("iron", (2.0, 6.0))
        for _attempt in range(20):
            p = sampler.point()
            if p is None:
                break
            d = rng.uniform(*lo_hi)
            local = ellipsoid(p, _semi_axes(rng, d, 0.2), random_rotation(rng))
            if placer.place(local, "inclusion", shape="ellipsoid", material=material):
                break
        tick()

    # Gas porosity: clusters around thick spots, then isolated pores, the largest first.
    cluster_sizes = np.full(plan.clusters, plan.clustered // max(plan.clusters, 1), dtype=int)
    if plan.clusters:
        cluster_sizes[: plan.clustered % plan.clusters] += 1
    for ci, members in enumerate(cluster_sizes):
        centre: Any = None
        if thick and rng.random() < 0.7:
            centre = np.asarray(thick[int(rng.integers(len(thick)))])
        else:
            centre = sampler.point()
        if centre is None:
            continue
        spread = rng.uniform(3.0, 6.0) * size_scale
        for _ in range(int(members)):
            for _attempt in range(12):
                q = np.asarray(centre) + rng.normal(0.0, spread, size=3)
                local = ellipsoid(
                    q, _semi_axes(rng, _pore_diameter(rng, 2.2), 0.1), random_rotation(rng)
                )
                if placer.place(local, "pore", shape="sphere", cluster=ci + 1):
                    break
            tick()

    isolated = plan.pores - int(cluster_sizes.sum())
    diameters = sorted((_pore_diameter(rng) for _ in range(isolated)), reverse=True)
    if diameters:  # every part gets at least one pore a reviewer can see at once
        diameters[0] = max(diameters[0], rng.uniform(7.0, D_MAX))
    for d in diameters:
        elong = 0.25 if rng.random() < 0.3 else 0.08
        for _attempt in range(20):
            p = sampler.point()
            if p is None:
                break
            local = ellipsoid(p, _semi_axes(rng, d, elong), random_rotation(rng))
            shape = "ellipsoid" if elong > 0.1 else "sphere"
            if placer.place(local, "pore", shape=shape):
                break
        tick()
    report(progress, span[1])
