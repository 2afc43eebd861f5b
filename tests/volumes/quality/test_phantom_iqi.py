"""The radiograph phantom's IQIs: placed with known truth, nothing else changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom, make_radiograph, save_phantom
from ndelab.volumes.phantom.iqi import IqiOptions, true_srb_px

Factory = Callable[[int, float, float], Phantom]


def test_default_output_has_no_iqi() -> None:
    a = make_radiograph(128, seed=5)
    b = make_radiograph(128, seed=5, iqi=False)
    assert np.array_equal(a.volume.data, b.volume.data)
    assert "iqi" not in a.volume.metadata and a.volume.metadata == b.volume.metadata


def test_iqis_change_only_their_own_pixels() -> None:
    plain = make_radiograph(512, seed=4)
    with_iqi = make_radiograph(512, seed=4, iqi=True)
    a, b = plain.volume.data[0].astype(int), with_iqi.volume.data[0].astype(int)
    changed = a != b
    m = with_iqi.volume.metadata["iqi"]
    # Same defects, same labels, same noise draws: only the IQI windows differ.
    assert plain.defects == with_iqi.defects
    assert np.array_equal(plain.labels, with_iqi.labels)
    ys, _ = np.nonzero(changed)
    weld_top = m["duplex"]["line_yx"][2] + m["duplex"]["wire_length_px"]
    weld_bottom = m["single_wire"]["line_yx"][0] - m["single_wire"]["wire_length_px"]
    assert not changed[int(weld_top) + 10 : int(weld_bottom) - 10].any()
    assert changed.sum() > 5000 and ys.min() > 0
    # Wires are dark: the coarsest single wire's axis is below its surroundings.
    y, x = (round(v) for v in m["single_wire"]["wires"][0]["center_yx"])
    assert b[y - 5 : y + 5, x].mean() < b[y - 5 : y + 5, x + 12].mean() - 200


def test_true_srb_follows_the_gaussian_relation() -> None:
    """For a wide PSF and faint wires the 20 % dip of two Gaussians sets SRb: the spacing 2d
    at which 1 - 2 g(d) / (1 + g(2d)) = 0.2, with the wire's own width (d^2/16) and the
    pixel's (1/12) added to sigma^2."""

    def dip(r: float) -> float:  # r = 2d / sigma_total
        return 1 - 2 * np.exp(-(r**2) / 8) / (1 + np.exp(-(r**2) / 2)) - 0.2

    r20 = optimize.brentq(dip, 1.0, 5.0)
    for sigma in (3.0, 5.0):
        d = true_srb_px(1e-4, sigma, 0.0)
        sigma_total = np.sqrt(sigma**2 + 1 / 12 + d**2 / 16)
        assert d == pytest.approx(r20 * sigma_total / 2, rel=0.01)
    assert r20 / 2 == pytest.approx(1.34, abs=0.01)


def test_truth_in_metadata_and_on_disk(iqi_phantom: Factory, tmp_path: Path) -> None:
    srbs = [
        iqi_phantom(0, b, 1.0).volume.metadata["iqi"]["duplex"]["srb_true_um"] for b in (0.8, 1.8)
    ]
    assert srbs[0] < srbs[1]
    ph = iqi_phantom(0, 1.2, 1.0)
    truth = ph.volume.metadata["iqi"]
    dips = [p["true_dip_percent"] for p in truth["duplex"]["pairs"]]
    assert dips == sorted(dips, reverse=True) and dips[0] > 99 and dips[-1] == 0
    assert len(truth["single_wire"]["wires"]) == 7 and truth["snr_roi"]["snr_true"] > 50
    save_phantom(ph, tmp_path)
    on_disk = json.loads((tmp_path / "defects.json").read_text())["metadata"]["iqi"]
    assert on_disk["duplex"]["srb_true_um"] == truth["duplex"]["srb_true_um"]
    assert on_disk["snr_roi"]["roi_yx"] == truth["snr_roi"]["roi_yx"]


def test_options_and_refusals() -> None:
    only = make_radiograph(512, seed=1, iqi=IqiOptions(single_wire=False, wire_set="W6-W12"))
    assert set(only.volume.metadata["iqi"]) == {"duplex", "snr_roi"}
    with pytest.raises(UsageError, match="kind weld"):
        make_radiograph(512, kind="casting", iqi=True)
    with pytest.raises(UsageError, match="duplex IQI needs"):
        make_radiograph(256, iqi=True)
