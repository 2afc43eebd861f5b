"""Readers against small files made here, for layouts ndelab does not write itself."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import tifffile

from ndelab.volumes.io import open_volume
from ndelab.volumes.readers._lazy import NativeOrder, SliceStack

DATA = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) * 997  # (z, y, x)


def _vgi(
    path: Path,
    name: str,
    *,
    skip: int = 0,
    extra: str = "",
    dtype: str = "unsigned integer",
    bits: int = 16,
    size: str = "5 4 3",
) -> None:
    path.write_text(
        "{volume1}\n[representation]\n"
        f"size = {size}\ndatatype = {dtype}\nbitsperelement = {bits}\n"
        f"[file1]\nSkipHeader = {skip}\nFileFormat = raw\nName = {name}\n"
        f"{extra}",
        encoding="latin-1",
    )


# --- VGI -------------------------------------------------------------------------------


def test_vgi_with_named_file_skip_and_geometry(tmp_path: Path) -> None:
    (tmp_path / "data.vol").write_bytes(b"\xff" * 64 + DATA.tobytes())
    _vgi(
        tmp_path / "part.vgi",
        "data.vol",
        skip=64,
        extra="{volumeprimitive1}\n[geometry]\nresolution = 0.1 0.2 0.3\nunit = mm\n",
    )
    vol = open_volume(tmp_path / "part.vgi")
    assert vol.format == "vgi"
    np.testing.assert_array_equal(vol.array(), DATA)
    assert vol.spacing_mm == pytest.approx((0.3, 0.2, 0.1))  # (z, y, x) from x y z
    assert vol.warnings == []


def test_vgi_keys_are_case_insensitive_and_types_are_mapped(tmp_path: Path) -> None:
    data = (DATA.astype(np.int16) - 3000).astype("<i2")
    (tmp_path / "s.raw").write_bytes(data.tobytes())
    (tmp_path / "s.vgi").write_text(
        "{VOLUME1}\n[Representation]\nSIZE = 5 4 3\nDataType = Signed Integer\n"
        "BitsPerElement = 16\n[File1]\nName = s.raw\n[Geometry]\nScale = 0.5\n"
    )
    vol = open_volume(tmp_path / "s.vgi")
    assert vol.dtype == np.int16
    np.testing.assert_array_equal(vol.array(), data)
    assert vol.spacing_mm == (0.5, 0.5, 0.5)


def test_vgi_float_data(tmp_path: Path) -> None:
    data = DATA.astype(np.float32) / 7
    (tmp_path / "f.raw").write_bytes(data.tobytes())
    _vgi(tmp_path / "f.vgi", "f.raw", dtype="float", bits=32, extra="resolution = 1\n")
    np.testing.assert_array_equal(open_volume(tmp_path / "f.vgi").array(), data)


def test_vgi_falls_back_to_same_stem_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "scan.uint16_scv").write_bytes(DATA.tobytes())
    _vgi(tmp_path / "scan.vgi", "C:\\Scans\\Other name µm.uint16_scv")
    vol = open_volume(tmp_path / "scan.vgi")
    np.testing.assert_array_equal(vol.array(), DATA)
    assert any("scan.uint16_scv" in w and "does not exist" in w for w in vol.warnings)
    assert not vol.spacing_known  # no resolution in this header
    assert any("voxel size" in w for w in vol.warnings)


# --- raw -------------------------------------------------------------------------------


def test_raw_explicit_shape_dtype_header_and_big_endian(tmp_path: Path) -> None:
    path = tmp_path / "scan.bin"
    path.write_bytes(b"HEADER--" + DATA.astype(">u2").tobytes())
    vol = open_volume(path, shape=(3, 4, 5), dtype="uint16", header_bytes=8, byte_order="big")
    assert vol.format == "raw"
    assert vol.dtype == np.dtype("uint16")  # served in native order
    np.testing.assert_array_equal(vol.array(), DATA)
    assert not vol.spacing_known
    same = open_volume(path, shape=(3, 4, 5), dtype=">u2", header_bytes=8)
    np.testing.assert_array_equal(same.slice(0, 2), DATA[2])
    assert isinstance(same.data, NativeOrder)


def test_raw_shape_and_type_from_the_name(tmp_path: Path) -> None:
    path = tmp_path / "part_5x4x3_uint16.raw"
    DATA.tofile(path)
    vol = open_volume(path)
    assert vol.shape == (3, 4, 5)
    np.testing.assert_array_equal(vol.array(), DATA)
    assert any("file name" in w for w in vol.warnings)


def test_raw_with_options_and_any_suffix(tmp_path: Path) -> None:
    path = tmp_path / "scan.weird"
    DATA.astype(np.float32).tofile(path)
    vol = open_volume(path, shape=(3, 4, 5), dtype="float32")
    np.testing.assert_array_equal(vol.array(), DATA.astype(np.float32))


# --- TIFF ------------------------------------------------------------------------------


def test_big_endian_tiff_is_mapped_and_served_native(tmp_path: Path) -> None:
    path = tmp_path / "be.tif"
    tifffile.imwrite(path, DATA, byteorder=">", photometric="minisblack")
    vol = open_volume(path)
    assert vol.format == "tiff" and vol.dtype == np.dtype("uint16")
    assert isinstance(vol.data, NativeOrder)
    np.testing.assert_array_equal(vol.array(), DATA)
    np.testing.assert_array_equal(vol.slice(2, 3), DATA[:, :, 3])


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32", "int32", "float32"])
def test_compressed_tiff_decodes_page_by_page(tmp_path: Path, dtype: str) -> None:
    data = DATA.astype(dtype)
    path = tmp_path / "c.tiff"
    tifffile.imwrite(path, data, compression="zlib", photometric="minisblack")
    vol = open_volume(path)
    assert isinstance(vol.data, SliceStack)
    np.testing.assert_array_equal(vol.slice(0, 1), data[1])
    np.testing.assert_array_equal(vol.slice(1, 2), data[:, 2, :])
    np.testing.assert_array_equal(vol.array(), data)


def test_imagej_tiff_spacing(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        DATA,
        imagej=True,
        resolution=(1 / 20.0, 1 / 10.0),
        metadata={"spacing": 30.0, "unit": "um", "axes": "ZYX"},
    )
    vol = open_volume(path)
    assert vol.spacing_mm == pytest.approx((0.030, 0.010, 0.020))
    assert vol.metadata["spacing_from"] == "imagej"


def test_ome_tiff_spacing(tmp_path: Path) -> None:
    path = tmp_path / "x.ome.tif"
    meta = {"axes": "ZYX", "PhysicalSizeX": 2.0, "PhysicalSizeY": 3.0, "PhysicalSizeZ": 4.0}
    tifffile.imwrite(path, DATA, ome=True, metadata=meta)
    vol = open_volume(path)
    assert vol.spacing_mm == pytest.approx((0.004, 0.003, 0.002))
    np.testing.assert_array_equal(vol.array(), DATA)


def test_single_page_tiff_is_a_radiograph_with_resolution_tags(tmp_path: Path) -> None:
    path = tmp_path / "dx.tif"
    image = DATA[0]
    # 100 pixels per cm = 0.1 mm pixels
    tifffile.imwrite(path, image, resolution=(100.0, 50.0), resolutionunit="CENTIMETER")
    vol = open_volume(path)
    assert vol.shape == (1, 4, 5) and vol.modality == "DX"
    assert vol.spacing_mm == pytest.approx((1.0, 0.2, 0.1))
    assert vol.spacing_known


def test_tiff_folder_in_natural_order(tmp_path: Path) -> None:
    stack = np.stack([np.full((4, 5), i, np.uint16) for i in range(12)])
    for i, plane in enumerate(stack):
        tifffile.imwrite(tmp_path / f"slice_{i}.tif", plane)
    (tmp_path / "notes.txt").write_text("not a slice")
    vol = open_volume(tmp_path)
    assert vol.format == "tiff" and vol.shape == (12, 4, 5)
    assert isinstance(vol.data, SliceStack)
    np.testing.assert_array_equal(vol.array(), stack)
    np.testing.assert_array_equal(vol.slice(2, 0), stack[:, :, 0])
    assert not vol.spacing_known


# --- MetaImage -------------------------------------------------------------------------


def _mhd(fields: dict[str, str]) -> bytes:
    base = {"ObjectType": "Image", "NDims": "3", "DimSize": "5 4 3", "ElementType": "MET_USHORT"}
    base.update(fields)
    last = base.pop("ElementDataFile")
    return (
        "".join(f"{k} = {v}\n" for k, v in base.items()) + f"ElementDataFile = {last}\n"
    ).encode()


def test_mhd_zlib_zraw(tmp_path: Path) -> None:
    (tmp_path / "v.zraw").write_bytes(zlib.compress(DATA.tobytes()))
    (tmp_path / "v.mhd").write_bytes(
        _mhd(
            {"CompressedData": "True", "ElementSpacing": "0.1 0.2 0.3", "ElementDataFile": "v.zraw"}
        )
    )
    vol = open_volume(tmp_path / "v.mhd")
    np.testing.assert_array_equal(vol.array(), DATA)
    assert vol.spacing_mm == pytest.approx((0.3, 0.2, 0.1))


def test_mhd_msb_header_size_minus_one_and_transform(tmp_path: Path) -> None:
    (tmp_path / "v.raw").write_bytes(b"junk" * 10 + DATA.astype(">u2").tobytes())
    # Index x runs along world y, index y along world -x, index z along world z.
    (tmp_path / "v.mhd").write_bytes(
        _mhd(
            {
                "BinaryDataByteOrderMSB": "True",
                "HeaderSize": "-1",
                "Offset": "1 2 3",
                "TransformMatrix": "0 1 0 -1 0 0 0 0 1",
                "ElementDataFile": "v.raw",
            }
        )
    )
    vol = open_volume(tmp_path / "v.mhd")
    np.testing.assert_array_equal(vol.array(), DATA)
    assert vol.origin_mm == (3.0, 2.0, 1.0)
    # One step along index x (zyx index (0,0,1)) moves world +y, i.e. zyx (0, 1, 0).
    np.testing.assert_allclose(
        vol.index_to_world((0, 0, 1)) - vol.index_to_world((0, 0, 0)), (0.0, 1.0, 0.0)
    )
    np.testing.assert_allclose(
        vol.index_to_world((0, 1, 0)) - vol.index_to_world((0, 0, 0)), (0.0, 0.0, -1.0)
    )


def test_mhd_list_of_slice_files(tmp_path: Path) -> None:
    names = []
    for z in range(3):
        names.append(f"s{z:02d}.raw")
        DATA[z].tofile(tmp_path / names[-1])
    header = (
        _mhd({"ElementSpacing": "1 1 2", "ElementDataFile": "LIST"}) + "\n".join(names).encode()
    )
    (tmp_path / "list.mhd").write_bytes(header)
    vol = open_volume(tmp_path / "list.mhd")
    assert isinstance(vol.data, SliceStack)
    np.testing.assert_array_equal(vol.array(), DATA)


def test_mha_2d_local(tmp_path: Path) -> None:
    image = DATA[1]
    body = _mhd(
        {"NDims": "2", "DimSize": "5 4", "ElementSpacing": "0.1 0.1", "ElementDataFile": "LOCAL"}
    )
    (tmp_path / "dx.mha").write_bytes(body + image.tobytes())
    vol = open_volume(tmp_path / "dx.mha")
    assert vol.shape == (1, 4, 5)
    np.testing.assert_array_equal(vol.slice(0, 0), image)


# --- NRRD ------------------------------------------------------------------------------


def test_detached_gzip_nhdr(tmp_path: Path) -> None:
    (tmp_path / "v.raw.gz").write_bytes(gzip.compress(DATA.tobytes()))
    (tmp_path / "v.nhdr").write_text(
        "NRRD0004\ntype: unsigned short\ndimension: 3\nsizes: 5 4 3\nendian: little\n"
        "encoding: gzip\nspace: left-posterior-superior\n"
        "space directions: (0.1,0,0) (0,0.2,0) (0,0,0.3)\nspace origin: (1,2,3)\n"
        "data file: v.raw.gz\n"
    )
    vol = open_volume(tmp_path / "v.nhdr")
    assert vol.format == "nrrd"
    np.testing.assert_array_equal(vol.array(), DATA)
    assert vol.spacing_mm == pytest.approx((0.3, 0.2, 0.1))
    assert vol.origin_mm == (3.0, 2.0, 1.0)


def test_detached_raw_nhdr_big_endian_byte_skip_is_mapped(tmp_path: Path) -> None:
    (tmp_path / "d.dat").write_bytes(b"\0" * 16 + DATA.astype(">u2").tobytes())
    (tmp_path / "d.nhdr").write_text(
        "NRRD0005\ntype: uint16\ndimension: 3\nsizes: 5 4 3\nendian: big\nencoding: raw\n"
        "byte skip: 16\nspacings: 0.5 0.5 2\ndata file: d.dat\n"
    )
    vol = open_volume(tmp_path / "d.nhdr")
    assert isinstance(vol.data, NativeOrder)
    np.testing.assert_array_equal(vol.array(), DATA)
    assert vol.spacing_mm == (2.0, 0.5, 0.5)


def test_attached_gzip_nrrd(tmp_path: Path) -> None:
    header = b"NRRD0004\ntype: float\ndimension: 3\nsizes: 5 4 3\nencoding: gzip\n\n"
    data = DATA.astype(np.float32)
    (tmp_path / "g.nrrd").write_bytes(header + gzip.compress(data.tobytes()))
    vol = open_volume(tmp_path / "g.nrrd")
    np.testing.assert_array_equal(vol.array(), data)
    assert not vol.spacing_known


# --- HDF5, PNG, npy --------------------------------------------------------------------


def test_hdf5_picks_the_only_3d_dataset_and_reads_element_size(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "v.h5", "w") as fh:
        fh.create_dataset("meta/table", data=np.arange(5))
        fh.create_dataset("exchange/data", data=DATA, chunks=(1, 4, 5))
        fh["exchange/data"].attrs["element_size_um"] = [30.0, 20.0, 10.0]
    vol = open_volume(tmp_path / "v.h5")
    assert isinstance(vol.data, h5py.Dataset)
    assert vol.metadata["dataset"] == "/exchange/data"
    assert vol.spacing_mm == pytest.approx((0.03, 0.02, 0.01))
    np.testing.assert_array_equal(vol.slice(0, 2), DATA[2])


def test_hdf5_dataset_option_and_2d_radiograph(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "v.hdf5", "w") as fh:
        fh["a"] = DATA
        fh["b"] = DATA * 2
        fh["dx"] = DATA[0]
    vol = open_volume(tmp_path / "v.hdf5", dataset="/b")
    np.testing.assert_array_equal(vol.array(), DATA * 2)
    dx = open_volume(tmp_path / "v.hdf5", dataset="dx")
    assert dx.shape == (1, 4, 5) and dx.modality == "DX"
    np.testing.assert_array_equal(dx.slice(0, 0), DATA[0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_radiograph(tmp_path: Path, dtype: type) -> None:
    image = (DATA[0] // (256 if dtype is np.uint8 else 1)).astype(dtype)
    assert cv2.imwrite(str(tmp_path / "dx.png"), image)
    vol = open_volume(tmp_path / "dx.png")
    assert vol.format == "png" and vol.modality == "DX" and vol.shape == (1, 4, 5)
    assert vol.dtype == dtype
    np.testing.assert_array_equal(vol.slice(0, 0), image)
    assert not vol.spacing_known


def test_npy_2d_and_3d_are_memory_mapped(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", DATA)
    np.save(tmp_path / "b.npy", DATA[0])
    a = open_volume(tmp_path / "a.npy")
    b = open_volume(tmp_path / "b.npy")
    assert isinstance(a.data, np.memmap) and a.is_lazy
    assert b.shape == (1, 4, 5) and b.is_lazy
    np.testing.assert_array_equal(a.array(), DATA)


def test_progress_reaches_one_and_cancel_stops_reading(tmp_path: Path) -> None:
    from ndelab.volumes.io import write_volume
    from ndelab.volumes.progress import Cancelled
    from ndelab.volumes.volume import Volume

    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(folder / f"s{i}.tif", DATA[i])
    files = [folder]
    for suffix in (".nrrd", ".mha", ".h5", ".tif", ".npy"):
        write_volume(Volume(data=DATA), tmp_path / f"v{suffix}")
        files.append(tmp_path / f"v{suffix}")
    for path in files:
        seen: list[float] = []
        open_volume(path, progress=seen.append)
        assert seen and seen[-1] == 1.0, path
        with pytest.raises(Cancelled):
            open_volume(path, cancel=lambda: True)
