"""NumPy .npy arrays, memory-mapped; geometry from the optional ``<name>.npy.json`` sidecar
that ndelab writes beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import (
    map_raw,
    missing_spacing_note,
    require_file,
    spacing_note,
)
from ndelab.volumes.readers._lazy import native
from ndelab.volumes.volume import Volume, as_vec3


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_npy(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    shape, dtype, fortran, offset = _header(path)
    if len(shape) not in (2, 3):
        raise VolumeReadError(path, f"holds a {len(shape)}-dimensional array; expected 2D or 3D")
    if dtype.kind not in "uifb" or dtype.itemsize > 8:
        raise VolumeReadError(path, f"holds voxel type {dtype}, which is not supported")
    if fortran:  # column-major: map it reversed and transpose, still lazy
        arr = map_raw(path, path, dtype, shape[::-1], offset).T
    else:
        arr = map_raw(path, path, dtype, shape, offset)
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
        spacing_mm=as_vec3(spacing),
        origin_mm=as_vec3(geo.get("origin_mm", (0.0, 0.0, 0.0))),
        direction=np.asarray(geo.get("direction", np.eye(3)), dtype=np.float64),
        modality=str(geo.get("modality", "DX" if arr.ndim == 2 else "CT")),
        format="npy",
        source=str(path),
        warnings=warnings,
    )


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any], bool, int]:
    """Shape, dtype, Fortran order and data offset from the .npy header."""
    fmt = np.lib.format
    with path.open("rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise VolumeReadError(path, "is not a .npy file: it lacks the NumPy signature")
        fh.seek(0)
        try:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        except (ValueError, EOFError) as exc:
            raise VolumeReadError(path, f"has a damaged .npy header ({exc})") from exc
        return tuple(int(s) for s in shape), np.dtype(dtype), bool(fortran), fh.tell()


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
