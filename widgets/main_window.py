"""The main window: three linked slice views, the 3D dock, histogram, info and status bar."""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from ndelab.app import excepthook, jobs
from ndelab.app.controller import ViewerController
from ndelab.app.edit_controller import EditController
from ndelab.app.image_quality import detectability_rgba, map_for, smallest_size_limit_mm
from ndelab.app.inbox_controller import InboxController
from ndelab.app.review_controller import ReviewController
from ndelab.app.review_session import ReviewSession
from ndelab.app.ruler import Ruler
from ndelab.app.sam_controller import SamController
from ndelab.app.settings import Settings
from ndelab.app.store_open import OpenedStore, Store, open_review_store
from ndelab.app.sync_controller import SyncController
from ndelab.app.volume_display import MAX_RENDER_EDGE, display_histogram, volume_render_input
from ndelab.app.workspace import open_review
from ndelab.volumes.volume import Volume
from ndelab.widgets.disposition_panel import DispositionPanel
from ndelab.widgets.edit_toolbar import EditToolBar
from ndelab.widgets.histogram_panel import HistogramPanel
from ndelab.widgets.inbox_panel import InboxPanel
from ndelab.widgets.info_panel import InfoPanel
from ndelab.widgets.inspector_panel import InspectorPanel
from ndelab.widgets.job_progress import BackgroundProgress, job_with_progress
from ndelab.widgets.profile_panel import ProfilePanel
from ndelab.widgets.raw_options_dialog import RawOptionsDialog
from ndelab.widgets.review_queue import ReviewQueue
from ndelab.widgets.shortcut_keys import key_text
from ndelab.widgets.shortcuts_dialog import ShortcutsDialog
from ndelab.widgets.slice_view import SliceView
from ndelab.widgets.volume_view_3d import VolumeView3D
from ndelab.widgets.window_menus import add_action, build_menus
from ndelab.widgets.window_review_actions import ReviewActions
from ndelab.widgets.window_shared_db import SharedDatabaseActions

log = logging.getLogger(__name__)

FILE_FILTER = (
    "Volumes and radiographs (*.dcm *.dicom *.ima *.tif *.tiff *.vgi *.pcr *.xtekVolume *.xtekct "
    "*.vol *.mhd *.mha *.nrrd *.nhdr *.h5 *.hdf5 *.raw *.png *.npy);;All files (*)"
)


