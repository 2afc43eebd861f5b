"""On-disk SAM embedding cache: a float16 .npz per (model, scan, axis, window, slice), LRU-bounded.

Layout: <root>/<model_id>/<scan_hash>/a<axis>_w<low>_<high>/<index>.npz, so the slices ready
for one view are one directory listing. A file's mtime is its last use; when the cache grows
past ``max_bytes`` the least recently used files go first. Writes are atomic (temp + rename),
so a reader on another thread never sees half a file. No torch needed here.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from .embedding import Embedding
from .errors import SamError
from .windowing import window_key

DEFAULT_MAX_BYTES = 4 * 2**30
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("ndelab")) / "sam"


@dataclass(frozen=True)
class CacheKey:
    """What an embedding depends on: the scan's voxels, the slice, the window and the model."""

    scan_hash: str
    axis: int
    index: int
    window: tuple[float, float]
    model_id: str


def _fmt(v: float) -> str:
    return repr(float(v)).replace("-", "m")  # exact and file-name safe ('-' only as a sign)


class EmbeddingCache:
    """Embeddings of one model's slices on disk (``model_id`` is part of every key)."""

    def __init__(
        self, model_id: str, root: str | Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if not _SAFE.match(model_id):
            raise ValueError(f"model id {model_id!r} is not file-name safe")
        self.model_id = model_id
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._last_ns = 0
        self._total: int | None = None  # bytes on disk, counted on first need
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SamError(self.root, f"cannot create the SAM cache folder ({e.strerror})") from e

    # --- keys and paths --------------------------------------------------------------------

    def key(self, scan_hash: str, axis: int, index: int, window: tuple[float, float]) -> CacheKey:
        if not _SAFE.match(scan_hash):
            raise ValueError(f"scan hash {scan_hash!r} is not file-name safe")
        if axis not in (0, 1, 2) or index < 0:
            raise ValueError(f"bad slice (axis {axis}, index {index})")
        return CacheKey(scan_hash, int(axis), int(index), window_key(*window), self.model_id)

    def _dir(self, model_id: str, scan_hash: str, axis: int, window: tuple[float, float]) -> Path:
        lo, hi = window_key(*window)
        return self.root / model_id / scan_hash / f"a{axis}_w{_fmt(lo)}_{_fmt(hi)}"

    def path(self, key: CacheKey) -> Path:
        folder = self._dir(key.model_id, key.scan_hash, key.axis, key.window)
        return folder / f"{key.index:06d}.npz"

    # --- use -------------------------------------------------------------------------------

    def _touch(self, path: Path) -> None:
        # Explicit, strictly increasing stamps: file systems' own clocks are too coarse for LRU.
        with self._lock:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            stamp = self._last_ns
        os.utime(path, ns=(stamp, stamp))

    def __contains__(self, key: CacheKey) -> bool:
        return self.path(key).is_file()

    def get(self, key: CacheKey) -> Embedding | None:
        """The cached embedding, or None; a hit counts as a use. Unreadable files are dropped."""
        path = self.path(key)
        try:
            with np.load(path) as z:
                emb = Embedding(
                    features=z["features"].astype(np.float16, copy=False),
                    original_size=(int(z["original_size"][0]), int(z["original_size"][1])),
                    input_size=(int(z["input_size"][0]), int(z["input_size"][1])),
                    model_id=key.model_id,
                )
            self._touch(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, IndexError):
            path.unlink(missing_ok=True)  # a damaged entry is just a miss; it is re-encoded
            return None
        return emb

    def put(self, key: CacheKey, emb: Embedding) -> Path:
        """Store ``emb`` under ``key`` (atomically), then evict past ``max_bytes``."""
        if emb.model_id != key.model_id:
            raise ValueError(f"embedding of {emb.model_id} under a key of {key.model_id}")
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("wb") as f:
            np.savez(
                f,
                features=np.asarray(emb.features, dtype=np.float16),
                original_size=np.asarray(emb.original_size, dtype=np.int64),
                input_size=np.asarray(emb.input_size, dtype=np.int64),
            )
        old = path.stat().st_size if path.exists() else 0
        tmp.replace(path)
        self._touch(path)
        with self._lock:
            if self._total is not None:
                self._total += path.stat().st_size - old
        if self.total_bytes() > self.max_bytes:
            self.evict(keep=path)
        return path

    def ready_slices(self, scan_hash: str, axis: int, window: tuple[float, float]) -> set[int]:
        """Indices of the slices along ``axis`` whose embedding (for this window) is on disk."""
        folder = self._dir(self.model_id, scan_hash, axis, window)
        try:
            names = [p.name for p in folder.iterdir()]
        except FileNotFoundError:
            return set()
        return {int(n[:-4]) for n in names if n.endswith(".npz") and n[:-4].isdigit()}

    # --- size ------------------------------------------------------------------------------

    def _entries(self) -> list[tuple[int, int, Path]]:
        """(mtime_ns, size, path) of every cached file of every model under root."""
        out: list[tuple[int, int, Path]] = []
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(".npz"):
                    p = Path(dirpath) / name
                    try:
                        st = p.stat()
                    except FileNotFoundError:
                        continue
                    out.append((st.st_mtime_ns, st.st_size, p))
        return out

    def total_bytes(self) -> int:
        with self._lock:
            if self._total is None:
                self._total = sum(size for _, size, _ in self._entries())
            return self._total

    def evict(self, keep: Path | None = None) -> int:
        """Delete least recently used files until the cache fits ``max_bytes``; returns count."""
        entries = sorted(self._entries(), key=lambda e: e[0])
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, p in entries:
            if total <= self.max_bytes:
                break
            if keep is not None and p == keep:
                continue
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
        with self._lock:
            self._total = total
        return removed

    def clear(self) -> None:
        """Delete every cached file of every model under root."""
        for _, _, p in self._entries():
            p.unlink(missing_ok=True)
        with self._lock:
            self._total = 0
