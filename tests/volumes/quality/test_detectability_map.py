"""The smallest-detectable-pore map against phantom truth: its noise estimate, its response to
doubled noise, and the classical detector's recall either side of it."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.inference.radiograph.detector import DetectorConfig, detect_image, pore_template
from ndelab.volumes.phantom import make_radiograph
from ndelab.volumes.phantom.iqi import true_srb_px
from ndelab.volumes.quality import pore_physics
from ndelab.volumes.quality.detectability_map import detectability_map

PIXEL_MM = 0.1
MU = 0.13  # the phantom's steel


def test_the_detector_and_the_map_share_one_pore_physics() -> None:
    assert DetectorConfig().high == pore_physics.DETECTOR_SEED_SNR
    assert DetectorConfig().diameters_px == pore_physics.DETECTOR_DIAMETERS_PX
    np.testing.assert_array_equal(pore_template(3.5, 1.0), pore_physics.pore_template(3.5, 1.0))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.5, 2.0])
def test_psf_from_srb_inverts_the_phantoms_wire_model(sigma: float) -> None:
    srb = true_srb_px(1.6 * PIXEL_MM, sigma, np.radians(3.0))
    assert pore_physics.psf_sigma_from_srb(srb) == pytest.approx(sigma, rel=0.05)


def test_doubled_noise_in_a_region_gives_a_larger_smallest_pore() -> None:
    ph = make_radiograph(512, seed=3, defects=False)
    img = ph.volume.data[0].astype(np.float64)
    rng = np.random.default_rng(0)
    noisy = img.copy()
    sl = (slice(32, 224), slice(32, 480))  # plate above the weld
    sigma = 1.0 * (np.sqrt(np.maximum(img[sl], 0)) + 10.0)  # the generator's noise, once more
    noisy[sl] += rng.standard_normal(sigma.shape) * sigma * np.sqrt(3.0)  # total: doubled
    base = detectability_map(img, srb_um=147.6, pixel_mm=PIXEL_MM, mu_per_mm=MU)
    worse = detectability_map(noisy, srb_um=147.6, pixel_mm=PIXEL_MM, mu_per_mm=MU)
    inner = (slice(64, 192), slice(64, 448))
    ratio = np.median(worse.noise_sigma[inner]) / np.median(base.noise_sigma[inner])
    assert ratio == pytest.approx(2.0, rel=0.08)
    grown = np.median(worse.diameter_mm[inner]) / np.median(base.diameter_mm[inner])
    assert grown > 1.2  # a pore's SNR grows faster than d: doubled noise is not doubled d
    outside = (slice(330, 480), slice(64, 448))
    assert np.median(worse.diameter_mm[outside]) == pytest.approx(
        np.median(base.diameter_mm[outside]), rel=0.02
    )


def test_pores_well_above_the_map_are_found_and_those_below_are_not() -> None:
    found_above, found_below = [], []
    for seed in (7, 8):
        ph = make_radiograph(512, seed=seed, n_pores=40, noise=2.0)
        img = ph.volume.data[0].astype(np.float64)
        srb_um = ph.volume.metadata.get("iqi", {}).get("srb_true_um", 147.6)
        m = detectability_map(img, srb_um=srb_um, pixel_mm=PIXEL_MM, mu_per_mm=MU)
        calls, _ = detect_image(img, pixel_mm=(PIXEL_MM, PIXEL_MM))
        lab = ph.labels[0]
        hit: set[int] = set()
        for c in calls:
            _, y0, x0, _, y1, x1 = c.bbox_zyx
            inside = lab[y0:y1, x0:x1][c.mask[0]]
            hit |= {int(v) for v in np.unique(inside[inside > 0])}
        for d in ph.defects:
            if d.kind != "pore" or d.shape != "sphere":
                continue
            ys, xs = np.nonzero(lab == d.id)
            size_mm = 2 * np.sqrt(len(ys) / np.pi) * PIXEL_MM
            ratio = size_mm / float(m.diameter_mm[int(ys.mean()), int(xs.mean())])
            if ratio >= 1.5:
                found_above.append(d.id in hit)
            elif ratio < 0.7:
                found_below.append(d.id in hit)
    assert len(found_above) >= 5 and len(found_below) >= 5
    assert np.mean(found_above) >= 0.9
    assert np.mean(found_below) <= 0.1


def test_fraction_above_a_limit_counts_the_part_area() -> None:
    ph = make_radiograph(384, seed=1, defects=False, noise=3.0)
    m = detectability_map(ph.volume, srb_um=147.6, pixel_mm=PIXEL_MM, mu_per_mm=MU)
    lo, hi = float(np.min(m.diameter_mm)), float(np.max(m.diameter_mm))
    assert m.fraction_above(lo * 0.99) == 1.0
    assert m.fraction_above(hi * 1.01) == 0.0
    half = np.zeros(m.diameter_mm.shape, bool)
    half[:, : half.shape[1] // 2] = True
    assert m.fraction_above(hi * 1.01, half) == 0.0
    assert 0 < m.summary(float(np.median(m.diameter_mm)))["fraction_above_limit"] < 1
