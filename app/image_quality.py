"""The image-quality gate where the viewer meets the store (Qt-free): measure a radiograph's
image quality, store it with its scan, and the detectability map the window overlays."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation.disposition import iq_blocked
from ndelab.annotation.store import Store, get_scan, iq_overrides, set_image_quality
from ndelab.annotation.store.signing import is_radiograph_shape
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.quality.detectability_map import DetectabilityMap, detectability_map, mu_for
from ndelab.volumes.quality.gate import IqLayout, has_gate, image_quality_record, summary_lines
from ndelab.volumes.quality.image import pixel_mm
from ndelab.volumes.volume import Volume


def measure_and_store(
    store: Store,
    scan_id: str,
    volume: Volume,
    user: str,
    *,
    layout: IqLayout | None = None,
    source: str = "auto",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any] | None:
    """Measure the radiograph's image quality and store it on its scan (audited); None for a
    CT volume, which has no gate."""
    if not has_gate(volume):
        return None
    record = image_quality_record(volume, layout, source=source, progress=progress, cancel=cancel)
    return set_image_quality(store, scan_id, record, user=user)


def ensure_image_quality(
    store: Store,
    scan_id: str,
    volume: Volume,
    user: str,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any] | None:
    """The scan's stored record, measured and stored the first time it is opened."""
    if not has_gate(volume):
        return None
    stored = get_scan(store, scan_id).get("image_quality")
    if stored is not None:
        return dict(stored)
    return measure_and_store(store, scan_id, volume, user, progress=progress, cancel=cancel)


def map_for(volume: Volume, record: dict[str, Any] | None) -> DetectabilityMap | None:
    """The smallest-detectable-pore map for a radiograph with a measured SRb, else None."""
    if record is None or not has_gate(volume):
        return None
    duplex = (record.get("iqi") or {}).get("duplex") or {}
    srb = duplex.get("srb_detector_um") or record.get("srb_um")
    pitch = pixel_mm(volume)
    if not srb or pitch is None:
        return None
    md = volume.metadata if isinstance(volume.metadata, dict) else {}
    mu = mu_for(record.get("material"), md)
    return detectability_map(volume, srb_um=float(srb), pixel_mm=pitch, mu_per_mm=mu)


def smallest_size_limit_mm(criteria: Any, thickness_mm: float | None = None) -> float | None:
    """The criteria's smallest pore size limit over the rules: a CT rule's maximum equivalent
    diameter, a radiograph rule's maximum size (``max_size_mm``, capped by ``max_size_t`` of
    the wall thickness: ``thickness_mm``, else the rule's, else the criteria's)."""
    if criteria is None:
        return None
    settings = getattr(criteria, "radiograph", None)
    limits = []
    for r in criteria.rules:
        if not r.applies_to("pore"):
            continue
        if "max_equivalent_diameter_mm" in r.limits:
            limits.append(float(r.limits["max_equivalent_diameter_mm"]))
        sizes = [float(r.limits["max_size_mm"])] if "max_size_mm" in r.limits else []
        t = r.params.get("thickness_mm", thickness_mm)
        if t is None and settings is not None:
            t = settings.thickness_mm
        if "max_size_t" in r.limits and t is not None:
            sizes.append(float(r.limits["max_size_t"]) * float(t))
        if sizes:
            limits.append(min(sizes))
    return min(limits) if limits else None


def detectability_rgba(
    dmap: DetectabilityMap, limit_mm: float | None = None, alpha: int = 120
) -> npt.NDArray[np.uint8]:
    """The overlay: blue (smallest pores found) to yellow (largest) over the map's range, and
    red stripes where the smallest detectable pore exceeds ``limit_mm``; the image shows
    through at ``alpha``."""
    d = dmap.diameter_mm.astype(np.float64)
    finite = d[np.isfinite(d)]
    # The gradient spans the map's own range (its 2-98 %), so its variation always shows.
    lo = float(np.percentile(finite, 2)) if finite.size else 0.0
    top = float(np.percentile(finite, 98)) if finite.size else 1.0
    t = np.clip((np.where(np.isfinite(d), d, np.inf) - lo) / max(top - lo, 1e-9), 0.0, 1.0)
    out = np.zeros((*d.shape, 4), np.uint8)
    out[..., 0] = (255 * t).astype(np.uint8)
    out[..., 1] = (200 * t + 40 * (1 - t)).astype(np.uint8)
    out[..., 2] = (220 * (1 - t)).astype(np.uint8)
    out[..., 3] = alpha
    if limit_mm is not None:
        beyond = ~(d <= limit_mm)
        # Past the limit: every other row red, so the gradient stays readable beneath.
        stripes = beyond & (np.arange(d.shape[0])[:, None] % 4 < 2)
        out[stripes] = (230, 40, 40, min(255, alpha + 60))
    return out


def iq_gate(session: Any) -> dict[str, Any]:
    """What the disposition panel shows of the gate for a ReviewSession (kept Qt-free: the
    review job reads it off the GUI thread): {"radiograph", "record", "blocked",
    "lines", "overrides"}."""
    scan = get_scan(session.store, session.scan_id)
    radiograph = is_radiograph_shape(scan["shape"])
    record = scan.get("image_quality")
    return {
        "radiograph": radiograph,
        "record": record,
        "blocked": iq_blocked(record, radiograph=radiograph),
        "lines": summary_lines(record, radiograph=radiograph),
        "overrides": iq_overrides(session.store, session.scan_id),
    }
