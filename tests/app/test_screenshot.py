from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_screenshot_of_demo_shows_all_views(qapp: object, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    out = tmp_path / "demo.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ndelab.cli",
            "screenshot",
            "--demo",
            "--out",
            str(out),
            "--width",
            "1200",
            "--height",
            "800",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    assert (image.width(), image.height()) == (1200, 800)
    ptr = image.constBits()
    pixels = np.frombuffer(ptr, np.uint8).reshape(800, image.bytesPerLine())[:, : 1200 * 3]
    pixels = pixels.reshape(800, 1200, 3).astype(int).sum(axis=2)
    # Bright part pixels in each of the four quadrants: three slice views and the 3D dock.
    for rows, cols in (
        (slice(40, 380), slice(0, 380)),
        (slice(40, 380), slice(400, 780)),
        (slice(420, 760), slice(0, 380)),
        (slice(40, 500), slice(820, 1200)),
    ):
        assert (pixels[rows, cols] > 450).sum() > 500
