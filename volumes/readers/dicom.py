"""DICOM and DICONDE images as Volumes: a slice folder, a multi-frame file or one radiograph.

Geometry convention. DICOM patient coordinates are (X, Y, Z). ndelab's world order is (z, y, x),
so every DICOM position and direction vector is reversed: world (z, y, x) = (Z, Y, X). The
direction matrix has one column per index axis (z, y, x), each in that reversed world order:

- x index (along a row, the column number) follows ImageOrientationPatient[0:3];
- y index (down a column, the row number) follows ImageOrientationPatient[3:6];
- z index (slice number) follows the slice normal (row x column), or the real step between
  slice positions when the stack is sheared (gantry tilt).

origin_mm is the first slice's ImagePositionPatient, reversed. Then Volume.index_to_world of
the last slice's corner voxel gives that slice's ImagePositionPatient (reversed) back.

Voxels are decoded into memory (pydicom decodes whole frames; compressed data cannot be
memory-mapped).
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import iter_pixels
from pydicom.uid import UID

from ndelab.volumes.errors import VolumeReadError, fmt_bytes
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report
from ndelab.volumes.readers.diconde import diconde_info
from ndelab.volumes.volume import Volume

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

# A data set holding one of these is taken for DICOM when the file has no "DICM" preamble.
_MARKER_TAGS = (0x00080016, 0x00080060, 0x00280010)  # SOPClassUID, Modality, Rows
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_SAME_POSITION_MM = 1e-3
_DAMAGED = "is truncated or damaged: pydicom cannot parse it"
_LUMINANCE = np.array([0.299, 0.587, 0.114])

#: Metadata key of the per-slice source instances (one small dict per z slice; see
#: _source_identity). Summaries such as ``ndelab info`` print its length, not its items.
SOURCE_SLICES = "source_slices"

_META_KEYWORDS = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "StudyDate",
    "SeriesDescription",
    "KVP",
    "XRayTubeCurrent",
    "PhotometricInterpretation",
    "BitsStored",
)


def is_dicom_file(path: Path) -> bool:
    """True for a DICOM file: "DICM" at offset 128, or a data set that parses without one."""
    path = Path(path)
    if not path.is_file() or not _plausible_start(path):
        return False
    with path.open("rb") as f:
        f.seek(128)
        if f.read(4) == b"DICM":
            return True
    return _read_dataset(path, header_only=True, force=True) is not None


def read_dicom(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    """Read a DICOM/DICONDE image: a folder of slices, a multi-frame file or a single image.

    A folder keeps its largest series (SeriesInstanceUID); slices are sorted along the slice
    normal. Raises VolumeReadError with one sentence naming the file for anything unreadable.
    """
    path = Path(path)
    what = f"reading {path}"
    if path.is_dir():
        headers, warns = _pick_series(path, progress, cancel)
    elif path.is_file():
        headers, warns = {path: _read_full(path)}, []
    else:
        raise VolumeReadError(path, "does not exist")

    frames = [frame for f, header in headers.items() for frame in _frames_of(header, f)]
    # A single file was read whole; the files of a series are read again, one at a time.
    datasets = headers if path.is_file() else {}
    geo = _geometry(frames)  # drops localizers, which often differ in size too
    _check_same_shape([frames[k] for k in geo.order])
    warns += geo.warnings
    first = frames[geo.order[0]]
    plan = _plan_values([frames[k] for k in geo.order], first.image)
    out = np.empty((len(geo.order), first.image.rows, first.image.columns), dtype=plan.dtype)
    base = 0.2 if path.is_dir() else 0.0
    for n, (slot, pixels) in enumerate(_decoded(frames, geo.order, datasets, cancel, what)):
        out[slot] = _convert(pixels, frames[geo.order[slot]], plan)
        report(progress, base + (1.0 - base) * (n + 1) / len(geo.order))
    data = _narrow(out)
    if first.image.samples == 3:
        warns.append(f"{first.path.name} is a colour image; ndelab converted it to luminance.")

    meta = _metadata(first, plan, geo, data.dtype, len(headers))
    meta.update(_source_identity(frames, geo.order, path if path.is_dir() else path.parent))
    if len({(frames[k].slope, frames[k].intercept) for k in geo.order}) > 1:
        meta["rescale"]["varies_per_slice"] = True
    info = diconde_info(first.header)
    if info:
        meta["diconde"] = info
    spacing_yx, spacing_known, spacing_note = _pixel_spacing(first)
    if spacing_note:
        meta["spacing_source"] = spacing_note
    if not spacing_known:
        warns.append(f"{first.path.name} gives no pixel spacing; ndelab assumes 1 mm.")
    origin = geo.origin_xyz[::-1]
    return Volume(
        data=data,
        spacing_mm=(geo.spacing_z, spacing_yx[0], spacing_yx[1]),
        origin_mm=(float(origin[0]), float(origin[1]), float(origin[2])),
        direction=geo.direction_zyx,
        modality=str(first.header.get("Modality") or "OT"),
        metadata=meta,
        format="dicom",
        source=str(path),
        spacing_known=spacing_known and geo.spacing_known,
        warnings=warns,
    )


# ---------------------------------------------------------------------------------------------
# Reading data sets


def _plausible_start(path: Path) -> bool:
    """A "DICM" preamble, or a first element in a group a bare data set starts with.

    Checked before a forced parse so that a large non-DICOM file (a raw volume) is never read.
    """
    try:
        with path.open("rb") as f:
            head = f.read(132)
    except OSError:
        return False
    if head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    little = int.from_bytes(head[:2], "little")
    big = int.from_bytes(head[:2], "big")
    return little in (0x0000, 0x0002, 0x0008) or big in (0x0002, 0x0008)


def _read_dataset(path: Path, *, header_only: bool, force: bool) -> Dataset | None:
    """The data set of ``path``, or None when it is not DICOM (or not readable at all)."""
    if force and not _plausible_start(path):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(
                path,
                stop_before_pixels=header_only,
                force=force,
                # Header reads skip big values by seeking; they are read only if used.
                defer_size="256 KB" if header_only else None,
            )
            if not any(tag in ds for tag in _MARKER_TAGS):
                return None
    except Exception as exc:  # pydicom raises many kinds for foreign or damaged bytes
        log.debug("%s is not readable as DICOM: %s", path, exc)
        return None
    return ds


def _read_full(path: Path) -> Dataset:
    ds: Dataset
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=False)
    except pydicom.errors.InvalidDicomError:
        forced = _read_dataset(path, header_only=False, force=True)
        if forced is None:
            if _read_dataset(path, header_only=True, force=True) is not None:
                raise VolumeReadError(path, _DAMAGED) from None
            raise VolumeReadError(path, "is not a DICOM file") from None
        ds = forced
    except Exception as exc:
        log.info("pydicom could not parse %s: %s", path, exc)
        raise VolumeReadError(path, _DAMAGED) from None
    if not any(tag in ds for tag in _MARKER_TAGS):
        # pydicom gives up on a file cut inside encapsulated pixel data with an empty data set.
        if _read_dataset(path, header_only=True, force=True) is not None:
            raise VolumeReadError(path, _DAMAGED)
        raise VolumeReadError(path, "holds no image data set (the file may be truncated)")
    return ds


def _pick_series(
    folder: Path, progress: Progress | None, cancel: Cancel | None
) -> tuple[dict[Path, Dataset], list[str]]:
    """The files of the folder's largest image series, with warnings about what was left out."""
    candidates = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name.upper() != "DICOMDIR"
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    series: dict[str, dict[Path, Dataset]] = {}
    not_images = 0
    for n, f in enumerate(candidates):
        check(cancel, f"reading {folder}")
        header = _read_dataset(f, header_only=True, force=True)
        if header is None or "Rows" not in header:
            not_images += 1
        else:
            series.setdefault(str(header.get("SeriesInstanceUID", "")), {})[f] = header
        report(progress, 0.2 * (n + 1) / max(len(candidates), 1))
    if not series:
        raise VolumeReadError(
            folder, f"contains no DICOM images ({len(candidates)} files looked at)"
        )
    uid, files = max(series.items(), key=lambda item: len(item[1]))
    warns = []
    if len(series) > 1:
        warns.append(
            f"{folder.name} holds {len(series)} image series; ndelab read the largest "
            f"({len(files)} files) and ignored {len(series) - 1} other series."
        )
    if not_images:
        warns.append(f"{not_images} files in {folder.name} are not DICOM images and were skipped.")
    if len(files) > 1:
        for f, header in files.items():
            if _int(header, "NumberOfFrames", 1) > 1:
                raise VolumeReadError(
                    f,
                    f"is a multi-frame file inside a series of {len(files)} files "
                    f"(series {uid}); open one file at a time",
                )
    return files, warns


