"""One model replica for a batch worker: the registry read and the networks loaded once, then
reused for every scan the worker pre-labels (a process of the local pool, or a Ray actor)."""

from __future__ import annotations

import torch

from ndelab.inference.calls import PrelabelResult
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import Registry
from ndelab.volumes.progress import Cancel
from ndelab.volumes.volume import Volume


def parse_choice(model: str) -> dict[int, tuple[str, str | None]]:
    """The model a replica runs, per dimensionality: "NAME[@VERSION]" for every scan, or
    "2=NAME[@VERSION];3=NAME[@VERSION]" (app.model_serving.batch_model: the champion serves
    the scans of its own dimensionality, the registry's default the others)."""
    out: dict[int, tuple[str, str | None]] = {}
    for part in model.split(";"):
        dims, sep, ref = part.partition("=")
        if not sep:
            ref, dims = dims, ""
        name, _, version = ref.strip().partition("@")
        for d in (2, 3) if not dims else (int(dims),):
            out[d] = (name, version or None)
    return out


class ModelReplica:
    """``replica(volume)`` is ``prelabel(volume, model=...)`` without reloading the weights."""

    def __init__(self, model: str = "default", *, device: str | None = None) -> None:
        self.model = model
        self._choice = parse_choice(model)
        self.device = device
        self._registry = Registry()
        self._networks: dict[tuple[str, str], torch.nn.Module] = {}

    def __call__(self, volume: Volume, *, cancel: Cancel | None = None) -> PrelabelResult:
        name, version = self._choice[2 if volume.is_2d else 3]
        return prelabel(
            volume,
            model=name,
            version=version,
            device=self.device,
            registry=self._registry,
            networks=self._networks,
            cancel=cancel,
        )


__all__ = ["ModelReplica", "parse_choice"]
