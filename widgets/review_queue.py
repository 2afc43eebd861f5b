"""The review queue: one row per call, sortable by score, size and nearness to the limit.

The model reads the session's rows in place (no copies) and sorts with precomputed keys, so
10k rows load and re-sort without per-row Python in Qt's hot paths.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ndelab.app.review_controller import ReviewController
from ndelab.app.review_session import ReviewSession

STATUS_COLORS = {
    "proposed": "#e8c547",
    "accepted": "#5cc25c",
    "rejected": "#d9534f",
    "corrected": "#4fa3e0",
}

Index = QModelIndex | QPersistentModelIndex


def _near(session: ReviewSession, row: dict[str, Any]) -> float | None:
    return session.nearness_ratio(row["id"])


# (header, value for display, sort key)
COLUMNS: list[tuple[str, Any, Any]] = [
    ("Status", lambda s, r: r["status"], lambda s, r: r["status"]),
    ("Class", lambda s, r: r["class"], lambda s, r: r["class"]),
    (
        "Score",
        lambda s, r: "" if r["score"] is None else f"{r['score']:.2f}",
        lambda s, r: -1.0 if r["score"] is None else r["score"],
    ),
    (
        "Ø eq. mm",
        lambda s, r: f"{r['equivalent_diameter_mm']:.3f}",
        lambda s, r: r["equivalent_diameter_mm"],
    ),
    ("Volume mm³", lambda s, r: f"{r['volume_mm3']:.4g}", lambda s, r: r["volume_mm3"]),
    (
        "Near limit",
        lambda s, r: "" if (n := _near(s, r)) is None else f"{n:.2f}",
        lambda s, r: -1.0 if (n := _near(s, r)) is None else n,
    ),
    (
        "Source",
        lambda s, r: "/".join(
            v for v in (r["source"]["kind"], r["source"]["name"], r["source"]["version"]) if v
        ),
        lambda s, r: str(r["source"]),
    ),
    (
        "z, y, x",
        lambda s, r: ", ".join(f"{c:.0f}" for c in r["centroid_zyx"]),
        lambda s, r: tuple(r["centroid_zyx"]),
    ),
]


class QueueModel(QAbstractTableModel):
    def __init__(self, controller: ReviewController) -> None:
        super().__init__()
        self.controller = controller
        self._order: list[int] = []  # row positions in session.rows, in display order
        self._sort: tuple[int, Qt.SortOrder] = (2, Qt.SortOrder.DescendingOrder)
        controller.rowsChanged.connect(self.reload)
        controller.rowChanged.connect(self._row_changed)

    @property
    def session(self) -> ReviewSession | None:
        return self.controller.session

    def reload(self) -> None:
        self.beginResetModel()
        session = self.session
        self._order = list(range(len(session.rows))) if session else []
        self._apply_sort()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def row_dict(self, row: int) -> dict[str, Any]:
        assert self.session is not None
        return self.session.rows[self._order[row]]

    def data(self, index: Index, role: int = 0) -> Any:
        session = self.session
        if session is None or not index.isValid():
            return None
        row = session.rows[self._order[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[index.column()][1](session, row)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return QBrush(QColor(STATUS_COLORS[row["status"]]))
        if role == Qt.ItemDataRole.UserRole:
            return row["id"]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._apply_sort()
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        session = self.session
        if session is None:
            return
        column, order = self._sort
        key = COLUMNS[column][2]
        keys = [key(session, r) for r in session.rows]
        self._order.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)
        self.controller.set_order([session.rows[i]["id"] for i in self._order])

    def row_of(self, call_id: str) -> int | None:
        session = self.session
        if session is None:
            return None
        for display_row, i in enumerate(self._order):
            if session.rows[i]["id"] == call_id:
                return display_row
        return None

    def _row_changed(self, call_id: str) -> None:
        row = self.row_of(call_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class ReviewQueue(QWidget):
    def __init__(self, controller: ReviewController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = QueueModel(controller)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # N/P/A/R go to the window
        self.summary = QLabel("No calls")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.table.clicked.connect(self._clicked)
        controller.selectionChanged.connect(self._show_selection)
        controller.rowsChanged.connect(self._update_summary)
        controller.rowChanged.connect(lambda _id: self._update_summary())

    def _clicked(self, index: QModelIndex) -> None:
        self.controller.select(self.model.data(index, Qt.ItemDataRole.UserRole))

    def _show_selection(self, row: dict[str, Any] | None) -> None:
        if row is None:
            self.table.clearSelection()
            return
        display_row = self.model.row_of(row["id"])
        if display_row is not None:
            self.table.selectRow(display_row)
            self.table.scrollTo(self.model.index(display_row, 0))

    def _update_summary(self) -> None:
        session = self.controller.session
        if session is None:
            self.summary.setText("No calls")
            return
        counts = session.counts()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        self.summary.setText(f"{len(session.rows)} calls: " + ", ".join(parts))
