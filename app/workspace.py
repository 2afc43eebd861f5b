"""Where the viewer meets the store: which scan a volume is, and turning model output into calls.

annotation/ and inference/ do not know each other; this module translates between them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import NewIndication, Source, SparseMask
from ndelab.annotation.store import (
    Store,
    add_indications,
    indications_from_masks,
    list_scans,
    record_scan,
)
from ndelab.volumes.features import scan_features
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.part import segment_part
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.quality.gate import has_gate, image_quality_record
from ndelab.volumes.volume import Volume


def find_scan(store: Store, sha256: str) -> str | None:
    for scan in list_scans(store):
        if scan["sha256"] == sha256:
            return str(scan["id"])
    return None


def attach_scan(
    store: Store,
    volume: Volume,
    sha256: str,
    user: str,
    *,
    part_mask: npt.NDArray[np.bool_] | None = None,
    measure_quality: bool = True,
) -> tuple[str, bool]:
    """The scan id of this volume in the store, recording Part and Scan the first time (with
    the part's volume from ``part_mask``, found in the scan when not given, the scan's
    drift features, read from a few slices, and a radiograph's image quality unless
    ``measure_quality`` is False: the caller measures it, with its own layout).

    Returns (scan_id, created).
    """
    existing = find_scan(store, sha256)
    if existing is not None:
        return existing, False
    return _record(store, volume, sha256, user, part_mask, measure_quality), True


def _record(
    store: Store,
    volume: Volume,
    sha256: str,
    user: str,
    part_mask: npt.NDArray[np.bool_] | None,
    measure_quality: bool = True,
) -> str:
    """Record a scan not in the store yet; returns its id."""
    if part_mask is None:
        part_mask = segment_part(volume)
    features = scan_features(volume)
    # A radiograph's image quality is measured as it is recorded: the gate is in its row.
    quality = image_quality_record(volume) if measure_quality and has_gate(volume) else None
    _, scan_id = record_scan(
        store,
        volume,
        user=user,
        sha256=sha256,
        part_mask=part_mask,
        features=features,
        image_quality=quality,
    )
    return scan_id


def indications_from_calls(
    calls: list[Any],
    spacing_mm: tuple[float, float, float],
    part_mask: npt.NDArray[np.bool_] | None = None,
) -> list[NewIndication]:
    """inference Calls (masks cropped to their boxes) as proposed indications, measured as the
    label import measures them (depth below the part's surface included)."""
    masks, classes, scores, sources = [], [], [], []
    for call in calls:
        local = np.asarray(call.mask, bool)
        if local.ndim == 2:
            local = local[np.newaxis]
        if not local.any():
            continue
        masks.append(SparseMask.from_local(local, tuple(int(v) for v in call.bbox_zyx[:3])))
        classes.append(call.class_name)
        scores.append(float(call.score))
        sources.append(Source("model", call.model_name, call.model_version))
    return indications_from_masks(
        masks, classes, scores, sources, spacing_mm=spacing_mm, part_mask=part_mask
    )


def store_calls(
    store: Store,
    scan_id: str,
    calls: list[Any],
    volume: Volume,
    user: str,
    part_mask: npt.NDArray[np.bool_] | None = None,
    *,
    role: str = "champion",
) -> list[str]:
    """Store pre-label calls of ``volume`` as proposed indications; returns their ids. Without
    ``part_mask`` the part is found in the scan, as the label import does. ``role`` "shadow"
    keeps them out of review (app.shadow)."""
    if part_mask is None:
        part_mask = segment_part(volume)
    items = indications_from_calls(calls, volume.spacing_mm, part_mask)
    return add_indications(store, scan_id, items, user=user, role=role)


def prelabel_into(
    store: Store,
    scan_id: str,
    volume: Volume,
    user: str,
    *,
    model: str | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Run a pre-label model on the volume and store its calls as proposed indications.
    ``model`` (NAME or NAME@VERSION) unset: the model that serves (the champion alias, else
    the registry's default; app.model_serving)."""
    from ndelab.app.model_serving import prelabel_args
    from ndelab.inference.prelabel import prelabel  # torch loads only when asked for

    chosen = prelabel_args(store, 2 if volume.is_2d else 3, model)
    result = prelabel(volume, **chosen, progress=progress, cancel=cancel)
    ids = store_calls(store, scan_id, result.calls, volume, user, part_mask)
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
    known = find_scan(store, sha)
    if known is not None:
        from ndelab.app.image_quality import ensure_image_quality

        # A radiograph recorded before the gate existed is measured now, once.
        ensure_image_quality(store, known, volume, user, cancel=cancel)
        return _with_gate(ReviewSession(store, known, user))
    part_mask = segment_part(volume, part(0.3, 0.4), cancel)
    result = None
    if prelabel_if_new:
        from ndelab.app.model_serving import prelabel_args
        from ndelab.inference.prelabel import prelabel  # torch loads only when asked for

        # Pre-label before the scan is recorded: a cancelled or failed run leaves nothing
        # behind, so the next open pre-labels it again instead of finding an empty scan.
        chosen = prelabel_args(store, 2 if volume.is_2d else 3, None)
        result = prelabel(volume, **chosen, progress=part(0.4, 1.0), cancel=cancel)
    scan_id = _record(store, volume, sha, user, part_mask)  # looked up above: new
    if result is not None:
        store_calls(store, scan_id, result.calls, volume, user, part_mask)
    return _with_gate(ReviewSession(store, scan_id, user))


def _with_gate(session: Any) -> Any:
    """The session with its image-quality gate and its default criteria file read (here,
    off the GUI thread)."""
    from ndelab.annotation.store import get_scan
    from ndelab.app.criteria_choice import default_criteria
    from ndelab.app.image_quality import iq_gate
    from ndelab.app.resources_paths import criteria_files

    session.iq_gate = iq_gate(session)
    session.criteria_default = default_criteria(
        get_scan(session.store, session.scan_id), criteria_files()
    )
    return session
