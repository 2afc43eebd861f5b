"""Every key binding of the main window, declared once.

The menus, the tool bar and the slice views take their keys from this list by id; the
window's key help and the README's table of keys are rendered from it, so none of them can
disagree with the others. Keys are QKeySequence portable text ("Ctrl+Shift+O", "PgUp"), which
Qt reads the same on every platform (Ctrl is Cmd on macOS).

Qt-free on purpose: the README renderer and its test run without a display.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

WINDOW = "window"  # a QAction of the main window (a menu or the tool bar)
SLICE_VIEW = "slice view"  # the focused slice view's own key handler

GROUPS = ("File", "View", "Slices", "Review", "Tools", "Measure", "Help")


@dataclass(frozen=True)
class Shortcut:
    id: str
    keys: str
    text: str
    group: str
    scope: str = WINDOW


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open_file", "Ctrl+O", "Open a file", "File"),
    Shortcut("open_folder", "Ctrl+Shift+O", "Open a folder of DICOM or TIFF slices", "File"),
    Shortcut("open_demo", "Ctrl+D", "Open the demo part", "File"),
    Shortcut("quit", "Ctrl+Q", "Quit", "File"),
    Shortcut("reset_zoom", "F", "Reset the zoom", "View"),
    Shortcut("window_auto", "Shift+W", "Auto window", "View"),
    Shortcut("window_full_range", "Shift+R", "Full range window", "View"),
    Shortcut("window_defects", "Shift+D", "Defects window (narrow on the material)", "View"),
    Shortcut("detectability", "Shift+Q", "Smallest detectable pore map (radiographs)", "View"),
    Shortcut("slice_up", "Up", "One slice up", "Slices", SLICE_VIEW),
    Shortcut("slice_down", "Down", "One slice down", "Slices", SLICE_VIEW),
    Shortcut("slice_page_up", "PgUp", "Ten slices up", "Slices", SLICE_VIEW),
    Shortcut("slice_page_down", "PgDown", "Ten slices down", "Slices", SLICE_VIEW),
    Shortcut("slice_first", "Home", "First slice", "Slices", SLICE_VIEW),
    Shortcut("slice_last", "End", "Last slice", "Slices", SLICE_VIEW),
    Shortcut("next_call", "N", "Next call", "Review"),
    Shortcut("previous_call", "P", "Previous call", "Review"),
    Shortcut("accept", "A", "Accept the call", "Review"),
    Shortcut("reject", "R", "Reject the call (with a reason)", "Review"),
    Shortcut("reopen", "O", "Reopen the call", "Review"),
    Shortcut("edit_class", "E", "Correct the call's class", "Review"),
    Shortcut("undo", "Ctrl+Z", "Undo", "Review"),
    Shortcut("redo", "Ctrl+Shift+Z", "Redo", "Review"),
    Shortcut("prelabel", "Ctrl+L", "Pre-label with the default model", "Review"),
    Shortcut("sync", "Ctrl+Shift+S", "Sync with the shared database", "Review"),
    Shortcut("tool_brush", "B", "Brush (paint on the slice)", "Tools"),
    Shortcut("tool_eraser", "X", "Eraser", "Tools"),
    Shortcut("tool_sphere", "S", "Sphere (paint a ball in 3D)", "Tools"),
    Shortcut("tool_threshold", "T", "Threshold box", "Tools"),
    Shortcut("tool_grow", "G", "Region growing from a seed", "Tools"),
    Shortcut("tool_polygon", "Y", "Polygon", "Tools"),
    Shortcut("tool_sam2d", "M", "SAM 2D", "Tools"),
    Shortcut("tool_sam3d", "Shift+M", "SAM 3D (a click extended into 3D)", "Tools"),
    Shortcut("finish_edit", "Return", "Close the polygon / accept the SAM mask", "Tools"),
    Shortcut("navigate", "Esc", "Cancel the edit, back to navigating", "Tools"),
    Shortcut(
        "tool_ruler",
        "L",
        "Ruler: drag a distance in mm; its values go to the Line profile dock",
        "Measure",
    ),
    Shortcut("key_help", "F1", "Keyboard shortcuts (this table)", "Help"),
)

# What the mouse does, for the key help (the README says it in its own prose).
MOUSE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("Left click or drag", "Move the crosshair; all views follow"),
    ("Right drag", "Window (left/right) and level (up/down)"),
    ("Wheel", "Change slice"),
    ("Ctrl+wheel", "Zoom"),
    ("Middle drag", "Pan"),
)

README_BEGIN = "<!-- shortcuts:begin (generated: python -m ndelab.app.shortcuts README.md) -->"
README_END = "<!-- shortcuts:end -->"

_BY_ID = {s.id: s for s in SHORTCUTS}


def shortcut(shortcut_id: str) -> Shortcut:
    """The shortcut with this id; a KeyError naming it if the list has none."""
    try:
        return _BY_ID[shortcut_id]
    except KeyError:
        raise KeyError(f"no shortcut {shortcut_id!r} in ndelab.app.shortcuts") from None


def keys(shortcut_id: str) -> str:
    return shortcut(shortcut_id).keys


def grouped() -> list[tuple[str, list[Shortcut]]]:
    """The shortcuts by group, groups in GROUPS order, each in declaration order."""
    return [(g, [s for s in SHORTCUTS if s.group == g]) for g in GROUPS]


def render_markdown() -> str:
    """The README's table of keys (without the markers)."""
    lines = ["| Group | Key | Action |", "|---|---|---|"]
    for group, items in grouped():
        for i, item in enumerate(items):
            lines.append(f"| {group if i == 0 else ''} | `{item.keys}` | {item.text} |")
    return "\n".join(lines) + "\n"


def with_readme_table(readme: str) -> str:
    """``readme`` with the text between the shortcut markers replaced by the rendered table."""
    pattern = re.compile(re.escape(README_BEGIN) + r"\n.*?" + re.escape(README_END), re.S)
    if len(pattern.findall(readme)) != 1:
        raise ValueError(f"the README needs one {README_BEGIN} … {README_END} section")
    return pattern.sub(lambda _m: f"{README_BEGIN}\n{render_markdown()}{README_END}", readme)


def write_readme(path: Path) -> bool:
    """Regenerate the table in the README at ``path``; True if the file changed."""
    old = path.read_text(encoding="utf-8")
    new = with_readme_table(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {'updated' if write_readme(Path(arg)) else 'up to date'}")
