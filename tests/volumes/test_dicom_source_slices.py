"""The DICOM reader names the instance (and frame) behind every z slice, as plain JSON values,
so an export can reference the source images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from ndelab.volumes.readers.dicom import SOURCE_SLICES, read_dicom

CT = UID("1.2.840.10008.5.1.4.1.1.2")
ENHANCED_CT = UID("1.2.840.10008.5.1.4.1.1.2.1")
STUDY, FOR = generate_uid(), generate_uid()


def _dataset(sop_class: UID) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = STUDY, "1.2.3", FOR
    ds.Modality = "CT"
    ds.PatientName, ds.PatientID = "Doe^Jane", "P-7"
    ds.Rows, ds.Columns = 4, 5
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def test_a_shuffled_series_names_each_slice_in_z_order(tmp_path: Path) -> None:
    folder = tmp_path / "series"
    (folder / "sub").mkdir(parents=True)
    uid_at_depth = {}
    for n, depth in enumerate([3, 0, 4, 1, 2]):  # file order is not slice order
        ds = _dataset(CT)
        ds.InstanceNumber = n + 1
        ds.ImagePositionPatient = [0, 0, 2.0 * depth]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.5, 0.5]
        ds.PixelData = np.full((4, 5), depth, np.uint16).tobytes()
        name = f"sub/f{n}.dcm" if n == 2 else f"f{n}.dcm"
        ds.save_as(folder / name, enforce_file_format=True)
        uid_at_depth[depth] = (name, ds.SOPInstanceUID)

    vol = read_dicom(folder)
    meta = vol.metadata
    assert meta["StudyInstanceUID"] == STUDY and meta["FrameOfReferenceUID"] == FOR
    assert meta["SOPClassUID"] == CT and meta["SeriesInstanceUID"] == "1.2.3"
    assert meta[SOURCE_SLICES] == [
        {"file": uid_at_depth[z][0], "SOPInstanceUID": uid_at_depth[z][1], "frame": 1}
        for z in range(5)
    ]
    assert [int(vol.array()[z, 0, 0]) for z in range(5)] == [0, 1, 2, 3, 4]
    json.dumps(meta)  # plain values only
    assert "PatientName" not in json.dumps(meta) and "Doe" not in json.dumps(meta)


def test_enhanced_ct_names_the_frame_of_each_slice(tmp_path: Path) -> None:
    ds = _dataset(ENHANCED_CT)
    frame_order = [2, 0, 1]  # frame i lies at depth frame_order[i]
    ds.NumberOfFrames = 3
    ds.SharedFunctionalGroupsSequence = DicomSequence([Dataset()])
    ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence = DicomSequence([Dataset()])
    ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient = [
        1,
        0,
        0,
        0,
        1,
        0,
    ]
    frames = []
    for depth in frame_order:
        item = Dataset()
        item.PlanePositionSequence = DicomSequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = [0, 0, float(depth)]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
    ds.PixelData = np.stack([np.full((4, 5), d, np.uint16) for d in frame_order]).tobytes()
    path = tmp_path / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)

    slices = read_dicom(path).metadata[SOURCE_SLICES]
    assert [s["frame"] for s in slices] == [2, 3, 1]  # 1-based frame at depth 0, 1, 2
    assert {s["file"] for s in slices} == {"enhanced.dcm"}
    assert {s["SOPInstanceUID"] for s in slices} == {ds.SOPInstanceUID}
