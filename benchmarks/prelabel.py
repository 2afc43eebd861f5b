"""Pre-label throughput: the default model against the classical baseline, same process.

Voxels per second of ``prelabel`` on CT phantoms of 256³ and 512³ (quick: 64³), for the
shipped model and for the classical detector; ratios model/baseline. 256³ always runs
whole. 512³ runs whole when the 256³ rate predicts under five minutes for the model;
otherwise both run on a 112-slice slab through the middle of the part (the full 512 x 512
extent, every window of two window rows) and the model's whole-scan time is extrapolated,
with the baseline also timed on the whole scan. Each case's JSON says whether it was
extrapolated and how.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ndelab.inference.baseline import detect
from ndelab.inference.device import choose_device, configure_threads
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import Registry
from ndelab.volumes.phantom import make_ct_phantom

SLAB = 112  # two z-rows of 64-voxel windows at 25 % overlap
WHOLE_LIMIT_S = 300.0


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(*, quick: bool = False) -> dict[str, Any]:
    sizes = (64,) if quick else (256, 512)
    spec = Registry().default(3)
    device = str(choose_device(None))
    cases: list[dict[str, Any]] = []
    rate = 0.0  # model voxels per second of the previous (smaller) case
    for size in sizes:
        ph = make_ct_phantom(size, seed=10_500 + size, part="cylinder")
        whole = ph.volume
        vol = whole
        # Whole 512³ only when the 256³ rate says it finishes within WHOLE_LIMIT_S.
        expected = size**3 / rate if rate else 0.0
        extrapolated = size >= 512 and expected > WHOLE_LIMIT_S
        if extrapolated:
            z0 = size // 2 - SLAB // 2
            vol = replace(whole, data=np.asarray(whole.data)[z0 : z0 + SLAB])
        voxels = int(np.prod(vol.shape))
        t_base, base = _time(lambda v=vol: detect(v))
        case: dict[str, Any] = {
            "size": size,
            "voxels": voxels,
            "measured_shape": list(vol.shape),
            "extrapolated": extrapolated,
            "baseline_seconds": round(t_base, 3),
            "baseline_voxels_per_s": round(voxels / t_base),
            "baseline_calls": len(base.calls),
        }
        if spec is not None:
            t_model, res = _time(lambda v=vol: prelabel(v, device=device))
            case |= {
                "model_seconds": round(t_model, 3),
                "model_voxels_per_s": round(voxels / t_model),
                "model_calls": len(res.calls),
                "ratio_model_over_baseline_throughput": round(t_base / t_model, 4),
            }
            rate = voxels / t_model
        if extrapolated:
            t_whole, _ = _time(lambda v=whole: detect(v))
            case["method"] = (
                f"model and baseline timed on slices {z0}-{z0 + SLAB} (full y, x extent);"
                f" whole-scan seconds = slab seconds x {size}/{SLAB}"
            )
            case["whole_scan_voxels"] = size**3
            case["baseline_whole_scan_seconds_measured"] = round(t_whole, 3)
            if "model_seconds" in case:
                case["model_whole_scan_seconds_extrapolated"] = round(
                    case["model_seconds"] * size / SLAB, 1
                )
        cases.append(case)
        del ph, vol, whole
    return {
        "area": "prelabel",
        "model": spec.key if spec is not None else None,
        "device": device,
        "torch_threads": configure_threads(),
        "peer": "classical-baseline (scipy filters + native label_stats)",
        "cases": cases,
        "note": (
            "the model skips windows that hold only air: the part's size matters, not only"
            " the scan's"
        ),
    }