# ---------------------------------------------------------------------------------------------
# Frames and their geometry


@dataclass(frozen=True)
class _Image:
    """What the pixel module of one file says."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    float_data: bool


@dataclass
class _Frame:
    path: Path
    header: Dataset
    image: _Image
    frame: int  # index inside its file
    instance: int
    position: FloatArray | None  # (X, Y, Z) patient mm
    orientation: FloatArray | None  # 6 direction cosines
    slope: float = 1.0
    intercept: float = 0.0
    pixel_measures: Dataset | None = None
    rescale_type: str | None = None


def _image_of(ds: Dataset, path: Path) -> _Image:
    if not any(k in ds for k in ("Rows", "Columns")):
        raise VolumeReadError(path, "has no image (no Rows/Columns attributes)")
    float_data = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
    bits = _int(ds, "BitsAllocated", 16, path)
    return _Image(
        rows=_int(ds, "Rows", 0, path),
        columns=_int(ds, "Columns", 0, path),
        samples=_int(ds, "SamplesPerPixel", 1, path),
        bits_allocated=bits,
        bits_stored=_int(ds, "BitsStored", bits, path),
        signed=_int(ds, "PixelRepresentation", 0, path) == 1,
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip(),
        float_data=float_data,
    )


def _frames_of(ds: Dataset, path: Path) -> list[_Frame]:
    """One _Frame per frame of ``ds``, with its position, orientation and rescale."""
    image = _image_of(ds, path)
    if image.rows <= 0 or image.columns <= 0:
        raise VolumeReadError(path, f"has an empty image ({image.rows} x {image.columns} pixels)")
    if image.photometric == "PALETTE COLOR":
        raise VolumeReadError(path, "is a PALETTE COLOR image, which ndelab does not read")
    n = _int(ds, "NumberOfFrames", 1, path)
    if n < 1:
        raise VolumeReadError(path, f"declares {n} frames")
    instance = _int(ds, "InstanceNumber", 0, path)
    slope, intercept = _rescale(ds, path)
    top_pos = _floats(ds.get("ImagePositionPatient"), 3)
    top_ori = _floats(ds.get("ImageOrientationPatient"), 6)

    def frame(index: int, position: FloatArray | None, orientation: FloatArray | None) -> _Frame:
        return _Frame(path, ds, image, index, instance, position, orientation, slope, intercept)

    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        frames = []
        for i in range(n):
            plane = _group_item(ds, i, "PlanePositionSequence")
            ori = _group_item(ds, i, "PlaneOrientationSequence")
            pvt = _group_item(ds, i, "PixelValueTransformationSequence")
            f = frame(
                i,
                _floats(plane.get("ImagePositionPatient") if plane else None, 3),
                _floats(ori.get("ImageOrientationPatient") if ori else None, 6),
            )
            if pvt is not None:
                f.slope, f.intercept = _rescale(pvt, path)
                f.rescale_type = _text(pvt, "RescaleType")
            else:
                f.rescale_type = _text(ds, "RescaleType")
            f.pixel_measures = _group_item(ds, i, "PixelMeasuresSequence")
            frames.append(f)
        return frames
    offsets = _floats(ds.get("GridFrameOffsetVector"), n)
    frames = []
    for i in range(n):
        pos = top_pos
        if n > 1:
            pos = None
            if offsets is not None and top_pos is not None:
                normal = _normal(top_ori) if top_ori is not None else np.array([0.0, 0.0, 1.0])
                pos = top_pos + offsets[i] * normal
        f = frame(i, pos, top_ori)
        f.rescale_type = _text(ds, "RescaleType")
        frames.append(f)
    if n > 1 and frames[0].position is None and top_pos is not None:
        frames[0].position = top_pos  # origin of an unpositioned stack
    return frames


def _group_item(ds: Dataset, index: int, name: str) -> Dataset | None:
    """Functional group ``name`` of frame ``index``: per-frame first, then shared."""
    per = ds.get("PerFrameFunctionalGroupsSequence")
    shared = ds.get("SharedFunctionalGroupsSequence")
    sources = []
    if per is not None and index < len(per):
        sources.append(per[index])
    if shared is not None and len(shared) > 0:
        sources.append(shared[0])
    for item in sources:
        seq = item.get(name)
        if seq is not None and len(seq) > 0:
            return seq[0]  # type: ignore[no-any-return]
    return None


def _check_same_shape(frames: Sequence[_Frame]) -> None:
    shapes = Counter((f.image.rows, f.image.columns, f.image.samples) for f in frames)
    if len(shapes) == 1:
        return
    (rows, cols, samples), _ = shapes.most_common(1)[0]
    for f in frames:
        if (f.image.rows, f.image.columns, f.image.samples) != (rows, cols, samples):
            raise VolumeReadError(
                f.path,
                f"has {f.image.rows} x {f.image.columns} pixels ({f.image.samples} samples) but "
                f"the other slices of its series have {rows} x {cols} ({samples} samples)",
            )


@dataclass
class _Geometry:
    order: list[int]
    spacing_z: float
    spacing_known: bool
    origin_xyz: FloatArray
    direction_zyx: FloatArray
    warnings: list[str] = field(default_factory=list)


def _main_orientation(frames: Sequence[_Frame], warns: list[str]) -> list[int]:
    """Indices of the frames sharing the most common orientation; others (localizers) drop."""
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, f in enumerate(frames):
        key = () if f.orientation is None else tuple(np.round(f.orientation, 3).tolist())
        groups.setdefault(key, []).append(i)
    kept = max(groups.values(), key=len)
    if len(kept) < len(frames):
        warns.append(
            f"{len(frames) - len(kept)} slices lie in another orientation than the other "
            f"{len(kept)} (localizers?) and were ignored."
        )
    return kept


def _geometry(all_frames: Sequence[_Frame]) -> _Geometry:
    """Slice order (indices into ``all_frames``), z spacing, origin and direction."""
    warns: list[str] = []
    selected = _main_orientation(all_frames, warns)
    frames = [all_frames[i] for i in selected]
    ref = frames[0].orientation
    if ref is not None:
        row = _unit(ref[:3])
        col = _unit(ref[3:])
    else:
        row, col = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    normal = np.cross(row, col)
    z_axis = normal
    fallback_z, fallback_known = _slice_spacing(frames[0])
    positioned = all(f.position is not None for f in frames)

    if positioned and len(frames) > 1:
        depth = [float(np.dot(f.position, normal)) for f in frames]  # type: ignore[arg-type]
        order = sorted(range(len(frames)), key=lambda k: (depth[k], frames[k].instance, k))
        kept = [order[0]]
        for k in order[1:]:
            if abs(depth[k] - depth[kept[-1]]) > _SAME_POSITION_MM:
                kept.append(k)
        if len(kept) < len(order):
            warns.append(
                f"{len(order) - len(kept)} slices repeat the position of another slice "
                "and were ignored."
            )
        order = kept
    else:
        order = sorted(range(len(frames)), key=lambda k: (frames[k].instance, frames[k].frame))
        if len(frames) > 1 and frames[0].header is not frames[-1].header:
            warns.append(
                "The slices carry no ImagePositionPatient; ndelab ordered them by InstanceNumber."
            )

    spacing_z, spacing_known = fallback_z, fallback_known or len(order) == 1
    if positioned and len(order) > 1:
        pos = np.array([frames[k].position for k in order], dtype=np.float64)
        steps = np.diff(pos @ normal)
        spacing_z = float(steps.mean())
        spacing_known = True
        if steps.max() - steps.min() > max(0.01, 0.01 * spacing_z):
            warns.append(
                f"The slice spacing varies from {steps.min():.4g} to {steps.max():.4g} mm; "
                f"ndelab uses the mean, {spacing_z:.4g} mm."
            )
        step = (pos[-1] - pos[0]) / (len(order) - 1)
        if np.linalg.norm(step - np.dot(step, normal) * normal) > 1e-3 * np.linalg.norm(step):
            z_axis = _unit(step)
            spacing_z = float(np.linalg.norm(step))
            warns.append(
                "The slices are sheared (gantry tilt); the z axis follows their positions."
            )
    elif len(order) > 1 and not fallback_known:
        warns.append("The slices give no spacing between them; ndelab assumes 1 mm.")

    first = frames[order[0]]
    origin = first.position if first.position is not None else np.zeros(3)
    direction = np.column_stack([z_axis[::-1], col[::-1], row[::-1]])
    order = [selected[k] for k in order]
    return _Geometry(order, spacing_z, spacing_known, np.asarray(origin), direction, warns)


def _slice_spacing(frame: _Frame) -> tuple[float, bool]:
    """Spacing between slices from the attributes, for stacks without positions."""
    for source in (frame.pixel_measures, frame.header):
        if source is None:
            continue
        for kw in ("SpacingBetweenSlices", "SliceThickness"):
            value = _float(source, kw)
            if value is not None and value > 0:
                return value, True
    return 1.0, False


def _pixel_spacing(frame: _Frame) -> tuple[tuple[float, float], bool, str | None]:
    """(row spacing = y, column spacing = x), whether known, and where it came from."""
    for source in (frame.pixel_measures, frame.header):
        if source is None:
            continue
        ps = _floats(source.get("PixelSpacing"), 2)
        if ps is not None and (ps > 0).all():
            return (float(ps[0]), float(ps[1])), True, None
    ds = frame.header
    ips = _floats(ds.get("ImagerPixelSpacing"), 2)
    if ips is not None and (ips > 0).all():
        factor = _float(ds, "EstimatedRadiographicMagnificationFactor")
        if factor is not None and factor > 0:
            ips = ips / factor
            note = f"ImagerPixelSpacing divided by the magnification factor {factor:g}"
        else:
            note = "ImagerPixelSpacing (at the detector, not corrected for magnification)"
        return (float(ips[0]), float(ips[1])), True, note
    return (1.0, 1.0), False, None


# ---------------------------------------------------------------------------------------------
# Pixel values


@dataclass(frozen=True)
class _ValuePlan:
    dtype: np.dtype[Any]
    integer: bool
    invert: bool  # MONOCHROME1: bright must mean dense


def _stored_range(image: _Image) -> tuple[int, int]:
    bits = max(1, min(image.bits_stored, 64))
    if image.signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _plan_values(frames: Sequence[_Frame], image: _Image) -> _ValuePlan:
    """Keep integers integer where the rescale allows (int16 HU); otherwise float32."""
    invert = image.photometric == "MONOCHROME1"
    integer = not image.float_data and all(
        f.slope == 1.0 and float(f.intercept).is_integer() for f in frames
    )
    if not integer:
        return _ValuePlan(np.dtype(np.float32), False, invert)
    lo, hi = _stored_range(image)
    lo += int(min(f.intercept for f in frames))
    hi += int(max(f.intercept for f in frames))
    for candidate in (np.uint8, np.uint16, np.int16, np.int32, np.uint32, np.int64):
        info = np.iinfo(candidate)
        if info.min <= lo and hi <= info.max:
            return _ValuePlan(np.dtype(candidate), True, invert)
    return _ValuePlan(np.dtype(np.float64), False, invert)


def _convert(pixels: npt.NDArray[Any], frame: _Frame, plan: _ValuePlan) -> npt.NDArray[Any]:
    """Stored pixels to output values: luminance, rescale, MONOCHROME1 inversion."""
    if pixels.ndim == 3:  # colour samples last, already RGB (pydicom converts YBR)
        pixels = np.rint(pixels[..., :3] @ _LUMINANCE)
    stored_lo, stored_hi = _stored_range(frame.image)
    values: npt.NDArray[Any]
    if plan.integer:
        shift = int(frame.intercept)
        values = pixels.astype(plan.dtype) + np.asarray(shift, dtype=plan.dtype)
        total: float = stored_lo + stored_hi + 2 * shift
    else:
        values = pixels.astype(np.float64) * frame.slope + frame.intercept
        total = (stored_lo + stored_hi) * frame.slope + 2 * frame.intercept
    if plan.invert:  # mirror within the rescaled range of the stored bits
        values = np.asarray(total, dtype=values.dtype) - values
    return values


def _narrow(out: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """int32 holding 16-bit values becomes int16/uint16: the display's fast path wants 16 bits."""
    if out.dtype.kind not in "iu" or out.dtype.itemsize <= 2 or out.size == 0:
        return out
    lo, hi = int(out.min()), int(out.max())
    for candidate in (np.int16, np.uint16):
        info = np.iinfo(candidate)
        if info.min <= lo and hi <= info.max:
            return out.astype(candidate)
    return out


