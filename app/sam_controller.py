"""SAM assistance in the window: the model, the segmenter for the open scan and its encoders.

Nothing slow runs on the GUI thread. The checkpoint is hashed and loaded once, in a background
job, and kept across scans and windows (keyed by its path and SHA-256: see
ndelab.inference.sam.models); the display window only keys the slice embeddings. A click on a
slice that is not encoded yet waits for a background encode, and a second click on the same
slice waits for the same one.

Without a configured checkpoint (or when it fails to load) the segmenter falls back to
region growing and the status line says so: the tool never pretends to be SAM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ndelab.app import jobs
from ndelab.app.controller import ViewerController
from ndelab.inference.sam.errors import SamError
from ndelab.volumes.display import Window
from ndelab.volumes.errors import NdelabError
from ndelab.volumes.volume import Volume

log = logging.getLogger(__name__)

PREFETCH_RADIUS = 4  # slices each side of the current one encoded ahead of the clicks
RESTART_AFTER_WINDOW_MS = 300  # a window drag restarts the prefetcher once, when it settles
LOADING = "Loading SAM…"

# A click's answer: the slice mask and the segmenter that made it (for the 3D extension).
Answer = Callable[[Any, Any], None]


@dataclass
class _Request:
    """The latest click's prompts, waiting for the model or for its slice's embedding."""

    axis: int
    index: int
    points: list[tuple[int, int]]
    labels: list[int]
    box: tuple[int, int, int, int] | None
    answer: Answer


class SamController(QObject):
    statusChanged = Signal(str)
    readyChanged = Signal()
    loaded = Signal(str)  # a checkpoint finished loading (or failed): the status to show

    def __init__(
        self,
        viewer: ViewerController,
        checkpoint: str | None = None,
        *,
        cache_root: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.viewer = viewer
        self.checkpoint = checkpoint or None
        self.cache_root = cache_root
        self._models: Any = None  # SamModels, made on first use (it imports torch)
        self._backend: Any = None  # the loaded model, kept across scans and windows
        self._cache: Any = None  # its EmbeddingCache
        self._unavailable: str | None = None  # why the checkpoint cannot be used
        # The shown volume's embedding-cache id (None, with the reason, if it cannot be read).
        self._scan: tuple[Volume, str | None] | None = None
        self._scan_error: str | None = None
        self._segmenter: Any = None
        self._segmenter_key: tuple[Volume, tuple[float, float]] | None = None
        self._model_job = jobs.JobSlot()  # hashing and loading the checkpoint
        self._scan_job = jobs.JobSlot()  # the shown scan's embedding-cache id
        self._prefetch = jobs.JobSlot()
        self._encode = jobs.JobSlot()  # one clicked slice, when it was not prefetched
        self._encoding: tuple[Any, int, int] | None = None  # (segmenter, axis, index)
        self._request: _Request | None = None
        self._prefetcher: Any = None
        self.active = False
        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.setInterval(RESTART_AFTER_WINDOW_MS)
        self._restart.timeout.connect(self._restart_prefetch)
        viewer.volumeChanged.connect(self._on_volume)
        viewer.windowChanged.connect(self._on_window)
        viewer.cursorChanged.connect(self._follow_cursor)

    # -- configuration
    def set_checkpoint(self, checkpoint: str | None) -> None:
        active = self.active
        self.stop()
        self._model_job.cancel()
        self.checkpoint = checkpoint or None
        self._backend = self._cache = self._unavailable = None
        self._segmenter = self._segmenter_key = None
        if active:
            self.activate()

    def reset(self) -> None:
        """Forget the scan; the model stays (and keeps loading if it is)."""
        self.stop()
        self._scan_job.cancel()
        self._scan = None
        self._scan_error = None
        self._segmenter = self._segmenter_key = None

    def shutdown(self) -> None:
        """The window closes: stop everything, a checkpoint still being hashed included."""
        self.reset()
        self._model_job.cancel()

    def _on_volume(self, _volume: Volume) -> None:
        active = self.active
        self.reset()
        if active:
            self.activate()

    # -- the model and the scan, prepared in the background
    def prepare(self) -> bool:
        """True when the segmenter for the shown scan can be made now. Otherwise the jobs that
        load the model (once per checkpoint file) and hash the scan (once per scan) are
        started if they are not running, and readyChanged says when they are done."""
        state = self.viewer.state
        if self.checkpoint is None or self._unavailable is not None:
            return state is not None
        model_ready = self._backend is not None
        if not model_ready and not self._model_job.busy:
            self._load_model(self.checkpoint)
        if state is None:
            return False
        volume = state.volume
        scan_ready = self._scan is not None and self._scan[0] is volume
        if not scan_ready and not self._scan_job.busy:
            self._hash_scan(volume)
        if model_ready and scan_ready:
            return True
        self.statusChanged.emit(LOADING)
        return False

    def _load_model(self, checkpoint: str) -> None:
        if self._models is None:
            from ndelab.inference.sam.models import SamModels  # imports torch: only when used

            self._models = SamModels()
        models = self._models
        self._model_job.start(
            jobs.Job(
                "Loading SAM", lambda progress, cancel: models.load(checkpoint, progress, cancel)
            ),
            self._model_loaded,
            failed=self._unusable,
        )

    def _hash_scan(self, volume: Volume) -> None:
        from ndelab.inference.sam.prefetch import scan_hash

        self._scan_job.start(
            jobs.Job(
                "Reading the scan for SAM",
                lambda _progress, _cancel: scan_hash(volume.data, volume.source),
            ),
            lambda scan: self._scan_read(volume, scan, None),
            failed=lambda message: self._scan_read(volume, None, message),
        )

    def _model_loaded(self, backend: Any) -> None:
        from ndelab.inference.sam.cache import EmbeddingCache

        try:
            self._cache = EmbeddingCache(backend.model_id, self.cache_root)
        except SamError as exc:
            self._unusable(str(exc))
            return
        self._backend = backend
        self.loaded.emit(f"SAM {backend.model_type} on {backend.device.type} is ready")
        self._continue()

    def _scan_read(self, volume: Volume, scan: str | None, error: str | None) -> None:
        if volume is self.viewer.volume:
            self._scan, self._scan_error = (volume, scan), error
            self._continue()

    def _unusable(self, message: str) -> None:
        log.info("SAM unavailable: %s", message)
        self._unavailable = message
        self._segmenter = self._segmenter_key = None
        self.loaded.emit(f"SAM unavailable ({message}): using region growing")
        self._continue()

    def _continue(self) -> None:
        self.readyChanged.emit()
        if self.active:
            self.activate()
        self._serve()

    def segmenter(self) -> Any:
        """The segmenter for this scan and display window, or None while SAM is loading."""
        state = self.viewer.state
        if state is None or not self.prepare():
            return None
        window = (state.window.low, state.window.high)
        key = (state.volume, window)
        if self._segmenter is None or self._segmenter_key != key:
            from ndelab.inference.sam.interactive import InteractiveSegmenter

            data = state.volume.data
            if self.checkpoint is None:
                segmenter = InteractiveSegmenter(data, window)
            elif self._unavailable is not None or self._scan_error is not None:
                reason = self._unavailable or self._scan_error
                segmenter = InteractiveSegmenter(data, window, unavailable_reason=reason)
            else:
                assert self._scan is not None
                segmenter = InteractiveSegmenter(
                    data, window, backend=self._backend, cache=self._cache, scan=self._scan[1]
                )
            self._segmenter, self._segmenter_key = segmenter, key
            self.statusChanged.emit(segmenter.status_text)
        return self._segmenter

    # -- clicks
    def segment_2d(
        self,
        axis: int,
        index: int,
        points: Sequence[tuple[int, int]],
        labels: Sequence[int],
        box: tuple[int, int, int, int] | None,
        answer: Answer,
    ) -> None:
        """Segment one slice from prompts; ``answer(mask, segmenter)`` gets the result on the
        GUI thread: at once when the slice is encoded (or in region-growing mode), else once
        the background encode (and the model's load) is done. Only the latest click is
        answered."""
        self._request = _Request(axis, index, list(points), list(labels), box, answer)
        self._serve()

    def cancel_request(self) -> None:
        self._request = None

    def _serve(self) -> None:
        request = self._request
        if request is None:
            return
        segmenter = self.segmenter()
        if segmenter is None:
            return  # the model is loading: _continue serves the request when it is there
        if segmenter.needs_encoding(request.axis, request.index):
            self._encode_slice(segmenter, request.axis, request.index)
            return
        self._request = None
        result = segmenter.segment_2d(
            request.axis, request.index, request.points, request.labels, request.box
        )
        request.answer(result, segmenter)

    def _encode_slice(self, segmenter: Any, axis: int, index: int) -> None:
        if self._encoding == (segmenter, axis, index):
            return  # already encoding this slice: the click waits for the same result
        self._encoding = (segmenter, axis, index)
        encoder = segmenter.encoder
        self.statusChanged.emit(f"{segmenter.status_text} — encoding this slice…")

        def encoded(embedding: Any) -> None:
            self._encoding = None
            if self._segmenter is segmenter:  # still the scan and window of the click
                segmenter.use_embedding(axis, index, embedding)
            self.readyChanged.emit()
            self.statusChanged.emit(self.status_text())
            try:
                self._serve()  # under a window changed meanwhile, that window's is made
            except NdelabError as exc:  # a late answer's failure is the user's, not a crash
                self._request = None
                self.statusChanged.emit(f"SAM: {exc}")

        def failed(message: str) -> None:
            self._encoding = None
            self._request = None
            self.statusChanged.emit(f"SAM encoder failed: {message}")

        def cancelled() -> None:
            self._encoding = None

        self._encode.start(
            jobs.Job(
                "Encoding the slice for SAM",
                lambda _progress, _cancel: encoder.embedding(axis, index),
            ),
            encoded,
            failed=failed,
            cancelled=cancelled,
        )

    # -- the background encoder
    def activate(self) -> None:
        self.active = True
        segmenter = self.segmenter()
        if segmenter is None:
            return
        self.statusChanged.emit(self.status_text())
        prefetcher = segmenter.prefetcher(PREFETCH_RADIUS)
        if prefetcher is None or self._prefetch.busy:
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
        self._prefetch.start(
            job,
            lambda _count: self._prefetch_done(),
            failed=self._prefetch_failed,
            cancelled=self._prefetch_done,
            progress=lambda _f: self._prefetch_progressed(),
        )

    def _prefetch_progressed(self) -> None:
        self.readyChanged.emit()
        self.statusChanged.emit(self.status_text())

    def _prefetch_failed(self, message: str) -> None:
        self.statusChanged.emit(f"SAM encoder failed: {message}")
        self._prefetch_done()

    def _prefetch_done(self) -> None:
        self._prefetcher = None
        self.readyChanged.emit()
        self.statusChanged.emit(self.status_text())

    def _stop_prefetch(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.cancel()
        self._prefetch.cancel()  # stops after the slice being encoded; no wait on the GUI thread
        self._prefetcher = None

    def stop(self) -> None:
        """Leave the SAM tools: no more encoding (a model being loaded keeps loading)."""
        self.active = False
        self._restart.stop()
        self._stop_prefetch()
        self._encode.cancel()
        self._encoding = None
        self._request = None

    def _on_window(self, _window: Window) -> None:
        # The model stays; the embeddings of the new window are encoded from now on.
        if self.active:
            self._restart.start()

    def _restart_prefetch(self) -> None:
        if self.active:
            self._stop_prefetch()
            self.activate()

    def _follow_cursor(self, zyx: tuple[int, int, int]) -> None:
        if self._prefetcher is not None:
            self._prefetcher.focus(0, zyx[0])
        elif self.active and self._segmenter is not None and self._segmenter.mode == "sam":
            self.activate()  # the planner finished: start again around the new slice

    def status_text(self) -> str:
        if self._segmenter is None:
            return LOADING if self._model_job.busy or self._scan_job.busy else ""
        text = str(self._segmenter.status_text)
        if self._segmenter.mode == "sam":
            state = self.viewer.state
            ready = self._segmenter.ready_slices(0)
            here = state is not None and state.cursor[0] in ready
            text += f" — {len(ready)} axial slices ready" + (
                "" if here else " (this one is encoding…)"
            )
        return text
