"""An unexpected exception in a slot: traceback to the log file, one dialog, the window stays."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.gui


def _wait(qapp: Any, done: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out waiting for the GUI"
        time.sleep(0.01)


def _error_dialogs() -> list[Any]:
    from PySide6.QtWidgets import QApplication, QMessageBox

    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.isVisible() and w.objectName() == "unexpected-error"
    ]


def test_an_exception_in_a_slot_is_logged_and_shown_once(qapp: Any, make_main_window: Any) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QPushButton

    from ndelab.app.logs import setup_logging

    log_file = setup_logging()
    w = make_main_window()
    w.show()
    uninstall = w.install_excepthook(log_file)
    try:
        button = QPushButton("Go", w)

        def broken() -> None:
            raise ZeroDivisionError("a bug in a slot")

        button.clicked.connect(broken)
        button.click()
        _wait(qapp, lambda: bool(_error_dialogs()))
        (dialog,) = _error_dialogs()
        text = dialog.text()
        assert str(log_file) in text and "Traceback" not in text and "\n" not in text
        # More errors while the dialog is up (a failing timer) do not stack more dialogs.
        timer = QTimer(w)
        timer.setInterval(5)
        timer.timeout.connect(broken)
        timer.start()
        for _ in range(30):
            qapp.processEvents()
            time.sleep(0.01)
        timer.stop()
        assert len(_error_dialogs()) == 1
        logged = log_file.read_text(encoding="utf-8")
        assert "Traceback" in logged and "ZeroDivisionError: a bug in a slot" in logged
        assert "in broken" in logged
        dialog.accept()
        _wait(qapp, lambda: not _error_dialogs())
        assert w.isVisible()
        # Once it is closed, the next error gets its dialog again.
        QTimer.singleShot(0, broken)
        _wait(qapp, lambda: bool(_error_dialogs()))
        _error_dialogs()[0].accept()
        _wait(qapp, lambda: not _error_dialogs())
        assert w.isVisible()
    finally:
        uninstall()
