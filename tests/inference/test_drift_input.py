"""Input drift: windows of held-out phantoms of the training recipe against a reference from
its training seeds. With no shift every feature stays ok; as noise, blur or the material's
contrast is shifted step by step, the shifted feature's KS and PSI and the overall score rise
and end in an alert."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ndelab.inference.drift import ALERT, OK, Alerts, DriftReference, input_drift, load_alerts
from ndelab.inference.drift_reference import make_reference, recipe_phantoms
from ndelab.volumes.features import scan_features
from ndelab.volumes.phantom import Phantom
from ndelab.volumes.volume import Volume

HELD_OUT = range(10000, 11000)
WINDOW = 24
WINDOW_SEED = 5
SIZE = {3: 48, 2: 128}  # the recipe's settings at test sizes, in the reference too

Tweak = Callable[[dict[str, Any]], dict[str, Any]]


def _small(dims: int) -> Tweak:
    return lambda p: p | {"size": SIZE[dims]}


@pytest.fixture(scope="module")
def references() -> dict[int, DriftReference]:
    return {d: make_reference(f"test-{d}d", d, count=64, tweak=_small(d)) for d in (3, 2)}


def _lighter(scale: float) -> Callable[[Phantom], Volume]:
    """The same scan of a material with ``scale`` times aluminium's contrast over air."""

    def change(ph: Phantom) -> Volume:
        air = ph.volume.metadata["grey_levels"]["air"]
        raw = np.asarray(ph.volume.data, np.float64)
        return dataclasses.replace(ph.volume, data=(air + scale * (raw - air)).astype(np.uint16))

    return change


def _window(
    dims: int, tweak: Tweak | None = None, change: Callable[[Phantom], Volume] | None = None
) -> list[dict[str, Any]]:
    small = _small(dims)
    phantoms = recipe_phantoms(
        dims,
        WINDOW,
        seeds=HELD_OUT,
        rng_seed=WINDOW_SEED,
        tweak=lambda p: small(p) if tweak is None else tweak(small(p)),
    )
    return [scan_features(ph.volume if change is None else change(ph)) for ph in phantoms]


def _scaled(key: str, factor: float) -> Tweak:
    return lambda p: p | {key: p[key] * factor}


def _added(key: str, extra: float) -> Tweak:
    return lambda p: p | {key: p[key] + extra}


# name: (dims, the feature that stands for the setting, steps, window at a step)
SHIFTS: dict[str, tuple[int, str, list[float], Callable[[float], list[dict[str, Any]]]]] = {
    "ct noise x": (3, "noise", [1, 1.4, 1.8, 2.4], lambda s: _window(3, _scaled("noise", s))),
    "ct blur +vox": (
        3,
        "edge_width",
        [0, 0.3, 0.6, 1.0],
        lambda s: _window(3, _added("blur_sigma_vox", s)),
    ),
    "ct contrast x": (3, "contrast", [1, 0.9, 0.82, 0.76], lambda s: _window(3, None, _lighter(s))),
    "radiograph noise x": (
        2,
        "noise",
        [1, 1.7, 2.4, 3.0],
        lambda s: _window(2, _scaled("noise", s)),
    ),
    "radiograph blur +px": (
        2,
        "edge_width",
        [0, 0.6, 1.2, 2.0],
        lambda s: _window(2, _added("blur_sigma_px", s)),
    ),
}


def shift_series(name: str, reference: DriftReference) -> list[dict[str, Any]]:
    """Per step: the overall score and verdict, and the shifted feature's KS, p, PSI, verdict."""
    _, feature, steps, window = SHIFTS[name]
    rows = []
    for step in steps:
        result = input_drift(reference, window(step), load_alerts())
        f = result["features"][feature]
        rows.append(
            {
                "step": step,
                "score": result["score"],
                "verdict": result["verdict"],
                "feature": feature,
                "ks": f["ks"],
                "p_value": f["p_value"],
                "psi": f["psi"],
                "feature_verdict": f["verdict"],
            }
        )
    return rows


def _rising(values: list[float]) -> bool:
    return all(b >= a for a, b in itertools.pairwise(values)) and values[-1] > values[0]


@pytest.mark.parametrize("name", list(SHIFTS))
def test_the_drift_figures_rise_with_the_shift_and_stay_ok_without_one(
    name: str, references: dict[int, DriftReference]
) -> None:
    rows = shift_series(name, references[SHIFTS[name][0]])
    warning = load_alerts().input_psi.warning
    unshifted = rows[0]
    assert unshifted["verdict"] == OK and unshifted["score"] < warning, rows
    for key in ("ks", "psi", "score"):
        assert _rising([r[key] for r in rows]), (key, rows)
    assert rows[-1]["verdict"] == ALERT and rows[-1]["feature_verdict"] == ALERT, rows
    assert rows[-1]["p_value"] < 1e-3


def test_the_no_shift_window_is_ok_on_every_feature(references: dict[int, DriftReference]) -> None:
    for dims in (3, 2):
        result = input_drift(references[dims], _window(dims), load_alerts())
        verdicts = {k: v["verdict"] for k, v in result["features"].items()}
        assert set(verdicts.values()) == {OK}, verdicts
        # The expected no-drift PSI is what the raw PSI hovers around, not zero: (bins - 1)
        # (1/n + 1/m), with 10 deciles and up to two bins beyond the reference's range.
        per_bin = 1 / WINDOW + 1 / 64
        for name, row in result["features"].items():
            if name != "spacing" and row["reference_n"] > 60:  # one spacing: one bin
                assert 9 * per_bin - 1e-3 <= row["psi_expected"] <= 11 * per_bin + 1e-3


def test_few_scans_are_not_judged_and_ignored_features_are_skipped(
    references: dict[int, DriftReference],
) -> None:
    window = _window(3)[:5]
    result = input_drift(references[3], window, Alerts(min_scans=10))
    assert result["verdict"] == "insufficient" and result["score"] is None
    assert {v["verdict"] for v in result["features"].values()} == {"insufficient"}
    shifted = _window(3, _scaled("noise", 2.4))
    result = input_drift(references[3], shifted, Alerts(ignore=("noise", "p01", "p05")))
    assert result["features"]["noise"]["verdict"] == "ignored"
    assert "ks" not in result["features"]["noise"]
