"""SAM in the window, without the window: the model loads once, off the GUI thread, and a
click on a slice that is not encoded yet is encoded by a worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume


def _wait(qapp: Any, done: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out waiting for the background job"
        time.sleep(0.01)


def _settle(qapp: Any) -> None:
    """Let queued job results arrive (whatever is still running has nothing to deliver)."""
    for _ in range(30):
        qapp.processEvents()
        time.sleep(0.01)


def _part(source: str | None = None) -> Volume:
    data = np.full((12, 48, 56), 1000, np.uint16)
    data[2:10, 8:40, 8:48] = 22000
    data[5:7, 20:26, 20:26] = 3000
    return Volume(data, spacing_mm=(0.2, 0.1, 0.1), source=source)


@pytest.fixture
def counted_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every torch.load the real loader makes, by file; those on the GUI thread are marked."""
    import torch

    real = torch.load
    loads: list[str] = []

    def load(path: Any, *args: Any, **kwargs: Any) -> Any:
        on_gui = threading.current_thread() is threading.main_thread()
        loads.append(f"{path} (on the GUI thread)" if on_gui else str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return loads


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The thread of every SAM encoder run."""
    from ndelab.inference.sam.backend import SamBackend

    real = SamBackend.encode
    threads: list[threading.Thread] = []

    def encode(self: SamBackend, rgb: Any) -> Any:
        threads.append(threading.current_thread())
        return real(self, rgb)

    monkeypatch.setattr(SamBackend, "encode", encode)
    return threads


def _controller(qapp: Any, tmp_path: Path) -> tuple[Any, Any]:
    from ndelab.app.controller import ViewerController
    from ndelab.app.sam_controller import SamController
    from ndelab.inference.sam.testing import save_tiny_checkpoint

    checkpoint = save_tiny_checkpoint(tmp_path / "tiny_sam.pth")
    viewer = ViewerController()
    sam = SamController(viewer, str(checkpoint), cache_root=tmp_path / "cache")
    return viewer, sam


def test_the_model_loads_once_off_the_gui_thread_whatever_the_window(
    qapp: Any, tmp_path: Path, counted_loads: list[str]
) -> None:
    viewer, sam = _controller(qapp, tmp_path)
    viewer.set_volume(_part())
    sam.activate()
    # Loading in the background: the first ask finds no model yet (the tiny model may already
    # be read by then, but its result reaches the GUI thread only through the event loop).
    assert sam.segmenter() is None
    _wait(qapp, lambda: sam.segmenter() is not None)
    first = sam.segmenter()
    assert first.mode == "sam" and counted_loads == [str(tmp_path / "tiny_sam.pth")]
    # A window/level change keys the slice embeddings, not the model.
    for window in (Window(500, 25000), Window(2000, 4000), Window(0, 30000)):
        viewer.set_window(window)
        segmenter = sam.segmenter()
        assert segmenter is not None and segmenter.window == (window.low, window.high)
        assert segmenter.backend is first.backend
        assert segmenter.encoder.key(0, 3).window == (window.low, window.high)
        _settle(qapp)
    # Another scan: its own embedding-cache id, the same model.
    viewer.set_volume(_part())
    _wait(qapp, lambda: sam.segmenter() is not None)
    assert sam.segmenter().backend is first.backend
    assert len(counted_loads) == 1
    sam.stop()


def test_choosing_the_same_checkpoint_again_hashes_it_but_does_not_reload(
    qapp: Any, tmp_path: Path, counted_loads: list[str]
) -> None:
    viewer, sam = _controller(qapp, tmp_path)
    messages: list[str] = []
    sam.loaded.connect(messages.append)
    assert not sam.prepare()  # chosen in Preferences before any scan is open: it loads now
    _wait(qapp, lambda: bool(messages))
    assert messages[0].startswith("SAM ") and messages[0].endswith(" on cpu is ready")
    viewer.set_volume(_part())  # a scan opened while (or after) it loads does not reload it
    _wait(qapp, lambda: sam.segmenter() is not None)
    sam.set_checkpoint(sam.checkpoint)
    _wait(qapp, lambda: sam.segmenter() is not None)
    assert len(counted_loads) == 1 and len(messages) == 2


def test_a_click_on_a_slice_not_prefetched_is_encoded_by_a_worker(
    qapp: Any, tmp_path: Path, encodes: list[threading.Thread]
) -> None:
    viewer, sam = _controller(qapp, tmp_path)
    # A scan opened from a file: its embeddings are keyed by a hash, not by its path.
    viewer.set_volume(_part(source=str(tmp_path / "scans" / "part.npy")))
    answers: list[tuple[int, Any]] = []
    # Two clicks on slice 2 before its embedding exists: one encode, the latest is answered.
    sam.segment_2d(2, 30, [(6, 23)], [1], None, lambda r, _s: answers.append((1, r)))
    sam.segment_2d(2, 30, [(6, 23), (5, 22)], [1, 1], None, lambda r, _s: answers.append((2, r)))
    assert answers == []  # nothing ran on the GUI thread: the model loads, then the slice encodes
    _wait(qapp, lambda: bool(answers))
    _settle(qapp)
    assert [n for n, _ in answers] == [2]
    result = answers[0][1]
    assert result.source == "sam" and result.mask.shape == (12, 48)
    assert len(encodes) == 1 and encodes[0] is not threading.main_thread()
    # The slice is encoded now: the next click on it is answered at once, with no encode.
    sam.segment_2d(2, 30, [(6, 23)], [0], None, lambda r, _s: answers.append((3, r)))
    assert [n for n, _ in answers] == [2, 3] and len(encodes) == 1


def test_a_click_answer_for_a_scan_no_longer_shown_is_dropped(
    qapp: Any, tmp_path: Path, encodes: list[threading.Thread]
) -> None:
    viewer, sam = _controller(qapp, tmp_path)
    viewer.set_volume(_part())
    _wait(qapp, lambda: sam.prepare())
    answers: list[Any] = []
    sam.segment_2d(0, 9, [(20, 20)], [1], None, lambda r, _s: answers.append(r))
    assert answers == []
    job = sam._encode.job
    viewer.set_volume(_part())  # another scan while slice 9 of the first is encoding
    _wait(qapp, job.done.is_set)
    _settle(qapp)
    assert answers == [] and len(encodes) == 1
