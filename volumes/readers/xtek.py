"""Nikon Metrology (X-Tek) CT Pro 3D reconstructions: ``<name>.vol`` beside ``<name>.xtekVolume``.

The header is INI text (``.xtekVolume``; the scan's ``.xtekct`` holds the same keys). Its
``[XTekCT]`` section gives ``VoxelsX/Y/Z`` (voxels), ``VoxelSizeX/Y/Z`` in ``Units`` (mm),
``OffsetX/Y/Z``, ``Name``, and the value scaling (``Scaling``, ``OutputUnits``); ``[CTPro]``
gives ``Scaling_DataTypeVolume``. The ``.vol`` is headerless little-endian voxels, x fastest,
then y, then z: C order (z, y, x).

No vendor specification is public; what this relies on, read but not copied:
- Key and section names: public scripts that read ``.xtekVolume`` files with ConfigParser
  (``config['XTekCT']['VoxelsX']``, ``VoxelSizeX``, ``OffsetX``, ``Units``, ``Name``), CCPi's
  XtekReader and CIL's NikonDataReader (the ``.xtekct`` keys), and a published ``.xtekct``
  template whose ``[CTPro]`` section has ``Scaling_DataTypeVolume=Float`` and
  ``Scaling_Units=InverseMetres``, with ``OutputType=0`` in ``[XTekCT]``.
- Axis and byte order: CT Pro writes a Volume Graphics ``.vgi`` beside the ``.vol`` for VGStudio
  (``size = VoxelsX VoxelsY VoxelsZ``, read x fastest, see ``vgi.py``); no public reader of the
  ``.vol`` itself was found. Little-endian because CT Pro runs on Windows (x86).

The voxel type: 32-bit float by default. A ``.vgi`` beside the volume says exactly what it
holds and wins. Otherwise ``Scaling_DataTypeVolume``: only ``Float`` is confirmed; other values
that name 16 or 8 bits are taken as unsigned and the file must then match exactly. With
neither, the file size decides among 4 (float32), 2 and 1 bytes per voxel, with a warning for
the last two. The offsets and value units go to the metadata; the origin stays at zero because
the meaning of ``OffsetX/Y/Z`` (the volume centre relative to the rotation axis, it seems) is not
confirmed.
"""

from __future__ import annotations

import contextlib
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
)
from ndelab.volumes.readers.vgi import parse_vgi
from ndelab.volumes.volume import Volume, as_vec3

WHAT = "Nikon CT Pro header"
_XTEK = "xtekct"
_FLOAT32 = np.dtype("<f4")
_BY_ITEMSIZE: dict[int, np.dtype[Any]] = {4: _FLOAT32, 2: np.dtype("<u2"), 1: np.dtype("u1")}
_UNITS = {"mm": 1.0, "um": 1e-3, "µm": 1e-3, "micron": 1e-3, "cm": 10.0, "m": 1000.0}
_UNITS |= {"in": 25.4, "inch": 25.4, "inches": 25.4}


def _size(path: Path, sections: Sections) -> tuple[int, int, int]:
    """Voxels along (x, y, z)."""
    return voxel_counts(path, sections, ("VoxelsX", "VoxelsY", "VoxelsZ"), _XTEK, WHAT)


def _data_file(path: Path) -> Path:
    for suffix in (".vol", ".raw"):
        found = find_beside(path.parent, f"{path.stem}{suffix}")
        if found is not None:
            return found
    if path.suffix.lower() == ".xtekct":
        raise VolumeReadError(
            path,
            f"no reconstructed volume '{path.stem}.vol' is beside this scan file "
            "(ndelab opens CT Pro reconstructions, not projections)",
        )
    raise VolumeReadError(path, f"no '{path.stem}.vol' volume file is beside the header")


def _vgi_type(path: Path) -> tuple[np.dtype[Any], str] | None:
    """The voxel type the ``.vgi`` beside the header gives, if there is one that says."""
    vgi = find_beside(path.parent, f"{path.stem}.vgi")
    if vgi is None:
        return None
    try:
        sections = parse_vgi(vgi.read_bytes().decode("latin-1"))
    except OSError:
        return None
    found: dict[str, str] = {}
    for keys in sections.values():
        for key in ("datatype", "bitsperelement"):
            if key in keys:
                found.setdefault(key, keys[key].lower())
    kind, bits = found.get("datatype", "unsigned integer"), found.get("bitsperelement")
    if bits not in ("8", "16", "32"):
        return None
    letter = "f" if "float" in kind else "u" if "unsigned" in kind else "i"
    if letter == "f" and bits != "32":
        return None
    return np.dtype(f"<{letter}{int(bits) // 8}"), vgi.name


