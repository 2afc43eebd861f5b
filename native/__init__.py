"""Typed facade over the C++ volume kernels in ``ndelab.native._core``.

Every kernel releases the GIL, runs on all cores (OpenMP), accepts C-, Fortran-ordered and
strided arrays, and raises TypeError (wrong type or dtype) or ValueError (wrong ndim, shape
or option), never crashes. Arrays are (z, y, x); most kernels also take 1D and 2D arrays,
which they treat as 3D arrays with leading axes of length 1.

Masks are bool or uint8 arrays (non-zero is foreground). Results are C-ordered new arrays.
Morphology matches scipy.ndimage with ``border_value=0``: outside the array counts as
background, so a dilation never grows in from the border and an erosion eats voxels whose
element reaches past it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

# Idle OpenMP threads sleep instead of spinning: a desktop app shares its cores with the GUI
# thread and other programs, and spinning workers then slow every kernel several-fold. Read
# when libgomp loads, i.e. on the import below; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _core  # relative, so that mypy reads _core.pyi beside this file

__all__ = [
    "GrowResult",
    "LabelStats",
    "apply_lut",
    "close",
    "dilate",
    "edt",
    "erode",
    "extend_mask_3d",
    "fill_holes",
    "get_threads",
    "label",
    "label_stats",
    "open",
    "region_grow",
    "resample_trilinear",
    "reslice",
    "rle_decode",
    "rle_encode",
    "set_threads",
    "slice_iou",
    "structuring_element",
    "window",
]

Connectivity = Literal[6, 18, 26]
ElementShape = Literal["ball", "box"]
BoolArray = npt.NDArray[np.bool_]


def _array(value: object, fn: str, name: str) -> npt.NDArray[np.generic]:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy array, got {type(value).__name__}")
    return value


def get_threads() -> int:
    """Threads the kernels use for large inputs (OpenMP; small inputs run on one thread)."""
    return int(_core.get_threads())


def set_threads(n: int) -> None:
    """Set the threads the kernels use, process-wide (e.g. 1 to keep a core for the GUI)."""
    _core.set_threads(int(n))


# --- display -------------------------------------------------------------------------------


def window(volume: npt.NDArray[np.generic], low: float, high: float) -> npt.NDArray[np.uint8]:
    """Map the intensity interval [low, high] linearly onto uint8 0..255, clamping outside.

    Accepts uint8, uint16, int16 and float32 arrays of 1 to 3 dimensions. Values round to
    the nearest level; NaN maps to 0. 16-bit inputs go through a 65536-entry table.
    """
    return _core.window(_array(volume, "window", "volume"), float(low), float(high))


def apply_lut(image: npt.NDArray[np.generic], lut: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Look every pixel of a uint8 or uint16 image up in a uint8 table.

    ``lut`` has shape (N,) (result has the image's shape) or (N, C) with C <= 4 (result has
    a trailing channel axis). Values >= N take the table's last entry.
    """
    return _core.apply_lut(_array(image, "apply_lut", "image"), _array(lut, "apply_lut", "lut"))


# --- connected components ------------------------------------------------------------------


@dataclass(frozen=True)
class LabelStats:
    """Per-component statistics; row i describes label i + 1.

    ``bbox`` holds the lows then the exclusive highs per axis, e.g. (z0, y0, x0, z1, y1, x1),
    so ``mask[z0:z1, y0:y1, x0:x1]`` is the component's box. ``sum``, ``min`` and ``max`` are
    of the intensity image, NaN when none was given.
    """

    voxel_count: npt.NDArray[np.int64]
    bbox: npt.NDArray[np.int64]
    centroid: npt.NDArray[np.float64]
    sum: npt.NDArray[np.float64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]

    @property
    def count(self) -> int:
        return int(self.voxel_count.shape[0])

    @property
    def mean(self) -> npt.NDArray[np.float64]:
        """Mean intensity per component."""
        return self.sum / self.voxel_count


def label(
    mask: npt.NDArray[np.generic], connectivity: Connectivity = 26
) -> tuple[npt.NDArray[np.int32], int]:
    """Label the connected components of a mask: (labels int32, number of components).

    Connectivity 6, 18 or 26 as in 3D (on 2D input 6 means 4 and 18/26 mean 8). Labels run
    1..n in raster order of each component's first voxel, as scipy.ndimage.label numbers them.
    """
    labels, count = _core.label(_array(mask, "label", "mask"), int(connectivity))
    return labels, int(count)


