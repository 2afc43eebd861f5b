"""`ndelab export --format dicom-seg` and the DICOM source summary of `ndelab info`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from ndelab.annotation.export.dataset import FORMATS, files_sha256
from ndelab.annotation.store import Store, import_labels, review
from ndelab.cli import EXPORT_FORMATS, main
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.volume import Volume

CT = UID("1.2.840.10008.5.1.4.1.1.2")


def test_the_cli_offers_every_export_format() -> None:
    assert EXPORT_FORMATS == FORMATS


def test_export_dicom_seg_writes_seg_and_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scan.npy"
    write_volume(Volume(np.arange(3 * 8 * 9, dtype=np.uint16).reshape(3, 8, 9)), path)
    vol = open_volume(path)
    labels = np.zeros(vol.shape, np.int32)
    labels[1, 2:4, 3:6] = 1
    db = tmp_path / "review.db"
    with Store(db) as store:
        made = import_labels(
            store, vol, labels, "pore", source="model:porenet@2.1", user="bot",
            sha256=files_sha256(vol),
        )  # fmt: skip
        review(store, made["call_ids"][0], "accept", "ana")
    out = tmp_path / "ds"
    argv = ["export", "--db", str(db), "--format", "dicom-seg", "--out", str(out)]
    assert main([*argv, "--val-fraction", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    folder = out / "train" / made["scan_id"]
    assert summary["format"] == "dicom-seg" and summary["labels"] == 1
    assert (folder / "seg.dcm").is_file() and (out / "manifest.json").is_file()
    assert sorted(p.name for p in (folder / "image").iterdir()) == [
        "00001.dcm",
        "00002.dcm",
        "00003.dcm",
    ]
    assert f"train/{made['scan_id']}/seg.dcm" in summary["files"]


def test_info_counts_the_source_instances_instead_of_listing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = generate_uid()
    for z in range(3):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CT, generate_uid()
        ds.file_meta.MediaStorageSOPClassUID = CT
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, "1.2.3", "CT"
        ds.Rows, ds.Columns, ds.SamplesPerPixel = 4, 5, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, z], [1, 0, 0, 0, 1, 0]
        ds.PixelData = np.zeros((4, 5), np.uint16).tobytes()
        ds.save_as(tmp_path / f"{z}.dcm", enforce_file_format=True)
    assert main(["info", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["metadata"]["source_slices"] == "3 source instances"
    assert info["metadata"]["StudyInstanceUID"] == study
