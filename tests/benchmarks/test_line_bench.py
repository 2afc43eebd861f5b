"""The line benchmark in quick mode (the local engine; the Ray path has its own test)."""

from __future__ import annotations

from ndelab.benchmarks.line import run


def test_quick_line_benchmark_reports_engines_and_exporter() -> None:
    out = run(quick=True, engines=("local",))
    assert out["area"] == "line"
    local = out["engines"]["local"]
    assert local["scans"] == local["stored"] == 2 and local["calls"] > 0
    assert local["scans_per_min"] > 0
    assert local["second_batch"]["stored"] == 2  # other scans, on the warm pool
    exporter = out["exporter"]
    assert exporter["store_calls"] == local["calls"] + local["second_batch"]["calls"]
    assert exporter["with_store_bytes"] > exporter["live_only_bytes"]
    if out["prometheus"] is not None:
        (arrived,) = out["prometheus"]["queries"]["sum(ndelab_scans_arrived_total)"]
        assert float(arrived["value"]) == 8  # the arrivals the bench reported