def label_stats(
    mask: npt.NDArray[np.generic],
    connectivity: Connectivity = 26,
    intensity: npt.NDArray[np.generic] | None = None,
) -> tuple[npt.NDArray[np.int32], LabelStats]:
    """Label components and gather their statistics in the same pass (see LabelStats)."""
    m = _array(mask, "label_stats", "mask")
    if intensity is not None:
        _array(intensity, "label_stats", "intensity")
    labels, _, raw = _core.label_stats(m, int(connectivity), intensity)
    nd = m.ndim
    # The kernel works in padded 3D; keep only the real axes.
    cols = [*range(3 - nd, 3), *range(6 - nd, 6)]
    stats = LabelStats(
        voxel_count=raw["voxel_count"],
        bbox=np.ascontiguousarray(raw["bbox"][:, cols]),
        centroid=np.ascontiguousarray(raw["centroid"][:, 3 - nd :]),
        sum=raw["sum"],
        min=raw["min"],
        max=raw["max"],
    )
    return labels, stats


# --- morphology ----------------------------------------------------------------------------


def _radius_list(radius: int | Sequence[int], shape: str, ndim: int) -> list[int]:
    if shape == "ball":
        if not isinstance(radius, int | np.integer):
            raise TypeError("a ball element takes one integer radius")
        return [int(radius)]
    if isinstance(radius, int | np.integer):
        return [int(radius)] * ndim
    values = [int(r) for r in radius]
    if len(values) != ndim:
        raise ValueError(f"a box element needs {ndim} half-widths, got {len(values)}")
    return values


def structuring_element(
    radius: int | Sequence[int], shape: ElementShape = "ball", ndim: int = 3
) -> BoolArray:
    """The element the morphology kernels use, for scipy.ndimage comparisons.

    ball: voxels whose squared offset is <= radius**2; box: all offsets within the
    half-widths (one per axis, or one for all axes).
    """
    radii = _radius_list(radius, shape, ndim)
    if shape == "ball":
        r = radii[0]
        grid = np.indices((2 * r + 1,) * ndim) - r
        return np.asarray((grid**2).sum(axis=0) <= r * r)
    if shape == "box":
        return np.ones(tuple(2 * r + 1 for r in radii), dtype=bool)
    raise ValueError(f"element shape must be 'ball' or 'box', got {shape!r}")


def _morph(op: str, mask: object, radius: int | Sequence[int], shape: str) -> BoolArray:
    m = _array(mask, op, "mask")
    return _core.morph(m, op, shape, _radius_list(radius, shape, m.ndim))


def dilate(
    mask: npt.NDArray[np.generic], radius: int | Sequence[int] = 1, shape: ElementShape = "ball"
) -> BoolArray:
    """Binary dilation, identical to scipy.ndimage.binary_dilation(mask, element).

    ``radius`` is 0..16 (ball) or per-axis half-widths (box); see structuring_element. For
    bigger balls threshold the distance transform: ``edt(~mask) <= radius``.
    """
    return _morph("dilate", mask, radius, shape)


def erode(
    mask: npt.NDArray[np.generic], radius: int | Sequence[int] = 1, shape: ElementShape = "ball"
) -> BoolArray:
    """Binary erosion, identical to scipy.ndimage.binary_erosion(mask, element)."""
    return _morph("erode", mask, radius, shape)


def open(
    mask: npt.NDArray[np.generic], radius: int | Sequence[int] = 1, shape: ElementShape = "ball"
) -> BoolArray:
    """Binary opening (erode then dilate), identical to scipy.ndimage.binary_opening."""
    return dilate(erode(mask, radius, shape), radius, shape)


def close(
    mask: npt.NDArray[np.generic], radius: int | Sequence[int] = 1, shape: ElementShape = "ball"
) -> BoolArray:
    """Binary closing (dilate then erode), identical to scipy.ndimage.binary_closing.

    As in scipy, the erosion counts the outside as background, so closing can remove
    foreground within ``radius`` of the array border.
    """
    return erode(dilate(mask, radius, shape), radius, shape)


def fill_holes(mask: npt.NDArray[np.generic]) -> BoolArray:
    """Fill background not 6-connected to the border (scipy.ndimage.binary_fill_holes)."""
    return _core.fill_holes(_array(mask, "fill_holes", "mask"))


