"""Sentencing a scan against acceptance criteria: verdict, per-rule reasons, nearness.

Only reviewed calls (accepted or corrected) count toward the verdict. Nearness (for sorting
the review queue) treats every call not rejected as if it were accepted.

Criteria for radiographs (criteria.for_radiographs) first size the calls as 2D footprints,
merge the close ones and set aside the small ones (annotation.radiograph_rules); every rule
then sees the kept indications, and the result lists what was merged and what was ignored.
Every check carries a one-sentence ``message``: the rule, the measured figure and the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import measure, radiograph_rules
from ndelab.annotation.criteria import RADIOGRAPH_LIMITS, Criteria, Rule, Zone
from ndelab.annotation.errors import CriteriaError, ReviewError
from ndelab.annotation.footprint import Footprint, footprint
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import REJECTED, REVIEWED_COUNTED

#: Nearness of a call that no limit allows at all (a forbidden class): far past any ratio.
FORBIDDEN_NEARNESS = 100.0
_UNITS = {
    "max_equivalent_diameter_mm": "mm",
    "max_count": "count",
    "max_total_volume_fraction": "fraction",
    "min_spacing_mm": "mm",
    "forbidden": "count",
    **radiograph_rules.UNITS,
}
#: What each check measures, for the sentence of a reason.
_WHAT = {
    "max_equivalent_diameter_mm": "the largest equivalent diameter",
    "max_count": "the count",
    "max_total_volume_fraction": "the total volume fraction",
    "min_spacing_mm": "the smallest spacing",
    "forbidden": "the count of a forbidden class",
    "max_size": "the largest indication",
    "max_projected_area_percent": "the projected pore area in the worst window",
    "max_cluster_diameter_mm": "the largest cluster envelope diameter",
    "max_cluster_area_mm2": "the largest cluster envelope area",
    "max_aligned_count": "the count of aligned indications",
    "max_aligned_length": "the total length of aligned indications",
}


@dataclass(frozen=True)
class CallFacts:
    """What the evaluation needs of one call."""

    id: str
    cls: str
    status: str
    volume_mm3: float
    equivalent_diameter_mm: float
    mask: SparseMask


@dataclass(frozen=True)
class ScanFacts:
    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    part_volume_mm3: float | None = None
    # Radiographs: the geometric magnification (spacing / magnification = size at the object)
    # and the part's wall thickness where the caller or the part record knows it.
    magnification: float = 1.0
    thickness_mm: float | None = None
    thickness_from: str = "the part"


class _Zones:
    """Zone membership and zone volumes, with zone masks loaded once."""

    def __init__(
        self, scan: ScanFacts, criteria: Criteria, masks: Mapping[str, npt.NDArray[np.bool_]] | None
    ) -> None:
        self.scan = scan
        self.criteria = criteria
        self.given = dict(masks or {})
        self.loaded: dict[str, npt.NDArray[np.bool_]] = {}

    def mask(self, zone: Zone) -> npt.NDArray[np.bool_]:
        assert zone.mask is not None
        if zone.mask in self.loaded:
            return self.loaded[zone.mask]
        if zone.mask in self.given:
            arr = np.asarray(self.given[zone.mask], bool)
        elif zone.mask.endswith(".npy"):
            try:
                arr = np.load(zone.mask, allow_pickle=False).astype(bool)
            except (OSError, ValueError) as e:
                raise CriteriaError(zone.mask, f"the zone mask cannot be read ({e})") from e
        else:
            raise CriteriaError(
                self.criteria.path, f"zone mask {zone.mask!r} was not supplied for this scan"
            )
        if arr.shape != self.scan.shape:
            raise CriteriaError(
                self.criteria.path,
                f"zone mask {zone.mask!r} has shape {arr.shape}, the scan {self.scan.shape}",
            )
        self.loaded[zone.mask] = arr
        return arr

    def contains(self, zone: Zone | None, mask: SparseMask) -> bool:
        """True when any voxel of the call lies in the zone."""
        if zone is None:
            return True
        if zone.box_mm is not None:
            sp = np.asarray(self.scan.spacing_mm)
            lo = np.ceil(np.asarray(zone.box_mm[0]) / sp - 1e-9).astype(np.int64)
            hi = np.floor(np.asarray(zone.box_mm[1]) / sp + 1e-9).astype(np.int64) + 1
            a = np.maximum(lo, mask.start) - np.asarray(mask.start)
            b = np.minimum(hi, mask.stop) - np.asarray(mask.start)
            if np.any(a >= b):
                return False
            return bool(mask.local()[a[0] : b[0], a[1] : b[1], a[2] : b[2]].any())
        return bool((self.mask(zone)[mask.slices()] & mask.local()).any())

    def volume_mm3(self, zone: Zone | None) -> tuple[float, str]:
        """Denominator of a volume fraction and a word on what it is."""
        voxel = float(np.prod(self.scan.spacing_mm))
        if zone is None:
            if self.scan.part_volume_mm3:
                return self.scan.part_volume_mm3, "part volume"
            return float(np.prod(self.scan.shape)) * voxel, "scanned volume"
        if zone.box_mm is not None:
            extent = np.asarray(self.scan.shape) * np.asarray(self.scan.spacing_mm)
            lo = np.clip(zone.box_mm[0], 0, extent)
            hi = np.clip(zone.box_mm[1], 0, extent)
            return float(np.prod(np.maximum(hi - lo, 0))), f"volume of zone {zone.name}"
        return float(np.count_nonzero(self.mask(zone))) * voxel, f"volume of zone {zone.name}"


def _scope(rule: Rule, calls: Sequence[CallFacts], zones: _Zones) -> list[CallFacts]:
    return [c for c in calls if rule.applies_to(c.cls) and zones.contains(rule.zone, c.mask)]


def _checks(
    rule: Rule, scoped: Sequence[CallFacts], zones: _Zones, spacing: Sequence[float]
) -> list[dict[str, Any]]:
    """One entry per limit of the rule: measured, limit, pass, offending calls, ratios."""
    out: list[dict[str, Any]] = []
    ids = [c.id for c in scoped]
    if rule.forbidden:
        out.append(
            {
                "check": "forbidden",
                "measured": len(scoped),
                "limit": 0,
                "passed": not scoped,
                "indications": ids,
                "ratios": {i: FORBIDDEN_NEARNESS for i in ids},
            }
        )
    for key, limit in rule.limits.items():
        if key in RADIOGRAPH_LIMITS:
            continue  # measured on footprints (radiograph_rules.checks)
        entry: dict[str, Any] = {"check": key, "limit": limit}
        if key == "max_equivalent_diameter_mm":
            sizes = {c.id: c.equivalent_diameter_mm for c in scoped}
            entry["measured"] = max(sizes.values(), default=0.0)
            entry["indications"] = [i for i, d in sizes.items() if d > limit]
            entry["ratios"] = {i: _ratio(d, limit) for i, d in sizes.items()}
        elif key == "max_count":
            entry["measured"] = len(scoped)
            entry["indications"] = ids if len(scoped) > limit else []
            entry["ratios"] = {i: _ratio(len(scoped), limit) for i in ids}
        elif key == "max_total_volume_fraction":
            total = sum(c.volume_mm3 for c in scoped)
            denominator, what = zones.volume_mm3(rule.zone)
            fraction = total / denominator if denominator > 0 else 0.0
            entry.update(
                measured=fraction,
                total_volume_mm3=total,
                denominator_mm3=denominator,
                denominator=what,
            )
            entry["indications"] = ids if fraction > limit else []
            entry["ratios"] = {i: _ratio(fraction, limit) for i in ids}
        elif key == "min_spacing_mm":
            gaps = measure.nearest_neighbour_spacing_mm([c.mask for c in scoped], spacing)
            known = {c.id: g for c, g in zip(scoped, gaps, strict=True) if g is not None}
            entry["measured"] = min(known.values(), default=None)
            entry["indications"] = [i for i, g in known.items() if g < limit]
            entry["ratios"] = {i: _ratio(limit, g) for i, g in known.items()}
        entry["passed"] = not entry["indications"]
        out.append(entry)
    for entry in out:
        entry["unit"] = _UNITS[entry["check"]]
    return out


def _ratio(measured: float, limit: float) -> float:
    """measured / limit, with a zero limit read as 'none allowed'."""
    if limit > 0:
        return float(measured) / limit
    return FORBIDDEN_NEARNESS if measured > 0 else 0.0


@dataclass
class _Sized:
    """The indications the rules see: calls as they are, or radiograph footprints merged and
    with the small ones set aside."""

    calls: list[CallFacts]
    members: dict[str, tuple[str, ...]]
    footprints: dict[str, Footprint]
    geometry: radiograph_rules.Geometry | None = None
    merged: list[dict[str, Any]] | None = None
    ignored: list[dict[str, Any]] | None = None

    def expand(self, ids: Sequence[str]) -> list[str]:
        return [m for i in ids for m in self.members.get(i, (i,))]

    def section(self) -> dict[str, Any] | None:
        if self.geometry is None:
            return None
        kept = sorted(self.footprints.values(), key=lambda f: f.id)
        return {
            **self.geometry.as_dict(),
            "merged": self.merged or [],
            "ignored": self.ignored or [],
            "indications": [
                {
                    "id": f.id,
                    "ids": list(f.ids),
                    "class": f.cls,
                    "size_mm": f.size_mm,
                    "area_mm2": f.area_mm2,
                }
                for f in kept
            ],
        }


def _size(criteria: Criteria, calls: Sequence[CallFacts], scan: ScanFacts) -> _Sized:
    if not criteria.for_radiographs:
        return _Sized(list(calls), {}, {})
    geo = radiograph_rules.geometry(
        criteria,
        scan.shape,
        scan.spacing_mm,
        scan.magnification,
        scan.thickness_mm,
        scan.thickness_from,
    )
    prints = [footprint(c.id, c.cls, c.status, c.volume_mm3, c.mask, geo.pixel_mm) for c in calls]
    settings = criteria.radiograph
    merged: list[dict[str, Any]] = []
    if settings is not None and settings.merge_closer_than_smaller:
        prints, merged = radiograph_rules.merge(prints)
    kept, ignored = radiograph_rules.ignore(prints, settings)
    facts = [
        CallFacts(
            f.id, f.cls, f.status, f.volume_mm3, measure.equivalent_diameter(f.volume_mm3), f.mask
        )
        for f in kept
    ]
    return _Sized(facts, {f.id: f.ids for f in kept}, {f.id: f for f in kept}, geo, merged, ignored)


def _rule_checks(
    rule: Rule, sized: _Sized, zones: _Zones, spacing: Sequence[float]
) -> list[dict[str, Any]]:
    scoped = _scope(rule, sized.calls, zones)
    out = _checks(rule, scoped, zones, spacing)
    if rule.radiograph:
        if sized.geometry is None:  # for_radiographs is true whenever a rule is
            raise AssertionError("radiograph rule without a radiograph geometry")
        prints = [sized.footprints[c.id] for c in scoped]
        out.extend(radiograph_rules.checks(rule, prints, sized.geometry))
    for entry in out:
        entry["indications"] = sized.expand(entry["indications"])
        entry["ratios"] = {
            m: r for i, r in entry["ratios"].items() for m in sized.members.get(i, (i,))
        }
        entry["message"] = sentence(rule, entry)
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "none" if value is None else str(value)


def sentence(rule: Rule, entry: Mapping[str, Any]) -> str:
    """One sentence: the rule, what it measured and the limit (and where the limit came from)."""
    check = entry["check"]
    unit = {"count": "", "fraction": "", "%": "%"}.get(entry["unit"], f" {entry['unit']}")
    measured = f"{_fmt(entry.get('measured'))}{unit}"
    limit = f"{_fmt(entry.get('limit'))}{unit}"
    if check == "min_spacing_mm":
        verb = "meeting the minimum of" if entry["passed"] else "under the minimum of"
    else:
        verb = "within the limit of" if entry["passed"] else "over the limit of"
    basis = f" ({entry['basis']})" if entry.get("basis") else ""
    count = len(entry.get("indications") or [])
    tail = f"; {count} indication(s)" if not entry["passed"] and count else ""
    return f"{rule.title}: {_WHAT.get(check, check)} is {measured}, {verb} {limit}{basis}{tail}."


def evaluate(
    criteria: Criteria,
    calls: Sequence[CallFacts],
    scan: ScanFacts,
    zone_masks: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> dict[str, Any]:
    """Verdict and reasons from the reviewed calls, plus nearness for every open call.

    Returns {"verdict": accept|reject|rework, "reasons": [...], "nearness": {id: {...}},
    "counted_calls": n, "open_calls": n}, and for radiograph criteria "radiograph": the
    geometry used, what was merged, what was ignored and the sized indications. A failing
    rule leads to reject unless every failing rule says on_fail: rework.
    """
    zones = _Zones(scan, criteria, zone_masks)
    reviewed = [c for c in calls if c.status in REVIEWED_COUNTED]
    counted = _size(criteria, reviewed, scan)
    live = _size(criteria, [c for c in calls if c.status != REJECTED], scan)
    reasons: list[dict[str, Any]] = []
    nearness: dict[str, dict[str, Any]] = {}
    for rule in criteria.rules:
        for entry in _rule_checks(rule, counted, zones, scan.spacing_mm):
            entry.pop("ratios")
            reasons.append(
                {
                    "rule": rule.index,
                    "title": rule.title,
                    "class": rule.cls,
                    "zone": rule.zone.name if rule.zone else None,
                    "on_fail": rule.on_fail,
                    **entry,
                }
            )
        for entry in _rule_checks(rule, live, zones, scan.spacing_mm):
            for call_id, ratio in entry["ratios"].items():
                best = nearness.get(call_id)
                if best is None or ratio > best["ratio"]:
                    nearness[call_id] = {
                        "ratio": ratio,
                        "rule": rule.index,
                        "check": entry["check"],
                        "title": rule.title,
                    }
    failed = [r for r in reasons if not r["passed"]]
    if not failed:
        verdict = "accept"
    elif any(r["on_fail"] == "reject" for r in failed):
        verdict = "reject"
    else:
        verdict = "rework"
    out = {
        "verdict": verdict,
        "reasons": reasons,
        "nearness": nearness,
        "counted_calls": len(reviewed),
        "open_calls": sum(1 for c in calls if c.status == "proposed"),
    }
    section = counted.section()
    if section is not None:
        out["radiograph"] = section
    return out


# --- The image-quality gate (ISO 17636-2: image quality is proven before interpretation) ---

#: The status an override records for a radiograph whose image quality was never measured.
NOT_MEASURED = "not measured"

#: The measure names a stored record's ``failed`` field takes, as a sentence names them.
IQ_MEASURES = {
    "srb": "basic spatial resolution SRb",
    "snrn": "normalised SNR (SNRn)",
    "wire": "single-wire IQI",
    "thickness": "penetrated thickness",
}


@dataclass(frozen=True)
class IqOverride:
    """An explicit, audited decision to sentence a part whose image failed the gate."""

    user: str
    reason: str

    def checked(self) -> IqOverride:
        if not self.user.strip():
            raise ReviewError("an image-quality override needs the user who makes it")
        if not self.reason.strip():
            raise ReviewError(
                "an image-quality override needs a reason (why the image may be read)"
            )
        return IqOverride(self.user.strip(), self.reason.strip())


def iq_failed(record: Mapping[str, Any] | None) -> bool:
    """True when a stored image-quality record says the image is not interpretable."""
    return record is not None and not record.get("acceptable", False)


def iq_blocked(record: Mapping[str, Any] | None, *, radiograph: bool) -> bool:
    """True when the gate stops a signature: a radiograph whose image failed, or whose image
    quality was never measured (it must be proven, not assumed). A CT scan has no gate."""
    return radiograph and (record is None or iq_failed(record))


def iq_refusal(
    scan_id: str, record: Mapping[str, Any] | None, *, radiograph: bool = True
) -> str | None:
    """The sentence that refuses sentencing a scan whose image failed or was never measured,
    or None when it may be sentenced (acceptable, or CT)."""
    if not iq_blocked(record, radiograph=radiograph):
        return None
    how = "with a reason (--override-iq --reason TEXT --user U)"
    if record is None:
        return (
            f"scan {scan_id} cannot be sentenced: its image quality was never measured "
            "(measure it with `ndelab iq RADIOGRAPH --db`); sentencing it unmeasured needs an "
            f"explicit image-quality override {how}"
        )
    measure_name = IQ_MEASURES.get(str(record.get("failed")), str(record.get("failed")))
    return (
        f"scan {scan_id} cannot be sentenced: its image is not interpretable ({measure_name} "
        f"failed: {record.get('reason')}); sentencing it needs an explicit image-quality "
        f"override {how}"
    )


def iq_summary(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of a failed record an override's audit event keeps (for an image never
    measured: status "not measured")."""
    if record is None:
        return {"status": NOT_MEASURED, "reason": "image quality never measured"}
    keys = ("status", "reason", "failed", "class", "srb_um", "srb_max_um", "snrn", "snrn_min")
    return {k: record.get(k) for k in keys} | {"measured_at": record.get("measured_at")}
