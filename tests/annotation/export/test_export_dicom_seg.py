"""DICOM SEG export: read back with highdicom, voxel for voxel, for a scan from a .npy file
(a CT series is written beside the SEG) and for DICOM sources (the SEG references them)."""

from __future__ import annotations

import filecmp
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from ndelab.annotation import NewIndication, Source, SparseMask
from ndelab.annotation.export.dataset import export_dataset, files_sha256
from ndelab.annotation.export.dicom_seg import CATEGORY, CLASS_TYPES
from ndelab.annotation.measure import measure
from ndelab.annotation.store import Store, add_indications, get_mask, import_labels, review
from ndelab.annotation.store.provenance import CLASS_CODES
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.readers.dicom import SOURCE_SLICES
from ndelab.volumes.volume import Volume

SHAPE = (5, 12, 16)
SPACING = (0.5, 0.25, 0.2)
CT = UID("1.2.840.10008.5.1.4.1.1.2")
ENHANCED_CT = UID("1.2.840.10008.5.1.4.1.1.2.1")


@dataclass
class Reviewed:
    scan_id: str
    expected: np.ndarray  # class codes of the labels that must be exported
    rejected: str
    open_call: str


def _labels() -> np.ndarray:
    labels = np.zeros(SHAPE, np.int32)
    labels[1:3, 2:5, 2:6] = 1  # pore, accepted
    labels[2:5, 7:10, 9:12] = 2  # pore, rejected
    labels[0:2, 8:11, 1:5] = 3  # crack, corrected to an inclusion with a trimmed mask
    return labels


def review_scan(store: Store, vol: Volume, part: str, *, negative: bool = False) -> Reviewed:
    """Model calls decided by ana and ben, a manual call, and an open call left proposed."""
    made = import_labels(
        store,
        vol,
        _labels(),
        {1: "pore", 2: "pore", 3: "crack"},
        source="model:porenet@2.1",
        user="runner",
        scores=[0.9, 0.8, 0.4],
        part_name=part,
        sha256=files_sha256(vol),
    )
    sid = made["scan_id"]
    a, r, c = made["call_ids"]
    expected = np.zeros(SHAPE, np.uint8)
    open_mask = SparseMask.from_local(np.ones((1, 2, 2), bool), (4, 10, 14))
    (open_call,) = add_indications(
        store,
        sid,
        [
            NewIndication(
                mask=open_mask,
                cls="pore",
                source=Source("model", "porenet", "2.1"),
                measurements=measure(open_mask, SPACING),
            )
        ],
        user="runner",
    )
    review(store, r, "reject", "ben", reason="streak artefact")
    if negative:
        review(store, a, "reject", "ana", reason="ring artefact")
        review(store, c, "reject", "ana", reason="ring artefact")
        return Reviewed(sid, expected, r, open_call)
    review(store, a, "accept", "ana")
    trimmed = np.zeros(SHAPE, bool)
    trimmed[0:2, 8:11, 1:3] = True
    review(store, c, "correct", "ana", cls="inclusion", mask=SparseMask.from_local(trimmed))
    manual = np.zeros(SHAPE, bool)
    manual[3:5, 0:2, 12:15] = True
    manual_mask = SparseMask.from_local(manual)
    (m,) = add_indications(
        store,
        sid,
        [
            NewIndication(
                mask=manual_mask,
                cls="lack-of-fusion",
                source=Source("manual"),
                measurements=measure(manual_mask, SPACING),
            )
        ],
        user="cleo",
    )
    review(store, m, "accept", "cleo")  # the last decision
    for call, cls in ((a, "pore"), (c, "inclusion"), (m, "lack-of-fusion")):
        get_mask(store, call).paste(expected, CLASS_CODES[cls])
    return Reviewed(sid, expected, r, open_call)


def _export(store: Store, out: Path) -> dict[str, Any]:
    summary = export_dataset(store, out, fmt="dicom-seg", val_fraction=0.0)
    json.dumps(summary)
    return summary


def _images(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in sorted((folder / "image").glob("*.dcm"))]


