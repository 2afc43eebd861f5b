"""Sync conflicts for a reviewer to resolve: keep mine, keep theirs, or merge; never silent.

Listing and resolving run as background jobs (app.conflicts_controller) with a progress
dialog and Cancel; the dialog stays responsive and shows what it has.
"""

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
from ndelab.app import jobs
from ndelab.app.conflicts_controller import conflict_cells, load_conflicts, resolve_and_reload
from ndelab.widgets.job_progress import job_with_progress


class ConflictsDialog(QDialog):
    goToCall = Signal(str)

    def __init__(self, store: Any, user: str, parent: QWidget | None = None) -> None:
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
        self.loading: jobs.Job | None = None  # the listing or resolving job, while it runs
        self.refresh()

    def refresh(self) -> None:
        store = self.store
        self._start("Reading the sync conflicts", lambda p, c: load_conflicts(store, p, c))

    def _start(self, title: str, fn: jobs.JobFunction) -> None:
        if self.loading is not None:
            return  # one at a time: the buttons wait for the table to be current
        job, progress = job_with_progress(self, title, fn)

        def done() -> None:
            progress.reset()
            self.loading = None

        job.finished.connect(lambda conflicts: (done(), self._show(conflicts)))
        job.failed.connect(
            lambda message: (done(), QMessageBox.critical(self, "Sync conflicts", message))
        )
        job.cancelled.connect(done)
        self.loading = job
        jobs.start(job)

    def _show(self, conflicts: list[dict[str, Any]]) -> None:
        self.conflicts = conflicts
        self.table.setRowCount(len(self.conflicts))
        for i, c in enumerate(self.conflicts):
            for j, text in enumerate(conflict_cells(c)):
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
        store, user, conflict_id = self.store, self.user, c["id"]
        self._start(
            "Resolving the conflict",
            lambda p, cancel: resolve_and_reload(
                store, conflict_id, choice, user, merged, progress=p, cancel=cancel
            ),
        )

    def done(self, result: int) -> None:
        if self.loading is not None:  # closing: the job ends on its own, nothing waits for it
            self.loading.cancel()
        super().done(result)
