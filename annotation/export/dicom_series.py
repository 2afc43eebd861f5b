"""A scan that did not come from DICOM, written as a DICOM CT image series (one file per slice).

A DICOM Segmentation must reference source images that share its study and frame of reference,
and a DICOM viewer (3D Slicer, OHIF) opens a SEG only beside its images. Industrial CT usually
arrives as raw, TIFF, NRRD or vendor files, so the data set export writes the image as CT Image
Storage slices with the scan's geometry: ImagePositionPatient per slice from origin + direction,
ImageOrientationPatient from the in-plane directions, PixelSpacing and SliceThickness from the
spacing. The DICONDE reading of the Patient module names the part: Patient ID is the part id,
Patient's Name the part's name.

Pixel values. CT Image Storage holds 16-bit integers. 8- and 16-bit integer volumes are stored as
they are; wider integers whose range spans at most 65,536 values are stored exactly with a
rescale intercept; anything else (float reconstructions) is scaled linearly onto 0..65535 with
RescaleSlope/RescaleIntercept, and the export says so in a warning (the labels stay exact).

UIDs are derived from the scan id and its files' sha256, so exporting the same scan twice names
the same study, series and instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

from ndelab.volumes.progress import Cancel, check
from ndelab.volumes.volume import Volume

CT_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2")
_U16_MAX = 65535


@dataclass(frozen=True)
class SeriesIdentity:
    """Who and what the generated series describes: the part (as patient) and the scan."""

    scan_id: str
    sha256: str
    part_id: str
    part_name: str
    created_at: datetime | None
    manufacturer: str
    software_version: str


@dataclass(frozen=True)
class _Values:
    """How voxel values become stored 16-bit pixels: value = stored * slope + intercept."""

    signed: bool
    slope: float
    intercept: float
    exact: bool


def uid_for(identity: SeriesIdentity, *what: object) -> UID:
    """A UID (2.25 form) derived from the scan and ``what``: stable across exports."""
    return generate_uid(None, [identity.scan_id, identity.sha256, *map(str, what)])


def _value_plan(volume: Volume) -> _Values:
    kind, size = volume.dtype.kind, volume.dtype.itemsize
    if kind == "b" or (kind == "u" and size <= 2):
        return _Values(False, 1.0, 0.0, True)
    if kind == "i" and size <= 2:
        return _Values(True, 1.0, 0.0, True)
    lo, hi = np.inf, -np.inf
    for z in range(volume.shape[0]):  # slice by slice: the volume may be lazy
        plane = np.asarray(volume.data[z])
        if kind == "f":
            plane = plane[np.isfinite(plane)]
        if plane.size:
            lo, hi = min(lo, float(plane.min())), max(hi, float(plane.max()))
    if not np.isfinite(lo):
        lo = hi = 0.0
    if kind in "iu" and hi - lo <= _U16_MAX:
        return _Values(False, 1.0, lo, True)
    return _Values(False, (hi - lo) / _U16_MAX if hi > lo else 1.0, lo, False)


def _stored(plane: npt.NDArray[Any], plan: _Values) -> npt.NDArray[Any]:
    if plan.slope == 1.0 and plan.intercept == 0.0:
        return plane.astype(np.int16 if plan.signed else np.uint16)
    values = (plane.astype(np.float64) - plan.intercept) / plan.slope
    values = np.nan_to_num(values, nan=0.0, posinf=_U16_MAX, neginf=0.0)
    return np.clip(np.rint(values), 0, _U16_MAX).astype(np.uint16)


def _geometry(volume: Volume) -> tuple[npt.NDArray[np.float64], list[float], list[float]]:
    """Per-slice ImagePositionPatient (n, 3) and the shared orientation and pixel spacing.

    ndelab's world is DICOM's patient frame in (z, y, x) order, so vectors are reversed.
    """
    d = np.asarray(volume.direction, np.float64)
    sz, sy, sx = (float(v) for v in volume.spacing_mm)
    origin = np.asarray(volume.origin_mm, np.float64)
    z = np.arange(volume.shape[0], dtype=np.float64)
    positions = (origin[None, :] + np.outer(z * sz, d[:, 0]))[:, ::-1]
    orientation = [*d[::-1, 2].tolist(), *d[::-1, 1].tolist()]  # row (x), column (y)
    return positions, orientation, [sy, sx]


def _ds(value: float) -> str:
    """A decimal string (DS) of at most 16 characters."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.6e}"


