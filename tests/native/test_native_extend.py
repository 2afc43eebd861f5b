"""Slice IoU and the extension of a 2D mask into 3D."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ndelab import native


def test_slice_iou_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((40, 50)) < 0.4
    b = rng.random((40, 50)) < 0.4
    expect = (a & b).sum() / (a | b).sum()
    assert native.slice_iou(a, b) == pytest.approx(expect)
    assert native.slice_iou(np.asfortranarray(a), b[::-1][::-1].astype(np.uint8)) == pytest.approx(
        expect
    )
    assert native.slice_iou(a, a) == 1.0
    assert native.slice_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0
    with pytest.raises(ValueError):
        native.slice_iou(a, b[:-1])
    with pytest.raises(TypeError):
        native.slice_iou(a, b.astype(np.float32))


def pore_volume() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(1)
    zz, yy, xx = np.ogrid[:40, :36, :36]
    pore = (zz - 20) ** 2 / 1.5 + (yy - 18) ** 2 + (xx - 17) ** 2 <= 64
    vol = np.where(pore, 300.0, 1200.0) + rng.normal(0, 15, pore.shape)
    vol[:, :, :2] = 300.0  # air next to the part must not leak in
    return vol.astype(np.float32), pore


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_extension_recovers_a_pore(axis: int) -> None:
    vol, pore = pore_volume()
    centre = (20, 18, 17)[axis]
    mask2d = np.take(pore, centre, axis=axis)
    out = native.extend_mask_3d(vol, mask2d, axis, centre, k_sigma=3.0, min_iou=0.2)
    assert np.array_equal(np.take(out, centre, axis=axis), mask2d)
    assert native.slice_iou(out, pore) > 0.9
    assert not out[:, :, :2].any()


def test_extension_limits() -> None:
    vol, pore = pore_volume()
    out = native.extend_mask_3d(vol, pore[20], 0, 20, k_sigma=3.0, max_extent=2)
    assert set(np.flatnonzero(out.any(axis=(1, 2)))) == {18, 19, 20, 21, 22}
    out = native.extend_mask_3d(vol, pore[20], 0, 20, k_sigma=3.0, min_iou=0.999)
    assert np.flatnonzero(out.any(axis=(1, 2))).tolist() == [20]
    empty = native.extend_mask_3d(vol, np.zeros((36, 36), bool), 0, 5)
    assert not empty.any()


def test_extension_rejects_bad_input() -> None:
    vol, pore = pore_volume()
    with pytest.raises(ValueError):
        native.extend_mask_3d(vol, pore[20], 1, 20)  # a z-slice mask on a y-slice
    with pytest.raises(ValueError):
        native.extend_mask_3d(vol, pore[20], 0, 99)
    with pytest.raises(ValueError):
        native.extend_mask_3d(vol, pore[20], 3, 0)
    with pytest.raises(ValueError):
        native.extend_mask_3d(vol[0], pore[20], 0, 0)
    with pytest.raises(TypeError):
        native.extend_mask_3d(vol, pore[20].astype(np.float32), 0, 20)
