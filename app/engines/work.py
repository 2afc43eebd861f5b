"""The work one batch worker does for one scan, the same in every engine: read, hash, skip a
scan the store already holds, find the part, pre-label, measure the calls. No store access:
the driver writes the outcome (``writeback``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ndelab.app.engines.base import GeometryOnly, ScanOutcome
from ndelab.volumes.errors import NdelabError, VolumeReadError
from ndelab.volumes.progress import Cancel, Cancelled

log = logging.getLogger(__name__)

Replica = Callable[..., Any]  # inference.replica.ModelReplica: (volume, cancel=) -> result


def _failure_kind(exc: BaseException) -> str:
    from ndelab.inference.registry import ModelError

    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, VolumeReadError):
        return "unreadable"
    if isinstance(exc, ModelError):
        return "model"
    return "internal"


def call_json(call: Any) -> dict[str, Any]:
    """A stored call as ``ndelab prelabel --json`` prints it (the store's id added later)."""
    return {
        "class": call.class_name,
        "score": round(float(call.score), 4),
        "centroid_zyx": [round(float(v), 3) for v in call.centroid_zyx],
        "bbox_zyx": [int(v) for v in call.bbox_zyx],
        "volume_voxels": int(call.volume_voxels),
        "volume_mm3": float(call.volume_mm3),
    }


def process_scan(
    path: str, *, known: frozenset[str], replica: Replica, cancel: Cancel | None = None
) -> ScanOutcome:
    """One scan's outcome; a scan that cannot be read, or that the model refuses, is a failed
    outcome with its one sentence, never an exception (the batch keeps going)."""
    from ndelab.app.workspace import indications_from_calls
    from ndelab.volumes.features import scan_features
    from ndelab.volumes.identity import volume_sha256
    from ndelab.volumes.io import open_volume
    from ndelab.volumes.part import part_volume_mm3, segment_part
    from ndelab.volumes.quality.gate import has_gate, image_quality_record

    try:
        volume = open_volume(path)
        sha = volume_sha256(volume, cancel=cancel)
        if sha in known:
            return ScanOutcome(path=path, status="duplicate", sha256=sha)
        part_mask = segment_part(volume, cancel=cancel)
        features = scan_features(volume)
        quality = image_quality_record(volume) if has_gate(volume) else None
        result = replica(volume, cancel=cancel)
        kept = [c for c in result.calls if np.asarray(c.mask).any()]
        items = indications_from_calls(kept, volume.spacing_mm, part_mask)
        header = replace(volume, data=GeometryOnly(volume.shape, volume.dtype))
        return ScanOutcome(
            path=path,
            status="prelabelled",
            sha256=sha,
            header=header,
            part_volume_mm3=None
            if part_mask is None
            else float(part_volume_mm3(part_mask, volume.spacing_mm)),
            features=features,
            image_quality=quality,
            items=items,
            calls=[call_json(c) for c in kept],
            model=result.model_name,
            version=result.model_version,
            modality=volume.modality,
            seconds=float(result.seconds),
            device=result.device,
        )
    except NdelabError as exc:
        log.info("batch: %s failed: %s", path, exc)
        return ScanOutcome(path=path, status="failed", reason=str(exc), failure=_failure_kind(exc))
    except Exception as exc:  # a worker must not take the batch down: logged with its trace
        log.exception("batch: internal error on %s", path)
        return ScanOutcome(
            path=path,
            status="failed",
            reason=f"{path}: internal error ({type(exc).__name__}); details are in the log",
            failure="internal",
        )


__all__ = ["Replica", "call_json", "process_scan"]
