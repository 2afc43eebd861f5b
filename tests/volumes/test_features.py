"""Scan features for drift checks: each one follows the scanner setting it stands for, and a
lazy volume is read a few slices at a time, never whole."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from ndelab.volumes.features import (
    CT_FEATURES,
    MAX_FEATURE_SLICES,
    RADIOGRAPH_FEATURES,
    scan_features,
)
from ndelab.volumes.part import MAX_SLICES
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph
from ndelab.volumes.volume import Volume


def test_a_ct_scan_has_every_feature_measured() -> None:
    f = scan_features(make_ct_phantom(56, seed=10000).volume)
    assert tuple(k for k in f if k not in ("version", "dims")) == CT_FEATURES
    assert f["dims"] == 3 and None not in f.values()
    # Normalised: air at 0, material at 1, so the percentiles straddle them.
    assert -0.2 < f["p01"] < 0.1 < 0.9 < f["p99"] < 1.3
    assert f["spacing"] == pytest.approx(0.1)
    assert 20000 < f["contrast"] < 28000  # aluminium minus air, raw grey values


def test_ct_features_follow_blur_noise_and_material() -> None:
    def feats(**kw: Any) -> dict[str, Any]:
        return scan_features(make_ct_phantom(56, seed=10001, part="block", **kw).volume)

    edges = [feats(blur_sigma_vox=b)["edge_width"] for b in (0.5, 0.9, 1.3, 1.7)]
    assert edges == sorted(edges) and edges[-1] > 1.5 * edges[0]
    noises = [feats(noise=n)["noise"] for n in (0.5, 1.0, 1.5, 2.5)]
    assert noises == sorted(noises) and noises[-1] > 3 * noises[0]
    # The noise figure does not mistake blur for noise, nor noise for blur.
    assert feats(blur_sigma_vox=0.5)["noise"] == pytest.approx(
        feats(blur_sigma_vox=1.5)["noise"], rel=0.2
    )
    assert feats(noise=0.5)["edge_width"] == pytest.approx(feats(noise=2.0)["edge_width"], rel=0.15)

    # A lighter material: the same scan with 60 % of the contrast over air.
    ph = make_ct_phantom(56, seed=10001, part="block")
    air = ph.volume.metadata["grey_levels"]["air"]
    raw = np.asarray(ph.volume.data, np.float64)
    light = dataclasses.replace(ph.volume, data=(air + 0.6 * (raw - air)).astype(np.uint16))
    base, lighter = scan_features(ph.volume), scan_features(light)
    assert lighter["contrast"] == pytest.approx(0.6 * base["contrast"], rel=0.02)
    # ... which the normalisation hides from the model: only the raw contrast tells.
    assert lighter["noise"] == pytest.approx(base["noise"], rel=0.05)
    assert lighter["p50"] == pytest.approx(base["p50"], abs=0.02)


def test_radiograph_features_follow_noise_and_blur() -> None:
    def feats(**kw: Any) -> dict[str, Any]:
        return scan_features(make_radiograph(128, seed=10002, kind="casting", **kw).volume)

    f = feats()
    assert f["dims"] == 2
    assert tuple(k for k in f if k not in ("version", "dims")) == RADIOGRAPH_FEATURES
    assert None not in f.values()
    noises = [feats(noise=n)["noise"] for n in (0.5, 1.0, 2.0)]
    assert noises == sorted(noises) and noises[-1] > 3 * noises[0]
    edges = [feats(blur_sigma_px=b)["edge_width"] for b in (0.6, 1.2, 2.0)]
    assert edges == sorted(edges)
    # The noise figure is in units of photon noise: a thick steel weld (a quarter of the
    # casting's counts) and the aluminium casting read alike at the same setting.
    weld = scan_features(make_radiograph(128, seed=10002, kind="weld").volume)
    assert weld["noise"] == pytest.approx(f["noise"], rel=0.3)


class CountingSlices:
    """A lazy array that records what is read and refuses anything but single slices."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.read: list[int] = []

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._data.dtype

    def __getitem__(self, key: Any) -> Any:
        assert isinstance(key, int | np.integer), f"read {key!r}, not one slice"
        self.read.append(int(key))
        return self._data[key]


def test_a_lazy_volume_is_read_a_few_slices_at_a_time() -> None:
    data = np.asarray(make_ct_phantom(64, shape=(160, 48, 48), seed=3).volume.data)
    lazy = CountingSlices(data)
    f = scan_features(Volume(lazy, spacing_mm=(0.1, 0.1, 0.1)))
    assert f["noise"] is not None
    assert len(set(lazy.read)) <= MAX_SLICES + MAX_FEATURE_SLICES < data.shape[0]
    assert f == scan_features(Volume(data, spacing_mm=(0.1, 0.1, 0.1)))


def test_scans_with_nothing_to_measure_give_none_not_an_error() -> None:
    flat = scan_features(Volume(np.full((8, 32, 32), 500, np.uint16)))
    assert flat["edge_width"] is None
    tiny = scan_features(Volume(np.arange(8, dtype=np.float32).reshape(2, 2, 2)))
    assert tiny["noise"] is None and tiny["edge_width"] is None
    unknown = scan_features(Volume(np.zeros((4, 20, 20), np.uint8), spacing_known=False))
    assert unknown["spacing"] is None
