"""Score calibration: Platt scaling of call scores on held-out phantoms, and reliability."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from torch import nn

from ndelab.inference.registry import ModelSpec
from ndelab.inference.training.config import CALIBRATION_SEEDS
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom
from ndelab.volumes.progress import Cancel, Progress, report


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    out: npt.NDArray[np.float64] = np.log(p / (1 - p))
    return out


def reliability(scores: Sequence[float], truth: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and the reliability table of a set of scores."""
    s = np.asarray(scores, np.float64)
    t = np.asarray(truth, np.float64)
    if s.size == 0:
        return {"n": 0}
    idx = np.minimum((s * bins).astype(int), bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            conf, acc = float(s[sel].mean()), float(t[sel].mean())
            ece += sel.mean() * abs(conf - acc)
            table.append(
                {"bin": b, "n": int(sel.sum()), "score": round(conf, 3), "true": round(acc, 3)}
            )
    return {
        "n": int(s.size),
        "brier": round(float(np.mean((s - t) ** 2)), 4),
        "ece": round(float(ece), 4),
        "table": table,
    }


def calibrate(
    spec: ModelSpec,
    net: nn.Module,
    seeds: Sequence[int],
    sizes: Sequence[int] = (96, 128, 160),
    *,
    cancel: Cancel | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Platt-scale call scores on held-out phantoms (seeds 1000-1999): hit = true defect."""
    from ndelab.inference.evaluation import fit_logistic, make_eval_phantom, score_phantoms
    from ndelab.inference.prelabel import run_model

    if any(not CALIBRATION_SEEDS.start <= s < CALIBRATION_SEEDS.stop for s in seeds):
        raise UsageError("calibration seeds must lie in 1000-1999")
    raw_spec = replace(spec, calibration={})

    def phantoms() -> Iterable[tuple[str, Phantom]]:
        for i, seed in enumerate(seeds):
            yield make_eval_phantom(seed, int(sizes[i % len(sizes)]), radiograph=spec.dims == 2)
            report(progress, (i + 1) / len(seeds))

    raw = score_phantoms(
        phantoms(),
        lambda ph: run_model(ph.volume, raw_spec, min_voxels=3, net=net, cancel=cancel),
        cancel=cancel,
    )
    every = raw["calls"]
    # Calls that open onto air (bolt holes, bores, the outline): the limit is twice the 99th
    # percentile of the share of air around true calls (a rare true call on a pore that
    # touches a crack or a cluster may be far more open; one such must not lift the limit).
    open_true = [c.get("open_fraction", 0.0) for c in every if c["true"]]
    open_max = None
    if spec.dims == 3 and open_true:
        open_max = max(0.05, math.ceil(200 * float(np.percentile(open_true, 99))) / 100)
    calls = [c for c in every if open_max is None or c.get("open_fraction", 0.0) <= open_max]
    mean = np.array([c["fg_mean"] for c in calls])
    peak = np.array([c["fg_max"] for c in calls])
    truth = np.array([c["true"] for c in calls], dtype=bool)
    features = np.column_stack([_logit(mean), _logit(peak)])
    coef, _ = fit_logistic(features, truth, ridge=1e-3)
    after = 1 / (1 + np.exp(-(coef[0] + features @ coef[1:])))
    return {
        "method": "platt",
        "features": ["logit(mean foreground probability)", "logit(max foreground probability)"],
        "coef": [round(float(c), 5) for c in coef],
        "seeds": [min(seeds), max(seeds)],
        "open_fraction_max": open_max,
        "open_fraction_true_calls": {
            "p50": round(float(np.median(open_true)), 4) if open_true else None,
            "p99": round(float(np.percentile(open_true, 99)), 4) if open_true else None,
            "max": round(max(open_true), 4) if open_true else None,
        },
        "calls_before_open_filter": len(every),
        "true_calls_before_open_filter": int(sum(c["true"] for c in every)),
        "calls": len(calls),
        "true_calls": int(truth.sum()),
        "before": reliability(mean.tolist(), truth.tolist()),
        "after": reliability(after.tolist(), truth.tolist()),
    }
