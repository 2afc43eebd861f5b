"""A cascade pre-label path for CT: the classical filter proposes, the network decides.

The classical candidate map (``baseline.candidate_map``) runs over the whole scan at a loose
threshold (``K_SIGMA`` noise sigmas instead of the detector's 4.5), which keeps its recall
high at the price of some extra candidates, with its smooth background terms on a 2x coarser
grid (``coarse``: about half the detector's cost, the same candidates within a few).
Candidate components that come within ``GROUP_GAP`` voxels of each other form a group, and
each group gets a box: its bounding box grown by ``CONTEXT`` voxels of context, a cube of one
of ``SIDES`` (few shapes, so boxes batch) read from the scan, or larger than a window and
then run by sliding windows. The network runs only on these boxes; its segmentation and class
make the calls, scored with the model's own calibration. Everything outside the boxes is
background, and a network component inside a box counts only where it touches that box's own
candidates (dilated by a voxel): the network segments and classifies the candidates and adds
nothing of its own in the margins, where it sees the least context. Boxes may overlap; a
defect called from two boxes keeps its larger call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ndelab import native
from ndelab.inference.baseline import candidate_map
from ndelab.inference.calls import Call, boxes_overlapping, shared_voxels
from ndelab.inference.hybrid import classical_calls
from ndelab.inference.instances import instances_from_probabilities
from ndelab.inference.intensity import Levels, estimate_levels
from ndelab.inference.registry import ModelSpec
from ndelab.inference.sliding import SlidingWindow
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

K_SIGMA = 3.5  # proposal threshold: the baseline calls at 4.5
CONTEXT = 3  # voxels of context around a candidate's bounding box
SIDES = (12, 16, 24, 32, 48, 64)  # box sides up to a window
ROUND = 8
GROUP_GAP = 2  # candidates this close share a box
BATCH_VOXELS = 4 * 32**3  # same-shape boxes per forward pass, by input voxels

Box = tuple[int, int, int, int, int, int]  # z0, y0, x0, z1, y1, x1 (end exclusive)


@dataclass
class CascadeStats:
    """What the proposal stage handed the network."""

    candidates: int
    boxes: int
    box_voxels: int
    calls_from_network: int
    calls_kept: int

    def to_json(self, scan_voxels: int) -> dict[str, float | int]:
        return {
            "candidates": self.candidates,
            "boxes": self.boxes,
            "box_fraction": round(self.box_voxels / max(scan_voxels, 1), 4),
            "calls_from_network": self.calls_from_network,
        }


def _side(need: int, window: int) -> int:
    """The box side for an extent of ``need`` voxels: the smallest of ``SIDES`` that holds it,
    or a multiple of ``ROUND`` beyond a window (few distinct shapes, so boxes batch)."""
    side = next((s for s in SIDES if s >= need and s <= window), None)
    return side if side is not None else int(math.ceil(need / ROUND) * ROUND)


def _grow(bbox: Sequence[int], shape: Sequence[int], context: int, window: int) -> Box:
    """Grow a bounding box by ``context`` on each side into a cube of one of ``SIDES`` (or,
    beyond a window, to multiples of ``ROUND`` per side), inside the scan (shifted inward at
    its edges; clipped where the scan is smaller). Cubes: few shapes, so boxes batch, and a
    forward pass of an odd shape costs nearly as much as a batch of small cubes."""
    extents = [b - a + 2 * context for a, b in zip(bbox[:3], bbox[3:], strict=True)]
    cube = _side(max(extents), window)
    lo: list[int] = []
    hi: list[int] = []
    for a, b, n, e in zip(bbox[:3], bbox[3:], shape, extents, strict=True):
        side = min(cube if cube <= window else _side(e, window), n)
        start = int(round((a + b) / 2 - side / 2))
        start = min(max(start, 0), n - side)
        lo.append(start)
        hi.append(start + side)
    return (lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])


def group_candidates(bboxes: npt.NDArray[np.int64], gap: int = GROUP_GAP) -> list[list[int]]:
    """Candidates whose bounding boxes come within ``gap`` voxels of each other, in groups
    (a crack or pore that the loose threshold split in pieces gets one box)."""
    n = len(bboxes)
    grown = np.asarray(bboxes, dtype=np.int64).reshape(-1, 6).copy()
    grown[:, :3] -= gap
    grown[:, 3:] += gap
    pairs = np.array(
        [
            (i, int(j))
            for i in range(n)
            for j in np.flatnonzero(boxes_overlapping(grown[i], grown[i + 1 :])) + i + 1
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}  # in order of each group's first candidate
    for i in range(n):
        groups.setdefault(int(label[i]), []).append(i)
    return list(groups.values())


@dataclass
class Proposal:
    """One box for the network and the candidate components (label ids) it was made for."""

    box: Box
    members: list[int]  # label ids (1-based) in the candidate label image


def propose(
    codes: npt.NDArray[np.uint8],
    *,
    context: int = CONTEXT,
    window: int = 64,
) -> tuple[npt.NDArray[np.int32], list[Proposal]]:
    """The candidates' label image and one box per candidate group (boxes may overlap)."""
    labels, stats = native.label_stats(codes > 0, connectivity=26)
    out: list[Proposal] = []
    if stats.count == 0:
        return labels, out
    bboxes = np.asarray(stats.bbox, dtype=np.int64)
    for members in group_candidates(bboxes):
        sel = bboxes[members]
        union = [*sel[:, :3].min(axis=0).tolist(), *sel[:, 3:].max(axis=0).tolist()]
        box = _grow(union, codes.shape, context, window)
        out.append(Proposal(box, [m + 1 for m in members]))
    return labels, out


