"""Writers for .npy, .nrrd, .mhd/.mha, .h5/.hdf5 and .tif/.tiff, chosen by suffix.

Every writer copies one axial slice at a time, so a lazy volume larger than memory can be
written. A cancelled or failed write removes what it had written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import nrrd
import numpy as np
import numpy.typing as npt
import tifffile

from ndelab.volumes.errors import VolumeWriteError
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report
from ndelab.volumes.readers.metaimage import MET_TYPES
from ndelab.volumes.readers.npy import sidecar_path
from ndelab.volumes.volume import Volume

_MET_NAMES = {np.dtype(t): name for name, t in reversed(MET_TYPES.items())}
_NRRD_NAMES = {
    np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16",
    np.dtype(np.uint16): "uint16", np.dtype(np.int32): "int32", np.dtype(np.uint32): "uint32",
    np.dtype(np.int64): "int64", np.dtype(np.uint64): "uint64", np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
}  # fmt: skip


def _file_dtype(volume: Volume) -> np.dtype[Any]:
    """Little-endian dtype to write; booleans become uint8."""
    dt: np.dtype[Any] = volume.dtype
    if dt.kind == "b":
        return np.dtype(np.uint8)
    return dt.newbyteorder("<") if dt.itemsize > 1 else dt


def _slices(
    volume: Volume, dtype: np.dtype[Any], progress: Progress | None, cancel: Cancel | None
) -> Iterator[npt.NDArray[Any]]:
    n = volume.shape[0]
    for z in range(n):
        check(cancel, "writing the volume")
        yield np.ascontiguousarray(np.asarray(volume.data[z]), dtype=dtype)
        report(progress, (z + 1) / n)


def _xyz(values: Any) -> list[float]:
    return [float(v) for v in reversed(list(values))]


def _geometry_xyz(volume: Volume) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Columns = world vector (x, y, z) of one voxel step along x, y, z; and the origin."""
    steps = volume.direction * np.asarray(volume.spacing_mm)  # column j: step along zyx axis j
    return np.ascontiguousarray(steps[::-1, ::-1]), _xyz(volume.origin_mm)


def _write_npy(
    volume: Volume, path: Path, progress: Progress | None, cancel: Cancel | None
) -> list[Path]:
    dtype = _file_dtype(volume)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=volume.shape)
    try:
        for z, plane in enumerate(_slices(volume, dtype, progress, cancel)):
            out[z] = plane
        out.flush()
    finally:
        del out
    side = sidecar_path(path)
    side.write_text(
        json.dumps(
            {
                "spacing_mm": list(volume.spacing_mm) if volume.spacing_known else [0, 0, 0],
                "origin_mm": list(volume.origin_mm),
                "direction": volume.direction.tolist(),
                "modality": volume.modality,
            }
        ),
        encoding="utf-8",
    )
    return [path, side]


def _stream(
    fh: BinaryIO,
    volume: Volume,
    dtype: np.dtype[Any],
    progress: Progress | None,
    cancel: Cancel | None,
) -> None:
    for plane in _slices(volume, dtype, progress, cancel):
        fh.write(plane.tobytes())


def _write_nrrd(
    volume: Volume, path: Path, progress: Progress | None, cancel: Cancel | None
) -> list[Path]:
    dtype = _file_dtype(volume)
    steps, origin = _geometry_xyz(volume)
    z, y, x = volume.shape
    lines = [
        "NRRD0004",
        "# written by ndelab",
        f"type: {_NRRD_NAMES[np.dtype(dtype.newbyteorder('='))]}",
        "dimension: 3",
        "space dimension: 3",
        f"sizes: {x} {y} {z}",
        f"space directions: {nrrd.format_vector_list(list(steps.T))}",
        "kinds: domain domain domain",
        "endian: little",
        "encoding: raw",
        f"space origin: {nrrd.format_vector(np.asarray(origin))}",
        # NRRD has no modality field: a key-value pair keeps a radiograph a radiograph.
        f"ndelab_modality:={volume.modality}",
    ]
    if not volume.spacing_known:
        # Space directions cannot be zero, so the unit steps go with a key-value flag.
        lines.append("ndelab_spacing_known:=false")
    with path.open("wb") as fh:
        fh.write(("\n".join(lines) + "\n\n").encode("ascii"))
        _stream(fh, volume, dtype, progress, cancel)
    return [path]


