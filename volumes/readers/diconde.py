"""DICONDE (ASTM E2339 and its modality practices): the component a scan shows.

DICONDE reuses DICOM attributes with NDE meanings (the Patient module describes the component,
Patient's Name is the Component Name) and adds NDE attributes. Since the DICOM 2011 edition those
additions are public tags in group 0x0014. Older editions wrote them as private elements under
creators such as "astm.org/diconde/iod/Component"; the element offsets there match the low byte
of today's public (0014,00xx) tags. Both forms are read; a public tag wins over its legacy twin.

Medical files reuse the same Patient-module tags for people, so the reused tags are only read
as component information once a file shows a DICONDE marker (a group 0x0014 NDE tag or a legacy
DICONDE private creator): patient names stay out of ndelab's metadata.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

# Tags reused from DICOM modules with their DICONDE meaning (ASTM E2339 Component module and
# the General Study / Series modules).
_REUSED: dict[int, str] = {
    0x00100010: "component_name",
    0x00100020: "component_id",
    0x00100030: "component_manufacturing_date",
    0x00101000: "other_component_ids",
    0x00101001: "other_component_names",
    0x00102160: "material",
    0x00104000: "component_notes",
    0x00080080: "company_name",
    0x00080090: "component_owner",
    0x00081048: "inspecting_company",
    0x00081050: "inspector",
    0x00081060: "certifying_inspector",
    0x00181008: "scanner_id",
    0x00324000: "examination_notes",
}

# NDE attributes that are public DICOM tags since 2011 (group 0x0014).
_PUBLIC: dict[int, str] = {
    0x00140023: "cad_file_format",
    0x00140024: "component_reference_system",
    0x00140025: "component_manufacturing_procedure",
    0x00140028: "component_manufacturer",
    0x00140030: "material_thickness",
    0x00140032: "material_pipe_diameter",
    0x00140034: "material_isolation_diameter",
    0x00140042: "material_grade",
    0x00140044: "material_properties",
    0x00140045: "material_properties_file_format",
    0x00140046: "material_notes",
    0x00140050: "component_shape",
    0x00140052: "curvature_type",
    0x00140054: "outer_diameter",
    0x00140056: "inner_diameter",
    0x00140100: "component_welder_ids",
    0x00141010: "actual_environmental_conditions",
    0x00141020: "expiry_date",
    0x00141040: "environmental_conditions",
}

_LEGACY_PREFIX = "astm.org/diconde/"

# Legacy private elements: (group, creator) -> {offset in the creator's block: field}.
# Source: the DICONDE 1.0 private dictionary as distributed with DCMTK (diconde.dic).
_LEGACY: dict[tuple[int, str], dict[int, str]] = {
    (0x0009, "astm.org/diconde/iod/ComponentStudy"): {0x20: "expiry_date"},
    (0x0009, "astm.org/diconde/iod/ComponentSeries"): {
        0x10: "actual_environmental_conditions",
        0x40: "environmental_conditions",
    },
    (0x0009, "astm.org/diconde/iod/NdeCTImage"): {0x02: "linac_energy", 0x04: "linac_output"},
    (0x0011, "astm.org/diconde/iod/Component"): {
        0x23: "cad_file_format",
        0x24: "component_reference_system",
        0x25: "component_manufacturing_procedure",
        0x28: "component_manufacturer",
        0x30: "material_thickness",
        0x32: "material_pipe_diameter",
        0x34: "material_isolation_diameter",
        0x42: "material_grade",
        0x44: "material_properties",
        0x45: "material_properties_file_format",
        0x46: "material_notes",
        0x50: "component_shape",
        0x52: "curvature_type",
        0x54: "outer_diameter",
        0x56: "inner_diameter",
    },
}

_NUMERIC = {
    "material_thickness",
    "material_pipe_diameter",
    "material_isolation_diameter",
    "outer_diameter",
    "inner_diameter",
    "linac_energy",
    "linac_output",
}
_DATES = {"component_manufacturing_date", "expiry_date"}


def diconde_info(ds: Dataset) -> dict[str, Any]:
    """The DICONDE component information of ``ds``, only the fields present.

    Empty when the data set carries no DICONDE marker. ``legacy_private`` is True when some
    field came from the pre-2011 private elements.
    """
    public = {name: ds[tag].value for tag, name in _PUBLIC.items() if _has_value(ds, tag)}
    legacy = _legacy_values(ds)
    if not public and not legacy and not _has_legacy_creator(ds):
        return {}
    raw: dict[str, Any] = {
        name: ds[tag].value for tag, name in _REUSED.items() if _has_value(ds, tag)
    }
    raw.update({k: v for k, v in legacy.items() if k not in public})
    raw.update(public)
    info = {name: _clean(name, value) for name, value in raw.items()}
    info = {k: v for k, v in info.items() if v not in ("", [], None)}
    if legacy:
        info["legacy_private"] = True
    return info


def _has_value(ds: Dataset, tag: int) -> bool:
    return tag in ds and ds[tag].value not in (None, "", b"")


def _has_legacy_creator(ds: Dataset) -> bool:
    for elem in ds:
        if elem.tag.is_private_creator and isinstance(elem.value, str | bytes):
            text = elem.value.decode("latin-1") if isinstance(elem.value, bytes) else elem.value
            if text.strip().startswith(_LEGACY_PREFIX):
                return True
    return False


def _legacy_values(ds: Dataset) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for (group, creator), fields in _LEGACY.items():
        try:
            block = ds.private_block(group, creator)
        except KeyError:
            continue
        for offset, name in fields.items():
            if offset in block:
                value = block[offset].value
                if value not in (None, "", b""):
                    found[name] = value
    return found


def _clean(name: str, value: Any) -> Any:
    """Plain Python values; legacy private elements often arrive as undecoded bytes (UN)."""
    if isinstance(value, bytes):
        value = value.decode("latin-1").rstrip("\x00 ").strip()
        parts = value.split("\\")
        value = parts if len(parts) > 1 else parts[0]
    if isinstance(value, MultiValue | list | tuple):
        items = [_scalar(name, v) for v in value]
        return items[0] if len(items) == 1 else items
    return _scalar(name, value)


def _scalar(name: str, value: Any) -> Any:
    if name in _NUMERIC:
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value).strip()
    text = str(value).strip()
    if name in _DATES and re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text
