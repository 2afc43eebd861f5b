"""VTK volume rendering of a (downsampled) volume whose transfer function follows the window.

Kept apart from the Qt widget so that the same scene renders interactively (a Qt-embedded
render window) or offscreen (EGL, no display) for screenshots and headless machines. The
downsampled copy itself comes from ndelab.app.volume_display, read in a background job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backends)
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction, vtkPolyData
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


#: One call in the 3D view: (call id, status, SparseMask, spacing z, y, x in mm).
Indication3D = tuple[str, str, Any, tuple[float, float, float]]
SELECTED = "selected"


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
        self.surfaces = IndicationSurfaces(self.renderer)

    @property
    def surface_actors(self) -> dict[str, list[vtkActor]]:
        """The actors drawn now, by status ("selected" included)."""
        return self.surfaces.actors()

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

    def set_indications(self, items: list[Indication3D]) -> int:
        """Draw every call's surface (see IndicationSurfaces.set_all); returns how many."""
        return self.surfaces.set_all(items)

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


@dataclass
class _Surface:
    mask: Any
    spacing: tuple[float, float, float]
    poly: vtkPolyData | None  # None: the mask is empty
    status: str
    slot: int  # which bucket of its status group it joins
    group: tuple[str, int] | None = None  # the group it is drawn in now


@dataclass
class _Group:
    append: vtkAppendPolyData
    actor: vtkActor
    members: set[str] = field(default_factory=set)


SURFACES_PER_ACTOR = 128  # a status group is cut into actors of this many surfaces


class IndicationSurfaces:
    """The calls' surfaces in a renderer: per status a few actors (buckets of
    SURFACES_PER_ACTOR surfaces), and one actor for the selected call.

    A call's iso-surface is built once per mask (from the full-resolution crop, never the
    downsampled volume, so a pore of a few voxels still shows) and kept; a decision or a new
    selection moves one surface between two small buckets (moving it in and out of one big
    append filter cost milliseconds, and the render re-appended every surface). Only a
    changed mask is rebuilt.
    """

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self._surfaces: dict[str, _Surface] = {}
        self._groups: dict[tuple[str, int], _Group] = {}
        self._slots = 0
        self.selected: str | None = None
        self.built = 0  # surfaces built so far (to check that nothing is rebuilt needlessly)

    def actors(self) -> dict[str, list[vtkActor]]:
        """The actors drawn now, by status ("selected" included)."""
        out: dict[str, list[vtkActor]] = {}
        for (status, _slot), group in self._groups.items():
            if group.members:
                out.setdefault(status, []).append(group.actor)
        return out

    def set_all(self, items: list[Indication3D]) -> int:
        """Show exactly these calls (the first MAX_SURFACES); unchanged masks keep their
        surfaces. Returns how many are drawn."""
        keep = items[:MAX_SURFACES]
        wanted = {item[0] for item in keep}
        for call_id in [c for c in self._surfaces if c not in wanted]:
            self._place(call_id, None)
            del self._surfaces[call_id]
        for call_id, status, mask, spacing in keep:
            self.update(call_id, status, mask, spacing, add=True)
        return sum(1 for s in self._surfaces.values() if s.poly is not None)

    def update(
        self,
        call_id: str,
        status: str,
        mask: Any,
        spacing: tuple[float, float, float],
        *,
        add: bool = False,
    ) -> bool:
        """One call's status (and mask); a call not drawn is added only with ``add``.
        Returns whether its surface had to be built."""
        entry = self._surfaces.get(call_id)
        if entry is None and not add:
            return False
        built = False
        if entry is None or entry.mask != mask or entry.spacing != tuple(spacing):
            if entry is not None:
                self._place(call_id, None)
                slot = entry.slot
            else:
                slot, self._slots = self._slots // SURFACES_PER_ACTOR, self._slots + 1
            spacing = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
            entry = _Surface(mask, spacing, _surface_poly(mask, spacing), status, slot)
            self._surfaces[call_id] = entry
            self.built += 1
            built = True
        entry.status = status
        self._place(call_id, SELECTED if call_id == self.selected else status)
        return built

    def select(self, call_id: str | None) -> None:
        """Draw ``call_id`` as selected and the one selected before in its status colour."""
        before, self.selected = self.selected, call_id
        if before is not None and before in self._surfaces and before != call_id:
            self._place(before, self._surfaces[before].status)
        if call_id is not None and call_id in self._surfaces:
            self._place(call_id, SELECTED)

    def _place(self, call_id: str, status: str | None) -> None:
        """Move the call's surface into its bucket of ``status`` (None: out of every one)."""
        entry = self._surfaces[call_id]
        key = None
        if status is not None and entry.poly is not None:
            key = (status, 0 if status == SELECTED else entry.slot)
        if key == entry.group:
            return
        if entry.group is not None:
            old = self._groups[entry.group]
            old.members.discard(call_id)
            old.append.RemoveInputData(entry.poly)
            if not old.members:  # an append filter with no input must not render
                self.renderer.RemoveActor(old.actor)
        entry.group = key
        if key is None:
            return
        group = self._groups.get(key) or self._new_group(key)
        if not group.members:
            self.renderer.AddActor(group.actor)
        group.members.add(call_id)
        group.append.AddInputData(entry.poly)

    def _new_group(self, key: tuple[str, int]) -> _Group:
        status = key[0]
        append = vtkAppendPolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(append.GetOutputPort())
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*STATUS_RGB.get(status, (1.0, 0.0, 1.0)))
        actor.GetProperty().SetOpacity(0.6 if status == "rejected" else 1.0)
        group = _Group(append, actor)
        self._groups[key] = group
        return group


def _surface_poly(mask: Any, spacing: tuple[float, float, float]) -> vtkPolyData | None:
    """The call's surface, computed now and kept (the filter is not)."""
    surface = _mask_surface(mask, spacing)
    if surface is None:
        return None
    surface.Update()
    poly = vtkPolyData()
    poly.ShallowCopy(surface.GetOutput())
    return poly


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
