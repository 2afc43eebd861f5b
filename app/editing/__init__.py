"""Mask editing without Qt: an EditSession and one class per tool (brush, eraser, sphere,
threshold box, region growing, polygon, SAM, ruler). The EditController adapts it to Qt.
"""

from ndelab.app.editing.grow import RegionGrowTool
from ndelab.app.editing.paint import BrushTool, EraserTool, SphereTool, StrokeTool
from ndelab.app.editing.polygon import PolygonTool
from ndelab.app.editing.preview import PREVIEW_CODE
from ndelab.app.editing.ruler import RulerTool
from ndelab.app.editing.sam import SamTool, sam_source
from ndelab.app.editing.session import (
    NAVIGATE,
    SAM_TOOLS,
    TOOL_MAKERS,
    TOOLS,
    Committed,
    EditSession,
)
from ndelab.app.editing.threshold import ThresholdBoxTool
from ndelab.app.editing.tool import REDRAW, Commit, Point, Segmenter, Tool, ToolContext

__all__ = [
    "NAVIGATE",
    "PREVIEW_CODE",
    "REDRAW",
    "SAM_TOOLS",
    "TOOLS",
    "TOOL_MAKERS",
    "BrushTool",
    "Commit",
    "Committed",
    "EditSession",
    "EraserTool",
    "Point",
    "PolygonTool",
    "RegionGrowTool",
    "RulerTool",
    "SamTool",
    "Segmenter",
    "SphereTool",
    "StrokeTool",
    "ThresholdBoxTool",
    "Tool",
    "ToolContext",
    "sam_source",
]
