"""SAM assistance: backend, slice windowing, embedding cache, prefetch, 3D extension, fallback.

Importing this package does not import torch; ``load_sam``, ``SamBackend`` and the 3D
refinement load it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import CacheKey, EmbeddingCache, default_cache_dir
from .embedding import Embedding, SamPrediction
from .errors import SamError
from .windowing import slice_to_rgb, window_key

if TYPE_CHECKING:
    from .arch import ARCHS, SamArch
    from .backend import SamBackend, load_sam

__all__ = [
    "ARCHS",
    "CacheKey",
    "Embedding",
    "EmbeddingCache",
    "SamArch",
    "SamBackend",
    "SamError",
    "SamPrediction",
    "default_cache_dir",
    "load_sam",
    "slice_to_rgb",
    "window_key",
]

_LAZY = {"ARCHS": "arch", "SamArch": "arch", "SamBackend": "backend", "load_sam": "backend"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
