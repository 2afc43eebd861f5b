"""Scoring a model version on the frozen test set (annotation.export.frozen_set writes it).

Every file's sha256 and the set's hash are checked first: a changed set is refused, so two
scores with the same set hash are comparable. Calls are matched to the human labels as the
phantom evaluation matches them (inference.evaluation.match_calls). A call that hits no label
but overlaps the ignore zone (an accepted model call nobody verified by hand) is
"unverified": neither a hit nor a false call. The scores are kept beside the registry
(``<user models dir>/frozen_scores/<set sha256>/<name>@<version>.json``) so the model card
shows them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ndelab.inference.calls import PrelabelResult
from ndelab.inference.evaluation import fit_pod, match_calls
from ndelab.inference.registry import ModelError, user_models_dir
from ndelab.volumes.dataset_hash import file_sha256, set_sha256
from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

FORMAT = "ndelab-frozen-set/1"
SIZE_BINS_MM: tuple[tuple[float, float], ...] = ((0.0, 0.3), (0.3, 0.6), (0.6, math.inf))

Runner = Callable[[Volume], PrelabelResult]


@dataclass
class FrozenScan:
    scan_id: str
    volume: Volume
    labels: npt.NDArray[np.uint16]
    ignore: npt.NDArray[np.bool_]
    truth: list[dict[str, Any]]  # per instance id 1..n: class, equivalent_diameter_mm


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The frozen set's manifest after every file's digest and the set hash were checked."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(f"{folder} is not a frozen set (no readable manifest.json)") from None
    if manifest.get("format") != FORMAT:
        raise UsageError(f"{folder} is not a frozen set (format {manifest.get('format')!r})")
    for scan in manifest["scans"]:
        path = folder / scan["file"]
        if not path.is_file():
            raise UsageError(f"frozen set {folder}: {scan['file']} is missing")
        if file_sha256(path) != scan["sha256"]:
            raise UsageError(f"frozen set {folder}: {scan['file']} changed since it was frozen")
    if set_sha256(manifest["scans"], manifest["labels"]) != manifest["sha256"]:
        raise UsageError(f"frozen set {folder}: its labels changed since it was frozen")
    return dict(manifest)


def load_frozen_set(folder: str | Path) -> tuple[dict[str, Any], list[FrozenScan]]:
    folder = Path(folder)
    manifest = read_manifest(folder)
    out = []
    for scan in manifest["scans"]:
        with h5py.File(folder / scan["file"], "r") as fh:
            image, labels, ignore = fh["image"][()], fh["labels"][()], fh["ignore"][()]
        truth = sorted(
            (lab for lab in manifest["labels"] if lab["scan_id"] == scan["id"]),
            key=lambda lab: int(lab["instance_id"]),
        )
        volume = Volume(
            np.asarray(image),
            spacing_mm=scan["spacing_mm"],
            origin_mm=scan["origin_mm"],
            modality=scan.get("modality", "CT"),
        )
        out.append(FrozenScan(scan["id"], volume, np.asarray(labels, np.uint16), ignore > 0, truth))
    return manifest, out


def _diameter_mm(volume_mm3: float, one_slice: bool) -> float:
    if one_slice:  # radiograph calls measure an area
        return 2.0 * math.sqrt(max(volume_mm3, 0.0) / math.pi)
    return float((6.0 * max(volume_mm3, 0.0) / math.pi) ** (1.0 / 3.0))


def _bin(d: float) -> str:
    for lo, hi in SIZE_BINS_MM:
        if lo <= d < hi:
            return f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">={lo:g}"
    return "?"


def score_frozen(
    folder: str | Path,
    run: Runner,
    *,
    model: str,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Score the calls ``run`` makes on every frozen scan: recall by class and size, false
    calls per scan, precision, class confusion, sizing bias/spread (mm), POD on diameter."""
    manifest, scans = load_frozen_set(folder)
    defects: list[dict[str, Any]] = []
    false_calls = unverified = true_calls = 0
    per_scan = []
    for i, scan in enumerate(scans):
        check(cancel, "scoring on the frozen set")
        result = run(scan.volume)
        calls = result.calls
        match = match_calls(calls, scan.labels, len(scan.truth))
        scan_false = 0
        for call, ok in zip(calls, match.call_true, strict=True):
            if ok:
                true_calls += 1
                continue
            z0, y0, x0, z1, y1, x1 = call.bbox_zyx
            if scan.ignore[z0:z1, y0:y1, x0:x1][call.mask].any():
                unverified += 1
            else:
                scan_false += 1
        false_calls += scan_false
        per_scan.append({"scan_id": scan.scan_id, "calls": len(calls), "false_calls": scan_false})
        one_slice = scan.volume.is_2d
        for truth, hit in zip(scan.truth, match.defect_hit, strict=True):
            row = {
                "class": truth["class"],
                "diameter_mm": float(truth["equivalent_diameter_mm"]),
                "hit": hit is not None,
                "called_as": None,
                "called_diameter_mm": None,
            }
            if hit is not None:
                row["called_as"] = calls[hit].class_name
                row["called_diameter_mm"] = _diameter_mm(calls[hit].volume_mm3, one_slice)
            defects.append(row)
        report(progress, (i + 1) / len(scans))
    return {
        "model": model,
        "frozen_set": {
            "name": manifest["name"],
            "sha256": manifest["sha256"],
            "scans": len(scans),
            "labels": len(defects),
        },
        **summarise_frozen(defects, true_calls, false_calls, unverified, len(scans)),
        "per_scan": per_scan,
    }


