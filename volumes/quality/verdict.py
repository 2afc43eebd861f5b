"""The verdict: may this radiograph be interpreted? Acceptable, or not with one sentence why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ndelab.volumes.quality.classes import Requirement
from ndelab.volumes.quality.duplex import DuplexReading
from ndelab.volumes.quality.snr import SnrReading
from ndelab.volumes.quality.tables import element_number
from ndelab.volumes.quality.visibility import VisibilityReading


@dataclass(frozen=True)
class Check:
    """One requirement met or not: what was measured, what the table asks, and a sentence."""

    name: str  # srb, snrn, wire
    passed: bool
    measured: float | str | None
    required: float | str
    sentence: str

    def to_json(self) -> dict[str, Any]:
        m = round(self.measured, 2) if isinstance(self.measured, float) else self.measured
        return {
            "name": self.name,
            "passed": self.passed,
            "measured": m,
            "required": self.required,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class Verdict:
    """``acceptable`` or not interpretable; ``reason`` is one sentence: the first check that
    failed, or what was met."""

    acceptable: bool
    reason: str
    checks: tuple[Check, ...]
    requirement: Requirement

    @property
    def status(self) -> str:
        return "acceptable" if self.acceptable else "not interpretable"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "acceptable": self.acceptable,
            "reason": self.reason,
            "checks": [c.to_json() for c in self.checks],
            "requirement": self.requirement.to_json(),
        }


def _srb_check(duplex: DuplexReading | None, req: Requirement) -> Check:
    limit = req.max_srb_um
    if duplex is None:
        return Check(
            "srb",
            False,
            None,
            limit,
            "SRb was not measured: give the duplex IQI's line or let the finder look for it",
        )
    srb = duplex.srb_um
    if duplex.srb_bound == ">":
        return Check(
            "srb",
            False,
            srb,
            limit,
            f"not even duplex pair D1 is resolved, so SRb is over {srb:.0f} µm, beyond the "
            f"{limit:.0f} µm the {_table(req)} allows at {_at(req)}",
        )
    if duplex.srb_bound == "<" and srb <= limit:
        return Check(
            "srb", True, srb, limit, f"every duplex pair is resolved: SRb under {srb:.0f} µm"
        )
    if srb > limit:
        return Check(
            "srb",
            False,
            srb,
            limit,
            f"SRb {srb:.0f} µm exceeds the {limit:.0f} µm the {_table(req)} allows at {_at(req)}",
        )
    return Check("srb", True, srb, limit, f"SRb {srb:.0f} µm is within {limit:.0f} µm")


def _table(req: Requirement) -> str:
    return f"class {req.image_class} table"


def _at(req: Requirement) -> str:
    return f"{req.thickness_mm:g} mm {req.material}"


def _snrn_check(snrn: float | None, req: Requirement) -> Check:
    need = req.min_snrn
    if snrn is None:
        return Check(
            "snrn",
            False,
            None,
            need,
            "SNRn was not measured: give a uniform ROI of at least 20 x 55 pixels and a duplex IQI",
        )
    if snrn < need:
        return Check(
            "snrn",
            False,
            snrn,
            need,
            f"SNRn {snrn:.0f} is below the {need:.0f} the {_table(req)} requires at {_at(req)}",
        )
    return Check("snrn", True, snrn, need, f"SNRn {snrn:.0f} reaches {need:.0f}")


def _wire_check(wires: VisibilityReading | None, req: Requirement) -> Check | None:
    need = req.min_wire
    if need is None:
        return None
    if wires is None:
        return Check(
            "wire",
            False,
            None,
            need,
            f"the single-wire IQI was not read: the {_table(req)} asks for {need} visible at "
            f"{_at(req)}",
        )
    seen = wires.smallest_visible
    if seen is None or element_number(seen) < element_number(need):
        shown = "no wire is visible" if seen is None else f"the finest visible wire is {seen}"
        return Check(
            "wire",
            False,
            seen,
            need,
            f"{shown}, short of the {need} the {_table(req)} requires at {_at(req)}",
        )
    return Check("wire", True, seen, need, f"wire {seen} is visible (needs {need})")


def judge(
    req: Requirement,
    *,
    duplex: DuplexReading | None,
    snr: SnrReading | None,
    wires: VisibilityReading | None = None,
) -> Verdict:
    """Check the readings against ``req``. SNRn is normalised by the detector-plane SRb."""
    snrn = None
    if snr is not None and duplex is not None:
        snrn = snr.normalised(duplex.srb_detector_um)
    checks = [_srb_check(duplex, req), _snrn_check(snrn, req)]
    wire = _wire_check(wires, req)
    if wire is not None:
        checks.append(wire)
    failed = [c for c in checks if not c.passed]
    if failed:
        reason = failed[0].sentence
    else:
        parts = [
            f"SRb {duplex.srb_um:.0f} µm" if duplex else "",
            f"SNRn {snrn:.0f}" if snrn else "",
        ]
        if wire is not None and wires is not None:
            parts.append(f"wire {wires.smallest_visible} visible")
        reason = f"image quality meets {req.where}: " + ", ".join(p for p in parts if p)
    return Verdict(not failed, reason, tuple(checks), req)
