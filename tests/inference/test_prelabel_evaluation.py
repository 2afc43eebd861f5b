"""POD fitting recovers known parameters; matching counts hits and false alarms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ndelab.inference.calls import Call
from ndelab.inference.evaluation import (
    expected_class,
    fit_logistic,
    fit_pod,
    match_calls,
    plot_pod,
    summarise,
)


def test_pod_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(0)
    b0, b1 = -4.0, 5.0  # a50 = e^0.8 = 2.23
    a = np.exp(rng.uniform(math.log(0.8), math.log(8), 3000))
    hit = rng.random(a.size) < 1 / (1 + np.exp(-(b0 + b1 * np.log(a))))
    pod = fit_pod(a.tolist(), hit.tolist())
    assert pod["b0"] == pytest.approx(b0, abs=0.4)
    assert pod["b1"] == pytest.approx(b1, abs=0.5)
    true_a90 = math.exp((math.log(9) - b0) / b1)
    assert pod["a90"] == pytest.approx(true_a90, rel=0.05)
    assert true_a90 < pod["a90_95"] < true_a90 * 1.2


def test_pod_bound_widens_with_fewer_samples() -> None:
    rng = np.random.default_rng(1)
    widths = []
    for n in (60, 2000):
        a = np.exp(rng.uniform(0, math.log(8), n))
        hit = rng.random(n) < 1 / (1 + np.exp(-(-4 + 5 * np.log(a))))
        pod = fit_pod(a.tolist(), hit.tolist())
        widths.append(pod["a90_95"] / pod["a90"])
    assert widths[0] > widths[1] > 1.0


def test_pod_needs_hits_and_misses() -> None:
    assert "note" in fit_pod([1.0, 2.0, 3.0, 4.0, 5.0], [True] * 5)


def test_logistic_matches_closed_form_for_one_group() -> None:
    beta, cov = fit_logistic(np.zeros((10, 0)), np.array([1.0] * 7 + [0.0] * 3))
    assert beta[0] == pytest.approx(math.log(7 / 3), abs=1e-6)
    assert cov[0, 0] == pytest.approx(1 / (10 * 0.7 * 0.3), rel=1e-4)


def _call(bbox: tuple[int, ...], mask: np.ndarray, centroid: tuple[float, float, float]) -> Call:
    return Call("pore", 0.9, centroid, bbox, int(mask.sum()), 0.0, mask, "m", "1")


def test_matching_overlap_and_centroid() -> None:
    labels = np.zeros((10, 10, 10), np.uint16)
    labels[1:3, 1:3, 1:3] = 1
    labels[6:9, 6:9, 6:9] = 2
    calls = [
        _call((2, 2, 2, 4, 4, 4), np.ones((2, 2, 2), bool), (2.5, 2.5, 2.5)),  # overlaps 1
        _call((5, 5, 5, 6, 6, 6), np.ones((1, 1, 1), bool), (7.0, 7.0, 7.0)),  # centroid in 2
        _call((0, 8, 0, 1, 9, 1), np.ones((1, 1, 1), bool), (0.0, 8.0, 0.0)),  # false alarm
    ]
    m = match_calls(calls, labels, 2)
    assert m.defect_hit == [0, 1]
    assert m.call_true == [True, True, False]
    raw = {
        "defects": [
            {"kind": "pore", "diameter_vox": 2.5, "hit": True, "called_as": "pore"},
            {"kind": "pore", "diameter_vox": 4.0, "hit": False, "called_as": None},
        ],
        "calls": [{"true": True}, {"true": False}],
        "scans": [],
        "seconds": 0.0,
    }
    s = summarise(raw)
    assert s["precision"] == 0.5
    assert s["recall_by_diameter_vox"]["2-3.5"]["pores"]["recall"] == 1.0
    assert s["recall_by_diameter_vox"][">=3.5"]["pores"]["recall"] == 0.0


def test_plot_pod_writes_a_png(tmp_path: object) -> None:
    from pathlib import Path

    rng = np.random.default_rng(2)
    a = np.exp(rng.uniform(0, 2, 200))
    hit = rng.random(200) < 1 / (1 + np.exp(-(-3 + 4 * np.log(a))))
    png = plot_pod(
        {"pod_pores_diameter_vox": fit_pod(a.tolist(), hit.tolist())},
        Path(str(tmp_path)) / "pod.png",
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_names_one_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NAME@VERSION evaluates that registered version, not the name's default."""
    from ndelab.inference.evaluation import evaluate
    from ndelab.inference.registry import Registry

    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path))
    reg = Registry()
    base = reg.get("ndelab-unet3d", "1.0.1")
    reg.register(
        "ndelab-unet3d", "9.9.9", base.weights, {}, base=base, input_spec={"threshold": 0.8}
    )
    result = evaluate("ndelab-unet3d@9.9.9", seeds=[10000], sizes=[48])
    assert {s["model"] for s in result["scans"]} == {"ndelab-unet3d@9.9.9"}


