"""Write -> read round trips for every writer: voxels, spacing, origin and direction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.volumes.errors import VolumeWriteError
from ndelab.volumes.io import WRITE_SUFFIXES, open_volume, write_volume
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _volume(dtype: str, shape: tuple[int, int, int] = (5, 7, 9)) -> Volume:
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is not None:
        data = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        data = rng.normal(size=shape).astype(dtype)
    return Volume(
        data=data,
        spacing_mm=(0.5, 0.25, 0.125),
        origin_mm=(-1.5, 2.0, 30.25),
        direction=_rotation(30),
    )


@pytest.mark.parametrize("suffix", WRITE_SUFFIXES)
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32"])
def test_round_trip_keeps_voxels_and_geometry(tmp_path: Path, suffix: str, dtype: str) -> None:
    vol = _volume(dtype)
    out = tmp_path / f"vol{suffix}"
    write_volume(vol, out)
    back = open_volume(out)
    assert back.source == str(out)
    assert back.format in ("npy", "nrrd", "metaimage", "hdf5", "tiff")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.array(), vol.array())
    assert back.spacing_mm == pytest.approx(vol.spacing_mm)
    assert back.origin_mm == pytest.approx(vol.origin_mm)
    np.testing.assert_allclose(back.direction, vol.direction, atol=1e-12)
    assert back.spacing_known
    assert back.warnings == []
    assert back.is_lazy


@pytest.mark.parametrize("suffix", WRITE_SUFFIXES)
def test_unknown_spacing_stays_unknown(tmp_path: Path, suffix: str) -> None:
    vol = Volume(data=np.arange(24, dtype=np.uint16).reshape(2, 3, 4), spacing_mm=(0, 0, 0))
    assert not vol.spacing_known
    write_volume(vol, tmp_path / f"v{suffix}")
    back = open_volume(tmp_path / f"v{suffix}")
    assert not back.spacing_known
    assert any("voxel size" in w for w in back.warnings)
    np.testing.assert_array_equal(back.array(), vol.array())


@pytest.mark.parametrize("suffix", WRITE_SUFFIXES)
def test_writes_from_a_lazy_source_slice_by_slice(tmp_path: Path, suffix: str) -> None:
    data = np.arange(4 * 6 * 8, dtype=np.uint16).reshape(4, 6, 8)
    raw = tmp_path / "src.raw"
    data.tofile(raw)
    src = open_volume(raw, shape=(4, 6, 8), dtype="uint16")
    assert isinstance(src.data, np.memmap)
    seen: list[float] = []
    write_volume(src, tmp_path / f"copy{suffix}", progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) == 4
    np.testing.assert_array_equal(open_volume(tmp_path / f"copy{suffix}").array(), data)


@pytest.mark.parametrize("suffix", [".nrrd", ".mhd", ".h5", ".tif", ".npy"])
def test_cancel_removes_partial_files(tmp_path: Path, suffix: str) -> None:
    vol = _volume("uint16", (6, 4, 4))
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        write_volume(vol, tmp_path / f"v{suffix}", cancel=lambda: next(calls) >= 3)
    assert list(tmp_path.iterdir()) == []


def test_radiograph_round_trip_is_one_slice(tmp_path: Path) -> None:
    image = np.arange(30, dtype=np.uint16).reshape(5, 6) * 1000
    vol = Volume(data=image, spacing_mm=(1.0, 0.139, 0.139), modality="DX")
    for suffix in (".tif", ".h5", ".nrrd"):
        write_volume(vol, tmp_path / f"r{suffix}")
        back = open_volume(tmp_path / f"r{suffix}")
        assert back.shape == (1, 5, 6)
        if suffix != ".tif":  # these formats keep the modality (TIFF has nowhere to put it)
            assert back.modality == "DX", suffix
        assert back.spacing_mm[1:] == pytest.approx((0.139, 0.139))
        np.testing.assert_array_equal(back.slice(0, 0), image)


def test_big_endian_source_is_written_in_native_order(tmp_path: Path) -> None:
    data = np.arange(60, dtype=">u2").reshape(3, 4, 5)
    write_volume(Volume(data=data), tmp_path / "v.nrrd")
    back = open_volume(tmp_path / "v.nrrd")
    assert back.dtype == np.dtype("uint16")
    np.testing.assert_array_equal(back.array(), data.astype("<u2"))


def test_boolean_masks_are_written_as_uint8(tmp_path: Path) -> None:
    mask = np.zeros((2, 3, 3), bool)
    mask[1, 1, 1] = True
    write_volume(Volume(data=mask), tmp_path / "m.mha")
    back = open_volume(tmp_path / "m.mha")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back.array(), mask.astype(np.uint8))


def test_mhd_writes_a_detached_raw_file(tmp_path: Path) -> None:
    vol = _volume("int16")
    write_volume(vol, tmp_path / "part.mhd")
    assert (tmp_path / "part.raw").stat().st_size == vol.nbytes
    assert "ElementDataFile = part.raw" in (tmp_path / "part.mhd").read_text()


def test_hdf5_is_chunked_by_slice(tmp_path: Path) -> None:
    import h5py

    write_volume(_volume("uint16", (3, 10, 12)), tmp_path / "v.h5")
    with h5py.File(tmp_path / "v.h5") as fh:
        assert fh["volume"].chunks == (1, 10, 12)
        assert list(fh["volume"].attrs["spacing_mm"]) == [0.5, 0.25, 0.125]


def test_unwritable_targets_raise_one_sentence(tmp_path: Path) -> None:
    vol = _volume("uint8")
    with pytest.raises(VolumeWriteError, match=r"v\.xyz.*suffix '\.xyz' is not one ndelab writes"):
        write_volume(vol, tmp_path / "v.xyz")
    with pytest.raises(VolumeWriteError, match="does not exist"):
        write_volume(vol, tmp_path / "missing" / "v.nrrd")
    cplx = Volume(data=np.zeros((1, 2, 2), np.complex64))
    with pytest.raises(VolumeWriteError, match="complex64 cannot be written"):
        write_volume(cplx, tmp_path / "c.nrrd")


def test_detached_data_files_are_part_of_the_scan_identity(tmp_path: Path) -> None:
    from ndelab.volumes.identity import source_files, volume_sha256

    header = tmp_path / "part.mhd"
    write_volume(Volume(np.arange(24, dtype=np.uint16).reshape(2, 3, 4)), header)
    volume = open_volume(header)
    assert len(source_files(volume)) == 2
    before = volume_sha256(volume)
    data_file = source_files(volume)[1]
    data_file.write_bytes(data_file.read_bytes()[::-1])  # same size, other voxels
    assert volume_sha256(open_volume(header)) != before
