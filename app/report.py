"""What a disposition report says, without Qt: facts, reasons and indication snapshots.

app/pdf_report.py lays this out on pages; tests check the content here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.annotation.criteria import load_criteria
from ndelab.annotation.store import disposition, get_call, get_masks, get_scan
from ndelab.annotation.store.database import Store
from ndelab.app.report_image_quality import IqSection, iq_section
from ndelab.volumes.display import Window, histogram, presets
from ndelab.volumes.volume import Volume

SNAPSHOT_PX = 220
MAX_SNAPSHOTS = 24


@dataclass
class Snapshot:
    call: dict[str, Any]
    image: npt.NDArray[np.uint8]  # (h, w, 3) RGB
    caption: str


@dataclass
class ReportData:
    title: str
    scan: dict[str, Any]
    result: dict[str, Any]
    snapshots: list[Snapshot] = field(default_factory=list)
    failing_ids: list[str] = field(default_factory=list)
    #: A radiograph's image-quality section (app.report_image_quality); None for CT.
    image_quality: IqSection | None = None


def failing_call_ids(result: dict[str, Any]) -> list[str]:
    """Calls named by a failed rule, in rule order, without repeats."""
    seen: dict[str, None] = {}
    for reason in result["reasons"]:
        if not reason["passed"]:
            for call_id in reason.get("indications", []):
                seen.setdefault(call_id, None)
    return list(seen)


def _outline(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The ring of pixels just outside the mask: the defect itself stays visible."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown & ~mask


def snapshot(
    volume: Volume,
    mask_start: tuple[int, int, int],
    mask_local: npt.NDArray[np.bool_],
    centroid_zyx: list[float],
    window: Window,
) -> npt.NDArray[np.uint8]:
    """The axial slice through the centroid, around the indication, outline in red."""
    z = round(centroid_zyx[0])
    _, ny, nx = volume.shape
    h, w = mask_local.shape[1], mask_local.shape[2]
    half = max(12, 2 * max(h, w))
    cy, cx = round(centroid_zyx[1]), round(centroid_zyx[2])
    y0, y1 = max(0, cy - half), min(ny, cy + half + 1)
    x0, x1 = max(0, cx - half), min(nx, cx + half + 1)
    raw = np.asarray(volume.data[z, y0:y1, x0:x1])
    if raw.dtype.type not in (np.uint8, np.uint16, np.int16, np.float32):
        raw = raw.astype(np.float32)
    grey = native.window(
        np.ascontiguousarray(raw).view(np.dtype(raw.dtype.type)), window.low, window.high
    )
    rgb = np.repeat(grey[..., None], 3, axis=2)
    dz = z - mask_start[0]
    if 0 <= dz < mask_local.shape[0]:
        plane = np.zeros(grey.shape, bool)
        sy, sx = mask_start[1] - y0, mask_start[2] - x0
        part = mask_local[dz]
        ys, xs = (
            slice(max(sy, 0), min(sy + h, plane.shape[0])),
            slice(max(sx, 0), min(sx + w, plane.shape[1])),
        )
        plane[ys, xs] = part[ys.start - sy : ys.stop - sy, xs.start - sx : xs.stop - sx]
        rgb[_outline(plane)] = (230, 40, 40)
    scale = max(1, SNAPSHOT_PX // max(rgb.shape[:2]))
    return np.ascontiguousarray(np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1))


def build_report(
    store: Store,
    scan_id: str,
    criteria: str | Path,
    volume: Volume | None,
    window: Window | None = None,
) -> ReportData:
    rules = load_criteria(criteria)
    result = disposition(store, scan_id, rules)
    signed = [
        d
        for d in _signed(store, scan_id)
        if d["criteria"]["sha256"] == result["criteria"]["sha256"]
    ]
    if signed:
        last = signed[-1]
        result = {
            **result,
            "signed_by": last["signed_by"],
            "signed_at": last["signed_at"],
            "verdict": last["verdict"],
            "preview": False,
        }
    scan = get_scan(store, scan_id)
    data = ReportData(
        title=f"Disposition of {Path(scan['path']).name or 'scan'}",
        scan=scan,
        result=result,
        failing_ids=failing_call_ids(result),
    )
    thickness = (result.get("radiograph") or {}).get("thickness_mm")
    data.image_quality = iq_section(store, scan_id, volume, rules, thickness)
    if volume is None:
        return data
    if window is None:
        # Narrow on the material, where small pores and inclusions are visible.
        offered = presets(histogram(volume), volume)
        window = offered.get("Defects (material)", offered["Auto"])
    masks = get_masks(store, data.failing_ids[:MAX_SNAPSHOTS])
    for call_id in data.failing_ids[:MAX_SNAPSHOTS]:
        call = get_call(store, call_id)
        mask = masks[call_id]
        image = snapshot(volume, mask.start, mask.local(), call["centroid_zyx"], window)
        caption = (
            f"{call['class']} {call_id[:8]}: Ø {call['equivalent_diameter_mm']:.3f} mm, "
            f"{call['volume_mm3']:.4g} mm³, {call['status']}"
        )
        data.snapshots.append(Snapshot(call, image, caption))
    return data


def _signed(store: Store, scan_id: str) -> list[dict[str, Any]]:
    from ndelab.annotation.store import dispositions

    out = []
    for d in dispositions(store, scan_id):
        out.append(
            {
                "signed_by": d.get("signed_by"),
                "signed_at": str(d.get("signed_at")),
                "verdict": d.get("verdict"),
                "criteria": {"sha256": d.get("criteria_sha256")},
            }
        )
    return out
