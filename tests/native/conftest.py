"""Fixtures for the native kernel tests: the memory layouts every kernel must accept."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

Layouts = Callable[[npt.NDArray[np.generic]], list[tuple[str, npt.NDArray[np.generic]]]]


def _layouts(a: npt.NDArray[np.generic]) -> list[tuple[str, npt.NDArray[np.generic]]]:
    """The same values as C-ordered, Fortran-ordered and strided (a view into a larger array)."""
    big = np.zeros(tuple(2 * n + 1 for n in a.shape), dtype=a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    reversed_view = np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    return [
        ("C", np.ascontiguousarray(a)),
        ("F", np.asfortranarray(a)),
        ("strided", view),
        ("negative", reversed_view),
    ]


@pytest.fixture
def layouts() -> Layouts:
    return _layouts


def porous(shape: tuple[int, int, int], n_pores: int, seed: int) -> npt.NDArray[np.bool_]:
    """A solid block with random spherical pores (radius 1..4)."""
    rng = np.random.default_rng(seed)
    m = np.ones(shape, dtype=bool)
    grid = np.ogrid[: shape[0], : shape[1], : shape[2]]
    for _ in range(n_pores):
        c = [int(rng.integers(0, n)) for n in shape]
        r = int(rng.integers(1, 5))
        d2 = sum((g - ci) ** 2 for g, ci in zip(grid, c, strict=True))
        m &= d2 > r * r
    return m


@pytest.fixture
def porous_block() -> npt.NDArray[np.bool_]:
    return porous((24, 28, 32), 40, seed=3)
