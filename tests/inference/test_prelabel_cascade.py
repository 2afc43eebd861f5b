"""The cascade pre-label path: the classical candidates propose boxes, the network decides."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from ndelab.inference.baseline import candidate_map
from ndelab.inference.calls import Call
from ndelab.inference.cascade import (
    CONTEXT,
    K_SIGMA,
    SIDES,
    CascadeStats,
    _grow,
    cascade_calls,
    group_candidates,
    propose,
)
from ndelab.inference.evaluation import match_calls
from ndelab.inference.prelabel import prelabel
from ndelab.inference.registry import ModelSpec, Registry
from ndelab.volumes.phantom import Phantom, make_ct_phantom
from ndelab.volumes.volume import Volume


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    s = Registry().default(3)
    if s is None:
        pytest.fail("the shipped 3D model is missing from resources/models")
    return s


def _hit(ph: Phantom, calls: list[Call]) -> set[int]:
    m = match_calls(calls, ph.labels, len(ph.defects))
    return {i for i, h in enumerate(m.defect_hit) if h is not None}


def test_cascade_finds_what_the_full_network_finds(spec: ModelSpec) -> None:
    ph = make_ct_phantom(96, seed=20_011, part="cylinder")
    full = prelabel(ph.volume, device="cpu", cascade=False)
    casc = prelabel(ph.volume, device="cpu", cascade=True)
    assert casc.details["path"] == "cascade" and full.details["path"] == "full"
    assert casc.model_name == spec.name and casc.model_version == spec.version
    assert all(c.model_name == spec.name and c.model_version == spec.version for c in casc.calls)
    found_full, found_casc = _hit(ph, full.calls), _hit(ph, casc.calls)
    assert len(found_full) >= 5
    # The same defects, within one (a box sees less context than a whole window).
    assert len(found_full - found_casc) <= 1
    assert len(found_casc) >= len(found_full) - 1
    assert 0 < casc.details["box_fraction"] < 0.5
    for c in casc.calls:
        z0, y0, x0, z1, y1, x1 = c.bbox_zyx
        assert c.mask.shape == (z1 - z0, y1 - y0, x1 - x0) and c.mask.sum() == c.volume_voxels
        assert c.class_name in ("pore", "crack", "inclusion") and 0.0 <= c.score <= 1.0


class _EverythingIsAPore(nn.Module):
    """Calls every voxel a pore: whatever the cascade reports comes from its boxes alone."""

    dims = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros((x.shape[0], 4, *x.shape[2:]), dtype=x.dtype)
        logits[:, 1] = 10.0
        return logits


def _all_pores(
    ph: Phantom, spec: ModelSpec, **kw: Any
) -> tuple[list[Call], CascadeStats, list[Call]]:
    """The cascade on a phantom with a network that calls every voxel of its boxes a pore."""
    return cascade_calls(
        ph.volume, spec, _EverythingIsAPore(), device=torch.device("cpu"), threshold=0.5, **kw
    )


def test_the_classical_calls_come_from_the_cascades_own_map(
    spec: ModelSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default version adds classical pores and inclusions: the cascade reads them off its
    # candidate map instead of running the classical detector a second time.
    assert spec.input.get("classical_pores") and spec.input.get("cascade")

    def second_pass(*_a: object, **_k: object) -> None:
        raise AssertionError("the classical detector ran again")

    monkeypatch.setattr("ndelab.inference.hybrid.detect", second_pass)
    ph = make_ct_phantom(64, seed=20_011, part="cylinder")
    assert prelabel(ph.volume, device="cpu").details["path"] == "cascade"
    _calls, _stats, classical = _all_pores(ph, spec, min_voxels=3, classical_kinds=("pore",))
    assert classical and {c.class_name for c in classical} <= {"pore", "inclusion"}


def test_nothing_is_called_outside_the_candidate_boxes(spec: ModelSpec) -> None:
    ph = make_ct_phantom(64, seed=20_012, part="block")
    codes, _ = candidate_map(ph.volume, k_sigma=K_SIGMA, coarse=True)
    _labels, proposals = propose(codes, context=CONTEXT, window=spec.window)
    assert proposals
    inside = np.zeros(ph.volume.shape, bool)
    for p in proposals:
        z0, y0, x0, z1, y1, x1 = p.box
        inside[z0:z1, y0:y1, x0:x1] = True
    assert inside.mean() < 0.9  # the boxes leave most of the scan out
    calls, stats, _classical = _all_pores(ph, spec, min_voxels=1)
    assert calls and stats.boxes == len(proposals)
    near = codes > 0
    for c in calls:
        z0, y0, x0, z1, y1, x1 = c.bbox_zyx
        assert inside[z0:z1, y0:y1, x0:x1][c.mask].all()
        # A box-wide component counts only because it touches a candidate.
        assert near[z0:z1, y0:y1, x0:x1][c.mask].any()
    # Overlapping boxes do not call one place twice.
    owner = np.zeros(ph.volume.shape, np.int32)
    for i, c in enumerate(calls, 1):
        z0, y0, x0, z1, y1, x1 = c.bbox_zyx
        region = owner[z0:z1, y0:y1, x0:x1]
        assert not region[c.mask].any()
        region[c.mask] = i


def _part_without_defects(noise: float) -> Volume:
    rng = np.random.default_rng(5)
    data = np.full((48, 48, 48), 100.0)
    zz, yy, xx = np.mgrid[:48, :48, :48]
    data[((yy - 24) ** 2 + (xx - 24) ** 2 < 18**2) & (zz > 4) & (zz < 44)] = 1000.0
    data += rng.normal(0, noise, data.shape)
    return Volume(data=np.clip(data, 0, None).astype(np.uint16), spacing_mm=(0.1, 0.1, 0.1))


def test_a_scan_without_candidates_gets_no_calls_and_no_network() -> None:
    res = prelabel(_part_without_defects(noise=0.0), device="cpu", cascade=True)
    assert res.calls == []
    assert res.details["boxes"] == 0 and res.details["box_fraction"] == 0.0


def test_boxes_stay_inside_the_scan_with_the_context_and_few_shapes() -> None:
    shape = (40, 100, 100)
    for bbox in [(0, 0, 0, 3, 3, 3), (37, 97, 50, 40, 100, 53), (10, 10, 10, 14, 30, 12)]:
        box = _grow(bbox, shape, 3, 64)
        for a, b, lo, hi, n in zip(bbox[:3], bbox[3:], box[:3], box[3:], shape, strict=True):
            assert lo >= 0 and hi <= n
            assert hi - lo in SIDES
            assert lo <= max(a - 3, 0) and hi >= min(b + 3, n)
    long = _grow((0, 0, 0, 3, 90, 3), shape, 3, 64)  # longer than a window: a multiple of 8
    assert long[4] - long[1] == 96


def test_nearby_candidates_share_a_box_and_far_ones_do_not() -> None:
    bboxes = np.array(
        [[0, 0, 0, 3, 3, 3], [0, 0, 5, 3, 3, 8], [20, 20, 20, 23, 23, 23], [0, 0, 9, 3, 3, 11]]
    )
    groups = sorted(sorted(g) for g in group_candidates(bboxes, gap=2))
    assert groups == [[0, 1, 3], [2]]
