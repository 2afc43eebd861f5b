"""A version's calls completed by the classical detector's.

The networks shipped so far barely see inclusions: a small dense particle, blurred, moves the
class probabilities little, and at a strict threshold nothing is called. The classical
detector finds them well (a component clearly brighter than the local material background,
inference.baseline), and it also finds the smallest pores more often than the network does.
A version's model.json input names which of the classical calls complete its own:
``classical_inclusions: true`` the inclusions, ``classical_pores: true`` the pores, and
``classical_cracks: true`` the cracks. Each classical call of those kinds that no network
call stands for (``_already_called``) is added as a call of that version (its evidence says
where it came from), and so are the pores of a classical cluster blob that the network calls
cover only in part (``rest_of_cluster``); a classical void around a classical inclusion is
that inclusion's halo and is not added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab import native
from ndelab.inference.baseline import K_SIGMA, calls_from_map, detect
from ndelab.inference.calls import Call, boxes_overlapping, shared_voxels
from ndelab.volumes.volume import Volume

REST_GAP = 3  # voxels: what of a classical blob lies this near a network call is that call's
REST_MIN_VOXELS = 4  # the smallest rest of a blob that is a pore of its own (about 2 voxels)
REST_SCORE = 0.5  # the classical score of a call 1 sigma past the threshold

KIND_FLAGS = {
    "inclusion": "classical_inclusions",
    "pore": "classical_pores",
    "crack": "classical_cracks",
}


def classical_kinds(input_spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The classical call kinds a version's input asks to be added."""
    return tuple(k for k, flag in KIND_FLAGS.items() if input_spec.get(flag))


def _boxes(calls: list[Call]) -> npt.NDArray[np.int64]:
    return np.asarray([c.bbox_zyx for c in calls], dtype=np.int64).reshape(-1, 6)


def _already_called(c: Call, calls: list[Call], boxes: npt.NDArray[np.int64]) -> bool:
    """Whether a network call stands for classical call ``c`` (``boxes``: the calls' boxes).
    An inclusion: any overlap. A void: half of the smaller of the two shared, since the
    classical filter draws voids larger than they are (its footprint reaches a neighbour's
    call in a cluster: ``rest_of_cluster`` keeps what lies beyond)."""
    for i in _near(c, boxes):
        n = calls[int(i)]
        need = 1 if c.class_name == "inclusion" else 0.5 * min(c.volume_voxels, n.volume_voxels)
        if shared_voxels(c, n) >= need:
            return True
    return False


def _near(c: Call, boxes: npt.NDArray[np.int64], grow: int = 0) -> npt.NDArray[np.intp]:
    """Indices of the boxes that meet call ``c``'s box grown by ``grow`` voxels."""
    box = np.asarray(c.bbox_zyx, dtype=np.int64) + np.array([-grow] * 3 + [grow] * 3)
    return np.flatnonzero(boxes_overlapping(box, boxes))


def rest_of_cluster(
    c: Call, calls: list[Call], boxes: npt.NDArray[np.int64], *, min_voxels: int
) -> list[Call]:
    """The pores of a classical void that the network calls stand for only in part.

    The classical filter draws a cluster of pores as one blob, where the network segments
    each pore tightly and may miss the smallest. What of the blob lies more than
    ``REST_GAP`` voxels from every network call (beyond the filter's own spill around the
    pores they cover), in pieces of at least ``REST_MIN_VOXELS``, are pores of their own.
    """
    z0, y0, x0, z1, y1, x1 = c.bbox_zyx
    g = REST_GAP
    taken = np.zeros((z1 - z0 + 2 * g, y1 - y0 + 2 * g, x1 - x0 + 2 * g), bool)
    for i in _near(c, boxes, g):
        n = calls[int(i)]
        lo = [max(n.bbox_zyx[k], c.bbox_zyx[k] - g) for k in range(3)]
        hi = [min(n.bbox_zyx[k + 3], c.bbox_zyx[k + 3] + g) for k in range(3)]
        src = tuple(slice(lo[k] - n.bbox_zyx[k], hi[k] - n.bbox_zyx[k]) for k in range(3))
        dst = tuple(slice(lo[k] - c.bbox_zyx[k] + g, hi[k] - c.bbox_zyx[k] + g) for k in range(3))
        taken[dst] |= n.mask[src]
    rest = c.mask & ~native.dilate(taken, g)[g:-g, g:-g, g:-g]
    labels, stats = native.label_stats(rest, connectivity=26)
    out = []
    for j in np.flatnonzero(stats.voxel_count >= max(min_voxels, REST_MIN_VOXELS)):
        a0, b0, c0, a1, b1, c1 = (int(v) for v in stats.bbox[j])
        n_vox = int(stats.voxel_count[j])
        out.append(
            replace(
                c,
                bbox_zyx=(z0 + a0, y0 + b0, x0 + c0, z0 + a1, y0 + b1, x0 + c1),
                centroid_zyx=(
                    z0 + float(stats.centroid[j, 0]),
                    y0 + float(stats.centroid[j, 1]),
                    x0 + float(stats.centroid[j, 2]),
                ),
                mask=labels[a0:a1, b0:b1, c0:c1] == j + 1,
                volume_voxels=n_vox,
                volume_mm3=c.volume_mm3 * n_vox / max(c.volume_voxels, 1),
                # Above the threshold, but its own peak is not known: the blob's is no claim
                # for this piece, so it scores as a call just past the threshold would.
                score=min(c.score, REST_SCORE),
                evidence={"blob_peak_snr": c.evidence.get("peak_snr", 0.0), "cluster_rest": 1.0},
            )
        )
    return out


def _adopted(c: Call, model_name: str, model_version: str) -> Call:
    """A classical call made a call of this version (its evidence says where it came from)."""
    c.model_name, c.model_version = model_name, model_version
    c.evidence[f"classical_{c.class_name}"] = 1.0
    c.class_scores = {c.class_name: c.score}
    return c


def classical_calls(
    volume: Volume,
    *,
    min_voxels: int,
    kinds: tuple[str, ...],
    mapped: tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]] | None = None,
) -> list[Call]:
    """The classical detector's calls of these kinds on a CT scan, and its inclusions (a void
    around one is its halo: see add_classical); none on a radiograph, and no run when no kind
    is asked for. ``mapped``: a candidate map of this scan already made (codes and |SNR|, a
    cascade's at its looser threshold), read at the detector's threshold instead of running
    the detector again."""
    if volume.is_2d or not kinds:
        return []
    keep = {*kinds, "inclusion"}
    if mapped is None:
        found = detect(volume, min_voxels=min_voxels).calls
    else:
        found = calls_from_map(volume, *mapped, min_voxels=min_voxels, k_sigma=K_SIGMA)
    return [c for c in found if c.class_name in keep]


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
    dense = _boxes([c for c in found if c.class_name == "inclusion"])
    boxes = _boxes(calls)
    for c in found:
        if c.class_name not in kinds:
            continue
        if c.class_name != "inclusion" and boxes_overlapping(c.bbox_zyx, dense).any():
            continue
        if not _already_called(c, calls, boxes):
            extra.append(_adopted(c, model_name, model_version))
        elif c.class_name == "pore":
            extra.extend(
                _adopted(p, model_name, model_version)
                for p in rest_of_cluster(c, calls, boxes, min_voxels=min_voxels)
            )
    return sorted(calls + extra, key=lambda c: -c.score)
