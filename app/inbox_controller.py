"""The window's view of the scan inbox: polls the store's inbox table in a job (never on the
GUI thread) and says what changed, so scans the inbox made ready appear without a restart."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ndelab.annotation.store import Store
from ndelab.app import jobs
from ndelab.app.inbox.queries import InboxView, inbox_view

POLL_MS = 2000


class InboxController(QObject):
    changed = Signal(object)  # InboxView
    newlyReady = Signal(int)  # how many scans became ready since the last poll

    def __init__(self, poll_ms: int = POLL_MS) -> None:
        super().__init__()
        self.store: Store | None = None
        self.view: InboxView | None = None
        self._job: jobs.Job | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.refresh)

    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.view = None
        if store is None:
            self._timer.stop()
            return
        self._timer.start()
        self.refresh()

    def stop(self, timeout_s: float = 5.0) -> None:
        """No more polls; waits for one in flight (the store is about to close)."""
        self._timer.stop()
        self.store = None
        if self._job is not None:
            self._job.done.wait(timeout_s)

    def refresh(self) -> None:
        if self.store is None or self._job is not None:
            return
        store = self.store
        job = jobs.Job("Reading the scan inbox", lambda progress, cancel: inbox_view(store))
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._ended)
        self._job = job
        jobs.start(job)

    def _ended(self) -> None:
        self._job = None

    def _failed(self, message: str) -> None:
        self._job = None  # a locked database: the next tick tries again

    def _done(self, view: InboxView) -> None:
        self._job = None
        before = self.view
        self.view = view
        if before is not None:
            fresh = view.ready_ids() - before.ready_ids()
            if fresh:
                self.newlyReady.emit(len(fresh))
        if before is None or before != view:
            self.changed.emit(view)

    def wait(self, timeout_s: float = 10.0) -> Any:
        """The view once the first poll is in (for screenshots and tests)."""
        import time

        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout_s
        while self.view is None and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return self.view