def _check_segments(seg: hd.seg.Segmentation) -> None:
    assert seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage
    assert seg.SegmentationType == "BINARY"
    assert seg.segment_numbers == list(range(1, len(CLASS_CODES) + 1))
    for name, code in CLASS_CODES.items():
        desc = seg.get_segment_description(code)
        assert desc.segment_label == name
        assert desc.segmented_property_category == CATEGORY
        assert desc.segmented_property_type == CLASS_TYPES[name]
    assert seg.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99NDELAB"


# --- a scan from a .npy file: a CT series is written beside the SEG ------------------------------


def test_npy_scan_round_trips_through_seg_and_a_written_ct_series(
    store: Store, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    direction = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # y and x swapped, flipped
    vol = Volume(
        (rng.random(SHAPE) * 1000).astype(np.float32),
        spacing_mm=SPACING,
        origin_mm=(10.0, -4.0, 2.5),
        direction=direction,
    )
    path = tmp_path / "scan.npy"
    write_volume(vol, path)
    vol = open_volume(path)
    rev = review_scan(store, vol, "casting 7")

    summary = _export(store, tmp_path / "ds")
    folder = tmp_path / "ds" / "train" / rev.scan_id
    assert summary["scans"] == 1 and summary["labels"] == 3
    assert any("16-bit integers" in w for w in summary["warnings"])  # float32 voxels, scaled
    files = set(summary["files"])
    assert f"train/{rev.scan_id}/seg.dcm" in files
    assert {f"train/{rev.scan_id}/image/{z + 1:05d}.dcm" for z in range(SHAPE[0])} <= files

    images = _images(folder)
    assert [im.SOPClassUID for im in images] == [CT] * SHAPE[0]
    seg = hd.seg.segread(folder / "seg.dcm")
    _check_segments(seg)
    first = images[0]
    assert seg.StudyInstanceUID == first.StudyInstanceUID
    assert seg.FrameOfReferenceUID == first.FrameOfReferenceUID
    assert seg.PatientName == first.PatientName == "casting 7^"
    pixels = seg.get_pixels_by_source_instance(
        [im.SOPInstanceUID for im in images], combine_segments=True
    )
    np.testing.assert_array_equal(pixels, rev.expected)
    for absent in (rev.rejected, rev.open_call):  # neither a rejected nor an open call
        mask = get_mask(store, absent)
        assert not pixels[mask.slices()][mask.local()].any()

    # The written series reads back as the scan: geometry exact, values within half a step.
    back = open_volume(folder / "image")
    assert back.shape == vol.shape and back.spacing_mm == pytest.approx(SPACING)
    np.testing.assert_allclose(back.origin_mm, vol.origin_mm, atol=1e-6)
    np.testing.assert_allclose(back.direction, vol.direction, atol=1e-9)
    step = float(first.RescaleSlope)
    np.testing.assert_allclose(back.array(), vol.array(), atol=step / 2 + 1e-3)

    # Every SEG frame lies on the scan's slice it references.
    uids = [im.SOPInstanceUID for im in images]
    for item in seg.PerFrameFunctionalGroupsSequence:
        z = uids.index(
            item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        )
        position = [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
        np.testing.assert_allclose(position, vol.index_to_world((z, 0, 0))[::-1], atol=1e-6)

    # Provenance: the last decision's reviewer and time; one algorithm type per class.
    assert str(seg.ContentCreatorName) == "cleo^"
    descs = [seg.get_segment_description(n) for n in seg.segment_numbers]
    kinds = {d.segment_label: d.algorithm_type.value for d in descs}
    assert kinds == {
        "pore": "AUTOMATIC",  # a model call accepted as it was
        "crack": "MANUAL",  # no labels: the reviewed absence
        "inclusion": "SEMIAUTOMATIC",  # a corrected model call
        "lack-of-fusion": "MANUAL",
        "other": "MANUAL",
        "linear": "MANUAL",
    }
    pore = seg.get_segment_description(1).algorithm_identification
    assert pore is not None and pore[0].AlgorithmName == "porenet"
    assert pore[0].AlgorithmVersion == "2.1"
    man = json.loads((tmp_path / "ds" / "manifest.json").read_text(encoding="utf-8"))
    (label,) = (lab for lab in man["labels"] if lab["class"] == "lack-of-fusion")
    decided = label["provenance"]["reviewed_at"]  # 2026-01-02T03:04:05.678+00:00
    assert seg.ContentDate == decided[:10].replace("-", "")
    assert seg.ContentTime[:6] == decided[11:19].replace(":", "")
    # The generated series and the SEG say their times are UTC.
    assert seg.TimezoneOffsetFromUTC == "+0000"
    assert all(image.TimezoneOffsetFromUTC == "+0000" for image in _images(folder))
    assert man["format"] == "dicom-seg"
    assert man["scans"][0]["files"][0] == f"train/{rev.scan_id}/seg.dcm"


# --- DICOM sources: the SEG references the scan's own instances --------------------------------


def _ct_dataset(sop_class: UID, study: str, series: str, frame_of_ref: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.FrameOfReferenceUID = frame_of_ref
    ds.Modality = "CT"
    ds.PatientName, ds.PatientID = "Blade^HPT-1", "SN-0042"  # DICONDE: the component
    ds.Rows, ds.Columns = SHAPE[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def _axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.deg2rad(25.0)
    row = np.array([np.cos(a), np.sin(a), 0.0])
    col = np.array([-np.sin(a), np.cos(a), 0.0])
    return row, col, np.cross(row, col)


def write_series(folder: Path, offset: str | None = None) -> tuple[str, str, str]:
    """Oblique CT slices in a shuffled file order; returns study, series, frame of reference.
    ``offset``: the files' TimezoneOffsetFromUTC, if they name one."""
    folder.mkdir()
    study, series, frame_of_ref = generate_uid(), generate_uid(), generate_uid()
    row, col, normal = _axes()
    for n, depth in enumerate([3, 0, 4, 1, 2]):
        ds = _ct_dataset(CT, study, series, frame_of_ref)
        ds.InstanceNumber = n + 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in np.array([5.0, -3.0, 40.0]) + depth * normal]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *col)]
        ds.PixelSpacing, ds.SliceThickness = ["0.25", "0.2"], "0.5"
        ds.PixelData = np.full(SHAPE[1:], 100 * depth, np.uint16).tobytes()
        if offset is not None:
            ds.TimezoneOffsetFromUTC = offset
        ds.save_as(folder / f"im{n}.dcm", enforce_file_format=True)
    return study, series, frame_of_ref


def write_enhanced(path: Path, frame_order: list[int]) -> Dataset:
    """One Enhanced CT file whose frame i lies at depth frame_order[i]."""
    ds = _ct_dataset(ENHANCED_CT, generate_uid(), generate_uid(), generate_uid())
    row, col, normal = _axes()
    ds.NumberOfFrames = len(frame_order)
    shared = Dataset()
    shared.PlaneOrientationSequence = DicomSequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *col)]
    shared.PixelMeasuresSequence = DicomSequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = ["0.25", "0.2"]
    shared.PixelMeasuresSequence[0].SliceThickness = "0.5"
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    frames = []
    for depth in frame_order:
        item = Dataset()
        item.PlanePositionSequence = DicomSequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = [
            f"{v:.6f}" for v in np.array([5.0, -3.0, 40.0]) + 0.5 * depth * normal
        ]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
    ds.PixelData = np.stack([np.full(SHAPE[1:], d, np.uint16) for d in frame_order]).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


