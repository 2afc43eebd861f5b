"""Asks for the layout of a headerless raw file: shape, voxel type, header and byte order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")


def _size_box(value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(1, 100_000)
    box.setValue(value)
    return box


class RawOptionsDialog(QDialog):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Raw layout of {path.name}")
        self.size_bytes = path.stat().st_size
        self.z, self.y, self.x = _size_box(1), _size_box(512), _size_box(512)
        self.dtype = QComboBox()
        self.dtype.addItems(DTYPES)
        self.dtype.setCurrentText("uint16")
        self.header = QSpinBox()
        self.header.setRange(0, 2_000_000_000)
        self.order = QComboBox()
        self.order.addItems(["little", "big"])
        self.check = QLabel()
        form = QFormLayout(self)
        form.addRow(QLabel(f"{path.name} has no header ({self.size_bytes:,} bytes)."))
        form.addRow("Slices (z)", self.z)
        form.addRow("Rows (y)", self.y)
        form.addRow("Columns (x)", self.x)
        form.addRow("Voxel type", self.dtype)
        form.addRow("Header bytes to skip", self.header)
        form.addRow("Byte order", self.order)
        form.addRow(self.check)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        for box in (self.z, self.y, self.x, self.header):
            box.valueChanged.connect(self._update)
        self.dtype.currentTextChanged.connect(self._update)
        self._update()

    def _expected(self) -> int:
        import numpy as np

        item = np.dtype(self.dtype.currentText()).itemsize
        return self.z.value() * self.y.value() * self.x.value() * item + self.header.value()

    def _update(self) -> None:
        expected = self._expected()
        ok = expected == self.size_bytes
        self.check.setText(
            f"expects {expected:,} bytes" + ("  ✓" if ok else f", the file has {self.size_bytes:,}")
        )
        self.check.setStyleSheet("color: #4a4;" if ok else "color: #c84;")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def options(self) -> dict[str, Any]:
        return {
            "shape": (self.z.value(), self.y.value(), self.x.value()),
            "dtype": self.dtype.currentText(),
            "header_bytes": self.header.value(),
            "byte_order": self.order.currentText(),
        }
