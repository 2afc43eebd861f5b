"""Reviewed labels of one scan as a DICOM Segmentation (highdicom) beside its DICOM images.

Layout of the scan's folder:
    seg.dcm        Segmentation Storage, BINARY, one segment per defect class; the segment
                   number is the class code of the other formats (1 pore, 2 crack, ...), and
                   every class is described even where it has no voxels, so numbers never shift
    image/*.dcm    the images the SEG references: the scan's own DICOM (or DICONDE) files,
                   copied byte for byte so their UIDs, study and frame of reference stay; or,
                   for a scan read from another format, a CT series written from the volume
                   (export_dicom_series). 3D Slicer or OHIF open the folder as a pair.

Classes are coded in a private coding scheme, 99NDELAB (a "99" designator is private by
PS3.16 section 8.2): SNOMED CT and DICOM's DCM codes describe anatomy and lesions, not pores or
cracks in a casting. CodingSchemeIdentificationSequence in seg.dcm names the scheme.

Per segment, the algorithm type follows how its labels came about: AUTOMATIC when every label
of the class is a model's proposal that a reviewer accepted unchanged, MANUAL when every label
was drawn by hand (and for a class without labels), SEMIAUTOMATIC otherwise (corrected model
calls, SAM). Its AlgorithmIdentification names the model that proposed most of them (others in
AlgorithmParameters). ContentCreatorName is the reviewer of the last decision and
ContentDate/ContentTime that decision's time: in UTC with TimezoneOffsetFromUTC +0000 beside
a generated series (whose own dates are UTC too), in the source's zone when the scanner's files
name one, and in UTC without an offset otherwise. manifest.json keeps the per-label detail.
"""

from __future__ import annotations

import logging
import re
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import numpy.typing as npt
import pydicom
from highdicom.seg import SegmentAlgorithmTypeValues as AlgorithmType
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from ndelab.annotation.export.dicom_series import SeriesIdentity, write_ct_series
from ndelab.annotation.store.provenance import CLASS_CODES
from ndelab.volumes.errors import VolumeReadError, VolumeWriteError
from ndelab.volumes.progress import Cancel, check
from ndelab.volumes.readers.dicom import SOURCE_SLICES
from ndelab.volumes.volume import Volume

log = logging.getLogger(__name__)

SCHEME = "99NDELAB"
CATEGORY = Code("DISCONTINUITY", SCHEME, "Material discontinuity")
CLASS_TYPES: dict[str, Code] = {
    "pore": Code("PORE", SCHEME, "Pore"),
    "crack": Code("CRACK", SCHEME, "Crack"),
    "inclusion": Code("INCLUSION", SCHEME, "Inclusion"),
    "lack-of-fusion": Code("LACK_OF_FUSION", SCHEME, "Lack of fusion"),
    "other": Code("OTHER", SCHEME, "Other indication"),
    "linear": Code("LINEAR", SCHEME, "Linear indication"),
}
_COLOURS = {  # display colours (sRGB), distinct on grey CT
    "pore": (230, 60, 60),
    "crack": (250, 210, 40),
    "inclusion": (60, 140, 240),
    "lack-of-fusion": (220, 80, 220),
    "other": (70, 200, 110),
    "linear": (250, 140, 30),
}
SEG_NAME = "seg.dcm"
IMAGE_DIR = "image"
_DESCRIPTION = "ndelab reviewed labels; times in UTC unless an offset is given"
# The Type 2 attributes highdicom copies from the first source image; old or foreign files
# may lack them, and an empty value is what the standard asks for when unknown.
_TYPE2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
)


@dataclass
class SegResult:
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Source:
    """The images the SEG is built on, and how its frames map onto them."""

    headers: list[Dataset]  # one per z slice, or the one multi-frame data set
    frame_of_z: list[int] | None  # multi-frame: 0-based frame of each z slice
    files: list[Path]


