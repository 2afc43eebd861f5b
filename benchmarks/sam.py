"""SAM: encoder seconds per slice, and click-to-mask time of ndelab's predict vs upstream's.

One process, same weights, same embedding, same prompts:
  encoder      the image encoder on a 512² CT slice (resized to the model's input), seconds per
               slice on the CPU, and on the GPU when torch.cuda.is_available()
  click        SamBackend.predict (best mask, upsampled once where it can be foreground) vs
               segment_anything's SamPredictor.predict (all candidates, two full resizes) plus
               the argmax pick; p50/p99 over many prompts, alternating the two
Full mode uses vit_b with random weights (the trained model's compute), built by
segment_anything's build_sam_vit_b(checkpoint=None); quick mode the tests' tiny SAM.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import torch
from segment_anything import SamPredictor, build_sam_vit_b

from ndelab.inference.sam.arch import ARCHS, arch_name, build_model
from ndelab.inference.sam.backend import SamBackend
from ndelab.inference.sam.testing import TINY
from ndelab.inference.sam.windowing import slice_to_rgb

GOAL_CLICK_SPEEDUP = 1.5
GOAL_CLICK_MS = 50.0
SLICE = 512


def _slice(seed: int) -> np.ndarray:
    """A CT-like uint16 slice: a part with a few dark pores in noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SLICE, :SLICE]
    img = np.where((yy - 256) ** 2 + (xx - 256) ** 2 < 200**2, 30000.0, 2000.0)
    for _ in range(6):
        cy, cx, r = rng.integers(120, 390), rng.integers(120, 390), rng.integers(6, 25)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 9000
    return (img + rng.normal(0, 800, img.shape)).clip(0, 65535).astype(np.uint16)


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _encoder(backend: SamBackend, slices: int) -> dict[str, Any]:
    rgbs = [slice_to_rgb(_slice(i), 0, 40000) for i in range(slices + 1)]
    backend.encode(rgbs[-1])  # warm-up (allocator, kernels)
    if backend.device.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for rgb in rgbs[:slices]:
        t = time.perf_counter()
        backend.encode(rgb)
        if backend.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return {"slices": slices, "s_per_slice": statistics.mean(times), "s_each": times}


def _click(backend: SamBackend, repeats: int) -> dict[str, Any]:
    img = _slice(100)
    emb = backend.set_image(slice_to_rgb(img, 0, 40000))
    peer = SamPredictor(backend.model)
    peer.original_size, peer.input_size = emb.original_size, emb.input_size
    peer.features, peer.is_image_set = backend.features_tensor(), True
    rng = np.random.default_rng(5)
    prompts = []
    for i in range(repeats):
        pt = rng.integers(100, 412, size=(1, 2))
        box = None
        if i % 4 == 3:
            r, c = (int(v) for v in pt[0])
            box = (r - 30, c - 30, r + 30, c + 30)
        prompts.append((pt, box))

    def ours(pt: np.ndarray, box: Any) -> np.ndarray:
        return backend.predict(pt, [1], box, multimask=box is None).mask

    def upstream(pt: np.ndarray, box: Any) -> np.ndarray:
        b = None if box is None else np.array([box[1], box[0], box[3], box[2]])
        masks, scores, _ = peer.predict(pt[:, ::-1], np.array([1]), b, multimask_output=box is None)
        return masks[int(np.argmax(scores))]

    for pt, box in prompts[:3]:  # warm-up
        ours(pt, box), upstream(pt, box)
    t_ours, t_up, ious = [], [], []
    for pt, box in prompts:
        t = time.perf_counter()
        a = ours(pt, box)
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = upstream(pt, box)
        t_up.append(time.perf_counter() - t)
        union = np.count_nonzero(a | b)
        ious.append(1.0 if union == 0 else np.count_nonzero(a & b) / union)
    res: dict[str, Any] = {"repeats": repeats, "slice": [SLICE, SLICE]}
    for name, ts in (("ndelab", t_ours), ("upstream", t_up)):
        res[name] = {"p50_ms": _pct(ts, 50) * 1e3, "p99_ms": _pct(ts, 99) * 1e3}
    res["speedup_p50"] = res["upstream"]["p50_ms"] / res["ndelab"]["p50_ms"]
    res["speedup_p99"] = res["upstream"]["p99_ms"] / res["ndelab"]["p99_ms"]
    res["mask_iou_min"] = float(min(ious))
    return res


def run(*, quick: bool = False) -> dict[str, Any]:
    """Encoder s/slice (CPU, and GPU if present) and click-to-mask p50/p99 vs upstream."""
    torch.manual_seed(0)
    if quick:
        model, arch = build_model(TINY), TINY
    else:
        model, arch = build_sam_vit_b(checkpoint=None), ARCHS["vit_b"]
    backend = SamBackend(model.eval(), model_id=f"bench-{arch_name(arch)}", arch=arch)
    result: dict[str, Any] = {
        "model": arch_name(arch),
        "weights": "random (same compute as trained)",
        "torch_threads": torch.get_num_threads(),
        "encoder": {"cpu": _encoder(backend, 2 if quick else 3)},
        "click": {"cpu": _click(backend, 30 if quick else 100)},
    }
    if torch.cuda.is_available():
        backend = SamBackend(model.to("cuda"), model_id=backend.model_id, arch=arch)
        result["encoder"]["cuda"] = _encoder(backend, 3 if quick else 10)
        result["click"]["cuda"] = _click(backend, 30 if quick else 200)
    cpu = result["click"]["cpu"]
    result["goals"] = {
        "click_speedup_min": GOAL_CLICK_SPEEDUP,
        "click_speedup_met": bool(cpu["speedup_p50"] >= GOAL_CLICK_SPEEDUP),
        "click_ms_max": GOAL_CLICK_MS,
        "click_ms_met_cpu": bool(cpu["ndelab"]["p50_ms"] <= GOAL_CLICK_MS),
    }
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
