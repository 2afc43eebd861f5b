"""Acceptance criteria, the result of each rule, the verdict, signing and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ndelab.app.criteria_choice import CriteriaChoice, Kind, kept_or_default, session_default
from ndelab.app.resources_paths import criteria_files
from ndelab.app.review_controller import ReviewController

VERDICT_COLORS = {"accept": "#5cc25c", "reject": "#d9534f", "rework": "#e8a33d"}


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class DispositionPanel(QWidget):
    signRequested = Signal()
    pdfRequested = Signal()
    csvRequested = Signal()

    def __init__(self, controller: ReviewController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.result: dict[str, Any] | None = None
        #: The file the user picked and the kind of scan it was picked for (kept for scans of
        #: that kind; a scan of the other kind gets its own default).
        self.picked: tuple[Kind, str] | None = None
        self.choice: CriteriaChoice | None = None
        self.criteria = QComboBox()
        for path in criteria_files():
            self.criteria.addItem(path.stem, str(path))
        self.criteria.addItem("Other file…", "")
        # The image-quality gate: a radiograph that failed cannot be signed without an override.
        self.gate = QLabel("")
        self.gate.setWordWrap(True)
        self.verdict = QLabel("No criteria")
        self.verdict.setStyleSheet("font-size: 16px; font-weight: bold;")
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Rule", "Check", "Measured", "Limit", "Result"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.sign = QPushButton("Sign disposition…")
        self.pdf = QPushButton("PDF report…")
        self.csv = QPushButton("CSV…")
        buttons = QHBoxLayout()
        for b in (self.sign, self.pdf, self.csv):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.criteria)
        layout.addWidget(self.gate)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.criteria.activated.connect(self._user_chose)
        self.sign.clicked.connect(self.signRequested)
        self.pdf.clicked.connect(self.pdfRequested)
        self.csv.clicked.connect(self.csvRequested)
        controller.sessionChanged.connect(self._session_changed)
        controller.rowChanged.connect(lambda _id: self.refresh())

    @property
    def criteria_path(self) -> str | None:
        path = self.criteria.currentData()
        return str(path) if path else None

    def _session_changed(self, session: Any) -> None:
        """A new scan: offer the criteria for its modality and material (or keep the user's
        pick for the same kind of scan)."""
        if session is None:
            self.refresh()
            return
        self.choice = kept_or_default(session_default(session), self.picked)
        if self.choice.path is not None:
            self._select(str(self.choice.path))
        self._criteria_chosen(self.criteria.currentIndex())

    def _select(self, path: str) -> None:
        index = self.criteria.findData(path)
        if index < 0:
            self.criteria.insertItem(0, Path(path).stem, path)
            index = 0
        self.criteria.setCurrentIndex(index)

    def _user_chose(self, index: int) -> None:
        self._criteria_chosen(index)
        session, path = self.controller.session, self.criteria_path
        kind = None if self.choice is None else self.choice.kind
        if session is not None and path is not None and kind is not None:
            self.picked = (kind, path)

    def _criteria_chosen(self, index: int) -> None:
        path = self.criteria.itemData(index)
        if not path:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Acceptance criteria", "", "Criteria (*.json *.yaml *.yml)"
            )
            if not chosen:
                return
            self.criteria.insertItem(0, Path(chosen).stem, chosen)
            self.criteria.setCurrentIndex(0)
            path = chosen
        self.controller.set_criteria(path)
        self.refresh()

    @property
    def gate_blocked(self) -> bool:
        session = self.controller.session
        gate = None if session is None else session.iq_gate
        return bool(gate and gate["blocked"])

    def show_gate(self) -> None:
        """The gate's lines (SRb, SNRn vs the class minimum, IQIs, verdict, overrides) and the
        sign button's state."""
        session = self.controller.session
        gate = None if session is None else session.iq_gate
        if gate is None:
            self.gate.setText("")
            self.sign.setText("Sign disposition…")
            return
        lines = list(gate["lines"])
        for o in gate.get("overrides") or []:
            lines.append(f"OVERRIDDEN by {o['user']} at {o['at'][:19]}Z: {o['reason']}")
        color = "#d9534f" if gate["blocked"] else ("#5cc25c" if gate["radiograph"] else "#999")
        if gate["blocked"] and gate.get("overrides"):
            color = "#e8a33d"
        self.gate.setText("\n".join(lines))
        self.gate.setStyleSheet(f"color: {color}; border: 1px solid {color}; padding: 3px;")
        self.sign.setText(
            "Sign with image-quality override…" if gate["blocked"] else "Sign disposition…"
        )

    def refresh(self) -> None:
        self.show_gate()
        session = self.controller.session
        path = self.criteria_path
        if session is None or path is None:
            self.result = None
            self.verdict.setText("No scan" if session is None else "No criteria")
            self.table.setRowCount(0)
            return
        # The session re-evaluates the criteria after every action; show that, not a second run.
        self.result = session.preview
        if self.result is None:
            self.verdict.setText("No criteria")
            self.table.setRowCount(0)
            return
        self.show_result(self.result)

    def show_result(self, result: dict[str, Any]) -> None:
        verdict = result["verdict"]
        open_calls = result["open_calls"]
        note = f" (preview: {open_calls} call(s) still open)" if open_calls else ""
        self.verdict.setText(f"{verdict.upper()}{note}")
        self.verdict.setStyleSheet(
            f"font-size: 16px; font-weight: bold; color: {VERDICT_COLORS[verdict]};"
        )
        reasons = result["reasons"]
        self.table.setRowCount(len(reasons))
        for i, reason in enumerate(reasons):
            cells = [
                reason.get("title") or reason.get("rule", ""),
                reason["check"],
                f"{_number(reason.get('measured'))} {reason.get('unit', '')}".strip(),
                f"{_number(reason.get('limit'))} {reason.get('unit', '')}".strip(),
                "pass" if reason["passed"] else "FAIL",
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if j == 4:
                    item.setForeground(QBrush(QColor("#5cc25c" if reason["passed"] else "#d9534f")))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