def write_ct_series(
    volume: Volume, folder: Path, identity: SeriesIdentity, cancel: Cancel | None = None
) -> tuple[list[Path], list[Dataset], list[str]]:
    """Write ``volume`` as CT slices into ``folder``: the files, their headers, warnings."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = _value_plan(volume)
    warnings = []
    if not plan.exact:
        warnings.append(
            f"scan {identity.scan_id}: the DICOM image series stores its {volume.dtype} voxels "
            f"as 16-bit integers in steps of {plan.slope:.4g} (the labels are exact)"
        )
    if not volume.spacing_known:
        warnings.append(
            f"scan {identity.scan_id}: its voxel size is unknown; the DICOM image series "
            f"states {tuple(volume.spacing_mm)} mm as ndelab assumed"
        )
    positions, orientation, pixel_spacing = _geometry(volume)
    study, series = uid_for(identity, "study"), uid_for(identity, "series")
    frame_of_reference = uid_for(identity, "frame of reference")
    when = identity.created_at
    paths, headers = [], []
    for z in range(volume.shape[0]):
        check(cancel, "exporting the data set")
        ds = _header(identity, z, study, series, frame_of_reference, when)
        ds.ImagePositionPatient = [_ds(v) for v in positions[z]]
        ds.ImageOrientationPatient = [_ds(v) for v in orientation]
        ds.PixelSpacing = [_ds(v) for v in pixel_spacing]
        ds.SliceThickness = _ds(float(volume.spacing_mm[0]))
        ds.SpacingBetweenSlices = _ds(float(volume.spacing_mm[0]))
        pixels = _stored(np.asarray(volume.data[z]), plan)
        ds.Rows, ds.Columns = (int(n) for n in pixels.shape)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if plan.signed else 0
        ds.RescaleIntercept = _ds(plan.intercept)
        ds.RescaleSlope = _ds(plan.slope)
        ds.RescaleType = "US"  # unspecified units: industrial CT grey values are not HU
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        path = folder / f"{z + 1:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        del ds.PixelData  # the SEG needs the header only
        paths.append(path)
        headers.append(ds)
    return paths, headers, warnings


def _header(
    identity: SeriesIdentity,
    z: int,
    study: UID,
    series: UID,
    frame_of_reference: UID,
    when: datetime | None,
) -> Dataset:
    sop = uid_for(identity, "image", z)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: part names may be any text
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    date = when.strftime("%Y%m%d") if when else ""
    time = when.strftime("%H%M%S") if when else ""
    # Patient module, read as DICONDE's Component: the part.
    ds.PatientName = identity.part_name[:64]
    ds.PatientID = identity.part_id[:64]
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    # General Study
    ds.StudyInstanceUID = study
    ds.StudyDate, ds.StudyTime = date, time
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.StudyDescription = "ndelab scan"
    # General Series, Frame of Reference, General Equipment
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 1
    ds.SeriesDescription = f"ndelab scan {identity.scan_id}"[:64]
    ds.PatientPosition = ""
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = identity.manufacturer
    ds.SoftwareVersions = identity.software_version[:64]
    # General Image, CT Image
    ds.InstanceNumber = z + 1
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = date, time
    ds.TimezoneOffsetFromUTC = "+0000"  # every date and time here is UTC
    ds.AcquisitionNumber = ""
    ds.KVP = ""
    ds.BurnedInAnnotation = "NO"
    return ds
