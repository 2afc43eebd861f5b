"""Export reviewed labels as a training data set: images, label volumes, a part-wise split.

Only calls a person confirmed (accepted or corrected) become labels. Every label carries its
provenance: the scan (id, path, sha256), the model that proposed it (name, version, its class
and score), the reviewer and the decision time (UTC). Scans are split into train and
validation BY PART, so no part's scans land in both. manifest.json records all of it.

Layout of ``out_dir``:
    manifest.json
    hdf5:  <split>/<scan_id>.h5                      (/image, /labels, /classes)
    nrrd:  <split>/<scan_id>/{image,labels,classes}.nrrd
    nifti: <split>/<scan_id>/{image,labels,classes}.nii.gz
    coco:  images/<split>/*.png, annotations/instances_<split>.json
    dicom-seg: <split>/<scan_id>/seg.dcm and image/*.dcm (DICOM Segmentation and its images;
           see export_dicom_seg)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from ndelab.annotation.export.coco import CocoWriter, Label
from ndelab.annotation.export.volumes import (
    instances_json,
    write_hdf5,
    write_nifti,
    write_nrrd,
)
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import list_calls
from ndelab.annotation.store.provenance import (
    CLASS_CODES,
    CONFIRMED,
    REVIEWED,
    call_rows,
    decisions,
    provenance,
)
from ndelab.annotation.store.schema import PARTS, SCANS, utcnow
from ndelab.volumes.errors import NdelabError, UsageError, VolumeWriteError
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.io import open_volume
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report
from ndelab.volumes.volume import Volume

FORMATS = ("hdf5", "nifti", "nrrd", "coco", "dicom-seg")
SPLITS = ("train", "val")


def ndelab_version() -> str:
    try:
        return importlib.metadata.version("ndelab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def split_parts(part_ids: list[str], val_fraction: float, seed: int) -> dict[str, str]:
    """Part id -> "train" | "val", deterministic from ``seed``.

    Parts are ranked by sha256(seed, part id), so a part keeps its split when others are
    added; the first round(fraction * n) go to validation (at least one when the fraction is
    above 0 and there are two parts or more; at least one stays in training).
    """
    parts = sorted(set(part_ids))
    n = len(parts)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = max(1, n_val)
    if val_fraction < 1 and n >= 1:
        n_val = min(n_val, n - 1) if n >= 2 else 0
    ranked = sorted(parts, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    val = set(ranked[:n_val])
    return {p: ("val" if p in val else "train") for p in parts}


def files_sha256(volume: Volume) -> str | None:
    """sha256 of the scan's files as the workstation records it; None without files."""
    return volume_sha256(volume) if volume.source is not None else None


def _scans(store: Store, scan_ids: list[str]) -> dict[str, dict[str, Any]]:
    scans, parts = SCANS, PARTS
    out: dict[str, dict[str, Any]] = {}
    with store.reading("read scans") as conn:
        for i in range(0, len(scan_ids), 500):
            query = (
                select(scans, parts.c.name.label("part_name"))
                .join(parts, parts.c.id == scans.c.part_id)
                .where(scans.c.id.in_(scan_ids[i : i + 500]))
            )
            for r in conn.execute(query).mappings():
                row = dict(r)
                for k in ("created_at", "updated_at"):
                    row[k] = row[k].isoformat() if row[k] is not None else None
                out[row["id"]] = row
    return out


def _open_scan(scan: dict[str, Any]) -> tuple[Volume | None, str | None]:
    """The scan's volume read from its recorded path, or None and why it cannot be used."""
    path = scan["path"]
    if not path or not Path(path).exists():
        return None, f"scan {scan['id']}: {path or '(no path)'} is missing; skipped"
    try:
        volume = open_volume(path)
        sha = files_sha256(volume) if scan["sha256"] else None
    except (NdelabError, OSError) as exc:
        return None, f"scan {scan['id']}: {path} cannot be read ({exc}); skipped"
    if scan["sha256"] and sha != scan["sha256"]:
        return None, f"scan {scan['id']}: {path} changed since it was reviewed (sha256); skipped"
    if list(volume.shape) != [int(v) for v in scan["shape"]]:
        return None, (
            f"scan {scan['id']}: {path} has shape {list(volume.shape)}, the review recorded "
            f"{list(scan['shape'])}; skipped"
        )
    return volume, None


