"""The real workstation process driven with xdotool, as a user would, under Xvfb."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, timeout=150, check=True
    ).stdout.strip()


def _grab(qapp: Any, rect: tuple[int, int, int, int]) -> np.ndarray[Any, Any]:
    from PySide6.QtGui import QImage

    x, y, w, h = rect
    image = qapp.primaryScreen().grabWindow(0, x, y, w, h).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    buf = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return buf[:, : image.width() * 3].copy()


def _wait_change(
    qapp: Any, rect: tuple[int, int, int, int], before: np.ndarray[Any, Any], timeout: float = 30.0
) -> np.ndarray[Any, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = _grab(qapp, rect)
        if np.count_nonzero(now != before) > 50:
            return now
        time.sleep(0.2)
    raise AssertionError("the window did not change after the input")


@pytest.fixture
def demo_process(tmp_path: Path, require: Any) -> Iterator[subprocess.Popen[bytes]]:
    require(shutil.which("xdotool") is not None, "xdotool (Debian package xdotool)")
    env = dict(os.environ, NDELAB_CONFIG_DIR=str(tmp_path), QT_QPA_PLATFORM="xcb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ndelab.cli", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_user_clicks_scrolls_windows_and_quits(
    qapp: Any, demo_process: subprocess.Popen[bytes]
) -> None:
    # The title gains the number of calls once the pre-labeled review is ready: the demo
    # opens on calls to review, not on an empty queue.
    title = "ndelab — demo part — [1-9][0-9]* calls"
    wid = _xdotool("search", "--sync", "--name", title).splitlines()[0]
    geometry = dict(
        line.split("=") for line in _xdotool("getwindowgeometry", "--shell", wid).splitlines()
    )
    x, y = int(geometry["X"]), int(geometry["Y"])
    w, h = int(geometry["WIDTH"]), int(geometry["HEIGHT"])
    # The whole window but the status bar (hover readouts change it without any click).
    window = (x, y, w, h - 40)
    # The axial view is the top-left slice view, right of the review queue dock.
    ax, ay = x + int(0.37 * w), y + int(0.3 * h)
    time.sleep(1.0)
    start = _grab(qapp, window)

    _xdotool("mousemove", str(ax), str(ay), "click", "1")  # crosshair
    moved = _wait_change(qapp, window, start)
    for _ in range(6):
        _xdotool("click", "4")  # wheel up: next slices
    scrolled = _wait_change(qapp, window, moved)
    _xdotool("key", "shift+d")  # narrow window on the material
    _wait_change(qapp, window, scrolled)
    _xdotool("key", "ctrl+q")
    assert demo_process.wait(timeout=60) == 0
    output = demo_process.stdout.read().decode(errors="replace") if demo_process.stdout else ""
    assert "Traceback" not in output
