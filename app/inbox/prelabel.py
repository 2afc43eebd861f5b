"""The inbox's pre-labeller: the path ``ndelab prelabel`` takes (find the part, run the model,
turn its calls into measured indications), without touching the store; the inbox commits the
scan and its calls together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.annotation import NewIndication
from ndelab.annotation.store import Store
from ndelab.app.model_serving import prelabel_args
from ndelab.app.workspace import indications_from_calls
from ndelab.volumes.part import segment_part
from ndelab.volumes.volume import Volume


@dataclass(frozen=True)
class Prelabelled:
    """One scan's pre-label result, ready to store."""

    items: list[NewIndication]
    part_mask: npt.NDArray[np.bool_] | None  # None: no part found (no depths, no porosity)
    model: str
    version: str
    seconds: float
    device: str = "cpu"


Prelabeller = Callable[[Volume], Prelabelled]


def model_prelabeller(model: str | None = None, store: Store | None = None) -> Prelabeller:
    """Pre-label with ``model`` (NAME[@VERSION], ``default`` or ``classical-baseline``), or,
    when None, with what serves here: the store's champion alias for the scan's dimensions,
    else the registry's default (app.model_serving), asked again for every scan so that a
    promotion synced in reaches a running inbox."""

    # Loaded now, not on the first arrival: torch's import is not the first scan's wait.
    from ndelab.inference.prelabel import prelabel

    def run(volume: Volume) -> Prelabelled:
        part_mask = segment_part(volume)  # the same part volume and depths as the window's
        chosen = prelabel_args(store, 2 if volume.is_2d else 3, model)
        result = prelabel(volume, **chosen)
        items = indications_from_calls(result.calls, volume.spacing_mm, part_mask)
        return Prelabelled(
            items=items,
            part_mask=part_mask,
            model=result.model_name,
            version=result.model_version,
            seconds=result.seconds,
            device=result.device,
        )

    return run