def _write_metaimage(
    volume: Volume, path: Path, progress: Progress | None, cancel: Cancel | None
) -> list[Path]:
    dtype = _file_dtype(volume)
    _, origin = _geometry_xyz(volume)
    z, y, x = volume.shape
    spacing = [float(v) for v in reversed(volume.spacing_mm)] if volume.spacing_known else [0.0] * 3
    direction = volume.direction[::-1, ::-1]
    local = path.suffix.lower() == ".mha"
    data_path = path if local else path.with_suffix(".raw")
    fields = [
        ("ObjectType", "Image"),
        ("NDims", "3"),
        ("BinaryData", "True"),
        ("BinaryDataByteOrderMSB", "False"),
        ("CompressedData", "False"),
        ("TransformMatrix", " ".join(repr(float(v)) for v in direction.T.ravel())),
        ("Offset", " ".join(repr(v) for v in origin)),
        ("CenterOfRotation", "0 0 0"),
        ("ElementSpacing", " ".join(repr(v) for v in spacing)),
        ("DimSize", f"{x} {y} {z}"),
        ("Modality", f"MET_MOD_{volume.modality}"),
        ("ElementType", _MET_NAMES[np.dtype(dtype.newbyteorder("="))]),
        ("ElementDataFile", "LOCAL" if local else data_path.name),
    ]
    header = "".join(f"{k} = {v}\n" for k, v in fields).encode("ascii")
    with path.open("wb") as fh:
        fh.write(header)
        if local:
            _stream(fh, volume, dtype, progress, cancel)
    if local:
        return [path]
    with data_path.open("wb") as fh:
        _stream(fh, volume, dtype, progress, cancel)
    return [path, data_path]


def _write_hdf5(
    volume: Volume, path: Path, progress: Progress | None, cancel: Cancel | None
) -> list[Path]:
    dtype = _file_dtype(volume)
    z, y, x = volume.shape
    with h5py.File(path, "w") as fh:
        dset = fh.create_dataset("volume", shape=(z, y, x), dtype=dtype, chunks=(1, y, x))
        dset.attrs["spacing_mm"] = (
            np.asarray(volume.spacing_mm) if volume.spacing_known else np.zeros(3)
        )
        dset.attrs["origin_mm"] = np.asarray(volume.origin_mm)
        dset.attrs["direction"] = volume.direction
        dset.attrs["modality"] = volume.modality
        for i, plane in enumerate(_slices(volume, dtype, progress, cancel)):
            dset[i] = plane
    return [path]


def _write_tiff(
    volume: Volume, path: Path, progress: Progress | None, cancel: Cancel | None
) -> list[Path]:
    dtype = _file_dtype(volume)
    metadata = {
        "spacing_mm": list(volume.spacing_mm) if volume.spacing_known else [0.0, 0.0, 0.0],
        "origin_mm": list(volume.origin_mm),
        "direction": volume.direction.ravel().tolist(),
    }
    sy, sx = volume.spacing_mm[1], volume.spacing_mm[2]
    with tifffile.TiffWriter(path, bigtiff=volume.nbytes > 2**32 - 2**25) as tif:
        tif.write(
            _slices(volume, dtype, progress, cancel),
            shape=volume.shape,
            dtype=dtype,
            photometric="minisblack",
            metadata=metadata,
            resolution=(10.0 / sx, 10.0 / sy) if volume.spacing_known else None,
            resolutionunit="CENTIMETER" if volume.spacing_known else None,
            contiguous=True,
        )
    return [path]


_WRITERS: dict[str, Callable[[Volume, Path, Progress | None, Cancel | None], list[Path]]] = {
    ".npy": _write_npy,
    ".nrrd": _write_nrrd,
    ".mhd": _write_metaimage,
    ".mha": _write_metaimage,
    ".h5": _write_hdf5,
    ".hdf5": _write_hdf5,
    ".tif": _write_tiff,
    ".tiff": _write_tiff,
}


def _targets(path: Path) -> list[Path]:
    """Every file a writer may create for ``path`` (removed again when it fails)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return [path, sidecar_path(path)]
    if suffix == ".mhd":
        return [path, path.with_suffix(".raw")]
    return [path]


def write(
    volume: Volume, path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> None:
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise VolumeWriteError(
            path, f"the suffix '{path.suffix}' is not one ndelab writes ({', '.join(_WRITERS)})"
        )
    if volume.dtype.kind not in "uifb" or volume.dtype.itemsize > 8:
        raise VolumeWriteError(path, f"voxel type {volume.dtype} cannot be written")
    if not path.parent.is_dir():
        raise VolumeWriteError(path, f"the folder {path.parent} does not exist")
    try:
        writer(volume, path, progress, cancel)
    except Cancelled:
        _remove(_targets(path))
        raise
    except OSError as exc:
        _remove(_targets(path))
        raise VolumeWriteError(path, f"could not be written ({exc.strerror or exc})") from exc


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)
