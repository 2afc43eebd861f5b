"""GUI entry points: the composition root that assembles the main window from widgets.

This module is the one place app/ imports widgets/ (see the import-linter contract).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ndelab.volumes.errors import NdelabError, UsageError

log = logging.getLogger(__name__)


def _ensure_platform() -> None:
    """With no display, Qt falls back to offscreen rendering instead of aborting."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name == "posix":
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _before_first_window() -> None:
    from ndelab.inference.preload import preload_before_gl

    preload_before_gl()


def run_gui(path: str | None, demo: bool, read_options: dict[str, Any] | None) -> int:
    if not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise UsageError(
            "no display found (DISPLAY is not set); run ndelab in a desktop session "
            "or under xvfb-run, or use `ndelab screenshot` for a headless render"
        )
    from ndelab.widgets.main_window import MainWindow, application

    _before_first_window()
    app = application()
    window = MainWindow()
    window.show()
    if demo:
        window.open_demo()
    elif path is not None:
        window.open_path(path, read_options)
    return int(app.exec())


def take_screenshot(
    *,
    path: str | None,
    demo: bool,
    out: Path,
    size: tuple[int, int] = (1600, 1000),
    read_options: dict[str, Any] | None = None,
) -> Path:
    """Render the real main window (3D view included) for ``path`` or the demo into a PNG."""
    _ensure_platform()
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage, QPainter

    from ndelab.app.demo import demo_volume
    from ndelab.volumes.io import open_volume
    from ndelab.widgets.main_window import MainWindow, application

    _before_first_window()
    if demo:
        volume = demo_volume()
    else:
        assert path is not None
        options = {k: v for k, v in (read_options or {}).items() if v is not None}
        volume = open_volume(path, **options)
    app = application()
    window = MainWindow()
    window.resize(*size)
    window.show()
    window.show_volume(volume)
    store = window.store()
    if store is not None:
        from ndelab.app.workspace import open_review

        session = open_review(store, volume, window.user, prelabel_if_new=demo)
        window.review.set_session(session)
        if session.rows:
            window.review.step(+1)  # show the top call of the queue, as a reviewer starts
    window.refresh_3d_indications()
    for _ in range(5):
        app.processEvents()
    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    if window.view3d is not None and window.view3d.isVisible():
        frame = window.view3d.capture()
        image = QImage(
            frame.data,
            frame.shape[1],
            frame.shape[0],
            frame.strides[0],
            QImage.Format.Format_RGB888,
        ).copy()
        origin = window.view3d.mapTo(window, QPoint(0, 0))
        painter = QPainter(shot)
        target = window.view3d.rect().translated(origin)
        painter.drawImage(target, image)
        painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not shot.save(str(out), "PNG"):
        raise NdelabError(f"{out}: could not write the screenshot")
    window.close()
    app.processEvents()
    return out
