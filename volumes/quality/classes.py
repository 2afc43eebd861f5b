"""The image quality class table: what ISO 17636-2 class A or B asks of a radiograph of a
given material and penetrated thickness (the shipped file holds example values)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.tables import SINGLE_WIRES_MM

TABLE_NAME = "iso17636-2-snrn.yaml"
MATERIAL_ALIASES = {"aluminum": "aluminium", "al": "aluminium", "fe": "steel"}


def default_table_path() -> Path:
    import ndelab.resources

    return Path(ndelab.resources.__file__).resolve().parent / "quality" / TABLE_NAME


@dataclass(frozen=True)
class Requirement:
    """One row of the table: the limits for a class, material and thickness."""

    image_class: str
    material: str
    thickness_mm: float
    max_srb_um: float
    min_snrn: float
    min_wire: str | None
    table: str
    status: str

    @property
    def where(self) -> str:
        """How a sentence names the row: "class B at 10 mm steel"."""
        return f"class {self.image_class} at {self.thickness_mm:g} mm {self.material}"

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.image_class,
            "material": self.material,
            "thickness_mm": self.thickness_mm,
            "max_srb_um": self.max_srb_um,
            "min_snrn": self.min_snrn,
            "min_wire": self.min_wire,
            "table": self.table,
            "status": self.status,
        }


def load_table(path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The parsed table and its path (the shipped example table when ``path`` is None)."""
    p = Path(path) if path is not None else default_table_path()
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{p}: the class table cannot be read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{p}: the class table is not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict):
        raise UsageError(f"{p}: the class table has no 'classes' mapping")
    return doc, str(p)


def requirement(
    image_class: str,
    material: str,
    thickness_mm: float,
    table: str | Path | None = None,
) -> Requirement:
    """The row of the table for ``image_class`` (A or B), ``material`` and ``thickness_mm``."""
    doc, where = load_table(table)
    classes: dict[str, Any] = doc["classes"]
    cls = image_class.strip().upper()
    if cls not in classes:
        raise UsageError(
            f"image quality class {image_class!r} is not in {where}: use {', '.join(classes)}"
        )
    mat = MATERIAL_ALIASES.get(material.strip().lower(), material.strip().lower())
    rows = classes[cls].get(mat) if isinstance(classes[cls], dict) else None
    if not isinstance(rows, list) or not rows:
        known = ", ".join(classes[cls]) if isinstance(classes[cls], dict) else "none"
        raise UsageError(f"material {material!r} has no class {cls} rows in {where}: use {known}")
    if not thickness_mm > 0:
        raise UsageError(f"penetrated thickness {thickness_mm} mm must be positive")
    try:
        ordered = sorted(rows, key=lambda r: float(r["up_to_mm"]))
        row = next((r for r in ordered if thickness_mm <= float(r["up_to_mm"])), None)
        if row is None:
            top = float(ordered[-1]["up_to_mm"])
            raise UsageError(
                f"{thickness_mm:g} mm {mat} is thicker than the class {cls} rows of {where} "
                f"cover (up to {top:g} mm)"
            )
        wire = row.get("min_wire")
        if wire is not None and wire not in SINGLE_WIRES_MM:
            raise UsageError(f"{where}: min_wire {wire!r} is not a wire W1-W19")
        return Requirement(
            image_class=cls,
            material=mat,
            thickness_mm=float(thickness_mm),
            max_srb_um=float(row["max_srb_um"]),
            min_snrn=float(row["min_snrn"]),
            min_wire=None if wire is None else str(wire),
            table=where,
            status=str(doc.get("status", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: a class {cls} {mat} row is malformed ({exc})") from exc
