"""A background job with its window-modal progress dialog: progress drives the bar, Cancel
cancels the job. Callers connect finished/failed/cancelled and reset the dialog there."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

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
