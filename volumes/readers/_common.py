"""Helpers the readers share: file checks, raw payload mapping, dtypes, geometry order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ndelab.volumes.errors import VolumeReadError, fmt_bytes
from ndelab.volumes.readers._lazy import native
from ndelab.volumes.volume import VoxelArray

ByteOrder = Literal["little", "big"]

# Kept here, not in the readers, so that the format registry imports no codec libraries.
TIFF_SUFFIXES = (".tif", ".tiff")
RAW_SUFFIXES = (".raw", ".bin", ".dat", ".vol")


def require_file(path: Path, what: str = "file") -> int:
    """The size of ``path``; a clear error when it is missing or a folder."""
    if not path.exists():
        raise VolumeReadError(path, f"the {what} does not exist")
    if path.is_dir():
        raise VolumeReadError(path, f"is a folder, not a {what}")
    try:
        return path.stat().st_size
    except OSError as exc:
        raise VolumeReadError(path, f"cannot be read ({exc.strerror or exc})") from exc


def with_order(dtype: np.dtype[Any], order: ByteOrder) -> np.dtype[Any]:
    """``dtype`` in the given byte order (single-byte types have none)."""
    if dtype.itemsize == 1:
        return dtype
    return dtype.newbyteorder("<" if order == "little" else ">")


def check_shape(path: Path, shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(int(s) for s in shape)
    if any(d <= 0 for d in dims):
        raise VolumeReadError(path, f"the header gives a size with a zero or negative axis {dims}")
    return dims


def map_payload(
    header: Path,
    data: Path,
    dtype: np.dtype[Any],
    shape: Sequence[int],
    offset: int,
    *,
    exact: bool = False,
) -> VoxelArray:
    """The voxels of an uncompressed payload as a read-only memmap (native byte order on read).

    ``header`` is the file the user opened (named in errors), ``data`` the file holding voxels.
    With ``exact`` the file must hold nothing but the header and the voxels.
    """
    return native(map_raw(header, data, dtype, shape, offset, exact=exact))


def map_raw(
    header: Path,
    data: Path,
    dtype: np.dtype[Any],
    shape: Sequence[int],
    offset: int,
    *,
    exact: bool = False,
) -> np.memmap[Any, np.dtype[Any]]:
    """Like :func:`map_payload`, but the memmap itself, in the file's byte order."""
    dims = check_shape(header, shape)
    size = require_file(data, "data file")
    need = int(np.prod(dims)) * dtype.itemsize
    if offset < 0:
        raise VolumeReadError(header, f"the header skip of {offset} bytes is negative")
    have = size - offset
    where = "" if data == header else f" in {data.name}"
    if have < need or (exact and have != need):
        after = f" after the {fmt_bytes(offset)}-byte header" if offset else ""
        raise VolumeReadError(
            header,
            f"expected {fmt_bytes(need)} bytes of voxel data{after}{where}, "
            f"found {fmt_bytes(max(have, 0))}",
        )
    try:
        return np.memmap(data, dtype=dtype, mode="r", offset=offset, shape=dims)
    except (OSError, ValueError) as exc:
        raise VolumeReadError(data, f"cannot be mapped for reading ({exc})") from exc


def read_exact(header: Path, raw: bytes, dtype: np.dtype[Any], shape: Sequence[int]) -> Any:
    """Decoded (decompressed) bytes as an array, with a clear error when the count is off."""
    dims = check_shape(header, shape)
    need = int(np.prod(dims)) * dtype.itemsize
    if len(raw) < need:
        raise VolumeReadError(
            header,
            f"expected {fmt_bytes(need)} bytes of voxel data after decompression, "
            f"found {fmt_bytes(len(raw))}",
        )
    arr = np.frombuffer(raw, dtype=dtype, count=int(np.prod(dims))).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def natural_key(name: str) -> list[Any]:
    """Sort key that puts slice_2 before slice_10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def zyx(values: Sequence[float]) -> tuple[float, float, float]:
    """An (x, y, z) triple reversed into (z, y, x)."""
    return (float(values[2]), float(values[1]), float(values[0]))


def direction_from_xyz(columns_xyz: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """A direction matrix written for (x, y, z) index and world axes, in (z, y, x) order."""
    m = np.asarray(columns_xyz, dtype=np.float64).reshape(3, 3)
    return np.ascontiguousarray(m[::-1, ::-1])


def spacing_note(spacing: Sequence[float], where: str) -> list[str]:
    """The warning for a missing or non-positive voxel size (empty when all is well)."""
    if all(np.isfinite(s) and s > 0 for s in spacing):
        return []
    return [f"{where} gives no usable voxel size {tuple(spacing)}; assuming 1 mm (unknown)"]


def missing_spacing_note(where: str) -> list[str]:
    return [f"{where} records no voxel size; assuming 1 mm (unknown)"]
