"""The main window's menus; their keys come from ndelab.app.shortcuts by id."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction

from ndelab.widgets.shortcut_keys import bind


def add_action(
    window: Any, menu: Any, text: str, slot: Any, shortcut_id: str | None = None
) -> QAction:
    action = QAction(text, window)
    if shortcut_id is not None:
        bind(action, shortcut_id)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: Any) -> None:
    """File, View, Review and Help menus of a MainWindow."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add_action(window, file_menu, "&Open file…", window.open_file_dialog, "open_file")
    add_action(
        window,
        file_menu,
        "Open &folder (DICOM / TIFF slices)…",
        window.open_folder_dialog,
        "open_folder",
    )
    window.recent_menu = file_menu.addMenu("Open &recent")
    add_action(window, file_menu, "Open &demo part", window.open_demo, "open_demo")
    add_action(window, file_menu, "SAM &checkpoint…", window.choose_sam_checkpoint)
    add_action(window, file_menu, "Shared data&base…", window.choose_remote)
    file_menu.addSeparator()
    add_action(window, file_menu, "&Quit", window.close, "quit")
    window._refresh_recent()

    view = bar.addMenu("&View")
    add_action(window, view, "&Reset zoom", window.reset_zoom, "reset_zoom")
    add_action(window, view, "&Save the slice views as an image…", window.save_views_image)
    add_action(
        window, view, "&Auto window", lambda: window.controller.apply_preset("Auto"), "window_auto"
    )
    add_action(
        window,
        view,
        "&Full range window",
        lambda: window.controller.apply_preset("Full range"),
        "window_full_range",
    )
    add_action(
        window,
        view,
        "&Defects window (narrow on material)",
        lambda: window.controller.apply_preset("Defects (material)"),
        "window_defects",
    )
    overlay = add_action(
        window, view, "Smallest &detectable pore map", window.toggle_detectability, "detectability"
    )
    overlay.setCheckable(True)
    window.detectability_action = overlay
    view.addSeparator()
    view.addAction(window.histogram_dock.toggleViewAction())
    if window.view3d_dock is not None:
        view.addAction(window.view3d_dock.toggleViewAction())
    review = bar.addMenu("&Review")
    add_action(window, review, "&Next call", lambda: window.review.step(+1), "next_call")
    add_action(window, review, "&Previous call", lambda: window.review.step(-1), "previous_call")
    add_action(window, review, "&Accept", lambda: window.review.act("accept"), "accept")
    add_action(window, review, "&Reject…", window.reject_current, "reject")
    add_action(
        window, review, "Re&open", lambda: window.review.act("reopen", advance=False), "reopen"
    )
    add_action(window, review, "&Edit (correct class)…", window.edit_current, "edit_class")
    review.addSeparator()
    add_action(
        window,
        review,
        "Finish the &polygon / accept the SAM mask",
        window.edits.finish,
        "finish_edit",
    )
    add_action(
        window,
        review,
        "Cancel the edit / navigate",
        lambda: window.edits.set_tool("navigate"),
        "navigate",
    )
    add_action(window, review, "&Undo", window.review.undo, "undo")
    add_action(window, review, "Re&do", window.review.redo, "redo")
    review.addSeparator()
    add_action(window, review, "Pre-label with the default &model", window.run_prelabel, "prelabel")
    review.addSeparator()
    add_action(window, review, "&Sync with the shared database", window.sync.sync_now, "sync")
    add_action(window, review, "Sync &conflicts…", window.show_conflicts)
    add_action(window, review, "Model &audit (model versus human)…", window.show_audit)
    add_action(
        window, review, "E&xport reviewed labels as a data set…", window.export_dataset_dialog
    )
    view.addAction(window.queue_dock.toggleViewAction())
    view.addAction(window.inspector_dock.toggleViewAction())
    view.addAction(window.disposition_dock.toggleViewAction())

    help_menu = bar.addMenu("&Help")
    add_action(window, help_menu, "&Keyboard shortcuts…", window.show_help, "key_help")
