"""Retraining from reviewed labels: fine-tune the default model on an exported data set.

The data set is what ``ndelab export --format hdf5|nrrd`` writes (manifest.json, a train/val
split by part). The current default is fine-tuned on the train scans and the new weights are
registered as a new user version. The comparison of the two is made on the frozen test set
(inference.frozen_set: truth drawn or corrected by hand). The export's validation split holds
the calls reviewers ACCEPTED from the current model, so the current model's recall there is
1.0 by construction: that figure is kept only under ``val_accepted_calls_biased``. The default
never moves here: Registry.set_default (or the champion alias) is a separate, explicit step.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage

from ndelab import native
from ndelab.inference.calls import PrelabelResult
from ndelab.inference.evaluation import match_calls
from ndelab.inference.instances import min_voxels_for
from ndelab.inference.intensity import estimate_levels
from ndelab.inference.operating_point import THRESHOLDS, choose_threshold, threshold_table
from ndelab.inference.prelabel import run_model
from ndelab.inference.registry import ModelError, ModelSpec, Registry
from ndelab.inference.training import CropSampler, TrainConfig, train_network
from ndelab.volumes.errors import UsageError
from ndelab.volumes.io import open_volume
from ndelab.volumes.phantom.model import Defect, DefectKind, Phantom
from ndelab.volumes.progress import Cancel, Progress, report
from ndelab.volumes.volume import Volume

# Export class codes -> training codes (1 pore, 2 crack, 3 inclusion). Lack of fusion is a
# planar defect like a crack, and so, to a network that sees shape, is a linear indication;
# "other" has no output channel and stays background.
_TRAIN_CODE = {1: 1, 2: 2, 3: 3, 4: 2, 5: 0, 6: 2}
_KIND: dict[int, DefectKind] = {1: "pore", 2: "crack", 3: "inclusion"}


@dataclass
class LabelledScan:
    scan_id: str
    split: str
    volume: Volume
    labels: npt.NDArray[np.uint16]
    classes: npt.NDArray[np.uint8]  # training codes


def _read_arrays(folder: Path, scan: dict[str, Any], fmt: str) -> tuple[Any, Any, Any]:
    files = [folder / f for f in scan["files"]]
    if fmt == "hdf5":
        path = next(f for f in files if f.suffix in (".h5", ".hdf5"))
        with h5py.File(path, "r") as h5:
            return h5["image"][()], h5["labels"][()], h5["classes"][()]
    if fmt == "nrrd":
        by_name = {f.stem: f for f in files}
        image, labels, classes = (
            open_volume(by_name[k]).array() for k in ("image", "labels", "classes")
        )
        return image, labels, classes
    raise UsageError(f"fine-tuning reads hdf5 or nrrd data sets, not {fmt!r}")


def load_dataset(folder: str | Path) -> list[LabelledScan]:
    """The scans of an exported data set with their label volumes."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: not an ndelab data set (no readable manifest.json)") from exc
    out = []
    lut = np.zeros(256, np.uint8)
    for code, train_code in _TRAIN_CODE.items():
        lut[code] = train_code
    for scan in manifest["scans"]:
        image, labels, classes = _read_arrays(folder, scan, manifest["format"])
        volume = Volume(
            np.asarray(image),
            spacing_mm=scan["spacing_mm"],
            origin_mm=scan["origin_mm"],
            modality=scan.get("modality", "CT"),
        )
        out.append(
            LabelledScan(
                scan["id"],
                scan["split"],
                volume,
                np.asarray(labels, np.uint16),
                lut[np.asarray(classes, np.uint8)],
            )
        )
    return out


