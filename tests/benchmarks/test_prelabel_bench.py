"""The prelabel benchmark runs in quick mode and reports throughput and ratios."""

from __future__ import annotations

from ndelab.benchmarks.prelabel import run


def test_quick_prelabel_benchmark_reports_ratios() -> None:
    out = run(quick=True)
    assert out["area"] == "prelabel"
    (case,) = out["cases"]
    assert case["size"] == 64 and case["voxels"] == 64**3 and case["extrapolated"] is False
    assert case["baseline_voxels_per_s"] > 0
    if out["model"] is not None:
        assert case["model_voxels_per_s"] > 0
        assert case["ratio_model_over_baseline_throughput"] > 0
