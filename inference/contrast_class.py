"""A CT call's class from the sign of its contrast: the physics the network may not have learnt.

A pore or a crack is a void, so it reads darker than the material around it; an inclusion is
denser than the alloy, so it reads brighter. On small, blurred defects the network's class
probabilities can be near uniform (it sees "something" and cannot tell which), while the sign
of the contrast is plain. A version whose model.json input has ``class_by_contrast: true``
has each 3D call's class set from it: brighter than its shell by more than MARGIN (in units
of the scan's material-minus-air span) is an inclusion; darker by more than MARGIN is a void,
keeping the network's pore or crack (the shape is what tells those apart); in between the
network's class stands. The contrast is kept in the call's evidence either way.
"""

from __future__ import annotations

import numpy as np

from ndelab import native
from ndelab.inference.calls import Call
from ndelab.inference.intensity import Levels
from ndelab.volumes.volume import Volume

MARGIN = 0.05
VOIDS = ("pore", "crack")


def contrast(
    volume: Volume, levels: Levels, call: Call, *, inner: int = 1, outer: int = 3
) -> float:
    """Mean normalised grey value inside the call minus the median of a shell ``inner``..
    ``outer`` voxels around it (negative: darker than its surroundings)."""
    z0, y0, x0, z1, y1, x1 = call.bbox_zyx
    shape = volume.shape
    lo = (max(z0 - outer, 0), max(y0 - outer, 0), max(x0 - outer, 0))
    hi = (min(z1 + outer, shape[0]), min(y1 + outer, shape[1]), min(x1 + outer, shape[2]))
    mask = np.zeros(tuple(h - low for low, h in zip(lo, hi, strict=True)), dtype=bool)
    mask[
        z0 - lo[0] : z1 - lo[0],
        y0 - lo[1] : y1 - lo[1],
        x0 - lo[2] : x1 - lo[2],
    ] = call.mask
    shell = native.dilate(mask, outer) & ~native.dilate(mask, inner)
    if not shell.any() or not mask.any():
        return 0.0
    image = levels.apply(np.asarray(volume.data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]))
    return float(image[mask].mean() - np.median(image[shell]))


def classify_by_contrast(
    volume: Volume, levels: Levels, calls: list[Call], margin: float = MARGIN
) -> list[Call]:
    """Set each 3D call's class from its contrast (see the module docstring), in place."""
    if volume.is_2d:
        return calls
    for call in calls:
        c = contrast(volume, levels, call)
        call.evidence["contrast"] = c
        if c > margin and "inclusion" in call.class_scores:
            call.class_name = "inclusion"
        elif c < -margin and call.class_name not in VOIDS:
            scores = {k: v for k, v in call.class_scores.items() if k in VOIDS}
            if scores:
                call.class_name = max(scores, key=lambda k: scores[k])
    return calls
