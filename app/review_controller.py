"""The review controller: a ReviewSession with Qt signals, linked to the viewer.

With ``background_writes`` (the window's) the session's decisions are committed by a
DecisionWriter behind the reviewer; its outcomes come back here on the GUI thread, and the
criteria are re-evaluated in a background job once the reviewer pauses.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ndelab.app import jobs
from ndelab.app.controller import ViewerController
from ndelab.app.decision_writer import DecisionWriter
from ndelab.app.review_session import ReviewSession
from ndelab.app.shortcuts import keys
from ndelab.volumes.errors import NdelabError

log = logging.getLogger(__name__)

NEARNESS_DELAY_MS = 400  # re-evaluate the criteria once the reviewer pauses this long


class ReviewController(QObject):
    sessionChanged = Signal(object)  # ReviewSession | None
    rowsChanged = Signal()  # all rows (reload)
    rowChanged = Signal(str)  # one call id
    selectionChanged = Signal(object)  # row dict | None
    overlayChanged = Signal()
    criteriaChanged = Signal()
    nearnessChanged = Signal()  # the criteria preview and nearness were re-evaluated
    message = Signal(str)  # status bar text
    failed = Signal(str)  # one sentence for a dialog
    _outcomesWaiting = Signal()  # emitted on the writer's thread

    def __init__(self, viewer: ViewerController, *, background_writes: bool = False) -> None:
        super().__init__()
        self.viewer = viewer
        self.session: ReviewSession | None = None
        self.order: list[str] = []  # call ids in the queue's current sort order
        self.background_writes = background_writes
        self.writer: DecisionWriter | None = None  # the window's, opened with its store
        self._own_writers: list[DecisionWriter] = []  # opened here for other stores
        self._outcomesWaiting.connect(self._take_outcomes, Qt.ConnectionType.QueuedConnection)
        self._nearness_timer = QTimer(self)
        self._nearness_timer.setSingleShot(True)
        self._nearness_timer.setInterval(NEARNESS_DELAY_MS)
        self._nearness_timer.timeout.connect(self._evaluate_nearness)
        self._nearness_job: jobs.Job | None = None

    def use_writer(self, writer: DecisionWriter | None) -> None:
        """The writer sessions on ``writer.main_store`` use (the window opens it with the store)."""
        self.writer = writer

    def _writer_for(self, store: Any) -> DecisionWriter:
        for writer in (self.writer, *self._own_writers):
            if writer is not None and writer.main_store is store:
                return writer
        writer = DecisionWriter(store)
        self._own_writers.append(writer)
        return writer

    def close(self, timeout_s: float = 5.0) -> None:
        """Commit what is queued (up to ``timeout_s`` for a lock; the rest stays journaled)
        and stop the writers this controller opened."""
        self._nearness_timer.stop()
        if self.session is not None:
            self.session.on_outcome = None
        for writer in self._own_writers:
            writer.close(timeout_s)
        self._own_writers.clear()

    def set_session(self, session: ReviewSession | None) -> None:
        old = self.session
        if old is not None and old is not session:
            old.on_outcome = None
        if session is not None and self.background_writes:
            session.write_in_background(self._writer_for(session.store))
            session.on_outcome = self._outcomesWaiting.emit
        self.session = session
        self.order = [r["id"] for r in session.rows] if session else []
        self.sessionChanged.emit(session)
        self.rowsChanged.emit()
        self.overlayChanged.emit()
        self.selectionChanged.emit(None)

    def set_order(self, order: list[str]) -> None:
        self.order = order

    # -- selection
    def select(self, call_id: str | None, *, centre: bool = True) -> None:
        if self.session is None:
            return
        row = self.session.select(call_id)
        self._selected(row, centre)

    def _selected(self, row: dict[str, Any] | None, centre: bool = True) -> None:
        """Select ``row``: one selectionChanged and one overlayChanged, whatever follows."""
        if row is not None and centre:
            self.viewer.set_cursor(tuple(row["centroid_zyx"]))
            self.viewer.focusRequested.emit(tuple(row["centroid_zyx"]))
        self.selectionChanged.emit(row)
        self.overlayChanged.emit()

    def step(self, delta: int) -> None:
        if self.session is not None:
            self._selected(self.session.step(self.order, delta))

    # -- actions
    def _run(self, what: str, fn: Any, *, centre: bool = False) -> dict[str, Any] | None:
        """One action on the selected call: the row, the selection (read once) and the
        overlay are refreshed once."""
        session = self.session
        if session is None:
            return None
        try:
            row: dict[str, Any] = fn()
        except NdelabError as exc:
            self.failed.emit(str(exc))
            return None
        self.rowChanged.emit(row["id"])
        self._selected(session.row(row["id"]), centre)
        self.message.emit(f"{what}: call {row['id'][:8]} is now {row['status']}")
        self._take_outcomes()
        return row

    def act(self, action: str, reason: str | None = None, *, advance: bool = True) -> None:
        """A decision on the selected call; with ``advance`` the next open call is selected
        in the same step (the inspector and overlay refresh once, for that call)."""
        session = self.session
        if not self._has_current(session):
            return
        assert session is not None
        try:
            row = session.act(action, reason)
        except NdelabError as exc:
            self.failed.emit(str(exc))
            return
        # The next call is chosen before anyone hears of the change, so that listeners of
        # rowChanged already see the selection moving on (nobody redraws the old call twice).
        following = session.next_open(self.order) if advance else None
        self.rowChanged.emit(row["id"])
        self._selected(
            following if following is not None else session.row(row["id"]),
            centre=following is not None,
        )
        self.message.emit(f"{action}: call {row['id'][:8]} is now {row['status']}")

    def correct(self, **changes: Any) -> None:
        session = self.session
        if self._has_current(session):
            assert session is not None
            self._run("correct", lambda: session.correct(**changes))

    def _has_current(self, session: ReviewSession | None) -> bool:
        """A decision key pressed with no call selected (say before the review has loaded) is
        a hint in the status bar, not a modal dialog that would swallow the next keys."""
        if session is None:
            self.message.emit("No calls to review yet: open a scan (its review may be loading)")
            return False
        if session.current is None:
            self.message.emit(f"Select a call first ({keys('next_call')}: next call)")
            return False
        return True

    def undo(self) -> None:
        session = self.session
        if session is not None and session.can_undo:
            self._run("undo", session.undo, centre=True)
        else:
            self.message.emit("nothing to undo")

    def redo(self) -> None:
        session = self.session
        if session is not None and session.can_redo:
            self._run("redo", session.redo, centre=True)
        else:
            self.message.emit("nothing to redo")

    # -- what the background writer settled
    def _take_outcomes(self) -> None:
        session = self.session
        if session is None or session.writer is None:
            return
        notices = session.take_notices()
        for call_id in notices.changed:
            self.rowChanged.emit(call_id)
        if session.current in notices.changed:  # the inspector shows what was really saved
            self.selectionChanged.emit(session.row(session.current))
        if notices.changed:
            self.overlayChanged.emit()
        if notices.failures:
            self.failed.emit("\n".join(notices.failures))
        if session.nearness_stale:
            self._nearness_timer.start()

    @property
    def settling(self) -> bool:
        """Decisions still being written, or the criteria still to re-evaluate after them."""
        session = self.session
        if session is None:
            return False
        return bool(
            session.unsaved_count
            or session.nearness_stale
            or self._nearness_job is not None
            or self._nearness_timer.isActive()
        )

    def wait_saved(self, timeout_s: float = 10.0) -> bool:
        """Block until the session's decisions are in the store and their outcomes are
        applied (reports and tests); False when the database stayed locked."""
        session = self.session
        if session is None or session.writer is None:
            return True
        if not session.writer.flush(timeout_s):
            return False
        self._take_outcomes()
        return True

    def _evaluate_nearness(self) -> None:
        """The criteria over what the store holds, in a background job (seconds on 10k
        calls), once no decision is waiting to be written."""
        session = self.session
        if session is None or not session.nearness_stale:
            return
        if self._nearness_job is not None or (session.writer and session.writer.pending):
            self._nearness_timer.start()
            return
        session.nearness_stale = False
        job = jobs.Job(
            "Checking the acceptance criteria", lambda _p, _c: session.evaluate_nearness()
        )
        job.finished.connect(lambda preview: self._nearness_ready(session, preview))
        job.failed.connect(lambda message: self._nearness_failed(message))
        self._nearness_job = job
        jobs.start(job)

    def _nearness_ready(self, session: ReviewSession, preview: dict[str, Any] | None) -> None:
        self._nearness_job = None
        if session is not self.session:
            return
        session.apply_nearness(preview)
        self.nearnessChanged.emit()
        if session.nearness_stale:  # decisions made while it ran
            self._nearness_timer.start()

    def _nearness_failed(self, message: str) -> None:
        self._nearness_job = None
        self.message.emit(f"Criteria not re-evaluated: {message}")

    def set_criteria(self, path: str) -> None:
        if self.session is None:
            return
        try:
            self.session.set_criteria(path)
        except NdelabError as exc:
            self.failed.emit(str(exc))
            return
        self.criteriaChanged.emit()
        self.rowsChanged.emit()
