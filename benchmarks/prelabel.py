"""Pre-label throughput and quality: the classical baseline, the default model over the whole
scan, and the cascade (the network on the classical candidates' boxes only), same process.

Voxels per second of each path on CT phantoms of 256³ and 512³ (quick: 64³), and beside each
the quality of its calls on that same phantom, whose ground truth is known: recall overall and
by equivalent diameter, precision and class accuracy (``evaluation.phantom_quality``). Ratios
model/baseline and cascade/baseline, for throughput and for quality. 256³ always runs whole.
512³ runs whole when the 256³ rate predicts under five minutes for the model; otherwise all
three run on a 112-slice slab through the middle of the part (the full 512 x 512 extent, every
window of two window rows), quality counts the defects wholly inside the slab, and the
model's whole-scan time is extrapolated, with the baseline and the cascade also timed on the
whole scan. Each case's JSON says whether it was extrapolated and how.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ndelab.inference.baseline import detect
from ndelab.inference.device import choose_device, configure_threads
from ndelab.inference.evaluation import phantom_quality
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import Registry
from ndelab.volumes.phantom import make_ct_phantom

SLAB = 112  # two z-rows of 64-voxel windows at 25 % overlap
WHOLE_LIMIT_S = 300.0


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def _quality_ratios(q: dict[str, Any], peer: dict[str, Any]) -> dict[str, float | None]:
    return {k: _ratio(q[k], peer[k]) for k in ("recall", "precision", "class_accuracy")}


def run(*, quick: bool = False) -> dict[str, Any]:
    sizes = (64,) if quick else (256, 512)
    spec = Registry().default(3)
    device = str(choose_device(None))
    cases: list[dict[str, Any]] = []
    rate = 0.0  # model voxels per second of the previous (smaller) case
    if spec is not None:  # the cascade's first call per box shape builds its kernels: warm up
        warm = make_ct_phantom(64, seed=10_499, part="cylinder")
        prelabel(warm.volume, device=device, cascade=True)
    for size in sizes:
        ph = make_ct_phantom(size, seed=10_500 + size, part="cylinder")
        whole = ph.volume
        vol = whole
        # Whole 512³ only when the 256³ rate says it finishes within WHOLE_LIMIT_S.
        expected = size**3 / rate if rate else 0.0
        extrapolated = size >= 512 and expected > WHOLE_LIMIT_S
        z_range = None
        if extrapolated:
            z0 = size // 2 - SLAB // 2
            z_range = (z0, z0 + SLAB)
            vol = replace(whole, data=np.asarray(whole.data)[z0 : z0 + SLAB])
        voxels = int(np.prod(vol.shape))
        t_base, base = _time(lambda v=vol: detect(v))
        quality: dict[str, Any] = {"baseline": phantom_quality(base.calls, ph, z_range=z_range)}
        case: dict[str, Any] = {
            "size": size,
            "voxels": voxels,
            "measured_shape": list(vol.shape),
            "extrapolated": extrapolated,
            "defects": quality["baseline"]["defects"],
            "baseline_seconds": round(t_base, 3),
            "baseline_voxels_per_s": round(voxels / t_base),
            "baseline_calls": len(base.calls),
        }
        if spec is not None:
            t_model, res = _time(lambda v=vol: prelabel(v, device=device, cascade=False))
            t_casc, casc = _time(lambda v=vol: prelabel(v, device=device, cascade=True))
            quality["model"] = phantom_quality(res.calls, ph, z_range=z_range)
            quality["cascade"] = phantom_quality(casc.calls, ph, z_range=z_range)
            case |= {
                "model_seconds": round(t_model, 3),
                "model_voxels_per_s": round(voxels / t_model),
                "model_calls": len(res.calls),
                "cascade_seconds": round(t_casc, 3),
                "cascade_voxels_per_s": round(voxels / t_casc),
                "cascade_calls": len(casc.calls),
                "cascade_boxes": casc.details.get("boxes"),
                "cascade_box_fraction": casc.details.get("box_fraction"),
                "ratio_model_over_baseline_throughput": round(t_base / t_model, 4),
                "ratio_cascade_over_baseline_throughput": round(t_base / t_casc, 4),
                "ratio_cascade_over_model_throughput": round(t_model / t_casc, 4),
                "ratio_cascade_over_baseline_quality": _quality_ratios(
                    quality["cascade"], quality["baseline"]
                ),
                "ratio_cascade_over_model_quality": _quality_ratios(
                    quality["cascade"], quality["model"]
                ),
            }
            rate = voxels / t_model
        case["quality"] = quality
        if extrapolated:
            t_whole, _ = _time(lambda v=whole: detect(v))
            case["method"] = (
                f"all paths timed on slices {z0}-{z0 + SLAB} (full y, x extent); the model's"
                f" whole-scan seconds = slab seconds x {size}/{SLAB}; quality on the defects"
                " wholly inside the slab"
            )
            case["whole_scan_voxels"] = size**3
            case["baseline_whole_scan_seconds_measured"] = round(t_whole, 3)
            if "model_seconds" in case:
                t_cw, _ = _time(lambda v=whole: prelabel(v, device=device, cascade=True))
                case["cascade_whole_scan_seconds_measured"] = round(t_cw, 3)
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
            "model: the network over the whole scan (it skips windows that hold only air: the"
            " part's size matters, not only the scan's); cascade: the network only on boxes"
            " around the classical candidates at a loose threshold (inference.cascade)."
            " Quality is on one phantom per case: a few dozen defects, so differences of a"
            " defect or two are noise; held-out seeds are for `ndelab evaluate`."
        ),
    }
