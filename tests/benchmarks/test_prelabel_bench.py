"""The prelabel benchmark runs in quick mode and reports throughput, quality and ratios."""

from __future__ import annotations

from ndelab.benchmarks.prelabel import run


def test_quick_prelabel_benchmark_reports_ratios_and_quality() -> None:
    out = run(quick=True)
    assert out["area"] == "prelabel"
    (case,) = out["cases"]
    assert case["size"] == 64 and case["voxels"] == 64**3 and case["extrapolated"] is False
    assert case["baseline_voxels_per_s"] > 0
    paths = ["baseline"]
    if out["model"] is not None:
        paths += ["model", "cascade"]
        assert case["model_voxels_per_s"] > 0 and case["cascade_voxels_per_s"] > 0
        assert case["ratio_model_over_baseline_throughput"] > 0
        assert case["ratio_cascade_over_baseline_throughput"] > 0
        assert set(case["ratio_cascade_over_baseline_quality"]) == {
            "recall",
            "precision",
            "class_accuracy",
        }
    assert set(case["quality"]) == set(paths)
    for q in case["quality"].values():
        assert q["defects"] == case["defects"] > 0
        assert q["recall"] is None or 0.0 <= q["recall"] <= 1.0
        assert set(q["recall_by_diameter_vox"]) == {"0-2", "2-3.5", ">=3.5"}
