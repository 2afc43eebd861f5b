"""Acceptance criteria files: versioned JSON or YAML, validated with one clear sentence.

    name: Al casting, porosity grade 2        # required
    version: "1.0"                            # required
    rules:                                    # required, at least one
      - class: pore                           # pore, crack, inclusion, lack-of-fusion, other,
                                              #   linear (a linear indication), any
        max_equivalent_diameter_mm: 0.5       # limits, at least one per rule:
        max_count: 10                         #   max_count, max_total_volume_fraction,
        zone: {name: sealing face, box_mm: [[0, 0, 0], [5, 40, 40]]}   # or {mask: file.npy}
        on_fail: reject                       # or rework (default reject)
      - {class: crack, forbidden: true}

Zone boxes are in mm in the scan's voxel frame (index * spacing, z y x); a zone mask is a
.npy bool array of the scan's shape, relative to the criteria file, or a name the caller
supplies at evaluation time.

Radiograph rules (2D radiographs, (1, y, x) scans; sizes in mm at the object: the pixel pitch
divided by the magnification) add an optional top-level section and more rule keys:

    radiograph:
      thickness_mm: 10                  # wall thickness t for the *_t limits (a rule's own
                                        #   thickness_mm, then the part's, come first)
      weld_axis: x                      # x, y or auto (the image's long axis)
      weld_width_mm: 12                 # denominator of the area %; else the image's width
      ignore_below_mm: 0.3              # smaller indications are ignored (and listed)
      ignore_classes: [pore, inclusion] # which classes that applies to (default these two)
      merge_closer_than_smaller: true   # two indications closer than the smaller one's size
                                        #   are sized as one
    rules:
      - {class: pore, max_size_t: 0.3, max_size_mm: 4}          # d <= 0.3 t, at most 4 mm
      - {class: pore, max_projected_area_percent: 2.5, window_mm: 100}
      - {class: pore, cluster_distance_mm: 2, max_cluster_diameter_mm: 20}
      - {class: pore, aligned_length_t: 12, max_aligned_length_t: 1, max_aligned_count: 4}

The measures themselves are in annotation.radiograph_rules.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ndelab.annotation.errors import CriteriaError
from ndelab.annotation.model import CLASSES

ANY_CLASS = "any"
LIMITS = (
    "max_equivalent_diameter_mm",
    "max_count",
    "max_total_volume_fraction",
    "min_spacing_mm",
    "forbidden",
)
#: Limits measured on a radiograph's 2D footprints (annotation.radiograph_rules).
RADIOGRAPH_LIMITS = (
    "max_size_mm",
    "max_size_t",
    "max_projected_area_percent",
    "max_cluster_diameter_mm",
    "max_cluster_area_mm2",
    "max_aligned_count",
    "max_aligned_length_mm",
    "max_aligned_length_t",
)
_WHOLE = {"max_count", "max_aligned_count", "cluster_min_count", "aligned_min_count"}
#: Settings of a radiograph rule (not limits), and the limits each one serves.
RADIOGRAPH_PARAMS: dict[str, tuple[str, ...]] = {
    "thickness_mm": ("max_size_t", "max_aligned_length_t", "aligned_length_t"),
    "weld_width_mm": ("max_projected_area_percent",),
    "window_mm": ("max_projected_area_percent",),
    "cluster_distance_mm": ("max_cluster_diameter_mm", "max_cluster_area_mm2"),
    "cluster_min_count": ("max_cluster_diameter_mm", "max_cluster_area_mm2"),
    "aligned_min_count": ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t"),
    "aligned_tolerance_mm": ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t"),
    "aligned_max_gap_mm": ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t"),
    "aligned_length_mm": ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t"),
    "aligned_length_t": ("max_aligned_count", "max_aligned_length_mm", "max_aligned_length_t"),
}
_RULE_KEYS = {
    "class",
    "zone",
    "on_fail",
    "label",
    "description",
    *LIMITS,
    *RADIOGRAPH_LIMITS,
    *RADIOGRAPH_PARAMS,
}
_TOP_KEYS = {"name", "version", "description", "rules", "standard", "notes", "radiograph"}
_RADIOGRAPH_KEYS = {
    "thickness_mm",
    "weld_axis",
    "weld_width_mm",
    "ignore_below_mm",
    "ignore_classes",
    "merge_closer_than_smaller",
}


@dataclass(frozen=True)
class Zone:
    """Where a rule applies: a box in mm, or a mask (a .npy file or a name given later)."""

    name: str
    box_mm: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    mask: str | None = None


@dataclass(frozen=True)
class RadiographSettings:
    """The top-level ``radiograph`` section: how indications are sized before the rules."""

    thickness_mm: float | None = None
    weld_axis: str = "auto"  # x, y, or auto: the image's long axis
    weld_width_mm: float | None = None
    ignore_below_mm: float | None = None
    ignore_classes: tuple[str, ...] = ("pore", "inclusion")
    merge_closer_than_smaller: bool = False


@dataclass(frozen=True)
class Rule:
    index: int  # 1-based position in the file, as a person counts
    cls: str
    limits: dict[str, float] = field(default_factory=dict)
    forbidden: bool = False
    zone: Zone | None = None
    on_fail: str = "reject"
    label: str = ""
    params: dict[str, float] = field(default_factory=dict)  # radiograph rule settings

    def applies_to(self, cls: str) -> bool:
        return self.cls in (ANY_CLASS, cls)

    @property
    def radiograph(self) -> bool:
        """True when the rule has limits measured on a radiograph's footprints."""
        return any(k in self.limits for k in RADIOGRAPH_LIMITS)

    @property
    def title(self) -> str:
        where = f" in {self.zone.name}" if self.zone else ""
        return self.label or f"rule {self.index}: {self.cls}{where}"


