"""Plain results of the SAM backend (no torch needed to hold, cache or show them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Embedding:
    """One slice's image embedding, as cached: float16 (1, C, h, w) plus the resize geometry."""

    features: npt.NDArray[np.float16]
    original_size: tuple[int, int]  # the slice's (rows, cols)
    input_size: tuple[int, int]  # after the longest-side resize to the model's img_size
    model_id: str


@dataclass(frozen=True)
class SamPrediction:
    """A mask on the slice, the model's quality estimate, and its low-res logits."""

    mask: npt.NDArray[np.bool_]
    score: float
    low_res_logits: npt.NDArray[np.float32]  # (4h, 4w); feed back as ``mask_input``
    mask_index: int  # 0 for single-mask output, 1..3 for the multimask candidates
