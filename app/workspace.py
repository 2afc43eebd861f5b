"""Where the viewer meets the store: which scan a volume is, and turning model output into calls.

annotation/ and inference/ do not know each other; this module translates between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ndelab.annotation import NewIndication, Source, SparseMask, Store, measure
from ndelab.annotation.calls import add_indications, add_part, add_scan, list_scans
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.volume import Volume


def find_scan(store: Store, sha256: str) -> str | None:
    for scan in list_scans(store):
        if scan["sha256"] == sha256:
            return str(scan["id"])
    return None


def attach_scan(store: Store, volume: Volume, sha256: str, user: str) -> tuple[str, bool]:
    """The scan id of this volume in the store, recording Part and Scan the first time.

    Returns (scan_id, created).
    """
    existing = find_scan(store, sha256)
    if existing is not None:
        return existing, False
    component: dict[str, Any] = dict(volume.metadata.get("diconde") or {})
    stem = Path(volume.source).stem if volume.source else "demo part"
    part_id = add_part(
        store,
        str(component.get("component_name") or stem),
        user=user,
        serial=component.get("serial_number") or component.get("component_id"),
        material=component.get("material"),
    )
    scan_id = add_scan(
        store,
        part_id,
        user=user,
        path=str(Path(volume.source).resolve()) if volume.source else "",
        shape=volume.shape,
        spacing_mm=volume.spacing_mm,
        origin_mm=volume.origin_mm,
        direction=volume.direction.tolist(),
        modality=volume.modality,
        sha256=sha256,
        format=volume.format,
        spacing_known=volume.spacing_known,
        diconde={str(k): str(v) for k, v in component.items()},
    )
    return scan_id, True


def indications_from_calls(
    calls: list[Any], spacing_mm: tuple[float, float, float]
) -> list[NewIndication]:
    """inference Calls (masks cropped to their boxes) as proposed indications with measurements."""
    items = []
    for call in calls:
        local = np.asarray(call.mask, bool)
        if local.ndim == 2:
            local = local[np.newaxis]
        if not local.any():
            continue
        mask = SparseMask.from_local(local, tuple(int(v) for v in call.bbox_zyx[:3]))
        source = Source("model", call.model_name, call.model_version)
        items.append(
            NewIndication(
                mask=mask,
                cls=call.class_name,
                source=source,
                measurements=measure(mask, spacing_mm),
                score=float(call.score),
            )
        )
    return items


def store_calls(
    store: Store, scan_id: str, calls: list[Any], spacing_mm: tuple[float, float, float], user: str
) -> list[str]:
    """Store pre-label calls as proposed indications; returns their ids."""
    return add_indications(store, scan_id, indications_from_calls(calls, spacing_mm), user=user)


def prelabel_into(
    store: Store,
    scan_id: str,
    volume: Volume,
    user: str,
    *,
    model: str = "default",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Run a pre-label model on the volume and store its calls as proposed indications."""
    from ndelab.inference.prelabel import prelabel  # torch loads only when asked for

    result = prelabel(volume, model=model, progress=progress, cancel=cancel)
    ids = store_calls(store, scan_id, result.calls, volume.spacing_mm, user)
    return {
        "scan_id": scan_id,
        "model": result.model_name,
        "version": result.model_version,
        "calls": len(ids),
        "seconds": result.seconds,
        "device": result.device,
    }


def open_review(
    store: Store,
    volume: Volume,
    user: str,
    *,
    prelabel_if_new: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Any:
    """The ReviewSession for a volume: hash it, find or record its scan, optionally pre-label."""
    from ndelab.app.review_session import ReviewSession

    def part(lo: float, hi: float) -> Progress | None:
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))

    sha = volume_sha256(volume, part(0.0, 0.3), cancel)
    scan_id, created = attach_scan(store, volume, sha, user)
    if created and prelabel_if_new:
        prelabel_into(store, scan_id, volume, user, progress=part(0.3, 1.0), cancel=cancel)
    return ReviewSession(store, scan_id, user)
