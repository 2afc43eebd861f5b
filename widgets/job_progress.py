"""A background job with its window-modal progress dialog: progress drives the bar, Cancel
cancels the job. Callers connect finished/failed/cancelled and reset the dialog there.

BackgroundProgress is the non-modal kind, for work the window stays usable during."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QProgressDialog,
    QToolButton,
    QWidget,
)

from ndelab.app import jobs

STEPS = 1000


def job_with_progress(
    parent: QWidget, title: str, fn: jobs.JobFunction
) -> tuple[jobs.Job, QProgressDialog]:
    dialog = QProgressDialog(title, "Cancel", 0, STEPS, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)  # quick jobs never flash a dialog
    job = jobs.Job(title, fn)
    job.progress.connect(lambda f: dialog.setValue(int(f * STEPS)))
    dialog.canceled.connect(job.cancel)
    return job, dialog


class BackgroundProgress(QWidget):
    """A small bar with a Cancel button for work that does not block the window (a volume's
    histogram and 3D copy): one bar for all of it, hidden when nothing runs."""

    SHOW_AFTER_MS = 300  # quick work never flashes the bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[str, tuple[float, Callable[[], None]]] = {}
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.clicked.connect(self.cancel_all)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(self.SHOW_AFTER_MS)
        self._show_timer.timeout.connect(lambda: self.setVisible(bool(self._tasks)))
        self.hide()

    def started(self, what: str, cancel: Callable[[], None]) -> None:
        """``what`` runs now (replacing an earlier run of the same); ``cancel`` stops it."""
        self._tasks[what] = (0.0, cancel)
        self._update()
        if not self.isVisible():
            self._show_timer.start()

    def progressed(self, what: str, fraction: float) -> None:
        if what in self._tasks:
            self._tasks[what] = (fraction, self._tasks[what][1])
            self._update()

    def ended(self, what: str) -> None:
        self._tasks.pop(what, None)
        self._update()

    def cancel_all(self) -> None:
        tasks, self._tasks = self._tasks, {}
        for _, cancel in tasks.values():
            cancel()
        self._update()

    def running(self) -> list[str]:
        return list(self._tasks)

    def _update(self) -> None:
        if not self._tasks:
            self._show_timer.stop()
            self.hide()
            return
        self.label.setText("Preparing " + " and ".join(self._tasks) + "…")
        mean = sum(f for f, _ in self._tasks.values()) / len(self._tasks)
        self.bar.setValue(int(mean * STEPS))
