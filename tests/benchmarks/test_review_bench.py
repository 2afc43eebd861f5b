"""The review benchmark runs and reports its figures (no timing is asserted)."""

from __future__ import annotations

from ndelab.benchmarks.review import run


def _ordered(stats: dict[str, float]) -> bool:
    return 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]


def test_review_benchmark_reports_latency_and_queue_figures() -> None:
    result = run(quick=True)
    action = result["review_action"]
    assert action["actions"] == 100
    for who in ("ours", "peer_orm_default_sqlite", "floor_sqlite3_same_pragmas"):
        assert _ordered(action[who])
    assert action["p50_ratio_peer_over_ours"] > 0
    assert isinstance(action["meets_goal"], bool)
    queue = result["queue"]
    assert queue["calls"] == 2000
    assert queue["list_calls_ms"] > 0 and queue["ratio_peer_over_ours"] > 0

    keys = result["keypress"]
    assert keys["calls"] == 2000 and keys["keys"] == 30
    figures = ["key_to_updated", "key_to_painted", "store_commit_alone"]
    for figure in figures + [f"{f}_write_locked" for f in figures[:2]]:
        assert _ordered(keys[figure])
    # Under the held lock every decision waited for the writer, and none was lost.
    assert keys["decisions_waiting_when_lock_released"] == 30
    assert keys["every_decision_in_audit_in_order"] is True
    assert keys["inspector_reads_per_key"] == 1.0
    assert keys["surfaces_built_per_key"] == 0.0
    assert isinstance(keys["meets_goal"], bool) and keys["goal_p99_ms"] == 16.0
    assert isinstance(keys["meets_goal_painted"], bool)
