"""The DICOM reader against real files from pydicom's test set (written by scanners and toolkits
that are not ndelab), and its errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.readers.dicom import is_dicom_file, read_dicom


def data(name: str) -> Path:
    found = get_testdata_file(name, download=False)
    if found is None:
        pytest.fail(f"pydicom's test file {name} is missing from this install")
    return Path(str(found))


def stored(name: str) -> np.ndarray:
    """pydicom's own decoding, as the reference."""
    return np.asarray(pydicom.dcmread(data(name)).pixel_array)


# --- real files ---------------------------------------------------------------------------------


def test_ct_small_is_one_slice_of_int16_hounsfield_units() -> None:
    vol = read_dicom(data("CT_small.dcm"))
    ds = pydicom.dcmread(data("CT_small.dcm"))
    assert vol.shape == (1, 128, 128)
    assert vol.modality == "CT"
    assert vol.dtype == np.int16
    assert vol.spacing_mm == pytest.approx((5.0, 0.661468, 0.661468))
    np.testing.assert_array_equal(vol.array()[0], ds.pixel_array.astype(np.int32) - 1024)
    # Origin: ImagePositionPatient (X, Y, Z) in (z, y, x) order.
    assert vol.origin_mm == pytest.approx(tuple(float(v) for v in ds.ImagePositionPatient[::-1]))
    assert vol.metadata["rescale"]["intercept"] == -1024.0
    assert vol.metadata["rescale"]["slope"] == 1.0
    assert vol.metadata["Modality"] == "CT"
    assert vol.metadata["TransferSyntaxUID"] == ExplicitVRLittleEndian
    assert vol.metadata["BitsStored"] == 16
    assert "diconde" not in vol.metadata  # a medical file: no patient names in metadata
    assert vol.format == "dicom"


def test_cr_monochrome1_is_inverted_so_bright_means_dense() -> None:
    name = "dicomdirtests/77654033/CR1/6154"
    ds = pydicom.dcmread(data(name))
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    vol = read_dicom(data(name))
    assert vol.modality == "CR"
    assert vol.shape == (1, 16, 16)
    assert vol.dtype == np.float32  # slope 0.684 is not 1
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    top = (2**ds.BitsStored - 1) * slope + intercept
    expected = (intercept + top) - (ds.pixel_array * slope + intercept)
    np.testing.assert_allclose(vol.array()[0], expected, rtol=1e-6)
    assert vol.metadata["monochrome1_inverted"] is True
    assert vol.metadata["rescale"]["type"] == "OD"
    assert vol.spacing_mm[1:] == pytest.approx((0.1, 0.1))


@pytest.mark.parametrize(
    "variant",
    [
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_implicit.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
    ],
)
def test_mr_small_encodings_decode_to_the_same_voxels(variant: str) -> None:
    reference = read_dicom(data("MR_small.dcm"))
    vol = read_dicom(data(variant))
    assert vol.shape == reference.shape == (1, 64, 64)
    assert vol.dtype == reference.dtype
    np.testing.assert_array_equal(vol.array(), reference.array())
    assert vol.spacing_mm == reference.spacing_mm
    assert vol.origin_mm == reference.origin_mm


def test_mr_small_matches_pydicom_and_keeps_its_window() -> None:
    vol = read_dicom(data("MR_small.dcm"))
    np.testing.assert_array_equal(vol.array()[0], stored("MR_small.dcm"))
    assert vol.metadata["window_presets"] == [{"center": 600.0, "width": 1600.0}]


@pytest.mark.parametrize("name", ["JPGExtended.dcm", "JPEG2000.dcm", "693_J2KI.dcm"])
def test_lossy_and_jpeg2000_files_decode(name: str) -> None:
    vol = read_dicom(data(name))
    ds = pydicom.dcmread(data(name))
    assert vol.shape == (1, ds.Rows, ds.Columns)
    intercept = int(float(ds.get("RescaleIntercept", 0)))
    np.testing.assert_array_equal(vol.array()[0], stored(name).astype(np.int64) + intercept)


@pytest.mark.parametrize("variant", ["rtdose.dcm", "rtdose_expb.dcm", "rtdose_rle.dcm"])
def test_multi_frame_dose_grid_uses_grid_frame_offsets(variant: str) -> None:
    ds = pydicom.dcmread(data("rtdose.dcm"))
    vol = read_dicom(data(variant))
    assert vol.shape == (15, 10, 10)
    assert vol.spacing_mm == pytest.approx((5.0, 10.0, 10.0))
    np.testing.assert_array_equal(vol.array(), ds.pixel_array)
    last = np.asarray(ds.ImagePositionPatient, dtype=float) + np.array([0, 0, 70.0])
    np.testing.assert_allclose(vol.index_to_world((14, 0, 0)), last[::-1])


def test_colour_frames_become_luminance_with_a_warning() -> None:
    vol = read_dicom(data("SC_rgb_rle_2frame.dcm"))
    rgb = stored("SC_rgb_rle_2frame.dcm").astype(float)
    expected = np.rint(rgb @ [0.299, 0.587, 0.114])
    assert vol.shape == (2, 100, 100)
    assert vol.dtype == np.uint8
    np.testing.assert_array_equal(vol.array(), expected)
    assert any("colour" in w for w in vol.warnings)


