"""The drift figures on known numbers, the alert file, the shipped references and the output
drift of calls per model version and window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.inference.drift import (
    ALERT,
    OK,
    WARNING,
    Alerts,
    DriftError,
    DriftReference,
    calibration_scores,
    default_alerts_path,
    ks,
    load_alerts,
    output_drift,
    psi,
    reference_from_features,
)
from ndelab.inference.intensity import estimate_levels
from ndelab.inference.registry import Registry
from ndelab.volumes.features import feature_names
from ndelab.volumes.part import normalisation_levels, sample_slices
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph


def test_psi_by_hand_and_its_no_drift_expectation() -> None:
    ref = np.arange(100, dtype=float)  # quartile bins: 25 values each
    value, expected = psi(ref, [10.0] * 10 + [60.0] * 10, bins=4)
    e = 25 / 100
    a_full, a_empty = 10 / 20, 0.5 / 20  # an empty bin counts as half a scan
    by_hand = 2 * (a_full - e) * np.log(a_full / e) + 2 * (a_empty - e) * np.log(a_empty / e)
    assert value == pytest.approx(by_hand)
    assert expected == pytest.approx(3 * (1 / 20 + 1 / 100))
    same, _ = psi(ref, ref, bins=4)
    assert same == pytest.approx(0.0, abs=1e-12)
    # One spacing in the whole reference: one edge, two bins, and a new spacing stands out.
    flat = [0.1] * 50
    assert psi(flat, [0.1] * 20)[0] == pytest.approx(0.0, abs=1e-12)
    assert psi(flat, [0.2] * 20)[0] > 2.0
    d, p = ks(ref, ref + 200)
    assert d == 1.0 and p < 1e-20


def test_the_feature_levels_are_the_models_normalisation() -> None:
    for volume in (
        make_ct_phantom(48, seed=10003).volume,
        make_radiograph(128, seed=10003, kind="weld").volume,
    ):
        lo, hi, _ = normalisation_levels(sample_slices(volume), volume.is_2d)
        levels = estimate_levels(volume)
        assert (lo, hi) == pytest.approx((levels.air, levels.material))


def test_the_shipped_alert_file_and_bad_ones(tmp_path: Path) -> None:
    alerts = load_alerts()
    assert alerts.input_psi.warning == 0.1 and alerts.input_psi.alert == 0.25
    assert alerts.input_p.alert < alerts.input_p.warning
    assert default_alerts_path().is_file()
    bad = tmp_path / "alerts.yaml"
    for text, message in [
        ("input: [", "not valid YAML"),
        ("- 1\n", "must hold a mapping"),
        ("input:\n  psi: {warning: 0.3, alert: 0.1}\n", "alert level must be at or above"),
        ("input:\n  ks_p_value: {warning: 0.001, alert: 0.01}\n", "at or below"),
        ("input:\n  psi: {warning: high, alert: 0.1}\n", "must be numbers"),
    ]:
        body = default_alerts_path().read_text() if text.startswith("input:\n") else ""
        bad.write_text(text if not body else _replace_input(body, text))
        with pytest.raises(DriftError, match=message):
            load_alerts(bad)
    with pytest.raises(DriftError, match="cannot be read"):
        load_alerts(tmp_path / "missing.yaml")


def _replace_input(body: str, override: str) -> str:
    import yaml

    raw = yaml.safe_load(body)
    raw["input"].update(yaml.safe_load(override)["input"])
    return yaml.safe_dump(raw)


def test_each_shipped_model_has_its_reference_from_its_training_recipe() -> None:
    registry = Registry()
    specs = [s for s in registry.specs() if s.source == "builtin"]
    assert {s.dims for s in specs} == {2, 3}
    for spec in specs:
        path = spec.drift_reference
        assert path.is_file() and path.stat().st_size < 10_000, path
        ref = DriftReference.read(path)
        card = json.loads((path.parent / "model.json").read_text())
        assert ref.model == spec.key and ref.dims == spec.dims
        assert ref.recipe["seeds"] == card["training"]["seeds"]  # training seeds only
        assert ref.recipe["rng_seed"] == card["training"]["seed"]
        assert tuple(ref.samples) == feature_names(spec.dims)
        for name, values in ref.samples.items():
            assert values == sorted(values)
            assert len(values) + ref.unmeasured[name] == ref.recipe["count"]


def test_a_reference_survives_its_file(tmp_path: Path) -> None:
    records = [{"noise": 0.01 * i, "contrast": 100.0 + i, "edge_width": None} for i in range(12)]
    ref = reference_from_features("m@1", 3, records, {"count": 12})
    back = DriftReference.read(ref.write(tmp_path / "r.json"))
    assert back == ref and back.unmeasured["edge_width"] == 12 and back.samples["edge_width"] == []
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DriftError, match="is not a drift reference"):
        DriftReference.read(tmp_path / "bad.json")


def _calls(
    version: str, scans: range, scores: list[float] | np.ndarray, statuses: list[str]
) -> list[Any]:
    """Per scan, one call per status, with the next scores in turn."""
    out, k = [], 0
    for s in scans:
        for status in statuses:
            out.append(
                {
                    "source_name": "unet",
                    "source_version": version,
                    "scan_id": f"{version}-scan-{s:03d}",
                    "scan_created_at": f"2026-01-01T00:{s:02d}:00+00:00",
                    "score": float(scores[k % len(scores)]),
                    "status": status,
                }
            )
            k += 1
    return out


def test_output_drift_per_version_and_window() -> None:
    rng = np.random.default_rng(0)
    good = rng.uniform(0.8, 1.0, 80)
    # Version 1: 20 scans of 4 calls, all kept, then 10 scans whose calls are rejected half
    # the time and score lower.
    calls = _calls("1", range(20), good, ["accepted", "corrected", "accepted", "accepted"])
    calls += _calls("1", range(20, 30), rng.uniform(0.3, 0.6, 40), ["rejected", "accepted"] * 2)
    # Version 2: steady, with no calibration scores: judged against its first window.
    calls += _calls("2", range(20), good, ["accepted", "rejected", "accepted", "proposed"])
    reference = {"unet@1": list(rng.uniform(0.8, 1.0, 200))}
    out = {o["version"]: o for o in output_drift(calls, window=10, reference_scores=reference)}

    one = out["1"]
    assert one["score_reference"] == "calibration" and one["reference_calls"] == 200
    first, second, last = one["windows"]
    assert [w["scans"] for w in one["windows"]] == [10, 10, 10]
    assert first["calls_per_scan"] == 4.0 and first["accept_rate"] == 1.0
    assert first["verdict"] == OK and second["verdict"] == OK, one["windows"]
    assert last["accept_rate"] == 0.5 and last["accept_rate_drop"] == 0.5
    assert last["score_p_value"] < 1e-6 and last["verdict"] == ALERT
    assert last["expected_accept_rate"] == pytest.approx(0.45, abs=0.05)
    assert one["verdict"] == ALERT  # its latest window

    two = out["2"]
    assert two["score_reference"] == "first window"
    assert [w["verdict"] for w in two["windows"]] == ["reference", OK]
    assert two["windows"][1]["accept_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert two["windows"][1]["decided"] == 30 and two["verdict"] == OK


def test_an_accept_rate_drop_warns_before_it_alerts() -> None:
    scores = np.linspace(0.5, 1.0, 40)  # the same scores in every window: only rates move
    base = _calls("1", range(10), scores, ["accepted"] * 4)
    worse = _calls("1", range(10, 20), scores, ["accepted"] * 3 + ["rejected"])
    [result] = output_drift(base + worse, window=10, alerts=Alerts(min_calls=20))
    assert result["windows"][1]["accept_rate_drop"] == 0.25
    assert result["windows"][1]["verdict"] == ALERT
    milder = _calls("1", range(10, 20), scores, ["accepted"] * 7 + ["rejected"])
    [result] = output_drift(base + milder, window=10)
    assert result["windows"][1]["accept_rate_drop"] == 0.125
    assert result["windows"][1]["verdict"] == WARNING
    with pytest.raises(DriftError, match="at least one scan"):
        output_drift(base, window=0)


def test_calibration_scores_come_from_the_model_card() -> None:
    spec = Registry().get("ndelab-unet3d")
    scores = calibration_scores(spec.calibration)
    assert len(scores) == spec.calibration["after"]["n"] and 0 < min(scores) <= max(scores) < 1
    assert calibration_scores({}) == []
