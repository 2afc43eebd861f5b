"""Pre-label throughput: the default model against the classical baseline, same process.

Voxels per second of ``prelabel`` on CT phantoms of 256³ and 512³ (quick: 64³), for the
shipped model and for the classical detector; ratios model/baseline. The 512³ case is
measured for real (every window), not extrapolated; the JSON says so.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ndelab.inference.baseline import detect
from ndelab.inference.device import choose_device
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import Registry
from ndelab.volumes.phantom import make_ct_phantom


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(*, quick: bool = False) -> dict[str, Any]:
    sizes = (64,) if quick else (256, 512)
    spec = Registry().default(3)
    device = str(choose_device(None))
    cases: list[dict[str, Any]] = []
    for size in sizes:
        ph = make_ct_phantom(size, seed=10_500 + size, part="cylinder")
        vol = ph.volume
        voxels = size**3
        t_base, base = _time(lambda v=vol: detect(v))
        case: dict[str, Any] = {
            "size": size,
            "voxels": voxels,
            "extrapolated": False,
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
        cases.append(case)
        del ph, vol
    return {
        "area": "prelabel",
        "model": spec.key if spec is not None else None,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "peer": "classical-baseline (scipy filters + native label_stats)",
        "cases": cases,
        "note": (
            "the model skips windows that hold only air: the part's size matters, not only"
            " the scan's"
        ),
    }