def _recall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    k = sum(r["hit"] for r in rows)
    return {"n": len(rows), "hit": k, "recall": round(k / len(rows), 4) if rows else None}


def summarise_frozen(
    defects: list[dict[str, Any]], true_calls: int, false_calls: int, unverified: int, scans: int
) -> dict[str, Any]:
    hits = [r for r in defects if r["hit"]]
    errors = [r["called_diameter_mm"] - r["diameter_mm"] for r in hits]
    confusion: dict[str, dict[str, int]] = {}
    for r in defects:
        row = confusion.setdefault(r["class"], {})
        key = r["called_as"] if r["hit"] else "missed"
        row[key] = row.get(key, 0) + 1
    bins = sorted({_bin(r["diameter_mm"]) for r in defects})
    pod = fit_pod([r["diameter_mm"] for r in defects], [r["hit"] for r in defects])
    judged = true_calls + false_calls
    return {
        "recall": _recall(defects)["recall"],
        "recall_by_class": {c: _recall([r for r in defects if r["class"] == c]) for c in confusion},
        "recall_by_diameter_mm": {
            b: _recall([r for r in defects if _bin(r["diameter_mm"]) == b]) for b in bins
        },
        "precision": round(true_calls / judged, 4) if judged else None,
        "true_calls": true_calls,
        "false_calls": false_calls,
        "false_calls_per_scan": round(false_calls / scans, 4) if scans else None,
        "unverified_calls": unverified,
        "class_confusion": confusion,
        "class_agreement": round(sum(r["called_as"] == r["class"] for r in hits) / len(hits), 4)
        if hits
        else None,
        "sizing_mm": {
            "n": len(errors),
            "bias": round(float(np.mean(errors)), 4) if errors else None,
            "spread": round(float(np.std(errors, ddof=1)), 4) if len(errors) > 1 else None,
        },
        "pod_diameter_mm": {k: v for k, v in pod.items() if k != "cov"},
    }


def runner_for(name: str, version: str | None) -> tuple[str, Runner]:
    """The model's key and a function that pre-labels one volume with it."""
    from ndelab.inference.prelabel import prelabel
    from ndelab.inference.registry import BASELINE_NAME, Registry

    if name == BASELINE_NAME:
        return name, lambda v: prelabel(v, model=name)
    spec = Registry().get(name, version)
    return spec.key, lambda v: prelabel(v, model=spec.name, version=spec.version)


def scores_dir() -> Path:
    return user_models_dir() / "frozen_scores"


def record_scores(result: dict[str, Any]) -> Path:
    """Keep a score beside the registry (one file per set and model version)."""
    folder = scores_dir() / str(result["frozen_set"]["sha256"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result['model']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def recorded_scores(model_key: str) -> list[dict[str, Any]]:
    """Every frozen-set score recorded for ``model_key`` (name@version), one per set."""
    out = []
    for path in sorted(scores_dir().glob(f"*/{model_key}.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ModelError(f"frozen-set score {path} is unreadable: {exc}") from None
    return out


def brief(score: dict[str, Any]) -> dict[str, Any]:
    """The figures a model card and a retraining comparison show."""
    keep = (
        "frozen_set",
        "recall",
        "recall_by_class",
        "precision",
        "false_calls_per_scan",
        "unverified_calls",
        "class_agreement",
        "sizing_mm",
    )
    out = {k: score[k] for k in keep if k in score}
    out["a90_95_mm"] = score.get("pod_diameter_mm", {}).get("a90_95")
    return out


__all__ = [
    "FrozenScan",
    "brief",
    "load_frozen_set",
    "read_manifest",
    "record_scores",
    "recorded_scores",
    "runner_for",
    "score_frozen",
]
