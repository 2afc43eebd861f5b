"""What a pre-labeller returns: calls (candidate indications) and the run that made them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass
class Call:
    """One candidate defect. The mask is the bool crop inside ``bbox_zyx`` (end exclusive)."""

    class_name: str
    score: float  # calibrated probability that this is a real defect
    centroid_zyx: tuple[float, float, float]  # voxel index
    bbox_zyx: tuple[int, int, int, int, int, int]  # z0, y0, x0, z1, y1, x1
    volume_voxels: int
    volume_mm3: float  # on a radiograph (one slice): the area in mm²
    mask: npt.NDArray[np.bool_]
    model_name: str
    model_version: str
    class_scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, float] = field(default_factory=dict)  # raw features behind the score

    @property
    def equivalent_diameter_vox(self) -> float:
        """Diameter of the sphere (or, for a one-slice mask, the circle) of the same size."""
        if self.mask.shape[0] == 1:
            return 2.0 * math.sqrt(self.volume_voxels / math.pi)
        return float((6.0 * self.volume_voxels / math.pi) ** (1.0 / 3.0))

    def to_json(self) -> dict[str, Any]:
        """Everything but the mask, JSON-ready."""
        return {
            "class_name": self.class_name,
            "score": round(self.score, 4),
            "centroid_zyx": [round(c, 3) for c in self.centroid_zyx],
            "bbox_zyx": list(self.bbox_zyx),
            "volume_voxels": self.volume_voxels,
            "volume_mm3": round(self.volume_mm3, 6),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "class_scores": {k: round(v, 4) for k, v in self.class_scores.items()},
            "evidence": {k: round(v, 4) for k, v in self.evidence.items()},
        }


@dataclass
class PrelabelResult:
    """All calls of one run, with the model (name and version) and device that made them."""

    calls: list[Call]
    model_name: str
    model_version: str
    seconds: float
    device: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "seconds": round(self.seconds, 3),
            "device": self.device,
            "calls": [c.to_json() for c in self.calls],
            "details": self.details,
        }


def boxes_overlapping(box: npt.ArrayLike, boxes: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which rows of ``boxes`` (n, 6: z0 y0 x0 z1 y1 x1, ends exclusive) overlap ``box``."""
    b = np.asarray(box, dtype=np.int64)
    hit: npt.NDArray[np.bool_] = np.all((boxes[:, :3] < b[3:]) & (b[:3] < boxes[:, 3:]), axis=1)
    return hit


def shared_voxels(a: Call, b: Call) -> int:
    """Voxels the two calls' masks share (0 when their boxes do not meet)."""
    lo = [max(p, q) for p, q in zip(a.bbox_zyx[:3], b.bbox_zyx[:3], strict=True)]
    hi = [min(p, q) for p, q in zip(a.bbox_zyx[3:], b.bbox_zyx[3:], strict=True)]
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        return 0

    def crop(c: Call) -> npt.NDArray[np.bool_]:
        o = c.bbox_zyx[:3]
        return np.asarray(
            c.mask[tuple(slice(s - p, e - p) for s, e, p in zip(lo, hi, o, strict=True))], bool
        )

    return int((crop(a) & crop(b)).sum())
