"""A CT call's class from physics: the sign of its contrast, then the shape of a void.

A pore or a crack is a void, so it reads darker than the material around it; an inclusion is
denser than the alloy, so it reads brighter. A crack is long and thin; a pore is round. On
small, blurred defects the network's class probabilities can be near uniform (it sees
"something" and cannot tell which), while the sign of the contrast and the elongation of the
mask are plain. A version whose model.json input has ``physical_class: true`` has each 3D
call's class set from them:

- brighter than its shell by more than MARGIN (in units of the scan's material-minus-air
  span): an inclusion;
- darker by more than MARGIN: a void, a crack when its elongation (largest over smallest
  principal extent) exceeds the classical detector's ELONGATION and it spans at least
  CRACK_MIN_EXTENT voxels, else a pore (a 2x2 voxel plate reads as flat, but a void that
  small has no shape to judge);
- in between: the network's class stands.

The contrast and the elongation are kept in the call's evidence either way.
"""

from __future__ import annotations

import numpy as np

from ndelab.inference.baseline import ELONGATION, elongation
from ndelab.inference.calls import Call
from ndelab.inference.instances import neighbourhood
from ndelab.inference.intensity import Levels
from ndelab.volumes.volume import Volume

MARGIN = 0.05
CRACK_MIN_EXTENT = 4  # voxels along a call's longest box side before its shape can say crack


def contrast(
    volume: Volume, levels: Levels, call: Call, *, inner: int = 1, outer: int = 3
) -> float:
    """Mean normalised grey value inside the call minus the median of a shell ``inner``..
    ``outer`` voxels around it (negative: darker than its surroundings)."""
    image, mask, shell = neighbourhood(volume, levels, call, inner=inner, outer=outer)
    if not shell.any() or not mask.any():
        return 0.0
    return float(image[mask].mean() - np.median(image[shell]))


def classify_physically(
    volume: Volume, levels: Levels, calls: list[Call], margin: float = MARGIN
) -> list[Call]:
    """Set each 3D call's class from its contrast and shape (the module docstring), in place."""
    if volume.is_2d:
        return calls
    for call in calls:
        c = contrast(volume, levels, call)
        e = elongation(call.mask)
        call.evidence["contrast"] = c
        call.evidence["elongation"] = e
        if c > margin:
            call.class_name = "inclusion"
        elif c < -margin:
            z0, y0, x0, z1, y1, x1 = call.bbox_zyx
            long_enough = max(z1 - z0, y1 - y0, x1 - x0) >= CRACK_MIN_EXTENT
            call.class_name = "crack" if e > ELONGATION and long_enough else "pore"
    return calls
