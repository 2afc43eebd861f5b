"""Background sync with the shared database, and the sync state the window shows.

The local store keeps working offline: a failed sync is a status line, not a dialog, and the
next timer tick tries again. Passwords never enter settings (environment or keyring only).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ndelab.annotation.store import Store
from ndelab.app import jobs

log = logging.getLogger(__name__)

SYNC_EVERY_MS = 5 * 60 * 1000


class SyncController(QObject):
    stateChanged = Signal(str)  # the status-bar text
    synced = Signal(object)  # the sync result dict

    def __init__(self) -> None:
        super().__init__()
        self.remote_url: str | None = None
        self.store: Store | None = None
        self.user = ""
        self.last: dict[str, Any] | None = None
        self.last_at: datetime | None = None
        self.error: str | None = None
        self._job: jobs.Job | None = None
        self._refusals_shown: set[str] = set()
        self.running_by_user = False  # whether the running (or last) sync was the user's
        self._timer = QTimer(self)
        self._timer.setInterval(SYNC_EVERY_MS)
        self._timer.timeout.connect(self._sync_in_background)

    def configure(self, store: Store | None, remote_url: str | None, user: str) -> None:
        self.store, self.remote_url, self.user = store, remote_url or None, user
        if self.remote_url and self.store is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self.stateChanged.emit(self.text())

    @property
    def running(self) -> bool:
        return self._job is not None

    def sync_now(self) -> None:
        """A sync the user asked for: what it refuses may interrupt with a dialog."""
        self._start(by_user=True)

    def _sync_in_background(self) -> None:
        """The timer's sync: it reports in the status bar only, never with a modal dialog
        that would swallow the keys of someone in the middle of a review."""
        self._start(by_user=False)

    def _start(self, *, by_user: bool) -> None:
        if self.store is None or not self.remote_url or self._job is not None:
            return
        self.running_by_user = by_user
        from ndelab.annotation.sync.engine import sync

        store, remote, user = self.store, self.remote_url, self.user
        job = jobs.Job(
            "Sync",
            lambda progress, cancel: sync(store, remote, user, progress=progress, cancel=cancel),
        )
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        job.cancelled.connect(lambda: self._failed("cancelled"))
        self._job = job
        self.stateChanged.emit("Sync: running…")
        jobs.start(job)

    def _done(self, result: dict[str, Any]) -> None:
        self._job = None
        self.last, self.last_at, self.error = result, datetime.now(UTC), None
        self.stateChanged.emit(self.text())
        self.synced.emit(result)

    def _failed(self, message: str) -> None:
        self._job = None
        self.error = message
        log.info("sync failed: %s", message)
        self.stateChanged.emit(self.text())

    def stop(self) -> None:
        self._timer.stop()
        if self._job is not None:
            self._job.cancel()

    def text(self) -> str:
        if not self.remote_url:
            return "Local database only"
        if self.error:
            return f"Sync: offline ({self.error}) — work is kept locally"
        if self.last is None or self.last_at is None:
            return "Sync: not yet"
        open_conflicts = self.last.get("open_conflicts", 0)
        when = self.last_at.astimezone().strftime("%H:%M")
        text = f"Synced {when}: ↑{self.last['pushed']} ↓{self.last['pulled']}"
        if open_conflicts:
            text += f", {open_conflicts} conflict(s) to resolve"
        if self.last.get("refused"):
            text += f", {self.last['refused']} change(s) refused by the server"
        return text

    def new_refusal(self, result: dict[str, Any]) -> str | None:
        """The refusal sentence when this sync refused changes not reported before (a
        background sync every few minutes must not raise the same dialog again)."""
        ids = {r["event_id"] for r in result.get("refused_changes") or ()}
        fresh = ids - self._refusals_shown
        self._refusals_shown |= ids
        return result.get("refused_message") if fresh else None
