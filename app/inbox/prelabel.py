"""The inbox's pre-labeller: the path ``ndelab prelabel`` takes (find the part, run the model,
turn its calls into measured indications), without touching the store; the inbox commits the
scan and its calls together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.annotation import NewIndication
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


def model_prelabeller(model: str = "default") -> Prelabeller:
    """Pre-label with a registry model (``default``: the one for the scan's dimensions) or the
    classical baseline (``classical-baseline``)."""

    # Loaded now, not on the first arrival: torch's import is not the first scan's wait.
    from ndelab.inference.prelabel import prelabel

    def run(volume: Volume) -> Prelabelled:
        part_mask = segment_part(volume)  # the same part volume and depths as the window's
        result = prelabel(volume, model=model)
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
