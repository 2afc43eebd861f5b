"""The main window: three linked slice views, the 3D dock, histogram, info and status bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
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

from ndelab.app import jobs
from ndelab.app.controller import ViewerController
from ndelab.app.settings import Settings
from ndelab.volumes.volume import Volume
from ndelab.widgets.histogram_panel import HistogramPanel
from ndelab.widgets.info_panel import InfoPanel
from ndelab.widgets.raw_options_dialog import RawOptionsDialog
from ndelab.widgets.slice_view import SliceView
from ndelab.widgets.volume_view_3d import VolumeView3D

log = logging.getLogger(__name__)

FILE_FILTER = (
    "Volumes and radiographs (*.dcm *.dicom *.ima *.tif *.tiff *.vgi *.mhd *.mha *.nrrd *.nhdr "
    "*.h5 *.hdf5 *.raw *.png *.npy);;All files (*)"
)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, *, with_3d: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("ndelab")
        self.settings = settings if settings is not None else Settings.load()
        self.controller = ViewerController()
        self.views = [SliceView(self.controller, axis) for axis in range(3)]
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

        self.readout = QLabel("")
        self.statusBar().addWidget(self.readout, 1)
        self.controller.hoverChanged.connect(self.readout.setText)
        self.controller.cursorChanged.connect(self._cursor_readout)
        self.controller.volumeChanged.connect(self._on_volume)
        self._build_menus()
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
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Mouse and keys", self.show_help, "F1")

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self._action(self.recent_menu, path, lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

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

    def _run_load(self, title: str, fn: jobs.JobFunction, recent: str | None = None) -> None:
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

    # -- showing
    def show_volume(self, volume: Volume) -> None:
        self.set_layout_2d(volume.is_2d)
        self.controller.set_volume(volume)
        name = Path(volume.source).name if volume.source else "demo part"
        self.setWindowTitle(f"ndelab — {name}")
        for warning in volume.warnings:
            self.statusBar().showMessage(warning, 10000)

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
        if self.view3d is not None:
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
