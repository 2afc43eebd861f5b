"""The shipped default model: its weights match model.json and it finds big pores in a
phantom whose seed was never used in training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ndelab.inference.baseline import HALO, SLAB
from ndelab.inference.evaluation import match_calls
from ndelab.inference.prelabel import prelabel
from ndelab.inference.radiograph.detector import VERSION
from ndelab.inference.radiograph.second_stage import load_stage2
from ndelab.inference.registry import Registry, builtin_models_dir, sha256_of
from ndelab.volumes.phantom import make_ct_phantom


def _entries() -> list[Path]:
    entries = sorted(builtin_models_dir().glob("*/model.json"))
    if not entries:
        pytest.fail("no built-in model ships in resources/models")
    return entries


def test_shipped_weights_match_their_entry() -> None:
    for path in _entries():
        entry = json.loads(path.read_text())
        weights = path.parent / entry["weights"]
        assert weights.stat().st_size <= 20 * 2**20
        assert sha256_of(weights) == entry["sha256"]
        assert entry["calibration"]["coef"] and entry["metrics"]["held_out"]


def test_default_model_finds_big_pores_of_a_held_out_phantom() -> None:
    reg = Registry()
    spec = reg.default(3)
    assert spec is not None and spec.source == "builtin"
    ph = make_ct_phantom(96, seed=10_123, part="cylinder", noise=1.2, blur_sigma_vox=0.9)
    progress: list[float] = []
    res = prelabel(ph.volume, progress=progress.append, registry=reg)
    assert (res.model_name, res.model_version) == (spec.name, spec.version)
    assert all((c.model_name, c.model_version) == (spec.name, spec.version) for c in res.calls)
    assert progress[-1] == 1.0
    m = match_calls(res.calls, ph.labels, len(ph.defects))
    big = [
        h is not None
        for d, h in zip(ph.defects, m.defect_hit, strict=True)
        if d.kind == "pore" and d.equivalent_diameter_vox >= 3.5
    ]
    assert big and sum(big) / len(big) >= 0.9
    # One scan's precision swings with its part (surface calls); the held-out figure over 12
    # scans is in the model card (0.96 for the weights as 1.0.0 served them).
    assert sum(m.call_true) / len(res.calls) >= 0.75
    assert all(0.0 <= c.score <= 1.0 for c in res.calls)


def test_radiographs_use_the_xray_detector_unless_a_2d_model_is_named() -> None:
    from ndelab.volumes.phantom import make_radiograph

    reg = Registry()
    ph = make_radiograph(256, seed=10_321, kind="weld")
    res = prelabel(ph.volume, registry=reg)
    if reg.default(2) is None:
        stage2 = load_stage2()
        expected = (
            ("ndelab-xray-classical", VERSION)
            if stage2 is None
            else ("ndelab-xray-stage2", stage2.version)
        )
        assert (res.model_name, res.model_version) == expected
        assert "note" in res.details
        assert all((c.model_name, c.model_version) == expected for c in res.calls)
    named = [s for s in reg.specs() if s.dims == 2]
    if named:
        res2 = prelabel(ph.volume, model=named[0].name, registry=reg)
        assert (res2.model_name, res2.model_version) == (named[0].name, named[0].version)
        assert all(c.mask.shape[0] == 1 and c.bbox_zyx[0] == 0 for c in res2.calls)


def test_prelabel_reads_a_lazy_volume_in_pieces(tmp_path: Path) -> None:
    import numpy as np

    from ndelab.volumes.volume import Volume

    ph = make_ct_phantom(seed=10_777, shape=(144, 64, 64), part="cylinder")
    data = np.asarray(ph.volume.data)
    mm = np.memmap(tmp_path / "scan.u16", dtype=np.uint16, mode="w+", shape=data.shape)
    mm[:] = data
    mm.flush()

    class Counting:
        def __init__(self, arr: Any) -> None:
            self.arr, self.shape, self.dtype = arr, arr.shape, arr.dtype
            self.largest = 0

        def __getitem__(self, key: Any) -> Any:
            block = np.asarray(self.arr[key])
            self.largest = max(self.largest, block.size)
            return block

    lazy = Counting(np.memmap(tmp_path / "scan.u16", dtype=np.uint16, mode="r", shape=data.shape))
    res = prelabel(Volume(lazy, spacing_mm=ph.volume.spacing_mm), cascade=False)
    direct = prelabel(ph.volume, cascade=False)
    # One slab of windows at most, or one of the classical filter's slabs with their halo
    # (the classical inclusions of the version's finish).
    assert lazy.largest <= max(64, SLAB + 2 * HALO) * 64 * 64 < data.size
    assert [c.bbox_zyx for c in res.calls] == [c.bbox_zyx for c in direct.calls]
    # The default path (the cascade) reads the classical filter's slabs (with their halo),
    # then only boxes.
    lazy.largest = 0
    res = prelabel(Volume(lazy, spacing_mm=ph.volume.spacing_mm))
    direct = prelabel(ph.volume)
    assert res.details["path"] == "cascade"
    assert lazy.largest <= (SLAB + 2 * HALO) * 64 * 64 < data.size
    assert [c.bbox_zyx for c in res.calls] == [c.bbox_zyx for c in direct.calls]
