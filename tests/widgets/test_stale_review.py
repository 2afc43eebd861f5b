"""A scan's review found in the background must land on that scan, never on the next one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _wait(qapp: Any, done: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        qapp.processEvents()
        assert time.monotonic() < end, "timed out waiting for the GUI"
        time.sleep(0.01)


def test_a_review_still_hashing_when_the_next_scan_opens_is_dropped(
    qapp: Any, make_main_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ndelab.app.workspace as workspace
    import ndelab.widgets.main_window as main_window

    rng = np.random.default_rng(3)
    for name in ("a.npy", "b.npy"):
        np.save(tmp_path / name, rng.integers(0, 4000, (12, 32, 40), dtype=np.uint16))

    def is_a(volume: Any) -> bool:
        return Path(str(volume.source)).name == "a.npy"

    # Scan A is large: hashing it takes until the test says so.
    hashing_a, release_a, a_done = threading.Event(), threading.Event(), threading.Event()
    real_hash, real_open = workspace.volume_sha256, main_window.open_review

    def slow_hash(volume: Any, progress: Any = None, cancel: Any = None) -> str:
        if is_a(volume):
            hashing_a.set()
            release_a.wait(30)
        return real_hash(volume, progress, cancel)

    def tracked_open(store: Any, volume: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return real_open(store, volume, *args, **kwargs)
        finally:
            if is_a(volume):
                a_done.set()

    monkeypatch.setattr(workspace, "volume_sha256", slow_hash)
    monkeypatch.setattr(main_window, "open_review", tracked_open)
    w = make_main_window()
    w.show()
    w.open_path(tmp_path / "a.npy")
    _wait(qapp, hashing_a.is_set)
    w.open_path(tmp_path / "b.npy")  # while A is still hashing
    _wait(qapp, lambda: w.review.session is not None)
    b_scan = w.review.session.scan_id
    release_a.set()
    _wait(qapp, a_done.is_set)
    for _ in range(50):  # whatever A's job still reports arrives now
        qapp.processEvents()
        time.sleep(0.01)
    assert w.controller.volume.source.endswith("b.npy")
    assert w.review.session is not None and w.review.session.scan_id == b_scan
    assert "b.npy" in w.windowTitle() and "a.npy" not in w.windowTitle()
