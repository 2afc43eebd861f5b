"""prelabel(): run a registered model (or the classical baseline) over a CT volume or a
radiograph and return calls that record the model name and version that made them."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from ndelab.inference.baseline import detect as baseline_detect
from ndelab.inference.calls import Call, PrelabelResult
from ndelab.inference.cascade import cascade_calls
from ndelab.inference.device import choose_batch_size, choose_device, configure_threads
from ndelab.inference.hybrid import add_classical, classical_kinds
from ndelab.inference.instances import (
    instances_from_probabilities,
    min_voxels_for,
    open_fraction,
)
from ndelab.inference.intensity import Levels, estimate_levels
from ndelab.inference.physical_class import classify_physically
from ndelab.inference.radiograph.detector import NAME as XRAY_CLASSICAL
from ndelab.inference.radiograph.detector import detect as xray_detect
from ndelab.inference.radiograph.second_stage import NAME as XRAY_STAGE2
from ndelab.inference.radiograph.second_stage import detect_two_stage, load_stage2
from ndelab.inference.registry import BASELINE_NAME, ModelSpec, Registry, load_network
from ndelab.inference.sliding import SlidingWindow
from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, report
from ndelab.volumes.volume import Volume

__all__ = ["Call", "PrelabelResult", "predict_probabilities", "prelabel"]

# Probability maps larger than this go to a memmap in a temp dir instead of RAM.
IN_MEMORY_LIMIT = 256 * 2**20


def _allocate(shape: tuple[int, ...], tmp: Path | None) -> npt.NDArray[np.uint8]:
    if tmp is None:
        return np.zeros(shape, dtype=np.uint8)
    return np.memmap(tmp / "probabilities.u8", dtype=np.uint8, mode="w+", shape=shape)


def drop_open_calls(
    volume: Volume, levels: Levels, calls: list[Call], open_max: float | None
) -> list[Call]:
    """Record each 3D call's open fraction (air in its shell) and drop those above
    ``open_max``, the model's limit fitted on calibration phantoms (None keeps all)."""
    if volume.is_2d:
        return calls
    kept = []
    for call in calls:
        frac = open_fraction(volume, levels, call)
        call.evidence["open_fraction"] = frac
        if open_max is None or frac <= float(open_max):
            kept.append(call)
    return kept


def finish_calls(
    volume: Volume,
    levels: Levels,
    calls: list[Call],
    spec: ModelSpec,
    min_voxels: int,
    classical: list[Call] | None = None,
) -> list[Call]:
    """What every network path does to its calls, as the version's input asks: drop calls that
    open onto air, set classes from physics (contrast sign, a void's elongation:
    inference.physical_class), add the classical calls the network missed (inference.hybrid;
    ``classical``: those of this scan, when already found)."""
    calls = drop_open_calls(volume, levels, calls, spec.input.get("open_fraction_max"))
    if spec.input.get("physical_class"):
        calls = classify_physically(volume, levels, calls)
    kinds = classical_kinds(spec.input)
    if kinds:
        calls = add_classical(
            volume,
            calls,
            kinds=kinds,
            model_name=spec.name,
            model_version=spec.version,
            min_voxels=min_voxels,
            found=classical,
        )
    return calls


