"""What a pre-labeller returns, made from ground-truth labels: one call per label, its mask
cropped to its box (the shape of ndelab.inference.calls.Call that app/workspace reads)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def calls_from_labels(
    labels: np.ndarray, *, score: float = 0.9, model: str = "unit", version: str = "1"
) -> list[SimpleNamespace]:
    calls = []
    for i in range(1, int(labels.max()) + 1):
        zyx = np.argwhere(labels == i)
        if zyx.size == 0:
            continue
        lo, hi = zyx.min(0), zyx.max(0) + 1
        crop = labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] == i
        calls.append(
            SimpleNamespace(
                mask=crop,
                bbox_zyx=(*lo.tolist(), *hi.tolist()),
                class_name="pore",
                score=score,
                model_name=model,
                model_version=version,
            )
        )
    return calls
