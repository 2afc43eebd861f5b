"""From class probabilities to calls: threshold, connected components, class and score.

Components come from the native ``label_stats``; each one's class is the argmax of its mean
defect-class probability, and its score is the model's calibrated confidence (a Platt fit of
hit-or-false-alarm on the component's mean and peak foreground probability, made on held-out
phantoms and stored with the model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.inference.calls import Call
from ndelab.inference.intensity import Levels
from ndelab.volumes.progress import Cancel, check
from ndelab.volumes.volume import Volume

DEFAULT_MIN_VOXELS = 3


def min_voxels_for(
    spacing_mm: tuple[float, float, float],
    *,
    is_2d: bool,
    min_volume_mm3: float | None = None,
    min_diameter_mm: float | None = None,
) -> int:
    """The smallest component kept, in voxels, from a size in mm³ or an equivalent diameter.

    For a one-slice image ``min_volume_mm3`` is an area in mm² and the diameter is a circle's.
    """
    vox = spacing_mm[1] * spacing_mm[2] if is_2d else math.prod(spacing_mm)
    need = 0.0
    if min_volume_mm3 is not None:
        need = max(need, min_volume_mm3 / vox)
    if min_diameter_mm is not None:
        if is_2d:
            need = max(need, math.pi / 4 * min_diameter_mm**2 / vox)
        else:
            need = max(need, math.pi / 6 * min_diameter_mm**3 / vox)
    if min_volume_mm3 is None and min_diameter_mm is None:
        return DEFAULT_MIN_VOXELS
    return max(1, math.ceil(need - 1e-9))


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def calibrated_score(mean_fg: float, max_fg: float, calibration: dict[str, Any]) -> float:
    """Platt scaling on (logit mean, logit max) foreground probability; identity if none."""
    coef = calibration.get("coef")
    if not coef:
        return float(mean_fg)
    z = float(coef[0]) + float(coef[1]) * _logit(mean_fg) + float(coef[2]) * _logit(max_fg)
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


def foreground_mask(
    probs: npt.NDArray[np.uint8], threshold: float, cancel: Cancel | None = None
) -> npt.NDArray[np.bool_]:
    """Voxels whose background probability is below 1 - threshold, built slab by slab."""
    shape = probs.shape[1:]
    mask = np.empty(shape, dtype=np.bool_)
    limit = np.uint8(min(max(round((1.0 - threshold) * 255), 0), 255))
    step = 32
    for z0 in range(0, shape[0], step):
        check(cancel, "pre-labelling")
        mask[z0 : z0 + step] = probs[0, z0 : z0 + step] < limit
    return mask


def instances_from_probabilities(
    probs: npt.NDArray[np.uint8],
    spacing_mm: tuple[float, float, float],
    *,
    class_names: Sequence[str],
    model_name: str,
    model_version: str,
    calibration: dict[str, Any] | None = None,
    threshold: float = 0.5,
    min_voxels: int = DEFAULT_MIN_VOXELS,
    cancel: Cancel | None = None,
) -> list[Call]:
    """Calls from uint8 probabilities (classes, z, y, x); class 0 is background."""
    mask = foreground_mask(probs, threshold, cancel)
    labels, stats = native.label_stats(mask, connectivity=26)
    del mask
    # A radiograph's calls measure area (mm²): its z spacing means nothing.
    vox_mm3 = spacing_mm[1] * spacing_mm[2] if probs.shape[1] == 1 else math.prod(spacing_mm)
    calls: list[Call] = []
    keep = np.flatnonzero(stats.voxel_count >= min_voxels)
    for i in keep:
        check(cancel, "pre-labelling")
        z0, y0, x0, z1, y1, x1 = (int(v) for v in stats.bbox[i])
        sl = (slice(z0, z1), slice(y0, y1), slice(x0, x1))
        m = labels[sl] == i + 1
        p = np.asarray(probs[(slice(None), *sl)], dtype=np.float32)[:, m] / 255.0
        mean = p.mean(axis=1)
        fg = 1.0 - p[0]
        cls = 1 + int(np.argmax(mean[1:]))
        n = int(stats.voxel_count[i])
        fg_mean, fg_max = float(fg.mean()), float(fg.max())
        calls.append(
            Call(
                class_name=class_names[cls],
                score=calibrated_score(fg_mean, fg_max, calibration or {}),
                centroid_zyx=(
                    float(stats.centroid[i, 0]),
                    float(stats.centroid[i, 1]),
                    float(stats.centroid[i, 2]),
                ),
                bbox_zyx=(z0, y0, x0, z1, y1, x1),
                volume_voxels=n,
                volume_mm3=n * vox_mm3,
                mask=m,
                model_name=model_name,
                model_version=model_version,
                class_scores={class_names[c]: float(mean[c]) for c in range(1, len(mean))},
                evidence={"fg_mean": fg_mean, "fg_max": fg_max},
            )
        )
    calls.sort(key=lambda c: -c.score)
    return calls


def neighbourhood(
    volume: Volume, levels: Levels, call: Call, *, inner: int = 1, outer: int = 3
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The normalised grey values of a call's box grown by ``outer`` (not across slices of a
    radiograph), the call's mask in it and the shell ``inner``..``outer`` voxels around it,
    read lazily."""
    z0, y0, x0, z1, y1, x1 = call.bbox_zyx
    shape = volume.shape
    pad = outer if not volume.is_2d else 0
    lo = (max(z0 - pad, 0), max(y0 - outer, 0), max(x0 - outer, 0))
    hi = (min(z1 + pad, shape[0]), min(y1 + outer, shape[1]), min(x1 + outer, shape[2]))
    mask = np.zeros(tuple(h - low for low, h in zip(lo, hi, strict=True)), dtype=bool)
    mask[
        z0 - lo[0] : z1 - lo[0],
        y0 - lo[1] : y1 - lo[1],
        x0 - lo[2] : x1 - lo[2],
    ] = call.mask
    shell = native.dilate(mask, outer) & ~native.dilate(mask, inner)
    image = levels.apply(np.asarray(volume.data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]))
    return image, mask, shell


def open_fraction(
    volume: Volume, levels: Levels, call: Call, *, inner: int = 1, outer: int = 3
) -> float:
    """Share of air in a shell ``inner``..``outer`` voxels around a call.

    A pore, crack or inclusion is enclosed by material, so its shell is metal; a call on a
    bolt hole, a bore or the part's outline opens onto air. The inner voxel is skipped: the
    scanner's blur makes a real pore's rim read half-way to air.
    """
    image, _, shell = neighbourhood(volume, levels, call, inner=inner, outer=outer)
    if not shell.any():
        return 0.0
    return float(np.mean(image[shell] < 0.5))
