"""The drift tab of the model audit: input drift per feature (KS and PSI against the model's
training reference) and output drift per model version and window, each with its verdict
coloured as the badge is. Thin: the report comes from app.audit_controller.load_drift in a job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ndelab.app import drift_colours


def verdict_colour(verdict: str) -> QColor:
    return QColor(drift_colours.verdict_colour(verdict))


def _table(columns: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setVisible(False)
    return t


def _fill(table: QTableWidget, rows: list[list[str]], verdict_col: int) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            if j == verdict_col:
                item.setBackground(QBrush(verdict_colour(text)))
                item.setForeground(QBrush(QColor(drift_colours.TEXT_COLOUR)))
            table.setItem(i, j, item)


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    return "–" if v is None else fmt.format(v)


class DriftPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Reading…")
        self.inputs = _table(["model", "feature", "n", "KS", "p", "PSI", "no-drift PSI", "verdict"])
        self.outputs = _table(
            ["model", "window", "scans", "calls/scan", "accept rate", "score KS p", "verdict"]
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(QLabel("Input drift: this window of scans against the training reference"))
        layout.addWidget(self.inputs, 3)
        layout.addWidget(QLabel("Output drift: the served calls per window of scans"))
        layout.addWidget(self.outputs, 2)

    def show_report(self, data: dict[str, Any]) -> None:
        self.title.setText(
            f"Drift over the last {data['window']} scans: {data['verdict']} "
            f"(alert levels {data['alerts'].rsplit('/', 1)[-1]})"
        )
        self.title.setStyleSheet(
            f"padding: 4px; color: {drift_colours.TEXT_COLOUR}; "
            f"background: {verdict_colour(data['verdict']).name()}"
        )
        rows = []
        for inp in data["input"]:
            for feature, r in inp["features"].items():
                rows.append(
                    [
                        str(inp["model"]),
                        feature,
                        str(r.get("n", "")),
                        _num(r.get("ks")),
                        _num(r.get("p_value"), "{:.3g}"),
                        _num(r.get("psi")),
                        _num(r.get("psi_expected")),
                        str(r["verdict"]),
                    ]
                )
        _fill(self.inputs, rows, 7)
        rows = []
        for out in data["output"]["windows"]:
            for w in out["windows"]:
                rows.append(
                    [
                        f"{out['model']}@{out['version']}",
                        str(w["window"]),
                        str(w["scans"]),
                        _num(w.get("calls_per_scan"), "{}"),
                        _num(w.get("accept_rate"), "{}"),
                        _num(w.get("score_p_value"), "{:.3g}"),
                        str(w["verdict"]),
                    ]
                )
        _fill(self.outputs, rows, 6)
