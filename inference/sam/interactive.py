"""The interactive segmentation tool's logic: SAM when a checkpoint is configured, else region
growing, saying which; 2D masks from clicks and boxes, and 3D from one click.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .cache import EmbeddingCache
from .embedding import Embedding
from .errors import SamError
from .extend3d import Box, Mask3D, Rule, extend_from_slice, refine_orthogonal
from .fallback import region_grow_2d
from .prefetch import Prefetcher, SliceEncoder, scan_hash, volume_slice
from .windowing import window_key

if TYPE_CHECKING:
    from .backend import SamBackend

Mode = Literal["sam", "region-growing"]
NOT_CONFIGURED = "SAM not configured: using region growing (set a checkpoint in Preferences)"


@dataclass(frozen=True)
class SliceMask:
    """A 2D result on slice ``index`` across ``axis``; ``score`` is SAM's estimate (None: RG)."""

    axis: int
    index: int
    mask: npt.NDArray[np.bool_]
    score: float | None
    source: Mode


@dataclass(frozen=True)
class Segment3D:
    """A 3D result from one click: the seed slice mask, the 3D crop, and what refinement did."""

    seed: SliceMask
    mask: Mask3D
    source: str  # "sam+extend3d", "region-growing+extend3d", "+orthogonal-sam" when refined
    notes: dict[int, str] = field(default_factory=dict)


class InteractiveSegmenter:
    """Segments one scan under one display window, with SAM or (without it) region growing.

    The backend (the model) may be shared by the segmenters of other windows and scans: only
    the embeddings depend on them.
    """

    def __init__(
        self,
        data: Any,
        window: tuple[float, float],
        *,
        backend: SamBackend | None = None,
        cache: EmbeddingCache | None = None,
        scan: str | None = None,
        unavailable_reason: str | None = None,
    ) -> None:
        self.data = data
        self.window = window_key(*window)
        self.shape = tuple(int(s) for s in data.shape)
        self.backend = backend
        self.encoder: SliceEncoder | None = None
        self._current: tuple[int, int, Embedding] | None = None  # the slice set in the backend
        if backend is not None:
            cache = cache if cache is not None else EmbeddingCache(backend.model_id)
            scan = scan if scan is not None else scan_hash(data)
            self.encoder = SliceEncoder(backend, cache, data, scan, self.window)
            self.status_text = f"SAM {backend.model_type} on {backend.device.type}"
        elif unavailable_reason:
            self.status_text = f"SAM unavailable ({unavailable_reason}): using region growing"
        else:
            self.status_text = NOT_CONFIGURED

    @classmethod
    def from_checkpoint(
        cls,
        data: Any,
        window: tuple[float, float],
        checkpoint: str | Path | None,
        *,
        model_type: str = "auto",
        device: str | None = None,
        cache_root: str | Path | None = None,
        scan: str | None = None,
    ) -> InteractiveSegmenter:
        """SAM from ``checkpoint`` when it loads; region growing (saying why) when it does not."""
        if checkpoint is None or str(checkpoint) == "":
            return cls(data, window)
        try:
            from .backend import load_sam

            backend = load_sam(checkpoint, model_type, device)
        except SamError as e:
            return cls(data, window, unavailable_reason=str(e))
        cache = EmbeddingCache(backend.model_id, cache_root)
        return cls(data, window, backend=backend, cache=cache, scan=scan)

    @property
    def mode(self) -> Mode:
        return "sam" if self.backend is not None else "region-growing"

    def ready_slices(self, axis: int) -> set[int]:
        """Slices SAM can segment without encoding first (none in region-growing mode)."""
        return self.encoder.ready_slices(axis) if self.encoder is not None else set()

    def needs_encoding(self, axis: int, index: int) -> bool:
        """True when segmenting this slice would run the encoder first (seconds on a CPU):
        SAM mode, and its embedding is neither set nor cached."""
        if self.encoder is None:
            return False
        return not self._is_current(axis, index) and not self.encoder.is_ready(axis, index)

    def use_embedding(self, axis: int, index: int, embedding: Embedding) -> None:
        """Segment slice ``index`` across ``axis`` with ``embedding`` (encoded elsewhere)."""
        if self.backend is None:
            raise RuntimeError("region growing uses no embeddings")
        self.backend.set_embedding(embedding)
        self._current = (axis, index, embedding)

    def _is_current(self, axis: int, index: int) -> bool:
        current = self._current
        return (
            current is not None
            and current[:2] == (axis, index)
            and self.backend is not None
            and self.backend.embedding is current[2]
        )

    def prefetcher(self, radius: int = 8) -> Prefetcher | None:
        """A planner for the background encoder (None in region-growing mode)."""
        if self.encoder is None:
            return None
        shape = (self.shape[0], self.shape[1], self.shape[2])
        return Prefetcher(shape, self.encoder.is_ready, radius=radius)

    def segment_2d(
        self,
        axis: int,
        index: int,
        points: Sequence[Sequence[int]],
        labels: Sequence[int],
        box: Sequence[int] | None = None,
        *,
        multimask: bool | None = None,
    ) -> SliceMask:
        """A mask on one slice from clicks (row, col) and/or a box (row0, col0, row1, col1).

        In SAM mode the slice's embedding is encoded first if it is not ready (slow on a
        CPU: prefetching avoids that). multimask defaults to True for one click only.
        """
        if self.backend is None or self.encoder is None:
            image = volume_slice(self.data, axis, index)
            return SliceMask(
                axis, index, region_grow_2d(image, points, labels, box), None, "region-growing"
            )
        if not self._is_current(axis, index):
            self.use_embedding(axis, index, self.encoder.embedding(axis, index))
        many = multimask if multimask is not None else (len(points) == 1 and box is None)
        pred = self.backend.predict(points, labels, box, multimask=many)
        return SliceMask(axis, index, pred.mask, pred.score, "sam")

    def segment_3d(
        self,
        axis: int,
        index: int,
        points: Sequence[Sequence[int]],
        labels: Sequence[int],
        box: Sequence[int] | None = None,
        *,
        refine: bool | None = None,
        rule: Rule = "intersect",
        k_sigma: float = 2.0,
        max_extent: int = 32,
    ) -> Segment3D:
        """3D from one click: the slice mask seeds native 3D extension.

        refine: run SAM on the two central orthogonal slices to check the result; by default
        only when SAM runs on a GPU (three more encodings cost seconds each on a CPU).
        """
        seed = self.segment_2d(axis, index, points, labels, box)
        if not seed.mask.any():
            empty = Mask3D((0, 0, 0), np.zeros((0, 0, 0), dtype=bool))
            return Segment3D(seed, empty, f"{seed.source}+extend3d", {axis: "empty slice mask"})
        grown = extend_from_slice(
            self.data, seed.mask, axis, index, k_sigma=k_sigma, max_extent=max_extent
        )
        source = f"{seed.source}+extend3d"
        if refine is None:
            refine = self.backend is not None and self.backend.device.type == "cuda"
        if not refine or self.backend is None:
            return Segment3D(seed, grown, source)

        def seg2d(a: int, i: int, pts: list[tuple[int, int]], labs: list[int], b: Box) -> Any:
            return self.segment_2d(a, i, pts, labs, b, multimask=False).mask

        refined = refine_orthogonal(grown, axis, seg2d, rule=rule)
        if refined.used_axes:
            source += "+orthogonal-sam"
        return Segment3D(seed, refined.mask, source, refined.notes)
