"""VTK volume rendering of a (downsampled) volume whose transfer function follows the window.

Kept apart from the Qt widget so that the same scene renders interactively (a Qt-embedded
render window) or offscreen (EGL, no display) for screenshots and headless machines. The
downsampled copy itself comes from ndelab.app.volume_display, read in a background job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backends)
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
from vtkmodules.vtkFiltersCore import vtkAppendPolyData, vtkFlyingEdges3D
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkColorTransferFunction,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
    vtkWindowToImageFilter,
)
from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

from ndelab.app.volume_display import RenderInput
from ndelab.volumes.display import Window

MAX_SURFACES = 3000  # indications drawn as surfaces; beyond that the 3D view would crawl
STATUS_RGB = {
    "proposed": (0.91, 0.77, 0.28),
    "accepted": (0.36, 0.76, 0.36),
    "rejected": (0.85, 0.33, 0.31),
    "corrected": (0.31, 0.64, 0.88),
    "selected": (1.0, 1.0, 1.0),
}


class VolumeScene:
    """Renderer, volume actor and transfer functions for one volume."""

    def __init__(self, render_window: vtkRenderWindow) -> None:
        self.render_window = render_window
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.07, 0.07, 0.08)
        self.renderer.SetBackground2(0.18, 0.2, 0.24)
        self.renderer.GradientBackgroundOn()
        render_window.AddRenderer(self.renderer)
        self.mapper = vtkSmartVolumeMapper()
        self.opacity = vtkPiecewiseFunction()
        self.color = vtkColorTransferFunction()
        prop = vtkVolumeProperty()
        prop.SetScalarOpacity(self.opacity)
        prop.SetColor(self.color)
        prop.SetInterpolationTypeToLinear()
        prop.ShadeOn()
        prop.SetAmbient(0.3)
        prop.SetDiffuse(0.7)
        prop.SetSpecular(0.2)
        self.actor = vtkVolume()
        self.actor.SetMapper(self.mapper)
        self.actor.SetProperty(prop)
        self._image: vtkImageData | None = None
        self.step = 1
        self.surface_actors: dict[str, vtkActor] = {}

    def set_input(self, render: RenderInput) -> None:
        """Ray-cast this strided copy of a volume (see volume_render_input)."""
        data = render.data
        self.step = render.step
        image = vtkImageData()
        image.SetDimensions(data.shape[2], data.shape[1], data.shape[0])  # VTK is x, y, z
        sz, sy, sx = render.spacing_mm
        image.SetSpacing(sx, sy, sz)
        image.GetPointData().SetScalars(numpy_to_vtk(data.ravel(), deep=True))
        self._image = image
        self.mapper.SetInputData(image)
        if self.actor not in _actors(self.renderer):
            self.renderer.AddVolume(self.actor)
        self.reset_camera()

    def clear_volume(self) -> None:
        """Show no volume (a new one is being prepared): the last scan must not linger."""
        if self.actor in _actors(self.renderer):
            self.renderer.RemoveVolume(self.actor)
        self._image = None

    def set_indications(self, items: list[tuple[str, Any, tuple[float, float, float]]]) -> int:
        """Draw each indication's surface, one actor per status: (status, SparseMask, spacing).

        Surfaces come from the full-resolution mask crops (never the downsampled volume), so
        a pore of a few voxels still shows. Returns how many were drawn.
        """
        for actor in self.surface_actors.values():
            self.renderer.RemoveActor(actor)
        self.surface_actors = {}
        groups: dict[str, vtkAppendPolyData] = {}
        drawn = 0
        for status, mask, spacing in items[:MAX_SURFACES]:
            surface = _mask_surface(mask, spacing)
            if surface is None:
                continue
            groups.setdefault(status, vtkAppendPolyData()).AddInputConnection(
                surface.GetOutputPort()
            )
            drawn += 1
        for status, append in groups.items():
            mapper = vtkPolyDataMapper()
            mapper.SetInputConnection(append.GetOutputPort())
            mapper.ScalarVisibilityOff()
            actor = vtkActor()
            actor.SetMapper(mapper)
            actor.GetProperty().SetColor(*STATUS_RGB.get(status, (1.0, 0.0, 1.0)))
            actor.GetProperty().SetOpacity(0.6 if status == "rejected" else 1.0)
            self.renderer.AddActor(actor)
            self.surface_actors[status] = actor
        return drawn

    def set_window(self, window: Window) -> None:
        """Below the window is transparent air; the window ramps opacity and brightness."""
        lo, hi = window.low, window.high
        self.opacity.RemoveAllPoints()
        self.opacity.AddPoint(lo, 0.0)
        self.opacity.AddPoint(lo + 0.25 * (hi - lo), 0.05)
        self.opacity.AddPoint(hi, 0.6)
        self.color.RemoveAllPoints()
        self.color.AddRGBPoint(lo, 0.35, 0.3, 0.25)
        self.color.AddRGBPoint(lo + 0.5 * (hi - lo), 0.78, 0.74, 0.68)
        self.color.AddRGBPoint(hi, 1.0, 1.0, 0.98)

    def reset_camera(self) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.SetPosition(0, 0, 1)
        camera.SetFocalPoint(0, 0, 0)
        camera.SetViewUp(0, -1, 0)
        camera.Azimuth(35)
        camera.Elevation(25)
        self.renderer.ResetCamera()
        camera.Zoom(1.3)

    def focus(self, world_xyz: tuple[float, float, float]) -> None:
        self.renderer.GetActiveCamera().SetFocalPoint(*world_xyz)

    def rotate(self, azimuth: float, elevation: float) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.Azimuth(azimuth)
        camera.Elevation(elevation)
        camera.OrthogonalizeViewUp()

    def capture(self) -> npt.NDArray[np.uint8]:
        """The last rendered frame as (h, w, 3) uint8, top row first."""
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.render_window)
        grab.ReadFrontBufferOff()
        grab.Update()
        out = grab.GetOutput()
        w, h, _ = out.GetDimensions()
        pixels = vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)[..., :3]
        return np.ascontiguousarray(pixels[::-1])

    @property
    def render_mode(self) -> str:
        modes = {0: "default", 1: "cpu-raycast", 2: "gpu-raycast", 3: "ospray", 4: "anari"}
        return modes.get(self.mapper.GetLastUsedRenderMode(), "unknown")


def _mask_surface(mask: Any, spacing: tuple[float, float, float]) -> vtkFlyingEdges3D | None:
    """An iso-surface of one mask crop, placed in the scan's mm frame (VTK x, y, z)."""
    local = np.pad(np.asarray(mask.local(), np.uint8), 1)
    if not local.any():
        return None
    image = vtkImageData()
    image.SetDimensions(local.shape[2], local.shape[1], local.shape[0])
    sz, sy, sx = spacing
    image.SetSpacing(sx, sy, sz)
    z0, y0, x0 = (int(v) - 1 for v in mask.start)
    image.SetOrigin(x0 * sx, y0 * sy, z0 * sz)
    image.GetPointData().SetScalars(numpy_to_vtk(local.ravel(), deep=True))
    surface = vtkFlyingEdges3D()
    surface.SetInputData(image)
    surface.SetValue(0, 0.5)
    surface.ComputeNormalsOn()
    return surface


def _actors(renderer: vtkRenderer) -> list[Any]:
    volumes = renderer.GetVolumes()
    volumes.InitTraversal()
    return [volumes.GetNextVolume() for _ in range(volumes.GetNumberOfItems())]


def offscreen_window(width: int, height: int) -> vtkRenderWindow:
    """A render window that needs no display (EGL on Linux)."""
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(width, height)
    return window
