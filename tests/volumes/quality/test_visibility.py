"""Single-wire and hole IQIs: CNR per element and the finest visible one."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest
from scipy import ndimage

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom
from ndelab.volumes.quality import (
    Hole,
    VisibilityReading,
    e1025_holes,
    read_holes,
    read_wires,
)
from ndelab.volumes.quality.tables import element_number

Factory = Callable[[int, float, float], Phantom]


def _wires(ph: Phantom, threshold: float = 2.5) -> VisibilityReading:
    t = ph.volume.metadata["iqi"]["single_wire"]
    return read_wires(
        ph.volume,
        t["line_yx"],
        wires=t["wire_set"],
        half_width_px=t["half_width_px"],
        threshold=threshold,
    )


def test_wire_cnr_increases_with_wire_size(iqi_phantom: Factory) -> None:
    for seed, blur, noise in ((0, 1.0, 0.5), (1, 1.5, 1.0)):
        r = _wires(iqi_phantom(seed, blur, noise))
        cnr = [e.cnr for e in r.elements]
        assert [e.element for e in r.elements] == [f"W{i}" for i in range(10, 17)]
        # The five coarsest stand clear of the noise and fall strictly with size.
        assert all(a > b for a, b in pairwise(cnr[:5])), cnr
        assert cnr[0] > 3 * cnr[-1]
        assert all(e.contrast < 0 for e in r.elements[:4])


def test_more_noise_or_blur_shows_fewer_wires(iqi_phantom: Factory) -> None:
    def finest(blur: float, noise: float) -> int:
        seen = _wires(iqi_phantom(1, blur, noise)).smallest_visible
        return 0 if seen is None else element_number(seen)

    assert finest(1.0, 0.5) > finest(1.0, 2.0)
    assert finest(1.0, 0.5) > finest(2.5, 0.5)
    assert finest(1.0, 0.5) >= 12  # 0.25 mm steel wire on ~10 mm steel at SNR ~250


def test_wire_threshold_is_configurable(iqi_phantom: Factory) -> None:
    ph = iqi_phantom(0, 1.0, 1.0)
    strict, lax = _wires(ph, 5.0), _wires(ph, 1.0)
    n = [
        0 if r.smallest_visible is None else element_number(r.smallest_visible)
        for r in (strict, lax)
    ]
    assert n[0] < n[1]
    with pytest.raises(UsageError, match="threshold"):
        _wires(ph, 0.0)


def _plaque(contrast: float, sigma: float, seed: int = 0) -> tuple[np.ndarray, list[Hole]]:
    """A plaque with 4T, 2T and 1T holes (T = 0.25 mm at 0.1 mm pixels)."""
    h, w = 120, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    holes = e1025_holes([(60, 40), (60, 100), (60, 160)], 0.25, 0.1)
    holes = holes[::-1]  # coarsest first: 4T, 2T, 1T
    img = np.full((h, w), 10000.0)
    for hole in holes:
        img[np.hypot(yy - hole.y, xx - hole.x) <= hole.diameter_px / 2] += contrast
    img = ndimage.gaussian_filter(img, 0.8)
    img += sigma * np.random.default_rng(seed).standard_normal((h, w))
    return img, holes


def test_hole_cnr_matches_the_contrast_drawn() -> None:
    img, holes = _plaque(contrast=150.0, sigma=50.0)
    assert [h.name for h in holes] == ["4T", "2T", "1T"]
    assert [round(h.diameter_px, 1) for h in holes] == [10.2, 5.1, 2.5]
    r = read_holes(img, holes)
    cnr = [e.cnr for e in r.elements]
    assert cnr[0] == pytest.approx(3.0, rel=0.15)  # 150 / 50, the 4T hole barely blurred
    assert cnr[0] > cnr[1] > cnr[2]
    assert r.smallest_visible in ("4T", "2T")
    faint = read_holes(*_plaque(contrast=40.0, sigma=50.0))
    assert faint.smallest_visible is None


def test_bad_wire_and_hole_input() -> None:
    img = np.full((100, 100), 1000.0)
    with pytest.raises(UsageError, match="W10-W16"):
        read_wires(img, [50, 10, 50, 90], wires="10-16")
    with pytest.raises(UsageError, match="coarser to a finer"):
        read_wires(img, [50, 10, 50, 90], wires="W16-W10")
    with pytest.raises(UsageError, match="6 pixels"):
        read_wires(img, [50, 10, 50, 30])
    with pytest.raises(UsageError, match="too near the edge"):
        read_holes(img, [Hole("4T", 3.0, 50.0, 10.0)])
    with pytest.raises(UsageError, match="three holes"):
        e1025_holes([(1, 1)], 0.25, 0.1)
