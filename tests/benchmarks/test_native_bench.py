"""The native benchmark runs in quick mode and reports the documented structure."""

from __future__ import annotations

import json

import pytest

from ndelab.benchmarks import native as native_bench


@pytest.mark.slow
def test_quick_run_reports_every_comparison() -> None:
    result = native_bench.run(quick=True)
    json.dumps(result)  # JSON-serialisable
    assert result["sizes"] == list(native_bench.QUICK_SIZES)
    seen = {(r["kernel"], r["peer"]) for r in result["comparisons"]}
    assert set(native_bench.GOALS) <= seen
    for row in result["comparisons"]:
        assert row["ours_s"] > 0
        if row["peer_s"] is not None:
            assert row["ratio"] == pytest.approx(row["peer_s"] / row["ours_s"], rel=0.05, abs=0.01)
        if row["goal"] is not None and row["ratio"] is not None:
            assert row["met"] == (row["ratio"] >= row["goal"])
    assert isinstance(result["goals_met"], bool)
    assert len(result["goals_missed"]) == sum(1 for r in result["comparisons"] if r["met"] is False)
    for checks in result["checks"].values():
        # Our morphology must equal scipy's on the benchmark volumes, and EDT equal edt's.
        assert all(v for k, v in checks.items() if k.endswith("_identical"))
        assert checks["porosity_components"] >= 1
        assert checks["label_heavy_components"] > 10
        assert checks.get("edt_max_abs_diff_vs_edt", 0.0) < 1e-4


def test_porosity_volumes() -> None:
    part, pores = native_bench.porosity(40, seed=2)
    assert part.shape == pores.shape == (40, 40, 40)
    assert not (part & pores).any() and pores.any() and part.sum() > pores.sum()
    ct = native_bench.ct_intensity(part)
    assert ct.dtype.name == "uint16" and ct[part].min() >= 3000 and ct[~part].max() < 3000
