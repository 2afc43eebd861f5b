"""The review benchmark runs and reports its figures (no timing is asserted)."""

from __future__ import annotations

from ndelab.benchmarks.review import run


def test_review_benchmark_reports_latency_and_queue_figures() -> None:
    result = run(quick=True)
    action = result["review_action"]
    assert action["actions"] == 100
    for who in ("ours", "peer_orm_default_sqlite", "floor_sqlite3_same_pragmas"):
        stats = action[who]
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    assert action["p50_ratio_peer_over_ours"] > 0
    assert isinstance(action["meets_goal"], bool)
    queue = result["queue"]
    assert queue["calls"] == 2000
    assert queue["list_calls_ms"] > 0 and queue["ratio_peer_over_ours"] > 0
