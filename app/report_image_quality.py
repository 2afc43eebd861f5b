"""The image-quality section of a radiograph's disposition report (Qt-free).

ISO 17636-2 asks for proof of image quality before a radiograph is interpreted; the report
says what that proof was: the gate's verdict (acceptable, or not interpretable and why, or
never measured), SRb against the class maximum, SNRn against the class minimum, the IQI
readings, every audited override (who, when, why), and how much of the part's area cannot
guarantee the criteria's smallest size limit according to the smallest-detectable-pore map.

app/pdf_report.py lays the lines out; tests check them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation.criteria import Criteria
from ndelab.annotation.disposition import NOT_MEASURED
from ndelab.annotation.store import Store, get_scan, iq_overrides
from ndelab.annotation.store.signing import is_radiograph_shape
from ndelab.app.image_quality import map_for, smallest_size_limit_mm
from ndelab.volumes.quality.gate import ACCEPTABLE, NOT_INTERPRETABLE
from ndelab.volumes.quality.image import as_radiograph
from ndelab.volumes.volume import Volume

#: Brighter than this many times the image's median: open beam beside the part, not the part.
OPEN_BEAM_FACTOR = 1.5


@dataclass(frozen=True)
class Coverage:
    """Where the criteria's smallest size limit cannot be guaranteed by the detectability map."""

    limit_mm: float
    share: float  # of the part's area, 0..1
    part_share: float  # the part's share of the image, 0..1
    median_mm: float | None  # the smallest detectable pore's median over the part


@dataclass
class IqSection:
    status: str  # ACCEPTABLE, NOT_INTERPRETABLE or NOT_MEASURED
    reason: str | None
    record: dict[str, Any] | None
    overrides: list[dict[str, Any]] = field(default_factory=list)
    coverage: Coverage | None = None
    coverage_note: str | None = None  # why there is no coverage figure
    #: Radiograph criteria: the same at the size below which indications are ignored (the
    #: smallest that counts toward the area, cluster and alignment rules).
    counted: Coverage | None = None

    @property
    def acceptable(self) -> bool:
        return self.status == ACCEPTABLE


def part_area(volume: Volume) -> npt.NDArray[np.bool_]:
    """The part's area on a radiograph: every pixel but open beam (far brighter than the
    image's median, as the gate's own search for an SNR region skips it)."""
    img = as_radiograph(volume)
    return np.asarray(img <= OPEN_BEAM_FACTOR * float(np.median(img)), bool)


def coverage(
    volume: Volume, record: Mapping[str, Any] | None, limit_mm: float | None
) -> tuple[Coverage | None, str | None]:
    """The share of the part where a pore at ``limit_mm`` cannot be guaranteed found, or None
    and the sentence saying why it cannot be given."""
    if limit_mm is None:
        return None, "the criteria set no pore size limit to check against the map"
    dmap = map_for(volume, dict(record) if record is not None else None)
    if dmap is None:
        return None, "no smallest-detectable-pore map: SRb or the pixel size is not known"
    part = part_area(volume)
    if not part.any():
        return None, "no part found on the image (all open beam)"
    summary = dmap.summary(limit_mm, part)
    return (
        Coverage(
            limit_mm=float(limit_mm),
            share=dmap.fraction_above(limit_mm, part),
            part_share=float(part.mean()),
            median_mm=summary["median_mm"],
        ),
        None,
    )


def iq_section(
    store: Store,
    scan_id: str,
    volume: Volume | None,
    criteria: Criteria | None,
    thickness_mm: float | None = None,
) -> IqSection | None:
    """The section for a radiograph; None for a CT scan (no image-quality gate).
    ``thickness_mm`` is the part's wall, for limits given as a fraction of it."""
    scan = get_scan(store, scan_id)
    if not is_radiograph_shape(scan["shape"]):
        return None
    record = scan.get("image_quality")
    overrides = iq_overrides(store, scan_id)
    if record is None:
        section = IqSection(NOT_MEASURED, "image quality was never measured", None, overrides)
    else:
        status = ACCEPTABLE if record.get("acceptable") else NOT_INTERPRETABLE
        reason = None if record.get("acceptable") else record.get("reason")
        section = IqSection(status, reason, dict(record), overrides)
    limit = smallest_size_limit_mm(criteria, thickness_mm)
    if volume is None:
        section.coverage_note = "the image was not given to the report"
    elif record is None:
        section.coverage_note = "no smallest-detectable-pore map without a measured SRb"
    else:
        section.coverage, section.coverage_note = coverage(volume, record, limit)
        settings = getattr(criteria, "radiograph", None)
        below = None if settings is None else settings.ignore_below_mm
        if section.coverage is not None and below is not None:
            section.counted, _ = coverage(volume, record, float(below))
    return section


