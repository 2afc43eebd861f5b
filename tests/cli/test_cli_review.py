"""A scripted review of a phantom part from the CLI: prelabel, calls, review, disposition, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndelab.cli import main

CRITERIA = Path(__file__).resolve().parents[2] / "resources" / "criteria"


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_scripted_review_of_a_phantom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "review.db")
    assert main(["phantom", str(tmp_path / "part"), "--seed", "10001", "--size", "80"]) == 0
    capsys.readouterr()
    volume = str(tmp_path / "part" / "volume.nrrd")
    out = _json(
        capsys,
        "prelabel",
        volume,
        "--db",
        db,
        "--model",
        "classical-baseline",
        "--user",
        "bot",
        "--json",
    )
    assert isinstance(out, dict) and out["calls"], "the phantom's pores are found"
    for call in out["calls"]:
        assert set(call) >= {
            "id",
            "class",
            "score",
            "centroid_zyx",
            "bbox_zyx",
            "volume_voxels",
            "volume_mm3",
        }
    scan = out["scan_id"]
    calls = _json(capsys, "calls", "--db", db, "--scan", scan, "--json")
    assert isinstance(calls, list) and len(calls) == len(out["calls"])
    assert {c["status"] for c in calls} == {"proposed"}

    # A reject without a reason is refused with one sentence, exit 2.
    assert main(["review", "--db", db, calls[0]["id"], "--reject", "--user", "ana"]) == 2
    assert "reason" in capsys.readouterr().err
    # Signing with open calls is refused.
    criteria = str(CRITERIA / "al-casting-porosity-grade-3.yaml")
    assert (
        main(["disposition", "--db", db, "--scan", scan, "--criteria", criteria, "--sign", "rev"])
        == 2
    )
    capsys.readouterr()

    first = _json(
        capsys,
        "review",
        "--db",
        db,
        calls[0]["id"],
        "--reject",
        "--user",
        "ana",
        "--reason",
        "ring artefact",
        "--json",
    )
    assert isinstance(first, dict) and first["status"] == "rejected"
    for call in calls[1:]:
        _json(capsys, "review", "--db", db, call["id"], "--accept", "--user", "ana", "--json")
    result = _json(
        capsys,
        "disposition",
        "--db",
        db,
        "--scan",
        scan,
        "--criteria",
        criteria,
        "--sign",
        "rev",
        "--json",
    )
    assert isinstance(result, dict)
    assert result["verdict"] in ("accept", "reject", "rework") and result["reasons"]
    assert result["signed_by"] == "rev" and not result["preview"]

    events = _json(capsys, "audit", "--db", db, "--scan", scan, "--json")
    assert isinstance(events, list)
    actions = [e["action"] for e in events]
    assert actions.count("reject") == 1 and actions.count("accept") == len(calls) - 1
    assert actions[-1] == "sign"
    assert all(e["user"] for e in events)


def test_unreachable_database_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"garbage" * 500)
    assert main(["calls", "--db", str(bad), "--json"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") == 1
