"""Duplex wire IQI: SRb recovered from phantoms whose blur gives a known SRb."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom, make_radiograph
from ndelab.volumes.quality import (
    DUPLEX_PAIRS_MM,
    Line,
    find_duplex,
    interpolate_srb,
    read_duplex,
)

Factory = Callable[[int, float, float], Phantom]


def _truth(ph: Phantom) -> dict[str, Any]:
    truth: dict[str, Any] = ph.volume.metadata["iqi"]["duplex"]
    return truth


# Blur sigma (px) x noise: SRb from about 0.12 to 0.36 mm (D10 to D4) at 0.1 mm pixels, at
# per-pixel SNRs from about 250 down to about 60.
CASES = [
    (0.8, 0.5),
    (0.8, 1.0),
    (1.2, 0.5),
    (1.2, 1.0),
    (1.2, 2.0),
    (1.8, 1.0),
    (1.8, 2.0),
    (2.5, 1.0),
    (2.5, 2.0),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("blur", "noise"), CASES)
def test_srb_recovered_within_10_percent(
    iqi_phantom: Factory, seed: int, blur: float, noise: float
) -> None:
    ph = iqi_phantom(seed, blur, noise)
    t = _truth(ph)
    r = read_duplex(ph.volume, t["line_yx"], half_width_px=t["half_width_px"])
    assert r.srb_bound == "="
    assert abs(r.srb_um / t["srb_true_um"] - 1) <= 0.10, (r.srb_um, t["srb_true_um"])
    # The pairs were found where the phantom put them, in order.
    assert all(p.found for p in r.pairs[:10])
    assert r.scale_px_per_mm == pytest.approx(10.0, rel=0.02)
    assert r.srb_detector_um == pytest.approx(r.srb_um, rel=0.03)  # magnification 1


@pytest.mark.parametrize("blur", [1.0, 2.0])
def test_noise_free_dips_match_the_truth(iqi_phantom: Factory, blur: float) -> None:
    ph = iqi_phantom(2, blur, 0.0)
    t = _truth(ph)
    r = read_duplex(ph.volume, t["line_yx"], half_width_px=t["half_width_px"])
    # Every pair down to one past the first unresolved (where the reading is made) within
    # 5 points; the finer ones, too faint to measure well, at least not read as resolved.
    k = next(i for i, p in enumerate(t["pairs"]) if p["true_dip_percent"] < 20)
    for i, (got, want) in enumerate(zip(r.pairs, t["pairs"], strict=True)):
        assert got.element == want["element"]
        if i <= k + 1:
            assert abs(got.dip_percent - want["true_dip_percent"]) <= 5.0, (got, want)
        else:
            assert not got.resolved, got
    assert abs(r.srb_um / t["srb_true_um"] - 1) <= 0.03
    first = next(p["element"] for p in t["pairs"] if p["true_dip_percent"] < 20)
    assert r.first_unresolved == first


def test_srb_grows_with_blur(iqi_phantom: Factory) -> None:
    srbs = []
    for blur in (0.8, 1.2, 1.8, 2.5):
        t = _truth(iqi_phantom(0, blur, 1.0))
        srbs.append(read_duplex(iqi_phantom(0, blur, 1.0).volume, t["line_yx"]).srb_um)
    assert srbs == sorted(srbs) and srbs[-1] > 2.5 * srbs[0]


def test_line_drawn_from_the_fine_end_is_turned_round(iqi_phantom: Factory) -> None:
    ph = iqi_phantom(0, 1.2, 1.0)
    t = _truth(ph)
    fwd = read_duplex(ph.volume, t["line_yx"], half_width_px=t["half_width_px"])
    back = read_duplex(
        ph.volume, Line.of(t["line_yx"]).reversed(), half_width_px=t["half_width_px"]
    )
    assert back.line.to_list() == pytest.approx(fwd.line.to_list())
    assert back.srb_um == pytest.approx(fwd.srb_um, rel=1e-6)


def test_inverted_display_reads_the_same(iqi_phantom: Factory) -> None:
    """Film-style images show the wires bright: the polarity is detected."""
    ph = iqi_phantom(1, 1.2, 1.0)
    t = _truth(ph)
    img = ph.volume.data[0].astype(np.float64)
    plain = read_duplex(img, t["line_yx"], half_width_px=t["half_width_px"])
    inverted = read_duplex(65535.0 - img, t["line_yx"], half_width_px=t["half_width_px"])
    assert (plain.polarity, inverted.polarity) == ("dark", "bright")
    assert inverted.srb_um == pytest.approx(plain.srb_um, rel=0.02)


def test_magnification_divides_the_detector_srb(iqi_phantom: Factory) -> None:
    ph = iqi_phantom(0, 1.2, 1.0)
    t = _truth(ph)
    r1 = read_duplex(ph.volume, t["line_yx"], half_width_px=t["half_width_px"])
    r2 = read_duplex(ph.volume, t["line_yx"], half_width_px=t["half_width_px"], magnification=2)
    assert r2.srb_mm == pytest.approx(r1.srb_mm)  # the reading is in the IQI's own sizes
    assert r2.srb_object_mm == pytest.approx(r2.srb_detector_mm / 2)
    # Without the pixel size the detector-plane SRb comes from the magnification.
    r3 = read_duplex(ph.volume.data, t["line_yx"], half_width_px=t["half_width_px"])
    assert r3.pixel_mm is None and r3.srb_detector_mm == pytest.approx(r3.srb_mm)


def test_interpolation_finds_a_known_crossing() -> None:
    d = list(DUPLEX_PAIRS_MM.values())
    # Dip linear in wire size, 20 % at 0.15 mm: the fit must land on 0.15 exactly.
    dips = [float(np.clip(20 + 400 * (x - 0.15), 0, 100)) for x in d]
    srb, bound, k = interpolate_srb(d, dips)
    assert bound == "=" and srb == pytest.approx(0.15, abs=1e-9)
    assert list(DUPLEX_PAIRS_MM)[k or 0] == "D9"  # 0.13 mm: the first under 20 %
    assert interpolate_srb(d, [100.0] * 13) == (0.05, "<", None)
    assert interpolate_srb(d, [10.0] * 13) == (0.8, ">", 0)
    # Noisy, non-monotonic dips: still between the last resolved and the first unresolved.
    srb, _, k = interpolate_srb(d, [100, 100, 99, 97, 90, 80, 60, 35, 18, 22, 5, 0, 0])
    assert k == 8 and 0.13 <= srb <= 0.16


def test_finder_locates_the_duplex_iqi(iqi_phantom: Factory) -> None:
    for seed, blur, noise in ((0, 1.2, 1.0), (3, 1.8, 2.0), (1, 0.8, 0.5)):
        ph = iqi_phantom(seed, blur, noise)
        t = _truth(ph)
        loc = find_duplex(ph.volume)
        want = Line.of(t["line_yx"])
        assert np.hypot(loc.line.y0 - want.y0, loc.line.x0 - want.x0) < 25  # the D1 end
        angle = np.degrees(np.arctan2(*loc.line.direction) - np.arctan2(*want.direction))
        assert abs(angle) < 0.5
        r = read_duplex(ph.volume, loc.line, half_width_px=loc.half_width_px)
        assert abs(r.srb_um / t["srb_true_um"] - 1) <= 0.10


def test_finder_says_so_when_there_is_no_iqi() -> None:
    with pytest.raises(UsageError, match="no duplex wire IQI was found"):
        find_duplex(make_radiograph(256, seed=1).volume)


def test_line_that_misses_the_iqi_is_one_sentence(iqi_phantom: Factory) -> None:
    ph = iqi_phantom(0, 1.2, 1.0)
    t = _truth(ph)
    roi = ph.volume.metadata["iqi"]["snr_roi"]["roi_yx"]  # plain plate
    y = (roi[0] + roi[2]) / 2
    with pytest.raises(UsageError, match="no wire pairs stand out") as err:
        read_duplex(ph.volume, [y, roi[1], y, roi[3] - 1], half_width_px=8)
    assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="runs outside"):
        read_duplex(ph.volume, [t["line_yx"][0], -40, t["line_yx"][2], 300])