@dataclass(frozen=True)
class Criteria:
    name: str
    version: str
    rules: tuple[Rule, ...]
    sha256: str
    path: str
    description: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    radiograph: RadiographSettings | None = None

    @property
    def for_radiographs(self) -> bool:
        """True when the criteria size indications as a radiograph's 2D footprints."""
        return self.radiograph is not None or any(r.radiograph for r in self.rules)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "path": self.path,
        }


def _number(value: Any, path: str, where: str, key: str, *, whole: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if whole:
        ok = ok and float(value).is_integer() and value >= 0
        if not ok:
            raise CriteriaError(path, f"{where}: {key} must be a whole number ≥ 0, got {value!r}")
    elif not ok or value < 0:
        raise CriteriaError(path, f"{where}: {key} must be a number ≥ 0, got {value!r}")
    return float(value)


def _point(value: Any, path: str, where: str) -> tuple[float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise CriteriaError(path, f"{where}: box_mm corners must be [z, y, x], got {value!r}")
    z, y, x = (_signed(v, path, where) for v in value)
    return (z, y, x)


def _signed(value: Any, path: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise CriteriaError(path, f"{where}: box_mm coordinates must be numbers, got {value!r}")
    return float(value)


def _zone(value: Any, path: str, where: str, base: Path) -> Zone:
    if not isinstance(value, dict):
        raise CriteriaError(path, f"{where}: zone must be a mapping with box_mm or mask")
    unknown = set(value) - {"name", "box_mm", "mask"}
    if unknown:
        raise CriteriaError(path, f"{where}: zone has unknown key {sorted(unknown)[0]!r}")
    has_box, has_mask = "box_mm" in value, "mask" in value
    if has_box == has_mask:
        raise CriteriaError(path, f"{where}: zone needs exactly one of box_mm or mask")
    name = str(value.get("name") or (value["mask"] if has_mask else "zone"))
    if has_box:
        box = value["box_mm"]
        if not isinstance(box, list | tuple) or len(box) != 2:
            raise CriteriaError(path, f"{where}: box_mm must be [[z0, y0, x0], [z1, y1, x1]]")
        lo, hi = _point(box[0], path, where), _point(box[1], path, where)
        if any(a >= b for a, b in zip(lo, hi, strict=True)):
            raise CriteriaError(path, f"{where}: box_mm must have min < max on every axis")
        return Zone(name, box_mm=(lo, hi))
    mask = value["mask"]
    if not isinstance(mask, str) or not mask:
        raise CriteriaError(path, f"{where}: zone mask must be a file name or a zone name")
    if mask.endswith(".npy"):
        mask_path = (base / mask).resolve()
        if not mask_path.is_file():
            raise CriteriaError(path, f"{where}: zone mask file {mask_path} does not exist")
        mask = str(mask_path)
    return Zone(name, mask=mask)


def _rule(value: Any, index: int, path: str, base: Path) -> Rule:
    where = f"rule {index}"
    if not isinstance(value, dict):
        raise CriteriaError(path, f"{where} must be a mapping, not {type(value).__name__}")
    unknown = set(value) - _RULE_KEYS
    if unknown:
        raise CriteriaError(
            path,
            f"{where} has unknown key {sorted(unknown)[0]!r} "
            f"(known limits: {', '.join((*LIMITS, *RADIOGRAPH_LIMITS))})",
        )
    cls = value.get("class")
    if cls not in (*CLASSES, ANY_CLASS):
        raise CriteriaError(
            path, f"{where}: class must be one of {', '.join((*CLASSES, ANY_CLASS))}, got {cls!r}"
        )
    limits: dict[str, float] = {}
    for key in ("max_equivalent_diameter_mm", "min_spacing_mm", *RADIOGRAPH_LIMITS):
        if key in value:
            limits[key] = _number(value[key], path, where, key, whole=key in _WHOLE)
    if "max_count" in value:
        limits["max_count"] = _number(value["max_count"], path, where, "max_count", whole=True)
    params = _params(value, limits, path, where)
    if "max_total_volume_fraction" in value:
        frac = _number(value["max_total_volume_fraction"], path, where, "max_total_volume_fraction")
        if frac > 1:
            raise CriteriaError(path, f"{where}: max_total_volume_fraction must be ≤ 1, got {frac}")
        limits["max_total_volume_fraction"] = frac
    forbidden = value.get("forbidden", False)
    if not isinstance(forbidden, bool):
        raise CriteriaError(path, f"{where}: forbidden must be true or false, got {forbidden!r}")
    if not limits and not forbidden:
        raise CriteriaError(path, f"{where} sets no limit (use one of {', '.join(LIMITS)})")
    if limits.get("max_projected_area_percent", 0) > 100:
        raise CriteriaError(path, f"{where}: max_projected_area_percent must be ≤ 100")
    on_fail = value.get("on_fail", "reject")
    if on_fail not in ("reject", "rework"):
        raise CriteriaError(path, f"{where}: on_fail must be reject or rework, got {on_fail!r}")
    zone = _zone(value["zone"], path, where, base) if "zone" in value else None
    label = str(value.get("label") or value.get("description") or "")
    return Rule(index, str(cls), limits, forbidden, zone, str(on_fail), label, params)


def _params(
    value: dict[str, Any], limits: dict[str, float], path: str, where: str
) -> dict[str, float]:
    """A radiograph rule's settings; each must serve a limit the rule sets."""
    params: dict[str, float] = {}
    for key, serves in RADIOGRAPH_PARAMS.items():
        if key not in value:
            continue
        params[key] = _number(value[key], path, where, key, whole=key in _WHOLE)
        if not any(s in limits for s in serves):
            raise CriteriaError(
                path,
                f"{where}: {key} is set but none of the limits it is for ({', '.join(serves)})",
            )
    for key in ("window_mm", "weld_width_mm", "thickness_mm"):
        if params.get(key) == 0:
            raise CriteriaError(path, f"{where}: {key} must be greater than 0")
    clusters = ("max_cluster_diameter_mm", "max_cluster_area_mm2")
    if any(k in limits for k in clusters) and "cluster_distance_mm" not in params:
        raise CriteriaError(
            path, f"{where}: a cluster limit needs cluster_distance_mm (the gap that joins pores)"
        )
    if "aligned_length_mm" in params and "aligned_length_t" in params:
        raise CriteriaError(path, f"{where}: give aligned_length_mm or aligned_length_t, not both")
    return params


def _radiograph(value: Any, path: str) -> RadiographSettings:
    where = "radiograph"
    if not isinstance(value, dict):
        raise CriteriaError(path, "radiograph must be a mapping (thickness_mm, weld_axis, ...)")
    unknown = set(value) - _RADIOGRAPH_KEYS
    if unknown:
        raise CriteriaError(
            path,
            f"radiograph has unknown key {sorted(unknown)[0]!r} "
            f"(known: {', '.join(sorted(_RADIOGRAPH_KEYS))})",
        )
    numbers: dict[str, float | None] = {}
    for key in ("thickness_mm", "weld_width_mm", "ignore_below_mm"):
        numbers[key] = _number(value[key], path, where, key) if key in value else None
        if key != "ignore_below_mm" and numbers[key] == 0:
            raise CriteriaError(path, f"radiograph: {key} must be greater than 0")
    axis = value.get("weld_axis", "auto")
    if axis not in ("x", "y", "auto"):
        raise CriteriaError(path, f"radiograph: weld_axis must be x, y or auto, got {axis!r}")
    classes = value.get("ignore_classes", ["pore", "inclusion"])
    if not isinstance(classes, list) or any(c not in (*CLASSES, ANY_CLASS) for c in classes):
        raise CriteriaError(
            path,
            f"radiograph: ignore_classes must be a list of {', '.join((*CLASSES, ANY_CLASS))}",
        )
    merge = value.get("merge_closer_than_smaller", False)
    if not isinstance(merge, bool):
        raise CriteriaError(
            path, f"radiograph: merge_closer_than_smaller must be true or false, got {merge!r}"
        )
    return RadiographSettings(
        thickness_mm=numbers["thickness_mm"],
        weld_axis=str(axis),
        weld_width_mm=numbers["weld_width_mm"],
        ignore_below_mm=numbers["ignore_below_mm"],
        ignore_classes=tuple(str(c) for c in classes),
        merge_closer_than_smaller=merge,
    )


def parse_criteria(data: Any, path: str, sha256: str = "", base: Path | None = None) -> Criteria:
    """Validate an already-loaded criteria document."""
    if not isinstance(data, dict):
        raise CriteriaError(path, "acceptance criteria must be a mapping with name, version, rules")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise CriteriaError(path, f"unknown top-level key {sorted(unknown)[0]!r}")
    for key in ("name", "version"):
        if key not in data or data[key] in (None, ""):
            raise CriteriaError(path, f"the criteria need a {key}")
    if not isinstance(data["name"], str):
        raise CriteriaError(path, "name must be text")
    version = data["version"]
    if not isinstance(version, str | int | float) or isinstance(version, bool):
        raise CriteriaError(path, f"version must be text or a number, got {version!r}")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise CriteriaError(path, "the criteria need a non-empty list of rules")
    folder = base or Path(path).resolve().parent
    parsed = tuple(_rule(r, i, path, folder) for i, r in enumerate(rules, start=1))
    radiograph = _radiograph(data["radiograph"], path) if "radiograph" in data else None
    return Criteria(
        name=data["name"],
        version=str(version),
        rules=parsed,
        sha256=sha256,
        path=path,
        description=str(data.get("description") or ""),
        document=data,
        radiograph=radiograph,
    )


def load_criteria(path: str | Path) -> Criteria:
    """Read and validate a .json, .yaml or .yml criteria file."""
    p = Path(path)
    name = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CriteriaError(name, "the criteria file does not exist") from None
    except OSError as e:
        raise CriteriaError(name, f"the criteria file cannot be read ({e.strerror})") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CriteriaError(name, f"the criteria file is not UTF-8 text (byte {e.start})") from e
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise CriteriaError(name, f"invalid JSON at line {e.lineno}: {e.msg}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "syntax error"
        raise CriteriaError(name, f"invalid YAML{line}: {problem}") from e
    return parse_criteria(data, name, hashlib.sha256(raw).hexdigest(), p.resolve().parent)
