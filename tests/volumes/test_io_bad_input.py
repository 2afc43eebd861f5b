"""Bad input: every reader answers with one VolumeReadError sentence naming file and problem."""

# ruff: noqa: E501  (file headers are clearer kept on one line each)

from __future__ import annotations

import re
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from ndelab.volumes.errors import UsageError, VolumeReadError
from ndelab.volumes.io import detect_format, open_volume, write_volume
from ndelab.volumes.volume import Volume

VOXELS = np.arange(2 * 30 * 40, dtype=np.uint16).reshape(2, 30, 40)
NBYTES = VOXELS.nbytes  # 4,800
RANDOM = np.random.default_rng(7).integers(0, 256, 5000).astype(np.uint8).tobytes()


def _fails(path: Path, pattern: str, **options: object) -> VolumeReadError:
    with pytest.raises(VolumeReadError) as info:
        open_volume(path, **options)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    assert re.search(pattern, message), message
    return info.value


def _good(tmp_path: Path, suffix: str) -> Path:
    path = tmp_path / f"good{suffix}"
    write_volume(Volume(data=VOXELS, spacing_mm=(1.0, 0.5, 0.5)), path)
    return path


# --- truncated files and headers that promise more than the file holds ----------------


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".tif", ".npy"])
def test_truncated_attached_files(tmp_path: Path, suffix: str) -> None:
    whole = _good(tmp_path, suffix).read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: len(whole) - 1000])
    _fails(cut, rf"expected {NBYTES:,} bytes of voxel data after the [\d,]+-byte header, found")


