"""The DICOM reader on series written here with pydicom: slice sorting and geometry, Enhanced CT
functional groups, rescale choices, DICONDE component information (public and legacy private)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.readers.dicom import read_dicom
from ndelab.volumes.readers.diconde import diconde_info

CT_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2")
ENHANCED_CT_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2.1")


def oblique_axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column directions rotated off every patient axis, and their normal."""
    a, b = np.deg2rad(30.0), np.deg2rad(20.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rot = rx @ rz
    row, col = rot[:, 0], rot[:, 1]
    return row, col, np.cross(row, col)


def base_dataset(sop_class: UID, syntax: UID = ExplicitVRLittleEndian) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Manufacturer = "ndelab tests"
    ds.StudyDate = "20240131"
    ds.SeriesDescription = "casting"
    ds.KVP = "225"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    return ds


def write_slice(
    path: Path,
    pixels: np.ndarray,
    *,
    series: str,
    instance: int,
    position: Sequence[float] | np.ndarray | None,
    orientation: Sequence[float] | None,
    spacing: tuple[float, float] = (0.5, 0.25),
    slope: float = 1.0,
    intercept: float = -1024.0,
    extra: dict[str, Any] | None = None,
    syntax: UID = ExplicitVRLittleEndian,
) -> Path:
    ds = base_dataset(CT_STORAGE, syntax)
    ds.SeriesInstanceUID = series
    ds.InstanceNumber = instance
    ds.Rows, ds.Columns = pixels.shape
    if position is not None:
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    if orientation is not None:
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
    ds.PixelSpacing = [str(spacing[0]), str(spacing[1])]
    ds.SliceThickness = "0.8"
    ds.RescaleSlope = str(slope)
    ds.RescaleIntercept = str(intercept)
    ds.WindowCenter, ds.WindowWidth = "400", "2000"
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    ds.PixelData = pixels.astype(np.int16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def slice_pixels(k: int, shape: tuple[int, int] = (6, 8)) -> np.ndarray:
    """Slice k: a constant per slice plus a ramp, so order and orientation both show."""
    return (100 * k + np.arange(shape[0] * shape[1]).reshape(shape)).astype(np.int16)


def write_series(
    folder: Path,
    n: int = 6,
    *,
    step: float = 1.5,
    order: Sequence[int] | None = None,
    series: str | None = None,
    shear: Sequence[float] = (0.0, 0.0, 0.0),
    steps: Sequence[float] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """An oblique series written in a shuffled file order; returns IPPs and the axes."""
    folder.mkdir(parents=True, exist_ok=True)
    row, col, normal = oblique_axes()
    start = np.array([-40.0, 12.5, 300.0])
    depths = np.cumsum([0.0, *(steps or [step] * (n - 1))])
    positions = [start + d * normal + k * np.asarray(shear) for k, d in enumerate(depths)]
    series = series or generate_uid()
    for k in order if order is not None else np.random.default_rng(3).permutation(n):
        write_slice(
            folder / f"img_{(k * 7919) % 1000:04d}.dcm",
            slice_pixels(int(k)),
            series=series,
            instance=int(k) + 1,
            position=positions[k],
            orientation=[*row, *col],
        )
    return positions, row, col, normal


# --- slice folders ------------------------------------------------------------------------------


def test_oblique_shuffled_series_is_sorted_with_consistent_geometry(tmp_path: Path) -> None:
    positions, row, col, normal = write_series(tmp_path / "s", 6, step=1.5)
    vol = read_dicom(tmp_path / "s")
    assert vol.shape == (6, 6, 8)
    assert vol.dtype == np.int16
    for k in range(6):
        np.testing.assert_array_equal(vol.array()[k], slice_pixels(k).astype(np.int32) - 1024)
    assert vol.spacing_mm == pytest.approx((1.5, 0.5, 0.25))
    assert vol.warnings == []
    # Directions: columns for the z, y, x index axes, each in (z, y, x) world order.
    np.testing.assert_allclose(vol.direction[:, 0], normal[::-1], atol=1e-6)
    np.testing.assert_allclose(vol.direction[:, 1], col[::-1], atol=1e-6)
    np.testing.assert_allclose(vol.direction[:, 2], row[::-1], atol=1e-6)
    np.testing.assert_allclose(vol.origin_mm, positions[0][::-1], atol=1e-5)
    np.testing.assert_allclose(vol.index_to_world((5, 0, 0)), positions[-1][::-1], atol=1e-5)
    # Voxel (row 3, column 5) of slice 2 lies at IPP + 3 * 0.5 * col + 5 * 0.25 * row.
    expected = positions[2] + 3 * 0.5 * col + 5 * 0.25 * row
    np.testing.assert_allclose(vol.index_to_world((2, 3, 5)), expected[::-1], atol=1e-5)
    np.testing.assert_allclose(vol.world_to_index(expected[::-1]), (2, 3, 5), atol=1e-6)
    meta = vol.metadata
    assert meta["Modality"] == "CT"
    assert meta["KVP"] == 225.0
    assert meta["SeriesDescription"] == "casting"
    assert meta["files"] == 6
    assert meta["window_presets"] == [{"center": 400.0, "width": 2000.0}]


def test_largest_series_wins_and_others_are_named_in_a_warning(tmp_path: Path) -> None:
    write_series(tmp_path / "f" / "a", 5)
    write_series(tmp_path / "f" / "b", 3)
    write_series(tmp_path / "f" / "c", 2)
    (tmp_path / "f" / "notes.txt").write_text("operator notes")
    vol = read_dicom(tmp_path / "f")
    assert vol.shape[0] == 5
    assert any("3 image series" in w and "2 other series" in w for w in vol.warnings)
    assert any("1 files" in w and "skipped" in w for w in vol.warnings)


def test_uneven_spacing_is_reported(tmp_path: Path) -> None:
    write_series(tmp_path / "s", 4, steps=[1.0, 1.0, 2.0])
    vol = read_dicom(tmp_path / "s")
    assert vol.spacing_mm[0] == pytest.approx(4.0 / 3.0)
    assert any("spacing varies from 1 to 2 mm" in w for w in vol.warnings)


def test_gantry_tilt_keeps_positions_exact(tmp_path: Path) -> None:
    positions, *_ = write_series(tmp_path / "s", 5, step=2.0, shear=(0.0, 0.3, 0.0))
    vol = read_dicom(tmp_path / "s")
    assert any("sheared" in w for w in vol.warnings)
    for k in range(5):
        np.testing.assert_allclose(vol.index_to_world((k, 0, 0)), positions[k][::-1], atol=1e-5)


def test_duplicate_positions_are_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    positions, row, col, _ = write_series(folder, 4)
    write_slice(
        folder / "copy.dcm",
        slice_pixels(9),
        series=str(pydicom.dcmread(next(folder.iterdir())).SeriesInstanceUID),
        instance=99,
        position=positions[1],
        orientation=[*row, *col],
    )
    vol = read_dicom(folder)
    assert vol.shape[0] == 4
    assert any("repeat the position" in w for w in vol.warnings)


def test_without_positions_instance_number_orders(tmp_path: Path) -> None:
    series = generate_uid()
    for k in (2, 0, 3, 1):
        write_slice(
            tmp_path / f"x{k}.dcm",
            slice_pixels(k),
            series=series,
            instance=k + 1,
            position=None,
            orientation=None,
        )
    vol = read_dicom(tmp_path)
    for k in range(4):
        assert vol.array()[k, 0, 0] == 100 * k - 1024
    assert vol.spacing_mm[0] == pytest.approx(0.8)  # SliceThickness
    assert any("InstanceNumber" in w for w in vol.warnings)


def test_mixed_shapes_name_the_odd_file(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    positions, row, col, _ = write_series(folder, 4)
    series = str(pydicom.dcmread(next(folder.iterdir())).SeriesInstanceUID)
    odd = write_slice(
        folder / "odd.dcm",
        slice_pixels(7, (5, 5)),
        series=series,
        instance=50,
        position=positions[-1] + 9.0,
        orientation=[*row, *col],
    )
    with pytest.raises(VolumeReadError) as err:
        read_dicom(folder)
    text = str(err.value)
    assert text.startswith(str(odd)) and "5 x 5 pixels" in text and "6 x 8" in text


def test_rescale_with_a_fractional_slope_gives_float32(tmp_path: Path) -> None:
    path = write_slice(
        tmp_path / "one.dcm",
        slice_pixels(1),
        series=generate_uid(),
        instance=1,
        position=(0, 0, 0),
        orientation=(1, 0, 0, 0, 1, 0),
        slope=0.5,
        intercept=-10.25,
    )
    vol = read_dicom(path)
    assert vol.dtype == np.float32
    np.testing.assert_allclose(vol.array()[0], slice_pixels(1) * 0.5 - 10.25)
    assert vol.metadata["rescale"]["slope"] == 0.5


def test_monochrome1_window_centre_follows_the_inversion(tmp_path: Path) -> None:
    path = write_slice(
        tmp_path / "m1.dcm",
        slice_pixels(1),
        series=generate_uid(),
        instance=1,
        position=(0, 0, 0),
        orientation=(1, 0, 0, 0, 1, 0),
        intercept=0,
        extra={"PhotometricInterpretation": "MONOCHROME1", "PixelRepresentation": 0},
    )
    vol = read_dicom(path)
    np.testing.assert_array_equal(vol.array()[0], 4095 - slice_pixels(1))
    assert vol.metadata["window_presets"][0]["center"] == 4095 - 400


# --- Enhanced CT (functional groups) ------------------------------------------------------------


def item(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def test_enhanced_ct_frames_sorted_by_plane_position(tmp_path: Path) -> None:
    row, col, normal = oblique_axes()
    n, step = 5, 0.7
    start = np.array([10.0, -20.0, 55.0])
    frame_order = [3, 0, 4, 1, 2]  # frame i shows slice frame_order[i]
    ds = base_dataset(ENHANCED_CT_STORAGE)
    ds.SeriesInstanceUID = generate_uid()
    ds.NumberOfFrames = n
    ds.Rows, ds.Columns = 6, 8
    ds.SharedFunctionalGroupsSequence = DicomSequence(
        [
            item(
                PixelMeasuresSequence=DicomSequence(
                    [item(PixelSpacing=["0.3", "0.2"], SliceThickness="0.7")]
                ),
                PlaneOrientationSequence=DicomSequence(
                    [item(ImageOrientationPatient=[f"{v:.8f}" for v in (*row, *col)])]
                ),
                FrameVOILUTSequence=DicomSequence([item(WindowCenter="50", WindowWidth="350")]),
            )
        ]
    )
    per_frame = []
    for k in frame_order:
        pos = start + k * step * normal
        per_frame.append(
            item(
                PlanePositionSequence=DicomSequence(
                    [item(ImagePositionPatient=[f"{v:.6f}" for v in pos])]
                ),
                PixelValueTransformationSequence=DicomSequence(
                    [item(RescaleSlope="1", RescaleIntercept="-1024", RescaleType="HU")]
                ),
            )
        )
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.PixelData = np.stack([slice_pixels(k) for k in frame_order]).astype(np.int16).tobytes()
    path = tmp_path / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)

    vol = read_dicom(path)
    assert vol.shape == (5, 6, 8)
    for k in range(n):
        np.testing.assert_array_equal(vol.array()[k], slice_pixels(k).astype(np.int32) - 1024)
    assert vol.spacing_mm == pytest.approx((0.7, 0.3, 0.2))
    np.testing.assert_allclose(vol.index_to_world((4, 0, 0)), (start + 4 * step * normal)[::-1])
    assert vol.metadata["rescale"]["type"] == "HU"
    assert vol.metadata["window_presets"] == [{"center": 50.0, "width": 350.0}]


# --- DICONDE -----------------------------------------------------------------------------------


def diconde_slice(path: Path, *, public: bool, legacy: bool) -> Path:
    extra: dict[str, Any] = {
        "PatientName": "Turbine blade HPT-1",
        "PatientID": "SN-0042",
        "PatientBirthDate": "20230415",
        "EthnicGroup": "IN718",
        "InstitutionName": "ACME Aero NDT",
    }
    if public:
        extra |= {
            "ComponentManufacturer": "ACME Castings",
            "ComponentManufacturingProcedure": "investment casting",
            "MaterialThickness": ["2.5", "3.0"],
            "MaterialGrade": "AMS 5662",
        }
    path = write_slice(
        path,
        slice_pixels(0),
        series=generate_uid(),
        instance=1,
        position=(0, 0, 0),
        orientation=(1, 0, 0, 0, 1, 0),
        extra=extra,
        syntax=ImplicitVRLittleEndian,
    )
    if legacy:
        ds = pydicom.dcmread(path)
        block = ds.private_block(0x0011, "astm.org/diconde/iod/Component", create=True)
        block.add_new(0x28, "ST", "Legacy Foundry")
        block.add_new(0x23, "ST", "STEP")
        block.add_new(0x30, "DS", "4.75")
        study = ds.private_block(0x0009, "astm.org/diconde/iod/ComponentStudy", create=True)
        study.add_new(0x20, "DA", "20301231")
        ds.save_as(path, enforce_file_format=True)
    return path


def test_diconde_public_tags(tmp_path: Path) -> None:
    vol = read_dicom(diconde_slice(tmp_path / "p.dcm", public=True, legacy=False))
    assert vol.metadata["diconde"] == {
        "component_name": "Turbine blade HPT-1",
        "component_id": "SN-0042",
        "component_manufacturing_date": "2023-04-15",
        "material": "IN718",
        "company_name": "ACME Aero NDT",
        "component_manufacturer": "ACME Castings",
        "component_manufacturing_procedure": "investment casting",
        "material_thickness": [2.5, 3.0],
        "material_grade": "AMS 5662",
    }


def test_diconde_legacy_private_tags_read_back_from_implicit_vr(tmp_path: Path) -> None:
    path = diconde_slice(tmp_path / "l.dcm", public=False, legacy=True)
    # Implicit VR: pydicom cannot know the private VRs, so values come back as raw bytes.
    assert isinstance(pydicom.dcmread(path)[0x00111028].value, bytes)
    info = read_dicom(path).metadata["diconde"]
    assert info["component_name"] == "Turbine blade HPT-1"
    assert info["component_manufacturer"] == "Legacy Foundry"
    assert info["cad_file_format"] == "STEP"
    assert info["material_thickness"] == 4.75
    assert info["expiry_date"] == "2030-12-31"
    assert info["legacy_private"] is True


def test_diconde_public_value_wins_over_legacy(tmp_path: Path) -> None:
    info = read_dicom(diconde_slice(tmp_path / "b.dcm", public=True, legacy=True)).metadata[
        "diconde"
    ]
    assert info["component_manufacturer"] == "ACME Castings"
    assert info["cad_file_format"] == "STEP"  # only in the legacy block


def test_plain_dicom_keeps_patient_fields_out() -> None:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "123"
    assert diconde_info(ds) == {}
    ds.add_new(0x00110010, "LO", "astm.org/diconde/iod/Component")
    assert diconde_info(ds) == {"component_name": "Doe^Jane", "component_id": "123"}


def test_per_slice_rescale_is_applied_slice_by_slice(tmp_path: Path) -> None:
    row, col, normal = oblique_axes()
    series = generate_uid()
    for k, slope in enumerate((0.5, 2.0)):
        write_slice(
            tmp_path / f"r{k}.dcm",
            slice_pixels(k),
            series=series,
            instance=k + 1,
            position=k * normal,
            orientation=[*row, *col],
            slope=slope,
            intercept=5.0,
        )
    vol = read_dicom(tmp_path)
    np.testing.assert_allclose(vol.array()[0], slice_pixels(0) * 0.5 + 5.0)
    np.testing.assert_allclose(vol.array()[1], slice_pixels(1) * 2.0 + 5.0)
    assert vol.metadata["rescale"]["varies_per_slice"] is True


def test_dx_radiograph_uses_imager_spacing_corrected_for_magnification(tmp_path: Path) -> None:
    ds = base_dataset(UID("1.2.840.10008.5.1.4.1.1.1.1"))  # Digital X-Ray Image Storage
    ds.Modality = "DX"
    ds.Rows, ds.Columns = 6, 8
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 14, 13, 0
    ds.ImagerPixelSpacing = ["0.15", "0.15"]
    ds.EstimatedRadiographicMagnificationFactor = "1.5"
    ds.PixelData = slice_pixels(3).astype(np.uint16).tobytes()
    path = tmp_path / "plate.dcm"
    ds.save_as(path, enforce_file_format=True)
    vol = read_dicom(path)
    assert vol.modality == "DX"
    assert vol.is_2d
    assert vol.dtype == np.uint16
    assert vol.spacing_mm[1:] == pytest.approx((0.1, 0.1))
    assert "magnification" in vol.metadata["spacing_source"]
    np.testing.assert_array_equal(vol.array()[0], slice_pixels(3))


def test_no_pixel_spacing_is_flagged(tmp_path: Path) -> None:
    ds = base_dataset(UID("1.2.840.10008.5.1.4.1.1.7"))
    ds.Modality = "OT"
    ds.Rows, ds.Columns = 6, 8
    ds.PixelData = slice_pixels(0).tobytes()
    path = tmp_path / "sc.dcm"
    ds.save_as(path, enforce_file_format=True)
    vol = read_dicom(path)
    assert not vol.spacing_known
    assert any("no pixel spacing" in w for w in vol.warnings)


def test_a_localizer_of_another_size_is_dropped_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    write_series(folder, 4)
    series = str(pydicom.dcmread(next(folder.iterdir())).SeriesInstanceUID)
    write_slice(
        folder / "scout.dcm",
        slice_pixels(0, (5, 5)),
        series=series,
        instance=100,
        position=(0.0, 0.0, 0.0),
        orientation=(1, 0, 0, 0, 0, -1),  # coronal
    )
    vol = read_dicom(folder)
    assert vol.shape == (4, 6, 8)
    assert any("1 slices lie in another orientation" in w for w in vol.warnings)
