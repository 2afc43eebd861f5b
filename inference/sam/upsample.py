"""Low-res SAM logits -> a slice-sized bool mask in one pass, only where it can be true.

Upstream resizes every candidate mask's logits (256²) bilinearly to 1024², crops the padding
and resizes bilinearly again to the slice. Both steps are linear and separable, so each
output row (column) is a fixed blend of at most three consecutive low-res rows (columns):
here that blend is applied once, to the one chosen mask, and only over the rows and columns
that can reach a positive logit (the weights are non-negative, so a blend of logits <= 0
stays <= 0 and is background). The values match upstream's to float32 rounding.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

_TAPS = 3


def _linear(out_len: int, in_len: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """torch's bilinear (align_corners=False, no antialias) along one axis: index and weight."""
    s = np.maximum((np.arange(out_len) + 0.5) * (in_len / out_len) - 0.5, 0.0)
    i0 = np.minimum(np.floor(s).astype(np.intp), in_len - 1)
    return i0, s - i0


@lru_cache(maxsize=32)
def axis_taps(
    out_len: int, input_len: int, low_len: int, img_size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Per output pixel: the first low-res index and the weights of it and the next two."""
    # step 1: low (low_len) -> img_size, cropped to input_len; step 2: input_len -> out_len
    p0, a = _linear(out_len, input_len)
    p1 = np.minimum(p0 + 1, input_len - 1)
    start: npt.NDArray[np.intp] | None = None
    weights = np.zeros((out_len, _TAPS))
    for p, wp in ((p0, 1.0 - a), (p1, a)):
        q0, b = _linear(img_size, low_len)
        lo, hi, wb = q0[p], np.minimum(q0[p] + 1, low_len - 1), b[p]
        if start is None:
            start = lo
        rows = np.arange(out_len)
        np.add.at(weights, (rows, lo - start), wp * (1.0 - wb))
        np.add.at(weights, (rows, hi - start), wp * wb)
    assert start is not None
    return start, weights.astype(np.float32)


def _span(start: npt.NDArray[np.intp], lo: int, hi: int) -> tuple[int, int]:
    """Output range [a, b) whose taps [start, start + 2] meet low-res [lo, hi] (start sorted)."""
    a = int(np.searchsorted(start, lo - (_TAPS - 1), side="left"))
    b = int(np.searchsorted(start, hi, side="right"))
    return a, max(a, b)


def _blend_rows(
    low: npt.NDArray[np.float32], start: npt.NDArray[np.intp], w: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Output row i = sum over t of w[i, t] * low[start[i] + t] (row gathers are the fast kind)."""
    last = low.shape[0] - 1
    out: npt.NDArray[np.float32] = low[np.minimum(start, last)] * w[:, 0, None]
    for t in range(1, _TAPS):
        out += low[np.minimum(start + t, last)] * w[:, t, None]
    return out


def logits_to_mask(
    low: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    img_size: int,
    threshold: float = 0.0,
) -> npt.NDArray[np.bool_]:
    """``logits > threshold`` after upstream's two resizes of low-res logits (h, w) (CPU).

    ``input_size`` is the slice's size after the longest-side resize to ``img_size``.
    """
    h, w = original_size
    mask = np.zeros((h, w), dtype=bool)
    pos = low > threshold
    rows = np.flatnonzero(pos.any(axis=1))
    if rows.size == 0:
        return mask
    cols = np.flatnonzero(pos.any(axis=0))
    ys, wy = axis_taps(h, input_size[0], low.shape[0], img_size)
    xs, wx = axis_taps(w, input_size[1], low.shape[1], img_size)
    ra, rb = _span(ys, int(rows[0]), int(rows[-1]))
    ca, cb = _span(xs, int(cols[0]), int(cols[-1]))
    if rb <= ra or cb <= ca:
        return mask
    part = _blend_rows(low, ys[ra:rb], wy[ra:rb])  # (rows, low cols)
    vals = _blend_rows(np.ascontiguousarray(part.T), xs[ca:cb], wx[ca:cb])  # (cols, rows)
    mask[ra:rb, ca:cb] = (vals > threshold).T
    return mask
