"""The Volume type: voxels (z, y, x) with their geometry, modality and metadata.

The voxels stay lazy where the format allows: an ``np.memmap`` or an ``h5py.Dataset`` is held
as is and only the slices that are asked for are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vec3 = tuple[float, float, float]

AXIS_NAMES = ("axial", "coronal", "sagittal")  # normal along z, y, x


@runtime_checkable
class VoxelArray(Protocol):
    """What a Volume needs of its voxels: numpy arrays, memmaps and h5py datasets all fit."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    def __getitem__(self, key: Any) -> Any: ...


def as_vec3(values: Sequence[float], name: str = "value") -> Vec3:
    """Three floats (z, y, x) from any sequence of three numbers."""
    return _vec3(values, name)


def _vec3(values: Sequence[float], name: str) -> Vec3:
    if len(values) != 3:
        raise ValueError(f"{name} needs three values (z, y, x), got {len(values)}")
    return (float(values[0]), float(values[1]), float(values[2]))


@dataclass
class Volume:
    """A 3D image (a radiograph is a volume of one slice).

    Attributes:
        data: voxels indexed (z, y, x); lazy where the format allows.
        spacing_mm: voxel size (z, y, x) in mm. When the file gives none, 1.0 with
            ``spacing_known`` False.
        origin_mm: world position of voxel (0, 0, 0), in (z, y, x) order.
        direction: 3x3 matrix whose columns are the world directions of the z, y, x index axes.
        modality: DICOM modality code: CT, DX, CR, ...
        metadata: everything else the file said, DICONDE component information included.
        format: the reader that produced it ("dicom", "vgi", "nrrd", ...).
        source: the path it was read from, if any.
        spacing_known: False when the file gave no or zero spacing.
        warnings: sentences for the user about what was assumed while reading.
    """

    data: VoxelArray
    spacing_mm: Vec3 = (1.0, 1.0, 1.0)
    origin_mm: Vec3 = (0.0, 0.0, 0.0)
    direction: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))
    modality: str = "CT"
    metadata: dict[str, Any] = field(default_factory=dict)
    format: str = "memory"
    source: str | None = None
    spacing_known: bool = True
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.data.shape) == 2:
            # A 2D image becomes a one-slice volume; numpy views keep it lazy.
            if isinstance(self.data, np.ndarray):
                self.data = self.data[np.newaxis]
            else:
                raise ValueError("2D lazy arrays must be given as (1, y, x)")
        if len(self.data.shape) != 3:
            raise ValueError(f"a volume needs 3 dimensions (z, y, x), got shape {self.data.shape}")
        self.spacing_mm = _vec3(self.spacing_mm, "spacing_mm")
        self.origin_mm = _vec3(self.origin_mm, "origin_mm")
        self.direction = np.asarray(self.direction, dtype=np.float64).reshape(3, 3)
        if any(not np.isfinite(s) or s <= 0 for s in self.spacing_mm):
            self.spacing_mm = tuple(  # type: ignore[assignment]
                s if np.isfinite(s) and s > 0 else 1.0 for s in self.spacing_mm
            )
            self.spacing_known = False

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.data.shape
        return (int(z), int(y), int(x))

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.data.dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    @property
    def is_2d(self) -> bool:
        """True for radiographs: a single slice."""
        return self.shape[0] == 1

    @property
    def is_lazy(self) -> bool:
        return not isinstance(self.data, np.ndarray) or isinstance(self.data, np.memmap)

    def slice(self, axis: int, index: int) -> npt.NDArray[Any]:
        """One 2D slice normal to ``axis`` (0 = z/axial, 1 = y/coronal, 2 = x/sagittal).

        Only that slice is read from a lazy source.
        """
        n = self.shape[axis]
        if not 0 <= index < n:
            raise IndexError(f"slice {index} is outside 0..{n - 1} along axis {axis}")
        key: list[Any] = [slice(None)] * 3
        key[axis] = index
        return np.asarray(self.data[tuple(key)])

    def array(self) -> npt.NDArray[Any]:
        """All voxels in memory (reads a lazy source whole: use for small volumes only)."""
        return np.asarray(self.data[()] if not isinstance(self.data, np.ndarray) else self.data)

    def index_to_world(self, zyx: Sequence[float]) -> npt.NDArray[np.float64]:
        """World position (z, y, x order, mm) of a continuous voxel index."""
        idx = np.asarray(zyx, dtype=np.float64)
        world = np.asarray(self.origin_mm) + self.direction @ (idx * np.asarray(self.spacing_mm))
        return np.asarray(world, dtype=np.float64)

    def world_to_index(self, world: Sequence[float]) -> npt.NDArray[np.float64]:
        """Continuous voxel index of a world position (z, y, x order, mm)."""
        rel = np.asarray(world, dtype=np.float64) - np.asarray(self.origin_mm)
        index = np.linalg.solve(self.direction, rel) / np.asarray(self.spacing_mm)
        return np.asarray(index, dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        """The summary ``ndelab info`` prints."""
        return {
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "spacing_mm": list(self.spacing_mm),
            "spacing_known": self.spacing_known,
            "origin_mm": list(self.origin_mm),
            "direction": self.direction.tolist(),
            "modality": self.modality,
            "format": self.format,
            "source": self.source,
            "lazy": self.is_lazy,
            "nbytes": self.nbytes,
            "warnings": list(self.warnings),
            "metadata": jsonable(self.metadata),
        }


def jsonable(value: Any) -> Any:
    """Metadata made printable as JSON (numpy scalars and arrays, bytes, nested dicts)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array {value.shape} {value.dtype}>"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("latin-1", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
