"""The window's keys all come from ndelab.app.shortcuts: each bound once, shown in the help.

The source check runs without a display; the rest drive a real MainWindow under Xvfb.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.app.shortcuts import SHORTCUTS, SLICE_VIEW, WINDOW, shortcut
from ndelab.volumes.volume import Volume

WIDGETS = Path(__file__).resolve().parents[2] / "widgets"
HELPER = "shortcut_keys.py"  # the one module that turns ids into Qt keys
ONCE_MISSING = ("sync", "window_full_range", "prelabel")  # Ctrl+Shift+S, Shift+R, Ctrl+L

KEY_CALLS = {"setShortcut", "setShortcuts", "QKeySequence", "QShortcut"}
KEY_NAMES = {"QKeySequence", "QShortcut", "StandardKey", "QKeyCombination"}
MODIFIED_KEY = re.compile(
    r"\b(Ctrl|Alt|Shift|Meta)\+([A-Z0-9]\b|F\d+\b|Up|Down|Left|Right|PgUp|PgDown|Home|End"
    r"|Return|Enter|Esc|Tab|Space|Del)"
)


def key_literals(source: str) -> list[str]:
    """Where ``source`` spells a key itself instead of asking the helper for one by id."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    every_key = {s.keys for s in SHORTCUTS}
    found = []
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in KEY_CALLS:
                found.append(f"{where}: {name}(…)")
        elif isinstance(node, ast.Attribute) and (
            node.attr in KEY_NAMES or node.attr.startswith("Key_")
        ):
            found.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in KEY_NAMES:
            found.append(f"{where}: {node.id}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and (node.value in every_key or MODIFIED_KEY.search(node.value))
        ):
            found.append(f"{where}: {node.value!r}")
    return found


def test_the_source_check_finds_keys_spelled_in_place() -> None:
    old = (
        "from PySide6.QtGui import QKeySequence\n"
        "def build(window, menu, action, event):\n"
        '    action.setShortcut(QKeySequence("Ctrl+L"))\n'
        '    add_action(window, menu, "Sync", window.sync, "Ctrl+Shift+S")\n'
        '    add_action(window, menu, "Full range", window.full, "Shift+R")\n'
        '    add_action(window, menu, "Reset zoom", window.reset_zoom, "F")\n'
        "    action.setShortcut(QKeySequence.StandardKey.Undo)\n"
        "    return event.key() == Qt.Key.Key_Home\n"
    )
    found = " ".join(key_literals(old))
    for spelled in ("setShortcut", "'Ctrl+L'", "'Ctrl+Shift+S'", "'Shift+R'", "'F'"):
        assert spelled in found
    assert ".StandardKey" in found and ".Key_Home" in found
    prose = '"""Ctrl+wheel zooms; Ctrl+Z undoes."""\nx = "Click (Shift: exclude)"\n'
    assert key_literals(prose) == []  # docstrings and tips without keys pass


def test_no_key_is_spelled_in_widgets_outside_the_helper() -> None:
    sources = sorted(p for p in WIDGETS.glob("*.py") if p.name != HELPER)
    assert len(sources) > 10
    found = {p.name: key_literals(p.read_text(encoding="utf-8")) for p in sources}
    assert not {name: hits for name, hits in found.items() if hits}


def _bound_actions(window: Any) -> list[Any]:
    from PySide6.QtGui import QAction

    return [a for a in window.findChildren(QAction) if a.shortcuts()]


def _menu_actions(window: Any) -> set[int]:
    seen: set[int] = set()
    stack = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    while stack:
        menu = stack.pop()
        for action in menu.actions():
            seen.add(id(action))
            if action.menu() is not None:
                stack.append(action.menu())
    return seen


def _wait_for_display(window: Any, qapp: Any, seconds: float = 30.0) -> None:
    import time

    end = time.monotonic() + seconds
    while window.display_pending() and time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)
    assert not window.display_pending(), "the display jobs did not finish"


def _press(window: Any, qapp: Any, keys: str) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    combo = QKeySequence(keys)[0]
    QTest.keyClick(window, combo.key(), combo.keyboardModifiers())
    qapp.processEvents()


def test_the_keys_are_canonical_portable_text(qapp: Any) -> None:
    from PySide6.QtGui import QKeySequence

    portable = QKeySequence.SequenceFormat.PortableText
    for s in SHORTCUTS:
        assert QKeySequence(s.keys).toString(portable) == s.keys, s