def _offset(call: Call, box: Box) -> Call:
    z0, y0, x0 = box[:3]
    b = call.bbox_zyx
    c = call.centroid_zyx
    return replace(
        call,
        bbox_zyx=(b[0] + z0, b[1] + y0, b[2] + x0, b[3] + z0, b[4] + y0, b[5] + x0),
        centroid_zyx=(c[0] + z0, c[1] + y0, c[2] + x0),
    )


def _voxels(box: Box) -> int:
    return (box[3] - box[0]) * (box[4] - box[1]) * (box[5] - box[2])


def _drop_duplicates(calls: list[Call]) -> list[Call]:
    """One call per defect: where two boxes' calls overlap, the larger (the one whose box held
    more of it) is kept."""
    order = sorted(calls, key=lambda c: -c.volume_voxels)
    kept: list[Call] = []
    boxes = np.zeros((len(order), 6), dtype=np.int64)
    for c in order:
        box = np.asarray(c.bbox_zyx, dtype=np.int64)
        near = np.flatnonzero(boxes_overlapping(box, boxes[: len(kept)]))
        if not any(shared_voxels(c, kept[int(i)]) for i in near):
            boxes[len(kept)] = box
            kept.append(c)
    return kept


def _touches(call: Call, near: npt.NDArray[np.bool_]) -> bool:
    z0, y0, x0, z1, y1, x1 = call.bbox_zyx
    return bool(np.any(near[z0:z1, y0:y1, x0:x1] & call.mask))