def test_sizing_and_confusion_of_the_hits() -> None:
    from ndelab.inference.evaluation import sizing_and_confusion

    def row(kind: str, d: float, called: float | None, as_: str | None) -> dict[str, object]:
        return {
            "kind": kind,
            "diameter_vox": d,
            "diameter_mm": 0.1 * d,
            "hit": called is not None,
            "called_as": as_,
            "called_diameter_vox": called,
        }

    rows = [
        row("pore", 4.0, 5.0, "pore"),
        row("pore", 6.0, 7.0, "pore"),
        row("pore", 8.0, 7.0, "crack"),  # sized by its call whatever the class
        row("pore", 3.0, None, None),  # a miss: neither sized nor in the confusion
        row("crack", 20.0, 4.0, "crack"),  # a crack's size is its length: not in the sizing
        row("inclusion", 5.0, 5.0, "pore"),
    ]
    out = sizing_and_confusion(rows)  # type: ignore[arg-type]
    s = out["sizing_pores"]
    assert s["pores"] == 3
    assert s["bias_vox"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["spread_vox"] == pytest.approx(float(np.std([1, 1, -1], ddof=1)), abs=1e-3)
    assert s["bias_mm"] == pytest.approx(0.1 / 3, abs=1e-4)
    assert s["median_ratio"] == pytest.approx(7 / 6, abs=1e-3)
    assert out["class_confusion"] == {
        "pore": {"pore": 2, "crack": 1},
        "crack": {"crack": 1},
        "inclusion": {"pore": 1},
    }


def test_an_evaluation_sizes_its_hits_in_mm() -> None:
    from ndelab.inference.evaluation import evaluate

    result = evaluate("classical-baseline", seeds=[10000], sizes=[96])
    assert "a90" in result["pod_pores_diameter_mm"] or "note" in result["pod_pores_diameter_mm"]
    assert result["sizing_pores"]["pores"] > 0 and "bias_mm" in result["sizing_pores"]
    assert sum(sum(r.values()) for r in result["class_confusion"].values()) > 0
    assert "CT phantoms" in result["image_quality"]


def test_a_long_pore_on_a_radiograph_should_be_called_a_linear_indication() -> None:
    foot = np.zeros((40, 40), bool)
    foot[18:22, 5:35] = True  # 30 x 4 px
    assert expected_class("pore", foot) == "linear"
    assert expected_class("inclusion", foot) == "linear"
    assert expected_class("crack", foot) == "crack"
    round_ = np.zeros((40, 40), bool)
    round_[15:25, 15:25] = True
    assert expected_class("pore", round_) == "pore"
    # As the image shows it: a 7 x 2 px pore blurred by 1.5 px looks round.
    small = np.zeros((40, 40), bool)
    small[19:21, 17:24] = True
    assert expected_class("pore", small) == "linear"
    assert expected_class("pore", small, blur_sigma_px=1.5) == "pore"