def _decoded(
    frames: Sequence[_Frame],
    order: Sequence[int],
    datasets: dict[Path, Dataset],
    cancel: Cancel | None,
    what: str,
) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    """(output slot, stored pixels) for each kept frame, reading each file once."""
    slot_of = {k: slot for slot, k in enumerate(order)}
    by_file: dict[Path, list[int]] = {}
    for k in order:
        by_file.setdefault(frames[k].path, []).append(k)
    for path, members in by_file.items():
        check(cancel, what)
        ds = datasets[path] if path in datasets else _read_full(path)
        _check_pixels(ds, path)
        wanted = {frames[k].frame: k for k in members}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for index, pixels in zip(
                    sorted(wanted),
                    iter_pixels(ds, indices=sorted(wanted)),
                    strict=True,
                ):
                    check(cancel, what)
                    yield slot_of[wanted[index]], pixels
        except (VolumeReadError, Cancelled):
            raise
        except Exception as exc:
            log.info("decoding %s failed: %s", path, exc)
            ts = _transfer_syntax(ds)
            raise VolumeReadError(
                path, f"has {ts.name} pixel data that could not be decoded (damaged or truncated)"
            ) from None


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid is None:
        # A file without meta information: take what the parser found.
        implicit, little = ds.original_encoding
        if little is False:
            uid = pydicom.uid.ExplicitVRBigEndian
        elif implicit:
            uid = pydicom.uid.ImplicitVRLittleEndian
        else:
            uid = pydicom.uid.ExplicitVRLittleEndian
        ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = uid
    return UID(str(uid))


