"""TIFF: a multi-page file, a single-page radiograph, or a folder of slice files.

Contiguous uncompressed pages are memory-mapped; otherwise pages are decoded one at a time on
demand. Voxel size comes from ndelab's own metadata, OME-XML, ImageJ metadata or the
resolution tags, in that order.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import TIFF_SUFFIXES, map_payload, natural_key, require_file
from ndelab.volumes.readers._lazy import SliceStack
from ndelab.volumes.volume import Volume, VoxelArray

_UNITS_MM = {
    "mm": 1.0, "millimeter": 1.0, "um": 1e-3, "µm": 1e-3, "\\u00b5m": 1e-3, "micron": 1e-3,
    "microns": 1e-3, "micrometer": 1e-3, "nm": 1e-6, "cm": 10.0, "m": 1000.0, "in": 25.4,
    "inch": 25.4,
}  # fmt: skip

Geometry = dict[str, Any]


def tiff_slices(folder: Path) -> list[Path]:
    """The .tif/.tiff files of a folder in natural order (slice_2 before slice_10)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TIFF_SUFFIXES]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_tiff(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    if path.is_dir():
        return _read_folder(path, progress, cancel)
    require_file(path)
    check(cancel, f"reading {path.name}")
    try:
        tif = tifffile.TiffFile(path)
    except (tifffile.TiffFileError, OSError, ValueError, struct.error) as exc:
        raise VolumeReadError(path, f"is not a readable TIFF file ({exc})") from exc
    try:
        data, geometry, two_d = _open_series(path, tif)
    except VolumeReadError:
        tif.close()
        raise
    except Exception as exc:  # tifffile raises many kinds on corrupt files
        tif.close()
        raise VolumeReadError(path, f"is a damaged TIFF file ({exc})") from exc
    report(progress, 1.0)
    return _volume(path, data, geometry, two_d, {"pages": data.shape[0]})


def _open_series(path: Path, tif: tifffile.TiffFile) -> tuple[VoxelArray, Geometry, bool]:
    if not tif.series:
        raise VolumeReadError(path, "holds no images")
    series = tif.series[0]
    if "S" in series.axes and series.shape[series.axes.index("S")] > 1:
        raise VolumeReadError(path, "holds colour images; only grayscale is supported")
    shape = tuple(s for s in series.shape if s != 1)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise VolumeReadError(path, f"holds images of shape {series.shape}; expected 2D or 3D")
    dtype = np.dtype(series.dtype)
    if dtype.kind not in "uifb":
        raise VolumeReadError(path, f"has voxel type {dtype}, which is not supported")
    file_dtype = dtype.newbyteorder(tif.byteorder) if dtype.itemsize > 1 else dtype
    offset = series.dataoffset
    data: VoxelArray
    if offset is not None:
        data = map_payload(path, path, file_dtype, shape, offset)
    else:
        pages = list(series.pages)
        if len(pages) == shape[0]:
            data = SliceStack(shape, dtype, lambda z: _page(path, pages[z]))
        else:  # slices are not one page each (tiles, odd layouts): decode it whole
            data = np.asarray(series.asarray()).reshape(shape)
    return data, _geometry(tif), shape[0] == 1


def _page(path: Path, page: Any) -> Any:
    try:
        return np.squeeze(page.asarray())
    except Exception as exc:
        raise VolumeReadError(path, f"a page cannot be decoded ({exc})") from exc


def _read_folder(folder: Path, progress: Progress | None, cancel: Cancel | None) -> Volume:
    files = tiff_slices(folder)
    if not files:
        raise VolumeReadError(folder, "holds no .tif or .tiff slice files")
    first_shape: tuple[int, ...] | None = None
    first_dtype: np.dtype[Any] | None = None
    geometry: Geometry = {}
    for i, f in enumerate(files):
        check(cancel, f"reading {folder.name}")
        try:
            with tifffile.TiffFile(f) as tif:
                page_shape = tuple(s for s in tif.series[0].shape if s != 1)
                page_dtype = np.dtype(tif.series[0].dtype)
                if i == 0:
                    geometry = _geometry(tif)
        except Exception as exc:
            raise VolumeReadError(f, f"is not a readable TIFF slice ({exc})") from exc
        if first_shape is None:
            first_shape, first_dtype = page_shape, page_dtype
            if len(page_shape) != 2:
                raise VolumeReadError(f, f"is not a 2D slice: its shape is {page_shape}")
        elif page_shape != first_shape or page_dtype != first_dtype:
            raise VolumeReadError(
                f,
                f"is {page_shape} {page_dtype} but the first slice {files[0].name} is "
                f"{first_shape} {first_dtype}",
            )
        report(progress, (i + 1) / len(files))
    assert first_shape is not None and first_dtype is not None
    shape = (len(files), first_shape[0], first_shape[1])

    def read_slice(z: int) -> Any:
        try:
            return np.squeeze(tifffile.imread(files[z]))
        except Exception as exc:
            raise VolumeReadError(files[z], f"cannot be decoded ({exc})") from exc

    data = SliceStack(shape, first_dtype, read_slice)
    return _volume(folder, data, geometry, len(files) == 1, {"files": len(files)})


def _volume(
    path: Path, data: VoxelArray, geometry: Geometry, two_d: bool, meta: dict[str, Any]
) -> Volume:
    spacing = list(geometry.get("spacing", [0.0, 0.0, 0.0]))
    warnings: list[str] = []
    if two_d and spacing[1] > 0 and spacing[2] > 0:
        spacing[0] = 1.0  # a radiograph has no slice spacing
    if not all(s > 0 for s in spacing):
        warnings.append("the TIFF metadata records no voxel size; assuming 1 mm (unknown)")
    return Volume(
        data=data,
        spacing_mm=tuple(spacing),
        origin_mm=tuple(geometry.get("origin", (0.0, 0.0, 0.0))),
        direction=geometry.get("direction", np.eye(3)),
        modality="DX" if two_d else "CT",
        format="tiff",
        source=str(path),
        warnings=warnings,
        metadata={**meta, "spacing_from": geometry.get("from")},
    )


def _geometry(tif: tifffile.TiffFile) -> Geometry:
    """Spacing (z, y, x) in mm (0 where unknown), origin and direction, and where from."""
    shaped = tif.shaped_metadata
    if shaped and "spacing_mm" in shaped[0]:
        meta = shaped[0]
        geo: Geometry = {"spacing": [float(v) for v in meta["spacing_mm"]], "from": "ndelab"}
        if "origin_mm" in meta:
            geo["origin"] = [float(v) for v in meta["origin_mm"]]
        if "direction" in meta:
            geo["direction"] = np.asarray(meta["direction"], dtype=np.float64).reshape(3, 3)
        return geo
    if tif.is_ome and tif.ome_metadata:
        found = _ome_spacing(tif.ome_metadata)
        if found is not None:
            return {"spacing": found, "from": "ome"}
    spacing = [0.0, 0.0, 0.0]
    source = None
    page = tif.pages.first
    ij = tif.imagej_metadata or {}
    unit = str(ij.get("unit", "")).lower()
    if ij and unit in _UNITS_MM:
        scale = _UNITS_MM[unit]
        xy = _resolution(page, 1.0)
        if xy is not None:
            spacing[1], spacing[2] = xy[0] * scale, xy[1] * scale
        if "spacing" in ij:
            spacing[0] = float(ij["spacing"]) * scale
        source = "imagej"
    else:
        unit_code = int(page.tags.valueof("ResolutionUnit", 2))
        scale_mm = {2: 25.4, 3: 10.0}.get(unit_code)
        xy = _resolution(page, scale_mm)
        if xy is not None:
            spacing[1], spacing[2] = xy
            source = "resolution tags"
    return {"spacing": spacing, "from": source}


def _resolution(page: Any, scale_mm: float | None) -> tuple[float, float] | None:
    """Pixel size (y, x) from X/YResolution (pixels per unit), times ``scale_mm`` per unit."""
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None
    out = []
    for name in ("YResolution", "XResolution"):
        num, den = tags[name].value
        per_unit = num / den if den else 0.0
        if per_unit <= 0:
            return None
        out.append((1.0 / per_unit) * (scale_mm if scale_mm is not None else 1.0))
    if scale_mm is None or (scale_mm == 25.4 and tags["XResolution"].value in ((72, 1), (96, 1))):
        return None  # no unit, or a writer's screen default: not a pixel size
    return out[0], out[1]


def _ome_spacing(xml: str) -> list[float] | None:
    pixels = re.search(r"<(?:\w+:)?Pixels\b([^>]*)>", xml)
    if pixels is None:
        return None
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', pixels.group(1)))
    out = []
    for axis in ("Z", "Y", "X"):
        value = attrs.get(f"PhysicalSize{axis}")
        unit = attrs.get(f"PhysicalSize{axis}Unit", "µm")
        scale = _UNITS_MM.get(unit.lower())
        out.append(float(value) * scale if value is not None and scale is not None else 0.0)
    return out if any(v > 0 for v in out) else None
