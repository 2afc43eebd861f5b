"""The classical inclusions a version adds: a dense particle the network did not call comes
in as that version's inclusion; one the network already called is not added twice; the
classical pores are not taken."""

from __future__ import annotations

import numpy as np

from ndelab.inference.calls import Call
from ndelab.inference.hybrid import add_classical_inclusions
from ndelab.volumes.volume import Volume


def _volume() -> Volume:
    rng = np.random.default_rng(0)
    data = np.zeros((40, 40, 40), np.float32)
    data[4:36, 4:36, 4:36] = 1000 + rng.normal(0, 10, (32, 32, 32))  # a cube of alloy in air
    data[10:14, 10:14, 10:14] = 2000  # a dense inclusion
    data[25:29, 25:29, 25:29] = 1800  # a second one
    data[10:14, 25:29, 25:29] = 100  # a pore
    return Volume(data=data, spacing_mm=(0.1, 0.1, 0.1))


def _net_call(box: tuple[int, int, int, int, int, int]) -> Call:
    z0, y0, x0, z1, y1, x1 = box
    mask = np.ones((z1 - z0, y1 - y0, x1 - x0), bool)
    return Call("pore", 0.9, (z0 + 1.5, y0 + 1.5, x0 + 1.5), box, int(mask.sum()), 0.0, mask,
                "net", "2")  # fmt: skip


def test_inclusions_the_network_missed_are_added_once() -> None:
    vol = _volume()
    net = [_net_call((25, 25, 25, 29, 29, 29)), _net_call((10, 25, 25, 14, 29, 29))]
    calls = add_classical_inclusions(vol, net, model_name="net", model_version="2", min_voxels=3)
    added = [c for c in calls if c.evidence.get("classical_inclusion") == 1.0]
    assert len(added) == 1 and added[0].class_name == "inclusion"
    assert added[0].bbox_zyx[:3] == (10, 10, 10)  # the one the network missed
    assert (added[0].model_name, added[0].model_version) == ("net", "2")
    assert len(calls) == 3  # the classical pore is not taken


def test_radiographs_are_left_alone() -> None:
    image = Volume(data=np.full((1, 32, 32), 1000, np.float32))
    assert (
        add_classical_inclusions(image, [], model_name="n", model_version="1", min_voxels=3) == []
    )