def _check_pixels(ds: Dataset, path: Path) -> None:
    """Pixel data present, a transfer syntax we can decode, and as many bytes as promised."""
    if not any(k in ds for k in _PIXEL_TAGS):
        raise VolumeReadError(path, "has no pixel data")
    ts = _transfer_syntax(ds)
    try:
        decoder = get_decoder(ts)
        available = decoder.is_available
    except (NotImplementedError, ValueError):
        available = False
    if not available:
        name = ts.name if ts.is_valid and ts.name != str(ts) else "unknown"
        raise VolumeReadError(
            path, f"uses transfer syntax {name} ({ts}), which ndelab cannot decode"
        )
    if ts.is_compressed or "PixelData" not in ds:
        return
    image = _image_of(ds, path)
    samples = (
        2
        if image.photometric.startswith("YBR_") and image.photometric.endswith("_422")
        else image.samples
    )
    bits = (
        image.rows
        * image.columns
        * samples
        * _int(ds, "NumberOfFrames", 1, path)
        * image.bits_allocated
    )
    expected = (bits + 7) // 8
    found = len(ds.PixelData)
    if found < expected:
        raise VolumeReadError(
            path, f"expected {fmt_bytes(expected)} bytes of voxel data, found {fmt_bytes(found)}"
        )