class MainWindow(ReviewActions, SharedDatabaseActions, QMainWindow):
    # An unexpected error's notice: a queued hop to the GUI thread when a worker raised it.
    errorNotice = Signal(str, object)

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
        self._opened: OpenedStore | None = None  # the store and its decision writer
        self._store_job: jobs.Job | None = None
        self._review_waiting: tuple[Volume, bool] | None = None  # until the store is open
        self._closing = False
        self.user = self.settings.user or getpass.getuser()
        self.controller = ViewerController()
        # Decisions go to the store through a background writer: a key never waits on it.
        self.review = ReviewController(self.controller, background_writes=True)
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
        self.shortcuts_dialog: ShortcutsDialog | None = None
        # Background work tied to the volume on screen: a newer volume supersedes it.
        self._reviews = jobs.JobSlot()
        self._histogram_jobs = jobs.JobSlot()
        self._render_jobs = jobs.JobSlot()
        self._detectability_jobs = jobs.JobSlot()
        self._drift_jobs = jobs.JobSlot()
        self.drift: dict[str, Any] | None = None  # the shown scan's drift (app.scan_drift)
        self.detectability_action: Any = None  # the View menu's toggle (window_menus)

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
        self.inbox = InboxController()
        self.inbox_panel = InboxPanel(self.inbox)
        self.inbox_dock = self._dock(
            "Scan inbox", self.inbox_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inbox_panel.openRequested.connect(self.open_path)
        self.inbox.newlyReady.connect(
            lambda n: self.statusBar().showMessage(
                f"{n} new scan(s) from the inbox ready for review", 10000
            )
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
        self.profile = ProfilePanel()
        self.profile_dock = self._dock(
            "Line profile", self.profile, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.histogram_dock, self.profile_dock)
        self.edits.rulerChanged.connect(self._ruler_changed)
        self.edits.rulerFinished.connect(self._ruler_finished)
        self.histogram_dock.raise_()
        self.resizeDocks([self.queue_dock], [430], Qt.Orientation.Horizontal)
        self.disposition.signRequested.connect(self.sign_disposition)
        self.review.sessionChanged.connect(self._show_gate)
        self.disposition.pdfRequested.connect(self.export_pdf)
        self.disposition.csvRequested.connect(self.export_csv)
        self.review.failed.connect(lambda message: self.error("Review", message))
        self.review.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        if self.view3d is not None:
            self.controller.focusRequested.connect(self.view3d.focus_on)
            self._surfaces_timer = QTimer(self)
            self._surfaces_timer.setSingleShot(True)
            self._surfaces_timer.setInterval(150)  # one pass for a burst of reloads
            self._surfaces_timer.timeout.connect(self.refresh_3d_indications)
            self.review.rowsChanged.connect(self._surfaces_timer.start)
            # A decision recolours one call's surface; a selection moves the white one.
            self.review.rowChanged.connect(self._surface_changed)
            self.review.selectionChanged.connect(self._surface_selected)
        self.review.nearnessChanged.connect(self._nearness_changed)

        self.readout = QLabel("")
        self.statusBar().addWidget(self.readout, 1)
        self.background = BackgroundProgress()
        self.statusBar().addPermanentWidget(self.background)
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
        self.sam.loaded.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.setAcceptDrops(True)
        self.resize(1600, 1000)
        self._open_store()  # quick_check and migrations run while the window shows

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- menus and shortcuts
    def _action(self, menu: Any, text: str, slot: Any, shortcut_id: str | None = None) -> QAction:
        return add_action(self, menu, text, slot, shortcut_id)

    def _build_menus(self) -> None:
        build_menus(self)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self._action(self.recent_menu, path, lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

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
        self.sam.prepare()  # loads in the background; `loaded` says how it went
        self.statusBar().showMessage("Loading the SAM checkpoint…", 10000)

    def show_help(self) -> None:
        """Help ▸ Keyboard shortcuts…: one dialog, raised again if it is open."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()

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

        # Pre-labelled the first time, so the demo opens on calls to review (as screenshots do).
        self._run_load(
            "Making the demo part",
            lambda progress, cancel: demo_volume(progress, cancel),
            prelabel_if_new=True,
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
        job, dialog = job_with_progress(self, title, fn)

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

    def install_excepthook(self, log_file: Path) -> Callable[[], None]:
        """Unexpected exceptions in slots: the traceback goes to the log, one sentence to a
        dialog here, and the window stays up. Returns what uninstalls it."""
        self.errorNotice.connect(self._unexpected_error)
        return excepthook.install(excepthook.ErrorReporter(log_file, self.errorNotice.emit))

    def _unexpected_error(self, sentence: str, closed: Callable[[], None]) -> None:
        # Not exec(): a nested event loop inside sys.excepthook would run more failing slots.
        self.statusBar().showMessage(sentence, 10000)
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Unexpected error",
            sentence,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("unexpected-error")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: closed())
        box.open()

    # -- the review database, opened off the GUI thread
    def store(self) -> Store | None:
        """The review database; None while it is still opening (a status-bar hint, never a
        dialog that would swallow keys). A failed open shows its dialog and is retried here."""
        if self._store is None:
            self._open_store()
            self.statusBar().showMessage(
                "The review database is still opening; try again in a moment", 5000
            )
        return self._store

    def current_store(self) -> Store | None:
        """The review database if it is open, else None; opens nothing and shows nothing, so
        another thread may ask (the metrics exporter's scrapes)."""
        return self._store

    def _open_store(self) -> None:
        if self._store is not None or self._store_job is not None or self._closing:
            return
        url = self.store_url
        job = jobs.Job(
            "Opening the review database",
            lambda progress, cancel: open_review_store(url, progress, cancel),
        )
        job.finished.connect(self._store_opened)
        job.failed.connect(self._store_failed)
        job.cancelled.connect(self._store_cancelled)
        self._store_job = job
        jobs.start(job)

    def _store_opened(self, opened: OpenedStore) -> None:
        self._store_job = None
        if self._closing or self._store is not None:  # closed meanwhile, or given one
            opened.close()
            return
        self._opened, self._store = opened, opened.store
        self.review.use_writer(opened.writer)
        self.inbox.set_store(opened.store)
        if opened.replayed.saved:
            self.statusBar().showMessage(
                f"{opened.replayed.saved} decision(s) left unsaved by the last session are"
                " now in the review database",
                10000,
            )
        if opened.replayed.failed:
            self.error("Review database", "\n".join(opened.replayed.failed))
        if self.controller.volume is not None:
            self.start_drift(self.controller.volume)  # the database may name another champion
        waiting, self._review_waiting = self._review_waiting, None
        if waiting is not None and waiting[0] is self.controller.volume:
            self.start_review(waiting[0], prelabel_if_new=waiting[1])

    def _store_failed(self, message: str) -> None:
        self._store_job = None
        if not self._closing:
            self.error("Review database", message)

    def _store_cancelled(self) -> None:
        self._store_job = None

    def wait_for_store(self, timeout_s: float = 120.0) -> Store | None:
        """Block, handling events, until the database is open (scripts, the screenshot)."""
        self._open_store()
        end = time.monotonic() + timeout_s
        while (job := self._store_job) is not None and time.monotonic() < end:
            job.done.wait(0.01)
            QApplication.processEvents()  # delivers the job's result
        return self._store

    # -- review
    def start_review(self, volume: Volume, *, prelabel_if_new: bool = False) -> None:
        """Find the volume's scan in the database (hashed off the GUI thread); load its calls.
        While the database is still opening, the review starts once it is open."""
        self._reviews.cancel()  # the last scan's review, still hashing, must not land on this one
        store = self._store
        if store is None:
            self.review.set_session(None)
            self._review_waiting = (volume, prelabel_if_new)
            self._open_store()
            self.statusBar().showMessage("Opening the review database…", 5000)
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

        def ready(session: ReviewSession) -> None:
            if self.controller.volume is volume:  # the scan it was opened for is still shown
                self._review_ready(session)

        self._reviews.start(
            job,
            ready,
            failed=lambda message: self.error("Review", message),
            progress=lambda f: self.statusBar().showMessage(f"Preparing the review… {f:.0%}"),
        )

    def _review_ready(self, session: ReviewSession) -> None:
        if self.controller.volume is None:
            return
        self.sync.configure(session.store, self.remote_url_for_sync(), self.user)
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
            f"{key_text('next_call')} next, {key_text('accept')} accept, "
            f"{key_text('reject')} reject",
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
        """Show every call's surface in the 3D view, coloured by status (after a reload;
        surfaces of unchanged masks are kept)."""
        session = self.review.session
        volume = self.controller.volume
        if self.view3d is None or volume is None:
            return
        items = []
        if session is not None:
            spacing = volume.spacing_mm
            items = [(r["id"], r["status"], session.masks[r["id"]], spacing) for r in session.rows]
        self.view3d.show_indications(items, session.current if session is not None else None)

    def _surface_changed(self, call_id: str) -> None:
        """One call's decision: its surface changes colour (rebuilt only for a new mask)."""
        session, volume = self.review.session, self.controller.volume
        if self.view3d is None or session is None or volume is None:
            return
        try:
            row = session.row(call_id)
        except KeyError:
            return
        self.view3d.update_indication(
            call_id, row["status"], session.masks[call_id], volume.spacing_mm
        )

    def _surface_selected(self, row: dict[str, Any] | None) -> None:
        if self.view3d is not None:
            self.view3d.select_indication(None if row is None else row["id"])

    def _nearness_changed(self) -> None:
        """The criteria were re-evaluated after decisions: the verdict and the queue's
        nearness column show the new figures."""
        self.disposition.refresh()
        model = self.queue.model
        if model.rowCount():
            model.dataChanged.emit(
                model.index(0, 0), model.index(model.rowCount() - 1, model.columnCount() - 1)
            )

    # -- showing
    def show_volume(self, volume: Volume) -> None:
        # A stroke, prompts, a SAM proposal or a ruler belong to the scan they were made on.
        self.edits.cancel()
        self.background_error = None
        self.set_layout_2d(volume.is_2d)
        self.controller.set_volume(volume)
        self._prepare_display(volume)
        self.start_drift(volume)
        self.setWindowTitle(f"ndelab — {self._volume_name()}")
        for warning in volume.warnings:
            self.statusBar().showMessage(warning, 10000)

    def _prepare_display(self, volume: Volume) -> None:
        """The histogram and the 3D view's copy are read in the background: the slices show
        at once, the histogram (with the Auto window) and the 3D view fill in when ready."""
        self._background(
            self._histogram_jobs,
            "the histogram",
            lambda progress, cancel: display_histogram(volume, progress, cancel),
            lambda display: self.controller.set_display(volume, display),
        )
        view3d = self.view3d
        if view3d is None:
            return
        self._background(
            self._render_jobs,
            "the 3D view",
            lambda progress, cancel: volume_render_input(volume, MAX_RENDER_EDGE, progress, cancel),
            lambda render: view3d.show_render_input(volume, render),
        )

    def _background(self, slot: jobs.JobSlot, what: str, fn: jobs.JobFunction, done: Any) -> None:
        """Run ``fn`` in ``slot`` with its bar (and Cancel) in the status bar."""

        def ended() -> None:
            self.background.ended(what)

        def finished(result: Any) -> None:
            ended()
            done(result)

        def failed(message: str) -> None:
            ended()
            # Not modal: a background failure must not block the window (or a headless
            # screenshot waiting for it), and the slices stay usable without it.
            self.background_error = message
            self.statusBar().showMessage(message, 10000)
            box = QMessageBox(QMessageBox.Icon.Critical, f"Preparing {what}", message, parent=self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

        self.background.started(what, slot.cancel)
        slot.start(
            jobs.Job(f"Preparing {what}", fn),
            finished,
            failed=failed,
            cancelled=ended,
            progress=lambda f: self.background.progressed(what, f),
        )

    background_error: str | None = None  # the last background display job's failure

    def start_drift(self, volume: Volume) -> None:
        """The scan's input drift against the serving model's reference, in a job; the badge
        in the info panel shows it (a failure greys the badge, it opens no dialog)."""
        from ndelab.app.scan_drift import scan_drift

        store = self._store
        self.drift = None
        self.info.show_drift_pending()

        def finished(drift: dict[str, Any]) -> None:
            if self.controller.volume is volume:
                self.drift = drift
                self.info.show_drift(drift)

        def failed(message: str) -> None:
            if self.controller.volume is volume:
                self.info.show_drift(None, failure=message)

        self._drift_jobs.start(
            jobs.Job(
                "The drift check",
                lambda progress, cancel: scan_drift(
                    volume, store, progress=progress, cancel=cancel
                ),
            ),
            finished,
            failed=failed,
        )

    def _show_gate(self, session: ReviewSession | None) -> None:
        """The image-quality gate in the info panel; a failed image brings the disposition
        panel (where the override is) to the front."""
        gate = None if session is None else session.iq_gate
        if gate is None:
            return
        self.info.show_quality(gate["lines"], gate["blocked"])
        if gate["blocked"]:
            self.disposition_dock.raise_()

    def toggle_detectability(self, on: bool) -> None:
        """Show or hide the smallest-detectable-pore map over the radiograph (a job)."""
        view = self.views[0]
        session, volume = self.review.session, self.controller.volume
        if not on or session is None or volume is None:
            view.set_heat(None)
            return
        gate = session.iq_gate or {}
        record = gate.get("record")
        if not gate.get("radiograph") or record is None:
            self.statusBar().showMessage(
                "The detectability map needs a radiograph with a measured SRb (no IQ gate for CT)",
                8000,
            )
            if self.detectability_action is not None:
                self.detectability_action.setChecked(False)
            return
        criteria = session.criteria

        def compute(progress: Any, cancel: Any) -> Any:
            dmap = map_for(volume, record)
            if dmap is None:
                return None
            limit = smallest_size_limit_mm(criteria)
            return dmap, limit, detectability_rgba(dmap, limit)

        def done(result: Any) -> None:
            if result is None or self.controller.volume is not volume:
                return
            dmap, limit, rgba = result
            self.detectability = dmap
            view.set_heat(rgba)
            text = f"Smallest detectable pore: median {dmap.summary()['median_mm']} mm"
            if limit is not None:
                share = dmap.fraction_above(limit)
                text += f"; {share:.0%} of the image cannot guarantee {limit:g} mm (red)"
            self.statusBar().showMessage(text, 15000)
            self.detectability_text = text

        self._background(self._detectability_jobs, "the detectability map", compute, done)

    detectability: Any = None
    detectability_text: str | None = None

    def display_pending(self) -> bool:
        """True while the shown volume's histogram, 3D copy or drift is still being read."""
        return self._histogram_jobs.busy or self._render_jobs.busy or self._drift_jobs.busy

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

    def _ruler_changed(self, ruler: Ruler | None) -> None:
        volume = self.controller.volume
        text = ruler.text(volume) if ruler is not None and volume is not None else ""
        for view in self.views:
            view.show_ruler(ruler, text)
        if ruler is None or volume is None:
            self.profile.clear()
            return
        self.statusBar().showMessage(f"Ruler: {text}", 10000)

    def _ruler_finished(self, ruler: Ruler) -> None:
        """The profile is read once the ruler is placed (a lazy scan's slice is not re-read
        on every mouse move)."""
        volume = self.controller.volume
        if volume is None:
            return
        distance, values = ruler.profile(volume)
        unit = "mm" if volume.spacing_known else "voxels"
        self.profile.show_profile(distance, values, unit, ruler.text(volume))
        self.profile_dock.raise_()

    def _on_volume(self, volume: Volume) -> None:
        self.info.show_volume(volume)

    def _cursor_readout(self, zyx: tuple[int, int, int]) -> None:
        state = self.controller.state
        if state is not None:
            self.readout.setText(state.readout().text(state.volume.spacing_known))

    def save_views_image(self, path: str | None = None) -> None:
        """The slice views and the info panel as they are on screen (rulers, overlays and
        crosshair included), for a nonconformance report."""
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save the slice views", f"{Path(self._volume_name()).stem}.png", "PNG (*.png)"
            )
        if not path:
            return
        if not self.centralWidget().grab().save(path, "PNG"):
            self.error("Save image", f"could not write {path}; check the folder and the disk")
            return
        self.statusBar().showMessage(f"Wrote {path}", 5000)

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
        self._closing = True
        if self._job is not None:
            self._job.cancel()
        for slot in (self._reviews, self._histogram_jobs, self._render_jobs, self._drift_jobs):
            slot.cancel()
        if self._store_job is not None:
            self._store_job.cancel()
        self.sam.shutdown()
        self.sync.stop()
        self.inbox.stop()
        # Queued decisions reach the store first (what a held lock keeps stays journaled).
        self.review.close()
        if self._opened is not None:
            self._opened.writer.close()
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
