"""The image-quality gate: one JSON record per radiograph, stored with its scan.

The record says whether the image may be interpreted (``acceptable``) or not (``not
interpretable``, with the reason: the first measure that failed, or what could not be
measured), with SRb, SNRn against the class minimum, the IQI readings and the class row.
Where the IQIs lie and which class applies is the operator's *layout*: given explicitly,
taken from a phantom's metadata, or read from a ``<stem>.iq.json`` file beside the image
(``ndelab phantom --iqi`` writes one). A layout that lacks the penetrated thickness cannot be
judged, and that is a failed gate too: image quality must be proven, not assumed.

CT volumes have no gate (ISO 17636-2 is about projection images): :func:`has_gate` is False.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ndelab.volumes.errors import NdelabError, UsageError
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.quality.assess import QualityReport, assess
from ndelab.volumes.quality.image import Roi, as_radiograph
from ndelab.volumes.quality.snr import MIN_ROI_LONG_PX, MIN_ROI_SHORT_PX
from ndelab.volumes.volume import Volume

ACCEPTABLE = "acceptable"
NOT_INTERPRETABLE = "not interpretable"
NO_GATE_CT = "no IQ gate for CT"
LAYOUT_SUFFIX = ".iq.json"
AUTO_ROI_SHAPE = (40, 100)


@dataclass(frozen=True)
class IqLayout:
    """Where the IQIs lie and what to judge against; None: not known (the ROI may be found)."""

    duplex_line: tuple[float, float, float, float] | None = None
    duplex_half_width_px: float = 10.0
    roi: tuple[int, int, int, int] | None = None
    wire_line: tuple[float, float, float, float] | None = None
    wire_half_width_px: float = 10.0
    wire_set: str = "W10-W16"
    image_class: str = "A"
    material: str | None = None
    thickness_mm: float | None = None
    magnification: float = 1.0
    table: str | None = None
    source: str = "defaults"

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], source: str) -> IqLayout:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__ and k != "source"}
        for key in ("duplex_line", "wire_line"):
            if known.get(key) is not None:
                known[key] = tuple(float(v) for v in known[key])
        if known.get("roi") is not None:
            known["roi"] = tuple(int(v) for v in known["roi"])
        try:
            return cls(**known, source=source)
        except TypeError as e:
            raise UsageError(f"{source}: not an image-quality layout ({e})") from e


def has_gate(volume: Volume) -> bool:
    """True for a radiograph (one projection image), False for a CT volume."""
    shape = volume.shape
    return len(shape) == 2 or (len(shape) == 3 and shape[0] == 1)


def layout_path(volume: Volume) -> Path | None:
    """``<stem>.iq.json`` beside the image file, or None for an image with no file."""
    if not volume.source:
        return None
    p = Path(volume.source)
    return p.with_name(p.name.split(".")[0] + LAYOUT_SUFFIX)


def layout_from_metadata(metadata: Mapping[str, Any]) -> IqLayout | None:
    """The layout a phantom's metadata (``metadata["iqi"]``, its params) gives, or None."""
    iqi = metadata.get("iqi")
    if not isinstance(iqi, Mapping):
        return None
    params = metadata.get("params") or {}
    geometry = params.get("geometry") or {}
    duplex = iqi.get("duplex") or {}
    wire = iqi.get("single_wire") or {}
    roi = (iqi.get("snr_roi") or {}).get("roi_yx")
    thickness = geometry.get("plate_thickness_mm")
    return IqLayout(
        duplex_line=tuple(duplex["line_yx"]) if duplex.get("line_yx") else None,
        duplex_half_width_px=float(duplex.get("half_width_px", 10.0)),
        roi=tuple(int(v) for v in roi) if roi else None,  # type: ignore[arg-type]
        wire_line=tuple(wire["line_yx"]) if wire.get("line_yx") else None,
        wire_half_width_px=float(wire.get("half_width_px", 10.0)),
        wire_set=str(wire.get("wire_set", "W10-W16")),
        material=params.get("material"),
        thickness_mm=None if thickness is None else round(float(thickness), 1),
        source="phantom metadata",
    )


