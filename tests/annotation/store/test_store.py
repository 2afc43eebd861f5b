"""The store: WAL and durability, migrations, and clear errors for locked, read-only and
damaged databases (nothing lost in each case)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ndelab.annotation import StoreError
from ndelab.annotation.store import Store, audit, import_labels, list_calls, review
from ndelab.annotation.store.database import alembic_config, default_url, head_revision
from ndelab.annotation.store.schema import Base
from ndelab.volumes.volume import Volume


def _fill(store: Store, n: int) -> list[str]:
    labels = np.zeros((8, 64, 64 * 4), np.int32)
    for k in range(n):
        z, y, x = k % 2 * 4, (k // 16) % 16 * 4, (k % 16) * 16
        labels[z : z + 2, y : y + 2, x : x + 3] = k + 1
    vol = Volume(np.zeros(labels.shape, np.uint8), spacing_mm=(0.1, 0.1, 0.1))
    return list(import_labels(store, vol, labels, "pore", source="model:m@1", user="m")["call_ids"])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_location_and_pragmas(tmp_path: Path) -> None:
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'ndelab.db'}"
    with Store() as store:
        assert store.path == tmp_path / "data" / "ndelab.db"
        assert store.journal_mode() == "wal"
        with store.reading("check") as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with Store(f"sqlite:///{tmp_path / 'other.db'}") as store:
        assert store.path == tmp_path / "other.db"


def test_migration_builds_the_schema_from_empty_and_matches_the_models(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        assert store.schema_revision() == head_revision()
        with store.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= {
                "parts",
                "scans",
                "indications",
                "review_events",
                "dispositions",
                "alembic_version",
            }
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    # Down to nothing and up again through the packaged migrations.
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        command.upgrade(alembic_config(conn), "head")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


CHILD = textwrap.dedent("""
    import sys
    from ndelab.annotation.store import Store, review
    store = Store(sys.argv[1])
    for call_id in sys.argv[2:]:
        review(store, call_id, "reject", "kim", "checked in the session " + call_id[:4])
        print(call_id, flush=True)
""")


def test_every_acknowledged_decision_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "kill.db"
    with Store(path) as store:
        ids = _fill(store, 150)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), *ids],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NDELAB_WORKSTATION_ID": "ws-kid"},
    )
    assert proc.stdout is not None
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) == 40:
            proc.send_signal(signal.SIGKILL)  # in the middle of the session
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(path) as store:  # reopening runs SQLite's quick_check
        calls = {c["id"]: c for c in list_calls(store)}
        events = audit(store)
    for call_id in acknowledged:
        assert calls[call_id]["status"] == "rejected"
    # The log and the rows agree for every call, acknowledged or not.
    for call_id, call in calls.items():
        mine = [e for e in events if e["entity_id"] == call_id]
        assert [e["revision"] for e in mine] == list(range(1, call["revision"] + 1))
        if call["status"] == "rejected":
            assert mine[-1]["action"] == "reject" and mine[-1]["workstation_id"] == "ws-kid"
    assert len(acknowledged) <= sum(c["status"] == "rejected" for c in calls.values()) <= 41


def test_a_locked_database_is_a_clear_error_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    with Store(path) as store:
        first, second, *_ = _fill(store, 3)
        review(store, first, "accept", "ana")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as info, Store(path, busy_timeout_s=0.2) as store:
            review(store, second, "accept", "ana")
        text = str(info.value)
        assert str(path) in text and "is locked by another program" in text
        assert "\n" not in text
    finally:
        holder.rollback()
        holder.close()
    with Store(path) as store:
        assert {c["id"]: c["status"] for c in list_calls(store)}[first] == "accepted"
        assert review(store, second, "accept", "ana")["status"] == "accepted"  # retry works


def _make_read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make ``path`` read-only for this process; returns how, to undo it later.

    root ignores file modes, so as root the file is made immutable (chattr +i) when the
    machine allows it; otherwise the store is told the file is not writable, as the kernel
    would tell an ordinary user.
    """
    path.chmod(0o444)
    if os.geteuid() != 0:
        return "chmod"
    chattr = shutil.which("chattr")
    if chattr and subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode == 0:
        return "chattr"
    real_access = os.access

    def access(p: object, mode: int, **kw: object) -> bool:
        if Path(str(p)) == path and mode & os.W_OK:
            return False
        return real_access(p, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    return "emulated"


def test_a_read_only_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ro.db"
    with Store(path) as store:
        ids = _fill(store, 2)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(path)
    how = _make_read_only(path, monkeypatch)
    try:
        with pytest.raises(StoreError) as info:
            Store(path)
        assert str(info.value) == (
            f"database {path} is read-only; ndelab needs to write review decisions to it"
        )
        assert _digest(path) == before
    finally:
        if how == "chattr":
            subprocess.run(["chattr", "-i", str(path)], check=True)
        monkeypatch.undo()
        path.chmod(0o644)
    with Store(path) as store:
        assert sorted(c["id"] for c in list_calls(store)) == sorted(ids)


def test_random_bytes_are_not_a_database_and_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "noise.db"
    path.write_bytes(np.random.default_rng(0).bytes(20_000))
    before = _digest(path)
    with pytest.raises(StoreError, match=r"is damaged or not an SQLite database") as info:
        Store(path)
    assert str(path) in str(info.value)
    assert _digest(path) == before
    assert not (tmp_path / "noise.db-wal").exists()


def test_a_truncated_database_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cut.db"
    with Store(path) as store:
        _fill(store, 200)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = _digest(path)
    with pytest.raises(StoreError, match=r"database .*cut\.db is damaged") as info:
        Store(path)
    assert "\n" not in str(info.value)
    assert _digest(path) == before


def test_other_sqlite_files_and_folders_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (a)")
    with pytest.raises(StoreError, match="holds other tables; it is not an ndelab database"):
        Store(other)
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="in-memory"):
        Store("sqlite://")


def test_two_database_files_on_one_machine_are_two_workstations(tmp_path: Path) -> None:
    """The sync pulls only what other workstations made, so two SQLite files must differ."""
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        assert a.workstation_id != b.workstation_id
        assert len(a.workstation_id) == 36  # fits the column, like the machine id
        first = a.workstation_id
    with Store(tmp_path / "a.db") as again:
        assert again.workstation_id == first  # stable for the same file on this machine
    with Store(tmp_path / "a.db", workstation="bench") as named:
        assert named.workstation_id == "bench"


def test_stores_migrated_at_once_in_several_threads_all_open(tmp_path: Path) -> None:
    """The window opens its database in a job while other code opens another: Alembic's
    module-level context must not be torn down by a second upgrade running beside it."""
    import threading

    from ndelab.annotation.store import open_store

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_some(k: int) -> None:
        try:
            barrier.wait()
            for i in range(3):
                open_store(tmp_path / f"t{k}-{i}.db").close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_some, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