def _box_probabilities(
    runner: SlidingWindow,
    volume: Volume,
    levels: Levels,
    boxes: list[Box],
    window: int,
) -> list[npt.NDArray[np.uint8]]:
    """uint8 probabilities (classes, *box shape) for each box, in order."""
    out: list[npt.NDArray[np.uint8] | None] = [None] * len(boxes)
    by_shape: dict[tuple[int, int, int], list[int]] = {}
    for i, b in enumerate(boxes):
        shape = (b[3] - b[0], b[4] - b[1], b[5] - b[2])
        if max(shape) > window:  # a long crack's box: sliding windows over it
            data = np.asarray(volume.data[b[0] : b[3], b[1] : b[4], b[2] : b[5]])
            big = np.zeros((runner.classes, *shape), dtype=np.uint8)
            runner.run(replace(volume, data=data), levels, big)
            out[i] = big
        else:
            by_shape.setdefault(shape, []).append(i)
    m = runner.multiple
    for shape, members in by_shape.items():
        net_shape = tuple(int(math.ceil(s / m) * m) for s in shape)
        per = max(1, BATCH_VOXELS // math.prod(net_shape))
        for k in range(0, len(members), per):
            chunk = members[k : k + per]
            blocks = []
            for i in chunk:
                b = boxes[i]
                block = levels.apply(np.asarray(volume.data[b[0] : b[3], b[1] : b[4], b[2] : b[5]]))
                pads = [(0, t - s) for s, t in zip(shape, net_shape, strict=True)]
                if any(p[1] for p in pads):  # only where the scan is smaller than the box
                    block = np.pad(block, pads, mode="edge")
                blocks.append(block)
            probs = runner.predict_blocks(blocks)
            for i, prob in zip(chunk, probs, strict=True):
                inner = prob[:, : shape[0], : shape[1], : shape[2]]
                out[i] = np.clip(np.rint(inner * 255.0), 0, 255).astype(np.uint8)
    return [p for p in out if p is not None]


def cascade_calls(
    volume: Volume,
    spec: ModelSpec,
    net: torch.nn.Module,
    *,
    device: torch.device,
    min_voxels: int,
    threshold: float,
    levels: Levels | None = None,
    k_sigma: float = K_SIGMA,
    context: int = CONTEXT,
    classical_kinds: tuple[str, ...] = (),
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[list[Call], CascadeStats, list[Call]]:
    """The network's calls on the classical candidates' boxes (see the module docstring), the
    stats, and the classical calls of ``classical_kinds`` read off the same candidate map at
    the detector's own threshold (``hybrid.classical_calls``; none when no kind is asked)."""
    if volume.is_2d:
        raise ValueError("the cascade pre-label path is for CT volumes")
    lv = estimate_levels(volume) if levels is None else levels
    codes, snr = candidate_map(
        volume,
        k_sigma=k_sigma,
        coarse=True,
        progress=lambda f: report(progress, 0.3 * f),
        cancel=cancel,
    )
    classical = classical_calls(
        volume, min_voxels=min_voxels, kinds=classical_kinds, mapped=(codes, snr)
    )
    del snr
    labels, proposals = propose(codes, context=context, window=spec.window)
    del codes
    multiple = int(2 ** int(spec.arch.get("levels", 2)))
    runner = SlidingWindow(
        net,
        classes=len(spec.classes),
        window=spec.window,
        overlap=0.25,
        multiple=multiple,
        batch_size=2,
        device=device,
    )
    calls: list[Call] = []
    from_net = 0
    step = 64  # boxes per progress/cancel check
    for k in range(0, len(proposals), step):
        check(cancel, "pre-labelling")
        chunk = proposals[k : k + step]
        boxes = [p.box for p in chunk]
        for prop, probs in zip(
            chunk, _box_probabilities(runner, volume, lv, boxes, spec.window), strict=True
        ):
            found = instances_from_probabilities(
                probs,
                volume.spacing_mm,
                class_names=spec.classes,
                model_name=spec.name,
                model_version=spec.version,
                calibration=spec.calibration,
                threshold=threshold,
                min_voxels=min_voxels,
                cancel=cancel,
            )
            from_net += len(found)
            z0, y0, x0, z1, y1, x1 = prop.box
            own = native.dilate(np.isin(labels[z0:z1, y0:y1, x0:x1], prop.members), 1)
            calls.extend(_offset(f, prop.box) for f in found if _touches(f, own))
        report(progress, 0.3 + 0.65 * min(k + step, len(proposals)) / max(len(proposals), 1))
    del labels
    calls = _drop_duplicates(calls)
    calls.sort(key=lambda c: -c.score)
    stats = CascadeStats(
        candidates=sum(len(p.members) for p in proposals),
        boxes=len(proposals),
        box_voxels=int(sum(_voxels(p.box) for p in proposals)),
        calls_from_network=from_net,
        calls_kept=len(calls),
    )
    return calls, stats, classical
