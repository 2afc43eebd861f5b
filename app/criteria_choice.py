"""Which acceptance criteria the window offers first for a scan (Qt-free).

The default follows the scan's modality: a radiograph (DX, CR, DR, RG, IO, or any scan of
one projection image) is read against a radiograph weld file (ISO 10675-1-like level 2, the
intermediate level), a CT volume against the aluminium casting porosity grade 2; a CT scan
of steel gets the CT weld quality level C. The material comes from the scan's DICONDE part
record, then the scan's image-quality record, where known. A criteria file the user chose
for the same kind of scan is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["radiograph", "ct"]

#: DICOM modalities of projection radiography (DX digital, CR computed, DR, RG, IO intra-oral).
RADIOGRAPH_MODALITIES = frozenset({"DX", "CR", "DR", "RG", "IO", "XR", "XRAY", "RT"})

#: (kind, material or None) -> the shipped file's name; None is the kind's default.
DEFAULTS: dict[tuple[Kind, str | None], str] = {
    ("radiograph", None): "weld-radiograph-iso10675-level-2.yaml",
    ("ct", None): "al-casting-porosity-grade-2.yaml",
    ("ct", "aluminium"): "al-casting-porosity-grade-2.yaml",
    ("ct", "steel"): "weld-level-C.yaml",
}


@dataclass(frozen=True)
class CriteriaChoice:
    path: Path | None  # None: no shipped file fits
    kind: Kind
    material: str | None
    why: str  # one sentence for the status bar


def scan_kind(modality: str | None, shape: Sequence[int] | None = None) -> Kind:
    """ "radiograph" for a projection modality or one image of shape (1, y, x), else "ct"."""
    if modality and modality.strip().upper() in RADIOGRAPH_MODALITIES:
        return "radiograph"
    if shape is not None and (len(shape) == 2 or (len(shape) == 3 and int(shape[0]) == 1)):
        return "radiograph"
    return "ct"


def material_family(text: Any) -> str | None:
    """ "aluminium" or "steel" from a material name ("A356 aluminium", "Al", "S355 steel"),
    else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    t = text.strip().lower()
    words = t.replace("-", " ").replace("_", " ").split()
    if "alumin" in t or any(w in ("al", "alu") or w.startswith("alsi") for w in words):
        return "aluminium"
    if "steel" in t or any(w in ("fe", "inox") or w.startswith("s355") for w in words):
        return "steel"
    return None


def scan_material(scan: Mapping[str, Any]) -> str | None:
    """The scan's material family: its DICONDE part record, else its image-quality record."""
    diconde = scan.get("diconde") or {}
    found = material_family(diconde.get("material")) if isinstance(diconde, Mapping) else None
    if found is None:
        record = scan.get("image_quality") or {}
        found = material_family(record.get("material")) if isinstance(record, Mapping) else None
    return found


def default_criteria(scan: Mapping[str, Any], files: Sequence[Path]) -> CriteriaChoice:
    """The criteria file among ``files`` to offer first for ``scan`` (get_scan's fields:
    modality, shape, diconde, image_quality)."""
    kind = scan_kind(scan.get("modality"), scan.get("shape"))
    material = scan_material(scan)
    by_name = {p.name: p for p in files}
    name = DEFAULTS.get((kind, material)) or DEFAULTS[(kind, None)]
    path = by_name.get(name)
    what = f"{kind}" + (f" of {material}" if material else "")
    if path is None:
        return CriteriaChoice(None, kind, material, f"no shipped criteria file for a {what}")
    return CriteriaChoice(path, kind, material, f"criteria for a {what}: {path.stem}")


def kept_or_default(default: CriteriaChoice, picked: tuple[Kind, str] | None) -> CriteriaChoice:
    """The file for a newly opened scan whose default is ``default``: the user's own
    ``picked`` (kind, path) when it was picked for the same kind of scan, else the default."""
    if picked is not None and picked[0] == default.kind:
        path = Path(picked[1])
        return CriteriaChoice(path, default.kind, default.material, f"criteria kept: {path.stem}")
    return default


def session_default(session: Any) -> CriteriaChoice:
    """A review session's default: the one read when it was opened (app.workspace), else
    read from its scan now."""
    known = getattr(session, "criteria_default", None)
    if isinstance(known, CriteriaChoice):
        return known
    from ndelab.annotation.store import get_scan
    from ndelab.app.resources_paths import criteria_files

    return default_criteria(get_scan(session.store, session.scan_id), criteria_files())
