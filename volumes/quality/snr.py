"""Signal-to-noise ratio in a uniform region, and its normalisation by the basic spatial
resolution (ISO 17636-2, ASTM E2597 / E2698).

SNR is the mean grey value over the standard deviation in a region of at least 20 x 55 pixels
(the standards' minimum, in either orientation) of uniform material. The grey values must be
linear in dose with no offset (the detector's own calibration: an intensity image). Heel
effect, vignetting and a slow change of wall thickness are not noise: a quadratic surface in
y and x is fitted and subtracted first (a high-pass that keeps all but six degrees of freedom
of the noise), and the standard deviation is of the residual. SNRn = SNR x 88.6 um / SRb (um):
88.6 um is the SRb of the reference aperture (a 100 um circle), so SNRn compares detectors of
any sharpness on one scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.volumes.errors import UsageError
from ndelab.volumes.quality.image import Roi, as_radiograph
from ndelab.volumes.volume import Volume

REFERENCE_SRB_UM = 88.6
MIN_ROI_SHORT_PX = 20
MIN_ROI_LONG_PX = 55


@dataclass(frozen=True)
class SnrReading:
    """SNR in ``roi``: the mean, the detrended standard deviation and their ratio."""

    roi: Roi
    mean: float
    std: float
    snr: float

    def normalised(self, srb_um: float) -> float:
        """SNRn for a basic spatial resolution of ``srb_um`` micrometres."""
        return normalised_snr(self.snr, srb_um)

    def to_json(self) -> dict[str, Any]:
        return {
            "roi_yx": self.roi.to_list(),
            "mean": round(self.mean, 3),
            "std": round(self.std, 4),
            "snr": round(self.snr, 3),
        }


def normalised_snr(snr: float, srb_um: float) -> float:
    """SNRn = SNR x 88.6 um / SRb."""
    if not srb_um > 0:
        raise UsageError(f"SRb {srb_um} um must be positive to normalise the SNR")
    return float(snr * REFERENCE_SRB_UM / srb_um)


def measure_snr(image: Volume | npt.ArrayLike, roi: Roi | Sequence[float]) -> SnrReading:
    """SNR of the radiograph in ``roi`` (Y0, X0, Y1, X1, end exclusive)."""
    img = as_radiograph(image)
    r = roi if isinstance(roi, Roi) else Roi.of(roi, "SNR ROI")
    r.check_inside(img.shape, "SNR ROI")
    short, long = sorted(r.shape)
    if short < MIN_ROI_SHORT_PX or long < MIN_ROI_LONG_PX:
        raise UsageError(
            f"the SNR ROI is {r.shape[0]} x {r.shape[1]} pixels: ISO 17636-2 and ASTM E2597 ask "
            f"for at least {MIN_ROI_SHORT_PX} x {MIN_ROI_LONG_PX}"
        )
    patch = r.cut(img)
    h, w = patch.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy = (yy - (h - 1) / 2) / h
    xx = (xx - (w - 1) / 2) / w
    design = np.stack([np.ones_like(yy), yy, xx, yy * yy, xx * xx, yy * xx], axis=-1)
    a = design.reshape(-1, 6)
    values = patch.reshape(-1)
    coef, *_ = np.linalg.lstsq(a, values, rcond=None)
    resid = values - a @ coef
    std = float(np.sqrt(np.sum(resid**2) / (values.size - a.shape[1])))
    mean = float(values.mean())
    if mean <= 0:
        raise UsageError(
            f"the SNR ROI {r.to_list()} has a mean grey value of {mean:.3g}: SNR needs an "
            "intensity image (linear in dose, zero offset)"
        )
    if std <= 0:
        raise UsageError(f"the SNR ROI {r.to_list()} has no noise at all: is the image synthetic?")
    return SnrReading(r, mean, std, mean / std)