def test_every_window_shortcut_is_bound_to_exactly_one_action(
    qapp: Any, make_main_window: Any
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    from ndelab.widgets.shortcut_keys import SHORTCUT_ID

    w = make_main_window()
    portable = QKeySequence.SequenceFormat.PortableText
    actions = _bound_actions(w)
    by_key: dict[tuple[str, Any], list[str]] = {}
    by_id: dict[str, list[Any]] = {}
    for action in actions:
        shortcut_id = action.property(SHORTCUT_ID)
        assert shortcut_id, f"{action.text()!r} has a key that is not from the list"
        assert [k.toString(portable) for k in action.shortcuts()] == [shortcut(shortcut_id).keys]
        context = action.shortcutContext()
        assert context == Qt.ShortcutContext.WindowShortcut, action.text()
        by_key.setdefault((shortcut(shortcut_id).keys, context), []).append(action.text())
        by_id.setdefault(shortcut_id, []).append(action)
    conflicts = {key: texts for key, texts in by_key.items() if len(texts) > 1}
    assert not conflicts
    window_ids = {s.id for s in SHORTCUTS if s.scope == WINDOW}
    assert set(by_id) == window_ids  # no slice-view key is taken by a window action either
    assert all(len(bound) == 1 for bound in by_id.values())
    menus = _menu_actions(w)
    for shortcut_id in ONCE_MISSING:
        assert id(by_id[shortcut_id][0]) in menus, shortcut_id
    tools = {id(a) for a in w.tools.actions()}
    for s in SHORTCUTS:
        if s.scope == WINDOW:
            assert id(by_id[s.id][0]) in menus | tools, f"{s.keys} is in no menu or tool bar"


def test_the_once_missing_keys_do_what_their_menu_entries_do(
    qapp: Any, make_main_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndelab.app.sync_controller import SyncController

    syncs: list[bool] = []
    monkeypatch.setattr(SyncController, "sync_now", lambda self: syncs.append(True))
    w = make_main_window(with_3d=False)
    w.show()
    w.activateWindow()
    data = np.full((8, 30, 40), 1000, np.uint16)
    data[2:6, 5:25, 5:35] = 30000
    w.show_volume(Volume(data, spacing_mm=(0.5, 0.5, 0.5)))
    _wait_for_display(w, qapp)  # the auto window needs the histogram's percentiles

    _press(w, qapp, shortcut("window_auto").keys)
    auto = w.controller.state.window
    _press(w, qapp, shortcut("window_full_range").keys)
    full = w.controller.state.window
    assert full != auto
    w.controller.apply_preset("Auto")
    w.controller.apply_preset("Full range")
    assert w.controller.state.window == full

    _press(w, qapp, shortcut("sync").keys)
    assert syncs == [True]

    w.review.set_session(None)  # no review: pre-labeling says what it needs, no job starts
    _press(w, qapp, shortcut("prelabel").keys)
    assert "Open a scan first" in w.statusBar().currentMessage()


def test_the_slice_view_keys_move_the_focused_view(qapp: Any, make_main_window: Any) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    w = make_main_window(with_3d=False)
    w.show()
    w.activateWindow()
    w.show_volume(Volume(np.zeros((40, 20, 30), np.uint16)))
    axial = w.views[0]
    axial.setFocus()
    qapp.processEvents()
    expected = {
        "slice_first": 0,
        "slice_up": 1,
        "slice_page_up": 11,
        "slice_down": 10,
        "slice_page_down": 0,
        "slice_last": 39,
    }
    assert set(expected) == {s.id for s in SHORTCUTS if s.scope == SLICE_VIEW}
    for shortcut_id, z in expected.items():
        combo = QKeySequence(shortcut(shortcut_id).keys)[0]
        QTest.keyClick(axial, combo.key(), combo.keyboardModifiers())
        qapp.processEvents()
        assert w.controller.state.cursor[0] == z, shortcut_id


def test_the_key_help_shows_the_list_by_group(qapp: Any, make_main_window: Any) -> None:
    from ndelab.widgets.shortcut_keys import key_text

    w = make_main_window(with_3d=False)
    w.show()
    w.activateWindow()
    qapp.processEvents()
    _press(w, qapp, shortcut("key_help").keys)
    dialog = w.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    rows = dialog.rows()
    shown = {(key, text) for _group, key, text in rows}
    for s in SHORTCUTS:
        assert (key_text(s.id), s.text) in shown, s
    groups = [g for g, _key, _text in rows]
    assert groups[0] == "Mouse"
    for s in SHORTCUTS:
        assert groups[[(k, t) for _g, k, t in rows].index((key_text(s.id), s.text))].startswith(
            s.group
        )
    for shortcut_id in ONCE_MISSING:
        assert (key_text(shortcut_id), shortcut(shortcut_id).text) in shown
    assert any("Right drag" in key for _g, key, _t in rows)
    w.show_help()  # a second F1 raises the same dialog
    assert w.shortcuts_dialog is dialog
    dialog.close()
