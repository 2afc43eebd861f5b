"""Fixtures for the review core: an isolated data folder, a store, analytic shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ndelab.annotation.store import Store


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's real database or workstation id."""
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NDELAB_WORKSTATION_ID", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "review.db") as s:
        yield s


BallFn = Callable[
    [tuple[int, int, int], tuple[float, float, float], float, tuple[float, float, float]],
    npt.NDArray[np.bool_],
]


@pytest.fixture
def ball() -> BallFn:
    return _ball


def _ball(
    shape: tuple[int, int, int],
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    spacing: tuple[float, float, float],
) -> npt.NDArray[np.bool_]:
    """Voxels whose centres (index * spacing) lie within radius_mm of centre_mm."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    d2 = (
        (z * spacing[0] - centre_mm[0]) ** 2
        + (y * spacing[1] - centre_mm[1]) ** 2
        + (x * spacing[2] - centre_mm[2]) ** 2
    )
    return np.asarray(d2 <= radius_mm**2)
