"""The main window: three linked slice views, the 3D dock, histogram, info and status bar."""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from ndelab.annotation import Store, disposition, open_store
from ndelab.annotation.csv_export import write_calls_csv
from ndelab.app import jobs
from ndelab.app.controller import ViewerController
from ndelab.app.edit_controller import EditController
from ndelab.app.pdf_report import write_pdf
from ndelab.app.report import build_report
from ndelab.app.review_controller import ReviewController
from ndelab.app.review_session import ReviewSession
from ndelab.app.sam_controller import SamController
from ndelab.app.settings import Settings
from ndelab.app.sync_controller import SyncController, without_password
from ndelab.app.workspace import open_review, prelabel_into
from ndelab.volumes.errors import NdelabError
from ndelab.volumes.volume import Volume
from ndelab.widgets.audit_view import AuditView
from ndelab.widgets.conflicts_dialog import ConflictsDialog
from ndelab.widgets.disposition_panel import DispositionPanel
from ndelab.widgets.edit_toolbar import EditToolBar
from ndelab.widgets.histogram_panel import HistogramPanel
from ndelab.widgets.info_panel import InfoPanel
from ndelab.widgets.inspector_panel import InspectorPanel
from ndelab.widgets.raw_options_dialog import RawOptionsDialog
from ndelab.widgets.review_queue import ReviewQueue
from ndelab.widgets.slice_view import SliceView
from ndelab.widgets.volume_view_3d import VolumeView3D

log = logging.getLogger(__name__)

REJECT_REASONS = [
    "not a defect: noise",
    "not a defect: ring or streak artefact",
    "not a defect: surface or edge effect",
    "duplicate of another call",
    "below reporting threshold",
]

