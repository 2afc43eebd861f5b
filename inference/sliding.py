"""Sliding-window inference with Gaussian blending, slab by slab, for volumes of any size.

Windows are read from the (lazy) Volume one z-slab at a time; blended class probabilities
accumulate in a float buffer one window deep, and each finished run of slices is written as
uint8 probabilities to an output array (a memmap in a temp dir for large scans). Neither the
whole volume nor a whole-volume float probability map is ever held.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ndelab.inference.intensity import Levels
from ndelab.inference.models.inference_ready import for_inference, memory_format
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

# Windows whose normalised values all stay below this hold only air: no defect can be
# inside (defects sit in material), so the network is skipped and they count as background.
AIR_ONLY = 0.45


def window_starts(length: int, window: int, overlap: float) -> list[int]:
    """Start indices covering 0..length with windows of ``window`` overlapping by a fraction."""
    if length <= window:
        return [0]
    stride = max(1, round(window * (1.0 - overlap)))
    n = math.ceil((length - window) / stride) + 1
    return sorted({round(float(v)) for v in np.linspace(0, length - window, n)})


def gaussian_weights(shape: tuple[int, ...], sigma_scale: float = 0.125) -> npt.NDArray[np.float32]:
    """Window weights peaking at the centre (sigma = side/8), floored so edges still count."""
    w = np.ones((), dtype=np.float64)
    for n in shape:
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2
        g = np.exp(-0.5 * (x / max(n * sigma_scale, 1e-6)) ** 2)
        w = np.multiply.outer(w, g)
    w /= w.max()
    return np.maximum(w, 1e-3).astype(np.float32)


def _ceil_to(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple)


def _pad_to(block: npt.NDArray[np.float32], shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    pads = [(0, t - s) for s, t in zip(block.shape, shape, strict=True)]
    if not any(p[1] for p in pads):
        return block
    return np.pad(block, pads, mode="edge")


class SlidingWindow:
    """Runs a segmentation network over a volume; see the module docstring."""

    def __init__(
        self,
        net: nn.Module,
        *,
        classes: int,
        window: int = 64,
        overlap: float = 0.25,
        multiple: int = 4,
        batch_size: int = 2,
        device: torch.device | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.net = for_inference(net, self.device)
        self._layout = memory_format(self.net, self.device)
        self.classes = classes
        self.window = window
        self.overlap = overlap
        self.multiple = multiple
        self.batch_size = max(1, batch_size)
        self.planar = getattr(net, "dims", 3) == 2
        self.windows_run = 0
        self.windows_skipped = 0

    def predict_blocks(self, blocks: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Class probabilities (n, classes, *block) of normalised same-shape blocks whose
        sides are multiples of ``multiple``, in one forward pass."""
        x = torch.from_numpy(np.stack(blocks)[:, None]).to(self.device)
        with torch.inference_mode():
            if self.planar:  # a 2D network on one-slice windows: drop z and put it back
                x2 = x[:, :, 0]
                if self._layout is not None:
                    x2 = x2.contiguous(memory_format=self._layout)
                p = self.net(x2).float().softmax(1)[:, :, None]
            else:
                if self._layout is not None:
                    x = x.contiguous(memory_format=self._layout)
                p = self.net(x).float().softmax(1)
        out: npt.NDArray[np.float32] = p.contiguous().cpu().numpy()
        return out

    def run(
        self,
        volume: Volume,
        levels: Levels,
        out: npt.NDArray[np.uint8],
        *,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Fill ``out`` (classes, z, y, x) uint8 with probabilities * 255.

        A 2D network (``net.dims == 2``) runs on a one-slice volume with (1, w, w) windows.
        """
        shape = volume.shape
        win = tuple(min(self.window, _ceil_to(n, self.multiple)) for n in shape)
        net_win = tuple(_ceil_to(w, self.multiple) for w in win)
        if self.planar:
            if shape[0] != 1:
                raise ValueError("a 2D network runs on one-slice (radiograph) volumes only")
            win, net_win = (1, *win[1:]), (1, *net_win[1:])
        starts = [window_starts(n, w, self.overlap) for n, w in zip(shape, win, strict=True)]
        weights = gaussian_weights(win)
        c, wz = self.classes, win[0]
        nz, ny, nx = shape
        acc = np.zeros((c, wz, ny, nx), dtype=np.float32)
        wsum = np.zeros((wz, ny, nx), dtype=np.float32)
        base = 0
        zstarts = starts[0]
        total = len(zstarts) * len(starts[1]) * len(starts[2])
        done = 0
        for k, zs in enumerate(zstarts):
            check(cancel, "pre-labelling")
            ze = min(zs + wz, nz)
            slab = levels.apply(np.asarray(volume.data[zs:ze, :, :]))
            pending: list[tuple[int, int, npt.NDArray[np.float32]]] = []
            for ys, xs in ((y, x) for y in starts[1] for x in starts[2]):
                block = slab[:, ys : ys + win[1], xs : xs + win[2]]
                if block.size == 0 or float(block.max()) < AIR_ONLY:
                    self._add_background(acc, wsum, weights, zs - base, ys, xs, block.shape)
                    self.windows_skipped += 1
                    done += 1
                    continue
                pending.append((ys, xs, _pad_to(np.ascontiguousarray(block), net_win)))
                if len(pending) == self.batch_size:
                    done += self._flush_batch(acc, wsum, weights, zs - base, pending)
                    pending = []
                    check(cancel, "pre-labelling")
                    report(progress, done / total)
            if pending:
                done += self._flush_batch(acc, wsum, weights, zs - base, pending)
            report(progress, done / total)
            nxt = zstarts[k + 1] if k + 1 < len(zstarts) else nz
            self._emit(acc, wsum, base, nxt, out)
            shift = nxt - base
            if shift < wz:
                acc[:, : wz - shift] = acc[:, shift:].copy()
                wsum[: wz - shift] = wsum[shift:].copy()
            acc[:, max(wz - shift, 0) :] = 0
            wsum[max(wz - shift, 0) :] = 0
            base = nxt
        report(progress, 1.0)
        return out

    def _flush_batch(
        self,
        acc: npt.NDArray[np.float32],
        wsum: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float32],
        dz: int,
        pending: list[tuple[int, int, npt.NDArray[np.float32]]],
    ) -> int:
        probs = self.predict_blocks([b for _, _, b in pending])
        self.windows_run += len(pending)
        for (ys, xs, _), p in zip(pending, probs, strict=True):
            z1 = min(weights.shape[0], acc.shape[1] - dz)
            y1 = min(weights.shape[1], acc.shape[2] - ys)
            x1 = min(weights.shape[2], acc.shape[3] - xs)
            w = weights[:z1, :y1, :x1]
            acc[:, dz : dz + z1, ys : ys + y1, xs : xs + x1] += p[:, :z1, :y1, :x1] * w
            wsum[dz : dz + z1, ys : ys + y1, xs : xs + x1] += w
        return len(pending)

    @staticmethod
    def _add_background(
        acc: npt.NDArray[np.float32],
        wsum: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float32],
        dz: int,
        ys: int,
        xs: int,
        shape: tuple[int, ...],
    ) -> None:
        z1, y1, x1 = shape
        w = weights[:z1, :y1, :x1]
        acc[0, dz : dz + z1, ys : ys + y1, xs : xs + x1] += w
        wsum[dz : dz + z1, ys : ys + y1, xs : xs + x1] += w

    @staticmethod
    def _emit(
        acc: npt.NDArray[np.float32],
        wsum: npt.NDArray[np.float32],
        base: int,
        end: int,
        out: npt.NDArray[np.uint8],
    ) -> None:
        n = end - base
        if n <= 0:
            return
        p = acc[:, :n] / np.maximum(wsum[:n], 1e-6)
        out[:, base:end] = np.clip(np.rint(p * 255.0), 0, 255).astype(np.uint8)
