"""A version's calls completed by the classical detector's inclusions.

The networks shipped so far barely see inclusions: a small dense particle, blurred, moves the
class probabilities little, and at a strict threshold nothing is called. The classical
detector finds them well (a component clearly brighter than the local material background,
inference.baseline). A version whose model.json input has ``classical_inclusions: true`` adds
each classical inclusion that no network call overlaps, as a call of that version (its
evidence says where it came from). The classical pores and cracks are not taken: the network
is better at those.
"""

from __future__ import annotations

from ndelab.inference.baseline import detect
from ndelab.inference.calls import Call
from ndelab.volumes.volume import Volume


def _overlaps(a: Call, b: Call) -> bool:
    lo = [max(p, q) for p, q in zip(a.bbox_zyx[:3], b.bbox_zyx[:3], strict=True)]
    hi = [min(p, q) for p, q in zip(a.bbox_zyx[3:], b.bbox_zyx[3:], strict=True)]
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        return False

    def crop(c: Call) -> object:
        o = c.bbox_zyx[:3]
        return c.mask[tuple(slice(s - p, e - p) for s, e, p in zip(lo, hi, o, strict=True))]

    return bool((crop(a) & crop(b)).any())  # type: ignore[operator]


def classical_inclusions(volume: Volume, *, min_voxels: int) -> list[Call]:
    """The classical detector's inclusion calls on a CT scan (none on a radiograph)."""
    if volume.is_2d:
        return []
    return [c for c in detect(volume, min_voxels=min_voxels).calls if c.class_name == "inclusion"]


def add_classical_inclusions(
    volume: Volume,
    calls: list[Call],
    *,
    model_name: str,
    model_version: str,
    min_voxels: int,
    found: list[Call] | None = None,
) -> list[Call]:
    """``calls`` plus the classical inclusions none of them overlaps (3D only); ``found``:
    ``classical_inclusions`` of this scan already made (one run for many call lists)."""
    if volume.is_2d:
        return calls
    extra = []
    for c in classical_inclusions(volume, min_voxels=min_voxels) if found is None else found:
        if any(_overlaps(c, n) for n in calls):
            continue
        c.model_name, c.model_version = model_name, model_version
        c.evidence["classical_inclusion"] = 1.0  # where it came from
        c.class_scores = {"inclusion": c.score}
        extra.append(c)
    return sorted(calls + extra, key=lambda c: -c.score)