def as_phantom(scan: LabelledScan) -> Phantom:
    """A labelled scan in the shape the crop sampler trains from (defects from its labels)."""
    image = np.asarray(scan.volume.data)
    levels = estimate_levels(scan.volume)
    part = native.fill_holes(image > (levels.air + levels.material) / 2) | (scan.labels > 0)
    defects = []
    for i, box in enumerate(ndimage.find_objects(scan.labels), start=1):
        if box is None:
            continue
        local = scan.labels[box] == i
        code = int(np.bincount(scan.classes[box][local], minlength=4)[1:].argmax()) + 1
        centre = np.argwhere(local).mean(axis=0) + [s.start for s in box]
        count = int(local.sum())
        defects.append(
            Defect(
                id=i,
                kind=_KIND[code],
                center_zyx=(float(centre[0]), float(centre[1]), float(centre[2])),
                equivalent_diameter_vox=float((6.0 * count / np.pi) ** (1 / 3)),
                volume_vox=count,
                bbox_zyx=(
                    box[0].start,
                    box[1].start,
                    box[2].start,
                    box[0].stop,
                    box[1].stop,
                    box[2].stop,
                ),
            )
        )
    return Phantom(scan.volume, scan.labels, scan.classes, np.asarray(part, bool), defects)


def score(
    scans: list[LabelledScan],
    spec: ModelSpec,
    net: torch.nn.Module | None = None,
    min_voxels: int = 3,
) -> dict[str, Any]:
    """Recall of labelled defects and precision of calls over ``scans``."""
    defects = hits = calls = true = 0
    for scan in scans:
        result = run_model(scan.volume, spec, min_voxels=min_voxels, net=net)
        n = int(scan.labels.max())
        match = match_calls(result.calls, scan.labels, n)
        defects += n
        hits += sum(h is not None for h in match.defect_hit)
        calls += len(result.calls)
        true += sum(match.call_true)
    return {
        "scans": len(scans),
        "defects": defects,
        "calls": calls,
        "recall": round(hits / defects, 4) if defects else None,
        "precision": round(true / calls, 4) if calls else None,
    }


def _operating_point(
    val: list[LabelledScan], base: ModelSpec, net: torch.nn.Module, extra: dict[str, Any]
) -> dict[str, Any]:
    """The new version's threshold, chosen on the validation split (inference.operating_point),
    with its input spec (the base's, updated by ``extra``)."""
    at_base = float(base.input.get("threshold", 0.5))
    base_row = threshold_table(val, base, None, [at_base])[0]
    new_spec = replace(base, input=dict(base.input) | extra)
    rows = threshold_table(val, new_spec, net, THRESHOLDS)
    threshold, why = choose_threshold(rows, base_row)
    return {"threshold": threshold, "why": why, "base": base_row, "table": rows}


def _named(reg: Registry, key: str) -> ModelSpec:
    name, at, version = key.rpartition("@")
    if not at or not name or not version:
        raise UsageError(f"base model {key!r} must be written NAME@VERSION")
    spec = reg.get(name, version)
    if spec.dims != 3:
        raise UsageError(f"base model {key} is a {spec.dims}D model; fine-tuning is 3D")
    return spec