def predict_probabilities(
    volume: Volume,
    spec: ModelSpec,
    net: torch.nn.Module,
    *,
    device: torch.device,
    out: npt.NDArray[np.uint8] | None = None,
    overlap: float = 0.25,
    batch_size: int | None = None,
    levels: Levels | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> npt.NDArray[np.uint8]:
    """uint8 class probabilities (classes, z, y, x) * 255 from sliding windows."""
    classes = len(spec.classes)
    if out is None:
        out = np.zeros((classes, *volume.shape), dtype=np.uint8)
    window = spec.window
    base = int(spec.arch.get("base", 16))
    bs = batch_size or choose_batch_size(device, window**3, base)
    multiple = int(2 ** int(spec.arch.get("levels", 2)))
    runner = SlidingWindow(
        net,
        classes=classes,
        window=window,
        overlap=overlap,
        multiple=multiple,
        batch_size=bs,
        device=device,
    )
    lv = estimate_levels(volume) if levels is None else levels
    runner.run(volume, lv, out, progress=progress, cancel=cancel)
    return out


def prelabel(
    volume: Volume,
    *,
    model: str = "default",
    version: str | None = None,
    min_volume_mm3: float | None = None,
    min_diameter_mm: float | None = None,
    threshold: float | None = None,
    device: str | None = None,
    overlap: float = 0.25,
    registry: Registry | None = None,
    networks: dict[tuple[str, str], torch.nn.Module] | None = None,
    cascade: bool | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PrelabelResult:
    """Pre-label a volume: ``model`` is "default", a registered name, "classical-baseline" or
    (radiographs) "ndelab-xray-classical" (the first stage alone) or "ndelab-xray-stage2".

    ``min_volume_mm3`` / ``min_diameter_mm`` drop calls smaller than that (converted to
    voxels with the scan's spacing). 2D volumes (radiographs) use the default 2D model, or the
    classical radiograph detector (``inference.radiograph.detector``) when no 2D model is
    registered, followed by its learned second stage when that is installed
    (``inference.radiograph.second_stage``); "classical-baseline" still names the older
    baseline for both.

    ``threshold`` (of the class probability maps) defaults to the version's own operating
    point (``input.threshold`` in its model.json), else 0.5.
    ``networks``: a cache of loaded networks by (model key, device), kept by a caller that
    pre-labels many scans with one model replica (a batch engine's worker).
    ``cascade`` (CT only): True runs the network only on boxes around the classical
    detector's loose candidates (``inference.cascade``), False over the whole scan; None
    follows the version's ``input.cascade`` (whole scan when absent).
    """
    t0 = time.perf_counter()
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise UsageError(f"pre-label threshold {threshold} must be between 0 and 1")
    if not 0.0 <= overlap < 1.0:
        raise UsageError(f"window overlap {overlap} must be at least 0 and below 1")
    min_voxels = min_voxels_for(
        volume.spacing_mm,
        is_2d=volume.is_2d,
        min_volume_mm3=min_volume_mm3,
        min_diameter_mm=min_diameter_mm,
    )
    dims = 2 if volume.is_2d else 3
    reg = registry or Registry()
    spec: ModelSpec | None = None
    if model not in (BASELINE_NAME, XRAY_CLASSICAL, XRAY_STAGE2):
        spec = reg.default(dims) if model == "default" else reg.get(model, version)
    if spec is None and volume.is_2d and model != BASELINE_NAME:
        # Radiographs without a 2D network: the NDE-style detector, with its learned second
        # stage when the weights are there (unless the first stage alone is asked for).
        stage2 = None if model == XRAY_CLASSICAL else load_stage2()
        if model == XRAY_STAGE2 and stage2 is None:
            raise UsageError(f"model {XRAY_STAGE2} is not installed: its weights are missing")
        if stage2 is not None:
            result = detect_two_stage(
                volume, stage2, min_voxels=min_voxels, progress=progress, cancel=cancel
            )
        else:
            result = xray_detect(volume, min_voxels=min_voxels, progress=progress, cancel=cancel)
        if model == "default":
            result.details["note"] = f"no default 2D model: {result.model_name} used"
        result.seconds = time.perf_counter() - t0
        return result
    if spec is None:  # asked for, or no model of this dimensionality exists
        result = baseline_detect(volume, min_voxels=min_voxels, progress=progress, cancel=cancel)
        if model == "default":
            result.details["note"] = f"no default {dims}D model: classical baseline used"
        result.seconds = time.perf_counter() - t0
        return result
    if threshold is None:
        threshold = float(spec.input.get("threshold", 0.5))
    net = None
    if networks is not None:
        dev = choose_device(device)
        key = (spec.key, str(dev))
        if key not in networks:
            networks[key] = load_network(spec, dev)
        net = networks[key]
    return run_model(
        volume,
        spec,
        min_voxels=min_voxels,
        threshold=threshold,
        device=device,
        overlap=overlap,
        net=net,
        cascade=bool(spec.input.get("cascade", False)) if cascade is None else cascade,
        progress=progress,
        cancel=cancel,
        t0=t0,
    )


def run_model(
    volume: Volume,
    spec: ModelSpec,
    *,
    min_voxels: int,
    threshold: float = 0.5,
    device: str | None = None,
    overlap: float = 0.25,
    net: torch.nn.Module | None = None,
    cascade: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    t0: float | None = None,
) -> PrelabelResult:
    """Run one model entry (not necessarily registered yet: training calibrates with it).

    ``cascade``: on a CT scan, the network sees only the classical candidates' boxes.
    """
    t0 = time.perf_counter() if t0 is None else t0
    dims = 2 if volume.is_2d else 3
    if spec.dims != dims:
        raise UsageError(f"model {spec.key} is for {spec.dims}D scans but this scan is {dims}D")
    dev = choose_device(device)
    if dev.type == "cpu":
        configure_threads()
    if net is None:
        net = load_network(spec, dev)
    else:
        net = net.to(dev).eval()
    levels = estimate_levels(volume)
    classical = None  # the classical calls the version adds, when a cascade already has them
    if cascade and not volume.is_2d:
        calls, stats, classical = cascade_calls(
            volume,
            spec,
            net,
            device=dev,
            min_voxels=min_voxels,
            threshold=threshold,
            levels=levels,
            classical_kinds=classical_kinds(spec.input),
            progress=progress,
            cancel=cancel,
        )
        details = {"path": "cascade", **stats.to_json(math.prod(volume.shape))}
    else:
        calls = _whole_scan_calls(
            volume, spec, net, dev, levels, min_voxels, threshold, overlap, progress, cancel
        )
        details = {"overlap": overlap, "path": "full"}
    calls = finish_calls(volume, levels, calls, spec, min_voxels, classical)
    report(progress, 1.0)
    return PrelabelResult(
        calls=calls,
        model_name=spec.name,
        model_version=spec.version,
        seconds=time.perf_counter() - t0,
        device=str(dev),
        details={"threshold": threshold, "min_voxels": min_voxels, **details},
    )


def _whole_scan_calls(
    volume: Volume,
    spec: ModelSpec,
    net: torch.nn.Module,
    dev: torch.device,
    levels: Levels,
    min_voxels: int,
    threshold: float,
    overlap: float,
    progress: Progress | None,
    cancel: Cancel | None,
) -> list[Call]:
    """The network's calls from sliding windows over the whole scan."""
    nbytes = len(spec.classes) * math.prod(volume.shape)
    with tempfile.TemporaryDirectory(prefix="ndelab-prelabel-") as tmp:
        out = _allocate(
            (len(spec.classes), *volume.shape), Path(tmp) if nbytes > IN_MEMORY_LIMIT else None
        )
        predict_probabilities(
            volume,
            spec,
            net,
            device=dev,
            out=out,
            overlap=overlap,
            levels=levels,
            progress=lambda f: report(progress, 0.9 * f),
            cancel=cancel,
        )
        calls = instances_from_probabilities(
            out,
            volume.spacing_mm,
            class_names=spec.classes,
            model_name=spec.name,
            model_version=spec.version,
            calibration=spec.calibration,
            threshold=threshold,
            min_voxels=min_voxels,
            cancel=cancel,
        )
        del out
    return calls
