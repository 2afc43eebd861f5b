"""SAM assistance in the window: the segmenter for the open scan and its background encoder.

Without a configured checkpoint (or when it fails to load) the segmenter falls back to
region growing and the status line says so: the tool never pretends to be SAM.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from ndelab.app import jobs
from ndelab.app.controller import ViewerController

log = logging.getLogger(__name__)

PREFETCH_RADIUS = 4  # slices each side of the current one encoded ahead of the clicks


class SamController(QObject):
    statusChanged = Signal(str)
    readyChanged = Signal()

    def __init__(self, viewer: ViewerController, checkpoint: str | None = None) -> None:
        super().__init__()
        self.viewer = viewer
        self.checkpoint = checkpoint
        self._segmenter: Any = None
        self._key: tuple[int, tuple[float, float]] | None = None
        self._prefetcher: Any = None
        self._job: jobs.Job | None = None
        self.active = False
        viewer.volumeChanged.connect(lambda _v: self.reset())
        viewer.cursorChanged.connect(self._follow_cursor)

    def reset(self) -> None:
        self.stop()
        self._segmenter = None
        self._key = None

    def set_checkpoint(self, checkpoint: str | None) -> None:
        self.checkpoint = checkpoint or None
        self.reset()
        if self.active:
            self.activate()

    def segmenter(self) -> Any:
        """The segmenter for this scan and display window (SAM embeddings depend on both)."""
        state = self.viewer.state
        if state is None:
            return None
        key = (id(state.volume), (state.window.low, state.window.high))
        if self._segmenter is None or key != self._key:
            from ndelab.inference.sam.interactive import InteractiveSegmenter

            self.stop()
            self._segmenter = InteractiveSegmenter.from_checkpoint(
                state.volume.data, key[1], self.checkpoint, scan=state.volume.source or None
            )
            self._key = key
            self.statusChanged.emit(self._segmenter.status_text)
        return self._segmenter

    # -- the background encoder
    def activate(self) -> None:
        self.active = True
        segmenter = self.segmenter()
        if segmenter is None:
            return
        self.statusChanged.emit(self.status_text())
        prefetcher = segmenter.prefetcher(PREFETCH_RADIUS)
        if prefetcher is None or self._job is not None:
            return
        from ndelab.inference.sam.prefetch import run_prefetch

        state = self.viewer.state
        assert state is not None
        prefetcher.focus(0, state.cursor[0])
        self._prefetcher = prefetcher
        job = jobs.Job(
            "Encoding slices for SAM",
            lambda progress, cancel: run_prefetch(
                prefetcher, segmenter.encoder.embedding, cancel=cancel, progress=progress
            ),
        )
        job.progress.connect(
            lambda _f: (self.readyChanged.emit(), self.statusChanged.emit(self.status_text()))
        )
        job.finished.connect(self._prefetch_done)
        job.failed.connect(
            lambda message: (
                self.statusChanged.emit(f"SAM encoder failed: {message}"),
                self._prefetch_done(None),
            )
        )
        job.cancelled.connect(lambda: self._prefetch_done(None))
        self._job = job
        jobs.start(job)

    def _prefetch_done(self, _result: object) -> None:
        self._job = None
        self.readyChanged.emit()
        self.statusChanged.emit(self.status_text())

    def stop(self) -> None:
        self.active = False
        if self._prefetcher is not None:
            self._prefetcher.cancel()
        if self._job is not None:
            self._job.cancel()  # stops after the slice being encoded; no wait on the GUI thread
        self._prefetcher = None
        self._job = None

    def _follow_cursor(self, zyx: tuple[int, int, int]) -> None:
        if self._prefetcher is not None:
            self._prefetcher.focus(0, zyx[0])
        elif self.active and self._segmenter is not None and self._segmenter.mode == "sam":
            self.activate()  # the planner finished: start again around the new slice

    def ready_count(self, axis: int = 0) -> int:
        return 0 if self._segmenter is None else len(self._segmenter.ready_slices(axis))

    def status_text(self) -> str:
        if self._segmenter is None:
            return ""
        text = str(self._segmenter.status_text)
        if self._segmenter.mode == "sam":
            state = self.viewer.state
            ready = self._segmenter.ready_slices(0)
            here = state is not None and state.cursor[0] in ready
            text += f" — {len(ready)} axial slices ready" + (
                "" if here else " (this one is encoding…)"
            )
        return text
