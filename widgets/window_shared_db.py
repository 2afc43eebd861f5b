"""The main window's shared-database actions: choose the server, resolve sync conflicts,
the reviewers' audit view, jump to a call in any scan, react to a finished sync, and export
the reviewed labels as a training data set.

A mixin of MainWindow: it uses the window's settings, store, review controller, sync
controller, user and status bar.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox

from ndelab.app.audit_controller import scan_file
from ndelab.app.dataset_export import export_reviewed, summary_text
from ndelab.app.shared_db import choose_remote
from ndelab.volumes.errors import NdelabError
from ndelab.widgets.audit_view import AuditView
from ndelab.widgets.conflicts_dialog import ConflictsDialog
from ndelab.widgets.export_dataset_dialog import ExportDatasetDialog
from ndelab.widgets.shared_db_dialog import SharedDatabaseDialog


class SharedDatabaseActions:
    """Mixed into MainWindow (a QMainWindow): ``self`` is the window."""

    review: Any
    sync: Any
    settings: Any
    user: str

    def choose_remote(self) -> None:
        """Preferences: the shared PostgreSQL. A typed password goes to the system keyring
        (when asked and available) or stays in this session; never into the settings."""
        dialog = SharedDatabaseDialog(self.settings.remote_url or "", self)
        if dialog.exec() != SharedDatabaseDialog.DialogCode.Accepted:
            return
        url, typed, remember = dialog.values()
        try:
            choice = choose_remote(url, typed, remember, getattr(self, "_remote_session_url", None))
        except NdelabError as exc:
            self.error("Shared database", str(exc))
            return
        self.settings.remote_url = choice.saved_url
        self._save_settings()
        if choice.keyring_refused:
            self.error(
                "Shared database",
                "the system keyring refused the password; it is kept for this session only",
            )
        self._remote_session_url = choice.session_url
        # Still opening: the sync starts with the review (_review_ready configures it).
        self.sync.configure(self.store(), self.remote_url_for_sync(), self.user)

    def remote_url_for_sync(self) -> str | None:
        """The server URL the sync uses: this session's (with a typed password) or the saved one."""
        return getattr(self, "_remote_session_url", None) or self.settings.remote_url

    def show_conflicts(self) -> None:
        store = self.store()
        if store is None:
            return
        dialog = ConflictsDialog(store, self.user, self)
        dialog.goToCall.connect(lambda call_id: self.review.select(call_id))
        dialog.exec()
        self._reload_review()

    def show_audit(self) -> None:
        store = self.store()
        if store is None:
            return
        session = self.review.session
        writer = session.writer if session is not None else None
        view = AuditView(
            store,
            session.scan_id if session else None,
            self,
            settle=writer.flush if writer is not None else None,
        )
        view.goToCall.connect(self.go_to_call)
        view.show()
        self._audit_view = view

    def go_to_call(self, scan_id: str, call_id: str) -> None:
        """Jump to a call: in this scan at once; in another, open that scan's file first."""
        session = self.review.session
        if session is not None and session.scan_id == scan_id:
            self.review.select(call_id)
            return
        store = session.store if session else self.store()
        if store is None:
            return
        try:
            path = scan_file(store, scan_id)
        except NdelabError as exc:
            self.error("Go to call", str(exc))
            return
        if not path:
            self.error("Go to call", f"scan {scan_id} has no file recorded; open it by hand")
            return
        self._pending_call = call_id
        self.open_path(path)

    def _after_sync(self, result: dict[str, Any]) -> None:
        if result.get("pulled"):
            self._reload_review()
        if result.get("conflicts"):
            self.statusBar().showMessage(
                f"{result['conflicts']} new sync conflict(s): Review ▸ Sync conflicts", 15000
            )
        refusal = self.sync.new_refusal(result)
        if refusal and self.sync.running_by_user:
            self.error("Sync", refusal)
        elif refusal:
            self.statusBar().showMessage(f"Sync: {refusal}", 60000)

    def _reload_review(self) -> None:
        session = self.review.session
        if session is None:
            return
        current = session.current
        session.reload()
        self.review.set_session(session)
        if current is not None:
            self.review.select(current, centre=False)

    def export_dataset_dialog(self) -> None:
        """Export the reviewed labels (from here or the shared server) in the background."""
        dialog = ExportDatasetDialog(bool(self.settings.remote_url), self)
        if dialog.exec() != ExportDatasetDialog.DialogCode.Accepted:
            return
        options = dialog.options()
        shared = options.pop("shared")
        local = self.store()
        if local is None:
            return
        remote_url = self.remote_url_for_sync() if shared else None
        self._run_job(
            "Exporting the data set",
            lambda progress, cancel: export_reviewed(
                local, remote_url, progress=progress, cancel=cancel, **options
            ),
            self._exported,
        )

    def _exported(self, summary: dict[str, Any]) -> None:
        QMessageBox.information(self, "Data set exported", summary_text(summary))
