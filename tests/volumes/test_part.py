"""Finding the part in a CT scan: the porosity denominator and the surface for depths."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.volumes.part import part_volume_mm3, segment_part
from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.volume import Volume


def test_the_part_of_a_phantom_is_found_with_its_pores_filled() -> None:
    ph = make_ct_phantom(48, seed=5)
    found = segment_part(ph.volume)
    assert found is not None
    truth = np.asarray(ph.part_mask, bool)
    overlap = np.count_nonzero(found & truth) / np.count_nonzero(found | truth)
    assert overlap > 0.9
    assert found[np.asarray(ph.labels) > 0].mean() > 0.95  # closed pores count as part


def test_no_part_in_a_flat_scan_or_a_radiograph() -> None:
    assert segment_part(Volume(np.full((8, 8, 8), 7, np.uint16))) is None
    assert segment_part(Volume(np.random.default_rng(0).random((1, 32, 32)))) is None


def test_part_volume_counts_closed_pores_as_material() -> None:
    solid = np.zeros((9, 9, 9), bool)
    solid[1:8, 1:8, 1:8] = True
    holed = solid.copy()
    holed[4, 4, 4] = False
    assert part_volume_mm3(holed, (0.5, 0.5, 0.5)) == pytest.approx(343 * 0.125)
