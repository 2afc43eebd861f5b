"""The histogram and the 3D copy as background logic: progress, cancel, the same results."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.app.volume_display import (
    display_histogram,
    first_window,
    render_step,
    volume_render_input,
)
from ndelab.volumes.display import histogram, presets
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume


def _part(shape: tuple[int, int, int] = (50, 70, 90), dtype: type = np.uint16) -> Volume:
    rng = np.random.default_rng(4)
    data = np.full(shape, 1000.0)
    data[5:-5, 10:-10, 10:-10] = 20000.0
    data += rng.normal(0, 200, shape)
    return Volume(np.clip(data, 0, 65535).astype(dtype), spacing_mm=(0.5, 0.2, 0.1))


def test_the_render_input_is_the_strided_copy_with_its_spacing() -> None:
    volume = _part()
    progress: list[float] = []
    render = volume_render_input(volume, max_edge=32, progress=progress.append)
    step = render_step(volume.shape, 32)
    assert step == 3 and render.step == 3
    np.testing.assert_array_equal(render.data, np.asarray(volume.data)[::3, ::3, ::3])
    assert render.data.flags.c_contiguous and render.data.dtype == np.uint16
    assert render.spacing_mm == pytest.approx((1.5, 0.6, 0.3))
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) == 17


def test_the_render_input_converts_what_vtk_does_not_cast() -> None:
    for dtype in (np.int32, np.float64, np.dtype(">u2")):
        render = volume_render_input(_part((8, 10, 12), dtype))
        assert render.data.dtype == np.float32 and render.step == 1


def test_the_render_input_and_histogram_stop_when_cancelled() -> None:
    volume = _part()
    asked: list[int] = []

    def cancel_after_three() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(Cancelled):
        volume_render_input(volume, max_edge=32, cancel=cancel_after_three)
    asked.clear()
    with pytest.raises(Cancelled):
        display_histogram(volume, cancel=cancel_after_three)


def test_the_display_histogram_is_the_volume_histogram_with_its_presets() -> None:
    volume = _part()
    progress: list[float] = []
    display = display_histogram(volume, progress=progress.append)
    expected = histogram(volume)
    np.testing.assert_array_equal(display.histogram.counts, expected.counts)
    assert display.presets == presets(expected, volume)
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_the_first_window_reads_only_the_middle_slice_and_is_near_auto() -> None:
    volume = _part()
    data = np.asarray(volume.data).copy()
    data[np.arange(50) != 25] = 0  # any slice but the middle one would pull the window to 0
    window = first_window(Volume(data))
    assert 500 < window.low < 1500 and 19000 < window.high < 21500
    # A radiograph's only slice gives the Auto window, up to the histogram's bin width.
    image = Volume(np.asarray(volume.data)[25:26])
    auto = display_histogram(image).presets["Auto"]
    assert first_window(image).low == pytest.approx(auto.low, abs=100)
    assert first_window(image).high == pytest.approx(auto.high, abs=100)