def _g(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def measure_lines(record: Mapping[str, Any]) -> list[str]:
    """SRb and SNRn against the class, then each IQI reading."""
    out = []
    cls = record.get("class")
    req = record.get("requirement") or {}
    at = ""
    if record.get("thickness_mm") is not None:
        at = f" at {_g(record['thickness_mm'])} mm {record.get('material') or ''}".rstrip()
    out.append(f"Class {cls}{at}" + (f" ({req['status']})" if req.get("status") else ""))
    checks = {c["name"]: c for c in record.get("checks") or []}
    srb, srb_max = record.get("srb_um"), record.get("srb_max_um")
    mark = _mark(checks.get("srb"))
    out.append(
        f"{mark}SRb {'–' if srb is None else f'{srb:.0f}'} µm"
        + ("" if srb_max is None else f", class maximum {srb_max:g} µm")
    )
    snrn, snrn_min = record.get("snrn"), record.get("snrn_min")
    out.append(
        f"{_mark(checks.get('snrn'))}SNRn {'–' if snrn is None else f'{snrn:.0f}'}"
        + ("" if snrn_min is None else f", class minimum {snrn_min:g}")
    )
    iqi = record.get("iqi") or {}
    duplex = iqi.get("duplex")
    if duplex:
        how = " (found automatically)" if iqi.get("duplex_found_automatically") else ""
        first = duplex.get("first_unresolved") or "none"
        out.append(
            f"Duplex wire IQI{how}: first unresolved pair {first}, "
            f"SRb {_g(duplex.get('srb_um'))} µm"
        )
    roi = iqi.get("snr_roi")
    if roi:
        out.append(f"SNR region {roi.get('roi_yx')}: SNR {_g(roi.get('snr'))}")
    wire = iqi.get("single_wire")
    if wire:
        need = checks.get("wire", {}).get("required") or req.get("min_wire")
        required = f", class requires {need}" if need else ""
        out.append(
            f"{_mark(checks.get('wire'))}Single-wire IQI: finest visible "
            f"{wire.get('smallest_visible') or 'none'}{required}"
        )
    return out


def _mark(check: Mapping[str, Any] | None) -> str:
    if check is None:
        return ""
    return "pass  " if check.get("passed") else "FAIL  "


def override_line(o: Mapping[str, Any]) -> str:
    at = str(o.get("at", ""))[:19].replace("T", " ")
    was = (o.get("image_quality") or {}).get("status") or "?"
    return f"OVERRIDDEN by {o.get('user')} at {at} UTC (image was {was}): {o.get('reason')}"


def coverage_line(section: IqSection) -> str:
    c = section.coverage
    if c is None:
        return f"Detectability: not given ({section.coverage_note})"
    median = "" if c.median_mm is None else f"; median smallest detectable pore {c.median_mm:g} mm"
    return (
        f"Detectability: on {c.share:.1%} of the part ({c.part_share:.0%} of the image, open "
        f"beam excluded) a pore at the criteria's smallest size limit of {c.limit_mm:g} mm "
        f"cannot be guaranteed found{median}"
    )


def counted_line(c: Coverage) -> str:
    return (
        f"Detectability: on {c.share:.1%} of the part a pore of {c.limit_mm:g} mm, the smallest "
        "the criteria count (area, cluster and alignment rules), cannot be guaranteed found"
    )


def section_lines(section: IqSection) -> list[str]:
    """The section as lines of text: the verdict first, then the figures and overrides."""
    head = f"Image quality: {section.status.upper()}"
    if section.reason:
        head += f": {section.reason}"
    out = [head]
    if section.record is not None:
        out += measure_lines(section.record)
    out.append(coverage_line(section))
    if section.counted is not None:
        out.append(counted_line(section.counted))
    out += [override_line(o) for o in section.overrides]
    return out