def test_dicom_series_seg_references_the_source_instances(store: Store, tmp_path: Path) -> None:
    study, series, frame_of_ref = write_series(tmp_path / "series")
    vol = open_volume(tmp_path / "series")
    assert vol.format == "dicom" and vol.shape == SHAPE
    rev = review_scan(store, vol, "blade")
    source_uids = [s["SOPInstanceUID"] for s in vol.metadata[SOURCE_SLICES]]

    _export(store, tmp_path / "ds")
    folder = tmp_path / "ds" / "train" / rev.scan_id
    seg = hd.seg.segread(folder / "seg.dcm")
    _check_segments(seg)
    assert seg.StudyInstanceUID == study and seg.FrameOfReferenceUID == frame_of_ref
    assert seg.PatientName == "Blade^HPT-1" and seg.PatientID == "SN-0042"
    (ref,) = seg.ReferencedSeriesSequence
    assert ref.SeriesInstanceUID == series
    assert {i.ReferencedSOPInstanceUID for i in ref.ReferencedInstanceSequence} == set(source_uids)
    pixels = seg.get_pixels_by_source_instance(source_uids, combine_segments=True)
    np.testing.assert_array_equal(pixels, rev.expected)
    # Each frame names the source slice it lies on.
    for item in seg.PerFrameFunctionalGroupsSequence:
        (derivation,) = item.DerivationImageSequence
        uid = derivation.SourceImageSequence[0].ReferencedSOPInstanceUID
        z = source_uids.index(uid)
        assert rev.expected[z].any()
    # The images beside the SEG are the scan's own files, byte for byte.
    copies = _images(folder)
    assert sorted(c.SOPInstanceUID for c in copies) == sorted(source_uids)
    by_uid = {c.SOPInstanceUID: Path(c.filename) for c in copies}
    for entry in vol.metadata[SOURCE_SLICES]:
        original = tmp_path / "series" / entry["file"]
        assert filecmp.cmp(original, by_uid[entry["SOPInstanceUID"]], shallow=False)


