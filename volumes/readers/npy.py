"""NumPy .npy arrays, memory-mapped; geometry from the optional ``<name>.npy.json`` sidecar
that ndelab writes beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import missing_spacing_note, require_file, spacing_note
from ndelab.volumes.readers._lazy import native
from ndelab.volumes.volume import Volume


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_npy(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise VolumeReadError(path, f"is not a readable .npy array ({exc})") from exc
    if not isinstance(arr, np.ndarray) or arr.ndim not in (2, 3):
        ndim = getattr(arr, "ndim", "?")
        raise VolumeReadError(path, f"holds a {ndim}-dimensional array; expected 2D or 3D")
    if arr.dtype.kind not in "uifb":
        raise VolumeReadError(path, f"holds voxel type {arr.dtype}, which is not supported")
    geo = _sidecar(path)
    warnings: list[str] = []
    if "spacing_mm" in geo:
        spacing = tuple(float(v) for v in geo["spacing_mm"])
        warnings += spacing_note(spacing, "the .npy.json sidecar")
    else:
        spacing = (0.0, 0.0, 0.0)
        warnings += missing_spacing_note("a .npy array")
    data = arr[np.newaxis] if arr.ndim == 2 else arr
    report(progress, 1.0)
    return Volume(
        data=native(data),
        spacing_mm=spacing,  # type: ignore[arg-type]
        origin_mm=tuple(geo.get("origin_mm", (0.0, 0.0, 0.0))),  # type: ignore[arg-type]
        direction=np.asarray(geo.get("direction", np.eye(3)), dtype=np.float64),
        modality=str(geo.get("modality", "DX" if arr.ndim == 2 else "CT")),
        format="npy",
        source=str(path),
        warnings=warnings,
    )


def _sidecar(path: Path) -> dict[str, Any]:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        geo = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VolumeReadError(side, f"is not a readable geometry sidecar ({exc})") from exc
    if not isinstance(geo, dict):
        raise VolumeReadError(side, "is not a geometry sidecar: it holds no JSON object")
    return geo
