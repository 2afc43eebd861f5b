"""GE phoenix datos|x (.pcr + .vol) and Nikon CT Pro (.xtekVolume / .xtekct + .vol) volumes.

The files are written here as the scanner software writes them (Windows line ends, Windows
paths, INI sections), from the key names public readers use; no vendor file is available.
"""

# ruff: noqa: E501  (headers are clearer kept one line per key)

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.io import detect_format, open_volume

# (z, y, x): every voxel distinct, so a wrong axis order or byte order shows.
U16 = (np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) * 1031).astype("<u2")
F32 = (np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5) / 7 - 2).astype("<f4")


def _pcr(path: Path, *, fmt: int | None = 5, extra: str = "", size: str = "5 4 3") -> None:
    x, y, z = size.split()
    lines = [
        "[General]",
        "Program=datos|x reconstruction",
        "[Versions]",
        "Version-datos|x=2.7.0.2106",
        "[ImageData]",
        f"PCA_File=D:\\Scans\\Casting 17\\{path.stem}.pca",
        "[VolumeData]",
        f"VOL_File=D:\\Scans\\Casting 17\\{path.stem}.vol",
        f"Volume_SizeX={x}",
        f"Volume_SizeY={y}",
        f"Volume_SizeZ={z}",
        *([f"Format={fmt}"] if fmt is not None else []),
        "Min=-0.0523",
        "Max=1.8710",
        extra,
        "[ROI]",
        "ROI_SizeX=5",
        "[Reconstruction Settings]",
        "RecFilterKernel=Shepp-Logan",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1", newline="\r\n")


def _xtek(path: Path, *, voxels: str = "5 4 3", extra: str = "", ctpro: str = "") -> None:
    x, y, z = voxels.split()
    text = (
        "[XTekCT]\nName=casting17\nInputSeparator=_\nInputDigits=4\n"
        f"VoxelsX={x}\nVoxelSizeX=0.0125\nVoxelsY={y}\nVoxelSizeY=0.0125\nVoxelsZ={z}\nVoxelSizeZ=0.0125\n"
        "OffsetX=0.25\nOffsetY=0\nOffsetZ=-1.5\nSrcToObject=183.012\nSrcToDetector=735.7075\n"
        "MaskRadius=12.3\nDetectorPixelsX=2000\nDetectorPixelsY=2000\nWhiteLevel=60000.0\n"
        "Projections=3142\nInitialAngle=0\nAngularStep=0.1146\nScaling=1000.0\nOutputType=0\n"
        f"OutputUnits=/m\nUnits=mm\n{extra}"
        "\n[Xrays]\nXraykV=160\nXrayuA=62\n"
        "\n[CTPro]\nVersion=XT 6.1\nShuttling=True\nFilter_Material=Copper\n"
        f"Scaling_Units=InverseMetres\n{ctpro}"
    )
    path.write_text(text, encoding="latin-1", newline="\r\n")


def _fails(path: Path, pattern: str) -> None:
    with pytest.raises(VolumeReadError) as info:
        open_volume(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    assert re.search(pattern, message), message


# --- GE phoenix datos|x ----------------------------------------------------------------


def test_pcr_uint16_volume_is_mapped_lazily_in_zyx_order(tmp_path: Path) -> None:
    (tmp_path / "casting.vol").write_bytes(U16.tobytes())
    _pcr(tmp_path / "casting.pcr", extra="VoxelSizeRec=0.0251")
    assert detect_format(tmp_path / "casting.pcr") == "pcr"
    vol = open_volume(tmp_path / "casting.pcr")
    assert vol.format == "pcr" and vol.shape == (3, 4, 5) and vol.dtype == np.uint16
    assert isinstance(vol.data, np.memmap) and vol.is_lazy
    np.testing.assert_array_equal(vol.array(), U16)
    np.testing.assert_array_equal(vol.slice(2, 1), U16[:, :, 1])  # a sagittal slice
    assert vol.spacing_mm == pytest.approx((0.0251, 0.0251, 0.0251)) and vol.spacing_known
    assert vol.warnings == []
    assert vol.metadata["value_range"] == (-0.0523, 1.871)
    assert vol.metadata["voxel_type_code"] == 5
    assert vol.metadata["header"]["versions"]["version-datos|x"] == "2.7.0.2106"


@pytest.mark.parametrize(
    ("code", "data"), [(10, F32), (1, U16.astype(np.uint8)), (3, U16.astype(np.uint8))]
)
def test_pcr_float_and_8bit_codes(tmp_path: Path, code: int, data: np.ndarray) -> None:
    (tmp_path / "p.vol").write_bytes(data.tobytes())
    _pcr(tmp_path / "p.pcr", fmt=code, extra="VoxelSizeRec=0,05")  # a German decimal comma
    vol = open_volume(tmp_path / "p.pcr")
    assert vol.dtype == data.dtype
    np.testing.assert_array_equal(vol.array(), data)
    assert vol.spacing_mm == pytest.approx((0.05, 0.05, 0.05))


def test_pcr_data_file_is_found_without_regard_to_case_and_vol_opens_directly(
    tmp_path: Path,
) -> None:
    (tmp_path / "PART 7.VOL").write_bytes(U16.tobytes())
    _pcr(tmp_path / "Part 7.pcr", extra="VoxelSizeRec=0.1")
    vol = open_volume(tmp_path / "Part 7.pcr")
    assert Path(vol.metadata["data_file"]).name == "PART 7.VOL"
    np.testing.assert_array_equal(vol.array(), U16)
    assert detect_format(tmp_path / "PART 7.VOL") == "pcr"
    direct = open_volume(tmp_path / "PART 7.VOL")
    assert direct.format == "pcr" and direct.source == str(tmp_path / "Part 7.pcr")
    np.testing.assert_array_equal(direct.array(), U16)


def test_pcr_vol_file_named_elsewhere_falls_back_to_the_stem_with_a_warning(
    tmp_path: Path,
) -> None:
    (tmp_path / "scan.vol").write_bytes(U16.tobytes())
    (tmp_path / "scan.pcr").write_text(
        "[VolumeData]\nVolume_SizeX=5\nVolume_SizeY=4\nVolume_SizeZ=3\nFormat=5\n"
        "VoxelSizeRec=0.1\nVOL_File=D:\\Scans\\other name.vol\n"
    )
    vol = open_volume(tmp_path / "scan.pcr")
    np.testing.assert_array_equal(vol.array(), U16)
    assert any("other name.vol" in w and "scan.vol" in w for w in vol.warnings)


def test_pcr_without_voxel_size_takes_the_pca_one_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "s.vol").write_bytes(U16.tobytes())
    _pcr(tmp_path / "s.pcr")  # no VoxelSizeRec
    (tmp_path / "S.PCA").write_text(
        "[General]\nVersion=2.7\n[Geometry]\nFDD=800\nFOD=40\nVoxelSizeX=0.04\nVoxelSizeY=0.04\n",
        newline="\r\n",
    )
    vol = open_volume(tmp_path / "s.pcr")
    assert vol.spacing_mm == pytest.approx((0.04, 0.04, 0.04))
    assert any("VoxelSizeRec" in w and "S.PCA" in w for w in vol.warnings)
    (tmp_path / "S.PCA").unlink()
    bare = open_volume(tmp_path / "s.pcr")
    assert not bare.spacing_known and any("voxel size" in w for w in bare.warnings)


def test_pcr_bad_input_sentences(tmp_path: Path) -> None:
    header = tmp_path / "bad.pcr"
    _pcr(header, extra="VoxelSizeRec=0.1")
    _fails(
        header,
        r"names the volume file 'D:\\Scans\\Casting 17\\bad.vol' \(VOL_File\), which is not beside it, and no 'bad.vol' is beside it",
    )
    (tmp_path / "bad.vol").write_bytes(U16.tobytes()[:-10])
    _fails(header, r"expected 120 bytes of voxel data in bad.vol, found 110")
    (tmp_path / "bad.vol").write_bytes(F32.tobytes())
    _pcr(header, fmt=7)
    _fails(
        header,
        r"Format 7 is not a voxel type ndelab knows \(1 or 3 = 8-bit unsigned, 5 = 16-bit unsigned, 10 = 32-bit float\); bad.vol holds 4 bytes per voxel",
    )
    _pcr(header, fmt=1)
    _fails(
        header,
        r"Format 1 is read as 8-bit, so bad.vol should hold exactly 60 bytes, but it holds 240",
    )
    _pcr(header, fmt=None)
    _fails(header, r"gives no voxel type \(Format in \[VolumeData\]\)")
    _pcr(header, size="5 4 0")
    _fails(header, r"zero or negative axis")
    header.write_text("[VolumeData]\nVolume_SizeY=4\nVolume_SizeZ=3\nFormat=5\n")
    _fails(header, r"is not a usable phoenix datos\|x .pcr header: it gives no Volume_SizeX")
    header.write_text("[VolumeData]\nVolume_SizeX=5.5\nVolume_SizeY=4\nVolume_SizeZ=3\nFormat=5\n")
    _fails(header, r"Volume_SizeX '5.5' is not a whole number")
    for odd in ("nan", "inf"):
        header.write_text(f"[VolumeData]\nVolume_SizeX={odd}\nVolume_SizeY=4\nVolume_SizeZ=3\n")
        _fails(header, rf"Volume_SizeX '{odd}' is not a finite number")
    header.write_text("Volume_SizeX=5\n[VolumeData]\n")
    _fails(header, r"line 1 comes before any \[section\] line")
    header.write_bytes(b"\x00\x01\x02" * 50)
    _fails(header, r"holds binary data")


# --- Nikon CT Pro ----------------------------------------------------------------------


def test_xtek_volume_float32_by_default_with_spacing_and_offsets(tmp_path: Path) -> None:
    (tmp_path / "casting17.vol").write_bytes(F32.tobytes())
    _xtek(tmp_path / "casting17.xtekVolume")
    assert detect_format(tmp_path / "casting17.xtekVolume") == "xtek"
    vol = open_volume(tmp_path / "casting17.xtekVolume")
    assert vol.format == "xtek" and vol.shape == (3, 4, 5) and vol.dtype == np.float32
    assert isinstance(vol.data, np.memmap) and vol.is_lazy
    np.testing.assert_array_equal(vol.array(), F32)
    np.testing.assert_array_equal(vol.slice(1, 3), F32[:, 3, :])
    assert vol.spacing_mm == pytest.approx((0.0125, 0.0125, 0.0125))
    assert vol.warnings == []
    assert vol.metadata["offset_xyz"] == (0.25, 0.0, -1.5)
    assert vol.metadata["value_units"] == "/m" and vol.metadata["name"] == "casting17"
    assert vol.metadata["voxel_type_from"] == "CT Pro's default"
    assert vol.origin_mm == (0.0, 0.0, 0.0)


def test_xtek_float_declared_in_ctpro_section(tmp_path: Path) -> None:
    (tmp_path / "a.vol").write_bytes(F32.tobytes())
    _xtek(tmp_path / "a.xtekVolume", ctpro="Scaling_DataTypeVolume=Float\n")
    np.testing.assert_array_equal(open_volume(tmp_path / "a.xtekVolume").array(), F32)


def test_xtekct_and_the_vol_itself_open_without_regard_to_case(tmp_path: Path) -> None:
    (tmp_path / "SCAN.VOL").write_bytes(F32.tobytes())
    _xtek(tmp_path / "Scan.xtekct")
    vol = open_volume(tmp_path / "Scan.xtekct")
    np.testing.assert_array_equal(vol.array(), F32)
    assert detect_format(tmp_path / "SCAN.VOL") == "xtek"
    assert open_volume(tmp_path / "SCAN.VOL").source == str(tmp_path / "Scan.xtekct")


def test_xtek_voxel_type_from_the_vgi_beside_it(tmp_path: Path) -> None:
    (tmp_path / "b.vol").write_bytes(U16.tobytes())
    _xtek(tmp_path / "b.xtekVolume")
    (tmp_path / "b.vgi").write_text(
        "{volume1}\n[representation]\nsize = 5 4 3\ndatatype = unsigned integer\n"
        "bitsperelement = 16\n[file1]\nSkipHeader = 0\nFileFormat = raw\nName = b.vol\n",
        newline="\r\n",
    )
    vol = open_volume(tmp_path / "b.xtekVolume")
    assert vol.dtype == np.uint16 and vol.warnings == []
    assert vol.metadata["voxel_type_from"] == "b.vgi"
    np.testing.assert_array_equal(vol.array(), U16)
    # Opening the .vol prefers the CT Pro header to the .vgi.
    assert open_volume(tmp_path / "b.vol").format == "xtek"


def test_xtek_16bit_export_without_a_type_is_read_from_the_file_size_with_a_warning(
    tmp_path: Path,
) -> None:
    (tmp_path / "c.vol").write_bytes(U16.tobytes())
    _xtek(tmp_path / "c.xtekVolume", extra="Units=um\n")  # the last Units wins
    vol = open_volume(tmp_path / "c.xtekVolume")
    assert vol.dtype == np.uint16
    np.testing.assert_array_equal(vol.array(), U16)
    assert any("2 bytes per voxel" in w and "16-bit unsigned" in w for w in vol.warnings)
    assert vol.spacing_mm == pytest.approx((0.0125e-3,) * 3)


def test_xtek_bad_input_sentences(tmp_path: Path) -> None:
    header = tmp_path / "d.xtekVolume"
    _xtek(header)
    _fails(header, r"no 'd.vol' volume file is beside the header")
    scan = tmp_path / "proj.xtekct"
    _xtek(scan)
    _fails(
        scan,
        r"no reconstructed volume 'proj.vol' is beside this scan file \(ndelab opens CT Pro reconstructions, not projections\)",
    )
    (tmp_path / "d.vol").write_bytes(F32.tobytes()[:-4])
    _fails(
        header,
        r"expected 240 bytes of 32-bit float voxels \(CT Pro's default\) in d.vol, found 236, which fits no 8, 16 or 32-bit volume",
    )
    _xtek(header, ctpro="Scaling_DataTypeVolume=Float\n")
    _fails(header, r"expected 240 bytes of voxel data in d.vol, found 236")
    _xtek(header, ctpro="Scaling_DataTypeVolume=Unsigned Short\n")
    _fails(header, r"d.vol should hold exactly 120 bytes of 16-bit voxels, but it holds 236")
    _xtek(header, ctpro="Scaling_DataTypeVolume=Complex\n")
    _fails(header, r"Scaling_DataTypeVolume 'Complex' is not a voxel type ndelab knows")
    header.write_text("[XTekCT]\nVoxelsY=4\nVoxelsZ=3\n")
    _fails(header, r"is not a usable Nikon CT Pro header: it gives no VoxelsX")
    header.write_text("[XTekCT]\nVoxelsX=five\nVoxelsY=4\nVoxelsZ=3\n")
    _fails(header, r"VoxelsX 'five' is not a number")


def test_pcr_volume_bigger_than_its_header_says_is_flagged(tmp_path: Path) -> None:
    """A float volume labelled Format 5 maps, but the user is told the sizes disagree."""
    (tmp_path / "p.vol").write_bytes(F32.tobytes())
    _pcr(tmp_path / "p.pcr", fmt=5, extra="VoxelSizeRec=0.1")
    vol = open_volume(tmp_path / "p.pcr")
    assert vol.dtype == np.uint16
    assert any("more than the 120 bytes" in w for w in vol.warnings), vol.warnings
