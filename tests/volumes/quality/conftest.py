"""Weld radiographs with IQIs of known truth, made once per session and shared."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from ndelab.volumes.phantom import Phantom, make_radiograph


@cache
def _iqi_phantom(seed: int, blur: float, noise: float) -> Phantom:
    return make_radiograph(512, seed=seed, iqi=True, blur_sigma_px=blur, noise=noise)


@pytest.fixture(scope="session")
def iqi_phantom() -> Callable[[int, float, float], Phantom]:
    """``iqi_phantom(seed, blur_sigma_px, noise)``: a 512 x 512 weld with both IQIs."""
    return _iqi_phantom
