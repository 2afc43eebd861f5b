"""Sliding-window inference: blending, coverage, lazy reads, progress and cancel."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch

from ndelab.inference.intensity import Levels
from ndelab.inference.models import BUILDERS
from ndelab.inference.sliding import SlidingWindow, gaussian_weights, window_starts
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume

LEVELS = Levels(air=0.0, material=1000.0)


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    net: torch.nn.Module = BUILDERS["unet3d"](base=4, levels=2, classes=4)
    # Move batch-norm statistics off their defaults so the test sees a real affine map.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    net.eval()
    return net


def _volume(shape: tuple[int, int, int], seed: int = 0) -> npt.NDArray[np.uint16]:
    rng = np.random.default_rng(seed)
    return rng.integers(500, 1500, size=shape).astype(np.uint16)


def _direct(net: torch.nn.Module, data: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    x = torch.from_numpy(LEVELS.apply(data)[None, None])
    with torch.inference_mode():
        out: npt.NDArray[np.float32] = net(x).softmax(1)[0].numpy()
    return out


def test_window_starts_cover_the_axis() -> None:
    assert window_starts(10, 16, 0.25) == [0]
    starts = window_starts(100, 32, 0.25)
    assert starts[0] == 0 and starts[-1] == 68
    assert all(b - a <= 24 for a, b in itertools.pairwise(starts))


def test_gaussian_weights_peak_in_the_middle() -> None:
    w = gaussian_weights((8, 8, 8))
    assert w.max() == pytest.approx(1.0, abs=0.05) and w.min() > 0
    assert w[4, 4, 4] > w[0, 0, 0]


def test_one_window_equals_direct_inference() -> None:
    net = _net()
    data = _volume((32, 32, 32))
    out = np.zeros((4, 32, 32, 32), np.uint8)
    SlidingWindow(net, classes=4, window=32, multiple=4).run(Volume(data), LEVELS, out)
    direct = _direct(net, data)
    assert np.abs(out / 255.0 - direct).max() <= 0.5 / 255 + 1e-4


def test_blended_windows_stay_close_to_direct_inference() -> None:
    # Several overlapping windows: the receptive field sees less context at window edges, so
    # the blend differs a little from one big pass; the Gaussian weights keep that small.
    net = _net(1)
    data = _volume((40, 36, 44), seed=2)
    out = np.zeros((4, *data.shape), np.uint8)
    runner = SlidingWindow(net, classes=4, window=24, overlap=0.5, multiple=4, batch_size=3)
    runner.run(Volume(data), LEVELS, out)
    assert runner.windows_run > 8
    direct = _direct(net, np.pad(data, [(0, 0), (0, 0), (0, 0)]))
    err = np.abs(out / 255.0 - direct)
    assert float(err.mean()) < 0.02
    np.testing.assert_allclose(out.astype(np.int32).sum(0), 255, atol=3)


def test_air_windows_skip_the_network() -> None:
    net = _net()
    data = np.full((48, 48, 48), 10, np.uint16)
    data[30:40, 30:40, 30:40] = 1000
    out = np.zeros((4, *data.shape), np.uint8)
    runner = SlidingWindow(net, classes=4, window=16, overlap=0.0, multiple=4)
    runner.run(Volume(data), LEVELS, out)
    assert runner.windows_skipped > 0 and runner.windows_run > 0
    assert (out[0, :16, :16, :16] == 255).all()


class CountingArray:
    """A read-only array that records every block read from it."""

    def __init__(self, data: npt.NDArray[np.uint16]) -> None:
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.reads: list[int] = []

    def __getitem__(self, key: Any) -> npt.NDArray[np.uint16]:
        block = np.asarray(self._data[key])
        self.reads.append(int(block.size))
        return block


def test_lazy_volume_is_read_slab_by_slab(tmp_path: Any) -> None:
    shape = (64, 40, 40)
    mm = np.memmap(tmp_path / "v.u16", dtype=np.uint16, mode="w+", shape=shape)
    mm[:] = _volume(shape, seed=3)
    mm.flush()
    lazy = CountingArray(np.memmap(tmp_path / "v.u16", dtype=np.uint16, mode="r", shape=shape))
    out = np.zeros((4, *shape), np.uint8)
    SlidingWindow(_net(), classes=4, window=16, overlap=0.25, multiple=4).run(
        Volume(lazy), LEVELS, out
    )
    total = int(np.prod(shape))
    assert lazy.reads and max(lazy.reads) <= 16 * 40 * 40  # never more than one slab
    assert max(lazy.reads) < total


def test_progress_rises_and_cancel_stops() -> None:
    seen: list[float] = []
    data = _volume((32, 32, 32))
    out = np.zeros((4, *data.shape), np.uint8)
    runner = SlidingWindow(_net(), classes=4, window=16, multiple=4)
    runner.run(Volume(data), LEVELS, out, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        runner.run(Volume(data), LEVELS, out, cancel=lambda: True)
