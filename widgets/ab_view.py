"""The A/B tab of the model audit: champion and challenger side by side against the
engineers' decisions (per class and size band, with Wilson 95 % intervals), and the promotion
gate's verdict. Thin: the figures come from app.audit_controller.load_ab in a job."""

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

WORSE, BETTER = QColor("#7a2e2e"), QColor("#2e5a34")
COUNTS = (
    ("calls", "calls"),
    ("would_accept", "would be accepted"),
    ("would_correct", "would be corrected (class)"),
    ("would_reject", "would be rejected"),
    ("unconfirmed", "at no decided place"),
    ("false_calls_per_scan", "false calls per scan"),
)


def _recall(r: dict[str, Any] | None) -> str:
    if not r or r.get("recall") is None:
        return "–"
    lo, hi = r["ci95"]
    return f"{r['recall']:.3f}  [{lo:.2f}–{hi:.2f}]"


def _table(columns: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setVisible(False)
    return t


class ABPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Reading…")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.counts = _table(["", "champion", "challenger"])
        self.recall = _table(["recall of", "defects", "champion", "challenger", "change"])
        self.recall.setToolTip(
            "share of the defects engineers confirmed (or added by hand) that each version "
            "found with the right class; brackets: Wilson 95 % interval"
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.verdict)
        layout.addWidget(self.counts, 2)
        layout.addWidget(self.recall, 3)

    def show_report(self, data: dict[str, Any]) -> None:
        if "error" in data:
            self.title.setText(data["error"])
            self.verdict.setText("")
            self.counts.setRowCount(0)
            self.recall.setRowCount(0)
            return
        champ, chall = data["champion"], data["challenger"]

        def key(v: dict[str, Any]) -> str:
            return f"{v['model']['name']} {v['model']['version']}"

        self.counts.setHorizontalHeaderLabels(
            ["", f"champion {key(champ)}", f"challenger {key(chall)}"]
        )
        t = data["truth"]
        self.title.setText(
            f"{data['decided_scans']} decided scans: {t['defects']} defects confirmed "
            f"({t['added_by_hand']} added by hand), {t['rejected_calls']} calls rejected"
        )
        gate = data["gate"]
        ok = gate["passed"]
        self.verdict.setText(
            f"Promotion gate ({gate['rules']['name']} v{gate['rules']['version']}): "
            + ("passes" if ok else f"refuses: {gate['failing']}")
        )
        self.verdict.setStyleSheet(
            f"padding: 4px; background: {(BETTER if ok else WORSE).name()}; color: white"
        )
        rows = [(label, champ[k], chall[k]) for k, label in COUNTS]
        rows.append(
            (
                "found of the hand-added",
                f"{champ['human_found']['found']} of {champ['human_found']['n']}",
                f"{chall['human_found']['found']} of {chall['human_found']['n']}",
            )
        )
        self.counts.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.counts.setItem(i, j, QTableWidgetItem("–" if v is None else str(v)))
        lines: list[tuple[str, Any, Any]] = [("all defects", champ["recall"], chall["recall"])]
        for cls, r in champ["recall_by_class"].items():
            lines.append((f"class {cls}", r, chall["recall_by_class"].get(cls)))
        for a, b in zip(champ["recall_by_size"], chall["recall_by_size"], strict=True):
            if a["n"]:
                hi = "…" if a["max_mm"] is None else f"{a['max_mm']}"
                lines.append((f"Ø {a['min_mm']}–{hi} mm", a, b))
        self.recall.setRowCount(len(lines))
        for i, (label, a, b) in enumerate(lines):
            change = None
            if a and b and a.get("recall") is not None and b.get("recall") is not None:
                change = b["recall"] - a["recall"]
            cells = [
                label,
                str(a["n"]),
                _recall(a),
                _recall(b),
                "–" if change is None else f"{change:+.3f}",
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j >= 3 and change is not None and abs(change) > 1e-9:
                    item.setBackground(QBrush(BETTER if change > 0 else WORSE))
                self.recall.setItem(i, j, item)