# ---------------------------------------------------------------------------------------------
# Metadata


def _metadata(
    first: _Frame, plan: _ValuePlan, geo: _Geometry, dtype: np.dtype[Any], n_files: int
) -> dict[str, Any]:
    ds = first.header
    meta: dict[str, Any] = {}
    for kw in _META_KEYWORDS:
        if kw in ds and ds[kw].value not in (None, ""):
            meta[kw] = _plain(ds[kw].value)
    ts = _transfer_syntax(ds)
    meta["TransferSyntaxUID"] = str(ts)
    meta["TransferSyntax"] = ts.name
    if "SeriesInstanceUID" in ds:
        meta["SeriesInstanceUID"] = str(ds.SeriesInstanceUID)
    meta["files"] = n_files
    meta["slices"] = len(geo.order)
    meta["rescale"] = _rescale_record(first, dtype)
    if plan.invert:
        meta["monochrome1_inverted"] = True
    presets = _window_presets(ds)
    if presets:
        if plan.invert:
            lo, hi = meta["rescale"]["output_range"]
            for p in presets:
                p["center"] = lo + hi - p["center"]
        meta["window_presets"] = presets
    return meta


def _source_identity(frames: Sequence[_Frame], order: Sequence[int], base: Path) -> dict[str, Any]:
    """Which DICOM instance (and frame) each z slice came from, so a SEG can reference them.

    Study, frame of reference and SOP class from the first slice; per slice (z order) under
    SOURCE_SLICES: the file relative to ``base`` (the folder read, or the file's folder), its
    SOPInstanceUID and the 1-based frame number. Only UIDs: patient fields stay out (a SEG export
    re-reads the headers it needs).
    """
    ds = frames[order[0]].header
    out: dict[str, Any] = {}
    for kw in ("StudyInstanceUID", "FrameOfReferenceUID", "SOPClassUID"):
        if ds.get(kw) not in (None, ""):
            out[kw] = str(ds.get(kw))
    slices = []
    for k in order:
        f = frames[k]
        uid = f.header.get("SOPInstanceUID")
        slices.append(
            {
                "file": f.path.relative_to(base).as_posix(),
                "SOPInstanceUID": str(uid) if uid not in (None, "") else None,
                "frame": f.frame + 1,
            }
        )
    out[SOURCE_SLICES] = slices
    return out


