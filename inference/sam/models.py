"""The SAM model of the configured checkpoint, loaded once and kept.

A model depends on its checkpoint's bytes alone: it is keyed by the file's resolved path and
SHA-256, never by the scan or the display window (those key the per-slice embeddings, see
cache.py). Asking again for the same file costs a hash, not a ``torch.load``; a file changed in
place (same path, new bytes) loads anew. One model is kept: a new checkpoint replaces the last.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from ndelab.volumes.progress import Cancel, Progress, check, report

from .arch import SamArch
from .backend import ModelType, SamBackend, checkpoint_sha256, load_hashed

HASH_SHARE = 0.5  # of the progress bar: hashing reports progress, torch.load cannot


class SamModels:
    def __init__(
        self, model_type: ModelType | SamArch = "auto", device: str | torch.device | None = None
    ) -> None:
        self.model_type = model_type
        self.device = device
        self.loads = 0  # checkpoints read with torch.load (the cost this class saves)
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._backend: SamBackend | None = None

    @staticmethod
    def key(
        checkpoint: str | Path, progress: Progress | None = None, cancel: Cancel | None = None
    ) -> tuple[str, str]:
        """(resolved path, SHA-256) of a checkpoint: what its model depends on."""
        path = Path(checkpoint).expanduser().resolve()
        return str(path), checkpoint_sha256(path, progress, cancel)

    def load(
        self,
        checkpoint: str | Path,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> SamBackend:
        """The model of ``checkpoint``: the kept one when the file is unchanged, else loaded
        (SamError naming the file when it is missing, unreadable or not SAM)."""

        def hashing(f: float) -> None:
            report(progress, HASH_SHARE * f)

        key = self.key(checkpoint, hashing, cancel)
        with self._lock:
            if self._key == key and self._backend is not None:
                report(progress, 1.0)
                return self._backend
        check(cancel, "loading the SAM checkpoint")
        backend = load_hashed(Path(key[0]), key[1], self.model_type, self.device)
        with self._lock:
            self.loads += 1
            self._key, self._backend = key, backend
        report(progress, 1.0)
        return backend