# --- distance ------------------------------------------------------------------------------


def edt(
    mask: npt.NDArray[np.generic], spacing: Sequence[float] | None = None
) -> npt.NDArray[np.float32]:
    """Exact Euclidean distance from each foreground voxel to the nearest background voxel.

    ``spacing`` gives the voxel size per axis (default 1). Background voxels are 0; with no
    background voxel at all every distance is +inf.
    """
    m = _array(mask, "edt", "mask")
    sp = [1.0] * m.ndim if spacing is None else [float(s) for s in spacing]
    return _core.edt(m, sp)


# --- resampling ----------------------------------------------------------------------------


def resample_trilinear(
    volume: npt.NDArray[np.generic],
    out_shape: Sequence[int] | None = None,
    *,
    zoom: float | Sequence[float] | None = None,
) -> npt.NDArray[np.float32]:
    """Resample a volume with trilinear interpolation; returns float32.

    Give ``out_shape`` or ``zoom`` (output size = round(size * zoom), as scipy.ndimage.zoom).
    Corner voxels map onto corner voxels: output i samples input i * (n_in-1) / (n_out-1),
    which equals scipy.ndimage.zoom(order=1, grid_mode=False).
    """
    v = _array(volume, "resample_trilinear", "volume")
    if (out_shape is None) == (zoom is None):
        raise ValueError("resample_trilinear: give exactly one of out_shape and zoom")
    if out_shape is None:
        assert zoom is not None
        zooms = [float(zoom)] * v.ndim if isinstance(zoom, int | float) else list(zoom)
        if len(zooms) != v.ndim:
            raise ValueError(f"resample_trilinear: zoom needs {v.ndim} values, got {len(zooms)}")
        out_shape = [max(1, round(n * z)) for n, z in zip(v.shape, zooms, strict=True)]
    return _core.resample_trilinear(v, [int(n) for n in out_shape])


def _vec3(value: Sequence[float], fn: str, name: str) -> tuple[float, float, float]:
    values = tuple(float(x) for x in value)
    if len(values) != 3:
        raise ValueError(f"{fn}: {name} needs 3 values (z, y, x), got {len(values)}")
    return values[0], values[1], values[2]


