"""Asks where and how to export the reviewed labels as a training data set: the source
database (this workstation's, or the shared server when one is set), the format, the output
folder and the part-wise validation split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ndelab.app.dataset_export import FORMATS

LOCAL = "This workstation's database"
SHARED = "The shared database"


class ExportDatasetDialog(QDialog):
    def __init__(self, shared_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export reviewed labels as a data set")
        self.setMinimumWidth(560)
        self.source = QComboBox()
        self.source.addItems([LOCAL, SHARED] if shared_available else [LOCAL])
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a new or empty folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 1.0)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.2)
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Only accepted and corrected calls become labels, with their provenance.\n"
                "Parts are split between training and validation, never shared."
            )
        )
        form.addRow("Source", self.source)
        form.addRow("Format", self.format)
        form.addRow("Folder", row)
        form.addRow("Validation fraction (of parts)", self.val_fraction)
        form.addRow("Split seed", self.seed)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.folder.textChanged.connect(self._update)
        self._update()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export into folder")
        if path:
            self.folder.setText(path)

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.folder.text().strip()))

    def options(self) -> dict[str, Any]:
        return {
            "shared": self.source.currentText() == SHARED,
            "fmt": self.format.currentText(),
            "out_dir": Path(self.folder.text().strip()),
            "val_fraction": float(self.val_fraction.value()),
            "seed": int(self.seed.value()),
        }
