from __future__ import annotations

import numpy as np
import pytest

from ndelab.app.viewer_state import ViewerState
from ndelab.app.volume_display import display_histogram, first_window
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume


def _volume() -> Volume:
    data = np.zeros((10, 20, 30), np.uint16)
    data[2:8, 5:15, 5:25] = 20000
    data[5, 10, 12] = 123
    return Volume(data, spacing_mm=(0.5, 0.2, 0.1), origin_mm=(1.0, 2.0, 3.0))


def test_cursor_starts_centred_and_clamps() -> None:
    state = ViewerState(_volume())
    assert state.cursor == (5, 10, 15)
    assert state.set_cursor((100, -5, 12.4))
    assert state.cursor == (9, 0, 12)
    assert not state.set_cursor((9, 0, 12))


def test_slice_steps_stay_inside() -> None:
    state = ViewerState(_volume())
    state.set_slice(0, 0)
    assert not state.step_slice(0, -1)
    assert state.step_slice(2, 3)
    assert state.cursor[2] == 18


def test_readout_reports_world_mm_and_value() -> None:
    state = ViewerState(_volume())
    r = state.readout((5, 10, 12))
    assert r.value == 123
    assert r.world_mm == pytest.approx((1.0 + 2.5, 2.0 + 2.0, 3.0 + 1.2))
    assert "value 123" in r.text()


def test_slice_images_have_view_orientation() -> None:
    state = ViewerState(_volume())
    assert state.slice_image(0).shape == (20, 30)
    assert state.slice_image(1).shape == (10, 30)
    assert state.slice_image(2).shape == (10, 20)


def test_auto_window_spans_air_to_material() -> None:
    volume = _volume()
    state = ViewerState(volume, display_histogram(volume))
    assert state.window.low <= 200 and state.window.high >= 19000
    assert set(state.presets) >= {"Auto", "Full range"}
    full = state.apply_preset("Full range")
    assert state.window == full


def test_first_window_comes_from_the_middle_slice_until_the_histogram_is_ready() -> None:
    volume = _volume()
    state = ViewerState(volume)
    assert state.histogram is None and state.presets == {}
    assert state.window == first_window(volume)
    assert state.window.low <= 200 and state.window.high >= 19000
    display = display_histogram(volume)
    assert state.set_display(display) == (display.presets["Auto"] != first_window(volume))
    assert state.window == display.presets["Auto"] and state.histogram is display.histogram
    # A window the user chose is kept when the histogram arrives.
    later = ViewerState(volume)
    later.set_window(Window(5000, 6000))
    assert not later.set_display(display)
    assert later.window == Window(5000, 6000) and "Full range" in later.presets
