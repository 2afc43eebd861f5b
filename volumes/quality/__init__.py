"""Image quality of a digital radiograph, proven before it may be interpreted.

ISO 17636-2 and ASTM E2698 / E2737 ask for the basic spatial resolution (duplex wire IQI,
ISO 19232-5 / ASTM E2002), the normalised SNR in a uniform region and the contrast
sensitivity (single-wire IQI, ISO 19232-1, or hole IQI, ASTM E1025) to meet the image quality
class before a radiograph is read. This package measures them on the image and checks them
against a class table; the table shipped holds example values (see resources/quality).

Modules: :mod:`.tables` (IQI element sizes), :mod:`.image` (input checks, lines, ROIs),
:mod:`.profile` (oversampled profiles across wires), :mod:`.duplex` (dips, SRb),
:mod:`.finder` (locate a duplex IQI), :mod:`.snr` (SNR, SNRn), :mod:`.visibility` (wire and
hole CNR), :mod:`.classes` (the class table), :mod:`.verdict`, :mod:`.assess` (all at once).
"""

from ndelab.volumes.quality.assess import QualityReport, assess
from ndelab.volumes.quality.classes import Requirement, requirement
from ndelab.volumes.quality.duplex import DuplexReading, PairReading, interpolate_srb, read_duplex
from ndelab.volumes.quality.finder import DuplexLocation, find_duplex
from ndelab.volumes.quality.image import Line, Roi, as_radiograph
from ndelab.volumes.quality.snr import REFERENCE_SRB_UM, SnrReading, measure_snr, normalised_snr
from ndelab.volumes.quality.tables import DUPLEX_PAIRS_MM, SINGLE_WIRES_MM
from ndelab.volumes.quality.verdict import Check, Verdict, judge
from ndelab.volumes.quality.visibility import (
    DEFAULT_CNR_THRESHOLD,
    Hole,
    VisibilityReading,
    e1025_holes,
    read_holes,
    read_wires,
)

__all__ = [
    "DEFAULT_CNR_THRESHOLD",
    "DUPLEX_PAIRS_MM",
    "REFERENCE_SRB_UM",
    "SINGLE_WIRES_MM",
    "Check",
    "DuplexLocation",
    "DuplexReading",
    "Hole",
    "Line",
    "PairReading",
    "QualityReport",
    "Requirement",
    "Roi",
    "SnrReading",
    "Verdict",
    "VisibilityReading",
    "as_radiograph",
    "assess",
    "e1025_holes",
    "find_duplex",
    "interpolate_srb",
    "judge",
    "measure_snr",
    "normalised_snr",
    "read_duplex",
    "read_holes",
    "read_wires",
    "requirement",
]
