"""MetaImage (ITK) .mhd headers with detached data and .mha files with data inside.

Everything in the header is in (x, y, z) order; the Volume gets (z, y, x).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import (
    direction_from_xyz,
    map_payload,
    missing_spacing_note,
    read_exact,
    require_file,
    spacing_note,
    zyx,
)
from ndelab.volumes.readers._lazy import SliceStack
from ndelab.volumes.volume import Volume, VoxelArray

MET_TYPES: dict[str, Any] = {
    "MET_UCHAR": np.uint8,
    "MET_CHAR": np.int8,
    "MET_USHORT": np.uint16,
    "MET_SHORT": np.int16,
    "MET_UINT": np.uint32,
    "MET_INT": np.int32,
    "MET_ULONG_LONG": np.uint64,
    "MET_LONG_LONG": np.int64,
    "MET_ULONG": np.uint64,
    "MET_LONG": np.int64,
    "MET_FLOAT": np.float32,
    "MET_DOUBLE": np.float64,
}

_HEADER_LIMIT = 1 << 16  # a MetaImage header is short text; .mha data follows it


def _split_header(path: Path) -> tuple[dict[str, str], int, list[str]]:
    """Header fields (keys as written), the byte offset after the ElementDataFile line, and
    the lines after it (slice file names for ``LIST``)."""
    with path.open("rb") as fh:
        head = fh.read(_HEADER_LIMIT)
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(head):
        end = head.find(b"\n", pos)
        end = len(head) if end < 0 else end + 1
        line = head[pos:end].decode("latin-1").strip()
        pos = end
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key.strip()):
            raise VolumeReadError(
                path, f"is not a MetaImage header: line '{line[:40]}' is no 'Key = value'"
            )
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            rest = head[pos:].decode("latin-1", errors="replace").splitlines()
            return fields, pos, [r.strip() for r in rest if r.strip()]
    raise VolumeReadError(path, "is not a MetaImage header: it has no ElementDataFile line")


def _numbers(path: Path, fields: dict[str, str], key: str, count: int) -> list[float] | None:
    if key not in fields:
        return None
    try:
        values = [float(v) for v in fields[key].split()]
    except ValueError as exc:
        raise VolumeReadError(path, f"{key} '{fields[key]}' is not a list of numbers") from exc
    if len(values) != count:
        raise VolumeReadError(path, f"{key} '{fields[key]}' needs {count} numbers")
    return values


def _int(path: Path, fields: dict[str, str], key: str, default: int) -> int:
    values = _numbers(path, fields, key, 1)
    return default if values is None else int(values[0])


def _flag(fields: dict[str, str], *keys: str) -> bool:
    return any(fields.get(k, "").lower() in ("true", "1") for k in keys)


def read_metaimage(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    fields, data_at, after = _split_header(path)
    ndims = _int(path, fields, "NDims", 3)
    if ndims not in (2, 3):
        raise VolumeReadError(path, f"has {ndims} dimensions; only 2D and 3D images are supported")
    size = _numbers(path, fields, "DimSize", ndims)
    if size is None:
        raise VolumeReadError(path, "the MetaImage header gives no DimSize")
    xyz = [int(s) for s in size] + [1] * (3 - ndims)
    shape = (xyz[2], xyz[1], xyz[0])
    if _int(path, fields, "ElementNumberOfChannels", 1) != 1:
        raise VolumeReadError(path, "has several channels per voxel; only one is supported")
    etype = fields.get("ElementType", "")
    if etype not in MET_TYPES:
        raise VolumeReadError(path, f"ElementType '{etype}' is not a supported MetaImage type")
    msb = _flag(fields, "BinaryDataByteOrderMSB", "ElementByteOrderMSB")
    dtype = np.dtype(MET_TYPES[etype]).newbyteorder(">" if msb else "<")
    if dtype.itemsize == 1:
        dtype = np.dtype(MET_TYPES[etype])
    warnings: list[str] = []

    data = _voxels(path, fields, data_at, after, dtype, shape)

    spacing_xyz = _numbers(path, fields, "ElementSpacing", ndims) or _numbers(
        path, fields, "ElementSize", ndims
    )
    if spacing_xyz is None:
        spacing = (0.0, 0.0, 0.0)
        warnings += missing_spacing_note("the MetaImage header")
    else:
        spacing = zyx([*spacing_xyz, 1.0][:3])
        warnings += spacing_note(spacing, "the MetaImage header")
    origin_xyz = next(
        (
            v
            for k in ("Offset", "Position", "Origin")
            if (v := _numbers(path, fields, k, ndims)) is not None
        ),
        [0.0] * ndims,
    )
    origin = zyx([*origin_xyz, 0.0][:3])
    direction = np.eye(3)
    for key in ("TransformMatrix", "Rotation", "Orientation"):
        values = _numbers(path, fields, key, ndims * ndims)
        if values is not None:
            rows = np.eye(3)
            rows[:ndims, :ndims] = np.reshape(values, (ndims, ndims))
            # Each consecutive triple is the world direction of one index axis (x, y, z).
            direction = direction_from_xyz(rows.T)
            break
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=spacing,
        origin_mm=origin,
        direction=direction,
        modality=fields.get("Modality", "CT").replace("MET_MOD_", "") or "CT",
        format="metaimage",
        source=str(path),
        warnings=warnings,
        metadata=_with_data_file({"header": fields}, path, fields["ElementDataFile"]),
    )


def _with_data_file(meta: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
    """Name the detached data file, so the scan's identity (sha256) covers the voxels too."""
    if where.upper() != "LOCAL" and not where.upper().startswith("LIST"):
        meta["data_file"] = str(path.parent / where)
    return meta


def _voxels(
    path: Path,
    fields: dict[str, str],
    data_at: int,
    after: list[str],
    dtype: np.dtype[Any],
    shape: tuple[int, int, int],
) -> VoxelArray:
    where = fields["ElementDataFile"]
    compressed = _flag(fields, "CompressedData")
    header_size = _int(path, fields, "HeaderSize", 0)
    if where.upper() == "LOCAL":
        target, offset = path, data_at
    elif where.upper().startswith("LIST"):
        return _list_stack(path, after, dtype, shape, compressed)
    else:
        target, offset = path.parent / where, 0
        if not target.is_file():
            raise VolumeReadError(path, f"the data file '{where}' it names does not exist")
    if compressed:
        try:
            raw = zlib.decompress(target.read_bytes()[offset:])
        except zlib.error as exc:
            raise VolumeReadError(path, f"the compressed voxel data is corrupt ({exc})") from exc
        arr: VoxelArray = read_exact(path, raw, dtype, shape)
        return arr
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if header_size == -1:  # the voxels are the last bytes of the file
        offset = max(target.stat().st_size - nbytes, offset if target == path else 0)
    elif target != path:
        offset = header_size
    return map_payload(path, target, dtype, shape, offset)


def _list_stack(
    path: Path,
    names: list[str],
    dtype: np.dtype[Any],
    shape: tuple[int, int, int],
    compressed: bool,
) -> VoxelArray:
    """``ElementDataFile = LIST``: one file per axial slice, named on the following lines."""
    if compressed:
        raise VolumeReadError(path, "compressed LIST data files are not supported")
    if len(names) != shape[0]:
        raise VolumeReadError(
            path, f"ElementDataFile LIST names {len(names)} files for {shape[0]} slices"
        )
    planes = [map_payload(path, path.parent / n, dtype, (1, *shape[1:]), 0) for n in names]
    return SliceStack(shape, dtype.newbyteorder("="), lambda z: np.asarray(planes[z][0]))