def reslice(
    volume: npt.NDArray[np.generic],
    origin_zyx: Sequence[float],
    u_zyx: Sequence[float],
    v_zyx: Sequence[float],
    out_shape: tuple[int, int],
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    fill: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Extract an oblique (MPR) plane with trilinear interpolation; returns float32 (h, w).

    Pixel (r, c) samples the physical point ``origin + r * v + c * u``: ``u`` is the step
    between columns and ``v`` the step between rows, in the same units as ``spacing`` (the
    voxel size, so voxel index = point / spacing; the default makes everything voxel units).
    Points outside the volume's voxel centres take ``fill``.
    """
    v = _array(volume, "reslice", "volume")
    if len(out_shape) != 2:
        raise ValueError(f"reslice: out_shape needs 2 values (h, w), got {len(out_shape)}")
    return _core.reslice(
        v,
        _vec3(origin_zyx, "reslice", "origin"),
        _vec3(u_zyx, "reslice", "u"),
        _vec3(v_zyx, "reslice", "v"),
        (int(out_shape[0]), int(out_shape[1])),
        _vec3(spacing, "reslice", "spacing"),
        float(fill),
    )


# --- region growing ------------------------------------------------------------------------


@dataclass(frozen=True)
class GrowResult:
    """A grown region: its mask, voxel count, and whether max_voxels stopped the growth."""

    mask: BoolArray
    voxel_count: int
    truncated: bool


def region_grow(
    volume: npt.NDArray[np.generic],
    seed: Sequence[int],
    *,
    interval: tuple[float, float] | None = None,
    k_sigma: float | None = None,
    radius: int = 1,
    update: bool = True,
    connectivity: Connectivity = 6,
    max_voxels: int = 2**62,
    roi: Sequence[int] | npt.NDArray[np.generic] | None = None,
) -> GrowResult:
    """Grow a region from ``seed`` (z, y, x) through connected voxels that pass a test.

    Give ``interval=(lo, hi)`` (inclusive; an empty result when the seed fails it) or
    ``k_sigma``: adaptive, voxels within mean ± k·sigma, the statistics taken from the
    (2·radius+1)³ neighbourhood of the seed and, when ``update``, from the region itself
    once it is as large as that neighbourhood (refreshed after every breadth-first level).
    Growth stops before a level that would take the region past ``max_voxels``. ``roi`` is a
    bounding box (z0, y0, x0, z1, y1, x1), highs exclusive, or a bool mask of the volume's
    shape; voxels outside it are never added.
    """
    v = _array(volume, "region_grow", "volume")
    if (interval is None) == (k_sigma is None):
        raise ValueError("region_grow: give exactly one of interval and k_sigma")
    if k_sigma is not None and not k_sigma > 0:
        raise ValueError("region_grow: k_sigma must be positive")
    lo, hi = (0.0, 0.0) if interval is None else (float(interval[0]), float(interval[1]))
    seed3 = tuple(int(s) for s in seed)
    if len(seed3) != 3:
        raise ValueError(f"region_grow: seed needs 3 indices (z, y, x), got {len(seed3)}")
    roi_box: tuple[int, int, int, int, int, int] | None = None
    roi_mask: npt.NDArray[np.generic] | None = None
    if isinstance(roi, np.ndarray):
        roi_mask = roi
    elif roi is not None:
        b = [int(x) for x in roi]
        if len(b) != 6:
            raise ValueError(f"region_grow: roi box needs 6 values, got {len(b)}")
        roi_box = (b[0], b[1], b[2], b[3], b[4], b[5])
    mask, count, truncated = _core.region_grow(
        v,
        (seed3[0], seed3[1], seed3[2]),
        lo,
        hi,
        float(k_sigma or 0.0),
        int(radius),
        bool(update),
        int(connectivity),
        int(max_voxels),
        roi_box,
        roi_mask,
    )
    return GrowResult(mask=mask, voxel_count=int(count), truncated=bool(truncated))


# --- sparse masks and 3D extension ---------------------------------------------------------


def rle_encode(mask: npt.NDArray[np.generic]) -> tuple[tuple[int, ...], npt.NDArray[np.uint32]]:
    """Run-length code of a mask inside its bounding box: (bbox, runs).

    bbox: lows then exclusive highs per axis, e.g. (z0, y0, x0, z1, y1, x1). runs: uint32
    lengths over ``mask[z0:z1, y0:y1, x0:x1]`` in C order, alternating background and
    foreground, starting with background (0 when the crop starts with foreground), the last
    background run left out (so len(runs) is even). An empty mask gives a zero bbox and no runs.
    """
    bbox, runs = _core.rle_encode(_array(mask, "rle_encode", "mask"))
    return tuple(int(b) for b in bbox), runs


def rle_decode(
    bbox: Sequence[int], runs: npt.NDArray[np.generic], shape: Sequence[int] | None = None
) -> BoolArray:
    """Decode ``rle_encode`` output: the bbox crop, or a full mask of ``shape``."""
    return _core.rle_decode(
        [int(b) for b in bbox],
        _array(runs, "rle_decode", "runs"),
        None if shape is None else [int(s) for s in shape],
    )


def slice_iou(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> float:
    """Intersection over union of two same-shaped masks (1.0 when both are empty)."""
    return float(_core.slice_iou(_array(a, "slice_iou", "a"), _array(b, "slice_iou", "b")))


def extend_mask_3d(
    volume: npt.NDArray[np.generic],
    mask2d: npt.NDArray[np.generic],
    axis: int,
    index: int,
    *,
    k_sigma: float = 2.0,
    max_extent: int = 64,
    min_iou: float = 0.3,
    grow: int = 2,
) -> BoolArray:
    """Extend a 2D mask on slice ``index`` along ``axis`` into a 3D mask.

    The 2D mask's voxels give mean and sigma. Going slice by slice away from ``index`` in
    both directions, a slice keeps the voxels within mean ± k_sigma·sigma that lie within
    ``grow`` pixels of the previous slice's mask and are 8-connected to their overlap with
    it. Each direction stops after ``max_extent`` slices, at the volume's end, or when the
    new slice's IoU with the previous one falls below ``min_iou``.
    """
    return _core.extend_mask_3d(
        _array(volume, "extend_mask_3d", "volume"),
        _array(mask2d, "extend_mask_3d", "mask2d"),
        int(axis),
        int(index),
        float(k_sigma),
        int(max_extent),
        float(min_iou),
        int(grow),
    )
