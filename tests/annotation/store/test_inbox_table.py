"""The inbox table (migration 0005): round trip, and the claim rules that make at-least-once
delivery safe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from alembic import command
from sqlalchemy import create_engine, inspect

from ndelab.annotation.store import Store
from ndelab.annotation.store import inbox as table
from ndelab.annotation.store.database import alembic_config
from ndelab.annotation.store.ingest import scan_record
from ndelab.volumes.volume import Volume


def test_migration_0005_goes_down_and_up_again(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        table.arrive(store, source="folder", location="/a", metadata={"part": "p"}, owner="o")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
        assert "inbox" not in inspect(conn).get_table_names()
        command.upgrade(alembic_config(conn), "0005")
        columns = {c["name"] for c in inspect(conn).get_columns("inbox")}
        assert {"sha256", "state", "metadata", "arrived_at", "ready_at", "scan_id"} <= columns
    engine.dispose()
    with Store(path) as store:
        assert table.state_counts(store)["arrived"] == 0  # the table came back empty


def _volume(tmp_path: Path) -> Volume:
    data = np.zeros((4, 8, 8), np.uint16)
    return Volume(data=data, spacing_mm=(1.0, 1.0, 1.0), source=str(tmp_path / "v.npy"))


def test_a_scan_is_claimed_once_and_its_duplicates_point_at_it(tmp_path: Path) -> None:
    with Store(tmp_path / "i.db") as store:
        first = table.arrive(store, source="folder", location="/a", metadata={}, owner="run1")
        assert table.claim(store, first, "f" * 64, owner="run1").verdict == "prelabel"
        # The same scan again while the first is pre-labelling: a duplicate.
        again = table.arrive(store, source="folder", location="/b", metadata={}, owner="run1")
        assert table.claim(store, again, "f" * 64, owner="run1").verdict == "duplicate"
        record = scan_record(store, _volume(tmp_path), user="inbox", sha256="f" * 64)
        table.commit_ready(store, first, record, ([], []), model="m@1")
        row = table.get_arrival(store, first)
        assert row["state"] == "ready" and row["scan_id"] == record.scan_id
        # Once stored, a third copy is a duplicate of that scan.
        third = table.arrive(store, source="amqp", location="/c", metadata={}, owner="run2")
        claim = table.claim(store, third, "f" * 64, owner="run2")
        assert claim.verdict == "duplicate" and claim.scan_id == record.scan_id
        assert table.state_counts(store) == {
            "arrived": 0,
            "prelabelling": 0,
            "ready": 1,
            "failed": 0,
            "duplicate": 2,
        }


def test_a_redelivery_after_a_dead_run_reuses_its_row_and_is_not_blocked(tmp_path: Path) -> None:
    with Store(tmp_path / "i.db") as store:
        first = table.arrive(store, source="amqp", location="/a", metadata={}, owner="dead")
        table.claim(store, first, "e" * 64, owner="dead")
        # The run died while pre-labelling; the broker redelivers to a new run.
        again = table.arrive(store, source="amqp", location="/a", metadata={}, owner="new")
        assert again == first
        assert table.claim(store, again, "e" * 64, owner="new").verdict == "prelabel"
        assert table.get_arrival(store, first)["attempts"] == 2


def test_a_commit_that_lost_the_race_writes_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "i.db") as store:
        volume = _volume(tmp_path)
        a = table.arrive(store, source="folder", location="/a", metadata={}, owner="x")
        b = table.arrive(store, source="folder", location="/b", metadata={}, owner="y")
        table.claim(store, a, "d" * 64, owner="x")
        table.claim(store, b, "d" * 64, owner="y")  # another process: not blocked
        table.commit_ready(
            store, a, scan_record(store, volume, user="u", sha256="d" * 64), ([], []), model="m"
        )
        table.commit_ready(
            store, b, scan_record(store, volume, user="u", sha256="d" * 64), ([], []), model="m"
        )
        assert table.get_arrival(store, b)["state"] == "duplicate"
        assert table.line_summary(store)["scans_stored_twice"] == 0
