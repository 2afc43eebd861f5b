"""Per-scan image and label volumes for training sets: HDF5, NRRD and NIfTI-1.

Each writer gets the scan's image (a Volume, lazy where the format allows), its instance label
volume (uint16, 0 background, 1..N the exported calls) and its class volume (uint8 codes:
1 pore, 2 crack, 3 inclusion, 4 lack-of-fusion, 5 other, 6 linear). Returns the files it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import nrrd
import numpy as np
import numpy.typing as npt

from ndelab.annotation.store.provenance import CLASS_CODES
from ndelab.volumes.io import write_volume
from ndelab.volumes.progress import Cancel, check
from ndelab.volumes.volume import Volume

LabelArray = npt.NDArray[np.uint16]
ClassArray = npt.NDArray[np.uint8]

# LPS (DICOM patient axes, ndelab's world in x, y, z order) to RAS (NIfTI): flip x and y.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def steps_xyz(volume: Volume) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """World (x, y, z) step per voxel along the x, y, z index axes (columns), and the origin.

    ndelab keeps everything in (z, y, x) order: direction's column j is the world step along
    index axis j, in world (z, y, x) order. Reversing both rows and columns gives the usual
    (x, y, z) frame that NRRD and NIfTI use.
    """
    steps = np.asarray(volume.direction, np.float64) * np.asarray(volume.spacing_mm)
    origin = np.asarray(volume.origin_mm, np.float64)[::-1]
    return np.ascontiguousarray(steps[::-1, ::-1]), np.ascontiguousarray(origin)


def nifti_affine(volume: Volume) -> npt.NDArray[np.float64]:
    """4x4 voxel (i=x, j=y, k=z) to RAS+ mm affine, as NIfTI-1 expects.

    ndelab's world follows DICOM's patient frame (LPS) reversed into (z, y, x); NIfTI indexes
    the array as (x, y, z) and its world is RAS+, so the x and y world axes change sign.
    """
    steps, origin = steps_xyz(volume)
    affine = np.eye(4)
    affine[:3, :3] = _LPS_TO_RAS @ steps
    affine[:3, 3] = _LPS_TO_RAS @ origin
    return affine


def _image_dtype(volume: Volume) -> np.dtype[Any]:
    return np.dtype(np.uint8) if volume.dtype.kind == "b" else volume.dtype.newbyteorder("=")


def instances_json(instances: list[dict[str, Any]]) -> str:
    return json.dumps(instances, separators=(",", ":"))


def write_hdf5(
    path: Path,
    volume: Volume,
    labels: LabelArray,
    classes: ClassArray,
    attrs: dict[str, Any],
    cancel: Cancel | None = None,
) -> list[Path]:
    """One file: /image (slice chunks), /labels, /classes (gzip), geometry and provenance attrs."""
    z, y, x = volume.shape
    dtype = _image_dtype(volume)
    with h5py.File(path, "w") as fh:
        image = fh.create_dataset("image", shape=(z, y, x), dtype=dtype, chunks=(1, y, x))
        for i in range(z):
            check(cancel, "exporting the data set")
            image[i] = np.asarray(volume.data[i], dtype=dtype)
        fh.create_dataset("labels", data=labels, chunks=(1, y, x), compression="gzip")
        fh.create_dataset("classes", data=classes, chunks=(1, y, x), compression="gzip")
        fh.attrs["spacing_mm"] = np.asarray(volume.spacing_mm)
        fh.attrs["origin_mm"] = np.asarray(volume.origin_mm)
        fh.attrs["direction"] = np.asarray(volume.direction)
        fh.attrs["axes"] = "zyx"
        fh.attrs["class_codes"] = json.dumps(CLASS_CODES)
        for key, value in attrs.items():
            fh.attrs[key] = value
    return [path]


def _nrrd_header(volume: Volume) -> dict[str, Any]:
    steps, origin = steps_xyz(volume)
    return {
        "space dimension": 3,
        # One row per file axis (x, y, z): the world step along that axis.
        "space directions": steps.T,
        "space origin": origin,
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }


def write_nrrd(
    folder: Path,
    volume: Volume,
    labels: LabelArray,
    classes: ClassArray,
    instances: list[dict[str, Any]],
    cancel: Cancel | None = None,
) -> list[Path]:
    """image.nrrd (streamed by ndelab's writer), labels.nrrd and classes.nrrd (pynrrd)."""
    folder.mkdir(parents=True, exist_ok=True)
    image_path = folder / "image.nrrd"
    write_volume(volume, image_path, cancel=cancel)
    header = _nrrd_header(volume)
    labels_path, classes_path = folder / "labels.nrrd", folder / "classes.nrrd"
    nrrd.write(
        str(labels_path),
        labels,
        {**header, "ndelab_instances": instances_json(instances)},
        index_order="C",
    )
    nrrd.write(
        str(classes_path),
        classes,
        {**header, "ndelab_class_codes": json.dumps(CLASS_CODES)},
        index_order="C",
    )
    return [image_path, labels_path, classes_path]


def write_nifti(
    folder: Path,
    volume: Volume,
    labels: LabelArray,
    classes: ClassArray,
    cancel: Cancel | None = None,
) -> list[Path]:
    """image.nii.gz, labels.nii.gz, classes.nii.gz (NIfTI-1, RAS+ affine in qform and sform)."""
    import nibabel  # only this format needs it

    nib: Any = nibabel  # untyped library
    folder.mkdir(parents=True, exist_ok=True)
    affine = nifti_affine(volume)
    image = np.asarray(volume.array(), dtype=_image_dtype(volume))
    out = []
    for name, arr in (("image", image), ("labels", labels), ("classes", classes)):
        check(cancel, "exporting the data set")
        # (z, y, x) C order transposed is (x, y, z) Fortran order: NIfTI's layout, no copy.
        nii = nib.Nifti1Image(arr.transpose(2, 1, 0), affine)
        nii.header.set_xyzt_units("mm")
        nii.set_qform(affine, code=1)
        nii.set_sform(affine, code=1)
        path = folder / f"{name}.nii.gz"
        nib.save(nii, str(path))
        out.append(path)
    return out