def test_truncated_hdf5(tmp_path: Path) -> None:
    whole = _good(tmp_path, ".h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: len(whole) // 2])
    _fails(cut, "is not a readable HDF5 file .*truncated")


def test_mhd_promising_more_than_its_raw_file_holds(tmp_path: Path) -> None:
    _good(tmp_path, ".mhd")
    big = tmp_path / "big.mhd"
    big.write_text(
        (tmp_path / "good.mhd").read_text().replace("DimSize = 40 30 2", "DimSize = 40 30 20")
    )
    _fails(big, rf"expected {10 * NBYTES:,} bytes of voxel data in good.raw, found {NBYTES:,}")


def test_vgi_promising_more_than_its_data_file_holds(tmp_path: Path) -> None:
    (tmp_path / "v.raw").write_bytes(VOXELS.tobytes())
    header = tmp_path / "v.vgi"
    header.write_text(
        "{volume1}\n[representation]\nsize = 40 30 3\nbitsperelement = 16\n[file1]\nSkipHeader = 0\nName = v.raw\n"
    )
    _fails(header, rf"expected {NBYTES * 3 // 2:,} bytes of voxel data in v.raw, found {NBYTES:,}")


def test_nhdr_promising_more_than_its_data_file_holds(tmp_path: Path) -> None:
    (tmp_path / "v.raw").write_bytes(VOXELS.tobytes()[:-2])
    (tmp_path / "v.nhdr").write_text(
        "NRRD0004\ntype: uint16\ndimension: 3\nsizes: 40 30 2\nencoding: raw\ndata file: v.raw\n"
    )
    _fails(
        tmp_path / "v.nhdr",
        rf"expected {NBYTES:,} bytes of voxel data in v.raw, found {NBYTES - 2:,}",
    )


def test_raw_size_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "sand.raw"
    path.write_bytes(b"\0" * 2_400_000)
    _fails(
        path,
        "expected 4,000,000 bytes of voxel data, found 2,400,000",
        shape=(100, 200, 200),
        dtype="uint8",
    )
    named = tmp_path / "part_40x30x2_uint16.raw"
    named.write_bytes(VOXELS.tobytes() + b"extra")
    _fails(named, f"expected {NBYTES:,} bytes of voxel data, found {NBYTES + 5:,}")
    _fails(
        path,
        r"expected 4,000,000 bytes of voxel data after the 10-byte header, found 2,399,990",
        shape=(100, 200, 200),
        dtype="uint8",
        header_bytes=10,
    )


def test_compressed_payloads_cut_short_or_corrupt(tmp_path: Path) -> None:
    (tmp_path / "a.zraw").write_bytes(zlib.compress(VOXELS.tobytes()[:100]))
    (tmp_path / "b.zraw").write_bytes(b"definitely not zlib")
    for name in ("a", "b"):
        (tmp_path / f"{name}.mhd").write_text(
            "ObjectType = Image\nNDims = 3\nDimSize = 40 30 2\nElementType = MET_USHORT\n"
            f"CompressedData = True\nElementDataFile = {name}.zraw\n"
        )
    _fails(
        tmp_path / "a.mhd",
        f"expected {NBYTES:,} bytes of voxel data after decompression, found 100",
    )
    _fails(tmp_path / "b.mhd", "compressed voxel data is corrupt")
    (tmp_path / "c.nhdr").write_text(
        "NRRD0004\ntype: uint16\ndimension: 3\nsizes: 40 30 2\nencoding: gzip\ndata file: b.zraw\n"
    )
    _fails(tmp_path / "c.nhdr", "gzip voxel data is corrupt or cut short")


# --- random bytes and wrong headers ---------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "pattern"),
    [
        (".nrrd", "is not a NRRD file"),
        (".nhdr", "is not a NRRD file"),
        (".mhd", "is not a MetaImage header"),
        (".mha", "is not a MetaImage header"),
        (".h5", "is not a readable HDF5 file"),
        (".tif", "is not a readable TIFF file"),
        (".png", "is not a readable PNG image"),
        (".npy", "is not a .npy file"),
        (".vgi", "is not a Volume Graphics .vgi text header"),
        (".raw", r"pass --shape Z,Y,X --dtype D"),
        (".xyz", r"is not a volume format ndelab can read \(no known file signature"),
        ("", "is not a volume format ndelab can read"),
    ],
)
def test_random_bytes(tmp_path: Path, suffix: str, pattern: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(RANDOM)
    _fails(path, pattern)


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        (
            "t.nrrd",
            "NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n",
            "type 'quaternion' is not supported",
        ),
        (
            "s.nrrd",
            "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2\nencoding: raw\n\n",
            r"sizes \[2, 2\] do not fit dimension 3",
        ),
        (
            "e.nrrd",
            "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: zip64\n\n" + "x" * 8,
            "encoding 'zip64' is not supported",
        ),
        ("g.nrrd", "NRRD0004\nnot a field line\n\n", "NRRD header pynrrd cannot parse"),
        (
            "d.nrrd",
            "NRRD0004\ntype: uint8\ndimension: 4\nsizes: 2 2 2 2\nencoding: raw\n\n",
            "only 2D and 3D",
        ),
        (
            "t.mhd",
            "NDims = 3\nDimSize = 2 2 2\nElementType = MET_COMPLEX\nElementDataFile = LOCAL\n",
            "ElementType 'MET_COMPLEX' is not a supported",
        ),
        (
            "n.mhd",
            "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n",
            "has no ElementDataFile line",
        ),
        (
            "z.mhd",
            "NDims = 3\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n",
            "gives no DimSize",
        ),
        (
            "c.mhd",
            "NDims = 3\nDimSize = 2 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n",
            "DimSize '2 2' needs 3 numbers",
        ),
        ("s.vgi", "{volume1}\n[representation]\nbitsperelement = 16\n", "gives no 'size = X Y Z'"),
        (
            "b.vgi",
            "{volume1}\n[representation]\nsize = 2 2 2\nbitsperelement = 12\n",
            "12 bits is not supported",
        ),
    ],
)
def test_wrong_headers(tmp_path: Path, name: str, text: str, pattern: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    _fails(path, pattern)


def test_colour_and_odd_images(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    _fails(tmp_path / "rgb.tif", "holds colour images; only grayscale")
    np.save(tmp_path / "line.npy", np.zeros(5))
    _fails(tmp_path / "line.npy", "holds a 1-dimensional array; expected 2D or 3D")
    np.save(tmp_path / "obj.npy", np.full((2, 2), None, dtype=object))
    _fails(tmp_path / "obj.npy", "voxel type object, which is not supported")
    with h5py.File(tmp_path / "none.h5", "w") as fh:
        fh["table"] = np.zeros(5)
    _fails(tmp_path / "none.h5", "holds no 2D or 3D numeric dataset")


def test_hdf5_dataset_choice(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "two.h5", "w") as fh:
        fh["a"] = VOXELS
        fh["b/c"] = VOXELS
    _fails(tmp_path / "two.h5", "several image datasets, choose one with --dataset: /a, /b/c")
    _fails(tmp_path / "two.h5", "the dataset 'nope' does not exist", dataset="nope")
    _fails(tmp_path / "two.h5", "the dataset 'b' is a group, not a dataset", dataset="b")


# --- missing files ---------------------------------------------------------------------


def test_missing_files(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.nrrd", "does not exist")
    (tmp_path / "m.mhd").write_text(
        "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = gone.raw\n"
    )
    _fails(tmp_path / "m.mhd", "the data file 'gone.raw' it names does not exist")
    (tmp_path / "n.nhdr").write_text(
        "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: gone.raw\n"
    )
    _fails(tmp_path / "n.nhdr", "the data file 'gone.raw' it names does not exist")
    (tmp_path / "v.vgi").write_text(
        "{volume1}\n[representation]\nsize = 2 2 2\nbitsperelement = 8\n[file1]\nName = gone.raw\n"
    )
    _fails(tmp_path / "v.vgi", "names 'gone.raw', which does not exist, and no 'v.*' data file")
    (tmp_path / "empty").mkdir()
    _fails(tmp_path / "empty", "holds no DICOM files and no .tif/.tiff slices")


# --- zero spacing loads with a warning -------------------------------------------------


def test_zero_spacing_loads_with_warning(tmp_path: Path) -> None:
    VOXELS.tofile(tmp_path / "v.raw")
    headers = {
        "z.vgi": "{volume1}\n[representation]\nsize = 40 30 2\nbitsperelement = 16\n[file1]\nName = v.raw\n[geometry]\nresolution = 0 0 0\n",
        "z.mhd": "NDims = 3\nDimSize = 40 30 2\nElementType = MET_USHORT\nElementSpacing = 0 0 0\nElementDataFile = v.raw\n",
        "z.nhdr": "NRRD0004\ntype: uint16\ndimension: 3\nsizes: 40 30 2\nencoding: raw\nspace dimension: 3\nspace directions: (0,0,0) (0,0,0) (0,0,0)\ndata file: v.raw\n",
    }
    for name, text in headers.items():
        (tmp_path / name).write_text(text)
    with h5py.File(tmp_path / "z.h5", "w") as fh:
        fh["v"] = VOXELS
        fh["v"].attrs["spacing_mm"] = [0.0, 0.0, 0.0]
    tifffile.imwrite(tmp_path / "z.tif", VOXELS, metadata={"spacing_mm": [0, 0, 0]})
    for name in [*headers, "z.h5", "z.tif"]:
        vol = open_volume(tmp_path / name)
        assert not vol.spacing_known, name
        assert vol.spacing_mm == (1.0, 1.0, 1.0)
        assert any("voxel size" in w for w in vol.warnings), (name, vol.warnings)
        np.testing.assert_array_equal(vol.array(), VOXELS)


# --- option misuse ---------------------------------------------------------------------


def test_options_that_do_not_fit_the_format(tmp_path: Path) -> None:
    tif = _good(tmp_path, ".tif")
    with pytest.raises(UsageError, match="apply to raw files only; this is tiff"):
        open_volume(tif, shape=(2, 30, 40), dtype="uint16")
    mhd = tmp_path / "c.mhd"
    mhd.write_text(
        "Comment = first\nNDims = 3\nDimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
    )
    with pytest.raises(UsageError, match="apply to raw files only; this is metaimage"):
        open_volume(mhd, shape=(1, 1, 1), dtype="uint8")
    with pytest.raises(UsageError, match="--dataset applies to HDF5 files only"):
        open_volume(tif, dataset="/volume")
    raw = tmp_path / "x.raw"
    raw.write_bytes(b"\0" * 8)
    with pytest.raises(UsageError, match="'complex64' is not a voxel type"):
        open_volume(raw, shape=(1, 1, 1), dtype="complex64")
    with pytest.raises(UsageError, match="'wibble' is not a voxel type"):
        open_volume(raw, shape=(1, 1, 1), dtype="wibble")


def test_detect_format_by_content_suffix_and_folder(tmp_path: Path) -> None:
    for suffix, fmt in [
        (".nrrd", "nrrd"),
        (".h5", "hdf5"),
        (".tif", "tiff"),
        (".npy", "npy"),
        (".mha", "metaimage"),
    ]:
        good = _good(tmp_path, suffix)
        renamed = good.with_suffix(".data")  # content wins over a misleading suffix
        renamed.write_bytes(good.read_bytes())
        assert detect_format(renamed) == fmt
    (tmp_path / "x.vgi").write_text("{volume1}\n")
    assert detect_format(tmp_path / "x.vgi") == "vgi"
    dicom = tmp_path / "slice0001"
    dicom.write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    assert detect_format(dicom) == "dicom"
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "IM0001").write_bytes(dicom.read_bytes())
    assert detect_format(folder) == "dicom"
    stack = tmp_path / "stack"
    stack.mkdir()
    tifffile.imwrite(stack / "s1.tiff", VOXELS[0])
    assert detect_format(stack) == "tiff"
    with pytest.raises(VolumeReadError, match="does not exist"):
        detect_format(tmp_path / "missing.tif")
