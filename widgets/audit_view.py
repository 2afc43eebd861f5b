"""The reviewers' audit view: how models and humans agree, per model version.

Confusion matrix (model class vs final human decision), false-call, acceptance and
correction rates, miss rate by size, and the calls humans overruled, each one click away.
The figures are read in a background job (app.audit_controller; over every scan it takes
seconds) with a progress dialog and Cancel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ndelab.app import jobs
from ndelab.app.audit_controller import AuditData, load_ab, load_audit, load_drift
from ndelab.app.display_time import local_minutes
from ndelab.widgets.ab_view import ABPanel
from ndelab.widgets.drift_panel import DriftPanel
from ndelab.widgets.job_progress import job_with_progress


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


class AuditView(QDialog):
    goToCall = Signal(str, str)  # scan id, call id

    def __init__(
        self,
        store: Any,
        scan_id: str | None = None,
        parent: QWidget | None = None,
        *,
        settle: Any = None,  # the review's DecisionWriter.flush: decisions land first
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model audit: model versus human")
        self.resize(1100, 700)
        self.store, self.scan_id, self.settle = store, scan_id, settle
        self.scope = QComboBox()
        self.scope.addItems(["All scans", "This scan"] if scan_id else ["All scans"])
        self.model = QComboBox()
        self.rates = QLabel("")
        self.matrix = QTableWidget()
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Every column in view: the human's columns (incl. "rejected") are the point.
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.setToolTip("rows: the model's class; columns: what the reviewer decided")
        self.plot = pg.PlotWidget(background="#181818", title="Miss rate by equivalent diameter")
        self.plot.setLabel("left", "miss rate")
        self.plot.setLabel("bottom", "equivalent diameter (n = true defects in the bin)")
        self.plot.getAxis("bottom").setHeight(52)  # two-line tick labels clear the axis label
        self.plot.setYRange(0, 1)
        self.overruled = QTableWidget(0, 5)
        self.overruled.setHorizontalHeaderLabels(["Call", "What changed", "Reason", "By", "When"])
        self.overruled.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.overruled.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.overruled.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(QLabel("Scope"))
        top.addWidget(self.scope)
        top.addWidget(QLabel("Model version"))
        top.addWidget(self.model, 1)
        upper = QWidget()
        upper_layout = QHBoxLayout(upper)
        upper_layout.addWidget(self.matrix, 1)
        upper_layout.addWidget(self.plot, 1)
        split = QSplitter()
        split.setOrientation(pg.QtCore.Qt.Orientation.Vertical)
        split.addWidget(upper)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.addWidget(QLabel("Calls humans overruled (double-click to go there)"))
        lower_layout.addWidget(self.overruled)
        split.addWidget(lower)
        agreement = QWidget()
        layout = QVBoxLayout(agreement)
        layout.addLayout(top)
        layout.addWidget(self.rates)
        layout.addWidget(split, 1)
        # The A/B and drift tabs read in their own jobs, once, when first shown.
        self.ab, self.drift = ABPanel(), DriftPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(agreement, "Agreement")
        self.tabs.addTab(self.ab, "A/B: champion vs challenger")
        self.tabs.addTab(self.drift, "Drift")
        self.slots = {"ab": jobs.JobSlot(), "drift": jobs.JobSlot()}
        self.read: set[str] = set()
        self.tabs.currentChanged.connect(self._tab)
        outer = QVBoxLayout(self)
        outer.addWidget(self.tabs)
        self.data = AuditData()
        self.rows: list[dict[str, Any]] = []
        self.loading: jobs.Job | None = None
        self.scope.currentIndexChanged.connect(lambda _i: self.refresh())
        self.model.currentIndexChanged.connect(lambda _i: self._show())
        self.overruled.cellDoubleClicked.connect(self._go)
        self.refresh()

    def _tab(self, index: int) -> None:
        which = {1: "ab", 2: "drift"}.get(index)
        if which is None or which in self.read:
            return
        self.read.add(which)
        store = self.store
        panel = self.ab if which == "ab" else self.drift
        fn = load_ab if which == "ab" else load_drift
        job = jobs.Job(f"reading the {which}", lambda p, c: fn(store, p, c))

        def failed(message: str) -> None:
            self.read.discard(which)
            panel.title.setText(message)

        self.slots[which].start(job, panel.show_report, failed=failed)

    def _scan(self) -> str | None:
        return self.scan_id if self.scope.currentText() == "This scan" else None

    def refresh(self) -> None:
        """Read the figures of the chosen scope in the background (a running read of the
        other scope is cancelled)."""
        if self.loading is not None:
            self.loading.cancel()
        store, scan_id, settle = self.store, self._scan(), self.settle
        job, progress = job_with_progress(
            self,
            "Reading the model audit",
            lambda p, c: load_audit(store, scan_id, p, c, settle=settle),
        )

        def current() -> bool:
            """Close the progress; False when a later refresh superseded this job."""
            progress.reset()
            if self.loading is not job:
                return False
            self.loading = None
            return True

        def finished(data: AuditData) -> None:
            if current():
                self._loaded(data)

        def failed(message: str) -> None:
            if current():
                QMessageBox.critical(self, "Model audit", message)

        def cancelled() -> None:
            if current():
                self.rates.setText("Cancelled: choose the scope to read again.")

        job.finished.connect(finished)
        job.failed.connect(failed)
        job.cancelled.connect(cancelled)
        self.loading = job
        self.rates.setText("Reading…")
        jobs.start(job)

    def _loaded(self, data: AuditData) -> None:
        self.data = data
        self.model.blockSignals(True)
        self.model.clear()
        for entry in self.data.result["models"]:
            m = entry["model"]
            self.model.addItem(f"{m['name']} {m['version']}", (m["name"], m["version"]))
        self.model.blockSignals(False)
        self._show()

    def _entry(self) -> dict[str, Any] | None:
        i = self.model.currentIndex()
        return self.data.result["models"][i] if 0 <= i < len(self.data.result["models"]) else None

    def _show(self) -> None:
        entry = self._entry()
        self.matrix.clear()
        self.plot.clear()
        self.overruled.setRowCount(0)
        if entry is None:
            self.rates.setText("No model calls have been reviewed yet.")
            return
        c = entry["counts"]
        self.rates.setText(
            f"{c['reviewed']} reviewed ({c['open']} open): "
            f"accepted {_pct(entry['acceptance_rate'])}, "
            f"false calls {_pct(entry['false_call_rate'])}, "
            f"corrected {_pct(entry['correction_rate'])}, "
            f"class agreement {_pct(entry['class_agreement'])}"
        )
        conf = entry["confusion"]
        matrix = np.asarray(conf["matrix"], float)
        self.matrix.setRowCount(len(conf["rows"]))
        self.matrix.setColumnCount(len(conf["columns"]))
        self.matrix.setVerticalHeaderLabels([f"model: {r}" for r in conf["rows"]])
        # Two-line headers where a class name is long, so every column fits the panel.
        self.matrix.setHorizontalHeaderLabels(
            [c.replace("-of-", "-of-\n") for c in conf["columns"]]
        )
        peak = max(matrix.max(), 1.0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                item = QTableWidgetItem(str(int(value)))
                item.setForeground(QBrush(QColor(235, 235, 235)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                agree = j < len(conf["rows"]) and conf["columns"][j] == conf["rows"][i]
                shade = int(40 + 160 * value / peak)
                item.setBackground(
                    QBrush(QColor(30, shade, 60) if agree else QColor(shade, 40, 40))
                )
                self.matrix.setItem(i, j, item)
        bins = entry["miss_rate_by_size"]
        rates = [b["miss_rate"] or 0.0 for b in bins]
        self.plot.addItem(
            pg.BarGraphItem(x=np.arange(len(bins)), height=rates, width=0.7, brush="#d9534f")
        )
        labels = [
            (
                i,
                f"{b['min_mm']}–{b['max_mm'] if b['max_mm'] is not None else '∞'} mm\n"
                f"n={b['true_defects']}",
            )
            for i, b in enumerate(bins)
        ]
        self.plot.getAxis("bottom").setTicks([labels])
        name, version = self.model.currentData()
        self.rows = self.data.overruled_by(name, version)
        self.overruled.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            cells = [
                r["id"][:8],
                r["summary"],
                r.get("reason") or "",
                str(r.get("by") or ""),
                local_minutes(r.get("at")),
            ]
            for j, text in enumerate(cells):
                self.overruled.setItem(i, j, QTableWidgetItem(text))

    def done(self, result: int) -> None:
        for slot in self.slots.values():
            slot.cancel()
        if self.loading is not None:
            self.loading.cancel()
        super().done(result)

    def _go(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.rows):
            self.goToCall.emit(self.rows[row]["scan_id"], self.rows[row]["id"])
