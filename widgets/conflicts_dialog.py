"""Sync conflicts for a reviewer to resolve: keep mine, keep theirs, or merge; never silent."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ndelab.annotation import CLASSES, STATUSES
from ndelab.annotation.store import Store
from ndelab.annotation.sync.conflicts import list_conflicts, resolve_conflict
from ndelab.app.display_time import local_minutes
from ndelab.volumes.errors import NdelabError


def _state(state: dict[str, Any]) -> str:
    parts = [str(state.get("status", "?")), str(state.get("class", "?"))]
    if state.get("reason"):
        parts.append(f"“{state['reason']}”")
    return " ".join(parts)


class ConflictsDialog(QDialog):
    goToCall = Signal(str)

    def __init__(self, store: Store, user: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sync conflicts")
        self.resize(900, 420)
        self.store, self.user = store, user
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Call", "Mine", "Theirs", "Their change", "Detected"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.status = QComboBox()
        self.status.addItems(list(STATUSES))
        self.cls = QComboBox()
        self.cls.addItems(list(CLASSES))
        buttons = QHBoxLayout()
        self.go = QPushButton("Go to call")
        self.mine = QPushButton("Keep mine")
        self.theirs = QPushButton("Keep theirs")
        self.merge = QPushButton("Merge:")
        for widget in (
            self.go,
            self.mine,
            self.theirs,
            self.merge,
            QLabel("status"),
            self.status,
            QLabel("class"),
            self.cls,
        ):
            buttons.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Another workstation changed these calls while you did. "
                "Nothing was overwritten: choose what stands."
            )
        )
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.go.clicked.connect(self._go)
        self.mine.clicked.connect(lambda: self._resolve("mine"))
        self.theirs.clicked.connect(lambda: self._resolve("theirs"))
        self.merge.clicked.connect(lambda: self._resolve("merge"))
        self.table.itemSelectionChanged.connect(self._selected)
        self.conflicts: list[dict[str, Any]] = []
        self.refresh()

    def refresh(self) -> None:
        try:
            self.conflicts = list_conflicts(self.store)
        except NdelabError as exc:
            QMessageBox.critical(self, "Sync conflicts", str(exc))
            return
        self.table.setRowCount(len(self.conflicts))
        for i, c in enumerate(self.conflicts):
            events = c["remote"]["events"]
            who = ", ".join(f"{e['user_id']} {e['action']}" for e in events)
            cells = [
                c["entity_id"][:8],
                _state(c["local"]["state"]),
                _state(c["remote"]["state"]),
                who,
                local_minutes(c["detected_at"]),
            ]
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if self.conflicts:
            self.table.selectRow(0)

    def _current(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.conflicts[rows[0].row()] if rows else None

    def _selected(self) -> None:
        c = self._current()
        if c is not None:
            theirs = c["remote"]["state"]
            self.status.setCurrentText(str(theirs.get("status", "proposed")))
            self.cls.setCurrentText(str(c["local"]["state"].get("class", "pore")))

    def _go(self) -> None:
        c = self._current()
        if c is not None:
            self.goToCall.emit(c["entity_id"])

    def _resolve(self, choice: str) -> None:
        c = self._current()
        if c is None:
            return
        merged = {"status": self.status.currentText(), "class": self.cls.currentText()}
        try:
            resolve_conflict(
                self.store, c["id"], choice, self.user, merged if choice == "merge" else None
            )
        except NdelabError as exc:
            QMessageBox.critical(self, "Resolve conflict", str(exc))
            return
        self.refresh()