def write_dicom_seg(
    folder: Path,
    volume: Volume,
    scan: dict[str, Any],
    classes: npt.NDArray[np.uint8],
    instances: list[dict[str, Any]],
    *,
    software_version: str,
    device_serial: str,
    exported_at: datetime,
    cancel: Cancel | None = None,
) -> SegResult:
    """Write ``folder``/seg.dcm and its image series; ``classes`` holds the class codes."""
    result = SegResult()
    image_dir = folder / IMAGE_DIR
    image_dir.mkdir(parents=True, exist_ok=True)
    source = _dicom_source(volume, scan, image_dir, result.warnings, cancel)
    generated = source is None
    if source is None:
        identity = SeriesIdentity(
            scan_id=scan["id"],
            sha256=scan["sha256"] or "",
            part_id=scan["part_id"],
            part_name=_person(scan.get("part_name") or scan["part_id"]),
            created_at=_parse_time(scan.get("created_at")),
            manufacturer="ndelab",
            software_version=software_version,
        )
        paths, headers, warns = write_ct_series(volume, image_dir, identity, cancel)
        source = _Source(headers, None, paths)
        result.warnings += warns
    check(cancel, "exporting the data set")
    reviewer, decided_at = _last_decision(instances, exported_at)
    # DICOM times are local to TimezoneOffsetFromUTC, or to nobody knows where without it.
    # A generated series is in UTC and says so; a scanner's own files keep their zone, and
    # the decision time is given in it when they name one.
    zone = UTC_OFFSET if generated else _offset_of(source.headers[0])
    if zone is not None:
        decided_at = decided_at.astimezone(_tzinfo(zone))
    provenance = {
        "software_versions": software_version[:64],
        "device_serial_number": device_serial[:64],
        "content_creator_name": _person(reviewer) or None,
        "content_date": decided_at.date(),
        "content_time": decided_at.time(),
    }
    path = folder / SEG_NAME
    try:
        seg = _segmentation(volume, source, classes, instances, provenance)
    except (ValueError, AttributeError) as exc:  # highdicom's checks of the source headers
        log.info("building %s failed", path, exc_info=True)
        raise VolumeWriteError(path, f"cannot be built from the scan's images ({exc})") from exc
    scheme = Dataset()
    scheme.CodingSchemeDesignator = SCHEME
    scheme.CodingSchemeName = "ndelab NDE indication classes"
    scheme.CodingSchemeResponsibleOrganization = "ndelab"
    seg.CodingSchemeIdentificationSequence = [scheme]
    if zone is not None:
        seg.TimezoneOffsetFromUTC = zone
    seg.save_as(path, enforce_file_format=True)
    result.files = [path, *source.files]
    return result


UTC_OFFSET = "+0000"
_OFFSET = re.compile(r"^[+-](?:0\d|1[0-4])[0-5]\d$")


def _offset_of(header: Dataset) -> str | None:
    """The source's TimezoneOffsetFromUTC ("+HHMM"/"-HHMM") when it names a valid one."""
    value = str(header.get("TimezoneOffsetFromUTC", "") or "").strip()
    return value if _OFFSET.match(value) else None


def _tzinfo(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))


