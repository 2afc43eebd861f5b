"""The classical detector finds the big pores of CT phantoms and radiographs."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.inference.baseline import K_SIGMA, calls_from_map, candidate_map, detect
from ndelab.inference.calls import Call
from ndelab.inference.evaluation import match_calls
from ndelab.inference.prelabel import prelabel
from ndelab.volumes.phantom import Phantom, make_ct_phantom, make_radiograph
from ndelab.volumes.progress import Cancelled


def _recall(ph: Phantom, calls: list[Call], kind: str, min_diameter: float) -> tuple[int, int]:
    m = match_calls(calls, ph.labels, len(ph.defects))
    big = [
        h is not None
        for d, h in zip(ph.defects, m.defect_hit, strict=True)
        if d.kind == kind and d.equivalent_diameter_vox >= min_diameter
    ]
    return sum(big), len(big)


@pytest.mark.parametrize("seed,part", [(20001, "cylinder"), (20002, "housing")])
def test_baseline_finds_big_pores_in_ct(seed: int, part: str) -> None:
    ph = make_ct_phantom(96, seed=seed, part=part, noise=1.0)
    res = detect(ph.volume)
    assert res.model_name == "classical-baseline" and res.calls
    hit, n = _recall(ph, res.calls, "pore", 4.0)
    assert n > 0 and hit / n >= 0.9
    m = match_calls(res.calls, ph.labels, len(ph.defects))
    assert sum(m.call_true) / len(res.calls) >= 0.75
    assert all(c.class_name in ("pore", "crack", "inclusion") for c in res.calls)
    for c in res.calls:
        z0, y0, x0, z1, y1, x1 = c.bbox_zyx
        assert c.mask.shape == (z1 - z0, y1 - y0, x1 - x0) and c.mask.sum() == c.volume_voxels


def test_a_looser_map_read_at_the_detectors_threshold_gives_its_calls() -> None:
    # A cascade's candidate map (3.5 sigma) also yields the detector's own calls, so the two
    # need one filter pass, not two.
    ph = make_ct_phantom(64, seed=20_003, part="cylinder", noise=1.0)
    own = detect(ph.volume).calls
    codes, snr = candidate_map(ph.volume, k_sigma=3.5)
    loose = calls_from_map(ph.volume, codes, snr)
    read = calls_from_map(ph.volume, codes, snr, k_sigma=K_SIGMA)
    assert own and len(loose) > len(own)
    key = [(c.class_name, c.bbox_zyx, c.volume_voxels, round(c.score, 6)) for c in own]
    assert [(c.class_name, c.bbox_zyx, c.volume_voxels, round(c.score, 6)) for c in read] == key


def test_baseline_calls_dense_inclusions_inclusions() -> None:
    ph = make_ct_phantom(128, seed=20003, part="block")
    res = detect(ph.volume)
    m = match_calls(res.calls, ph.labels, len(ph.defects))
    for call, d_id in zip(res.calls, m.call_defect, strict=True):
        if call.class_name == "inclusion":
            assert d_id is not None and ph.defect(d_id).kind == "inclusion"


def test_baseline_on_a_radiograph_finds_bright_pores() -> None:
    ph = make_radiograph(384, seed=20004, kind="weld")
    res = prelabel(ph.volume, model="classical-baseline")
    # Pores of 5 px and more stand out of the noise; smaller ones often do not (see the
    # baseline's docstring), and big pores leave a few rings of false calls around them.
    hit, n = _recall(ph, res.calls, "pore", 5.0)
    assert n > 0 and hit / n >= 0.75
    m = match_calls(res.calls, ph.labels, len(ph.defects))
    assert sum(m.call_true) / max(len(res.calls), 1) >= 0.3
    assert all(c.mask.shape[0] == 1 for c in res.calls)


def test_min_size_in_mm3_drops_small_calls() -> None:
    ph = make_ct_phantom(96, seed=20001, part="cylinder")
    small = prelabel(ph.volume, model="classical-baseline")
    vox = float(np.prod(ph.volume.spacing_mm))
    big = prelabel(ph.volume, model="classical-baseline", min_volume_mm3=30 * vox)
    assert all(c.volume_voxels >= 30 for c in big.calls)
    assert len(big.calls) < len(small.calls)


def test_baseline_cancel() -> None:
    ph = make_ct_phantom(64, seed=20001)
    with pytest.raises(Cancelled):
        detect(ph.volume, cancel=lambda: True)
