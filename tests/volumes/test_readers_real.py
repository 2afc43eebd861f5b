"""Readers against the real scans in <repo>/../shared/data/real."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from ndelab.volumes.io import detect_format, open_volume, write_volume

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
SAND = REAL / "sand_200x200x100_uint8.raw"
VGI = REAL / "zeiss-piweb" / "demovolume_axis_origin.vgi"


def _need(path: Path) -> Path:
    if not path.exists():
        message = f"real test data {path} is missing"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_zeiss_vgi_axis_marker_volume() -> None:
    vol = open_volume(_need(VGI))
    assert vol.format == "vgi"
    assert vol.source == str(VGI)
    assert vol.shape == (33, 22, 11)
    assert vol.dtype == np.uint16
    assert vol.spacing_mm == (0.0644764750119862,) * 3
    assert vol.spacing_known
    assert isinstance(vol.data, np.memmap)
    # The header's Name is mangled, so the reader used the file beside it and said so.
    assert any("demovolume_axis_origin.uint16_scv" in w for w in vol.warnings)
    voxels = vol.array()
    expected = np.zeros((33, 22, 11), np.uint16)
    expected[:, 0, 0] = 1  # along z
    expected[0, :, 0] = 1  # along y
    expected[0, 0, :] = 1  # along x
    assert int(expected.sum()) == 64
    np.testing.assert_array_equal(voxels, expected)


def test_sand_raw_with_explicit_shape_matches_numpy() -> None:
    path = _need(SAND)
    assert hashlib.md5(path.read_bytes()).hexdigest() == "e07b5944c73d42f789905f94ddfc77a1"
    expected = np.fromfile(path, np.uint8).reshape(100, 200, 200)
    vol = open_volume(path, shape=(100, 200, 200), dtype="uint8")
    assert vol.format == "raw" and isinstance(vol.data, np.memmap)
    np.testing.assert_array_equal(vol.array(), expected)
    np.testing.assert_array_equal(vol.slice(1, 77), expected[:, 77, :])
    assert not vol.spacing_known


def test_sand_raw_shape_from_its_name() -> None:
    path = _need(SAND)
    assert detect_format(path) == "raw"
    vol = open_volume(path)
    assert vol.shape == (100, 200, 200) and vol.dtype == np.uint8
    assert any("file name" in w for w in vol.warnings)
    np.testing.assert_array_equal(
        vol.slice(0, 50), np.fromfile(path, np.uint8)[50 * 40000 :][:40000].reshape(200, 200)
    )


@pytest.mark.parametrize("suffix", [".nrrd", ".h5", ".tif", ".mha"])
def test_real_volume_survives_conversion(tmp_path: Path, suffix: str) -> None:
    vol = open_volume(_need(VGI))
    write_volume(vol, tmp_path / f"kupplung{suffix}")
    back = open_volume(tmp_path / f"kupplung{suffix}")
    np.testing.assert_array_equal(back.array(), vol.array())
    assert back.spacing_mm == pytest.approx(vol.spacing_mm, rel=1e-12)
