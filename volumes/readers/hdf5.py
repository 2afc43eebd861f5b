"""HDF5 .h5/.hdf5: one 3D (or 2D) dataset, kept open so that only asked-for slices are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import missing_spacing_note, require_file, spacing_note
from ndelab.volumes.readers._lazy import SliceStack, native
from ndelab.volumes.volume import Volume, VoxelArray, as_vec3


def image_datasets(group: h5py.Group) -> list[str]:
    """Paths of every 2D or 3D numeric dataset in the file."""
    found: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3) and obj.dtype.kind in "uifb":
            found.append("/" + name)

    group.visititems(visit)
    return found


def _attr3(path: Path, attrs: Any, key: str) -> list[float] | None:
    if key not in attrs:
        return None
    values = np.asarray(attrs[key], dtype=np.float64).ravel()
    if values.size != 3:
        raise VolumeReadError(
            path, f"the attribute {key} needs 3 values (z, y, x), has {values.size}"
        )
    return [float(v) for v in values]


def read_hdf5(
    path: Path,
    *,
    dataset: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise VolumeReadError(path, f"is not a readable HDF5 file ({exc})") from exc
    try:
        dset = _pick(path, fh, dataset)
    except BaseException:
        fh.close()
        raise
    warnings: list[str] = []
    # Attributes on the dataset win over those on the file.
    attrs = {**dict(fh.attrs), **dict(dset.attrs)}
    spacing = _attr3(path, attrs, "spacing_mm")
    if spacing is None and (um := _attr3(path, attrs, "element_size_um")) is not None:
        spacing = [v / 1000.0 for v in um]
    if spacing is None:
        spacing = [0.0, 0.0, 0.0]
        warnings += missing_spacing_note(f"the dataset {dset.name}")
    else:
        warnings += spacing_note(spacing, f"the dataset {dset.name}")
    origin = _attr3(path, attrs, "origin_mm") or [0.0, 0.0, 0.0]
    direction = np.eye(3)
    if "direction" in attrs:
        d = np.asarray(attrs["direction"], dtype=np.float64)
        if d.size != 9:
            raise VolumeReadError(path, f"the attribute direction needs 9 values, has {d.size}")
        direction = d.reshape(3, 3)
    data: VoxelArray = dset
    if dset.ndim == 2:
        data = SliceStack((1, *dset.shape), dset.dtype.newbyteorder("="), lambda _z: dset[()])
    else:
        data = native(dset)
    modality = attrs.get("modality", "DX" if dset.ndim == 2 else "CT")
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=as_vec3(spacing),
        origin_mm=as_vec3(origin),
        direction=direction,
        modality=modality.decode() if isinstance(modality, bytes) else str(modality),
        format="hdf5",
        source=str(path),
        warnings=warnings,
        metadata={"dataset": dset.name, "chunks": dset.chunks, "compression": dset.compression},
    )


def _pick(path: Path, fh: h5py.File, dataset: str | None) -> h5py.Dataset:
    if dataset is not None:
        obj = fh.get(dataset)
        if not isinstance(obj, h5py.Dataset):
            what = "is a group, not a dataset" if obj is not None else "does not exist"
            raise VolumeReadError(path, f"the dataset '{dataset}' {what}")
        if obj.ndim not in (2, 3):
            raise VolumeReadError(
                path, f"the dataset '{dataset}' has {obj.ndim} dimensions, not 2 or 3"
            )
        return obj
    candidates = image_datasets(fh)
    three_d = [c for c in candidates if fh[c].ndim == 3]
    chosen = three_d if three_d else candidates
    if len(chosen) == 1:
        ds = fh[chosen[0]]
        assert isinstance(ds, h5py.Dataset)
        return ds
    if not chosen:
        raise VolumeReadError(path, "holds no 2D or 3D numeric dataset")
    raise VolumeReadError(
        path, f"holds several image datasets, choose one with --dataset: {', '.join(chosen)}"
    )
