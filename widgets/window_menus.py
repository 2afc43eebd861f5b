"""The main window's menus, their shortcuts, and the key help they add up to."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence

KEYS_HELP = (
    "Left click/drag: move the crosshair (all views follow)\n"
    "Right drag: window (left/right) and level (up/down)\n"
    "Middle drag: pan    Ctrl+wheel: zoom    F: reset zoom\n"
    "Wheel, Up/Down, PageUp/PageDown, Home/End: change slice\n"
    "Shift+W auto window, Shift+R full range, Shift+D defects window\n"
    "N / P next and previous call, A accept, R reject, O reopen, E edit\n"
    "Ctrl+Z undo, Ctrl+Shift+Z redo, Ctrl+L pre-label\n"
    "L ruler: drag a distance in mm; its line profile has a dock\n"
    "Tools: B brush, X eraser, S sphere, T threshold box, G grow,\n"
    "Y polygon (Enter ends), M SAM 2D, Shift+M SAM 3D (Enter accepts),\n"
    "Esc back to navigating\n"
    "Ctrl+O open file, Ctrl+Shift+O open folder, Ctrl+D demo part"
)


def add_action(
    window: Any, menu: Any, text: str, slot: Any, shortcut: str | QKeySequence | None = None
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: Any) -> None:
    """File, View, Review and Help menus of a MainWindow."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add_action(
        window, file_menu, "&Open file…", window.open_file_dialog, QKeySequence.StandardKey.Open
    )
    add_action(
        window,
        file_menu,
        "Open &folder (DICOM / TIFF slices)…",
        window.open_folder_dialog,
        "Ctrl+Shift+O",
    )
    window.recent_menu = file_menu.addMenu("Open &recent")
    add_action(window, file_menu, "Open &demo part", window.open_demo, "Ctrl+D")
    add_action(window, file_menu, "SAM &checkpoint…", window.choose_sam_checkpoint)
    add_action(window, file_menu, "Shared data&base…", window.choose_remote)
    file_menu.addSeparator()
    add_action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    window._refresh_recent()

    view = bar.addMenu("&View")
    add_action(window, view, "&Reset zoom", window.reset_zoom, "F")
    add_action(window, view, "&Save the slice views as an image…", window.save_views_image)
    add_action(
        window, view, "&Auto window", lambda: window.controller.apply_preset("Auto"), "Shift+W"
    )
    add_action(
        window,
        view,
        "&Full range window",
        lambda: window.controller.apply_preset("Full range"),
        "Shift+R",
    )
    add_action(
        window,
        view,
        "&Defects window (narrow on material)",
        lambda: window.controller.apply_preset("Defects (material)"),
        "Shift+D",
    )
    view.addSeparator()
    view.addAction(window.histogram_dock.toggleViewAction())
    if window.view3d_dock is not None:
        view.addAction(window.view3d_dock.toggleViewAction())
    review = bar.addMenu("&Review")
    add_action(window, review, "&Next call", lambda: window.review.step(+1), "N")
    add_action(window, review, "&Previous call", lambda: window.review.step(-1), "P")
    add_action(window, review, "&Accept", lambda: window.review.act("accept"), "A")
    add_action(window, review, "&Reject…", window.reject_current, "R")
    add_action(window, review, "Re&open", lambda: window.review.act("reopen", advance=False), "O")
    add_action(window, review, "&Edit (correct class)…", window.edit_current, "E")
    review.addSeparator()
    add_action(
        window, review, "Finish the &polygon / accept the SAM mask", window.edits.finish, "Return"
    )
    add_action(
        window,
        review,
        "Cancel the edit / navigate",
        lambda: window.edits.set_tool("navigate"),
        "Esc",
    )
    add_action(window, review, "&Undo", window.review.undo, QKeySequence.StandardKey.Undo)
    add_action(window, review, "Re&do", window.review.redo, "Ctrl+Shift+Z")
    review.addSeparator()
    add_action(window, review, "Pre-label with the default &model", window.run_prelabel, "Ctrl+L")
    review.addSeparator()
    add_action(
        window, review, "&Sync with the shared database", window.sync.sync_now, "Ctrl+Shift+S"
    )
    add_action(window, review, "Sync &conflicts…", window.show_conflicts)
    add_action(window, review, "Model &audit (model versus human)…", window.show_audit)
    add_action(
        window, review, "E&xport reviewed labels as a data set…", window.export_dataset_dialog
    )
    view.addAction(window.queue_dock.toggleViewAction())
    view.addAction(window.inspector_dock.toggleViewAction())
    view.addAction(window.disposition_dock.toggleViewAction())

    help_menu = bar.addMenu("&Help")
    add_action(window, help_menu, "&Mouse and keys", window.show_help, "F1")
