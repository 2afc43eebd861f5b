"""The bundled demo part: a deterministic casting phantom made on the spot (nothing downloaded)."""

from __future__ import annotations

from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.volume import Volume

DEMO_SEED = 7
DEMO_SIZE = 192


def demo_volume(progress: Progress | None = None, cancel: Cancel | None = None) -> Volume:
    phantom = make_ct_phantom(DEMO_SIZE, seed=DEMO_SEED, progress=progress, cancel=cancel)
    volume = phantom.volume
    volume.source = None
    volume.metadata.setdefault("description", "ndelab demo casting (phantom, seed 7)")
    return volume
