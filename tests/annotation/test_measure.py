"""Measurements against analytic shapes, with anisotropic spacing."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from ndelab.annotation import SparseMask, distance_to_surface_mm, nearest_neighbour_spacing_mm
from ndelab.annotation.measure import measure

Ball = Callable[..., np.ndarray]

SPACINGS = [(0.2, 0.2, 0.2), (0.5, 0.3, 0.3), (0.3, 0.2, 0.45)]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("radius", [1.5, 3.0])
def test_voxelised_sphere(spacing: tuple[float, float, float], radius: float, ball: Ball) -> None:
    shape = tuple(int(2 * radius / s) + 8 for s in spacing)
    centre = tuple((n // 2) * s + 0.37 * s for n, s in zip(shape, spacing, strict=True))
    mask = SparseMask.from_local(ball(shape, centre, radius, spacing))  # type: ignore[arg-type]
    m = measure(mask, spacing)
    true_volume = 4 / 3 * math.pi * radius**3
    assert m.volume_mm3 == pytest.approx(true_volume, rel=0.03)
    assert m.equivalent_diameter_mm == pytest.approx(2 * radius, rel=0.01)
    # Feret of the voxel boxes: at least the diameter, at most one voxel diagonal more.
    assert 2 * radius <= m.feret_mm <= 2 * radius + math.dist((0, 0, 0), spacing)
    assert m.surface_area_mm2 == pytest.approx(4 * math.pi * radius**2, rel=0.05)
    assert m.sphericity == pytest.approx(1.0, abs=0.05)
    centroid_mm = np.asarray(m.centroid_zyx) * spacing
    assert np.allclose(centroid_mm, centre, atol=max(spacing) / 2)


def test_elongated_shapes_measure_their_length_and_lose_sphericity() -> None:
    spacing = (0.5, 0.25, 0.1)
    rod = np.zeros((8, 8, 120), bool)
    rod[3:5, 3:5, 10:110] = True  # 1.0 x 0.5 x 10.0 mm box
    m = measure(SparseMask.from_local(rod), spacing)
    assert m.volume_mm3 == pytest.approx(1.0 * 0.5 * 10.0)
    assert m.feret_mm == pytest.approx(math.sqrt(1.0**2 + 0.5**2 + 10.0**2))
    assert m.sphericity < 0.6


def test_distance_to_surface_of_pores_at_known_depths(ball: Ball) -> None:
    spacing = (0.4, 0.25, 0.25)
    shape = (60, 110, 110)
    part = np.zeros(shape, bool)
    part[2:58, 2:108, 2:108] = True  # top face: last outside voxel row z = 1; sides far off
    radius = 1.2
    masks = []
    depths = []
    for cz in (10, 20, 30):
        centre = (cz * spacing[0], 55 * spacing[1], 55 * spacing[2])
        pore = ball(shape, centre, radius, spacing)
        part &= ~pore  # pores are voids in the material mask
        masks.append(SparseMask.from_local(pore))
        depths.append((cz - 1) * spacing[0] - radius)  # from pore edge to outside voxel centre
    measured = distance_to_surface_mm(part, spacing, masks)
    for got, want in zip(measured, depths, strict=True):
        assert got == pytest.approx(want, abs=spacing[0])
    assert measured[0] < measured[1] < measured[2]


def test_surface_breaking_pore_has_zero_depth(ball: Ball) -> None:
    spacing = (0.3, 0.3, 0.3)
    part = np.zeros((20, 20, 20), bool)
    part[2:18, 2:18, 2:18] = True
    pore = ball((20, 20, 20), (2 * 0.3, 3.0, 3.0), 1.0, spacing)
    part &= ~pore
    assert distance_to_surface_mm(part, spacing, [SparseMask.from_local(pore)]) == [0.0]


def test_nearest_neighbour_spacing_edge_to_edge() -> None:
    spacing = (0.5, 0.2, 0.2)
    shape = (10, 20, 200)
    cubes = []
    for x0 in (10, 30, 80):  # 10-voxel cubes in x: gaps of 10 and 40 voxels
        m = np.zeros(shape, bool)
        m[3:6, 5:10, x0 : x0 + 10] = True
        cubes.append(SparseMask.from_local(m))
    gaps = nearest_neighbour_spacing_mm(cubes, spacing)
    assert gaps[0] == pytest.approx(10 * 0.2)
    assert gaps[1] == pytest.approx(10 * 0.2)
    assert gaps[2] == pytest.approx(40 * 0.2)
    assert nearest_neighbour_spacing_mm(cubes[:1], spacing) == [None]


def test_spacing_is_checked() -> None:
    m = SparseMask.from_local(np.ones((1, 1, 1), bool))
    with pytest.raises(ValueError, match="three positive numbers"):
        measure(m, (0.1, 0.0, 0.1))
