"""GE / Waygate phoenix datos|x reconstructions: a ``.pcr`` text header beside a ``.vol`` volume.

The ``.pcr`` is INI text. Its ``[VolumeData]`` section holds ``Volume_SizeX/Y/Z`` (voxels),
``Format`` (a voxel type code), ``VoxelSizeRec`` (mm, isotropic), ``VOL_File`` (the volume's
path as written on the scanner PC) and ``Min``/``Max``. The ``.vol`` is headerless,
little-endian voxels, x fastest, then y, then z: C order (z, y, x).

No vendor specification is public; this follows public readers, read but not copied:
- GEVolImport (github chz31/GEVolImport, and its later version in SlicerMorph): the key names
  above, Format 5 = uint16 and 10 = float32; it writes a NRRD header with ``sizes: X Y Z``,
  ``endian: little`` and no byte skip, which is the axis order and byte order used here.
- pi2's ``pcr.cpp`` (Arttu Miettinen): the same keys from ``[VolumeData]``, Format 5 = uint16,
  and the data file search: ``VOL_File``'s name beside the header, the path itself, then
  ``<header stem>.vol``.
- a MATLAB GE reader (readPCRFile / readAndScale_GEVolFile): reads uint16, reshapes to
  ``[X, Y, Z]`` in column order (x fastest) and keeps ``Min``/``Max`` from ``[VolumeData]``.

Unconfirmed: the 8-bit code. The first GEVolImport took Format 3 as uint8, the SlicerMorph
version takes 1; both are read as uint8 here, but only when the file holds exactly one byte per
voxel, so a wrong guess fails with a clear sentence instead of showing garbage. Units are mm
(no unit key is known). ``Min``/``Max`` go to the metadata; the values are not rescaled.
Without ``VoxelSizeRec`` the voxel size comes, with a warning, from ``VoxelSizeX/Y/Z`` or
``VoxelSize`` in the header, else from the acquisition's ``.pca`` (``[Geometry] VoxelSizeX``, as
SlicerMorph's GEVolImport and a public GE scan-catalogue script read it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import VolumeReadError, fmt_bytes
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import (
    check_shape,
    map_payload,
    missing_spacing_note,
    spacing_note,
)
from ndelab.volumes.readers._sidecar import (
    Sections,
    find_beside,
    find_value,
    header_number,
    read_ini,
    voxel_counts,
    windows_name,
)
from ndelab.volumes.volume import Volume, as_vec3

WHAT = "phoenix datos|x .pcr header"
_VD = "volumedata"

# Format code -> (voxel type, whether the file must hold exactly that many bytes).
_VOXEL_TYPES: dict[int, tuple[np.dtype[Any], bool]] = {
    5: (np.dtype("<u2"), False),
    10: (np.dtype("<f4"), False),
    1: (np.dtype("u1"), True),  # 8-bit: public readers disagree on the code (1 or 3)
    3: (np.dtype("u1"), True),
}
_KNOWN = "1 or 3 = 8-bit unsigned, 5 = 16-bit unsigned, 10 = 32-bit float"


def _size(path: Path, sections: Sections) -> tuple[int, int, int]:
    """Voxels along (x, y, z)."""
    keys = ("Volume_SizeX", "Volume_SizeY", "Volume_SizeZ")
    return voxel_counts(path, sections, keys, _VD, WHAT)


def _data_file(path: Path, sections: Sections) -> tuple[Path, list[str]]:
    named = sections.get(_VD, {}).get("vol_file")
    if named:
        beside = find_beside(path.parent, windows_name(named))
        if beside is not None:
            return beside, []
        as_written = Path(named.strip().strip('"'))
        as_written = as_written if as_written.is_absolute() else path.parent / as_written
        if as_written.is_file():
            return as_written, []
    own = find_beside(path.parent, f"{path.stem}.vol")
    if own is None:
        said = (
            f"names the volume file '{named}' (VOL_File), which is not beside it, and"
            if named
            else "names no volume file (VOL_File) and"
        )
        raise VolumeReadError(path, f"the header {said} no '{path.stem}.vol' is beside it")
    if not named:
        return own, []
    return own, [
        f"the volume file '{named}' that VOL_File names is not beside the header; "
        f"read {own.name} beside it instead"
    ]


def _voxel_type(path: Path, sections: Sections, data: Path, voxels: int) -> tuple[int, Any, bool]:
    text = sections.get(_VD, {}).get("format")
    if text is None:
        raise VolumeReadError(path, "the header gives no voxel type (Format in [VolumeData])")
    code = int(header_number(path, text, "Format", whole=True))
    if code not in _VOXEL_TYPES:
        size = data.stat().st_size
        hint = (
            f"; {data.name} holds {size // voxels} bytes per voxel"
            if voxels and size % voxels == 0
            else ""
        )
        raise VolumeReadError(
            path, f"Format {code} is not a voxel type ndelab knows ({_KNOWN}){hint}"
        )
    dtype, exact = _VOXEL_TYPES[code]
    return code, dtype, exact


def _xyz_spacing(sections: Sections) -> tuple[tuple[float, float, float], str] | None:
    """VoxelSizeX/Y/Z, or VoxelSizeX or VoxelSize alone as isotropic, with where it was found."""
    for name in sorted(sections, key=lambda n: n != _VD):
        keys = sections[name]
        try:
            if all(f"voxelsize{a}" in keys for a in "xyz"):
                xyz = tuple(float(keys[f"voxelsize{a}"].replace(",", ".")) for a in "xyz")
                return (xyz[0], xyz[1], xyz[2]), f"[{name}] VoxelSizeX/Y/Z"
            for key in ("voxelsizex", "voxelsize"):
                if key in keys:
                    v = float(keys[key].replace(",", "."))
                    return (v, v, v), f"[{name}] {key}"
        except ValueError:
            continue
    return None


def _pca(path: Path, sections: Sections) -> Path | None:
    """The acquisition header (.pca) beside the .pcr, if any."""
    named = find_value(sections, "pca_file", ("imagedata",))
    if named:
        found = find_beside(path.parent, windows_name(named))
        if found is not None:
            return found
    return find_beside(path.parent, f"{path.stem}.pca")


def _spacing(path: Path, sections: Sections) -> tuple[tuple[float, float, float], list[str]]:
    """Voxel size (x, y, z) in mm, with a warning when it is not the reconstruction's own."""
    rec = sections.get(_VD, {}).get("voxelsizerec")
    if rec is not None:
        v = header_number(path, rec, "VoxelSizeRec")
        return (v, v, v), spacing_note((v, v, v), "the .pcr header")
    found = _xyz_spacing(sections)
    where = path.name
    pca = _pca(path, sections) if found is None else None
    if pca is not None:
        try:
            found, where = _xyz_spacing(read_ini(pca, "phoenix datos|x .pca header")), pca.name
        except VolumeReadError:  # an unreadable .pca only costs the voxel size
            found = None
    if found is None:
        return (0.0, 0.0, 0.0), missing_spacing_note("the .pcr header (VoxelSizeRec)")
    xyz, key = found
    note = f"the .pcr header gives no VoxelSizeRec; took the voxel size from {where} {key}"
    return xyz, [note, *spacing_note(xyz, where)]


