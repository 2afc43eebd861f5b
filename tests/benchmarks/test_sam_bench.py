"""The SAM benchmark runs end to end in quick mode (tiny SAM) and reports its structure."""

from __future__ import annotations

import json

from ndelab.benchmarks import sam as sam_bench


def test_quick_run_reports_encoder_click_and_goals() -> None:
    result = sam_bench.run(quick=True)
    json.dumps(result)
    assert result["model"].startswith("custom_")
    enc = result["encoder"]["cpu"]
    assert enc["slices"] == 2 and len(enc["s_each"]) == 2 and enc["s_per_slice"] > 0
    click = result["click"]["cpu"]
    assert click["repeats"] == 30
    for name in ("ndelab", "upstream"):
        assert 0 < click[name]["p50_ms"] <= click[name]["p99_ms"]
    assert isinstance(click["speedup_p50"], float)
    assert click["mask_iou_min"] >= 0.999  # both paths give the same masks
    goals = result["goals"]
    assert goals["click_speedup_min"] == 1.5 and isinstance(goals["click_speedup_met"], bool)
    assert isinstance(goals["click_ms_met_cpu"], bool)
