"""What the viewer shows of a volume besides its slices: the histogram with its presets, the
first window, and the small copy the 3D view ray-casts.

Qt-free: the window runs ``display_histogram`` and ``volume_render_input`` as background jobs
(they read up to a few hundred slices of a lazy volume) and shows their results when they
are ready; ``first_window`` reads only the middle axial slice, which the axial view shows
anyway, so the slices appear at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.volumes.display import Histogram, Window, histogram, presets
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Vec3, Volume

MAX_RENDER_EDGE = 192  # voxels along the longest axis of the rendered copy
FIRST_WINDOW_SAMPLES = 250_000  # voxels of the middle slice the first window is read from
RENDER_DTYPES = (np.uint8, np.uint16, np.int16, np.float32)  # what VTK ray-casts as it is


@dataclass(frozen=True)
class DisplayHistogram:
    """The histogram of a volume and the window presets computed from it."""

    histogram: Histogram
    presets: dict[str, Window]


def display_histogram(
    volume: Volume, progress: Progress | None = None, cancel: Cancel | None = None
) -> DisplayHistogram:
    hist = histogram(volume, progress=progress, cancel=cancel)
    return DisplayHistogram(hist, presets(hist, volume))


def first_window(volume: Volume) -> Window:
    """The Auto window's rule (0.5 to 99.9 percent) on the middle axial slice alone.

    Shown until the volume's histogram is ready, which then sets the Auto window (unless the
    user has chosen one meanwhile). For a radiograph (one slice) it is the Auto window, up to
    the histogram's bin width.
    """
    image = np.asarray(volume.data[volume.shape[0] // 2])
    step = max(1, int(math.sqrt(image.size / FIRST_WINDOW_SAMPLES)))
    sample = image[::step, ::step].ravel()
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return Window(0.0, 1.0)
    low, high = np.percentile(sample, (0.5, 99.9))
    return Window(float(low), float(high))


@dataclass(frozen=True)
class RenderInput:
    """A strided copy of a volume for the 3D view, with the spacing of its voxels."""

    data: npt.NDArray[Any]  # (z, y, x), C-contiguous, one of RENDER_DTYPES
    step: int  # every step-th voxel of the volume along each axis
    spacing_mm: Vec3


def render_step(shape: tuple[int, int, int], max_edge: int = MAX_RENDER_EDGE) -> int:
    return max(1, math.ceil(max(shape) / max_edge))


def volume_render_input(
    volume: Volume,
    max_edge: int = MAX_RENDER_EDGE,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> RenderInput:
    """A strided copy small enough to ray-cast interactively, read a slice at a time (a lazy
    volume is read sparsely, and the copy can be cancelled between slices)."""
    step = render_step(volume.shape, max_edge)
    nz, ny, nx = volume.shape
    zs = range(0, nz, step)
    # dtype equality: a byte-swapped uint16 (from some DICOM and NRRD files) is converted too.
    dtype = volume.dtype if volume.dtype in RENDER_DTYPES else np.dtype(np.float32)
    data = np.empty((len(zs), -(-ny // step), -(-nx // step)), dtype)
    for i, z in enumerate(zs):
        check(cancel, "preparing the 3D view")
        data[i] = np.asarray(volume.data[z, ::step, ::step])
        report(progress, (i + 1) / len(zs))
    sz, sy, sx = (s * step for s in volume.spacing_mm)
    return RenderInput(data, step, (sz, sy, sx))
