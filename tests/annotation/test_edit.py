from __future__ import annotations

import numpy as np
import pytest

from ndelab.annotation import ReviewError, SparseMask
from ndelab.annotation.edit import brush, grow, polygon, sphere, threshold_in_box
from ndelab.volumes.volume import Volume

SHAPE = (20, 30, 40)


def test_brush_paints_and_erases_a_disc_on_any_axis() -> None:
    m = brush(None, SHAPE, 0, 5, (10.0, 20.0), 3)
    assert m is not None
    local = m.local()
    assert local.shape[0] == 1 and m.start[0] == 5
    assert m.voxel_count == int(np.sum((np.mgrid[-3:4, -3:4] ** 2).sum(0) <= 9))
    m2 = brush(m, SHAPE, 0, 5, (10.0, 20.0), 1, erase=True)
    assert m2 is not None and m2.voxel_count == m.voxel_count - 5
    assert brush(m2, SHAPE, 0, 5, (10.0, 20.0), 5, erase=True) is None  # all gone
    coronal = brush(None, SHAPE, 1, 7, (3.0, 4.0), 1)
    assert coronal is not None and coronal.start[1] == 7 and coronal.shape[1] == 1


def test_sphere_brush_is_anisotropic_and_clipped_to_the_scan() -> None:
    m = sphere(None, SHAPE, (10, 15, 20), 1.0, (0.5, 0.25, 0.25))
    assert m is not None
    assert m.shape == (5, 9, 9)
    edge = sphere(None, SHAPE, (0, 0, 0), 1.0, (0.5, 0.25, 0.25))
    assert edge is not None and edge.start == (0, 0, 0)
    with pytest.raises(ReviewError):
        sphere(None, SHAPE, (-50, -50, -50), 1.0, (1, 1, 1))


def test_threshold_and_grow_read_only_a_box() -> None:
    data = np.full(SHAPE, 20000, np.uint16)
    data[8:12, 10:15, 10:15] = 3000  # a pore
    volume = Volume(data)
    t = threshold_in_box(volume, (5, 5, 5, 15, 20, 20), 0, 8000)
    assert t is not None and t.voxel_count == 4 * 5 * 5 and t.start == (8, 10, 10)
    g = grow(volume, (10, 12, 12), interval=(0, 8000))
    assert g is not None and g.same_as(t)
    half_way = grow(volume, (10, 12, 12))  # threshold between the pore and the metal
    assert half_way is not None and half_way.same_as(t)
    with pytest.raises(ReviewError):
        threshold_in_box(volume, (0, 0, 0, 5, 5, 5), 0, 8000)


def test_polygon_fills_and_unions_with_the_current_mask() -> None:
    square = polygon(None, SHAPE, 0, 3, [(2, 2), (2, 8), (8, 8), (8, 2)])
    assert square is not None and square.voxel_count == 49
    base = SparseMask.from_local(np.ones((1, 2, 2), bool), (3, 20, 20))
    both = polygon(base, SHAPE, 0, 3, [(2, 2), (2, 8), (8, 8), (8, 2)])
    assert both is not None and both.voxel_count == 53
    with pytest.raises(ReviewError):
        polygon(None, SHAPE, 0, 3, [(1, 1), (2, 2)])
