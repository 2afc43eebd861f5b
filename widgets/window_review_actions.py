"""The main window's review actions that ask the user something first: reject with a
reason, correct the class, pre-label, sign the disposition, PDF and CSV reports.

A mixin of MainWindow: it uses the window's review and viewer controllers, disposition panel,
user and status bar.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog

from ndelab.annotation import CLASSES
from ndelab.app import jobs
from ndelab.app.image_quality import iq_gate
from ndelab.app.review_outputs import sign_disposition, write_csv, write_pdf_report
from ndelab.app.workspace import prelabel_into
from ndelab.volumes.errors import NdelabError
from ndelab.widgets.job_progress import job_with_progress
from ndelab.widgets.shortcut_keys import key_text

REJECT_REASONS = [
    "not a defect: noise",
    "not a defect: ring or streak artefact",
    "not a defect: surface or edge effect",
    "duplicate of another call",
    "below reporting threshold",
]


class ReviewActions:
    """Mixed into MainWindow (a QMainWindow): ``self`` is the window."""

    review: Any
    controller: Any
    disposition: Any
    inspector: Any
    user: str

    def reject_current(self) -> None:
        if self.review.session is None or self.review.session.current is None:
            self.statusBar().showMessage(f"Select a call first ({key_text('next_call')})", 3000)
            return
        reason, ok = QInputDialog.getItem(
            self, "Reject call", "Why is this not a defect?", REJECT_REASONS, 0, True
        )
        if ok and reason.strip():
            self.review.act("reject", reason.strip())

    def edit_current(self) -> None:
        session = self.review.session
        if session is None or session.current is None:
            self.statusBar().showMessage(f"Select a call first ({key_text('next_call')})", 3000)
            return
        current = session.row(session.current)["class"]
        cls, ok = QInputDialog.getItem(
            self, "Correct call", "Class", list(CLASSES), list(CLASSES).index(current), False
        )
        if ok and cls != current:
            self.review.correct(cls=cls, reason=f"class corrected to {cls}")

    def run_prelabel(self) -> None:
        session = self.review.session
        volume = self.controller.volume
        if session is None or volume is None:
            self.statusBar().showMessage("Open a scan first", 3000)
            return
        store, scan_id = session.store, session.scan_id
        self._run_job(
            "Pre-labeling",
            lambda progress, cancel: prelabel_into(
                store, scan_id, volume, self.user, progress=progress, cancel=cancel
            ),
            lambda summary: (
                session.reload(),
                self.review.set_session(session),
                self.statusBar().showMessage(
                    f"{summary['calls']} calls from {summary['model']} {summary['version']}", 10000
                ),
            ),
        )

    def _run_job(self, title: str, fn: jobs.JobFunction, done: Any) -> None:
        job, dialog = job_with_progress(self, title, fn)
        job.finished.connect(lambda result: (dialog.reset(), done(result)))
        job.failed.connect(lambda message: (dialog.reset(), self.error(title, message)))
        job.cancelled.connect(dialog.reset)
        self._side_job = job
        jobs.start(job)

    def sign_disposition(self) -> None:
        session = self.review.session
        criteria = self.disposition.criteria_path
        if session is None or criteria is None:
            return
        user, ok = QInputDialog.getText(
            self, "Sign disposition", "Reviewer (your user id):", text=self.user
        )
        if not ok or not user.strip():
            return
        reason = None
        gate = session.iq_gate
        if gate is not None and gate["blocked"]:
            record = gate["record"]
            state = (
                "This image's quality was NEVER MEASURED."
                if record is None
                else "This image is NOT INTERPRETABLE:\n" + str(record.get("reason", ""))
            )
            reason, ok = QInputDialog.getMultiLineText(
                self,
                "Image-quality override",
                state + "\n\nSentencing it needs an audited override. Why may it be read?",
            )
            if not ok or not reason.strip():
                return
        try:
            result = sign_disposition(session, criteria, user.strip(), reason)
        except NdelabError as exc:
            self.error("Sign disposition", str(exc))
            return
        session.iq_gate = iq_gate(session)
        self.disposition.show_gate()
        current = session.current
        self.inspector.show_call(None if current is None else session.row(current))
        self.disposition.show_result(result)
        self.statusBar().showMessage(f"Signed: {result['verdict']} by {result['signed_by']}", 10000)

    def export_pdf(self, path: str | None = None) -> None:
        session = self.review.session
        criteria = self.disposition.criteria_path
        if session is None or criteria is None:
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "PDF report", "disposition.pdf", "PDF (*.pdf)"
            )
        if not path:
            return
        try:
            window = self.controller.state.window if self.controller.state else None
            write_pdf_report(session, criteria, self.controller.volume, window, path)
        except NdelabError as exc:
            self.error("PDF report", str(exc))
            return
        self.statusBar().showMessage(f"Wrote {path}", 5000)

    def export_csv(self, path: str | None = None) -> None:
        session = self.review.session
        if session is None:
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Indications CSV", "indications.csv", "CSV (*.csv)"
            )
        if not path:
            return
        try:
            n = write_csv(session, path)
        except NdelabError as exc:
            self.error("CSV export", str(exc))
            return
        self.statusBar().showMessage(f"Wrote {n} calls to {path}", 5000)