def _check_out_dir(out_dir: Path) -> bool:
    """True if this export creates the folder (so a failed export may remove it)."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir} is a file, not a folder to export into")
        if any(out_dir.iterdir()):
            raise UsageError(f"{out_dir} is not empty; export into a new or empty folder")
        return False
    try:
        out_dir.mkdir(parents=True)
    except OSError as exc:
        raise VolumeWriteError(out_dir, f"cannot be created ({exc.strerror or exc})") from exc
    return True


def export_dataset(
    store: Store,
    out_dir: str | Path,
    *,
    fmt: str = "hdf5",
    val_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Write the reviewed labels of every reviewed scan to ``out_dir`` (new or empty).

    A scan is exported when at least one of its calls was decided (a scan whose calls were
    all rejected is a reviewed negative). A scan whose file is missing, unreadable or changed
    (sha256) is skipped with a warning. Returns a JSON-ready summary: counts per split and
    class, files written (relative to ``out_dir``), warnings.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not 0.0 <= val_fraction <= 1.0:
        raise UsageError(f"the validation fraction must be between 0 and 1, not {val_fraction}")
    out = Path(out_dir)
    created = _check_out_dir(out)
    try:
        return _export(store, out, fmt, val_fraction, seed, progress, cancel)
    except (Cancelled, NdelabError, OSError) as exc:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            name = exc.filename or out
            raise VolumeWriteError(name, f"export failed ({exc.strerror or exc})") from exc
        raise


def _export(
    store: Store,
    out: Path,
    fmt: str,
    val_fraction: float,
    seed: int,
    progress: Progress | None,
    cancel: Cancel | None,
) -> dict[str, Any]:
    rows = call_rows(store, statuses=REVIEWED, with_masks=True)
    by_scan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_scan[r["scan_id"]].append(r)
    scans = _scans(store, sorted(by_scan))
    split_of = split_parts([s["part_id"] for s in scans.values()], val_fraction, seed)
    labelled = [r["id"] for r in rows if r["status"] in CONFIRMED]
    decided = decisions(store, labelled)
    open_calls = Counter(
        r["scan_id"] for r in list_calls(store, status="proposed") if r["scan_id"] in scans
    )
    now = utcnow()
    exported_at = now.isoformat()
    warnings: list[str] = []
    skipped: list[dict[str, Any]] = []
    files: list[Path] = []
    manifest_scans: list[dict[str, Any]] = []
    manifest_labels: list[dict[str, Any]] = []
    coco = CocoWriter(out) if fmt == "coco" else None
    order = sorted(scans, key=lambda s: (split_of[scans[s]["part_id"]], s))
    for i, scan_id in enumerate(order):
        check(cancel, "exporting the data set")
        scan = scans[scan_id]
        split = split_of[scan["part_id"]]
        volume, problem = _open_scan(scan)
        if volume is None:
            assert problem is not None
            warnings.append(problem)
            skipped.append({"scan_id": scan_id, "path": scan["path"], "reason": problem})
            continue
        confirmed = [r for r in by_scan[scan_id] if r["status"] in CONFIRMED]
        if len(confirmed) > np.iinfo(np.uint16).max:
            problem = f"scan {scan_id} has {len(confirmed)} labels, more than uint16 ids hold"
            warnings.append(problem + "; skipped")
            skipped.append({"scan_id": scan_id, "path": scan["path"], "reason": problem})
            continue
        labels = np.zeros(volume.shape, np.uint16)
        classes = np.zeros(volume.shape, np.uint8)
        instances: list[dict[str, Any]] = []
        overlap = 0
        for k, r in enumerate(confirmed, start=1):
            mask = r["mask"]
            overlap += int(np.count_nonzero(labels[mask.slices()][mask.local()]))
            mask.paste(labels, k)
            mask.paste(classes, CLASS_CODES[r["class"]])
            label = {
                "instance_id": k,
                "scan_id": scan_id,
                "split": split,
                "class": r["class"],
                "class_code": CLASS_CODES[r["class"]],
                "status": r["status"],
                "score": r["score"],
                "bbox_zyx": [r[c] for c in ("z0", "y0", "x0", "z1", "y1", "x1")],
                "voxel_count": r["voxel_count"],
                "volume_mm3": r["volume_mm3"],
                "equivalent_diameter_mm": r["equivalent_diameter_mm"],
                "provenance": provenance(r, scan, decided.get(r["id"])),
            }
            instances.append(label)
        if overlap:
            warnings.append(
                f"scan {scan_id}: labels overlap in {overlap:,} voxels (the later call wins)"
            )
        if open_calls[scan_id]:
            warnings.append(
                f"scan {scan_id} still has {open_calls[scan_id]} open (proposed) call(s); "
                "they are not labelled"
            )
        written = _write_scan(fmt, out, split, volume, scan, labels, classes, instances, cancel)
        if fmt == "dicom-seg":
            # Imported here: highdicom costs a quarter second, and only this format needs it.
            from ndelab.annotation.export.dicom_seg import write_dicom_seg

            result = write_dicom_seg(
                out / split / scan_id,
                volume,
                scan,
                classes,
                instances,
                software_version=ndelab_version(),
                device_serial=store.workstation_id,
                exported_at=now,
                cancel=cancel,
            )
            written += result.files
            warnings += result.warnings
        if coco is not None:
            coco_labels = [
                Label(lab["instance_id"], r["mask"], r["class"], _attributes(lab))
                for lab, r in zip(instances, confirmed, strict=True)
            ]
            written += coco.add_scan(volume, scan, split, coco_labels, cancel)
        files += written
        manifest_labels += instances
        manifest_scans.append(_scan_entry(scan, split, volume, written, out, instances))
        report(progress, (i + 1) / len(order))
    if coco is not None:
        info = {"description": "ndelab reviewed labels", "version": ndelab_version()}
        files += coco.finish(list(SPLITS), {**info, "date_created": exported_at})
    manifest = {
        "ndelab_version": ndelab_version(),
        "exported_at": exported_at,
        "store": store.name,
        "format": fmt,
        "seed": seed,
        "val_fraction": val_fraction,
        "class_codes": CLASS_CODES,
        "parts": {p: split_of[p] for p in sorted(split_of)},
        "scans": manifest_scans,
        "labels": manifest_labels,
        "skipped": skipped,
        "warnings": warnings,
    }
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    files.append(manifest_path)
    report(progress, 1.0)
    return _summary(fmt, out, manifest, files)


def _attributes(label: dict[str, Any]) -> dict[str, Any]:
    """COCO annotation attributes: the call, its decision and full provenance."""
    prov = label["provenance"]
    return {
        "call_id": prov["call_id"],
        "scan_id": label["scan_id"],
        "class": label["class"],
        "status": label["status"],
        "score": label["score"],
        "provenance": prov,
    }


def _write_scan(
    fmt: str,
    out: Path,
    split: str,
    volume: Volume,
    scan: dict[str, Any],
    labels: np.ndarray[Any, np.dtype[np.uint16]],
    classes: np.ndarray[Any, np.dtype[np.uint8]],
    instances: list[dict[str, Any]],
    cancel: Cancel | None,
) -> list[Path]:
    folder = out / split
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "hdf5":
        attrs = {
            "scan_id": scan["id"],
            "part_id": scan["part_id"],
            "split": split,
            "modality": scan["modality"],
            "source_path": scan["path"],
            "source_sha256": scan["sha256"] or "",
            "instances": instances_json(instances),
        }
        return write_hdf5(folder / f"{scan['id']}.h5", volume, labels, classes, attrs, cancel)
    if fmt == "nrrd":
        return write_nrrd(folder / scan["id"], volume, labels, classes, instances, cancel)
    if fmt == "nifti":
        return write_nifti(folder / scan["id"], volume, labels, classes, cancel)
    return []  # coco and dicom-seg write their own files


def _scan_entry(
    scan: dict[str, Any],
    split: str,
    volume: Volume,
    written: list[Path],
    out: Path,
    instances: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": scan["id"],
        "part_id": scan["part_id"],
        "split": split,
        "path": scan["path"],
        "sha256": scan["sha256"],
        "modality": scan["modality"],
        "shape": list(volume.shape),
        "dtype": str(volume.dtype),
        "spacing_mm": list(volume.spacing_mm),
        "origin_mm": list(volume.origin_mm),
        "direction": np.asarray(volume.direction).tolist(),
        "files": [p.relative_to(out).as_posix() for p in written],
        "labels": [lab["instance_id"] for lab in instances],
        "call_ids": [lab["provenance"]["call_id"] for lab in instances],
    }


def _summary(fmt: str, out: Path, manifest: dict[str, Any], files: list[Path]) -> dict[str, Any]:
    splits: dict[str, dict[str, int]] = {s: {"parts": 0, "scans": 0, "labels": 0} for s in SPLITS}
    for split in manifest["parts"].values():
        splits[split]["parts"] += 1
    for scan in manifest["scans"]:
        splits[scan["split"]]["scans"] += 1
        splits[scan["split"]]["labels"] += len(scan["labels"])
    per_class = {name: 0 for name in CLASS_CODES}
    for lab in manifest["labels"]:
        per_class[lab["class"]] += 1
    return {
        "format": fmt,
        "out_dir": str(out),
        "manifest": "manifest.json",
        "splits": splits,
        "classes": per_class,
        "labels": len(manifest["labels"]),
        "scans": len(manifest["scans"]),
        "skipped": manifest["skipped"],
        "warnings": manifest["warnings"],
        "files": [p.relative_to(out).as_posix() for p in files],
    }