@pytest.mark.parametrize(("offset", "hours"), [("+0130", 1.5), ("-0500", -5.0), (None, 0.0)])
def test_seg_times_follow_the_source_files_zone(
    store: Store, tmp_path: Path, offset: str | None, hours: float
) -> None:
    write_series(tmp_path / "series", offset)
    rev = review_scan(store, open_volume(tmp_path / "series"), "blade")
    _export(store, tmp_path / "ds")
    seg = hd.seg.segread(tmp_path / "ds" / "train" / rev.scan_id / "seg.dcm")
    man = json.loads((tmp_path / "ds" / "manifest.json").read_text(encoding="utf-8"))
    decided = max(lab["provenance"]["reviewed_at"] for lab in man["labels"])
    local = datetime.fromisoformat(decided) + timedelta(hours=hours)
    assert seg.ContentDate == local.strftime("%Y%m%d")
    assert seg.ContentTime[:6] == local.strftime("%H%M%S")
    assert seg.get("TimezoneOffsetFromUTC") == offset  # none named: none invented


def test_enhanced_ct_seg_frames_follow_the_source_frames(store: Store, tmp_path: Path) -> None:
    frame_order = [2, 4, 0, 3, 1]
    source = write_enhanced(tmp_path / "enhanced.dcm", frame_order)
    vol = open_volume(tmp_path / "enhanced.dcm")
    assert [int(vol.array()[z, 0, 0]) for z in range(5)] == [0, 1, 2, 3, 4]
    rev = review_scan(store, vol, "housing")

    _export(store, tmp_path / "ds")
    seg = hd.seg.segread(tmp_path / "ds" / "train" / rev.scan_id / "seg.dcm")
    frames = [frame_order.index(z) + 1 for z in range(5)]  # 1-based source frame of slice z
    pixels = seg.get_pixels_by_source_frame(source.SOPInstanceUID, frames, combine_segments=True)
    np.testing.assert_array_equal(pixels, rev.expected)


def test_a_reviewed_negative_is_one_empty_frame(store: Store, tmp_path: Path) -> None:
    write_series(tmp_path / "series")
    series = open_volume(tmp_path / "series")
    neg_series = review_scan(store, series, "blade", negative=True)
    write_enhanced(tmp_path / "enhanced.dcm", [2, 4, 0, 3, 1])
    neg_enhanced = review_scan(
        store, open_volume(tmp_path / "enhanced.dcm"), "housing", negative=True
    )

    summary = _export(store, tmp_path / "ds")
    assert summary["scans"] == 2 and summary["labels"] == 0
    for rev in (neg_series, neg_enhanced):
        seg = hd.seg.segread(tmp_path / "ds" / "train" / rev.scan_id / "seg.dcm")
        _check_segments(seg)
        assert int(seg.NumberOfFrames) == len(CLASS_CODES)  # one empty frame per segment
        assert not seg.pixel_array.any()
    seg = hd.seg.segread(tmp_path / "ds" / "train" / neg_series.scan_id / "seg.dcm")
    (ref,) = seg.ReferencedSeriesSequence
    assert len(ref.ReferencedInstanceSequence) == SHAPE[0]  # every slice still referenced
