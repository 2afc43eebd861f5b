"""The ideal observer: the defect-free twin, detectability by size and noise, the search null."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ndelab.inference.radiograph.ideal import defect_detectability, search_null
from ndelab.volumes.phantom import make_radiograph


def test_twin_has_the_same_background_and_no_defects() -> None:
    ph = make_radiograph(256, seed=10_010, noise=0.0)
    twin = make_radiograph(256, seed=10_010, noise=0.0, defects=False)
    assert ph.defects and not twin.defects and not twin.labels.any()
    diff = ph.volume.data[0].astype(np.float64) - twin.volume.data[0]
    near = ndimage.binary_dilation(ph.labels[0] > 0, iterations=6)
    level = float(twin.volume.data[0].mean())
    assert np.abs(diff[~near]).max() <= 0.002 * level  # only blur tails and scatter remain
    assert diff[ph.labels[0] > 0].mean() > 50  # pores and cracks brighten the image
    # Noisy and noise-free share every random draw: the twin is of the same noisy image.
    noisy = make_radiograph(256, seed=10_010)
    assert np.abs(noisy.volume.data[0].astype(np.float64) - ph.volume.data[0])[~near].std() > 10


def _disc_scene(d: float, noise: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    yy, xx = np.mgrid[0:64, 0:64]
    lab = ((yy - 32) ** 2 + (xx - 32) ** 2 <= (d / 2) ** 2).astype(np.uint16)
    twin = np.full((64, 64), 10000.0)
    clean = ndimage.gaussian_filter(twin * (1 + 0.05 * lab), 1.0)
    sigma = noise * (np.sqrt(clean) + 10.0)
    noisy = clean + np.random.default_rng(seed).standard_normal(clean.shape) * sigma
    return noisy, clean, twin, lab


def test_detectability_rises_with_size_and_falls_with_noise() -> None:
    snr = {}
    for d in (3.0, 6.0, 12.0):
        for noise in (0.5, 2.0):
            noisy, clean, twin, lab = _disc_scene(d, noise)
            snr[d, noise] = float(
                defect_detectability(noisy, clean, twin, lab, 1, noise, 1.0).snr[0]
            )
    assert snr[3.0, 0.5] < snr[6.0, 0.5] < snr[12.0, 0.5]
    assert snr[3.0, 2.0] < snr[6.0, 2.0] < snr[12.0, 2.0]
    for d in (3.0, 6.0, 12.0):
        assert snr[d, 2.0] == pytest.approx(snr[d, 0.5] / 4, rel=1e-6)


def test_statistic_is_unit_normal_about_the_snr() -> None:
    stats = []
    for seed in range(200):
        noisy, clean, twin, lab = _disc_scene(5.0, 1.0, seed)
        det = defect_detectability(noisy, clean, twin, lab, 1, 1.0, 1.0)
        stats.append(float(det.statistic[0] - det.snr[0]))
    assert abs(np.mean(stats)) < 0.25 and 0.8 < np.std(stats) < 1.2


def test_search_threshold_rises_as_the_false_call_rate_falls() -> None:
    null = search_null(1.0, fields=1, side=256)
    assert null.amplitude > 0
    t1, t01 = null.threshold(1.0), null.threshold(0.1)
    assert 3.0 < t1 < t01 < 7.0
    assert null.rate(t1) == pytest.approx(1.0, rel=1e-3)
