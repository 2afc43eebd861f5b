# Stub for the C++ extension; the typed, documented API is the facade ndelab.native.
from typing import Any

import numpy as np
import numpy.typing as npt

def window(volume: npt.NDArray[Any], low: float, high: float) -> npt.NDArray[np.uint8]: ...
def apply_lut(image: npt.NDArray[Any], lut: npt.NDArray[Any]) -> npt.NDArray[np.uint8]: ...
def label(mask: npt.NDArray[Any], connectivity: int = 26) -> tuple[npt.NDArray[np.int32], int]: ...
def label_stats(
    mask: npt.NDArray[Any], connectivity: int = 26, intensity: npt.NDArray[Any] | None = None
) -> tuple[npt.NDArray[np.int32], int, dict[str, npt.NDArray[Any]]]: ...
def edt(mask: npt.NDArray[Any], spacing: list[float]) -> npt.NDArray[np.float32]: ...
def morph(
    mask: npt.NDArray[Any], op: str, shape: str, radius: list[int]
) -> npt.NDArray[np.bool_]: ...
def fill_holes(mask: npt.NDArray[Any]) -> npt.NDArray[np.bool_]: ...
def resample_trilinear(
    volume: npt.NDArray[Any], out_shape: list[int]
) -> npt.NDArray[np.float32]: ...
def reslice(
    volume: npt.NDArray[Any],
    origin: tuple[float, float, float],
    u: tuple[float, float, float],
    v: tuple[float, float, float],
    out_shape: tuple[int, int],
    spacing: tuple[float, float, float],
    fill: float,
) -> npt.NDArray[np.float32]: ...
def region_grow(
    volume: npt.NDArray[Any],
    seed: tuple[int, int, int],
    lo: float,
    hi: float,
    k_sigma: float,
    radius: int,
    update: bool,
    connectivity: int,
    max_voxels: int,
    roi_bbox: tuple[int, int, int, int, int, int] | None,
    roi_mask: npt.NDArray[Any] | None,
) -> tuple[npt.NDArray[np.bool_], int, bool]: ...
def slice_iou(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float: ...
def extend_mask_3d(
    volume: npt.NDArray[Any],
    mask2d: npt.NDArray[Any],
    axis: int,
    index: int,
    k_sigma: float,
    max_extent: int,
    min_iou: float,
    grow: int,
) -> npt.NDArray[np.bool_]: ...
def rle_encode(mask: npt.NDArray[Any]) -> tuple[tuple[int, ...], npt.NDArray[np.uint32]]: ...
def rle_decode(
    bbox: list[int], runs: npt.NDArray[Any], shape: list[int] | None = None
) -> npt.NDArray[np.bool_]: ...
def get_threads() -> int: ...
def set_threads(n: int) -> None: ...