def _segmentation(
    volume: Volume,
    source: _Source,
    classes: npt.NDArray[np.uint8],
    instances: list[dict[str, Any]],
    provenance: dict[str, Any],
) -> hd.seg.Segmentation:
    descriptions = _descriptions(instances)
    kwargs: dict[str, Any] = dict(provenance)
    labelled = bool(classes.any())
    if source.frame_of_z is None:
        images = source.headers
        pixels: npt.NDArray[np.uint8] = classes
        if not labelled:
            # A reviewed negative: one empty frame on the first slice stands for the scan
            # (highdicom encodes every frame of an all-empty array); the rest are referenced.
            images, pixels = source.headers[:1], classes[:1]
            kwargs["further_source_images"] = source.headers[1:]
    else:
        images = source.headers[:1]
        frames = int(images[0].get("NumberOfFrames", 1))
        if labelled or "FrameOfReferenceUID" not in images[0]:
            pixels = np.zeros((frames, *classes.shape[1:]), np.uint8)
            pixels[source.frame_of_z] = classes
        else:  # a reviewed negative: one empty frame placed on the first slice
            pixels = classes[:1]
            kwargs.update(_first_plane(volume))
    models = sorted({_model_name(lab) for lab in instances if _model_name(lab)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # highdicom's hints on names it copies
        seg = hd.seg.Segmentation(
            source_images=images,
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=hd.UID(),
            series_number=100,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="ndelab",
            manufacturer_model_name="ndelab",
            content_label="NDELAB_LABELS",
            content_description=_DESCRIPTION,
            series_description=_clip(
                "ndelab labels" + (f" ({', '.join(models)})" if models else ""), 64
            ),
            omit_empty_frames=labelled,  # a negative's one frame is empty on purpose
            **kwargs,
        )
    return seg


def _first_plane(volume: Volume) -> dict[str, Any]:
    """Position, orientation and pixel measures of slice 0, from the volume's geometry.

    The DICOM reader puts the origin on the first slice's ImagePositionPatient, so highdicom
    finds the source frame it lies on.
    """
    d = np.asarray(volume.direction, np.float64)
    sz, sy, sx = (float(v) for v in volume.spacing_mm)
    patient = hd.CoordinateSystemNames.PATIENT
    return {
        "plane_positions": [
            hd.PlanePositionSequence(patient, [float(v) for v in volume.origin_mm[::-1]])
        ],
        "plane_orientation": hd.PlaneOrientationSequence(
            patient, [*d[::-1, 2].tolist(), *d[::-1, 1].tolist()]
        ),
        "pixel_measures": hd.PixelMeasuresSequence((sy, sx), sz),
    }


# ---------------------------------------------------------------------------------------------
# Source images


def _dicom_source(
    volume: Volume,
    scan: dict[str, Any],
    image_dir: Path,
    warns: list[str],
    cancel: Cancel | None,
) -> _Source | None:
    """The scan's own DICOM instances copied into ``image_dir``; None if it has none."""
    meta = volume.metadata if isinstance(volume.metadata, dict) else {}
    slices = meta.get(SOURCE_SLICES)
    if volume.format != "dicom" or not isinstance(slices, list):
        return None
    if len(slices) != volume.shape[0] or any(not s.get("SOPInstanceUID") for s in slices):
        warns.append(
            f"scan {scan['id']}: its DICOM files do not name an instance for every slice; "
            "the SEG references a CT series written from the volume instead"
        )
        return None
    root = Path(scan["path"])
    base = root if root.is_dir() else root.parent
    copied: dict[str, tuple[Path, Dataset]] = {}
    for entry in slices:
        name = entry["file"]
        if name in copied:
            continue
        check(cancel, "exporting the data set")
        target = image_dir / f"{len(copied) + 1:05d}.dcm"
        source = base / name
        if not source.is_file():
            raise VolumeReadError(source, "is gone: the scan's source DICOM file is needed")
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            raise VolumeWriteError(target, f"cannot be written ({exc.strerror or exc})") from exc
        copied[name] = (target, _header(target))
    headers = [copied[s["file"]][1] for s in slices]
    for entry, header in zip(slices, headers, strict=True):
        if str(header.get("SOPInstanceUID", "")) != entry["SOPInstanceUID"]:
            raise VolumeWriteError(
                base / entry["file"], "changed since the scan was read (its SOPInstanceUID)"
            )
    files = [path for path, _ in copied.values()]
    if len(copied) == 1 and int(headers[0].get("NumberOfFrames", 1)) > 1:
        return _Source([headers[0]], [int(s["frame"]) - 1 for s in slices], files)
    return _Source(headers, None, files)


def _header(path: Path) -> Dataset:
    """The header of a copied source file, with the Type 2 attributes the SEG copies."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    for kw in _TYPE2:
        if kw not in ds:
            setattr(ds, kw, "")
    return ds


# ---------------------------------------------------------------------------------------------
# Segment descriptions and provenance


def _kind(label: dict[str, Any]) -> AlgorithmType:
    model = label["provenance"]["model"]
    if model["kind"] == "manual":
        return AlgorithmType.MANUAL
    if model["kind"] == "model" and label["status"] == "accepted":
        return AlgorithmType.AUTOMATIC
    return AlgorithmType.SEMIAUTOMATIC  # a corrected model call, or SAM from a person's prompt


def _model_name(label: dict[str, Any]) -> str:
    model = label["provenance"]["model"]
    if model["kind"] == "manual":
        return ""
    name = model["name"] or model["kind"]
    return f"{name} {model['version']}" if model["version"] else str(name)


def _descriptions(instances: list[dict[str, Any]]) -> list[hd.seg.SegmentDescription]:
    out = []
    for name, code in sorted(CLASS_CODES.items(), key=lambda item: item[1]):
        labels = [lab for lab in instances if lab["class"] == name]
        kinds = {_kind(lab) for lab in labels}
        if not kinds or kinds == {AlgorithmType.MANUAL}:
            kind = AlgorithmType.MANUAL
        elif kinds == {AlgorithmType.AUTOMATIC}:
            kind = AlgorithmType.AUTOMATIC
        else:
            kind = AlgorithmType.SEMIAUTOMATIC
        algorithm = None
        if kind != AlgorithmType.MANUAL:
            algorithm = _algorithm([lab for lab in labels if _model_name(lab)])
        out.append(
            hd.seg.SegmentDescription(
                segment_number=code,
                segment_label=name,
                segmented_property_category=CATEGORY,
                segmented_property_type=CLASS_TYPES[name],
                algorithm_type=kind,
                algorithm_identification=algorithm,
                display_color=hd.color.CIELabColor.from_rgb(*_COLOURS[name]),
            )
        )
    return out


def _algorithm(labels: list[dict[str, Any]]) -> hd.AlgorithmIdentificationSequence:
    """The model that proposed most of ``labels``; the others go into the parameters."""
    counts = Counter(
        (str(m["name"] or m["kind"]), str(m["version"] or "unknown"))
        for m in (lab["provenance"]["model"] for lab in labels)
    )
    (name, version), _ = counts.most_common(1)[0]
    others = [f"{n} {v}" for (n, v) in counts if (n, v) != (name, version)]
    return hd.AlgorithmIdentificationSequence(
        name=_clip(name, 64),
        family=codes.DCM.ArtificialIntelligence,
        version=_clip(version, 64),
        source="ndelab",
        parameters={"other models": _clip(", ".join(others), 1000)} if others else None,
    )


def _last_decision(instances: list[dict[str, Any]], fallback: datetime) -> tuple[str, datetime]:
    """Reviewer and UTC time of the latest decision among the labels."""
    best: tuple[datetime, str] | None = None
    for lab in instances:
        prov = lab["provenance"]
        at = _parse_time(prov.get("reviewed_at"))
        if at is not None and (best is None or at > best[0]):
            best = (at, str(prov.get("reviewer") or ""))
    if best is None:
        return "", fallback.astimezone(UTC)
    return best[1], best[0]


def _parse_time(text: str | None) -> datetime | None:
    """An ISO time from the store as aware UTC (the store writes UTC, SQLite drops the zone)."""
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _person(name: str) -> str:
    """A user or part name as a DICOM person name: one family-name component."""
    clean = " ".join(name.replace("^", " ").replace("=", " ").replace("\\", " ").split())
    if not clean:
        return ""
    return f"{_clip(clean, 60)}^"  # the caret marks a one-component (family) name


def _clip(text: str, n: int) -> str:
    return text[:n]