def _rescale_record(first: _Frame, dtype: np.dtype[Any]) -> dict[str, Any]:
    """The first slice's modality rescale (the one window presets refer to)."""
    slope, intercept = first.slope, first.intercept
    lo, hi = _stored_range(first.image)
    out_lo, out_hi = sorted((lo * slope + intercept, hi * slope + intercept))
    record: dict[str, Any] = {
        "slope": slope,
        "intercept": intercept,
        "output_dtype": str(dtype),
        "output_range": [out_lo, out_hi],
    }
    if first.rescale_type:
        record["type"] = first.rescale_type
    return record


def _window_presets(ds: Dataset) -> list[dict[str, Any]]:
    source: Dataset = ds
    voi = _group_item(ds, 0, "FrameVOILUTSequence")
    if voi is not None:
        source = voi
    centers = _float_list(source.get("WindowCenter"))
    widths = _float_list(source.get("WindowWidth"))
    names = source.get("WindowCenterWidthExplanation")
    if isinstance(names, str):
        names = [names]
    presets = []
    for i, (c, w) in enumerate(zip(centers, widths, strict=False)):
        preset: dict[str, Any] = {"center": c, "width": w}
        if names is not None and i < len(names) and str(names[i]).strip():
            preset["name"] = str(names[i]).strip()
        presets.append(preset)
    return presets


