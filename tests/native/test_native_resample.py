"""Trilinear resampling and oblique reslicing against scipy.ndimage.map_coordinates."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.ndimage as ndi

from ndelab import native


@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.int16, np.uint8])
def test_resample_matches_scipy_zoom(dtype: type) -> None:
    rng = np.random.default_rng(0)
    v: npt.NDArray[Any] = (rng.random((9, 11, 13)) * 200).astype(dtype)
    out = native.resample_trilinear(np.asfortranarray(v), (17, 5, 26))
    grid = np.meshgrid(
        *[np.linspace(0, n - 1, m) for n, m in zip(v.shape, (17, 5, 26), strict=True)],
        indexing="ij",
    )
    ref = ndi.map_coordinates(v.astype(np.float64), grid, order=1, mode="nearest")
    assert out.dtype == np.float32 and out.shape == (17, 5, 26)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-4)
    zoomed = native.resample_trilinear(v[:, ::2, :], zoom=(2.0, 1.5, 0.5))
    ref_zoom = ndi.zoom(v[:, ::2, :].astype(np.float64), (2.0, 1.5, 0.5), order=1)
    np.testing.assert_allclose(zoomed, ref_zoom, rtol=1e-6, atol=1e-4)


def test_reslice_matches_map_coordinates() -> None:
    rng = np.random.default_rng(2)
    v = rng.random((12, 14, 16)).astype(np.float32)
    spacing = (2.0, 0.5, 1.0)
    origin = np.array([3.0, 1.0, 2.0])  # mm
    u = np.array([0.0, 0.3, 0.8])  # mm per column
    w = np.array([1.5, 0.2, -0.1])  # mm per row
    plane = native.reslice(v[::-1][::-1], origin, u, w, (9, 20), spacing, fill=-7.0)
    r, c = np.mgrid[:9, :20]
    pts = [(origin[a] + r * w[a] + c * u[a]) / spacing[a] for a in range(3)]
    inside = np.all([(p >= 0) & (p <= n - 1) for p, n in zip(pts, v.shape, strict=True)], axis=0)
    ref = ndi.map_coordinates(v.astype(np.float64), pts, order=1, mode="nearest")
    assert inside.any() and (~inside).any()
    np.testing.assert_allclose(plane, np.where(inside, ref, -7.0), atol=1e-5)


def test_axis_aligned_reslice_is_the_slice() -> None:
    v = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    plane = native.reslice(v, (2, 0, 0), (0, 0, 1), (0, 1, 0), (5, 6))
    np.testing.assert_array_equal(plane, v[2])


def test_resample_rejects_bad_input() -> None:
    v = np.zeros((3, 3, 3), np.float32)
    with pytest.raises(ValueError):
        native.resample_trilinear(v)
    with pytest.raises(ValueError):
        native.resample_trilinear(v, (2, 2))
    with pytest.raises(ValueError):
        native.resample_trilinear(v, (0, 2, 2))
    with pytest.raises(TypeError):
        native.resample_trilinear(v.astype(np.complex64), (2, 2, 2))
    with pytest.raises(ValueError):
        native.reslice(v[0], (0, 0, 0), (0, 0, 1), (0, 1, 0), (2, 2))
    with pytest.raises(ValueError):
        native.reslice(v, (0, 0), (0, 0, 1), (0, 1, 0), (2, 2))
    with pytest.raises(ValueError):
        native.reslice(v, (0, 0, 0), (0, 0, 1), (0, 1, 0), (2, 2), spacing=(1, 0, 1))
