from __future__ import annotations

import numpy as np

from ndelab.volumes.display import Window, histogram, presets, sample_voxels
from ndelab.volumes.volume import Volume


def _part(noise: float = 300.0) -> Volume:
    rng = np.random.default_rng(0)
    data = np.full((40, 64, 64), 1000.0)
    data[8:32, 12:52, 12:52] = 20000.0
    data += rng.normal(0, noise, data.shape)
    return Volume(np.clip(data, 0, 65535).astype(np.uint16))


def test_window_center_width_and_drag() -> None:
    w = Window.from_center_width(100, 50)
    assert (w.low, w.high) == (75, 125)
    d = w.dragged(10, -20)
    assert (d.center, d.width) == (110, 30)
    assert w.dragged(0, -1000).width >= 1.0
    assert Window(5, 5).high > 5  # never an empty window


def test_sample_reads_bounded_slices() -> None:
    vol = _part()
    sample = sample_voxels(vol, max_samples=10_000)
    assert 0 < sample.size <= 40_000


def test_defects_preset_is_narrow_around_the_material_peak() -> None:
    vol = _part()
    hist = histogram(vol)
    p = presets(hist, vol)
    defects = p["Defects (material)"]
    assert 17000 < defects.center < 23000
    assert defects.width < p["Auto"].width / 2
    assert p["Auto"].low < 2500 and p["Auto"].high > 20000


def test_file_window_presets_are_offered() -> None:
    vol = _part()
    vol.metadata["window_presets"] = [
        {"center": 300.0, "width": 1500.0, "name": "bone"},
        {"center": 40.0, "width": 400.0},
    ]
    offered = presets(histogram(vol), vol)
    assert offered["File: bone"] == Window.from_center_width(300, 1500)
    assert offered["File: window 2"] == Window.from_center_width(40, 400)


def test_binary_volume_auto_window_spans_zero_to_one() -> None:
    data = np.zeros((8, 8, 8), np.uint16)
    data[:, 0, 0] = 1
    window = presets(histogram(Volume(data)), Volume(data))["Auto"]
    assert (window.low, window.high) == (0.0, 1.0)
