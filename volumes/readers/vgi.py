"""Volume Graphics .vgi headers with their raw data file (.raw, .vol, .uint16_scv, ...).

The header is INI-like: ``{volume1}`` blocks hold ``[section]`` parts of ``key = value``
lines; keys are case-insensitive and the same key can appear in several sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import (
    map_payload,
    missing_spacing_note,
    require_file,
    spacing_note,
    zyx,
)
from ndelab.volumes.readers._sidecar import header_text
from ndelab.volumes.volume import Volume, as_vec3

Sections = dict[str, dict[str, str]]

_TYPES = {
    ("unsigned integer", 8): np.uint8,
    ("unsigned integer", 16): np.uint16,
    ("unsigned integer", 32): np.uint32,
    ("signed integer", 8): np.int8,
    ("signed integer", 16): np.int16,
    ("signed integer", 32): np.int32,
    ("float", 32): np.float32,
    ("float", 64): np.float64,
}


def parse_vgi(text: str) -> Sections:
    """Sections keyed "block/section" (lower case), each a dict of lower-case keys."""
    sections: Sections = {}
    block, section = "", ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("{") and line.endswith("}"):
            block, section = line[1:-1].strip().lower(), ""
        elif line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
        elif "=" in line:
            key, _, value = line.partition("=")
            sections.setdefault(f"{block}/{section}", {})[key.strip().lower()] = value.strip()
    return sections


def _find(sections: Sections, key: str, prefer: tuple[str, ...] = ()) -> str | None:
    """First value of ``key``, looking in sections named in ``prefer`` first."""
    names = sorted(sections, key=lambda n: 0 if n.split("/")[1] in prefer else 1)
    for name in names:
        if key in sections[name]:
            return sections[name][key]
    return None


def _floats(path: Path, text: str, key: str, count: int) -> list[float]:
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError as exc:
        raise VolumeReadError(
            path, f"the header's {key} '{text}' is not a list of numbers"
        ) from exc
    if len(values) == 1 and count == 3:
        values *= 3
    if len(values) < count:
        raise VolumeReadError(path, f"the header's {key} '{text}' needs {count} numbers")
    return values[:count]


def _dtype(path: Path, sections: Sections) -> np.dtype[Any]:
    kind = (_find(sections, "datatype", ("representation", "file1")) or "unsigned integer").lower()
    bits_text = _find(sections, "bitsperelement", ("representation", "file1"))
    if bits_text is None:
        raise VolumeReadError(path, "the header gives no BitsPerElement")
    try:
        bits = int(bits_text)
    except ValueError as exc:
        raise VolumeReadError(path, f"BitsPerElement '{bits_text}' is not a number") from exc
    kind = "float" if "float" in kind else "signed integer" if "signed" in kind[:6] else kind
    found = _TYPES.get((kind, bits))
    if found is None:
        raise VolumeReadError(path, f"the data type '{kind}' with {bits} bits is not supported")
    return np.dtype(found).newbyteorder("<") if bits > 8 else np.dtype(found)


def _data_file(path: Path, name: str | None) -> tuple[Path, list[str]]:
    """The data file the header names, else the one beside it with the same stem."""
    if name:
        named = Path(name.strip().strip('"'))
        candidate = named if named.is_absolute() else path.parent / named
        if candidate.is_file():
            return candidate, []
    siblings = sorted(
        p
        for p in path.parent.glob(f"{path.stem}.*")
        if p.is_file() and p.suffix.lower() != ".vgi" and p != path
    )
    if not siblings:
        said = f"names '{name}', which" if name else "names no data file and"
        raise VolumeReadError(
            path, f"the header {said} does not exist, and no '{path.stem}.*' data file is beside it"
        )
    chosen = siblings[0]
    why = f"the data file '{name}' it names does not exist" if name else "it names no data file"
    return chosen, [f"{why}; read {chosen.name} beside the header instead"]


def read_vgi(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    text = header_text(path)
    if "\x00" in text[:4096]:
        raise VolumeReadError(path, "is not a Volume Graphics .vgi text header")
    sections = parse_vgi(text)
    size_text = _find(sections, "size", ("representation", "file1"))
    if size_text is None:
        raise VolumeReadError(path, "is not a usable .vgi header: it gives no 'size = X Y Z'")
    xyz = [int(v) for v in _floats(path, size_text, "size", 3)]
    dtype = _dtype(path, sections)
    skip_text = _find(sections, "skipheader", ("file1",)) or "0"
    try:
        skip = int(skip_text)
    except ValueError as exc:
        raise VolumeReadError(path, f"SkipHeader '{skip_text}' is not a number") from exc
    data_path, warnings = _data_file(path, _find(sections, "name", ("file1",)))
    data = map_payload(path, data_path, dtype, (xyz[2], xyz[1], xyz[0]), skip)

    res = _find(sections, "resolution", ("geometry",)) or _find(sections, "scale", ("geometry",))
    if res is None:
        spacing: tuple[float, float, float] = (0.0, 0.0, 0.0)
        warnings += missing_spacing_note("the .vgi header")
    else:
        spacing = zyx(_floats(path, res, "resolution", 3))
        warnings += spacing_note(spacing, "the .vgi header")
    unit = (_find(sections, "unit", ("geometry",)) or "mm").lower()
    scale = {"mm": 1.0, "um": 1e-3, "µm": 1e-3, "cm": 10.0, "m": 1000.0}.get(unit)
    if scale is None:
        warnings.append(f"unknown length unit '{unit}'; taking the resolution as mm")
        scale = 1.0
    report(progress, 1.0)
    return Volume(
        data=data,
        spacing_mm=as_vec3([s * scale for s in spacing]),
        format="vgi",
        source=str(path),
        warnings=warnings,
        metadata={"data_file": str(data_path), "header": sections},
    )
