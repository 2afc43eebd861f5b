"""The contrast class rule: a call brighter than its shell is an inclusion, a darker one a
void (the network's pore or crack kept), a faint one keeps the network's class; only for
versions that turn it on."""

from __future__ import annotations

import numpy as np

from ndelab.inference.calls import Call
from ndelab.inference.contrast_class import classify_by_contrast, contrast
from ndelab.inference.intensity import Levels
from ndelab.volumes.volume import Volume


def _call(cls: str, z: int, scores: dict[str, float]) -> Call:
    mask = np.ones((3, 3, 3), bool)
    return Call(cls, 0.9, (z + 1.0, 11.0, 11.0), (z, 10, 10, z + 3, 13, 13), 27, 0.027, mask,
                "m", "1", class_scores=scores)  # fmt: skip


def test_bright_is_inclusion_dark_is_a_void_faint_keeps_the_network_class() -> None:
    data = np.full((30, 24, 24), 1000.0, np.float32)  # material at 1000, air at 0
    data[2:5, 10:13, 10:13] = 1400  # a dense inclusion
    data[12:15, 10:13, 10:13] = 300  # a pore
    data[22:25, 10:13, 10:13] = 1010  # barely different: the network decides
    vol = Volume(data=data)
    levels = Levels(0.0, 1000.0)
    scores = {"pore": 0.2, "crack": 0.3, "inclusion": 0.25}
    calls = [
        _call("pore", 2, scores),
        _call("inclusion", 12, scores),
        _call("crack", 22, scores),
    ]
    assert contrast(vol, levels, calls[0]) > 0.3 and contrast(vol, levels, calls[1]) < -0.5
    classify_by_contrast(vol, levels, calls)
    assert [c.class_name for c in calls] == ["inclusion", "crack", "crack"]
    assert all("contrast" in c.evidence for c in calls)