# ---------------------------------------------------------------------------------------------
# Small value helpers: DICOM strings are often empty, multi-valued or malformed.


def _int(ds: Dataset, keyword: str, default: int, path: Path | None = None) -> int:
    value = ds.get(keyword)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        if path is None:
            return default
        raise VolumeReadError(path, f"has an invalid {keyword} value {value!r}") from None


def _float(ds: Dataset | None, keyword: str) -> float | None:
    if ds is None:
        return None
    value = ds.get(keyword)
    if isinstance(value, MultiValue | list):
        value = value[0] if len(value) else None
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _floats(value: Any, count: int) -> FloatArray | None:
    if value is None or isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        return None
    try:
        arr = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (count,) or not np.isfinite(arr).all():
        return None
    return arr


def _float_list(value: Any) -> list[float]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, MultiValue | list | tuple) else [value]
    out = []
    for v in items:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            continue
    return out


def _text(ds: Dataset | None, keyword: str) -> str | None:
    if ds is None or keyword not in ds or ds.get(keyword) in (None, ""):
        return None
    return str(ds.get(keyword)).strip()


def _rescale(ds: Dataset, path: Path | None) -> tuple[float, float]:
    slope = _float(ds, "RescaleSlope")
    intercept = _float(ds, "RescaleIntercept")
    if slope == 0.0 and path is not None:
        raise VolumeReadError(path, "has a RescaleSlope of 0")
    return (slope if slope else 1.0), (intercept if intercept is not None else 0.0)


def _unit(v: FloatArray) -> FloatArray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def _normal(orientation: FloatArray) -> FloatArray:
    return _unit(np.cross(_unit(orientation[:3]), _unit(orientation[3:])))


def _plain(value: Any) -> Any:
    """pydicom's value types (DSfloat, IS, PersonName, MultiValue) as plain Python."""
    if isinstance(value, MultiValue | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)
