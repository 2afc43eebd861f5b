"""The frozen test set: scans whose truth comes from human work, written once with its hash.

Scoring a model on the calls reviewers accepted from it is biased (its recall on its own
accepted calls is 1.0 by construction). The frozen set takes truth only from what a person
drew or corrected: calls made by hand (source kind "manual", or "sam": a person placed the
prompt) that were confirmed, and model calls a person corrected (mask or class). Accepted
model calls are the model's own word: their voxels are written as an IGNORE zone, so a call
there counts neither as a hit nor as a false call. Rejected calls are background (a call
there is false). Only scans with no open (proposed) call and at least one human label are
taken.

Layout of ``out_dir`` (new or empty):
    manifest.json                 scans, labels with provenance, per-file sha256, set sha256
    scans/<scan_id>.h5            /image, /labels (instance ids), /classes, /ignore (0/1)

The set's sha256 is over the files' digests and the labels, so a changed file or label is
a different set; inference.frozen_set checks every digest before it scores.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ndelab.annotation.export.dataset import _check_out_dir, _open_scan, _scans, ndelab_version
from ndelab.annotation.export.volumes import write_hdf5
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import list_calls
from ndelab.annotation.store.provenance import (
    CLASS_CODES,
    REVIEWED,
    call_rows,
    decisions,
    provenance,
)
from ndelab.annotation.store.schema import utcnow
from ndelab.volumes.dataset_hash import file_sha256, set_sha256
from ndelab.volumes.errors import NdelabError, UsageError, VolumeWriteError
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report

FORMAT = "ndelab-frozen-set/1"
HUMAN_KINDS = ("manual", "sam")


def truth_kind(row: dict[str, Any]) -> str:
    """ "human" (a label), "unverified" (an accepted model call: ignore zone) or "rejected"."""
    if row["status"] == "rejected":
        return "rejected"
    if row["status"] == "corrected" or row["source_kind"] in HUMAN_KINDS:
        return "human"
    return "unverified"


def create_frozen_set(
    store: Store,
    out_dir: str | Path,
    *,
    name: str = "frozen",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Write the frozen set of ``store`` to ``out_dir``; returns the manifest without labels."""
    out = Path(out_dir)
    created = _check_out_dir(out)
    try:
        return _create(store, out, name, progress, cancel)
    except (Cancelled, NdelabError, OSError) as exc:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            raise VolumeWriteError(exc.filename or out, f"frozen set failed ({exc})") from exc
        raise


def _create(
    store: Store, out: Path, name: str, progress: Progress | None, cancel: Cancel | None
) -> dict[str, Any]:
    rows = call_rows(store, statuses=REVIEWED, with_masks=True)
    by_scan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_scan[r["scan_id"]].append(r)
    open_scans = {r["scan_id"] for r in list_calls(store, status="proposed")}
    chosen = sorted(
        s
        for s, calls in by_scan.items()
        if s not in open_scans and any(truth_kind(r) == "human" for r in calls)
    )
    if not chosen:
        raise UsageError(
            f"database {store.name} has no fully reviewed scan with a label drawn or corrected "
            "by hand; a frozen set needs human truth, not accepted calls"
        )
    scans = _scans(store, chosen)
    decided = decisions(store, [r["id"] for r in rows if r["scan_id"] in scans])
    (out / "scans").mkdir()
    warnings: list[str] = []
    entries: list[dict[str, Any]] = []
    labels_out: list[dict[str, Any]] = []
    for i, scan_id in enumerate(chosen):
        check(cancel, "writing the frozen set")
        scan = scans[scan_id]
        volume, problem = _open_scan(scan)
        if volume is None:
            assert problem is not None
            warnings.append(problem)
            continue
        labels = np.zeros(volume.shape, np.uint16)
        classes = np.zeros(volume.shape, np.uint8)
        ignore = np.zeros(volume.shape, np.uint8)
        human = [r for r in by_scan[scan_id] if truth_kind(r) == "human"]
        for r in by_scan[scan_id]:
            if truth_kind(r) == "unverified":
                r["mask"].paste(ignore, 1)
        for k, r in enumerate(human, start=1):
            r["mask"].paste(labels, k)
            r["mask"].paste(classes, CLASS_CODES[r["class"]])
            labels_out.append(
                {
                    "scan_id": scan_id,
                    "instance_id": k,
                    "class": r["class"],
                    "status": r["status"],
                    "bbox_zyx": [r[c] for c in ("z0", "y0", "x0", "z1", "y1", "x1")],
                    "voxel_count": r["voxel_count"],
                    "volume_mm3": r["volume_mm3"],
                    "equivalent_diameter_mm": r["equivalent_diameter_mm"],
                    "provenance": provenance(r, scan, decided.get(r["id"])),
                }
            )
        ignore[labels > 0] = 0  # a human label wins over an accepted call it overlaps
        rel = f"scans/{scan_id}.h5"
        path = out / rel
        write_hdf5(path, volume, labels, classes, {"scan_id": scan_id}, cancel)
        with h5py.File(path, "a") as fh:
            fh.create_dataset("ignore", data=ignore, compression="gzip")
        status_count = {
            kind: sum(truth_kind(r) == kind for r in by_scan[scan_id])
            for kind in ("human", "unverified", "rejected")
        }
        entries.append(
            {
                "id": scan_id,
                "file": rel,
                "sha256": file_sha256(path),
                "source_path": scan["path"],
                "source_sha256": scan["sha256"],
                "part_id": scan["part_id"],
                "modality": scan["modality"],
                "shape": [int(v) for v in volume.shape],
                "spacing_mm": [float(v) for v in volume.spacing_mm],
                "origin_mm": [float(v) for v in volume.origin_mm],
                "labels": len(human),
                "calls": status_count,
            }
        )
        report(progress, (i + 1) / len(chosen))
    if not entries:
        raise UsageError(f"no scan of the frozen set could be read: {warnings[0]}")
    manifest = {
        "format": FORMAT,
        "name": name,
        "sha256": set_sha256(entries, labels_out),
        "created_at": utcnow().isoformat(),
        "ndelab_version": ndelab_version(),
        "store": store.name,
        "truth": "manual and SAM calls confirmed, model calls corrected by hand; accepted "
        "model calls are an ignore zone, rejected calls background",
        "class_codes": CLASS_CODES,
        "scans": entries,
        "labels": labels_out,
        "warnings": warnings,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    report(progress, 1.0)
    summary: dict[str, Any] = {k: v for k, v in manifest.items() if k != "labels"}
    summary["labels"] = len(labels_out)
    summary["path"] = str(out)
    return summary


__all__ = ["FORMAT", "HUMAN_KINDS", "create_frozen_set", "set_sha256", "truth_kind"]
