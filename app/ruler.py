"""A ruler drawn on a slice: the distance between two points in mm, and the voxel values
along it (the line profile an NDE engineer reads a wall thickness or a gap from).

Points are continuous voxel indices (z, y, x) on one slice normal to ``axis``. Lengths go
through the scan's geometry (origin, direction, spacing), so they are in mm whatever the voxel
shape; a scan whose voxel size is unknown is measured in voxels and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ndelab.volumes.volume import Volume

Point = tuple[float, float, float]


@dataclass(frozen=True)
class Ruler:
    axis: int
    start: Point
    end: Point

    @property
    def index(self) -> int:
        """The slice (along ``axis``) the ruler lies on."""
        return int(round(self.start[self.axis]))

    def length_voxels(self) -> float:
        return float(np.linalg.norm(np.subtract(self.end, self.start)))

    def length_mm(self, volume: Volume) -> float:
        a, b = volume.index_to_world(self.start), volume.index_to_world(self.end)
        return float(np.linalg.norm(b - a))

    def text(self, volume: Volume) -> str:
        if not volume.spacing_known:
            return f"{self.length_voxels():.1f} vox (voxel size unknown)"
        return f"{self.length_mm(volume):.3f} mm"

    def profile(self, volume: Volume) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(distance from the start in mm, or voxels when the size is unknown; voxel value),
        one sample per voxel of length, each the nearest voxel on the ruler's slice."""
        n = max(2, math.ceil(self.length_voxels()) + 1)
        t = np.linspace(0.0, 1.0, n)
        points = np.asarray(self.start) + t[:, None] * np.subtract(self.end, self.start)
        others = [a for a in range(3) if a != self.axis]
        plane = volume.slice(self.axis, min(max(self.index, 0), volume.shape[self.axis] - 1))
        rows = np.clip(np.rint(points[:, others[0]]).astype(int), 0, plane.shape[0] - 1)
        cols = np.clip(np.rint(points[:, others[1]]).astype(int), 0, plane.shape[1] - 1)
        length = self.length_mm(volume) if volume.spacing_known else self.length_voxels()
        return t * length, plane[rows, cols].astype(np.float64)
