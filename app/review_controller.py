"""The review controller: a ReviewSession with Qt signals, linked to the viewer."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from ndelab.app.controller import ViewerController
from ndelab.app.review_session import ReviewSession
from ndelab.app.shortcuts import keys
from ndelab.volumes.errors import NdelabError

log = logging.getLogger(__name__)


class ReviewController(QObject):
    sessionChanged = Signal(object)  # ReviewSession | None
    rowsChanged = Signal()  # all rows (reload)
    rowChanged = Signal(str)  # one call id
    selectionChanged = Signal(object)  # row dict | None
    overlayChanged = Signal()
    criteriaChanged = Signal()
    message = Signal(str)  # status bar text
    failed = Signal(str)  # one sentence for a dialog

    def __init__(self, viewer: ViewerController) -> None:
        super().__init__()
        self.viewer = viewer
        self.session: ReviewSession | None = None
        self.order: list[str] = []  # call ids in the queue's current sort order

    def set_session(self, session: ReviewSession | None) -> None:
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
        if row is not None and centre:
            self.viewer.set_cursor(tuple(row["centroid_zyx"]))
            self.viewer.focusRequested.emit(tuple(row["centroid_zyx"]))
        self.selectionChanged.emit(row)
        self.overlayChanged.emit()

    def step(self, delta: int) -> None:
        if self.session is not None:
            self._selected(self.session.step(self.order, delta))

    # -- actions
    def _run(self, what: str, fn: Any) -> dict[str, Any] | None:
        if self.session is None:
            return None
        try:
            row: dict[str, Any] = fn()
        except NdelabError as exc:
            self.failed.emit(str(exc))
            return None
        self.rowChanged.emit(row["id"])
        self.selectionChanged.emit(self.session.row(row["id"]))
        self.overlayChanged.emit()
        self.message.emit(f"{what}: call {row['id'][:8]} is now {row['status']}")
        return row

    def act(self, action: str, reason: str | None = None, *, advance: bool = True) -> None:
        session = self.session
        if session is None or not self._has_current(session):
            return
        row = self._run(action, lambda: session.act(action, reason))
        if row is not None and advance:
            following = session.next_open(self.order)
            if following is not None:
                self._selected(following)

    def correct(self, **changes: Any) -> None:
        session = self.session
        if session is not None and self._has_current(session):
            self._run("correct", lambda: session.correct(**changes))

    def _has_current(self, session: ReviewSession) -> bool:
        """A decision key pressed with no call selected (say before the review has loaded) is
        a hint in the status bar, not a modal dialog that would swallow the next keys."""
        if session.current is None:
            self.message.emit(f"Select a call first ({keys('next_call')}: next call)")
            return False
        return True

    def undo(self) -> None:
        session = self.session
        if session is not None and session.undo_stack.can_undo:
            row = self._run("undo", session.undo)
            if row is not None:
                self._selected(session.row(row["id"]))
        else:
            self.message.emit("nothing to undo")

    def redo(self) -> None:
        session = self.session
        if session is not None and session.undo_stack.can_redo:
            row = self._run("redo", session.redo)
            if row is not None:
                self._selected(session.row(row["id"]))
        else:
            self.message.emit("nothing to redo")

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
