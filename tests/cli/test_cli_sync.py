# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""Two workstations (two SQLite files) and one PostgreSQL, driven from the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import PgServer, pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.cli import main

pytestmark = pytest.mark.postgres


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str) -> Any:
    # No workstation id from the environment: two database files on one machine must be two
    # workstations by themselves.
    monkeypatch.delenv("NDELAB_WORKSTATION_ID", raising=False)
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

    def sync(db: str, user: str) -> Any:
        return _run(capsys, monkeypatch, "sync", "--db", db, "--remote", pg_url, "--user", user)

    assert sync(a, "ana")["pushed"] > 0
    assert sync(b, "bob")["pulled"] > 0
    assert {c["id"] for c in _run(capsys, monkeypatch, "calls", "--db", b)} == set(ids)

    # Decisions on different calls travel both ways.
    _run(capsys, monkeypatch, "review", "--db", a, ids[0], "--accept", "--user", "ana")
    _run(
        capsys,
        monkeypatch,
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
    sync(a, "ana")
    sync(b, "bob")
    sync(a, "ana")
    for db in (a, b):
        status = {c["id"]: c["status"] for c in _run(capsys, monkeypatch, "calls", "--db", db)}
        assert status[ids[0]] == "accepted" and status[ids[1]] == "rejected"

    # Both change the same call between syncs: one conflict, nothing applied silently.
    _run(capsys, monkeypatch, "review", "--db", a, ids[2], "--accept", "--user", "ana")
    _run(
        capsys,
        monkeypatch,
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
    sync(a, "ana")
    result = sync(b, "bob")
    assert result["conflicts"] == 1
    conflicts = _run(capsys, monkeypatch, "conflicts", "--db", b)
    assert len(conflicts) == 1 and conflicts[0]["entity_id"] == ids[2]
    mine = {c["id"]: c["status"] for c in _run(capsys, monkeypatch, "calls", "--db", b)}
    assert mine[ids[2]] == "rejected"  # B's own decision stands until a reviewer resolves it

    _run(
        capsys,
        monkeypatch,
        "conflicts",
        "--db",
        b,
        "--resolve",
        conflicts[0]["id"],
        "theirs",
        "--user",
        "bob",
    )
    sync(b, "bob")
    sync(a, "ana")
    assert _run(capsys, monkeypatch, "conflicts", "--db", b) == []
    for db in (a, b):
        status = {c["id"]: c["status"] for c in _run(capsys, monkeypatch, "calls", "--db", db)}
        assert status[ids[2]] == "accepted"


def test_an_admin_sets_up_logins_and_a_labeler_is_refused_by_the_database(
    tmp_path: Path,
    pg_server: PgServer,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _run(capsys, monkeypatch, "server", "init", "--db", pg_url)["roles"] == "applied"
    for name, role in (("lena", "labeler"), ("rita", "reviewer")):
        monkeypatch.setenv("NDELAB_NEW_PASSWORD", f"{name}-secret")
        _run(capsys, monkeypatch, "server", "user", name, "--role", role, "--db", pg_url)
    monkeypatch.delenv("NDELAB_NEW_PASSWORD")
    # Without the variable and with no terminal: one sentence, exit 2, nothing created.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["server", "user", "olga", "--role", "admin", "--db", pg_url]) == 2
    assert "NDELAB_NEW_PASSWORD" in capsys.readouterr().err
    lena = pg_server.url_as(pg_url, "lena", "lena-secret")
    rita = pg_server.url_as(pg_url, "rita", "rita-secret")

    db = str(tmp_path / "lena.db")
    assert main(["phantom", str(tmp_path / "part"), "--seed", "10003", "--size", "64"]) == 0
    capsys.readouterr()
    volume = str(tmp_path / "part" / "volume.nrrd")
    out = _run(capsys, monkeypatch, "prelabel", volume, "--db", db, "--model", "classical-baseline")
    scan = out["scan_id"]
    for call in out["calls"]:
        _run(capsys, monkeypatch, "review", "--db", db, call["id"], "--accept", "--user", "lena")
    criteria = tmp_path / "c.json"
    rules = [{"class": "pore", "max_equivalent_diameter_mm": 5.0}]
    criteria.write_text(json.dumps({"name": "grade", "version": "1", "rules": rules}))
    sign = ["disposition", "--scan", scan, "--criteria", str(criteria), "--sign", "lena"]

    # On the server: the database refuses the labeler's signature.
    _run(capsys, monkeypatch, "sync", "--db", db, "--remote", lena, "--user", "lena")
    assert main([*sign, "--db", lena]) == 2
    err = capsys.readouterr().err
    assert "refused to let 'lena' sign" in err and "permission denied" in err

    # Offline: the signature is kept here, the sync refuses only it and says so.
    _run(capsys, monkeypatch, *sign, "--db", db)
    result = _run(capsys, monkeypatch, "sync", "--db", db, "--remote", lena, "--user", "lena")
    assert result["refused"] == 1
    assert result["refused_changes"][0]["entity_type"] == "disposition"
    assert main(["sync", "--db", db, "--remote", lena, "--user", "lena"]) == 0
    assert "refused 1 change(s)" in capsys.readouterr().err
    # A reviewer's login cannot push lena's signature; rita signs again, and that goes through.
    result = _run(capsys, monkeypatch, "sync", "--db", db, "--remote", rita, "--user", "rita")
    assert (result["refused"], result["pushed"]) == (1, 0)
    signed = _run(capsys, monkeypatch, *sign[:-1], "rita", "--db", db)
    result = _run(capsys, monkeypatch, "sync", "--db", db, "--remote", rita, "--user", "rita")
    assert (result["pushed"], result["refused"], result["superseded"]) == (1, 0, 1)
    server = _run(capsys, monkeypatch, "audit", "--db", rita, "--scan", scan)
    assert any(e["entity_id"] == signed["id"] for e in server)
