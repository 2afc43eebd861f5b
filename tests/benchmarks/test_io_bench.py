"""The io benchmark runs end to end in quick mode and reports the documented structure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndelab.benchmarks import io as io_bench


@pytest.mark.slow
def test_quick_run_reports_every_case_and_goal() -> None:
    result = io_bench.run(quick=True)
    json.dumps(result)  # JSON-serialisable
    assert result["shape_zyx"] == list(io_bench.QUICK_SHAPE)
    assert result["volume_bytes"] == 2 * 64 * 1448 * 1448
    cases = result["cases"]
    assert set(cases) == {
        "ndelab-raw",
        "ndelab-raw-release",
        "ndelab-hdf5",
        "peer-h5py",
        "peer-fromfile",
    }
    checksums = set()
    for name, case in cases.items():
        assert "error" not in case, (name, case)
        assert case["first_slice_s"] > 0
        assert 0 < case["slice_median_ms"] <= case["slice_p99_ms"] <= case["slice_max_ms"]
        assert case["peak_rss_bytes"] >= case["peak_anon_bytes"] > 0
        checksums.add(case["checksum"])
    assert len(checksums) == 1  # every case read the same voxels
    # The naive peer holds the whole volume in private memory; the lazy readers do not.
    assert cases["peer-fromfile"]["peak_anon_bytes"] > result["volume_bytes"]
    assert cases["ndelab-hdf5"]["peak_anon_bytes"] < result["volume_bytes"] / 2
    assert cases["ndelab-raw"]["peak_anon_bytes"] < result["volume_bytes"] / 2
    for key in (
        "raw_first_slice_vs_fromfile",
        "hdf5_first_slice_vs_h5py",
        "hdf5_slice_median_vs_h5py",
    ):
        assert isinstance(result["ratios"][key], float)
    goals = result["goals"]
    assert goals["first_slice_s_max"] == 1.0
    for name in ("ndelab-raw", "ndelab-raw-release", "ndelab-hdf5"):
        assert set(goals[name]) == {"first_slice_met", "rss_met", "private_memory_met"}
        assert all(isinstance(v, bool) for v in goals[name].values())


def test_bench_files_are_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(io_bench, "QUICK_SHAPE", (4, 64, 64))
    monkeypatch.setattr(io_bench, "_workdir", lambda: tmp_path / "w")
    (tmp_path / "w").mkdir()
    result = io_bench.run(quick=True)
    assert not (tmp_path / "w").exists()
    assert result["cases"]["ndelab-raw"]["checksum"] == result["cases"]["peer-h5py"]["checksum"]
