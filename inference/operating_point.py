"""The operating point of a retrained version, chosen on its data set's validation split.

New weights make other probabilities: the base's threshold is not the new network's best.
The probabilities of each validation scan are computed once and cut at every candidate
threshold. A labelled defect counts as found when a call hits it with its class (as the A/B
and the promotion gate count). The chosen threshold is the one with the highest recall among
those that make no more false calls per scan than the base at its own threshold and lose no
class's recall against the base (classes with at least MIN_CLASS_DEFECTS defects); ties go to
the higher threshold. When none qualifies, the base's threshold is kept.

The validation labels are what engineers confirmed, so a real defect nobody labelled counts
as a false call here: the choice errs towards fewer calls, not more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage

from ndelab.inference.device import choose_device
from ndelab.inference.evaluation import match_calls
from ndelab.inference.hybrid import classical_calls, classical_kinds
from ndelab.inference.instances import instances_from_probabilities, min_voxels_for
from ndelab.inference.intensity import estimate_levels
from ndelab.inference.prelabel import finish_calls, predict_probabilities
from ndelab.inference.registry import ModelSpec, load_network
from ndelab.volumes.volume import Volume

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
MIN_CLASS_DEFECTS = 5


class Labelled(Protocol):
    volume: Volume
    labels: npt.NDArray[np.uint16]
    classes: npt.NDArray[np.uint8]  # training codes (1 pore, 2 crack, 3 inclusion)


def threshold_table(
    scans: Sequence[Labelled],
    spec: ModelSpec,
    net: torch.nn.Module | None,
    thresholds: Sequence[float],
) -> list[dict[str, Any]]:
    """Recall of the labelled defects and false calls per scan at each threshold."""
    device = choose_device(None)
    net = load_network(spec, device) if net is None else net.to(device).eval()
    tally = {t: [0, 0, 0] for t in thresholds}  # defects, hits, false calls
    by_class: dict[float, dict[str, list[int]]] = {t: {} for t in thresholds}
    for scan in scans:
        kinds = defect_kinds(scan, spec.classes)
        levels = estimate_levels(scan.volume)
        probs = predict_probabilities(scan.volume, spec, net, device=device, levels=levels)
        min_voxels = min_voxels_for(scan.volume.spacing_mm, is_2d=scan.volume.is_2d)
        # The classical calls do not depend on the threshold: found once per scan.
        classical = classical_calls(
            scan.volume, min_voxels=min_voxels, kinds=classical_kinds(spec.input)
        )
        n = int(scan.labels.max())
        for t in thresholds:
            calls = instances_from_probabilities(
                probs,
                scan.volume.spacing_mm,
                class_names=spec.classes,
                model_name=spec.name,
                model_version=spec.version,
                calibration=spec.calibration,
                threshold=t,
                min_voxels=min_voxels,
            )
            calls = finish_calls(scan.volume, levels, calls, spec, min_voxels, classical)
            match = match_calls(calls, scan.labels, n)
            row = tally[t]
            row[0] += n
            row[2] += sum(not ok for ok in match.call_true)
            for i, hit in enumerate(match.defect_hit):
                found = hit is not None and calls[hit].class_name == kinds[i]
                row[1] += found
                c = by_class[t].setdefault(kinds[i], [0, 0])
                c[0] += 1
                c[1] += found
    return [
        {
            "threshold": t,
            "defects": d,
            "recall": round(h / d, 4) if d else None,
            "false_calls_per_scan": round(f / len(scans), 3) if scans else None,
            "recall_by_class": {
                k: {"n": n, "recall": round(h_ / n, 4)}
                for k, (n, h_) in sorted(by_class[t].items())
            },
        }
        for t, (d, h, f) in tally.items()
    ]


def defect_kinds(scan: Labelled, class_names: Sequence[str]) -> list[str]:
    """Each labelled defect's class: the most common training code in its voxels."""
    kinds = []
    for i, box in enumerate(ndimage.find_objects(scan.labels), start=1):
        codes = scan.classes[box][scan.labels[box] == i] if box is not None else np.zeros(0, int)
        code = (
            int(np.bincount(codes, minlength=len(class_names))[1:].argmax()) + 1
            if len(codes)
            else 0
        )
        kinds.append(class_names[code] if code < len(class_names) else "background")
    return kinds


def choose_threshold(rows: Sequence[dict[str, Any]], base: dict[str, Any]) -> tuple[float, str]:
    """The threshold the module docstring describes, and why, in one sentence."""
    limit = base["false_calls_per_scan"]
    floors = {
        k: v["recall"]
        for k, v in base.get("recall_by_class", {}).items()
        if v["n"] >= MIN_CLASS_DEFECTS
    }

    def keeps_classes(row: dict[str, Any]) -> bool:
        got = row.get("recall_by_class", {})
        return all(k in got and got[k]["recall"] >= floor for k, floor in floors.items())

    fits = [
        r
        for r in rows
        if limit is not None and r["false_calls_per_scan"] <= limit and keeps_classes(r)
    ]
    if not fits:
        return float(base["threshold"]), (
            f"no threshold keeps false calls per scan at or below the base's {limit} "
            f"without losing a class's recall: the base's threshold {base['threshold']} is kept"
        )
    best = max(fits, key=lambda r: (r["recall"] or 0.0, r["threshold"]))
    return float(best["threshold"]), (
        f"threshold {best['threshold']}: validation recall {best['recall']} at "
        f"{best['false_calls_per_scan']} false calls per scan, against the base's "
        f"{base['recall']} at {limit} (threshold {base['threshold']})"
    )