FILE_FILTER = (
    "Volumes and radiographs (*.dcm *.dicom *.ima *.tif *.tiff *.vgi *.mhd *.mha *.nrrd *.nhdr "
    "*.h5 *.hdf5 *.raw *.png *.npy);;All files (*)"
)


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        with_3d: bool = True,
        store_url: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("ndelab")
        self.settings = settings if settings is not None else Settings.load()
        self.store_url = store_url or self.settings.database_url
        self._store: Store | None = None
        self.user = self.settings.user or getpass.getuser()
        self.controller = ViewerController()
        self.review = ReviewController(self.controller)
        self.edits = EditController(self.controller, self.review)
        self.sam = SamController(self.controller, self.settings.sam_checkpoint)
        self.edits.sam = self.sam
        self.views = [SliceView(self.controller, axis) for axis in range(3)]
        for view in self.views:
            view.overlay_provider = self._overlay
            view.tool_handler = self.edits.handle
            self.review.overlayChanged.connect(view.refresh_overlay)
            self.edits.previewChanged.connect(view.refresh_overlay)
        self.info = InfoPanel()
        self._dialog: QProgressDialog | None = None
        self._job: jobs.Job | None = None

        central = QWidget()
        grid = QGridLayout(central)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(3)
        grid.addWidget(self.views[0], 0, 0)
        grid.addWidget(self.views[1], 0, 1)
        grid.addWidget(self.views[2], 1, 0)
        grid.addWidget(self.info, 1, 1)
        for i in range(2):
            grid.setColumnStretch(i, 1)
            grid.setRowStretch(i, 1)
        self.grid = grid
        self.setCentralWidget(central)

        self.histogram = HistogramPanel(self.controller)
        self.histogram_dock = self._dock(
            "Histogram and window", self.histogram, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.view3d: VolumeView3D | None = None
        self.view3d_dock: QDockWidget | None = None
        if with_3d:
            self.view3d = VolumeView3D(self.controller)
            self.view3d_dock = self._dock("3D", self.view3d, Qt.DockWidgetArea.RightDockWidgetArea)
            self.splitDockWidget(self.view3d_dock, self.histogram_dock, Qt.Orientation.Vertical)
            self.resizeDocks(
                [self.view3d_dock, self.histogram_dock], [3, 1], Qt.Orientation.Vertical
            )
            self.resizeDocks([self.view3d_dock], [520], Qt.Orientation.Horizontal)

        self.queue = ReviewQueue(self.review)
        self.queue_dock = self._dock(
            "Review queue", self.queue, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector = InspectorPanel(self.review)
        self.inspector_dock = self._dock(
            "Inspector", self.inspector, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.disposition = DispositionPanel(self.review)
        self.disposition_dock = self._dock(
            "Disposition", self.disposition, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.histogram_dock, self.disposition_dock)
        self.histogram_dock.raise_()
        self.resizeDocks([self.queue_dock], [430], Qt.Orientation.Horizontal)
        self.disposition.signRequested.connect(self.sign_disposition)
        self.disposition.pdfRequested.connect(self.export_pdf)
        self.disposition.csvRequested.connect(self.export_csv)
        self.review.failed.connect(lambda message: self.error("Review", message))
        self.review.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        if self.view3d is not None:
            self.controller.focusRequested.connect(self.view3d.focus_on)
            self._surfaces_timer = QTimer(self)
            self._surfaces_timer.setSingleShot(True)
            self._surfaces_timer.setInterval(150)  # one rebuild for a burst of review actions
            self._surfaces_timer.timeout.connect(self.refresh_3d_indications)
            for signal in (
                self.review.rowsChanged,
                self.review.rowChanged,
                self.review.selectionChanged,
            ):
                signal.connect(lambda *_: self._surfaces_timer.start())

        self.readout = QLabel("")
        self.statusBar().addWidget(self.readout, 1)
        self.sync = SyncController()
        self.sync_label = QLabel("")
        self.statusBar().addPermanentWidget(self.sync_label)
        self.sync.stateChanged.connect(self.sync_label.setText)
        self.sync.synced.connect(self._after_sync)
        self.controller.hoverChanged.connect(self.readout.setText)
        self.controller.cursorChanged.connect(self._cursor_readout)
        self.controller.volumeChanged.connect(self._on_volume)
        self._build_menus()
        self.tools = EditToolBar(self.edits, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.tools)
        self.sam.statusChanged.connect(self.tools.show_sam_status)
        self.setAcceptDrops(True)
        self.resize(1600, 1000)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- menus and shortcuts
    def _action(
        self, menu: Any, text: str, slot: Any, shortcut: str | QKeySequence | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open file…", self.open_file_dialog, QKeySequence.StandardKey.Open)
        self._action(
            file_menu,
            "Open &folder (DICOM / TIFF slices)…",
            self.open_folder_dialog,
            "Ctrl+Shift+O",
        )
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open &demo part", self.open_demo, "Ctrl+D")
        self._action(file_menu, "SAM &checkpoint…", self.choose_sam_checkpoint)
        self._action(file_menu, "Shared data&base…", self.choose_remote)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self._refresh_recent()

        view = bar.addMenu("&View")
        self._action(view, "&Reset zoom", self.reset_zoom, "F")
        self._action(view, "&Auto window", lambda: self.controller.apply_preset("Auto"), "Shift+W")
        self._action(
            view,
            "&Full range window",
            lambda: self.controller.apply_preset("Full range"),
            "Shift+R",
        )
        self._action(
            view,
            "&Defects window (narrow on material)",
            lambda: self.controller.apply_preset("Defects (material)"),
            "Shift+D",
        )
        view.addSeparator()
        view.addAction(self.histogram_dock.toggleViewAction())
        if self.view3d_dock is not None:
            view.addAction(self.view3d_dock.toggleViewAction())
        review = bar.addMenu("&Review")
        self._action(review, "&Next call", lambda: self.review.step(+1), "N")
        self._action(review, "&Previous call", lambda: self.review.step(-1), "P")
        self._action(review, "&Accept", lambda: self.review.act("accept"), "A")
        self._action(review, "&Reject…", self.reject_current, "R")
        self._action(review, "Re&open", lambda: self.review.act("reopen", advance=False), "O")
        self._action(review, "&Edit (correct class)…", self.edit_current, "E")
        review.addSeparator()
        self._action(
            review, "Finish the &polygon / accept the SAM mask", self.edits.finish, "Return"
        )
        self._action(
            review, "Cancel the edit / navigate", lambda: self.edits.set_tool("navigate"), "Esc"
        )
        self._action(review, "&Undo", self.review.undo, QKeySequence.StandardKey.Undo)
        self._action(review, "Re&do", self.review.redo, "Ctrl+Shift+Z")
        review.addSeparator()
        self._action(review, "Pre-label with the default &model", self.run_prelabel, "Ctrl+L")
        review.addSeparator()
        self._action(review, "&Sync with the shared database", self.sync.sync_now, "Ctrl+Shift+S")
        self._action(review, "Sync &conflicts…", self.show_conflicts)
        self._action(review, "Model &audit (model versus human)…", self.show_audit)
        view.addAction(self.queue_dock.toggleViewAction())
        view.addAction(self.inspector_dock.toggleViewAction())
        view.addAction(self.disposition_dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Mouse and keys", self.show_help, "F1")

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self._action(self.recent_menu, path, lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def choose_remote(self) -> None:
        """Preferences: the shared PostgreSQL. The password comes from NDELAB_DB_PASSWORD,
        PGPASSWORD or the system keyring, never from settings."""
        url, ok = QInputDialog.getText(
            self,
            "Shared database",
            "PostgreSQL URL (postgresql+psycopg://user@host:5432/ndelab?sslmode=require);\n"
            "passwords are taken from NDELAB_DB_PASSWORD or the keyring, never saved:",
            text=self.settings.remote_url or "",
        )
        if not ok:
            return
        self.settings.remote_url = without_password(url.strip()) if url.strip() else None
        self._save_settings()
        self.sync.configure(self.store(), url.strip() or None, self.user)

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
        view = AuditView(store, session.scan_id if session else None, self)
        view.goToCall.connect(self.go_to_call)
        view.show()
        self._audit_view = view

    def go_to_call(self, scan_id: str, call_id: str) -> None:
        """Jump to a call: in this scan at once; in another, open that scan's file first."""
        session = self.review.session
        if session is not None and session.scan_id == scan_id:
            self.review.select(call_id)
            return
        from ndelab.annotation import get_scan

        store = session.store if session else self.store()
        if store is None:
            return
        path = get_scan(store, scan_id)["path"]
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
        if refusal:
            self.error("Sync", refusal)

    def _reload_review(self) -> None:
        session = self.review.session
        if session is None:
            return
        current = session.current
        session.reload()
        self.review.set_session(session)
        if current is not None:
            self.review.select(current, centre=False)

    def choose_sam_checkpoint(self) -> None:
        """Preferences: the local Segment Anything checkpoint (nothing is ever downloaded)."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Segment Anything checkpoint (vit_b, vit_l or vit_h)", "", "PyTorch (*.pth *.pt)"
        )
        if not path:
            return
        self.settings.sam_checkpoint = path
        self._save_settings()
        self.sam.set_checkpoint(path)
        if self.sam.segmenter() is not None:
            self.statusBar().showMessage(self.sam.status_text(), 10000)

    def show_help(self) -> None:
        QMessageBox.information(
            self,
            "Mouse and keys",
            (
                "Left click/drag: move the crosshair (all views follow)\n"
                "Right drag: window (left/right) and level (up/down)\n"
                "Middle drag: pan    Ctrl+wheel: zoom    F: reset zoom\n"
                "Wheel, Up/Down, PageUp/PageDown, Home/End: change slice\n"
                "Shift+W auto window, Shift+R full range, Shift+D defects window\n"
                "N / P next and previous call, A accept, R reject, O reopen, E edit\n"
                "Ctrl+Z undo, Ctrl+Shift+Z redo, Ctrl+L pre-label\n"
                "Tools: B brush, X eraser, S sphere, T threshold box, G grow,\n"
                "Y polygon (Enter ends), M SAM 2D, Shift+M SAM 3D (Enter accepts),\n"
                "Esc back to navigating\n"
                "Ctrl+O open file, Ctrl+Shift+O open folder, Ctrl+D demo part"
            ),
        )

    # -- opening
    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open volume or radiograph", "", FILE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of DICOM or TIFF slices")
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path, read_options: dict[str, Any] | None = None) -> None:
        from ndelab.volumes.io import open_volume

        options = {k: v for k, v in (read_options or {}).items() if v is not None}
        if "shape" not in options and self._needs_raw_layout(Path(path)):
            dialog = RawOptionsDialog(Path(path), self)
            if dialog.exec() != RawOptionsDialog.DialogCode.Accepted:
                return
            options.update(dialog.options())
        self._run_load(
            f"Opening {Path(path).name}",
            lambda progress, cancel: open_volume(path, progress=progress, cancel=cancel, **options),
            recent=str(path),
        )

    @staticmethod
    def _needs_raw_layout(path: Path) -> bool:
        from ndelab.volumes.errors import NdelabError
        from ndelab.volumes.io import detect_format
        from ndelab.volumes.readers.raw import shape_from_name

        try:
            return path.is_file() and detect_format(path) == "raw" and shape_from_name(path) is None
        except NdelabError:
            return False

    def open_demo(self) -> None:
        from ndelab.app.demo import demo_volume

        self._run_load(
            "Making the demo part", lambda progress, cancel: demo_volume(progress, cancel)
        )

    def _run_load(
        self,
        title: str,
        fn: jobs.JobFunction,
        recent: str | None = None,
        prelabel_if_new: bool = False,
    ) -> None:
        if self._job is not None:
            self._job.cancel()
        dialog = QProgressDialog(title, "Cancel", 0, 1000, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        job = jobs.Job(title, fn)
        job.progress.connect(lambda f: dialog.setValue(int(f * 1000)))
        dialog.canceled.connect(job.cancel)

        def finished(volume: Volume) -> None:
            dialog.reset()
            self._job = None
            self.show_volume(volume)
            self.start_review(volume, prelabel_if_new=prelabel_if_new)
            if recent is not None:
                self.settings.add_recent(recent)
                self._save_settings()
                self._refresh_recent()

        def failed(message: str) -> None:
            dialog.reset()
            self._job = None
            self.error("Cannot open", message)

        def cancelled() -> None:
            dialog.reset()
            self._job = None
            self.statusBar().showMessage("Cancelled", 3000)

        job.finished.connect(finished)
        job.failed.connect(failed)
        job.cancelled.connect(cancelled)
        self._job = job
        self._dialog = dialog
        jobs.start(job)

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(message, 10000)
        QMessageBox.critical(self, title, message)

    # -- review
    def store(self) -> Store | None:
        """The review database, opened on first use; None (after a dialog) if it cannot be."""
        if self._store is None:
            try:
                self._store = open_store(self.store_url)
            except NdelabError as exc:
                self.error("Review database", str(exc))
                return None
        return self._store

    def start_review(self, volume: Volume, *, prelabel_if_new: bool = False) -> None:
        """Find the volume's scan in the database (hashed off the GUI thread); load its calls."""
        store = self.store()
        if store is None:
            return
        self.review.set_session(None)
        job = jobs.Job(
            "Loading the review",
            lambda progress, cancel: open_review(
                store,
                volume,
                self.user,
                prelabel_if_new=prelabel_if_new,
                progress=progress,
                cancel=cancel,
            ),
        )
        job.progress.connect(
            lambda f: self.statusBar().showMessage(f"Preparing the review… {f:.0%}")
        )
        job.finished.connect(self._review_ready)
        job.failed.connect(lambda message: self.error("Review", message))
        self._review_job = job
        jobs.start(job)

    def _review_ready(self, session: ReviewSession) -> None:
        if self.controller.volume is None:
            return
        self.sync.configure(session.store, self.settings.remote_url, self.user)
        self.review.set_session(session)
        pending, self._pending_call = getattr(self, "_pending_call", None), None
        if pending is not None and pending in {r["id"] for r in session.rows}:
            self.review.select(pending)
        counts = session.counts()
        self.setWindowTitle(
            f"{self.windowTitle().split(' — ')[0]} — {self._volume_name()} — "
            f"{len(session.rows)} calls"
        )
        self.statusBar().showMessage(
            f"{len(session.rows)} calls ({counts['proposed']} to review): "
            "N next, A accept, R reject",
            10000,
        )

    def _overlay(self, axis: int, index: int, plane: tuple[int, int]) -> Any:
        session = self.review.session
        codes = None if session is None else session.overlay(axis, index, plane)
        preview = self.edits.preview(axis, index, plane)
        if preview is not None:
            codes = preview if codes is None else np.where(preview > 0, preview, codes)
        return codes

    def refresh_3d_indications(self) -> None:
        """Redraw every call's surface in the 3D view, coloured by status."""
        session = self.review.session
        volume = self.controller.volume
        if self.view3d is None or volume is None:
            return
        items = []
        if session is not None:
            for row in session.rows:
                status = "selected" if row["id"] == session.current else row["status"]
                items.append((status, session.masks[row["id"]], volume.spacing_mm))
        self.view3d.show_indications(items)

    def reject_current(self) -> None:
        if self.review.session is None or self.review.session.current is None:
            self.statusBar().showMessage("Select a call first (N)", 3000)
            return
        reason, ok = QInputDialog.getItem(
            self, "Reject call", "Why is this not a defect?", REJECT_REASONS, 0, True
        )
        if ok and reason.strip():
            self.review.act("reject", reason.strip())

    def edit_current(self) -> None:
        session = self.review.session
        if session is None or session.current is None:
            self.statusBar().showMessage("Select a call first (N)", 3000)
            return
        from ndelab.annotation import CLASSES

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
        dialog = QProgressDialog(title, "Cancel", 0, 1000, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        job = jobs.Job(title, fn)
        job.progress.connect(lambda f: dialog.setValue(int(f * 1000)))
        dialog.canceled.connect(job.cancel)
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
        try:
            result = disposition(session.store, session.scan_id, criteria, sign_user=user.strip())
        except NdelabError as exc:
            self.error("Sign disposition", str(exc))
            return
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
            data = build_report(
                session.store, session.scan_id, criteria, self.controller.volume, window
            )
            write_pdf(data, path)
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
            n = write_calls_csv(session.store, session.scan_id, path)
        except NdelabError as exc:
            self.error("CSV export", str(exc))
            return
        self.statusBar().showMessage(f"Wrote {n} calls to {path}", 5000)

    # -- showing
    def show_volume(self, volume: Volume) -> None:
        self.set_layout_2d(volume.is_2d)
        self.controller.set_volume(volume)
        self.setWindowTitle(f"ndelab — {self._volume_name()}")
        for warning in volume.warnings:
            self.statusBar().showMessage(warning, 10000)

    def _volume_name(self) -> str:
        volume = self.controller.volume
        return Path(volume.source).name if volume is not None and volume.source else "demo part"

    def set_layout_2d(self, radiograph: bool) -> None:
        """Radiographs get one large view; CT gets the three orthogonal views and 3D."""
        self.views[1].setVisible(not radiograph)
        self.views[2].setVisible(not radiograph)
        self.grid.removeWidget(self.views[0])
        if radiograph:
            self.grid.addWidget(self.views[0], 0, 0, 2, 1)
            self.grid.setColumnStretch(0, 3)
        else:
            self.grid.addWidget(self.views[0], 0, 0)
            self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 1)
        self.views[0].title.setText("Radiograph" if radiograph else "Axial (z)")
        if self.view3d_dock is not None:
            self.view3d_dock.setVisible(not radiograph)

    def _on_volume(self, volume: Volume) -> None:
        self.info.show_volume(volume)

    def _cursor_readout(self, zyx: tuple[int, int, int]) -> None:
        state = self.controller.state
        if state is not None:
            self.readout.setText(state.readout().text(state.volume.spacing_known))

    def reset_zoom(self) -> None:
        for view in self.views:
            view.reset_zoom()

    # -- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._job is not None:
            self._job.cancel()
        self.sam.stop()
        self.sync.stop()
        if self._store is not None:
            self._store.close()
        if self.view3d is not None:
            self._surfaces_timer.stop()
            self.view3d.close_vtk()
        super().closeEvent(event)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([])
        app.setApplicationName("ndelab")
        app.setStyle("Fusion")
    assert isinstance(app, QApplication)
    return app
