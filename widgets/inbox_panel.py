"""The scan inbox panel: what the line's inbox is doing (arrived, pre-labelling, ready for
review, failed), newest first. Double-click a scan ready for review to open it. Thin: the
rows come from app.inbox_controller."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ndelab.app.inbox.queries import InboxView
from ndelab.app.inbox_controller import InboxController

COLUMNS = ("State", "Scan", "Part / serial", "Calls", "Arrived (UTC)", "Note")
COLOURS = {
    "arrived": "#8a8a8a",
    "prelabelling": "#d08a00",
    "ready": "#2f8f3a",
    "failed": "#c0392b",
    "duplicate": "#6a6a9a",
}


class InboxPanel(QWidget):
    openRequested = Signal(str)  # the path of a scan ready for review

    def __init__(self, controller: InboxController) -> None:
        super().__init__()
        self.controller = controller
        self.summary = QLabel("No scan inbox rows in this database yet")
        self.summary.setWordWrap(True)
        self.open_next = QPushButton("Open the oldest ready scan")
        self.open_next.setEnabled(False)
        self.open_next.clicked.connect(self._open_oldest)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.open_next)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        controller.changed.connect(self.show_view)

    def show_view(self, view: InboxView) -> None:
        self.summary.setText(view.summary())
        self.tree.clear()
        for row in view.rows:
            calls = "" if row.calls is None else str(row.calls)
            item = QTreeWidgetItem([row.label, row.name, row.part, calls, row.arrived_at, row.note])
            item.setForeground(0, QColor(COLOURS.get(row.state, "#000000")))
            item.setData(
                0, Qt.ItemDataRole.UserRole, row.scan_path if row.state == "ready" else None
            )
            item.setToolTip(5, row.note)
            self.tree.addTopLevelItem(item)
        for column in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(column)
        self.open_next.setEnabled(any(r.state == "ready" for r in view.rows))

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        path = item.data(0, Qt.ItemDataRole.UserRole)
        if path:
            self.openRequested.emit(str(path))

    def _open_oldest(self) -> None:
        view = self.controller.view
        if view is None:
            return
        ready = [r for r in view.rows if r.state == "ready" and r.scan_path]
        if ready:
            self.openRequested.emit(str(ready[-1].scan_path))  # rows are newest first
