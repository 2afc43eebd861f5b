# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""Two workstations (two SQLite files) and one PostgreSQL, driven from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.app.cli import main

pytestmark = pytest.mark.postgres


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, station: str, *argv: str
) -> Any:
    monkeypatch.setenv("NDELAB_WORKSTATION_ID", station)
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_decisions_travel_both_ways_and_a_clash_is_one_conflict(
    tmp_path: Path,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert main(["phantom", str(tmp_path / "part"), "--seed", "10002", "--size", "80"]) == 0
    capsys.readouterr()
    out = _run(
        capsys,
        monkeypatch,
        "ws-a",
        "prelabel",
        str(tmp_path / "part" / "volume.nrrd"),
        "--db",
        a,
        "--model",
        "classical-baseline",
        "--user",
        "bot",
    )
    ids = [c["id"] for c in out["calls"]]
    assert len(ids) >= 3

    def sync(station: str, db: str, user: str) -> Any:
        return _run(
            capsys, monkeypatch, station, "sync", "--db", db, "--remote", pg_url, "--user", user
        )

    assert sync("ws-a", a, "ana")["pushed"] > 0
    assert sync("ws-b", b, "bob")["pulled"] > 0
    assert {c["id"] for c in _run(capsys, monkeypatch, "ws-b", "calls", "--db", b)} == set(ids)

    # Decisions on different calls travel both ways.
    _run(capsys, monkeypatch, "ws-a", "review", "--db", a, ids[0], "--accept", "--user", "ana")
    _run(
        capsys,
        monkeypatch,
        "ws-b",
        "review",
        "--db",
        b,
        ids[1],
        "--reject",
        "--user",
        "bob",
        "--reason",
        "noise",
    )
    sync("ws-a", a, "ana")
    sync("ws-b", b, "bob")
    sync("ws-a", a, "ana")
    for station, db in (("ws-a", a), ("ws-b", b)):
        status = {
            c["id"]: c["status"] for c in _run(capsys, monkeypatch, station, "calls", "--db", db)
        }
        assert status[ids[0]] == "accepted" and status[ids[1]] == "rejected"

    # Both change the same call between syncs: one conflict, nothing applied silently.
    _run(capsys, monkeypatch, "ws-a", "review", "--db", a, ids[2], "--accept", "--user", "ana")
    _run(
        capsys,
        monkeypatch,
        "ws-b",
        "review",
        "--db",
        b,
        ids[2],
        "--reject",
        "--user",
        "bob",
        "--reason",
        "ring",
    )
    sync("ws-a", a, "ana")
    result = sync("ws-b", b, "bob")
    assert result["conflicts"] == 1
    conflicts = _run(capsys, monkeypatch, "ws-b", "conflicts", "--db", b)
    assert len(conflicts) == 1 and conflicts[0]["entity_id"] == ids[2]
    mine = {c["id"]: c["status"] for c in _run(capsys, monkeypatch, "ws-b", "calls", "--db", b)}
    assert mine[ids[2]] == "rejected"  # B's own decision stands until a reviewer resolves it

    _run(
        capsys,
        monkeypatch,
        "ws-b",
        "conflicts",
        "--db",
        b,
        "--resolve",
        conflicts[0]["id"],
        "theirs",
        "--user",
        "bob",
    )
    sync("ws-b", b, "bob")
    sync("ws-a", a, "ana")
    assert _run(capsys, monkeypatch, "ws-b", "conflicts", "--db", b) == []
    for station, db in (("ws-a", a), ("ws-b", b)):
        status = {
            c["id"]: c["status"] for c in _run(capsys, monkeypatch, station, "calls", "--db", db)
        }
        assert status[ids[2]] == "accepted"
