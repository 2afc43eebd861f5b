"""How models and reviewers agree: what the audit view shows per model version.

Only reviewed calls count (accepted, corrected, rejected). A model call's proposed class is
the class it was created with (kept in ``proposal``); its final class is the class a person
confirmed, or "rejected" (not a defect).

Misses: a true defect (accepted or corrected) that a person added (source manual or sam) on
a scan the model version ran on, where none of that version's proposals overlaps it. The
scans a model "ran on" are those holding at least one of its calls (a run that found nothing
leaves no trace in the store). Miss rate per equivalent-diameter bin = misses / all true
defects in the bin (the model's confirmed calls plus the person-added ones on those scans).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import CLASSES, STATUSES
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.provenance import (
    CONFIRMED,
    REVIEWED,
    call_rows,
    decisions,
    model_of,
)

#: Lower edges of the equivalent-diameter bins in mm; the last bin has no upper edge.
DEFAULT_BINS_MM = (0.0, 0.5, 1.0, 2.0, 5.0)
PERSON_SOURCES = ("manual", "sam")
COLUMNS = (*CLASSES, "rejected")

ModelKey = tuple[str | None, str | None]


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def overlaps(a: SparseMask, b: SparseMask) -> bool:
    """True when the two masks share a voxel (boxes first, voxels only where they meet)."""
    lo = tuple(max(p, q) for p, q in zip(a.start, b.start, strict=True))
    hi = tuple(min(p, q) for p, q in zip(a.stop, b.stop, strict=True))
    if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
        return False

    def crop(m: SparseMask) -> Any:
        return m.local()[
            tuple(slice(s - o, e - o) for s, e, o in zip(lo, hi, m.start, strict=True))
        ]

    return bool(np.any(crop(a) & crop(b)))


def _model_calls(
    rows: list[dict[str, Any]], model_name: str | None
) -> dict[ModelKey, list[dict[str, Any]]]:
    groups: dict[ModelKey, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        m = model_of(r)
        if m["kind"] == "model" and (model_name is None or m["name"] == model_name):
            groups[(m["name"], m["version"])].append(r)
    return groups


def _bin_index(diameter: float, bins: Sequence[float]) -> int | None:
    if diameter < bins[0]:
        return None
    return int(np.searchsorted(np.asarray(bins), diameter, side="right")) - 1


def _misses(
    calls_of_model: list[dict[str, Any]],
    person_calls: list[dict[str, Any]],
    bins: Sequence[float],
) -> list[dict[str, Any]]:
    scans = {r["scan_id"] for r in calls_of_model}
    proposals: dict[str, list[SparseMask]] = defaultdict(list)
    for r in calls_of_model:
        proposals[r["scan_id"]].append(r["proposal_mask"])
    true_defects = Counter[int]()
    missed = Counter[int]()
    for r in calls_of_model:
        if r["status"] in CONFIRMED:
            k = _bin_index(r["equivalent_diameter_mm"], bins)
            if k is not None:
                true_defects[k] += 1
    for r in person_calls:
        if r["scan_id"] not in scans:
            continue
        k = _bin_index(r["equivalent_diameter_mm"], bins)
        if k is None:
            continue
        true_defects[k] += 1
        if not any(overlaps(r["mask"], p) for p in proposals[r["scan_id"]]):
            missed[k] += 1
    out = []
    for k, lo in enumerate(bins):
        hi = bins[k + 1] if k + 1 < len(bins) else None
        out.append(
            {
                "min_mm": lo,
                "max_mm": hi,
                "true_defects": true_defects[k],
                "missed": missed[k],
                "miss_rate": _rate(missed[k], true_defects[k]),
            }
        )
    return out


def agreement(
    store: Store,
    *,
    model_name: str | None = None,
    scan_id: str | None = None,
    bins_mm: Sequence[float] = DEFAULT_BINS_MM,
) -> dict[str, Any]:
    """Per model version: confusion matrix, false-call, acceptance and miss rates, counts.

    Returns {"models": [{"model": {"name", "version"}, "counts": {"reviewed", "accepted",
    "corrected", "rejected", "open"}, "confusion": {"rows", "columns", "matrix"},
    "false_call_rate", "acceptance_rate", "correction_rate", "class_agreement",
    "miss_rate_by_size": [{"min_mm", "max_mm", "true_defects", "missed", "miss_rate"}]}],
    "bins_mm", "scan_id", "model_name"}. Rates are None where nothing was reviewed.
    Rows of the matrix are the proposed classes, columns the final classes then "rejected".
    """
    bins = [float(b) for b in bins_mm]
    if not bins or any(b >= c for b, c in itertools.pairwise(bins)):
        raise ValueError(f"bins_mm must be increasing lower edges, got {list(bins_mm)}")
    rows = call_rows(store, statuses=STATUSES, scan_id=scan_id, with_masks=True)
    person = [r for r in rows if model_of(r)["kind"] in PERSON_SOURCES and r["status"] in CONFIRMED]
    models = []
    for (name, version), group in sorted(
        _model_calls(rows, model_name).items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        reviewed = [r for r in group if r["status"] in REVIEWED]
        status = Counter(r["status"] for r in group)
        matrix = [[0] * len(COLUMNS) for _ in CLASSES]
        for r in reviewed:
            final = r["class"] if r["status"] in CONFIRMED else "rejected"
            matrix[CLASSES.index(model_of(r)["class"])][COLUMNS.index(final)] += 1
        confirmed = status["accepted"] + status["corrected"]
        diagonal = sum(matrix[i][i] for i in range(len(CLASSES)))
        models.append(
            {
                "model": {"name": name, "version": version},
                "counts": {
                    "reviewed": len(reviewed),
                    "accepted": status["accepted"],
                    "corrected": status["corrected"],
                    "rejected": status["rejected"],
                    "open": status["proposed"],
                },
                "confusion": {"rows": list(CLASSES), "columns": list(COLUMNS), "matrix": matrix},
                "false_call_rate": _rate(status["rejected"], len(reviewed)),
                "acceptance_rate": _rate(status["accepted"], len(reviewed)),
                "correction_rate": _rate(status["corrected"], len(reviewed)),
                "class_agreement": _rate(diagonal, confirmed),
                "miss_rate_by_size": _misses(group, person, bins),
            }
        )
    return {"models": models, "bins_mm": bins, "scan_id": scan_id, "model_name": model_name}


def overruled(
    store: Store, *, model_name: str | None = None, scan_id: str | None = None
) -> list[dict[str, Any]]:
    """Model calls a person overruled: rejected, or confirmed with another class or mask.

    Each: {"id", "scan_id", "status", "centroid_zyx", "bbox_zyx", "model": {...},
    "proposed_class", "final_class", "changes": {"rejected"?, "class"?: [old, new],
    "mask"?: {"voxels": [old, new]}}, "summary", "reason", "by", "at"}, in scan order.
    """
    rows = call_rows(store, statuses=REVIEWED, scan_id=scan_id, with_masks=True)
    out = []
    picked = [r for group in _model_calls(rows, model_name).values() for r in group]
    picked.sort(key=lambda r: (r["scan_id"], r["z0"], r["y0"], r["x0"], r["id"]))
    decided = decisions(store, [r["id"] for r in picked])
    for r in picked:
        model = model_of(r)
        changes: dict[str, Any] = {}
        words = []
        if r["status"] == "rejected":
            changes["rejected"] = True
            words.append("rejected")
        elif r["class"] != model["class"]:
            changes["class"] = [model["class"], r["class"]]
            words.append(f"class {model['class']} -> {r['class']}")
        if r["status"] != "rejected" and not r["mask"].same_as(r["proposal_mask"]):
            changes["mask"] = {"voxels": [r["proposal_mask"].voxel_count, r["voxel_count"]]}
            words.append("mask corrected")
        if not changes:
            continue
        decision = decided.get(r["id"])
        out.append(
            {
                "id": r["id"],
                "scan_id": r["scan_id"],
                "status": r["status"],
                "centroid_zyx": [r["centroid_z"], r["centroid_y"], r["centroid_x"]],
                "bbox_zyx": [r[c] for c in ("z0", "y0", "x0", "z1", "y1", "x1")],
                "model": {"name": model["name"], "version": model["version"]},
                "proposed_class": model["class"],
                "final_class": None if r["status"] == "rejected" else r["class"],
                "changes": changes,
                "summary": "; ".join(words),
                "reason": r["reason"],
                "by": decision["user"] if decision else r["updated_by"],
                "at": decision["at"] if decision else r["updated_at"],
            }
        )
    return out
