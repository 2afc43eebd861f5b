"""The radiograph under test: one 2D float image, and the checks on lines and ROIs in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.volumes.errors import UsageError
from ndelab.volumes.volume import Volume

F64 = npt.NDArray[np.float64]


def as_radiograph(image: Volume | npt.ArrayLike, what: str = "the image") -> F64:
    """A 2D float64 copy of a radiograph given as a 2D array, a (1, H, W) array or a one-slice
    Volume. A CT volume (more than one slice) is refused: image quality per ISO 17636-2 is a
    property of one projection image."""
    data: Any = image.data if isinstance(image, Volume) else image
    shape = tuple(int(s) for s in getattr(data, "shape", np.shape(data)))
    if not shape:
        raise UsageError(f"{what} is a {type(image).__name__}, not an image array or a Volume")
    if len(shape) == 3 and shape[0] == 1:
        arr = np.asarray(data[0], dtype=np.float64)
    elif len(shape) == 2:
        arr = np.asarray(data, dtype=np.float64)
    elif len(shape) == 3:
        raise UsageError(
            f"{what} is a 3D volume of {shape[0]} slices: image quality (duplex SRb, SNRn) is "
            "measured on a single radiograph"
        )
    else:
        raise UsageError(f"{what} has shape {shape}: a radiograph is a 2D image")
    if min(arr.shape) < 2:
        raise UsageError(f"{what} of {arr.shape[0]} x {arr.shape[1]} pixels is too small")
    if not np.isfinite(arr).all():
        raise UsageError(f"{what} holds NaN or infinite values")
    return arr


def pixel_mm(image: Volume | npt.ArrayLike, given: float | None = None) -> float | None:
    """The detector pixel pitch in mm: ``given``, else the Volume's in-plane spacing when the
    file stated one, else None (readings stay in pixels and element numbers)."""
    if given is not None:
        if not given > 0:
            raise UsageError(f"pixel size {given} mm must be positive")
        return float(given)
    if isinstance(image, Volume) and image.spacing_known:
        sy, sx = image.spacing_mm[1], image.spacing_mm[2]
        if abs(sy - sx) > 1e-6 * max(sy, sx):
            raise UsageError(
                f"the radiograph's pixels are not square ({sy} x {sx} mm): give the pixel size"
            )
        return float(sx)
    return None


@dataclass(frozen=True)
class Line:
    """A line segment in pixel coordinates (row, column), from (y0, x0) to (y1, x1)."""

    y0: float
    x0: float
    y1: float
    x1: float

    def __post_init__(self) -> None:
        for name in ("y0", "x0", "y1", "x1"):  # plain floats, whatever numbers came in
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def of(cls, values: Sequence[float], what: str = "line") -> Line:
        if len(values) != 4:
            raise UsageError(f"the {what} needs four numbers Y0,X0,Y1,X1, got {len(values)}")
        y0, x0, y1, x1 = (float(v) for v in values)
        if not all(np.isfinite((y0, x0, y1, x1))):
            raise UsageError(f"the {what} has a coordinate that is not a number")
        return cls(y0, x0, y1, x1)

    @property
    def length(self) -> float:
        return float(np.hypot(self.y1 - self.y0, self.x1 - self.x0))

    @property
    def direction(self) -> tuple[float, float]:
        """Unit vector (dy, dx) from the start to the end."""
        n = self.length
        return ((self.y1 - self.y0) / n, (self.x1 - self.x0) / n)

    def reversed(self) -> Line:
        return Line(self.y1, self.x1, self.y0, self.x0)

    def at(self, u: float) -> tuple[float, float]:
        """The point ``u`` pixels from the start along the line."""
        dy, dx = self.direction
        return (self.y0 + u * dy, self.x0 + u * dx)

    def to_list(self) -> list[float]:
        return [round(v, 3) for v in (self.y0, self.x0, self.y1, self.x1)]


@dataclass(frozen=True)
class Roi:
    """A rectangle of pixels, rows y0..y1 and columns x0..x1, end exclusive."""

    y0: int
    x0: int
    y1: int
    x1: int

    @classmethod
    def of(cls, values: Sequence[float], what: str = "ROI") -> Roi:
        if len(values) != 4:
            raise UsageError(f"the {what} needs four numbers Y0,X0,Y1,X1, got {len(values)}")
        if any(float(v) != int(v) for v in values):
            raise UsageError(f"the {what} corners must be whole pixel indices, got {list(values)}")
        y0, x0, y1, x1 = (int(v) for v in values)
        if y1 <= y0 or x1 <= x0:
            raise UsageError(f"the {what} {[y0, x0, y1, x1]} is empty: Y1 > Y0 and X1 > X0")
        return cls(y0, x0, y1, x1)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)

    def check_inside(self, shape: tuple[int, ...], what: str = "ROI") -> None:
        h, w = shape[-2], shape[-1]
        if self.y0 < 0 or self.x0 < 0 or self.y1 > h or self.x1 > w:
            raise UsageError(f"the {what} {self.to_list()} lies outside the {h} x {w} pixel image")

    def cut(self, image: F64) -> F64:
        return image[self.y0 : self.y1, self.x0 : self.x1]

    def to_list(self) -> list[int]:
        return [self.y0, self.x0, self.y1, self.x1]
