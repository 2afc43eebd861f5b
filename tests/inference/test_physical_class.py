"""The physical class rule: a call brighter than its shell is an inclusion; a darker one is a
void, a crack when long and thin, else a pore; a faint one keeps the network's class."""

from __future__ import annotations

import numpy as np

from ndelab.inference.calls import Call
from ndelab.inference.intensity import Levels
from ndelab.inference.physical_class import classify_physically, contrast
from ndelab.volumes.volume import Volume


def _call(cls: str, box: tuple[int, int, int, int, int, int]) -> Call:
    z0, y0, x0, z1, y1, x1 = box
    mask = np.ones((z1 - z0, y1 - y0, x1 - x0), bool)
    centre = ((z0 + z1) / 2, (y0 + y1) / 2, (x0 + x1) / 2)
    return Call(cls, 0.9, centre, box, int(mask.sum()), 0.0, mask, "m", "1")


def test_bright_is_inclusion_dark_is_a_void_by_shape_faint_keeps_the_network_class() -> None:
    data = np.full((40, 40, 40), 1000.0, np.float32)  # material at 1000, air at 0
    data[2:5, 10:13, 10:13] = 1400  # a dense inclusion
    data[12:15, 10:13, 10:13] = 300  # a pore
    data[22:23, 10:11, 5:25] = 300  # a crack: 20 voxels long, one across
    data[32:35, 10:13, 10:13] = 1010  # barely different: the network decides
    vol = Volume(data=data)
    levels = Levels(0.0, 1000.0)
    calls = [
        _call("pore", (2, 10, 10, 5, 13, 13)),
        _call("inclusion", (12, 10, 10, 15, 13, 13)),
        _call("pore", (22, 10, 5, 23, 11, 25)),
        _call("crack", (32, 10, 10, 35, 13, 13)),
    ]
    assert contrast(vol, levels, calls[0]) > 0.3 and contrast(vol, levels, calls[1]) < -0.5
    classify_physically(vol, levels, calls)
    assert [c.class_name for c in calls] == ["inclusion", "pore", "crack", "crack"]
    assert all({"contrast", "elongation"} <= set(c.evidence) for c in calls)


def test_a_void_too_small_to_have_a_shape_is_a_pore() -> None:
    # A 2 x 2 x 1 voxel void reads as a flat plate (elongation far above the crack limit),
    # but at that size it has no shape to judge; 4 voxels long it can be a crack.
    data = np.full((20, 20, 40), 1000.0, np.float32)
    data[5:6, 5:7, 5:7] = 200
    data[12:13, 5:6, 20:24] = 200
    vol = Volume(data=data)
    calls = [_call("crack", (5, 5, 5, 6, 7, 7)), _call("pore", (12, 5, 20, 13, 6, 24))]
    classify_physically(vol, Levels(0.0, 1000.0), calls)
    assert calls[0].evidence["elongation"] > 3.0
    assert [c.class_name for c in calls] == ["pore", "crack"]
