"""One call that reads every IQI given and judges the radiograph: what ``ndelab iq`` and the
GUI gate run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.quality.classes import Requirement, requirement
from ndelab.volumes.quality.duplex import DuplexReading, read_duplex
from ndelab.volumes.quality.finder import find_duplex
from ndelab.volumes.quality.image import as_radiograph
from ndelab.volumes.quality.snr import SnrReading, measure_snr
from ndelab.volumes.quality.verdict import Verdict, judge
from ndelab.volumes.quality.visibility import (
    DEFAULT_CNR_THRESHOLD,
    Hole,
    VisibilityReading,
    read_holes,
    read_wires,
)
from ndelab.volumes.volume import Volume


@dataclass(frozen=True)
class QualityReport:
    """Every reading taken, SNRn, and the verdict when a class was asked for."""

    duplex: DuplexReading | None
    duplex_found: bool  # True when the finder placed the duplex line
    snr: SnrReading | None
    snrn: float | None
    wires: VisibilityReading | None
    holes: VisibilityReading | None
    verdict: Verdict | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "srb_um": None if self.duplex is None else round(self.duplex.srb_um, 2),
            "srb_detector_um": (
                None if self.duplex is None else round(self.duplex.srb_detector_um, 2)
            ),
            "snr": None if self.snr is None else round(self.snr.snr, 3),
            "snrn": None if self.snrn is None else round(self.snrn, 3),
            "duplex": None if self.duplex is None else self.duplex.to_json(),
            "duplex_found_automatically": self.duplex_found,
            "snr_roi": None if self.snr is None else self.snr.to_json(),
            "single_wire": None if self.wires is None else self.wires.to_json(),
            "holes": None if self.holes is None else self.holes.to_json(),
            "verdict": None if self.verdict is None else self.verdict.to_json(),
        }
        return out


def assess(
    image: Volume | npt.ArrayLike,
    *,
    duplex_line: Sequence[float] | None = None,
    duplex_half_width_px: float = 10.0,
    find: bool = True,
    roi: Sequence[float] | None = None,
    wire_line: Sequence[float] | None = None,
    wire_set: str = "W10-W16",
    wire_half_width_px: float = 10.0,
    holes: Sequence[Hole] | None = None,
    magnification: float = 1.0,
    pixel_size_mm: float | None = None,
    cnr_threshold: float = DEFAULT_CNR_THRESHOLD,
    image_class: str | None = None,
    material: str | None = None,
    thickness_mm: float | None = None,
    table: str | Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> QualityReport:
    """Read the duplex IQI (at ``duplex_line``, or found when ``find``), the SNR in ``roi``,
    the single wires along ``wire_line`` and the ``holes``; with ``image_class`` (and the
    material and penetrated thickness) judge them against the class table."""
    as_radiograph(image)  # a CT volume or a bad array fails here, before any work
    req: Requirement | None = None
    if image_class is not None:
        if material is None or thickness_mm is None:
            raise UsageError("a class verdict needs the material and the penetrated thickness")
        req = requirement(image_class, material, thickness_mm, table)
    report(progress, 0.0)
    duplex: DuplexReading | None = None
    found = False
    if duplex_line is not None:
        duplex = read_duplex(
            image,
            duplex_line,
            half_width_px=duplex_half_width_px,
            magnification=magnification,
            pixel_size_mm=pixel_size_mm,
        )
    elif find:
        loc = find_duplex(image, cancel=cancel)
        duplex = read_duplex(
            image,
            loc.line,
            half_width_px=loc.half_width_px,
            magnification=magnification,
            pixel_size_mm=pixel_size_mm,
        )
        found = True
    check(cancel, "the image quality check")
    report(progress, 0.5)
    snr = measure_snr(image, roi) if roi is not None else None
    snrn = snr.normalised(duplex.srb_detector_um) if snr is not None and duplex else None
    wires = None
    if wire_line is not None:
        wires = read_wires(
            image,
            wire_line,
            wires=wire_set,
            half_width_px=wire_half_width_px,
            magnification=magnification,
            pixel_size_mm=pixel_size_mm,
            threshold=cnr_threshold,
        )
    hole_reading = read_holes(image, holes, threshold=cnr_threshold) if holes else None
    report(progress, 0.9)
    verdict = None if req is None else judge(req, duplex=duplex, snr=snr, wires=wires)
    report(progress, 1.0)
    return QualityReport(duplex, found, snr, snrn, wires, hole_reading, verdict)
