"""The classical calls a version adds: a dense particle the network did not call comes in as
that version's inclusion; one the network already called is not added twice; the classical
pores come in only when the version's input asks for them."""

from __future__ import annotations

import numpy as np

from ndelab.inference.calls import Call
from ndelab.inference.hybrid import add_classical, classical_kinds, rest_of_cluster
from ndelab.volumes.volume import Volume


def _volume() -> Volume:
    rng = np.random.default_rng(0)
    data = np.zeros((40, 40, 40), np.float32)
    data[4:36, 4:36, 4:36] = 1000 + rng.normal(0, 10, (32, 32, 32))  # a cube of alloy in air
    data[10:14, 10:14, 10:14] = 2000  # a dense inclusion
    data[25:29, 25:29, 25:29] = 1800  # a second one
    data[10:14, 25:29, 25:29] = 100  # a pore
    data[25:29, 10:14, 10:14] = 100  # a second pore
    return Volume(data=data, spacing_mm=(0.1, 0.1, 0.1))


def _net_call(box: tuple[int, int, int, int, int, int]) -> Call:
    z0, y0, x0, z1, y1, x1 = box
    mask = np.ones((z1 - z0, y1 - y0, x1 - x0), bool)
    return Call("pore", 0.9, (z0 + 1.5, y0 + 1.5, x0 + 1.5), box, int(mask.sum()), 0.0, mask,
                "net", "2")  # fmt: skip


def _net() -> list[Call]:
    return [_net_call((25, 25, 25, 29, 29, 29)), _net_call((10, 25, 25, 14, 29, 29))]


def test_inclusions_the_network_missed_are_added_once() -> None:
    kinds = classical_kinds({"classical_inclusions": True})
    assert kinds == ("inclusion",)
    calls = add_classical(
        _volume(), _net(), kinds=kinds, model_name="net", model_version="2", min_voxels=3
    )
    added = [c for c in calls if c.evidence.get("classical_inclusion") == 1.0]
    assert len(added) == 1 and added[0].class_name == "inclusion"
    assert added[0].bbox_zyx[:3] == (10, 10, 10)  # the one the network missed
    assert (added[0].model_name, added[0].model_version) == ("net", "2")
    assert len(calls) == 3  # the classical pore is not taken


def test_pores_come_in_when_asked_for() -> None:
    kinds = classical_kinds({"classical_inclusions": True, "classical_pores": True})
    calls = add_classical(
        _volume(), _net(), kinds=kinds, model_name="net", model_version="2", min_voxels=3
    )
    pores = [c for c in calls if c.evidence.get("classical_pore") == 1.0]
    assert len(pores) == 1  # the pore the network missed; not the shells around inclusions
    assert np.allclose(pores[0].centroid_zyx, (26.5, 11.5, 11.5), atol=0.5)
    assert len(calls) == 4


def test_radiographs_and_plain_versions_are_left_alone() -> None:
    image = Volume(data=np.full((1, 32, 32), 1000, np.float32))
    kinds = ("inclusion", "pore")
    assert (
        add_classical(image, [], kinds=kinds, model_name="n", model_version="1", min_voxels=3) == []
    )
    assert classical_kinds({}) == ()
    net = _net()
    assert (
        add_classical(_volume(), net, kinds=(), model_name="n", model_version="1", min_voxels=3)
        == net
    )


def _blob(box: tuple[int, int, int, int, int, int], mask: np.ndarray) -> Call:
    n = int(mask.sum())
    return Call("pore", 0.95, (0.0, 0.0, 0.0), box, n, n * 1e-3, mask, "classical-baseline", "1.0")


def test_the_pores_of_a_cluster_beyond_the_network_calls_come_in_on_their_own() -> None:
    # One classical blob over two pores 10 voxels apart, drawn a voxel larger than each.
    zz, yy, xx = np.mgrid[:8, :8, :20]
    left = (zz - 3.5) ** 2 + (yy - 3.5) ** 2 + (xx - 3.5) ** 2 <= 3.0**2
    right = (zz - 3.5) ** 2 + (yy - 3.5) ** 2 + (xx - 14.5) ** 2 <= 2.0**2
    blob = _blob((10, 10, 10, 18, 18, 30), left | right)
    core = (zz - 3.5) ** 2 + (yy - 3.5) ** 2 + (xx - 3.5) ** 2 <= 2.0**2
    net = Call("pore", 0.9, (13.5, 13.5, 13.5), (10, 10, 10, 18, 18, 18), int(core.sum()), 0.0,
               core[:, :, :8], "net", "2")  # fmt: skip
    boxes = np.asarray([net.bbox_zyx], dtype=np.int64)
    rest = rest_of_cluster(blob, [net], boxes, min_voxels=3)
    assert len(rest) == 1  # the right pore; the left one's spill is the network call's
    assert rest[0].volume_voxels == int(right.sum())
    assert np.allclose(rest[0].centroid_zyx, (13.5, 13.5, 24.5))
    assert rest[0].mask.shape == tuple(np.subtract(rest[0].bbox_zyx[3:], rest[0].bbox_zyx[:3]))
    # A network call over both pores leaves nothing of the blob.
    both = Call("pore", 0.9, (13.5, 13.5, 19.5), blob.bbox_zyx, blob.volume_voxels, 0.0,
                blob.mask, "net", "2")  # fmt: skip
    assert rest_of_cluster(blob, [both], np.asarray([both.bbox_zyx]), min_voxels=3) == []
