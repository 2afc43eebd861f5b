"""The editing tool bar: tool, brush size, class of new indications, threshold side."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QToolBar, QWidget

from ndelab.annotation import CLASSES
from ndelab.app.edit_controller import EditController
from ndelab.widgets.shortcut_keys import bind, key_text

# (tool, button, shortcut id in ndelab.app.shortcuts, tip); "{finish}" is the key that ends an edit.
TOOL_BUTTONS = (
    ("navigate", "Navigate", "navigate", "Crosshair and window/level"),
    (
        "ruler",
        "Ruler",
        "tool_ruler",
        "Drag to measure a distance in mm; the line profile has its dock",
    ),
    ("brush", "Brush", "tool_brush", "Paint on the slice (2D)"),
    ("eraser", "Eraser", "tool_eraser", "Erase on the slice (2D)"),
    ("sphere", "Sphere", "tool_sphere", "Paint a ball in 3D"),
    (
        "threshold",
        "Threshold box",
        "tool_threshold",
        "Drag a box: voxels darker (or brighter) than the level",
    ),
    ("grow", "Grow", "tool_grow", "Click a seed: native 3D region growing"),
    ("polygon", "Polygon", "tool_polygon", "Click vertices; double-click or {finish} closes"),
    (
        "sam2d",
        "SAM 2D",
        "tool_sam2d",
        "Click (Shift: exclude) or drag a box; {finish} accepts the slice mask",
    ),
    ("sam3d", "SAM 3D", "tool_sam3d", "One click: SAM mask extended into 3D; {finish} accepts"),
)


class EditToolBar(QToolBar):
    def __init__(self, edits: EditController, parent: QWidget | None = None) -> None:
        super().__init__("Edit tools", parent)
        self.setObjectName("Edit tools")
        self.edits = edits
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions_by_tool: dict[str, QAction] = {}
        for tool, text, shortcut_id, tip in TOOL_BUTTONS:
            action = QAction(text, self)
            action.setCheckable(True)
            tip = tip.format(finish=key_text("finish_edit"))
            action.setToolTip(f"{tip} ({key_text(shortcut_id)})")
            if tool != "navigate":  # its key (Esc) lives in the Review menu
                bind(action, shortcut_id)
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
