"""The local batch engine: folders expand to scans, calls stored once, a bad scan reported
with its sentence while the rest go on, the observer told; the CLI over it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from line_scans import stored_calls, write_scans
from prometheus_client import CollectorRegistry

from ndelab.annotation.store import list_scans, open_store
from ndelab.app.engines import LocalEngine, expand_scans, make_engine, prelabel_batch
from ndelab.app.metrics import LineMetrics
from ndelab.cli import main
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import make_ct_phantom, save_phantom


def test_folders_expand_to_their_scans(tmp_path: Path) -> None:
    flat = write_scans(tmp_path / "line", ct=2, xray=0)
    save_phantom(make_ct_phantom(32, seed=10_300), tmp_path / "line" / "part")  # one scan
    (tmp_path / "line" / "notes.txt").write_text("not a scan")
    found = expand_scans([tmp_path / "line", flat[0]])  # the file named again: once
    assert found == [*flat, tmp_path / "line" / "part" / "volume.nrrd"]
    with pytest.raises(UsageError, match="does not exist"):
        expand_scans([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no scans found"):
        expand_scans([tmp_path / "empty"])


def test_local_batch_stores_each_scan_once_and_goes_on_past_a_bad_one(tmp_path: Path) -> None:
    write_scans(tmp_path / "line", ct=2, xray=1, size=40)
    (tmp_path / "line" / "broken.nrrd").write_bytes(b"NRRD0004\nbroken header")
    registry = CollectorRegistry()
    metrics = LineMetrics(registry)
    engine = LocalEngine(workers=2)
    with open_store(tmp_path / "a.db") as store, contextlib.closing(engine):
        rows = prelabel_batch(store, [tmp_path / "line"], engine, user="bot", observer=metrics)
        by_status = {r["path"]: r["status"] for r in rows}
        assert sorted(by_status.values()) == ["failed", "prelabelled", "prelabelled", "prelabelled"]
        failed = next(r for r in rows if r["status"] == "failed")
        assert "broken.nrrd" in failed["reason"]
        first = stored_calls(store)
        assert len(first) == 3 and all(first.values()), "every readable scan has calls"
        stored = [r for r in rows if r["status"] == "prelabelled"]
        assert {r["model"]["name"] for r in stored} >= {"ndelab-unet3d"}
        # Again: recognised by sha256, nothing pre-labelled or stored twice.
        again = prelabel_batch(store, [tmp_path / "line"], engine, user="bot", observer=metrics)
        assert sorted(r["status"] for r in again) == ["duplicate"] * 3 + ["failed"]
        assert stored_calls(store) == first
        assert len(list_scans(store)) == 3

    def value(name: str, **labels: str) -> float:
        got = registry.get_sample_value(name, labels)
        return 0.0 if got is None else got

    assert value("ndelab_scans_arrived_total", source="batch") == 8
    assert value("ndelab_scans_duplicate_total", source="batch") == 3
    assert value("ndelab_scans_failed_total", kind="unreadable") == 2
    assert value("ndelab_arrival_to_ready_seconds_count") == 3
    assert value("ndelab_inbox_waiting_scans") == 0
    ct_calls = sum(len(first[r]) for r in first)
    seen = sum(
        value("ndelab_calls_per_scan_sum", model=r["model"]["name"], version=r["model"]["version"])
        for r in {r["model"]["name"]: r for r in stored}.values()
    )
    assert seen == ct_calls


def test_engine_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert make_engine(None).name == "local"
    with pytest.raises(UsageError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(UsageError, match="at least 1"):
        LocalEngine(workers=0)


def test_cli_prelabel_of_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_scans(tmp_path / "line", ct=2, xray=0, size=40)
    db = str(tmp_path / "cli.db")
    argv = ["prelabel", str(tmp_path / "line"), "--db", db, "--user", "bot", "--json"]
    assert main([*argv, "--engine", "local", "--workers", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in rows] == ["prelabelled", "prelabelled"]
    assert all(
        r["calls"] and {"id", "class", "score", "bbox_zyx"} <= set(r["calls"][0]) for r in rows
    )
    (tmp_path / "line" / "bad.nrrd").write_bytes(b"")
    assert main(argv) == 2  # the bad one named on stderr, the others recognised
    captured = capsys.readouterr()
    assert "bad.nrrd" in captured.err
    assert sorted(json.loads(x)["status"] for x in captured.out.splitlines()) == [
        "duplicate", "duplicate", "failed",
    ]  # fmt: skip
