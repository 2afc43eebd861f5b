"""The database benchmark runs end to end (quick) and its checks hold; timings are reported,
never asserted."""

from __future__ import annotations

import os

import pytest

from ndelab.benchmarks import db, pg_cluster


@pytest.mark.postgres
@pytest.mark.slow
def test_db_bench_quick_loses_nothing_and_counts_the_expected_conflicts() -> None:
    if pg_cluster.find_bin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("required in CI: PostgreSQL server binaries (initdb, pg_ctl)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    result = db.run(quick=True)
    push, two = result["push"], result["two_workstations"]
    assert push["calls"] == 1000 and push["pushed_events"] == 1002
    assert push["server_matches_local"] is True
    assert push["sync_s"] > 0 and push["orm_add_all_s"] > 0
    assert two["lost_events"] == 0 and two["workstations_agree"] is True
    assert two["conflicts_found"] == two["conflicts_expected"] > 0
