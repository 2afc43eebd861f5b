"""The editing tool bar: tool, brush size, class of new indications, threshold side."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QToolBar, QWidget

from ndelab.annotation import CLASSES
from ndelab.app.edit_controller import EditController

TOOL_BUTTONS = (
    ("navigate", "Navigate", "Esc", "Crosshair and window/level"),
    ("ruler", "Ruler", "L", "Drag to measure a distance in mm; the line profile has its dock"),
    ("brush", "Brush", "B", "Paint on the slice (2D)"),
    ("eraser", "Eraser", "X", "Erase on the slice (2D)"),
    ("sphere", "Sphere", "S", "Paint a ball in 3D"),
    ("threshold", "Threshold box", "T", "Drag a box: voxels darker (or brighter) than the level"),
    ("grow", "Grow", "G", "Click a seed: native 3D region growing"),
    ("polygon", "Polygon", "Y", "Click vertices; double-click or Enter closes"),
    ("sam2d", "SAM 2D", "M", "Click (Shift: exclude) or drag a box; Enter accepts the slice mask"),
    ("sam3d", "SAM 3D", "Shift+M", "One click: SAM mask extended into 3D; Enter accepts"),
)


class EditToolBar(QToolBar):
    def __init__(self, edits: EditController, parent: QWidget | None = None) -> None:
        super().__init__("Edit tools", parent)
        self.setObjectName("Edit tools")
        self.edits = edits
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions_by_tool: dict[str, QAction] = {}
        for tool, text, key, tip in TOOL_BUTTONS:
            action = QAction(text, self)
            action.setCheckable(True)
            action.setToolTip(f"{tip} ({key})")
            if tool != "navigate":  # Esc lives in the Review menu
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _c=False, t=tool: edits.set_tool(t))
            group.addAction(action)
            self.addAction(action)
            self.actions_by_tool[tool] = action
        self.actions_by_tool["navigate"].setChecked(True)
        self.addSeparator()
        self.addWidget(QLabel(" size "))
        self.size_box = QDoubleSpinBox()
        self.size_box.setRange(0.5, 50.0)
        self.size_box.setSingleStep(0.5)
        self.size_box.setValue(edits.radius)
        self.size_box.setSuffix(" vox")
        self.size_box.valueChanged.connect(lambda v: setattr(edits, "radius", float(v)))
        self.addWidget(self.size_box)
        self.addWidget(QLabel(" new as "))
        self.classes = QComboBox()
        self.classes.addItems(list(CLASSES))
        self.classes.currentTextChanged.connect(lambda c: setattr(edits, "new_class", c))
        self.addWidget(self.classes)
        self.bright = QCheckBox("bright")
        self.bright.setToolTip("Threshold box keeps voxels brighter than the level (inclusions)")
        self.bright.toggled.connect(lambda b: setattr(edits, "bright", bool(b)))
        self.addWidget(self.bright)
        self.sam_status = QLabel("")
        self.sam_status.setStyleSheet("color: #c9a227; padding-left: 8px;")
        self.addWidget(self.sam_status)
        edits.toolChanged.connect(lambda t: self.actions_by_tool[t].setChecked(True))
        edits.toolChanged.connect(self._tool_changed)

    def _tool_changed(self, tool: str) -> None:
        if not tool.startswith("sam"):
            self.sam_status.setText("")

    def show_sam_status(self, text: str) -> None:
        if self.edits.tool.startswith("sam"):
            self.sam_status.setText(text)
