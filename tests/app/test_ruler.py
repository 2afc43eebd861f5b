"""The ruler: lengths in mm through the scan's geometry, and the line profile along it."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.app.ruler import Ruler
from ndelab.volumes.volume import Volume


def test_length_uses_the_voxel_size_of_each_axis() -> None:
    volume = Volume(np.zeros((10, 20, 30), np.uint16), spacing_mm=(0.5, 0.2, 0.1))
    axial = Ruler(0, (4.0, 2.0, 3.0), (4.0, 5.0, 7.0))  # 3 rows, 4 columns
    assert axial.length_voxels() == pytest.approx(5.0)
    assert axial.length_mm(volume) == pytest.approx(np.hypot(3 * 0.2, 4 * 0.1))
    coronal = Ruler(1, (1.0, 6.0, 0.0), (7.0, 6.0, 0.0))  # 6 slices along z
    assert coronal.length_mm(volume) == pytest.approx(3.0)
    assert coronal.text(volume) == "3.000 mm"
    assert coronal.index == 6


def test_an_oblique_scan_measures_the_same() -> None:
    c, s = np.cos(0.4), np.sin(0.4)
    direction = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    volume = Volume(np.zeros((4, 8, 8), np.uint8), spacing_mm=(1.0, 0.3, 0.3), direction=direction)
    ruler = Ruler(0, (2.0, 1.0, 1.0), (2.0, 1.0, 6.0))
    assert ruler.length_mm(volume) == pytest.approx(1.5)


def test_unknown_voxel_size_is_measured_in_voxels_and_said() -> None:
    volume = Volume(np.zeros((4, 8, 8), np.uint8), spacing_mm=(1.0, 1.0, 1.0), spacing_known=False)
    assert Ruler(0, (1.0, 0.0, 0.0), (1.0, 0.0, 4.0)).text(volume) == (
        "4.0 vox (voxel size unknown)"
    )


def test_profile_reads_a_wall_across_the_line() -> None:
    data = np.zeros((3, 10, 40), np.uint16)
    data[1, :, 10:22] = 5000  # a 12-voxel wall on slice 1
    volume = Volume(data, spacing_mm=(1.0, 0.25, 0.25))
    ruler = Ruler(0, (1.0, 5.0, 0.0), (1.0, 5.0, 39.0))
    distance, values = ruler.profile(volume)
    assert len(distance) == len(values) == 40
    assert distance[0] == 0.0 and distance[-1] == pytest.approx(39 * 0.25)
    wall = distance[values > 2500]
    assert wall[-1] - wall[0] + 0.25 == pytest.approx(12 * 0.25)  # 3 mm thick
    # Off the slice's edge the nearest edge voxel is read, never an error.
    assert len(Ruler(0, (1.0, -3.0, -3.0), (1.0, 12.0, 45.0)).profile(volume)[1]) > 0
