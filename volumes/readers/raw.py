"""Headerless raw voxel files: shape and dtype from the user or from the file's name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import UsageError, VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import ByteOrder, map_payload, require_file, with_order
from ndelab.volumes.volume import Volume

# "sand_200x200x100_uint8.raw": X x Y x Z, then a numpy type name.
_NAME = re.compile(
    r"(?P<x>\d+)x(?P<y>\d+)x(?P<z>\d+)[_\-.]"
    r"(?P<dtype>u?int(?:8|16|32|64)|float(?:32|64))(?![0-9a-z])",
    re.IGNORECASE,
)


def parse_dtype(text: str, byte_order: ByteOrder = "little") -> np.dtype[Any]:
    """A numpy dtype from a user's text ("uint16", "<u2", ">f4"); an explicit '<'/'>' wins."""
    try:
        dt: np.dtype[Any] = np.dtype(text.strip())
    except TypeError as exc:
        raise UsageError(f"'{text}' is not a voxel type; use e.g. uint8, int16, float32") from exc
    if dt.kind not in "uif" or dt.itemsize > 8:
        raise UsageError(f"'{text}' is not a voxel type; use e.g. uint8, int16, float32")
    if text.strip()[:1] in "<>":
        return dt
    ordered: np.dtype[Any] = with_order(dt, byte_order)
    return ordered


def shape_from_name(path: Path) -> tuple[tuple[int, int, int], np.dtype[Any]] | None:
    """Shape (z, y, x) and dtype from a name like ``part_512x512x300_uint16.raw``."""
    m = _NAME.search(path.name)
    if m is None:
        return None
    shape = (int(m["z"]), int(m["y"]), int(m["x"]))
    return shape, np.dtype(m["dtype"].lower())


def read_raw(
    path: Path,
    *,
    shape: tuple[int, int, int] | None = None,
    dtype: str | None = None,
    header_bytes: int = 0,
    byte_order: ByteOrder = "little",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Volume:
    """A raw file as a lazy memmap of ``shape`` (z, y, x) and ``dtype`` after ``header_bytes``."""
    require_file(path)
    check(cancel, f"reading {path.name}")
    warnings: list[str] = []
    if shape is None or dtype is None:
        guess = shape_from_name(path)
        if guess is None:
            missing = " and ".join(n for n, v in (("shape", shape), ("dtype", dtype)) if v is None)
            raise VolumeReadError(
                path,
                f"is a raw file with no header, so its {missing} must be given: "
                "pass --shape Z,Y,X --dtype D (e.g. --shape 100,200,200 --dtype uint16)",
            )
        name_shape, name_dtype = guess
        if shape is None:
            shape = name_shape
            warnings.append(f"shape (z, y, x) = {shape} taken from the file name")
        if dtype is None:
            dtype = str(name_dtype)
            warnings.append(f"voxel type {dtype} taken from the file name")
    if len(shape) != 3:
        raise UsageError(f"--shape needs three sizes Z,Y,X, got {len(shape)}")
    if header_bytes < 0:
        raise UsageError(f"--header-bytes must be 0 or more, got {header_bytes}")
    dt = parse_dtype(dtype, byte_order)
    data = map_payload(path, path, dt, shape, header_bytes, exact=True)
    warnings.append("a raw file records no voxel size; assuming 1 mm (unknown)")
    report(progress, 1.0)
    return Volume(
        data=data,
        format="raw",
        source=str(path),
        spacing_known=False,
        warnings=warnings,
        metadata={"header_bytes": header_bytes, "file_dtype": dt.str},
    )
