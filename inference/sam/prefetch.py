"""Which slices to encode next, and the one place that turns a slice into a cached embedding.

Qt-free: the app's background thread calls ``run_prefetch``; the view calls
``Prefetcher.focus`` as the user scrolls, and ``SliceEncoder.ready_slices`` to mark the slices
that SAM can segment at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ndelab.volumes.progress import Cancel, Progress, report

from .cache import CacheKey, EmbeddingCache
from .embedding import Embedding
from .windowing import slice_to_rgb, window_key


class Encoder(Protocol):
    """What prefetching needs of a SAM backend (SamBackend satisfies it)."""

    model_id: str

    def encode(self, rgb: npt.NDArray[np.uint8]) -> Embedding: ...


def prefetch_order(index: int, n: int, radius: int) -> list[int]:
    """``index``, then index+1, index-1, index+2, index-2, ... within [0, n) and ``radius``."""
    if not 0 <= index < n:
        raise ValueError(f"slice {index} is outside 0..{n - 1}")
    order = [index]
    for d in range(1, radius + 1):
        order += [i for i in (index + d, index - d) if 0 <= i < n]
    return order


def volume_slice(data: Any, axis: int, index: int) -> npt.NDArray[np.generic]:
    """Slice ``index`` across ``axis`` of a (z, y, x) array (lazy arrays read just that slice)."""
    sel: list[Any] = [slice(None)] * 3
    sel[axis] = int(index)
    return np.asarray(data[tuple(sel)])


def scan_hash(data: Any, source: str | None = None) -> str:
    """A cache id for a scan's voxels: shape, dtype, source and three sampled slices per axis.

    Cheap on lazy multi-GB volumes (it reads nine slices, not the volume). Two scans that
    agree on all of it share embeddings.
    """
    h = hashlib.sha256()
    shape = tuple(int(s) for s in data.shape)
    h.update(repr((shape, str(data.dtype), source)).encode())
    for axis in range(3):
        n = shape[axis]
        for i in sorted({0, n // 2, n - 1}):
            h.update(np.ascontiguousarray(volume_slice(data, axis, i)).tobytes())
    return h.hexdigest()[:24]


class SliceEncoder:
    """Embeddings of one scan's slices under one window: from the cache, or encoded and cached.

    Thread-safe: the background prefetcher and a click's encode job may ask for the same slice
    at once; the second waits for the first's encoding instead of encoding it again.
    """

    def __init__(
        self,
        encoder: Encoder,
        cache: EmbeddingCache,
        data: Any,
        scan: str,
        window: tuple[float, float],
    ) -> None:
        if cache.model_id != encoder.model_id:
            raise ValueError(f"cache of {cache.model_id} for the model {encoder.model_id}")
        self.encoder = encoder
        self.cache = cache
        self.data = data
        self.scan_hash = scan
        self.window = window_key(*window)
        self.shape = tuple(int(s) for s in data.shape)
        self.encoded = 0  # slices this encoder ran the model on
        self._lock = threading.Lock()
        self._encoding: dict[CacheKey, threading.Event] = {}

    def key(self, axis: int, index: int) -> CacheKey:
        return self.cache.key(self.scan_hash, axis, index, self.window)

    def is_ready(self, axis: int, index: int) -> bool:
        return self.key(axis, index) in self.cache

    def ready_slices(self, axis: int) -> set[int]:
        return self.cache.ready_slices(self.scan_hash, axis, self.window)

    def embedding(self, axis: int, index: int) -> Embedding:
        """The slice's embedding; encodes (seconds on a CPU) and caches it when missing."""
        key = self.key(axis, index)
        while True:
            emb = self.cache.get(key)
            if emb is not None:
                return emb
            with self._lock:
                other = self._encoding.get(key)
                if other is None:
                    mine = self._encoding[key] = threading.Event()
                    break
            other.wait()  # another thread encodes this slice; then it is in the cache
        try:
            rgb = slice_to_rgb(volume_slice(self.data, axis, index), *self.window)
            emb = self.encoder.encode(rgb)
            with self._lock:
                self.encoded += 1
            self.cache.put(key, emb)
        finally:
            with self._lock:
                del self._encoding[key]
            mine.set()
        return emb


class Prefetcher:
    """Plans the encoder's next slice: the focused slice first, then its neighbours outwards.

    ``focus`` may be called from the GUI thread at any time; the plan follows it from the
    next slice on. Ready slices are skipped, as are slices whose encoding failed.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        is_ready: Callable[[int, int], bool],
        *,
        radius: int = 8,
    ) -> None:
        self.shape = shape
        self.is_ready = is_ready
        self.radius = int(radius)
        self._lock = threading.Lock()
        self._focus: tuple[int, int] | None = None
        self._failed: set[tuple[int, int]] = set()
        self._cancelled = False

    def focus(self, axis: int, index: int) -> None:
        if axis not in (0, 1, 2) or not 0 <= index < self.shape[axis]:
            raise ValueError(f"slice {index} on axis {axis} is outside the scan {self.shape}")
        with self._lock:
            self._focus = (int(axis), int(index))

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True

    @property
    def cancelled(self) -> bool:
        with self._lock:
            return self._cancelled

    def failed(self, axis: int, index: int) -> None:
        with self._lock:
            self._failed.add((axis, index))

    def plan(self) -> list[tuple[int, int]]:
        """The slices still to encode around the focus, in order (empty when cancelled)."""
        with self._lock:
            if self._cancelled or self._focus is None:
                return []
            axis, index = self._focus
            failed = set(self._failed)
        order = prefetch_order(index, self.shape[axis], self.radius)
        return [(axis, i) for i in order if (axis, i) not in failed and not self.is_ready(axis, i)]

    def next_slice(self) -> tuple[int, int] | None:
        for item in self.plan():
            return item
        return None


def run_prefetch(
    prefetcher: Prefetcher,
    encode: Callable[[int, int], object],
    *,
    cancel: Cancel | None = None,
    progress: Progress | None = None,
) -> int:
    """Encode slices as the prefetcher plans them until none is left or cancelled.

    ``encode(axis, index)`` is typically ``SliceEncoder.embedding``. An exception from it marks
    the slice failed and is re-raised. Returns the number of slices encoded.
    """
    done = 0
    while not prefetcher.cancelled and not (cancel is not None and cancel()):
        plan = prefetcher.plan()
        if not plan:
            break
        report(progress, done / (done + len(plan)))
        axis, index = plan[0]
        try:
            encode(axis, index)
        except Exception:
            prefetcher.failed(axis, index)
            raise
        done += 1
    report(progress, 1.0)
    return done