def finetune(
    dataset: str | Path,
    *,
    name: str | None = None,
    version: str | None = None,
    base_model: str | None = None,
    input_spec: dict[str, Any] | None = None,
    steps: int = 200,
    batch: int = 4,
    crop: int = 32,
    lr: float = 5e-4,
    frozen: str | Path | None = None,
    registry: Registry | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``base_model`` ("NAME@VERSION", e.g. the champion in service; default: the
    registry's default 3D model) on a data set, register it, and compare the two on the
    frozen set ``frozen`` (without one there is no unbiased comparison: "new" and "current"
    are None and a note says so). The new version keeps the base's calibration; its operating
    threshold is chosen on the validation split (inference.operating_point).
    ``input_spec`` entries replace the base's input for the new version (e.g.
    ``physical_class``, inference.physical_class; ``classical_inclusions``,
    inference.hybrid). Training is seeded (the same crops and initial randomness); on a CPU,
    thread scheduling can still change the sums, so a rerun gives close, not identical,
    weights."""
    from ndelab.inference.frozen_set import brief, read_manifest, record_scores, score_frozen

    reg = registry or Registry()
    if frozen is not None:
        read_manifest(frozen)  # a bad or changed frozen set is refused before training
    base = reg.default(3) if base_model is None else _named(reg, base_model)
    if base is None:
        raise ModelError("there is no default 3D model to fine-tune")
    scans = [s for s in load_dataset(dataset) if not s.volume.is_2d]
    train = [s for s in scans if s.split == "train" and s.labels.any()]
    val = [s for s in scans if s.split == "val"]
    if not train or not val:
        raise UsageError(
            f"{dataset}: fine-tuning needs labelled train scans and val scans "
            f"(found {len(train)} and {len(val)}); export more reviewed parts"
        )
    phantoms = [as_phantom(s) for s in train]
    # The shipped recipe's crops: each defect kind equally likely, and the part's surface as
    # hard negatives. Uniform crops over the defects let the many pores crowd out the few
    # cracks and inclusions, and a fine-tune then forgets the rare classes.
    p_defect, p_surface, p_part = TrainConfig().crop_fractions
    sampler = CropSampler(
        list(range(len(phantoms))),
        crop=crop,
        pool=min(4, len(phantoms)),
        make=lambda seed, _rng: phantoms[seed % len(phantoms)],
        rng_seed=0,
        balance=True,
        p_defect=p_defect,
        p_surface=p_surface,
        p_part=p_part,
    )
    torch.manual_seed(0)  # dropout and any random op in training start the same each run
    net = reg.load(base)
    report(progress, 0.05)
    losses = train_network(
        net,
        sampler,
        steps=steps,
        batch=batch,
        lr=lr,
        cancel=cancel,
        progress=None if progress is None else (lambda f: progress(0.05 + 0.7 * f)),
        log=log,
    )
    biased = {"current": score(val, base), "new": score(val, base, net=net)}
    extra = dict(input_spec or {})
    point = _operating_point(val, base, net, extra)
    version = version or f"{base.version}+ft{datetime.now(UTC):%Y%m%d%H%M%S}"
    new_key = f"{name or base.name}@{version}"
    current_frozen = new_frozen = None
    if frozen is not None:

        def runner(weights: torch.nn.Module | None) -> Callable[[Volume], PrelabelResult]:
            # The same smallest call as ``ndelab prelabel`` keeps, so the scores compare.
            return lambda v: run_model(
                v, base, min_voxels=min_voxels_for(v.spacing_mm, is_2d=v.is_2d), net=weights
            )

        current_frozen = score_frozen(frozen, runner(None), model=base.key)
        new_frozen = score_frozen(frozen, runner(net), model=new_key)
    report(progress, 0.95)
    with tempfile.TemporaryDirectory(prefix="ndelab-finetune-") as tmp:
        weights = Path(tmp) / "weights.pt"
        torch.save(net.state_dict(), weights)
        metrics = {
            "held_out": brief(new_frozen) if new_frozen else None,
            "compared_with": {
                "model": base.key,
                "frozen_set": brief(current_frozen) if current_frozen else None,
            },
            "val_accepted_calls_biased": biased,
            "fine_tuned_on": {
                "dataset": str(Path(dataset).resolve()),
                "train_scans": len(train),
                "val_scans": len(val),
                "steps": steps,
                "class_balanced_defect_crops": True,
                "surface_negative_crops": True,
                "final_loss": losses[-1],
            },
            "operating_point": point,
        }
        spec = reg.register(
            name or base.name,
            version,
            weights,
            metrics,
            base=base,
            calibration=base.calibration,
            input_spec={"threshold": point["threshold"], **extra},
        )
    if current_frozen is not None and new_frozen is not None:
        record_scores(current_frozen)
        record_scores(new_frozen)
    default = reg.default(3)
    report(progress, 1.0)
    return {
        "registered": spec.key,
        "base": base.key,
        "default": default.key if default else None,
        "default_unchanged": default is not None and default.key == base.key,
        "compared_on": "frozen set" if frozen is not None else None,
        "frozen_set": current_frozen["frozen_set"] if current_frozen else None,
        "new": brief(new_frozen) if new_frozen else None,
        "current": brief(current_frozen) if current_frozen else None,
        "note": None
        if frozen is not None
        else "no frozen set given (--frozen DIR): no unbiased comparison was made",
        "val_accepted_calls_biased": {
            **biased,
            "note": "the validation labels are calls reviewers accepted from the current "
            "model: its recall there is 1.0 by construction; do not compare on it",
        },
        "train_scans": len(train),
        "val_scans": len(val),
        "operating_point": point,
    }
