"""NRRD .nrrd (attached) and .nhdr (detached) files; pynrrd parses the header fields.

Sizes and space vectors are written fastest axis first (x, y, z); the Volume gets (z, y, x).
Raw payloads stay on disk as a memmap; gzip and bzip2 payloads are decompressed in memory.
"""

from __future__ import annotations

import bz2
import gzip
import zlib
from pathlib import Path
from typing import Any

import nrrd
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
from ndelab.volumes.volume import Volume, VoxelArray

_HEADER_LIMIT = 1 << 20


def _type_table() -> dict[str, Any]:
    groups: list[tuple[Any, tuple[str, ...]]] = [
        (np.int8, ("signed char", "int8", "int8_t")),
        (np.uint8, ("uchar", "unsigned char", "uint8", "uint8_t")),
        (np.int16, ("short", "short int", "signed short", "signed short int", "int16", "int16_t")),
        (np.uint16, ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t")),
        (np.int32, ("int", "signed int", "int32", "int32_t")),
        (np.uint32, ("uint", "unsigned int", "uint32", "uint32_t")),
        (
            np.int64,
            ("longlong", "long long", "long long int", "signed long long", "int64", "int64_t"),
        ),
        (
            np.uint64,
            ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
        ),
        (np.float32, ("float",)),
        (np.float64, ("double",)),
    ]
    return {name: t for t, names in groups for name in names}


NRRD_TYPES = _type_table()


def _split_header(path: Path) -> tuple[list[str], int]:
    """Header lines and the offset of the first byte after the blank line that ends them."""
    with path.open("rb") as fh:
        head = fh.read(_HEADER_LIMIT)
    if not head.startswith(b"NRRD000"):
        raise VolumeReadError(path, "is not a NRRD file: it does not start with 'NRRD000'")
    lines: list[str] = []
    pos = 0
    while pos < len(head):
        end = head.find(b"\n", pos)
        end = len(head) if end < 0 else end + 1
        line = head[pos:end].decode("latin-1").rstrip("\r\n")
        pos = end
        if not line.strip():
            return lines, pos
        lines.append(line)
    return lines, pos


def read_nrrd(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    lines, data_at = _split_header(path)
    try:
        header: dict[str, Any] = dict(nrrd.read_header(lines))
    except (nrrd.NRRDError, ValueError, IndexError) as exc:
        raise VolumeReadError(path, f"has a NRRD header pynrrd cannot parse ({exc})") from exc
    dim = int(header.get("dimension", 0))
    if dim not in (2, 3):
        raise VolumeReadError(path, f"has {dim} dimensions; only 2D and 3D images are supported")
    given = [int(s) for s in np.atleast_1d(header.get("sizes", []))]
    if len(given) != dim or any(s <= 0 for s in given):
        raise VolumeReadError(path, f"the NRRD sizes {given} do not fit dimension {dim}")
    sizes = given + [1] * (3 - dim)
    shape = (sizes[2], sizes[1], sizes[0])
    tname = str(header.get("type", "")).lower()
    if tname not in NRRD_TYPES:
        raise VolumeReadError(path, f"the NRRD type '{tname}' is not supported")
    dtype = np.dtype(NRRD_TYPES[tname])
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder(">" if header.get("endian", "little") == "big" else "<")
    data = _voxels(path, header, data_at, dtype, shape)
    spacing, origin, direction, warnings = _geometry(header, dim)
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=spacing,
        origin_mm=origin,
        direction=direction,
        # Our writer's key, or the plain one the phantom folders (and other tools) write.
        modality=str(header.get("ndelab_modality") or header.get("modality") or "CT").strip()
        or "CT",
        format="nrrd",
        source=str(path),
        warnings=warnings,
        metadata=_with_data_file(
            {"header": {k: v for k, v in header.items() if k != "sizes"}}, path, header
        ),
    )


def _with_data_file(meta: dict[str, Any], path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """Name a detached data file, so the scan's identity (sha256) covers the voxels too."""
    detached = header.get("data file", header.get("datafile"))
    if detached is not None:
        name = str(detached).split()[0]
        meta["data_file"] = str(Path(name) if Path(name).is_absolute() else path.parent / name)
    return meta


def _geometry(
    header: dict[str, Any], dim: int
) -> tuple[tuple[float, float, float], tuple[float, float, float], Any, list[str]]:
    warnings: list[str] = []
    direction = np.eye(3)
    rows = header.get("space directions")
    vectors: list[Any] = []
    if rows is not None:
        vectors = [r for r in np.asarray(rows, dtype=float) if np.all(np.isfinite(r))]
    if len(vectors) == dim:
        columns = np.eye(3)
        for j, vec in enumerate(vectors):
            columns[: len(vec), j] = vec
        norms = np.linalg.norm(columns, axis=0)
        spacing = zyx(norms)
        if np.all(norms > 0):
            direction = direction_from_xyz(columns / norms)
        warnings += spacing_note(spacing, "the NRRD header")
    elif "spacings" in header:
        values = [float(s) for s in header["spacings"]] + [1.0] * (3 - dim)
        spacing = zyx(values)
        warnings += spacing_note(spacing, "the NRRD header")
    else:
        spacing = (0.0, 0.0, 0.0)
        warnings += missing_spacing_note("the NRRD header")
    if str(header.get("ndelab_spacing_known", "")).lower() == "false":
        spacing = (0.0, 0.0, 0.0)
        warnings = missing_spacing_note("the NRRD header")
    origin_xyz = header.get("space origin")
    origin = (0.0, 0.0, 0.0)
    if origin_xyz is not None and np.all(np.isfinite(origin_xyz)):
        o = [float(v) for v in origin_xyz] + [0.0] * (3 - len(origin_xyz))
        origin = zyx(o)
    return spacing, origin, direction, warnings


def _voxels(
    path: Path, header: dict[str, Any], data_at: int, dtype: np.dtype[Any], shape: tuple[int, ...]
) -> VoxelArray:
    detached = header.get("data file", header.get("datafile"))
    if detached is not None:
        name = str(detached).split()[0]
        if name.upper() == "LIST" or "%" in name:
            raise VolumeReadError(path, "NRRD data split over several files is not supported")
        target = Path(name) if Path(name).is_absolute() else path.parent / name
        if not target.is_file():
            raise VolumeReadError(path, f"the data file '{name}' it names does not exist")
        offset = 0
    else:
        target, offset = path, data_at
    for _ in range(int(header.get("line skip", 0))):
        offset = _after_line(target, offset)
    skip = int(header.get("byte skip", 0))
    encoding = str(header.get("encoding", "raw")).lower()
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if encoding == "raw":
        if skip == -1:
            offset = target.stat().st_size - nbytes
        else:
            offset += skip
        return map_payload(path, target, dtype, shape, max(offset, 0))
    payload = target.read_bytes()[offset:]
    try:
        if encoding in ("gzip", "gz"):
            raw = gzip.decompress(payload)
        elif encoding in ("bzip2", "bz2"):
            raw = bz2.decompress(payload)
        elif encoding in ("ascii", "text", "txt"):
            values = np.array(payload.split(), dtype=np.float64)
            raw = values.astype(dtype).tobytes()
        else:
            raise VolumeReadError(path, f"the NRRD encoding '{encoding}' is not supported")
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise VolumeReadError(
            path, f"the {encoding} voxel data is corrupt or cut short ({exc})"
        ) from exc
    if skip == -1:
        raw = raw[len(raw) - nbytes :] if len(raw) >= nbytes else raw
    else:
        raw = raw[skip:]
    arr: VoxelArray = read_exact(path, raw, dtype, shape)
    return arr


def _after_line(path: Path, offset: int) -> int:
    with path.open("rb") as fh:
        fh.seek(offset)
        fh.readline()
        return fh.tell()