def find_layout(volume: Volume, defaults: IqLayout | None = None) -> IqLayout:
    """The layout for ``volume``: the file beside it, else its metadata, else ``defaults``
    (the user's class, material and thickness from the settings)."""
    path = layout_path(volume)
    if path is not None and path.is_file():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UsageError(f"{path}: the image-quality layout cannot be read ({e})") from e
        if not isinstance(doc, dict):
            raise UsageError(f"{path}: the image-quality layout is not a JSON object")
        return IqLayout.from_json(doc, str(path))
    md = volume.metadata if isinstance(volume.metadata, Mapping) else {}
    found = layout_from_metadata(md)
    if found is not None:
        return found
    return defaults or IqLayout()


def write_layout(layout: IqLayout, path: str | Path) -> Path:
    p = Path(path)
    p.write_text(json.dumps(layout.to_json(), indent=1) + "\n", encoding="utf-8")
    return p


def find_uniform_roi(
    image: Volume | Any, shape: tuple[int, int] = AUTO_ROI_SHAPE, step: int = 16
) -> Roi:
    """The quietest ``shape`` window (least relative spread after a local-mean high-pass):
    where SNR is measured when the layout names no ROI. Open beam (far brighter than the
    image's median) is skipped: SNR is measured in material."""
    img = as_radiograph(image)
    h, w = shape
    if img.shape[0] < max(h, MIN_ROI_SHORT_PX) or img.shape[1] < max(w, MIN_ROI_LONG_PX):
        raise UsageError(
            f"the {img.shape[0]} x {img.shape[1]} pixel image is too small for a {h} x {w} "
            "SNR region"
        )
    hp = img - ndimage.uniform_filter(img, 9, mode="reflect")
    mean = ndimage.uniform_filter(img, (h, w), mode="reflect")
    var = ndimage.uniform_filter(hp * hp, (h, w), mode="reflect")
    bright = img > 1.5 * float(np.median(img))
    open_beam = ndimage.maximum_filter(bright.astype(np.uint8), (h, w)) > 0
    ys = np.arange(h // 2 + 4, img.shape[0] - (h - h // 2) - 4, step)
    xs = np.arange(w // 2 + 4, img.shape[1] - (w - w // 2) - 4, step)
    best: tuple[float, int, int] | None = None
    for y in ys:
        for x in xs:
            if open_beam[y, x] or mean[y, x] <= 0:
                continue
            score = float(np.sqrt(var[y, x]) / mean[y, x])
            if best is None or score < best[0]:
                best = (score, int(y), int(x))
    if best is None:
        raise UsageError("no uniform region of material was found for the SNR: give an ROI")
    _, y, x = best
    return Roi(y - h // 2, x - w // 2, y - h // 2 + h, x - w // 2 + w)


def _failed(name: str, reason: str, layout: IqLayout, source: str) -> dict[str, Any]:
    return {
        "status": NOT_INTERPRETABLE,
        "acceptable": False,
        "reason": reason,
        "failed": name,
        "class": layout.image_class,
        "material": layout.material,
        "thickness_mm": layout.thickness_mm,
        "srb_um": None,
        "srb_max_um": None,
        "snrn": None,
        "snrn_min": None,
        "iqi": {},
        "checks": [],
        "layout": layout.to_json(),
        "source": source,
        "measured_at": datetime.now(UTC).isoformat(),
    }


def record_of(report: QualityReport, layout: IqLayout, source: str) -> dict[str, Any]:
    """The stored record of an assessment judged against ``layout``'s class."""
    verdict = report.verdict
    assert verdict is not None, "record_of needs a judged report"
    req = verdict.requirement
    failed = next((c.name for c in verdict.checks if not c.passed), None)
    readings = report.to_json()
    return {
        "status": verdict.status,
        "acceptable": verdict.acceptable,
        "reason": verdict.reason,
        "failed": failed,
        "class": req.image_class,
        "material": req.material,
        "thickness_mm": req.thickness_mm,
        "srb_um": readings["srb_um"],
        "srb_max_um": req.max_srb_um,
        "snrn": readings["snrn"],
        "snrn_min": req.min_snrn,
        "snr": readings["snr"],
        "iqi": {
            "duplex": readings["duplex"],
            "duplex_found_automatically": readings["duplex_found_automatically"],
            "snr_roi": readings["snr_roi"],
            "single_wire": readings["single_wire"],
            "holes": readings["holes"],
        },
        "checks": [c.to_json() for c in verdict.checks],
        "requirement": req.to_json(),
        "layout": layout.to_json(),
        "source": source,
        "measured_at": datetime.now(UTC).isoformat(),
    }


def image_quality_record(
    volume: Volume,
    layout: IqLayout | None = None,
    *,
    source: str = "auto",
    pixel_size_mm: float | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Measure and judge a radiograph: the record stored with its scan. Whatever cannot be
    measured (no duplex IQI found, no thickness) makes it not interpretable, with that
    sentence as the reason; only a CT volume is refused (it has no gate)."""
    if not has_gate(volume):
        raise UsageError(f"{volume.source or 'the volume'} is a CT volume: {NO_GATE_CT}")
    lay = layout if layout is not None else find_layout(volume)
    if lay.thickness_mm is None:
        return _failed(
            "thickness",
            "the penetrated thickness is not known, so the class table cannot be read: give it "
            f"in the image-quality layout ({LAYOUT_SUFFIX}) or to `ndelab iq --thickness-mm`",
            lay,
            source,
        )
    if lay.roi is None:
        try:
            lay = replace(lay, roi=tuple(find_uniform_roi(volume).to_list()))  # type: ignore[arg-type]
        except NdelabError as e:
            return _failed("snrn", str(e), lay, source)
    try:
        report = assess(
            volume,
            duplex_line=lay.duplex_line,
            duplex_half_width_px=lay.duplex_half_width_px,
            find=True,
            roi=lay.roi,
            wire_line=lay.wire_line,
            wire_set=lay.wire_set,
            wire_half_width_px=lay.wire_half_width_px,
            magnification=lay.magnification,
            pixel_size_mm=pixel_size_mm,
            image_class=lay.image_class,
            material=lay.material or "steel",
            thickness_mm=lay.thickness_mm,
            table=lay.table,
            progress=progress,
            cancel=cancel,
        )
    except NdelabError as e:
        if "cancel" in str(e).lower():
            raise
        return _failed("srb", f"image quality could not be measured: {e}", lay, source)
    return record_of(report, lay, source)


def summary_lines(record: Mapping[str, Any] | None, *, radiograph: bool = True) -> list[str]:
    """Short lines for the inspector, the disposition panel and the report."""
    if not radiograph:
        return [NO_GATE_CT]
    if record is None:
        return ["image quality: not measured yet"]
    out = [f"image quality: {record['status'].upper()} (class {record.get('class')})"]
    srb, srb_max = record.get("srb_um"), record.get("srb_max_um")
    if srb is not None:
        limit = f" (max {srb_max:g})" if srb_max is not None else ""
        out.append(f"SRb {srb:.0f} µm{limit}")
    snrn, snrn_min = record.get("snrn"), record.get("snrn_min")
    if snrn is not None:
        need = f" (min {snrn_min:g})" if snrn_min is not None else ""
        out.append(f"SNRn {snrn:.0f}{need}")
    wire = (record.get("iqi") or {}).get("single_wire")
    if wire:
        out.append(f"finest wire seen: {wire.get('smallest_visible') or 'none'}")
    duplex = (record.get("iqi") or {}).get("duplex")
    if duplex:
        out.append(f"duplex: first unresolved {duplex.get('first_unresolved') or 'none'}")
    if not record.get("acceptable"):
        out.append(f"reason: {record.get('reason')}")
    return out
