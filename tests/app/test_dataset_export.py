from __future__ import annotations

from ndelab.app.dataset_export import summary_text


def test_the_summary_names_splits_classes_and_skipped_scans() -> None:
    text = summary_text(
        {
            "format": "nrrd",
            "out_dir": "/data/set",
            "labels": 20,
            "scans": 2,
            "splits": {
                "train": {"parts": 1, "scans": 1, "labels": 15},
                "val": {"parts": 1, "scans": 1, "labels": 5},
            },
            "classes": {"pore": 16, "crack": 4, "inclusion": 0},
            "skipped": [{"scan_id": "s9", "path": "x.nrrd", "reason": "the file is missing"}],
            "warnings": ["scan s3 has no reviewed calls"],
        }
    )
    assert text.splitlines() == [
        "20 labels from 2 scans, nrrd in /data/set",
        "train: 1 parts, 1 scans, 15 labels",
        "val: 1 parts, 1 scans, 5 labels",
        "classes: pore 16, crack 4",
        "skipped scan s9: the file is missing",
        "scan s3 has no reviewed calls",
    ]
