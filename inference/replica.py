"""One model replica for a batch worker: the registry read and the networks loaded once, then
reused for every scan the worker pre-labels (a process of the local pool, or a Ray actor)."""

from __future__ import annotations

import torch

from ndelab.inference.calls import PrelabelResult
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import Registry
from ndelab.volumes.progress import Cancel
from ndelab.volumes.volume import Volume


class ModelReplica:
    """``replica(volume)`` is ``prelabel(volume, model=...)`` without reloading the weights."""

    def __init__(self, model: str = "default", *, device: str | None = None) -> None:
        self.model = model
        self.device = device
        self._registry = Registry()
        self._networks: dict[tuple[str, str], torch.nn.Module] = {}

    def __call__(self, volume: Volume, *, cancel: Cancel | None = None) -> PrelabelResult:
        return prelabel(
            volume,
            model=self.model,
            device=self.device,
            registry=self._registry,
            networks=self._networks,
            cancel=cancel,
        )


__all__ = ["ModelReplica"]
