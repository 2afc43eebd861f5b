"""ndelab.inference: pre-label models, their registry, training and evaluation (and SAM).

The public names below load lazily, so importing a submodule (``ndelab.inference.sam``) does
not pull in the whole pre-label stack.

- ``prelabel(volume, *, model="default", version=None, min_volume_mm3=None,
  min_diameter_mm=None, threshold=None (the version's own, else 0.5), device=None, ...)
  -> PrelabelResult``
- ``Call`` / ``PrelabelResult``: what a run returns, with model name and version.
- ``Registry`` / ``ModelSpec`` / ``ModelError``: named, versioned models.
- ``detect_classical(volume, ...)``: the classical baseline ("classical-baseline").
- ``evaluate(...)`` / ``plot_pod(...)``: held-out quality and POD.
- ``train_default(out_dir, ...)``: reproduce the shipped weights.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "prelabel": ("ndelab.inference.prelabel", "prelabel"),
    "Call": ("ndelab.inference.calls", "Call"),
    "PrelabelResult": ("ndelab.inference.calls", "PrelabelResult"),
    "Registry": ("ndelab.inference.registry", "Registry"),
    "ModelSpec": ("ndelab.inference.registry", "ModelSpec"),
    "ModelError": ("ndelab.inference.registry", "ModelError"),
    "BASELINE_NAME": ("ndelab.inference.registry", "BASELINE_NAME"),
    "detect_classical": ("ndelab.inference.baseline", "detect"),
    "evaluate": ("ndelab.inference.evaluation", "evaluate"),
    "plot_pod": ("ndelab.inference.evaluation", "plot_pod"),
    "train_default": ("ndelab.inference.training", "train_default"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ndelab.inference' has no attribute {name!r}")