def _value_range(sections: Sections) -> tuple[float, float] | None:
    keys = sections.get(_VD, {})
    try:
        return float(keys["min"].replace(",", ".")), float(keys["max"].replace(",", "."))
    except (KeyError, ValueError):
        return None


def read_pcr(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    check(cancel, f"reading {path.name}")
    sections = read_ini(path, WHAT)
    x, y, z = _size(path, sections)
    check_shape(path, (z, y, x))
    data_path, warnings = _data_file(path, sections)
    code, dtype, exact = _voxel_type(path, sections, data_path, x * y * z)
    size = data_path.stat().st_size
    expected = x * y * z * dtype.itemsize
    if exact and size != expected:
        raise VolumeReadError(
            path,
            f"Format {code} is read as 8-bit, so {data_path.name} should hold exactly "
            f"{fmt_bytes(x * y * z)} bytes, but it holds {fmt_bytes(size)}",
        )
    if size > expected:  # a wrong Format code shows garbage: say the sizes disagree
        warnings.append(
            f"{data_path.name} holds {fmt_bytes(size)} bytes, more than the"
            f" {fmt_bytes(expected)} bytes the header's size and Format {code} need; the values"
            " may be misread"
        )
    data = map_payload(path, data_path, dtype, (z, y, x), 0)
    spacing_xyz, notes = _spacing(path, sections)
    warnings += notes
    metadata: dict[str, Any] = {
        "data_file": str(data_path),
        "voxel_type_code": code,
        "header": sections,
    }
    value_range = _value_range(sections)
    if value_range is not None:
        metadata["value_range"] = value_range
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=as_vec3(spacing_xyz[::-1]),
        format="pcr",
        source=str(path),
        warnings=warnings,
        metadata=metadata,
    )
