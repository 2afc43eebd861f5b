"""SNR in a uniform ROI and its normalisation, on images of known noise."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom
from ndelab.volumes.quality import REFERENCE_SRB_UM, measure_snr, normalised_snr


def _flat(mean: float, sigma: float, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return mean + sigma * rng.standard_normal(shape)


@pytest.mark.parametrize("roi", [(10, 10, 30, 65), (10, 10, 65, 30), (0, 0, 120, 200)])
@pytest.mark.parametrize(("mean", "sigma"), [(1000.0, 10.0), (20000.0, 400.0), (500.0, 2.0)])
def test_snr_of_a_flat_image_with_known_noise(
    roi: tuple[int, int, int, int], mean: float, sigma: float
) -> None:
    img = _flat(mean, sigma, (128, 256), seed=int(mean))
    got = measure_snr(img, roi)
    # A 20 x 55 ROI holds 1,100 pixels: the sample std is good to about 2 %, 3 sigma 6 %.
    tol = 3 * np.sqrt(1 / (2 * got.roi.shape[0] * got.roi.shape[1]))
    assert got.snr == pytest.approx(mean / sigma, rel=max(tol, 0.01))
    assert got.mean == pytest.approx(mean, rel=1e-3)


def test_heel_effect_and_vignetting_are_not_noise() -> None:
    h, w = 60, 120
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    trend = 1 + 0.04 * (xx / w - 0.5) - 0.06 * ((yy / h - 0.5) ** 2 + (xx / w - 0.5) ** 2)
    noise = np.random.default_rng(5).standard_normal((h, w))
    img = 10000.0 * trend + 50.0 * noise
    got = measure_snr(img, (0, 0, h, w))
    assert got.snr == pytest.approx(10000 * trend.mean() / 50.0, rel=0.05)
    # The plain mean / std would have taken the gradient for noise.
    assert img.mean() / img.std() < 0.5 * got.snr


def test_snrn_normalises_by_the_reference_aperture() -> None:
    img = _flat(4000.0, 40.0, (40, 80), seed=3)
    got = measure_snr(img, (0, 0, 40, 80))
    assert got.normalised(REFERENCE_SRB_UM) == pytest.approx(got.snr)
    assert got.normalised(2 * REFERENCE_SRB_UM) == pytest.approx(got.snr / 2)
    assert normalised_snr(100.0, 177.2) == pytest.approx(50.0)
    with pytest.raises(UsageError, match="positive"):
        normalised_snr(100.0, 0.0)


def test_snr_on_the_phantom_matches_its_noise_model(
    iqi_phantom: Callable[[int, float, float], Phantom],
) -> None:
    for noise in (0.5, 1.0, 2.0):
        ph = iqi_phantom(0, 1.2, noise)
        truth = ph.volume.metadata["iqi"]["snr_roi"]
        got = measure_snr(ph.volume, truth["roi_yx"])
        assert got.snr == pytest.approx(truth["snr_true"], rel=0.05)


@pytest.mark.parametrize(
    ("roi", "match"),
    [
        ((0, 0, 10, 80), "10 x 80 pixels: ISO 17636-2"),
        ((0, 0, 30, 40), "at least 20 x 55"),
        ((100, 10, 140, 90), "outside the 128 x 256 pixel image"),
        ((-1, 0, 40, 80), "outside"),
        ((20, 20, 10, 80), "empty"),
        ((0, 0, 20.5, 80), "whole pixel"),
        ((0, 0, 20), "four numbers"),
    ],
)
def test_bad_rois_are_one_sentence(roi: tuple[float, ...], match: str) -> None:
    img = _flat(1000.0, 10.0, (128, 256))
    with pytest.raises(UsageError, match=match) as err:
        measure_snr(img, roi)
    assert "\n" not in str(err.value)


def test_an_offset_image_is_refused() -> None:
    img = _flat(0.0, 10.0, (64, 64))
    with pytest.raises(UsageError, match="intensity image"):
        measure_snr(img, (0, 0, 30, 60))