def _declared_type(path: Path, sections: Sections) -> tuple[np.dtype[Any], str, bool] | None:
    """(type, where it was said, whether the file must match exactly), if anything says."""
    from_vgi = _vgi_type(path)
    if from_vgi is not None:
        return from_vgi[0], from_vgi[1], False
    text = find_value(sections, "scaling_datatypevolume", ("ctpro",))
    if text is None:
        return None
    word = text.lower().replace(" ", "")
    if "float" in word or "single" in word or "32" in word:
        return _FLOAT32, "Scaling_DataTypeVolume", False
    if "16" in word or "short" in word or "word" in word:
        return np.dtype("<u2"), "Scaling_DataTypeVolume", True
    if "8" in word or "byte" in word or "char" in word:
        return np.dtype("u1"), "Scaling_DataTypeVolume", True
    raise VolumeReadError(
        path,
        f"Scaling_DataTypeVolume '{text}' is not a voxel type ndelab knows (Float, 16 or 8 bit)",
    )


def _voxel_type(
    path: Path, sections: Sections, data: Path, voxels: int
) -> tuple[np.dtype[Any], bool, str, list[str]]:
    """The voxel type, whether the size must match exactly, what said so, and warnings."""
    declared = _declared_type(path, sections)
    if declared is not None:
        return declared[0], declared[2], declared[1], []
    size = data.stat().st_size
    per_voxel = size // voxels if size % voxels == 0 else 0
    if per_voxel == 4:
        return _FLOAT32, True, "CT Pro's default", []
    if per_voxel in (2, 1):
        kind = "16-bit" if per_voxel == 2 else "8-bit"
        note = (
            f"the header names no voxel type and {data.name} holds {per_voxel} bytes per voxel; "
            f"read as {kind} unsigned"
        )
        return _BY_ITEMSIZE[per_voxel], True, "file size", [note]
    raise VolumeReadError(
        path,
        f"expected {fmt_bytes(voxels * 4)} bytes of 32-bit float voxels (CT Pro's default) in "
        f"{data.name}, found {fmt_bytes(size)}, which fits no 8, 16 or 32-bit volume of this size",
    )


def _spacing(path: Path, sections: Sections) -> tuple[tuple[float, float, float], list[str]]:
    """Voxel size (x, y, z) in mm."""
    texts = [find_value(sections, f"voxelsize{a}", (_XTEK,)) for a in "xyz"]
    if texts[0] is None:
        return (0.0, 0.0, 0.0), missing_spacing_note("the CT Pro header (VoxelSizeX)")
    # A missing Y or Z is taken as X's (isotropic, as in every public example).
    x = header_number(path, texts[0], "VoxelSizeX")
    y = header_number(path, texts[1], "VoxelSizeY") if texts[1] else x
    z = header_number(path, texts[2], "VoxelSizeZ") if texts[2] else x
    unit_text = find_value(sections, "units", (_XTEK,)) or "mm"
    scale = _UNITS.get(unit_text.strip().lower())
    warnings = []
    if scale is None:
        warnings.append(f"unknown length unit '{unit_text}'; taking the voxel size as mm")
        scale = 1.0
    xyz = (x * scale, y * scale, z * scale)
    return xyz, warnings + spacing_note(xyz, "the CT Pro header")


def _extras(sections: Sections) -> dict[str, Any]:
    """What else the header says that a user may want: offsets, name, value units."""
    keys = sections.get(_XTEK, {})
    extras: dict[str, Any] = {}
    with contextlib.suppress(KeyError, ValueError):  # absent or odd: the offsets are optional
        extras["offset_xyz"] = tuple(float(keys[f"offset{a}"]) for a in "xyz")
    for key, name in (("name", "name"), ("outputunits", "value_units"), ("scaling", "scaling")):
        if keys.get(key):
            extras[name] = keys[key]
    return extras


def read_xtek(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    check(cancel, f"reading {path.name}")
    sections = read_ini(path, WHAT)
    x, y, z = _size(path, sections)
    check_shape(path, (z, y, x))
    data_path = _data_file(path)
    dtype, exact, said_by, warnings = _voxel_type(path, sections, data_path, x * y * z)
    size = data_path.stat().st_size
    if exact and size != x * y * z * dtype.itemsize:
        raise VolumeReadError(
            path,
            f"{data_path.name} should hold exactly {fmt_bytes(x * y * z * dtype.itemsize)} bytes "
            f"of {dtype.itemsize * 8}-bit voxels, but it holds {fmt_bytes(size)}",
        )
    data = map_payload(path, data_path, dtype, (z, y, x), 0)
    spacing_xyz, notes = _spacing(path, sections)
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=as_vec3(spacing_xyz[::-1]),
        format="xtek",
        source=str(path),
        warnings=warnings + notes,
        metadata={
            "data_file": str(data_path),
            "voxel_type_from": said_by,
            **_extras(sections),
            "header": sections,
        },
    )
