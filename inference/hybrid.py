"""A version's calls completed by the classical detector's.

The networks shipped so far barely see inclusions: a small dense particle, blurred, moves the
class probabilities little, and at a strict threshold nothing is called. The classical
detector finds them well (a component clearly brighter than the local material background,
inference.baseline), and it also finds the smallest pores more often than the network does.
A version's model.json input names which of the classical calls complete its own:
``classical_inclusions: true`` the inclusions, ``classical_pores: true`` the pores, and
``classical_cracks: true`` the cracks. Each classical call of those kinds that no network
call stands for (``_already_called``) is added as a call of that version (its evidence says
where it came from); a classical void around a classical inclusion is that inclusion's halo
and is not added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.inference.baseline import detect
from ndelab.inference.calls import Call
from ndelab.volumes.volume import Volume

KIND_FLAGS = {
    "inclusion": "classical_inclusions",
    "pore": "classical_pores",
    "crack": "classical_cracks",
}


def classical_kinds(input_spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The classical call kinds a version's input asks to be added."""
    return tuple(k for k, flag in KIND_FLAGS.items() if input_spec.get(flag))


def _shared(a: Call, b: Call) -> int:
    """Voxels the two calls' masks share."""
    lo = [max(p, q) for p, q in zip(a.bbox_zyx[:3], b.bbox_zyx[:3], strict=True)]
    hi = [min(p, q) for p, q in zip(a.bbox_zyx[3:], b.bbox_zyx[3:], strict=True)]
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        return 0

    def crop(c: Call) -> npt.NDArray[np.bool_]:
        o = c.bbox_zyx[:3]
        return np.asarray(
            c.mask[tuple(slice(s - p, e - p) for s, e, p in zip(lo, hi, o, strict=True))], bool
        )

    return int((crop(a) & crop(b)).sum())


def _already_called(c: Call, calls: list[Call]) -> bool:
    """Whether a network call stands for classical call ``c``. An inclusion: any overlap. A
    void: half of the smaller of the two shared, since the classical filter draws voids
    larger than they are (its footprint reaches a neighbour's call in a cluster)."""
    if c.class_name == "inclusion":
        return any(_shared(c, n) > 0 for n in calls)
    return any(_shared(c, n) >= 0.5 * min(int(c.mask.sum()), int(n.mask.sum())) for n in calls)


def _boxes_meet(a: Call, b: Call) -> bool:
    lo = [max(p, q) for p, q in zip(a.bbox_zyx[:3], b.bbox_zyx[:3], strict=True)]
    hi = [min(p, q) for p, q in zip(a.bbox_zyx[3:], b.bbox_zyx[3:], strict=True)]
    return all(h > low for low, h in zip(lo, hi, strict=True))


def classical_calls(volume: Volume, *, min_voxels: int, kinds: tuple[str, ...]) -> list[Call]:
    """The classical detector's calls of these kinds on a CT scan, and its inclusions (a void
    around one is its halo: see add_classical); none on a radiograph, and no run when no kind
    is asked for."""
    if volume.is_2d or not kinds:
        return []
    keep = {*kinds, "inclusion"}
    return [c for c in detect(volume, min_voxels=min_voxels).calls if c.class_name in keep]


def add_classical(
    volume: Volume,
    calls: list[Call],
    *,
    kinds: tuple[str, ...],
    model_name: str,
    model_version: str,
    min_voxels: int,
    found: list[Call] | None = None,
) -> list[Call]:
    """``calls`` plus the classical calls of ``kinds`` none of them stands for (3D only);
    ``found``: ``classical_calls`` of this scan already made (one run for many call lists)."""
    if volume.is_2d or not kinds:
        return calls
    extra = []
    found = classical_calls(volume, min_voxels=min_voxels, kinds=kinds) if found is None else found
    # The classical background dips around a dense particle, so it also calls a darker shell
    # there: a void whose box meets an inclusion's is that halo, not a pore.
    dense = [c for c in found if c.class_name == "inclusion"]
    for c in found:
        if c.class_name not in kinds or _already_called(c, calls):
            continue
        if c.class_name != "inclusion" and any(_boxes_meet(c, d) for d in dense):
            continue
        c.model_name, c.model_version = model_name, model_version
        c.evidence[f"classical_{c.class_name}"] = 1.0  # where it came from
        c.class_scores = {c.class_name: c.score}
        extra.append(c)
    return sorted(calls + extra, key=lambda c: -c.score)