def test_a_real_ct_folder_is_sorted_along_the_slice_normal() -> None:
    folder = data("dicomdirtests/77654033/CT2/17106").parent
    vol = read_dicom(folder)
    assert vol.shape == (4, 16, 16)
    headers = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    z = sorted(float(h.ImagePositionPatient[2]) for h in headers)
    # Axial slices: world z of each slice's first voxel follows the sorted positions.
    got = [vol.index_to_world((k, 0, 0))[0] for k in range(4)]
    assert got[0] == pytest.approx(z[0])
    assert got[-1] == pytest.approx(z[-1])
    assert any("spacing varies" in w for w in vol.warnings)  # these four are not evenly spaced
    by_z = {
        float(h.ImagePositionPatient[2]): h.pixel_array.astype(np.int32) - 1024 for h in headers
    }
    for k, zk in enumerate(z):
        np.testing.assert_array_equal(vol.array()[k], by_z[zk])


def test_localizers_in_a_real_series_are_left_out() -> None:
    folder = data("dicomdirtests/98892003/MR700/4467").parent
    vol = read_dicom(folder)
    assert vol.shape[0] < len(list(folder.iterdir()))
    assert any("another orientation" in w for w in vol.warnings)


def test_progress_reaches_one_and_cancel_stops() -> None:
    seen: list[float] = []
    read_dicom(data("rtdose.dcm"), progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen)
    with pytest.raises(Cancelled):
        read_dicom(data("rtdose.dcm"), cancel=lambda: True)


# --- detection ----------------------------------------------------------------------------------


def test_is_dicom_file(tmp_path: Path) -> None:
    assert is_dicom_file(data("CT_small.dcm"))
    assert is_dicom_file(data("ExplVR_LitEndNoMeta.dcm"))  # no preamble, still a data set
    noise = tmp_path / "noise.dcm"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert not is_dicom_file(noise)
    text = tmp_path / "notes.txt"
    text.write_text("inspection notes\n" * 20)
    assert not is_dicom_file(text)
    assert not is_dicom_file(tmp_path / "missing.dcm")


# --- bad input: one sentence that names the file ------------------------------------------------


def one_sentence(err: VolumeReadError, path: Path) -> str:
    text = str(err)
    assert text.startswith(str(path))
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def test_truncated_pixel_data_says_how_many_bytes(tmp_path: Path) -> None:
    with pytest.raises(VolumeReadError) as err:
        read_dicom(data("MR_truncated.dcm"))
    text = one_sentence(err.value, data("MR_truncated.dcm"))
    assert "expected 8,192 bytes of voxel data, found 8,130" in text

    # A file cut short inside its pixel data.
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data("CT_small.dcm").read_bytes()[:-10_000])
    with pytest.raises(VolumeReadError) as err:
        read_dicom(cut)
    one_sentence(err.value, cut)


def test_random_bytes_named_dcm(tmp_path: Path) -> None:
    noise = tmp_path / "scan.dcm"
    noise.write_bytes(np.random.default_rng(7).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(VolumeReadError) as err:
        read_dicom(noise)
    assert "is not a DICOM file" in one_sentence(err.value, noise)


def test_folder_without_dicom(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    (tmp_path / "junk.dcm").write_bytes(b"\x00" * 300)
    with pytest.raises(VolumeReadError) as err:
        read_dicom(tmp_path)
    assert "contains no DICOM images" in one_sentence(err.value, tmp_path)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VolumeReadError, match="does not exist"):
        read_dicom(tmp_path / "nope")


def test_object_without_an_image() -> None:
    with pytest.raises(VolumeReadError) as err:
        read_dicom(data("rtplan.dcm"))
    one_sentence(err.value, data("rtplan.dcm"))


def test_palette_colour_is_rejected() -> None:
    with pytest.raises(VolumeReadError, match="PALETTE COLOR"):
        read_dicom(data("examples_palette.dcm"))


def _image_file(path: Path, transfer_syntax: UID, *, pixels: bool = True) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = 4, 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    if pixels:
        raw = np.arange(16, dtype=np.uint16).tobytes()
        ds.PixelData = raw if transfer_syntax == ExplicitVRLittleEndian else encapsulate([raw])
    ds.save_as(path, implicit_vr=False, little_endian=True, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    ("uid", "name"),
    [
        ("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
        ("1.2.826.0.1.3680043.99.1.2.3", "unknown"),
    ],
)
def test_undecodable_transfer_syntax(tmp_path: Path, uid: str, name: str) -> None:
    path = _image_file(tmp_path / "video.dcm", UID(uid))
    with pytest.raises(VolumeReadError) as err:
        read_dicom(path)
    text = one_sentence(err.value, path)
    assert text.endswith(f"uses transfer syntax {name} ({uid}), which ndelab cannot decode")


def test_missing_pixel_data(tmp_path: Path) -> None:
    path = _image_file(tmp_path / "empty.dcm", ExplicitVRLittleEndian, pixels=False)
    with pytest.raises(VolumeReadError) as err:
        read_dicom(path)
    assert "has no pixel data" in one_sentence(err.value, path)


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "JPGExtended.dcm", "693_J2KI.dcm"])
def test_compressed_file_cut_short(tmp_path: Path, name: str) -> None:
    raw = data(name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(raw[: int(len(raw) * 0.9)])
    with pytest.raises(VolumeReadError) as err:
        read_dicom(cut)
    assert "truncated or damaged" in one_sentence(err.value, cut)
