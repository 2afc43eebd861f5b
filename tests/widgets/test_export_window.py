# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""Review ▸ Export reviewed labels as a data set: the dialog's choices reach the export, which
runs in the background and reports what it wrote."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.annotation.store import import_labels, open_store, review
from ndelab.volumes.io import open_volume
from ndelab.volumes.writers import write

pytestmark = pytest.mark.gui


def test_the_window_exports_reviewed_labels(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndelab.volumes.volume import Volume
    from ndelab.widgets import window_shared_db
    from ndelab.widgets.export_dataset_dialog import ExportDatasetDialog

    data = np.full((20, 24, 24), 1000, np.uint16)
    labels = np.zeros(data.shape, np.uint16)
    labels[5:8, 5:8, 5:8] = 1
    labels[12:15, 14:17, 14:17] = 2
    path = tmp_path / "part.nrrd"
    write(Volume(data, spacing_mm=(0.2, 0.2, 0.2)), path)
    db = tmp_path / "review.db"
    with open_store(db) as store:
        ids = import_labels(
            store, open_volume(path), labels, {1: "pore", 2: "crack"}, source="model:t@1", user="u"
        )["call_ids"]
        review(store, ids[0], "accept", "rita")
        review(store, ids[1], "reject", "rita", "noise")

    out = tmp_path / "set"
    monkeypatch.setattr(ExportDatasetDialog, "exec", lambda self: self.DialogCode.Accepted)
    monkeypatch.setattr(
        ExportDatasetDialog,
        "options",
        lambda self: {
            "shared": False,
            "fmt": "nrrd",
            "out_dir": out,
            "val_fraction": 0.0,
            "seed": 0,
        },
    )
    shown: list[str] = []
    monkeypatch.setattr(
        window_shared_db.QMessageBox, "information", lambda _w, _t, text: shown.append(text)
    )
    w = make_main_window(store_url=str(db))
    errors: list[str] = []
    monkeypatch.setattr(w, "error", lambda _title, message: errors.append(message))
    assert w.wait_for_store() is not None  # the database opens in the background
    w.export_dataset_dialog()
    end = time.monotonic() + 60
    while not shown:
        assert not errors, errors[0]  # a failed export says so instead of hanging on a dialog
        qapp.processEvents()
        assert time.monotonic() < end, "the export did not finish"
        time.sleep(0.02)
    assert shown[0].startswith("1 labels from 1 scans, nrrd in")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "nrrd"
    assert len(list(out.glob("train/*/labels.nrrd"))) == 1


def test_the_dialog_needs_a_folder_and_offers_the_shared_server(qapp: Any) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from ndelab.widgets.export_dataset_dialog import SHARED, ExportDatasetDialog

    dialog = ExportDatasetDialog(shared_available=True)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.folder.setText("/tmp/out")
    dialog.source.setCurrentText(SHARED)
    dialog.format.setCurrentText("coco")
    assert ok.isEnabled()
    options = dialog.options()
    assert options["shared"] and options["fmt"] == "coco"
    assert options["out_dir"] == Path("/tmp/out")
    assert ExportDatasetDialog(shared_available=False).source.count() == 1
    dialog.deleteLater()


@pytest.mark.postgres
def test_the_window_exports_from_the_shared_server(
    qapp: Any,
    make_main_window: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
) -> None:
    """Labels reviewed on another workstation, synced to the server, exported from there."""
    from ndelab.annotation.sync.engine import sync
    from ndelab.volumes.volume import Volume
    from ndelab.widgets import window_shared_db
    from ndelab.widgets.export_dataset_dialog import ExportDatasetDialog

    data = np.full((16, 20, 20), 1000, np.uint16)
    labels = np.zeros(data.shape, np.uint16)
    labels[4:7, 4:7, 4:7] = 1
    path = tmp_path / "other.nrrd"
    write(Volume(data, spacing_mm=(0.2, 0.2, 0.2)), path)
    with open_store(tmp_path / "other-workstation.db") as other:
        (call,) = import_labels(
            other, open_volume(path), labels, {1: "pore"}, source="model:t@1", user="u"
        )["call_ids"]
        review(other, call, "accept", "rita")
        sync(other, pg_url, "rita")

    out = tmp_path / "from-server"
    options = {"shared": True, "fmt": "hdf5", "out_dir": out, "val_fraction": 0.0, "seed": 0}
    monkeypatch.setattr(ExportDatasetDialog, "exec", lambda self: self.DialogCode.Accepted)
    monkeypatch.setattr(ExportDatasetDialog, "options", lambda self: dict(options))
    shown: list[str] = []
    monkeypatch.setattr(
        window_shared_db.QMessageBox, "information", lambda _w, _t, text: shown.append(text)
    )
    w = make_main_window()  # this workstation's own database is empty
    w.settings.remote_url = pg_url
    errors: list[str] = []
    monkeypatch.setattr(w, "error", lambda _title, message: errors.append(message))
    assert w.wait_for_store() is not None  # the database opens in the background
    w.export_dataset_dialog()
    end = time.monotonic() + 60
    while not shown:
        assert not errors, errors[0]
        qapp.processEvents()
        assert time.monotonic() < end, "the export did not finish"
        time.sleep(0.02)
    assert shown[0].startswith("1 labels from 1 scans, hdf5 in")
    assert len(list(out.glob("train/*.h5"))) == 1
