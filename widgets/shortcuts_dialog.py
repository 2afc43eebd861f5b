"""Help ▸ Keyboard shortcuts…: the table of ndelab.app.shortcuts by group, and the mouse."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ndelab.app.shortcuts import MOUSE_ACTIONS, SLICE_VIEW, grouped
from ndelab.widgets.shortcut_keys import key_text


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Key", "Action"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self._group("Mouse", MOUSE_ACTIONS)
        for group, items in grouped():
            title = group
            if items and all(s.scope == SLICE_VIEW for s in items):
                title = f"{group} (in the slice view that has the focus)"
            self._group(title, [(key_text(s.id), s.text) for s in items])
        self.tree.expandAll()
        self.tree.setCurrentIndex(QModelIndex())  # no focus frame on the first row
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(560, 760)

    def _group(self, title: str, rows: Iterable[tuple[str, str]]) -> None:
        item = QTreeWidgetItem([title])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        self.tree.addTopLevelItem(item)
        item.setFirstColumnSpanned(True)  # only once the item is in the tree
        for key, text in rows:
            item.addChild(QTreeWidgetItem([key, text]))

    def rows(self) -> list[tuple[str, str, str]]:
        """(group title, key, action) as shown, for tests."""
        out: list[tuple[str, str, str]] = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                child = group.child(j)
                out.append((group.text(0), child.text(0), child.text(1)))
        return out
